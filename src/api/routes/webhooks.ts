import type { z } from "@hono/zod-openapi";
import { accessOf, assertDataScopes, assertMaySubscribe, grantOrganizationOf, isLimited, missingDataScope, type LocationOrganizations } from "../../domain/access";
import { assertCredentialsStay, keepRedacted } from "../../domain/credential-headers";
import { storedUrl } from "../../domain/destination";
import { invalidInput } from "../../domain/errors";
import type { Principal } from "../../domain/scopes";
import { settings } from "../../domain/settings";
import type { Webhook } from "../../domain/types";
import { newWebhook, withDefaults, withDisabled, withRotation, type WebhookChanges } from "../../domain/webhook";
import type { Env } from "../../env";
import { changeWebhook, removeWebhook } from "../../pipeline/commands";
import { IDLE_STATUS, type FlowStatus } from "../../pipeline/flow";
import { schedulerStatus } from "../../pipeline/schedulers";
import { countHeld } from "../../store/scheduler-reads";
import { webhookStateOf } from "../../store/webhook-state";
import { filterOwnerOf, insertWebhook, listWebhooks, WEBHOOKS_PER_OWNER } from "../../store/webhooks";
import { checkSubscriptionTypes } from "../event-type-check";
import { locationsFor, organizationsHeld } from "../../store/grants";
import { apiRoute, body, errors, json, NO_BODY, router, scoped, versionedJson } from "../openapi";
import { decodeCreated, encodeCreated, pageOf, wholeList } from "../cursors";
import { IfMatchHeader, ListQuery, page, UidParam } from "../schemas/fields";
import {
  WebhookChanged,
  WebhookCreate,
  WebhookCreated,
  WebhookPatch,
  WebhookPut,
  WebhookSchema,
  WebhookTestAnswer,
  WebhookTestBody,
} from "../schemas/webhooks";
import { backlogView, fullHealthView, healthView, webhookView } from "../views";
import { healthOf, unknownHealth } from "../../store/health";
import { visibleEvent } from "./events";
import { testWebhook } from "../webhook-test";
import { assertSaved, changedMeanwhile } from "../versioned-writes";
import { etagOf, ifMatchOf, pinnedVersion, type IfMatch } from "../if-match";
import { planFor, visiblePlacedWebhook, visibleWebhook } from "../webhook-access";
import { changeChecks, checkNewUrl, checkTypes, webhookBodyHook } from "../webhook-input";
import { allIssues } from "../validate";
import { saveWithinFilterBound } from "../filter-programs";

/**
 * A webhook as a token sees it: an automatic disable's reason quotes its last failure, of any of
 * its types, so a token lacking the data scope of one sees that it was disabled, and when, not why.
 */
function seenBy(p: Principal, w: Webhook) {
  const view = webhookView(w);
  return missingDataScope(p, w.eventTypes) && view.disabledReason !== null ? { ...view, disabledReason: "its attempts kept failing" } : view;
}

/** Unless they are unchanged from `before`, checks that the types exist; answers the warnings they deserve. */
async function typeWarnings(env: Env, p: Principal, w: Webhook, before?: Webhook) {
  const warnings = await checkTypes(env, p, w, before);
  return warnings.length > 0 ? { warnings } : {};
}

/**
 * Checks that the principal may subscribe to the webhook's scope and types, after the 400s (types, then URL, as
 * webhook-input.ts says them). A change needs the data scopes of the types the webhook had as well as of those
 * it gets: dropping a type in the same change would otherwise take what it holds of those events to a new URL.
 */
function assertMayHave(p: Principal, w: Webhook, locations: LocationOrganizations, before?: Webhook) {
  if (before) assertDataScopes(p, before.eventTypes, "change");
  assertMaySubscribe(p, w, locations);
}

const create = apiRoute({
  method: "post",
  path: "/webhooks",
  operationId: "createWebhook",
  summary: "Create a webhook (forwarding subscription); the secret is returned this once",
  description:
    "Exactly one of `organizationUid` or `locationUid` (neither: a catch-all, for unlimited tokens only); an owner outside a limited token's grant is a 403 naming its field in `details.issues`, `organizationUid` or `locationUid`: docs/api.md#tokens-and-scopes.",
  ...scoped("webhooks:write"),
  request: body(WebhookCreate),
  responses: { 201: versionedJson(WebhookCreated, "The webhook, with its secret") },
});

const list = apiRoute({
  method: "get",
  path: "/webhooks",
  operationId: "listWebhooks",
  summary: "List webhooks, newest first",
  ...scoped("webhooks:read"),
  request: { query: ListQuery },
  responses: { 200: json(page(WebhookSchema, "WebhookPage"), "A page of webhooks") },
});

const get = apiRoute({
  method: "get",
  path: "/webhooks/{uid}",
  operationId: "getWebhook",
  summary: "One webhook (never its secret), with its count of held deliveries and its backlog",
  description:
    "`backlog` counts held and pending deliveries and says how fast they go: docs/flow-control.md.",
  ...scoped("webhooks:read"),
  request: { params: UidParam },
  responses: { 200: versionedJson(WebhookSchema, "The webhook"), ...errors(404) },
});

const patch = apiRoute({
  method: "patch",
  path: "/webhooks/{uid}",
  operationId: "updateWebhook",
  summary: "Change some fields (never the location or organization); enabling releases held deliveries",
  description: changedMeanwhile("webhook"),
  ...scoped("webhooks:write"),
  request: { params: UidParam, headers: IfMatchHeader, ...body(WebhookPatch) },
  responses: { 200: versionedJson(WebhookChanged, "The webhook"), ...errors(404, 409, 412) },
});

const put = apiRoute({
  method: "put",
  path: "/webhooks/{uid}",
  operationId: "replaceWebhook",
  summary: "Replace the changeable fields (never the location or organization)",
  description: changedMeanwhile("webhook"),
  ...scoped("webhooks:write"),
  request: { params: UidParam, headers: IfMatchHeader, ...body(WebhookPut) },
  responses: { 200: versionedJson(WebhookChanged, "The webhook"), ...errors(404, 409, 412) },
});

const test = apiRoute({
  method: "post",
  path: "/webhooks/{uid}/test",
  operationId: "testWebhook",
  summary: "Test this webhook: run its routing checks, filter and transformation on a stored event, without delivering",
  description:
    "Whether it is owed the event, why, and what it would be sent: docs/filters-and-transforms.md#test-this-webhook.",
  ...scoped("webhooks:read", "events:read"),
  request: { params: UidParam, ...body(WebhookTestBody) },
  responses: { 200: json(WebhookTestAnswer, "What would happen"), ...errors(404) },
});

const remove = apiRoute({
  method: "delete",
  path: "/webhooks/{uid}",
  operationId: "deleteWebhook",
  summary: "Delete a webhook; what it was still owed expires",
  description:
    "With `If-Match`, only at the version it names (else 412); a token but the admin's, only at the version it checked (else 409): docs/api.md#changes-that-race-another-write.",
  ...scoped("webhooks:write"),
  request: { params: UidParam, headers: IfMatchHeader, ...NO_BODY },
  responses: { 204: { description: "Deleted" }, ...errors(404, 409, 412) },
});

/** What the scheduler says of its webhook; the backlog view does without it when it cannot be reached. */
async function statusOf(env: Env, uid: string): Promise<FlowStatus> {
  try {
    return await schedulerStatus(env, uid);
  } catch (err) {
    console.error("reading a delivery scheduler's status failed", { webhookUid: uid, error: String(err) });
    return IDLE_STATUS;
  }
}

/** Where a webhook belongs, as a change may repeat it. */
type GivenScope = Pick<z.infer<typeof WebhookPut>, "locationUid" | "organizationUid">;

/** Saves a change of the webhook (with If-Match, only to the version it names); answers the webhook's view and version. */
async function change(
  c: { env: Env; req: { url: string }; get: (k: "principal") => Principal },
  uid: string,
  ifMatch: IfMatch,
  { locationUid, organizationUid, previousSecretValidSeconds, ...changes }: WebhookChanges & GivenScope & { previousSecretValidSeconds?: number },
) {
  const p = c.get("principal");
  const { webhook: current, locations } = await visiblePlacedWebhook(c.env.DB, p, uid);
  // The version read is the one the write checks (changeWebhook): a change landing between them is its 409, or 412.
  const pinned = pinnedVersion(ifMatch, current.updatedAt, "webhook");
  const givenHeaders = changes.transformHeaders;
  // A credential header read back as REDACTED keeps its stored expression.
  const headers = givenHeaders ? { transformHeaders: keepRedacted(givenHeaders, current.transformHeaders) } : {};
  const given = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
  const url = changes.url === undefined ? {} : { url: storedUrl(changes.url, current.url) };
  // Its location, organization and confinement stay as read: where its location belongs too (read with it).
  const changed = withRotation(current, withDisabled(current, { ...current, ...given, ...headers, ...url }), previousSecretValidSeconds);
  // A token that holds a location webhook through an organization's grant confines it to that
  // organization, as one it made: following its location into another organization, it would
  // carry events the token cannot read to the URL the token gave it.
  const next = { ...changed, grantOrganizationUid: changed.grantOrganizationUid ?? grantOrganizationOf(p, changed, locations) };
  // Every 400 at once (a URL that is none said rather than what it would receive); a 403 after them.
  let warnings: Awaited<ReturnType<typeof typeWarnings>> = {};
  await allIssues("body", [
    ...changeChecks(current, { locationUid, organizationUid, secret: changes.secret, previousSecretValidSeconds }),
    async () => {
      warnings = await typeWarnings(c.env, p, next, current);
    },
    () => {
      checkNewUrl(c.env, new URL(c.req.url).origin, changes.url, current);
      assertCredentialsStay(current, next, givenHeaders ?? undefined);
    },
    () => assertMayHave(p, next, locations, current),
  ]);
  const written = await saveWithinFilterBound(c.env.DB, next, current, accessOf(p), () => changeWebhook(c.env, current, next));
  assertSaved(written, "webhook", next.uid, pinned !== undefined);
  const saved = written === "unchanged" ? current : next;
  return { view: { ...webhookView(saved), heldDeliveries: await countHeld(c.env.DB, uid), ...warnings }, version: saved.updatedAt };
}

export const webhooks = router()
  .openapi(create, async (c) => {
    const b = c.req.valid("json");
    const p = c.get("principal");
    const s = settings(c.env);
    const draft = newWebhook({ ...b, url: storedUrl(b.url), kind: "webhook" }, s, Date.now());
    const locations = await locationsFor(c.env.DB, p, [draft]);
    const webhook = { ...draft, grantOrganizationUid: grantOrganizationOf(p, draft, locations) };
    let warnings: Awaited<ReturnType<typeof typeWarnings>> = {};
    await allIssues("body", [
      async () => {
        warnings = await typeWarnings(c.env, p, webhook);
      },
      () => checkNewUrl(c.env, new URL(c.req.url).origin, b.url),
      () => assertMayHave(p, webhook, locations),
    ]);
    // A limited tenant's webhooks are bounded per owner: each adds a row to every event of its owner's, in the consumer every tenant shares.
    const owner = filterOwnerOf(webhook);
    const bound = isLimited(accessOf(p)) ? WEBHOOKS_PER_OWNER : undefined;
    if ((await saveWithinFilterBound(c.env.DB, webhook, undefined, accessOf(p), () => insertWebhook(c.env.DB, webhook, bound))) === "owner full" && owner) {
      const message = `${owner.kind} ${owner.uid} has ${WEBHOOKS_PER_OWNER} webhooks, the most a limited token may give one owner: delete one it no longer needs`;
      throw invalidInput("body", [{ path: webhook.organizationUid === null ? "locationUid" : "organizationUid", message }]);
    }
    c.header("ETag", etagOf(webhook.updatedAt));
    return c.json({ ...webhookView(webhook), secret: webhook.secret, ...warnings }, 201);
  }, webhookBodyHook("create"))
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    const after = q.cursor === undefined ? undefined : await decodeCreated(c.env, wholeList("webhooks"), q.cursor);
    const rows = await listWebhooks(c.env.DB, { limit: q.limit + 1, after, access: accessOf(c.get("principal")) });
    const { data, nextCursor } = await pageOf(rows, q.limit, (last) => encodeCreated(c.env, wholeList("webhooks"), last));
    const now = Date.now();
    const health = await healthOf(c.env.DB, data.map((w) => w.uid), now);
    return c.json(
      {
        data: data.map((w) => ({ ...seenBy(c.get("principal"), w), health: { state: healthView(w, health.get(w.uid) ?? unknownHealth(), now).state } })),
        nextCursor,
      },
      200,
    );
  })
  .openapi(get, async (c) => {
    const p = c.get("principal");
    const w = await visibleWebhook(c.env.DB, p, c.req.valid("param").uid);
    const now = Date.now();
    c.header("ETag", etagOf(w.updatedAt));
    if (missingDataScope(p, w.eventTypes)) {
      // Its counts and health are of events of every type it has: the state alone, as lists show it.
      const health = await healthOf(c.env.DB, [w.uid], now);
      return c.json({ ...seenBy(p, w), health: { state: healthView(w, health.get(w.uid) ?? unknownHealth(), now).state } }, 200);
    }
    // Its counts and health in one D1 call, beside its scheduler's status.
    const [state, status] = await Promise.all([webhookStateOf(c.env.DB, w.uid, now), statusOf(c.env, w.uid)]);
    return c.json(
      {
        ...webhookView(w),
        heldDeliveries: state.owed.held,
        backlog: backlogView(w, state.owed, status, now),
        health: fullHealthView(w, state, now),
      },
      200,
    );
  })
  .openapi(patch, async (c) => {
    const { view, version } = await change(c, c.req.valid("param").uid, ifMatchOf(c.req.valid("header")["if-match"]), c.req.valid("json"));
    c.header("ETag", etagOf(version));
    return c.json(view, 200);
  }, webhookBodyHook("patch"))
  .openapi(put, async (c) => {
    const b = c.req.valid("json");
    const uid = c.req.valid("param").uid;
    const { view, version } = await change(c, uid, ifMatchOf(c.req.valid("header")["if-match"]), {
      ...withDefaults(b, settings(c.env)),
      secret: b.secret,
      previousSecretValidSeconds: b.previousSecretValidSeconds,
      locationUid: b.locationUid,
      organizationUid: b.organizationUid,
    });
    c.header("ETag", etagOf(version));
    return c.json(view, 200);
  }, webhookBodyHook("put"))
  .openapi(test, async (c) => {
    const p = c.get("principal");
    const webhook = await visibleWebhook(c.env.DB, p, c.req.valid("param").uid);
    const event = await visibleEvent(c.env.DB, p, c.req.valid("json").eventId);
    return c.json(await testWebhook(webhook, event, await planFor(c.env.DB, webhook)), 200);
  })
  .openapi(remove, async (c) => {
    const uid = c.req.valid("param").uid;
    const p = c.get("principal");
    const ifMatch = ifMatchOf(c.req.valid("header")["if-match"]);
    const current = await visibleWebhook(c.env.DB, p, uid);
    assertDataScopes(p, current.eventTypes, "delete");
    // With If-Match naming its ETag, deleted only while still at the version read. Without it the
    // admin deletes whatever the version; another token only the version its grant and data scopes
    // were checked against (types widened meanwhile: 409). Deleted meanwhile: 404.
    const pinned = pinnedVersion(ifMatch, current.updatedAt, "webhook");
    const checked = pinned ?? (p.scopes.has("admin") ? undefined : current.updatedAt);
    assertSaved(await removeWebhook(c.env, uid, checked), "webhook", uid, pinned !== undefined, true);
    return c.body(null, 204);
  });
