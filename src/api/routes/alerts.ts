import { SLACK_TRANSFORM, ALERT_SOURCE, NOTIFICATION_ORDERING } from "../../domain/alerts";
import { storedUrl } from "../../domain/destination";
import { notFound } from "../../domain/errors";
import { settings } from "../../domain/settings";
import type { Webhook } from "../../domain/types";
import { newWebhook, withDisabled } from "../../domain/webhook";
import { changeWebhook, removeWebhook } from "../../pipeline/commands";
import { listAlerts } from "../../store/alerts";
import { getWebhook, insertWebhook, listWebhooks } from "../../store/webhooks";
import { webhookStateOf, webhookStatesOf, type WebhookState } from "../../store/webhook-state";
import { apiRoute, body, errors, json, NO_BODY, router, scoped, versionedJson } from "../openapi";
import {
  AlertListQuery,
  AlertSchema,
  NotificationEndpointCreate,
  NotificationEndpointCreated,
  NotificationEndpointPatch,
  NotificationEndpointSchema,
} from "../schemas/alerts";
import { IfMatchHeader, ListQuery, page, UidParam } from "../schemas/fields";
import { alertView, fullHealthView, notificationEndpointView } from "../views";
import { decodeCreated, decodeCursor, encodeCreated, encodeCursor, pageOf, wholeList } from "../cursors";
import { assertSaved, changedMeanwhile } from "../versioned-writes";
import { etagOf, ifMatchOf, pinnedVersion } from "../if-match";
import { checkUrl } from "../webhook-access";

const ADMIN_ONLY = "Admin tokens only (the `admin` scope): alerts are about the whole installation.";

const create = apiRoute({
  method: "post",
  path: "/notification-endpoints",
  operationId: "createNotificationEndpoint",
  summary: "Register a notification endpoint for alerts; its signing secret is returned this once",
  description: `${ADMIN_ONLY} Alerts go out like events: signed (Standard Webhooks headers), retried, and to public addresses only.`,
  ...scoped("admin"),
  request: body(NotificationEndpointCreate),
  responses: { 201: versionedJson(NotificationEndpointCreated, "The endpoint, with its secret") },
});

const list = apiRoute({
  method: "get",
  path: "/notification-endpoints",
  operationId: "listNotificationEndpoints",
  summary: "List notification endpoints (never their secrets), newest first, each with its health",
  description: ADMIN_ONLY,
  ...scoped("admin"),
  request: { query: ListQuery },
  responses: { 200: json(page(NotificationEndpointSchema, "NotificationEndpointPage"), "A page of endpoints") },
});

const get = apiRoute({
  method: "get",
  path: "/notification-endpoints/{uid}",
  operationId: "getNotificationEndpoint",
  summary: "One notification endpoint (never its secret), with its health and the alerts it is owed",
  description: ADMIN_ONLY,
  ...scoped("admin"),
  request: { params: UidParam },
  responses: { 200: versionedJson(NotificationEndpointSchema, "The endpoint"), ...errors(404) },
});

const patch = apiRoute({
  method: "patch",
  path: "/notification-endpoints/{uid}",
  operationId: "updateNotificationEndpoint",
  summary: "Change a notification endpoint's URL, alert types, format or disabled",
  description: `${ADMIN_ONLY} ${changedMeanwhile("endpoint")}`,
  ...scoped("admin"),
  request: { params: UidParam, headers: IfMatchHeader, ...body(NotificationEndpointPatch) },
  responses: { 200: versionedJson(NotificationEndpointSchema, "The endpoint"), ...errors(404, 409, 412) },
});

const remove = apiRoute({
  method: "delete",
  path: "/notification-endpoints/{uid}",
  operationId: "deleteNotificationEndpoint",
  summary: "Delete a notification endpoint; alerts it was still owed expire",
  description: `${ADMIN_ONLY} With \`If-Match\`, only while the endpoint is still at the version it names (412 otherwise, and nothing is deleted).`,
  ...scoped("admin"),
  request: { params: UidParam, headers: IfMatchHeader, ...NO_BODY },
  responses: { 204: { description: "Deleted" }, ...errors(404, 412) },
});

const alerts = apiRoute({
  method: "get",
  path: "/alerts",
  operationId: "listAlerts",
  summary: "Alert episodes, newest first",
  description: `${ADMIN_ONLY} One per condition and subject while it lasts: \`count\` says how often it was seen, \`closedAt\` when it recovered.`,
  ...scoped("admin"),
  request: { query: AlertListQuery },
  responses: { 200: json(page(AlertSchema, "AlertPage"), "A page of alerts") },
});

async function endpoint(db: D1Database, uid: string): Promise<Webhook> {
  const w = await getWebhook(db, uid);
  if (!w || w.kind !== "notification") throw notFound("notification endpoint", uid);
  return w;
}

/** An endpoint with its health (docs/alerts.md "An endpoint's health"): how its alerts are going, and how many wait. */
const withHealth = (w: Webhook, state: WebhookState | undefined, now: number) => ({
  ...notificationEndpointView(w),
  ...(state ? { health: fullHealthView(w, state, now) } : {}),
});

const transformOf = (format: "standard-webhooks" | "slack") => (format === "slack" ? SLACK_TRANSFORM : null);

export const notifications = router()
  .openapi(create, async (c) => {
    const b = c.req.valid("json");
    const s = settings(c.env);
    checkUrl(b.url, s.allowPrivateDestinations, new URL(c.req.url).origin);
    // A webhook row of its own kind: alerts reach it through the delivery path events take.
    const w = newWebhook(
      {
        url: storedUrl(b.url),
        eventTypes: b.alertTypes,
        sourceIds: [ALERT_SOURCE],
        disabled: b.disabled,
        transform: transformOf(b.format ?? "standard-webhooks"),
        // Not in the endpoint's schema: its PATCH (strict) cannot make it unordered.
        ordering: NOTIFICATION_ORDERING,
        kind: "notification",
        autoDisableAfterMinutes: null,
        failingAfterAttempts: s.maxAttempts,
      },
      s,
      Date.now(),
    );
    await insertWebhook(c.env.DB, w);
    c.header("ETag", etagOf(w.updatedAt));
    return c.json({ ...notificationEndpointView(w), secret: w.secret }, 201);
  })
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    const after = q.cursor === undefined ? undefined : await decodeCreated(c.env, wholeList("notification endpoints"), q.cursor);
    const rows = await listWebhooks(c.env.DB, { limit: q.limit + 1, after, kind: "notification" });
    const { data, nextCursor } = await pageOf(rows, q.limit, (last) => encodeCreated(c.env, wholeList("notification endpoints"), last));
    // Every endpoint's whole health, not its state alone as a webhook list's: the Alerts page shows its last failure and what waits.
    const now = Date.now();
    const states = await webhookStatesOf(c.env.DB, data.map((w) => w.uid), now);
    return c.json({ data: data.map((w) => withHealth(w, states.get(w.uid), now)), nextCursor }, 200);
  })
  .openapi(get, async (c) => {
    const w = await endpoint(c.env.DB, c.req.valid("param").uid);
    c.header("ETag", etagOf(w.updatedAt));
    const now = Date.now();
    return c.json(withHealth(w, await webhookStateOf(c.env.DB, w.uid, now), now), 200);
  })
  .openapi(patch, async (c) => {
    const b = c.req.valid("json");
    const ifMatch = ifMatchOf(c.req.valid("header")["if-match"]);
    const current = await endpoint(c.env.DB, c.req.valid("param").uid);
    // The version read is the one the write checks (changeWebhook): a change landing between them is its 409, or 412.
    const pinned = pinnedVersion(ifMatch, current.updatedAt, "notification endpoint");
    const url = b.url === undefined ? current.url : storedUrl(b.url, current.url);
    if (b.url !== undefined && url !== current.url) checkUrl(b.url, settings(c.env).allowPrivateDestinations, new URL(c.req.url).origin);
    const next = withDisabled(current, {
      ...current,
      url,
      eventTypes: b.alertTypes ?? current.eventTypes,
      transform: b.format === undefined ? current.transform : transformOf(b.format),
      disabled: b.disabled ?? current.disabled,
    });
    const written = await changeWebhook(c.env, current, next);
    assertSaved(written, "notification endpoint", next.uid, pinned !== undefined);
    const saved = written === "unchanged" ? current : next;
    c.header("ETag", etagOf(saved.updatedAt));
    return c.json(notificationEndpointView(saved), 200);
  })
  .openapi(remove, async (c) => {
    const ifMatch = ifMatchOf(c.req.valid("header")["if-match"]);
    const w = await endpoint(c.env.DB, c.req.valid("param").uid);
    // With If-Match naming its ETag, deleted only while still at the version read; else whatever its
    // version (endpoints are the admin's). Deleted meanwhile: 404.
    const pinned = pinnedVersion(ifMatch, w.updatedAt, "notification endpoint");
    assertSaved(await removeWebhook(c.env, w.uid, pinned), "notification endpoint", w.uid, pinned !== undefined);
    return c.body(null, 204);
  })
  .openapi(alerts, async (c) => {
    const q = c.req.valid("query");
    const before = q.cursor === undefined ? undefined : await decodeCursor(c.env, wholeList("alerts"), q.cursor);
    const { alerts: rows, nextBefore } = await listAlerts(c.env.DB, { limit: q.limit, before });
    return c.json({ data: rows.map(alertView), nextCursor: nextBefore === null ? null : await encodeCursor(c.env, wholeList("alerts"), nextBefore) }, 200);
  });
