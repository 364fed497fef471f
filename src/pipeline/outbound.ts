import { SLACK_TRANSFORM, slackAlertInput } from "../domain/alerts";
import type { Webhook } from "../domain/types";

// The transformation code, loaded by the first delivery that has one to run: JSONata's top level
// was ~10 ms of the Worker's startup, which every new isolate pays before its first ack, and few
// webhooks transform (docs/performance.md). A dynamic import: the bundle evaluates transform.ts and
// jsonata when it first runs (test/e2e/bundle.test.ts). The API checks expressions when a webhook
// is saved by importing transform.ts itself, from the app, which is loaded on first use already.
let transform: Promise<typeof import("./transform")> | undefined;
const loadTransform = () => (transform ??= import("./transform"));

/**
 * What a webhook sends for an event: the body (signed as it is) and the headers its transformation
 * adds. `steps`: the evaluation steps its transformation took (0 without one), for a caller that
 * bounds the transformation work it does in all.
 */
export type Outbound =
  | { ok: true; body: string; headers: Record<string, string>; transformed: boolean; steps: number }
  /** The transformation failed on this event; it would fail the same way on every attempt. */
  | { ok: false; reason: string; summary: string; steps: number };

/** Whether a webhook has expressions to evaluate for each event (a `transform` or `transformHeaders`). */
export function transforms(webhook: Pick<Webhook, "transform" | "transformHeaders">): boolean {
  return webhook.transform !== null || Object.keys(webhook.transformHeaders ?? {}).length > 0;
}

/**
 * The transformation step of a delivery: the webhook's `transform` output as the
 * body (else the stored body byte for byte) and its `transformHeaders`. Delivery
 * and "test this webhook" both call this, so a test shows exactly what is sent.
 */
export async function outbound(webhook: Pick<Webhook, "kind" | "transform" | "transformHeaders">, body: string): Promise<Outbound> {
  const headers = webhook.transformHeaders ?? {};
  if (!transforms(webhook)) return { ok: true, body, headers: {}, transformed: false, steps: 0 };
  // The expressions were compiled (checked, header names lower-cased) when the webhook was saved;
  // one that no longer parses fails here like any other evaluation error.
  const { runTransform } = await loadTransform();
  // A Slack-format notification endpoint's text is Slack's markup: the alert's message is escaped for it.
  const slack = webhook.kind === "notification" && webhook.transform === SLACK_TRANSFORM;
  const result = await runTransform({ body: webhook.transform, headers }, slack ? slackAlertInput(body) : body);
  if (!result.ok) return { ok: false, reason: result.reason, summary: result.summary, steps: result.steps };
  return { ok: true, body: result.body, headers: result.headers, transformed: webhook.transform !== null, steps: result.steps };
}
