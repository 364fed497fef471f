// What the scheduler tests share (scheduler.test.ts, scheduler-fifo.test.ts: split so that the
// longest tests run beside the others, on the other core).
import { env } from "cloudflare:workers";
import { expect, vi } from "vitest";
import type { IngestMessage } from "../../../src/domain/types";
import { ingestMessage, podiumBody } from "../helpers";
import { pipeline } from "../pipeline";
import { webhookDeliveryCount } from "../rows";

/** The i-th event of a test for the ingest consumer (no signature: it comes off the queue), received at `receivedAt`. */
export function message(key: string, org: string, i: number, receivedAt: number): IngestMessage {
  return ingestMessage({ eventId: `evt_${key}_${i}`, dedupeKey: `${key}-${i}`, organizationUid: org, receivedAt, body: podiumBody({ organizationUid: org }) });
}

export const indexOf = (r: { headers: Record<string, string> }) => Number(r.headers["edgehook-event-id"]!.split("_").pop());

export const count = webhookDeliveryCount;

/** Waits until `n` of the webhook's deliveries succeeded. */
export async function succeeded(webhookUid: string, n: number, timeout = 120_000): Promise<void> {
  await vi.waitFor(async () => expect(await count(webhookUid, "succeeded")).toBe(n), { timeout, interval: 200 });
}

/** The tolerance on counts per window: one request may arrive a little early against the next start. */
export const JITTER = 1;

export const realSchedulers = () => pipeline({ SCHEDULERS: env.SCHEDULERS });
