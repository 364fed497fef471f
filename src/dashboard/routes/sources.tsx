import { Hono } from "hono";
import { readOnlySource } from "../../domain/errors";
import { adminAlone, teachingRefusal } from "../../domain/source-rules";
import { page as pageOf } from "../../api/schemas/fields";
import { RejectionsSchema, SourceSchema } from "../../api/schemas/sources";
import { callApi } from "../api-client";
import { ASK } from "../confirm";
import { confirmPage } from "../confirm-page";
import { SOURCE_LABELS, SOURCE_ROTATE_LABELS } from "../field-labels";
import { textOf } from "../form";
import { pageOfList } from "../list-pages";
import { queryParam } from "../query";
import { LISTS } from "../navigation";
import { SourceList, type SourceEntered } from "../pages/sources";
import { ownersOf } from "../owner-field";
import { apiRefusal, refusedBy, type Refusal } from "../refusal";
import { back, can, Ignored, limited, page, pageRefusal, type C } from "../respond";
import type { DashEnv } from "../session";

const SourceList_ = pageOf(SourceSchema, "SourceList");

export const sourceRoutes = new Hono<DashEnv>();

/** The new-source form as first shown: what a refused "Replace secret" leaves it. */
const NOTHING_ENTERED = { id: "", name: "", provider: "", organizationUid: "" };

/** The sources page; after a refused new source, with its error and what was typed (but the secret) kept in the form. */
async function sourcesPage(c: C, refused?: Refusal<SourceEntered>) {
  const list = await callApi(c, "GET", pageOfList(c, "/sources"), SourceList_);
  if (!list.ok) return apiRefusal(c, "Sources", LISTS.sources, list);
  // The admin also sees requests to ids that name no source, and to paths that are no source id
  // (a trailing slash, capitals): both are a wrong URL given to a provider.
  const [unknown, invalid] = can(c, "admin")
    ? await Promise.all(["(unknown)", "(invalid)"].map((id) => callApi(c, "GET", `/sources/${id}/rejections?limit=1`, RejectionsSchema)))
    : [null, null];
  return page(
    c,
    "Sources",
    "/dashboard/sources",
    <SourceList
      sources={list.json.data}
      nextCursor={list.json.nextCursor}
      at={queryParam(c, "cursor")}
      canWrite={can(c, "sources:write")}
      adminAlone={(s) => adminAlone(c.get("principal"), s)}
      now={Date.now()}
      unknown={unknown?.ok ? unknown.json : null}
      invalid={invalid?.ok ? invalid.json : null}
      entered={refused?.entered}
      invalidField={refused?.field}
      limited={limited(c)}
      owners={ownersOf(c.get("principal"))}
    />,
    refused,
  );
}

sourceRoutes.get("/sources", (c) => pageRefusal(c, "sources:read", "Sources", LISTS.sources, ["cursor"]) ?? sourcesPage(c));

sourceRoutes.post("/sources", async (c) => {
  const form = await c.req.parseBody();
  const entered = {
    id: textOf(form, "id").trim(),
    name: textOf(form, "name").trim(),
    provider: textOf(form, "provider"),
    organizationUid: textOf(form, "organizationUid").trim(),
  };
  const res = await callApi(c, "POST", "/sources", SourceSchema, {
    ...(entered.id ? { id: entered.id } : {}),
    // None given: the admin's (no owner), a token's only organization, or the API's 400 to one of several.
    ...(entered.organizationUid ? { organizationUid: entered.organizationUid } : {}),
    name: entered.name,
    provider: entered.provider,
    secrets: [textOf(form, "secret")],
  });
  if (!res.ok) return sourcesPage(c, refusedBy(entered, res, SOURCE_LABELS, { secrets: "secret" }));
  return back(c, "/dashboard/sources", res, `Source created: point the provider at ${res.json.ingressUrl}`);
});

/** The "Replace secret" form's box of each secret it sends: the new one, then the one still accepted (the paths its labels name). */
const ROTATE_BOXES = { "secrets.0": "secret", "secrets.1": "previous", secrets: "secret" } satisfies Record<keyof typeof SOURCE_ROTATE_LABELS, string>;

sourceRoutes.post("/sources/:id/rotate", async (c) => {
  const id = c.req.param("id");
  // Secrets are write-only, so the page cannot keep the old one beside the new by itself: typed
  // again in "still accept", it verifies beside the new one (`secrets: [new, old]`) until the next
  // replacement, so the provider's requests signed either way are taken while it switches.
  const form = await c.req.parseBody();
  const previous = textOf(form, "previous");
  const secrets = previous === "" ? [textOf(form, "secret")] : [textOf(form, "secret"), previous];
  const done = previous === "" ? "Secret replaced." : "Secret rotated: the new one and the one still accepted both verify until you replace them with the new one alone.";
  const res = await callApi(c, "PATCH", `/sources/${encodeURIComponent(id)}`, Ignored, { secrets });
  // Refused (a secret too short, a source gone): the page again with the API's status, that source's form marked (secrets are never kept).
  if (!res.ok) return sourcesPage(c, refusedBy({ ...NOTHING_ENTERED, rotating: id }, res, SOURCE_ROTATE_LABELS, ROTATE_BOXES));
  return back(c, "/dashboard/sources", res, done);
});

sourceRoutes.get("/sources/:id/delete", (c) => {
  const id = c.req.param("id");
  // One declared by configuration cannot be deleted here: asked, its post would answer the API's 409;
  // one that teaches where locations belong, by another than the admin, its 403.
  const refused = (s: { readOnly: boolean; teachesLocations: boolean }) =>
    s.readOnly
      ? { status: 409 as const, error: readOnlySource(id).message }
      : adminAlone(c.get("principal"), s)
        ? { status: 403 as const, error: teachingRefusal("delete").message }
        : null;
  const of = { api: `/sources/${encodeURIComponent(id)}`, list: LISTS.sources, schema: SourceSchema, refused };
  return confirmPage(c, { title: "Delete source", nav: "/dashboard/sources", question: ASK.deleteSource(id), label: "Delete", back: "/dashboard/sources", scope: "sources:write", of });
});

sourceRoutes.post("/sources/:id/delete", async (c) => {
  const res = await callApi(c, "DELETE", `/sources/${encodeURIComponent(c.req.param("id"))}`, Ignored);
  return back(c, "/dashboard/sources", res, "Source deleted.");
});
