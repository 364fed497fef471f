import { Hono } from "hono";
import { z } from "zod";
import { destinationProblem } from "../domain/destination";
import { AppError } from "../domain/errors";
import { isoTime } from "../domain/ids";
import { newWebhookSecret } from "../domain/secrets";
import { settings } from "../domain/settings";
import type { Webhook } from "../domain/types";
import { SOURCE_ID } from "../ingress/sources";
import { enqueueDeliveries } from "../pipeline/enqueue";
import { countHeld, releaseHeld } from "../store/deliveries";
import { deleteWebhook, getWebhook, insertWebhook, listWebhooks, updateWebhook } from "../store/webhooks";
import { requireScope } from "./auth";
import type { ApiEnv } from "./context";
import { parseInput, readJson } from "./validate";

const EVENT_TYPE_PATTERN = /^(\*|[A-Za-z0-9_-]+(\.[A-Za-z0-9_/-]+)*(\.\*)?)$/;

const fields = {
  url: z.string().max(2048),
  eventTypes: z
    .array(z.string().max(200).regex(EVENT_TYPE_PATTERN, "an exact type, `object.*` or `*`"))
    .min(1, "subscribe to at least one event type")
    .max(100),
  sourceIds: z.array(z.string().regex(SOURCE_ID, "a source id")).min(1).max(100).nullable(),
  secret: z.string().min(8).max(256),
  disabled: z.boolean(),
  timeoutMs: z.number().int().min(100).max(30_000),
  maxAttempts: z.number().int().min(1).max(50),
};
const uid = z.string().min(1).max(128);

const CreateBody = z.strictObject({
  url: fields.url,
  eventTypes: fields.eventTypes,
  locationUid: uid.nullish(),
  organizationUid: uid.nullish(),
  sourceIds: fields.sourceIds.optional(),
  secret: fields.secret.optional(),
  disabled: fields.disabled.optional(),
  timeoutMs: fields.timeoutMs.optional(),
  maxAttempts: fields.maxAttempts.optional(),
});

const IMMUTABLE = "the location and organization of a webhook cannot change; create a new webhook instead";
const immutableScope = { locationUid: z.never(IMMUTABLE).optional(), organizationUid: z.never(IMMUTABLE).optional() };

const PatchBody = z.strictObject({
  url: fields.url.optional(),
  eventTypes: fields.eventTypes.optional(),
  sourceIds: fields.sourceIds.optional(),
  secret: fields.secret.optional(),
  disabled: fields.disabled.optional(),
  timeoutMs: fields.timeoutMs.optional(),
  maxAttempts: fields.maxAttempts.optional(),
  ...immutableScope,
});

const PutBody = z.strictObject({
  url: fields.url,
  eventTypes: fields.eventTypes,
  sourceIds: fields.sourceIds.optional(),
  secret: fields.secret.optional(),
  disabled: fields.disabled.optional(),
  timeoutMs: fields.timeoutMs.optional(),
  maxAttempts: fields.maxAttempts.optional(),
  ...immutableScope,
});

const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().min(1).max(200).optional(),
});

/** The API shape of a webhook: everything but the secret. */
export function webhookView(w: Webhook) {
  return {
    uid: w.uid,
    url: w.url,
    eventTypes: w.eventTypes,
    locationUid: w.locationUid,
    organizationUid: w.organizationUid,
    sourceIds: w.sourceIds,
    disabled: w.disabled,
    timeoutMs: w.timeoutMs,
    maxAttempts: w.maxAttempts,
    createdAt: isoTime(w.createdAt),
    updatedAt: isoTime(w.updatedAt),
  };
}

function checkUrl(url: string, allowPrivate: boolean): void {
  const problem = destinationProblem(url, allowPrivate);
  if (problem) {
    throw new AppError(400, "invalid_request", `url ${problem}.`, { issues: [{ path: "url", message: problem }] });
  }
}

async function mustGet(db: D1Database, id: string): Promise<Webhook> {
  const w = await getWebhook(db, id);
  if (!w) throw new AppError(404, "not_found", `No webhook "${id.slice(0, 80)}".`);
  return w;
}

export const webhooks = new Hono<ApiEnv>()
  .post("/", requireScope("webhooks:write"), async (c) => {
    const body = parseInput(CreateBody, await readJson(c.req.raw), "webhook");
    const s = settings(c.env);
    checkUrl(body.url, s.allowPrivateDestinations);
    const now = Date.now();
    const secret = body.secret ?? newWebhookSecret();
    const webhook: Webhook = {
      uid: crypto.randomUUID(),
      url: body.url,
      eventTypes: body.eventTypes,
      locationUid: body.locationUid ?? null,
      organizationUid: body.organizationUid ?? null,
      sourceIds: body.sourceIds ?? null,
      secret,
      disabled: body.disabled ?? false,
      timeoutMs: body.timeoutMs ?? s.deliveryTimeoutMs,
      maxAttempts: body.maxAttempts ?? s.maxAttempts,
      createdAt: now,
      updatedAt: now,
    };
    await insertWebhook(c.env.DB, webhook);
    return c.json({ ...webhookView(webhook), secret }, 201);
  })
  .get("/", requireScope("webhooks:read"), async (c) => {
    const q = parseInput(ListQuery, c.req.query(), "query");
    const page = await listWebhooks(c.env.DB, { limit: q.limit + 1, after: q.cursor });
    const data = page.slice(0, q.limit);
    return c.json({
      data: data.map(webhookView),
      nextCursor: page.length > q.limit ? (data[data.length - 1]?.uid ?? null) : null,
    });
  })
  .get("/:uid", requireScope("webhooks:read"), async (c) => {
    const w = await mustGet(c.env.DB, c.req.param("uid"));
    return c.json({ ...webhookView(w), heldDeliveries: await countHeld(c.env.DB, w.uid) });
  })
  .on(["PATCH", "PUT"], "/:uid", requireScope("webhooks:write"), async (c) => {
    const current = await mustGet(c.env.DB, c.req.param("uid"));
    const raw = await readJson(c.req.raw);
    const s = settings(c.env);
    const changes =
      c.req.method === "PUT"
        ? (() => {
            const b = parseInput(PutBody, raw, "webhook");
            return {
              url: b.url,
              eventTypes: b.eventTypes,
              sourceIds: b.sourceIds ?? null,
              secret: b.secret ?? current.secret,
              disabled: b.disabled ?? false,
              timeoutMs: b.timeoutMs ?? s.deliveryTimeoutMs,
              maxAttempts: b.maxAttempts ?? s.maxAttempts,
            };
          })()
        : parseInput(PatchBody, raw, "webhook");
    const next: Webhook = {
      ...current,
      ...Object.fromEntries(Object.entries(changes).filter(([k, v]) => v !== undefined && k !== "locationUid" && k !== "organizationUid")),
      updatedAt: Date.now(),
    };
    if (next.url !== current.url) checkUrl(next.url, s.allowPrivateDestinations);
    await updateWebhook(c.env.DB, next);
    // Enabling releases what was held, oldest first, now; the cron catches anything missed.
    if (current.disabled && !next.disabled) {
      const released = await releaseHeld(c.env.DB, { webhookUid: next.uid, limit: 1000 });
      await enqueueDeliveries(c.env, released).catch((err) =>
        console.error("release enqueue failed; the cron will re-drive", { webhookUid: next.uid, error: String(err) }),
      );
    }
    return c.json({ ...webhookView(next), heldDeliveries: await countHeld(c.env.DB, next.uid) });
  })
  .delete("/:uid", requireScope("webhooks:write"), async (c) => {
    if (!(await deleteWebhook(c.env.DB, c.req.param("uid")))) {
      throw new AppError(404, "not_found", `No webhook "${c.req.param("uid").slice(0, 80)}".`);
    }
    return c.body(null, 204);
  });
