import { Hono } from "hono";
import { RetryAnswer } from "../../api/schemas/deliveries";
import { page as pageOf } from "../../api/schemas/fields";
import { WebhookChanged, WebhookCreated, WebhookSchema, WebhookTestAnswer } from "../../api/schemas/webhooks";
import { isEventId } from "../../domain/ids";
import { dataScopeRefusal, missingDataScope } from "../../domain/access";
import { notFound } from "../../domain/errors";
import { STATUS_OF } from "../../http/errors";
import { settings } from "../../domain/settings";
import { callApi } from "../api-client";
import { ASK } from "../confirm";
import { confirmPage, type ActionRefusal } from "../confirm-page";
import { textOf } from "../form";
import { shortened } from "../layout";
import { listPressedOn, pageOfList } from "../list-pages";
import { LISTS } from "../navigation";
import { ownersOf } from "../owner-field";
import { WebhookList, WebhookPage, WebhookTestForm, WebhookTestResult, type Entered } from "../pages/webhooks";
import { apiRefusal, type Refusal } from "../refusal";
import { back, can, Ignored, limited, page, redirectTo, pageRefusal, warningBanners, type C } from "../respond";
import { retryFrom, retryParams } from "../retry-cursor";
import { showOnce } from "../reveal";
import { dashboardPath, type DashEnv } from "../session";
import { webhookCounts } from "../webhook-counts";
import { enteredIn, formRefusal, webhookBody } from "../webhook-form";
import { queryParam } from "../query";

const WebhookList_ = pageOf(WebhookSchema, "WebhookPage");

/** Whether the session may change a webhook: webhooks:write and the data scopes of all its types, as the API asks. */
const mayChange = (c: C, w: { eventTypes: string[] }) => can(c, "webhooks:write") && missingDataScope(c.get("principal"), w.eventTypes) === null;

/** What a webhook form held when it was refused. */
type Refused = Refusal<Entered>;

export const webhookRoutes = new Hono<DashEnv>();

async function webhookListPage(c: C, refused?: Refused) {
  // The form sends what it shows: shown a constant, it overrode the deployment's DELIVERY_TIMEOUT_MS and MAX_ATTEMPTS.
  const deploymentSettings = settings(c.env);
  const list = await callApi(c, "GET", pageOfList(c, "/webhooks"), WebhookList_);
  if (!list.ok) return apiRefusal(c, "Webhooks", LISTS.webhooks, list);
  return page(
    c,
    "Webhooks",
    "/dashboard/webhooks",
    <WebhookList
      webhooks={list.json.data}
      nextCursor={list.json.nextCursor}
      at={queryParam(c, "cursor")}
      counts={await webhookCounts(c, list.json.data.map((w) => w.uid))}
      canWrite={can(c, "webhooks:write")}
      mayChange={(w) => mayChange(c, w)}
      canReplay={can(c, "events:replay")}
      entered={refused?.entered}
      invalidField={refused?.field}
      defaults={{ timeoutMs: deploymentSettings.deliveryTimeoutMs, maxAttempts: deploymentSettings.maxAttempts }}
      limited={limited(c)}
      owners={ownersOf(c.get("principal"))}
    />,
    refused,
  );
}

webhookRoutes.get("/webhooks", (c) => pageRefusal(c, "webhooks:read", "Webhooks", LISTS.webhooks, ["cursor"]) ?? webhookListPage(c));

webhookRoutes.post("/webhooks", async (c) => {
  const sent = await c.req.parseBody();
  const form = webhookBody(sent, true);
  const res = await callApi(c, "POST", "/webhooks", WebhookCreated, form.body);
  if (!res.ok) return webhookListPage(c, formRefusal(enteredIn(sent), form, res));
  const reveal = { title: "Webhook created", nav: "/dashboard/webhooks", what: "webhook", href: `/dashboard/webhooks/${res.json.uid}`, secret: res.json.secret };
  return showOnce(c, reveal, warningBanners(res.json.warnings));
});

async function webhookPage(c: C, uid: string, refused?: Refused) {
  // The webhook and its counts at once: the counts of one the caller may not see are not shown.
  const [w, counts] = await Promise.all([callApi(c, "GET", `/webhooks/${encodeURIComponent(uid)}`, WebhookSchema), webhookCounts(c, [uid])]);
  if (!w.ok) return apiRefusal(c, "Webhook", LISTS.webhooks, w);
  // Titled by its URL: every webhook's page was "Webhook".
  return page(
    c,
    { title: `Webhook ${shortened(w.json.url)}`, heading: "Webhook" },
    "/dashboard/webhooks",
    <WebhookPage
      webhook={w.json}
      counts={counts.get(w.json.uid)}
      canWrite={mayChange(c, w.json)}
      canReplay={can(c, "events:replay")}
      canTest={can(c, "events:read")}
      testEventId={keptTestId(queryParam(c, "test"))}
      entered={refused?.entered}
      invalidField={refused?.field}
      retryCursor={await retryFrom(c, uid)}
    />,
    refused,
  );
}

webhookRoutes.get("/webhooks/:uid", (c) => pageRefusal(c, "webhooks:read", "Webhook", LISTS.webhooks, ["test", "retryCursor", "retrySig"]) ?? webhookPage(c, c.req.param("uid")));

webhookRoutes.post("/webhooks/:uid", async (c) => {
  const uid = c.req.param("uid");
  const sent = await c.req.parseBody();
  const form = webhookBody(sent, false);
  if (Object.keys(form.body).length === 0) return back(c, `/dashboard/webhooks/${encodeURIComponent(uid)}`, { ok: true, error: null }, "Nothing was changed.");
  const res = await callApi(c, "PATCH", `/webhooks/${encodeURIComponent(uid)}`, WebhookChanged, form.body);
  if (!res.ok) return webhookPage(c, uid, formRefusal(enteredIn(sent), form, res));
  return back(c, `/dashboard/webhooks/${encodeURIComponent(uid)}`, res, "Saved.", res.json.warnings);
});

/** The event id a refused test's address keeps in the form: only one an event could have (any text would be a crafted link's to fill in). */
const keptTestId = (id: string | undefined) => (id !== undefined && isEventId(id) ? id : undefined);

/** The API's dry run of webhook `uid` on event `eventId`, as this session's principal. */
const testOf = (c: C, uid: string, eventId: string) => callApi(c, "POST", `/webhooks/${encodeURIComponent(uid)}/test`, WebhookTestAnswer, { eventId });

/** Back to the webhook's page with the API's refusal of a test, the event's id kept in its form. */
const testRefused = (c: C, uid: string, eventId: string, res: { ok: false; error: string }) =>
  back(c, `/dashboard/webhooks/${encodeURIComponent(uid)}${eventId ? `?${new URLSearchParams({ test: eventId })}` : ""}`, res, "");

// A test's result at an address of its own, which the test's POST redirects to: Back and a reload
// read it again (the API's test sends and records nothing) instead of posting the form again.
// Only the event's id is in the address, never what the result shows (its request's headers):
// unsigned, as a link naming another id shows only what the API answers the session that opens it.
webhookRoutes.get("/webhooks/:uid/test", async (c) => {
  const uid = c.req.param("uid");
  const here = `/dashboard/webhooks/${encodeURIComponent(uid)}`;
  const refused = pageRefusal(c, "webhooks:read", "Test this webhook", LISTS.webhooks, ["eventId"]);
  if (refused) return refused;
  const eventId = queryParam(c, "eventId")?.trim() ?? "";
  // No event (a sign-in sent back here from the test's POST): the webhook's page, whose form asks for one.
  if (!eventId) return redirectTo(c, here);
  // One no event could have is not quoted back (nor kept in the form): a crafted link would
  // otherwise have the dashboard sign its sentence into the banner (banners.ts).
  if (!isEventId(eventId)) return back(c, here, { ok: false, error: "No event has the id this address names." }, "");
  const res = await testOf(c, uid, eventId);
  if (!res.ok) {
    // A webhook that is none (or not the session's): its page's own 404, unsigned, not a banner
    // signed for a link's `uid` (one of plain characters is quoted, `No webhook "…"`).
    const webhook = res.status === 404 ? await callApi(c, "GET", `/webhooks/${encodeURIComponent(uid)}`, WebhookSchema) : null;
    return webhook && !webhook.ok ? apiRefusal(c, "Webhook", LISTS.webhooks, webhook) : testRefused(c, uid, eventId, res);
  }
  return page(
    c,
    "Test this webhook",
    "/dashboard/webhooks",
    <div class="stack">
      <p>
        Webhook <a href={here}>{uid}</a>: nothing was sent.
      </p>
      <WebhookTestResult result={res.json} />
      <WebhookTestForm uid={uid} eventId={eventId} />
    </div>,
  );
});

webhookRoutes.post("/webhooks/:uid/test", async (c) => {
  const uid = c.req.param("uid");
  const eventId = textOf(await c.req.parseBody(), "eventId").trim();
  // An id no event could have (none, or too long for the result's address to be sent): refused
  // here, before the address that would not quote it.
  if (!isEventId(eventId)) return testRefused(c, uid, "", { ok: false, error: "Event id: give an event's id (evt_ and 32 hex digits, as the events list shows them)." });
  // The test runs once, at the result's address: its refusals (an event that is none, or not the
  // session's) lead from there back to the webhook's page, saying why, with the id kept.
  return redirectTo(c, `/dashboard/webhooks/${encodeURIComponent(uid)}/test?${new URLSearchParams({ eventId })}`);
});

/** A webhook as its confirm pages and their posts read it. */
type Found = { uid: string; eventTypes: string[]; previousSecretExpiresAt: string | null };

/**
 * Why the session may not do `act` to webhook `w` (the API's 403 of a type whose data scope it
 * lacks; ending a previous secret there is none of, the 404 of a thing not there), else null: the
 * confirm page's answer, and its post's for what the API would not refuse itself.
 */
function mayNot(c: C, w: Found, act: "delete" | "end-previous-secret"): ActionRefusal | null {
  const lacking = dataScopeRefusal(c.get("principal"), w.eventTypes, act === "delete" ? "delete" : "change");
  if (lacking) return { status: STATUS_OF[lacking.code], error: lacking.message };
  if (act === "end-previous-secret" && w.previousSecretExpiresAt === null) {
    return { status: 404, error: notFound("previous secret of webhook", w.uid, "only its current secret signs deliveries: there is none to end").message };
  }
  return null;
}

const CONFIRMED = {
  delete: { title: "Delete webhook", ask: ASK.deleteWebhook },
  "end-previous-secret": { title: "End the previous secret", ask: ASK.endPreviousSecret },
} as const;

webhookRoutes.get("/webhooks/:uid/:act{delete|end-previous-secret}", (c) => {
  const uid = c.req.param("uid");
  const act = c.req.param("act") === "delete" ? "delete" : "end-previous-secret";
  const own = `/dashboard/webhooks/${encodeURIComponent(uid)}`;
  const of = { api: `/webhooks/${encodeURIComponent(uid)}`, list: LISTS.webhooks, schema: WebhookSchema, refused: (w: Found) => mayNot(c, w, act) };
  const { title, ask } = CONFIRMED[act];
  return confirmPage(c, { title, nav: "/dashboard/webhooks", question: ask(uid), label: title, back: own, scope: "webhooks:write", of });
});

webhookRoutes.post("/webhooks/:uid/:action{enable|disable|retry-failed|delete|end-previous-secret}", async (c) => {
  const uid = c.req.param("uid");
  const action = c.req.param("action");
  const path = `/webhooks/${encodeURIComponent(uid)}`;
  // Back where the button was pressed: the webhook's own page, or the list's page it was on (a
  // later page's row was not on the first); a deleted one goes to the list's first page.
  const own = `/dashboard${path}`;
  const pressedOn = dashboardPath(c.req.header("referer") ?? "", c.req.url)?.split("?")[0] === own ? own : listPressedOn(c, LISTS.webhooks.path, ["cursor"]);
  if (action === "delete") {
    const res = await callApi(c, "DELETE", path, Ignored);
    return back(c, res.ok ? "/dashboard/webhooks" : pressedOn, res, "Webhook deleted.");
  }
  if (action === "retry-failed") {
    // A press retries a bounded page, oldest first, and the button then carries where it
    // ended: those retried may fail again meanwhile, and the next press must not take them again.
    const form = await c.req.parseBody();
    const cursor = textOf(form, "cursor");
    const res = await callApi(c, "POST", "/deliveries/retry", RetryAnswer, { status: "failed", webhookUid: uid, ...(cursor ? { cursor } : {}) });
    const next = res.json?.nextCursor ?? null;
    // A full page: more may match, or it took exactly the last ones.
    const more = next ? " More failed deliveries may remain: press again for the next ones." : "";
    const [n, held] = [res.json?.count ?? 0, res.json?.held ?? 0];
    // Those of a disabled webhook are held, not tried (the API's `held`): said so, with what sends them.
    const done =
      held === 0
        ? `${n} failed deliver${n === 1 ? "y" : "ies"} will be tried again, oldest first.`
        : held === n
          ? `${n} failed deliver${n === 1 ? "y is" : "ies are"} held while the webhook is disabled: enable it to send ${n === 1 ? "it" : "them"}, oldest first.`
          : `${n} failed deliveries retried: ${n - held} will be tried again, oldest first; ${held} held while the webhook is disabled.`;
    // The API passes over, uncounted, those whose event is past the retention, which the page's
    // count (a counter) holds until the retention purges them: what a first and last press left of it.
    const left = cursor || next ? 0 : Number(textOf(form, "counted")) - n;
    const past = left > 0 ? ` ${left} of the ${n + left} counted ${left === 1 ? "was" : "were"} not retried: past the retention (not sent again, counted until purged) or changed meanwhile.` : "";
    // More remaining: on to the webhook's own page, whose button carries the place (whatever list
    // page the press was on). Else back where it was pressed.
    const to = next ? `${own}?${new URLSearchParams(await retryParams(c, uid, next))}` : pressedOn;
    return back(c, to, res, `${done}${more}${past}`);
  }
  if (action === "end-previous-secret") {
    // None left to end (it expired, or another tab ended it): said so, not that one was ended (the API's PATCH takes 0 regardless).
    const found = await callApi(c, "GET", path, WebhookSchema);
    const refused = found.ok ? mayNot(c, found.json, action) : found;
    if (refused) return back(c, own, { ok: false, error: refused.error }, "");
    // A leaked previous secret, ended before its time (the API's previousSecretValidSeconds 0 without a new secret).
    const res = await callApi(c, "PATCH", path, Ignored, { previousSecretValidSeconds: 0 });
    return back(c, own, res, "The previous secret no longer signs: deliveries carry the current secret's signature alone.");
  }
  const res = await callApi(c, "PATCH", path, Ignored, { disabled: action === "disable" });
  return back(c, pressedOn, res, action === "disable" ? "Disabled: pending and new deliveries are held until it is enabled." : "Enabled: held deliveries are going out, oldest first; any whose event is past the retention expire unsent.");
});
