import { Hono } from "hono";
import { z } from "zod";
import { AppError } from "../domain/errors";
import { isoTime } from "../domain/ids";
import type { StoredEvent } from "../domain/types";
import { getEvent, listEvents } from "../store/events";
import { requireScope } from "./auth";
import type { ApiEnv } from "./context";
import { decodeCursor, encodeCursor, parseInput } from "./validate";

const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().min(1).optional(),
});

type EventSummary = Omit<StoredEvent, "body" | "headers" | "seq">;

function summary(e: Omit<StoredEvent, "body" | "headers">) {
  const { seq: _seq, receivedAt, ...rest } = e;
  return { ...rest, receivedAt: isoTime(receivedAt) } satisfies Record<keyof EventSummary, unknown>;
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
    const event = await getEvent(c.env.DB, c.req.param("id"));
    if (!event) throw new AppError(404, "not_found", `No event "${c.req.param("id").slice(0, 80)}".`);
    const { body, headers, ...rest } = event;
    return c.json({ ...summary(rest), headers, body, deliveries: [] });
  });
