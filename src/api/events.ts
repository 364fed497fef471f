import { Hono } from "hono";
import { z } from "zod";
import { AppError } from "../domain/errors";
import { isoTime } from "../domain/ids";
import type { StoredEvent } from "../domain/types";
import { enqueueDeliveries } from "../pipeline/enqueue";
import { matches } from "../routing/match";
import { deliveriesOfEvent, insertDeliveries } from "../store/deliveries";
import { getEvent, listEvents } from "../store/events";
import { allWebhooks, getWebhook } from "../store/webhooks";
import { requireScope } from "./auth";
import type { ApiEnv } from "./context";
import { attemptView, deliveryView } from "./deliveries";
import { decodeCursor, encodeCursor, parseInput, readJson } from "./validate";

const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().min(1).optional(),
});

const ReplayBody = z.strictObject({ webhookUid: z.string().min(1).max(128).optional() });

function summary(e: Omit<StoredEvent, "body" | "headers">) {
  return {
    id: e.id,
    sourceId: e.sourceId,
    eventType: e.eventType,
    locationUid: e.locationUid,
    organizationUid: e.organizationUid,
    dedupeKey: e.dedupeKey,
    receivedAt: isoTime(e.receivedAt),
  };
}

async function mustGet(db: D1Database, id: string): Promise<StoredEvent> {
  const event = await getEvent(db, id);
  if (!event) throw new AppError(404, "not_found", `No event "${id.slice(0, 80)}".`);
  return event;
}

export const events = new Hono<ApiEnv>()
  .get("/", requireScope("events:read"), async (c) => {
    const q = parseInput(ListQuery, c.req.query(), "query");
    const page = await listEvents(c.env.DB, {
      limit: q.limit,
      before: q.cursor === undefined ? undefined : decodeCursor(q.cursor),
    });
    return c.json({
      data: page.events.map(summary),
      nextCursor: page.nextBefore === null ? null : encodeCursor(page.nextBefore),
    });
  })
  .get("/:id", requireScope("events:read"), async (c) => {
    const event = await mustGet(c.env.DB, c.req.param("id"));
    const deliveries = await deliveriesOfEvent(c.env.DB, event.id);
    return c.json({
      ...summary(event),
      headers: event.headers,
      body: event.body,
      deliveries: deliveries.map((d) => ({ ...deliveryView(d), attempts: d.attempts.map(attemptView) })),
    });
  })
  .post("/:id/replay", requireScope("events:replay"), async (c) => {
    const event = await mustGet(c.env.DB, c.req.param("id"));
    const body = parseInput(ReplayBody, await readJson(c.req.raw, true), "replay");
    let targets;
    if (body.webhookUid) {
      const w = await getWebhook(c.env.DB, body.webhookUid);
      if (!w) throw new AppError(404, "not_found", `No webhook "${body.webhookUid}".`);
      targets = [w];
    } else {
      targets = (await allWebhooks(c.env.DB)).filter((w) => matches(w, event));
    }
    const now = Date.now();
    const pending = await insertDeliveries(
      c.env.DB,
      targets.map((w) => ({
        id: `dlv_${crypto.randomUUID().replace(/-/g, "")}`,
        eventId: event.id,
        webhookUid: w.uid,
        status: w.disabled ? "held" : "pending",
        createdAt: now,
      })),
    );
    await enqueueDeliveries(c.env, pending);
    return c.json({ deliveries: targets.length }, 202);
  });
