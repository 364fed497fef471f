import { Hono } from "hono";
import { z } from "zod";
import { AppError } from "../domain/errors";
import { isoTime } from "../domain/ids";
import { DELIVERY_STATUSES, type Attempt, type Delivery } from "../domain/types";
import { enqueueDeliveries } from "../pipeline/enqueue";
import { getDelivery, listDeliveries, requeueDeliveries } from "../store/deliveries";
import { requireScope } from "./auth";
import type { ApiEnv } from "./context";
import { decodeCursor, encodeCursor, parseInput, readJson } from "./validate";

export function deliveryView(d: Delivery) {
  return {
    id: d.id,
    eventId: d.eventId,
    webhookUid: d.webhookUid,
    status: d.status,
    attemptCount: d.attemptCount,
    nextAttemptAt: d.status === "pending" ? isoTime(d.nextAttemptAt) : null,
    createdAt: isoTime(d.createdAt),
    updatedAt: isoTime(d.updatedAt),
  };
}

export function attemptView(a: Attempt) {
  return {
    number: a.number,
    startedAt: isoTime(a.startedAt),
    durationMs: a.durationMs,
    statusCode: a.statusCode,
    error: a.error,
    responseSnippet: a.responseSnippet,
  };
}

const status = z.enum(DELIVERY_STATUSES);
const ListQuery = z.object({
  status: status.optional(),
  webhookUid: z.string().min(1).max(128).optional(),
  eventId: z.string().min(1).max(128).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().min(1).max(200).optional(),
});

const BulkRetryBody = z.strictObject({
  status: z.enum(["pending", "failed", "expired", "succeeded"]),
  webhookUid: z.string().min(1).max(128).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
});

export const deliveries = new Hono<ApiEnv>()
  .get("/", requireScope("events:read"), async (c) => {
    const q = parseInput(ListQuery, c.req.query(), "query");
    const page = await listDeliveries(
      c.env.DB,
      { status: q.status, webhookUid: q.webhookUid, eventId: q.eventId },
      { limit: q.limit, before: q.cursor === undefined ? undefined : decodeCursor(q.cursor) },
    );
    return c.json({
      data: page.deliveries.map(deliveryView),
      nextCursor: page.nextBefore === null ? null : encodeCursor(page.nextBefore),
    });
  })
  .post("/retry", requireScope("events:replay"), async (c) => {
    const body = parseInput(BulkRetryBody, await readJson(c.req.raw), "retry filter");
    const ids = await requeueDeliveries(c.env.DB, {
      status: body.status,
      webhookUid: body.webhookUid,
      since: body.since === undefined ? undefined : Date.parse(body.since),
    });
    await enqueueDeliveries(c.env, ids);
    return c.json({ count: ids.length }, 202);
  })
  .post("/:id/retry", requireScope("events:replay"), async (c) => {
    const id = c.req.param("id");
    const d = await getDelivery(c.env.DB, id);
    if (!d) throw new AppError(404, "not_found", `No delivery "${id.slice(0, 80)}".`);
    if (d.status === "held") {
      throw new AppError(409, "conflict", "The delivery is held because its webhook is disabled; enable the webhook to release it.");
    }
    const [requeued] = await requeueDeliveries(c.env.DB, { ids: [id] });
    if (!requeued) throw new AppError(409, "conflict", "The delivery changed meanwhile; try again.");
    await enqueueDeliveries(c.env, [requeued]);
    const now = await getDelivery(c.env.DB, id);
    return c.json(deliveryView(now ?? d), 202);
  });
