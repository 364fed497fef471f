import type { Webhook } from "../domain/types";
import { runTransform } from "./transform";

/** What a webhook sends for an event: the body (signed as it is) and the headers its transformation adds. */
export type Outbound =
  | { ok: true; body: string; headers: Record<string, string>; transformed: boolean }
  /** The transformation failed on this event; it would fail the same way on every attempt. */
  | { ok: false; reason: string; summary: string };

/**
 * The transformation step of a delivery: the webhook's `transform` output as the
 * body (else the stored body byte for byte) and its `transformHeaders`. Delivery
 * and "test this webhook" both call this, so a test shows exactly what is sent.
 */
export async function outbound(webhook: Pick<Webhook, "transform" | "transformHeaders">, body: string): Promise<Outbound> {
  const headers = webhook.transformHeaders ?? {};
  if (webhook.transform === null && Object.keys(headers).length === 0) return { ok: true, body, headers: {}, transformed: false };
  // The expressions were compiled (checked, header names lower-cased) when the webhook was saved;
  // one that no longer parses fails here like any other evaluation error.
  const result = await runTransform({ body: webhook.transform, headers }, body);
  if (!result.ok) return { ok: false, reason: result.reason, summary: result.summary };
  return { ok: true, body: result.body, headers: result.headers, transformed: webhook.transform !== null };
}
