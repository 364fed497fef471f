import { Hono } from "hono";
import { page as pageOf } from "../../api/schemas/fields";
import { DeadLetterReplayed, DeadLetterSchema } from "../../api/routes/dead-letters";
import { callApi } from "../api-client";
import { retentionHorizon, settings } from "../../domain/settings";
import { ASK } from "../confirm";
import { confirmPage } from "../confirm-page";
import { listPageAt, listPressedOn } from "../list-pages";
import { LISTS } from "../navigation";
import { DeadLetterList } from "../pages/dead-letters";
import { apiRefusal, unknownParamRefusal } from "../refusal";
import { back, Ignored, page, scopeRefusal, type C } from "../respond";
import { queryParam } from "../query";
import type { DashEnv } from "../session";

const DeadLetterList_ = pageOf(DeadLetterSchema, "DeadLetterPage");

export const deadLetterRoutes = new Hono<DashEnv>();

deadLetterRoutes.get("/dead-letters", async (c) => {
  // The scope first, as the API checks it before the query (the events' page says why).
  const refused = scopeRefusal(c, "admin", "Dead letters", LISTS.deadLetters) ?? unknownParamRefusal(c, "Dead letters", LISTS.deadLetters, ["open", "cursor"]);
  if (refused) return refused;
  const given = queryParam(c, "open");
  const open = given === "true";
  const cursor = queryParam(c, "cursor");
  // The page shows no message (each up to the queue's message size): the API leaves them out, unread.
  // `open` goes as given: the API refuses one that is neither true nor false (`open=yes`), which read as false.
  const query = new URLSearchParams({ limit: "100", withMessage: "false", ...(given === undefined ? {} : { open: given }), ...(cursor ? { cursor } : {}) });
  const list = await callApi(c, "GET", `/dead-letters?${query}`, DeadLetterList_);
  if (!list.ok) return apiRefusal(c, "Dead letters", LISTS.deadLetters, list);
  return page(c, "Dead letters", "/dashboard/dead-letters", <DeadLetterList letters={list.json.data} nextCursor={list.json.nextCursor} open={open} cursor={cursor} horizon={retentionHorizon(settings(c.env), Date.now())} />);
});

/** The dead letters' page that `query` places one on: its filter and cursor, none of the banners it was showing. */
const deadLettersAt = (query: URLSearchParams) => listPageAt(LISTS.deadLetters.path, query, ["open", "cursor"]);

const deadLettersPressedOn = (c: C) => listPressedOn(c, LISTS.deadLetters.path, ["open", "cursor"], /^\/dashboard\/dead-letters\/[^/]+\/delete$/);

/**
 * A replay's refusals in the page's words: the API's say what to do with its calls (DELETE the
 * letter, POST a retry), which a reader of this page does with its buttons instead.
 */
const REPLAY_REFUSED = new Map<string, string>([
  // `nothing_to_retry`, by its cause (`details.cause`).
  ["nothing_to_retry:delivery_gone", "The delivery is gone (purged with its event at the retention): nothing to retry. Once handled, delete this dead letter with its Delete button."],
  ["nothing_to_retry:webhook_deleted", "The delivery's webhook was deleted: there is nowhere to send it, nothing to retry. Once handled, delete this dead letter with its Delete button."],
  [
    "nothing_to_retry:outside_grant",
    "The delivery's webhook was confined to an organization since, and this event is not that organization's: it is not sent there again, nothing to retry. Once handled, delete this dead letter with its Delete button.",
  ],
  [
    "nothing_to_retry:held",
    "The delivery is held while its webhook is disabled: nothing to retry, it goes out once the webhook is enabled (its Enable button, on the webhook's page). Once handled, delete this dead letter with its Delete button.",
  ],
  ["nothing_to_retry:changed", "The delivery changed meanwhile; try again."],
  ["unreplayable", "This dead letter names nothing to replay. Once handled, delete it with its Delete button."],
  ["replay_in_progress", "Another replay of this dead letter is under way. Look at it again in a moment: replayed, or open again if the ingest queue refused it."],
  ["already_replayed", "This dead letter was replayed already (or its delivery retried); a replay is made once. To send it again on purpose, open its event and retry the delivery or replay the event there."],
]);

deadLetterRoutes.post("/dead-letters/:id/replay", async (c) => {
  const id = c.req.param("id");
  const res = await callApi(c, "POST", `/dead-letters/${encodeURIComponent(id)}/replay`, DeadLetterReplayed);
  const what =
    res.json?.held === true
      ? "its delivery is held while its webhook is disabled, and goes out once the webhook is enabled"
      : res.json && res.json.deliveryId !== null
        ? "its delivery will be tried again"
        : "its event is queued again";
  const refusal = res.ok || res.reason === undefined ? undefined : REPLAY_REFUSED.get(res.cause === undefined ? res.reason : `${res.reason}:${res.cause}`);
  const answer = res.ok ? res : { ...res, error: refusal ?? res.error };
  return back(c, deadLettersPressedOn(c), answer, `Dead letter ${id} replayed: ${what}.`);
});

deadLetterRoutes.get("/dead-letters/:id/delete", (c) => {
  const back = deadLettersAt(new URL(c.req.url).searchParams);
  const id = c.req.param("id");
  const of = { api: `/dead-letters/${encodeURIComponent(id)}`, list: LISTS.deadLetters, schema: DeadLetterSchema };
  return confirmPage(c, { title: "Delete dead letter", nav: "/dashboard/dead-letters", question: ASK.deleteDeadLetter(id), label: "Delete", back, scope: "admin", of });
});

deadLetterRoutes.post("/dead-letters/:id/delete", async (c) => {
  const res = await callApi(c, "DELETE", `/dead-letters/${encodeURIComponent(c.req.param("id"))}`, Ignored);
  return back(c, deadLettersPressedOn(c), res, "Dead letter deleted.");
});
