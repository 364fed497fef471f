import { podium } from "../schemes/podium";
import { standardWebhooks } from "../schemes/standard-webhooks";
import type { Webhook } from "../domain/types";

/**
 * The signature headers of an outbound delivery: Standard Webhooks (verifiable
 * with the `standardwebhooks` package) and Podium style (verifiable by code that
 * already checks Podium's own webhooks), made by the schemes the ingress verifies with.
 * A `previous` secret (a rotation's) still within its time at `nowMs` adds a second
 * `webhook-signature` entry, after the current one's, so a receiver not yet given the new
 * secret keeps verifying; `podium-signature` holds one signature: the current secret's.
 */
export async function signatureHeaders(
  secret: string,
  msgId: string,
  body: string,
  nowMs: number,
  previous: Webhook["previousSecret"] = null,
): Promise<Record<string, string>> {
  const standard = await standardWebhooks.sign(secret, body, { id: msgId, now: nowMs });
  if (previous && nowMs < previous.expiresAt) {
    const old = await standardWebhooks.sign(previous.secret, body, { id: msgId, now: nowMs });
    standard["webhook-signature"] = `${standard["webhook-signature"]} ${old["webhook-signature"]}`;
  }
  return { ...standard, ...(await podium.sign(secret, body, { now: nowMs })) };
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * The headers of a webhook's POST besides its body and signatures. `deliveryId`: a delivery's
 * (what a listener hears is none): a replay's differs from the first delivery's, whose event, and
 * so `webhook-id`, it shares.
 */
export function unsignedHeaders(d: { eventId: string; eventType: string; attempt: number; deliveryId?: string }): Record<string, string> {
  return {
    "content-type": "application/json",
    "user-agent": "Edgehook/1",
    // Percent-encoded unless printable ASCII (a provider's type in another script, or one stored
    // before control characters made it unknown: domain/facts.ts): a header carries no other
    // character everywhere, and one refused failed every attempt. A type holding a % is encoded
    // too, so that decoding the header always gives the type.
    "edgehook-event-type": PRINTABLE_ASCII.test(d.eventType) && !d.eventType.includes("%") ? d.eventType : encodeURIComponent(d.eventType),
    "edgehook-event-id": d.eventId,
    "edgehook-attempt": String(d.attempt),
    ...(d.deliveryId === undefined ? {} : { "edgehook-delivery-id": d.deliveryId }),
  };
}

/** Every header a webhook's POST carries besides its body: what a downstream (or `edgehook listen`) gets. */
export async function deliveryHeaders(
  d: { secret: string; previousSecret?: Webhook["previousSecret"]; eventId: string; eventType: string; body: string; attempt: number; deliveryId?: string },
  nowMs: number,
): Promise<Record<string, string>> {
  return { ...unsignedHeaders(d), ...(await signatureHeaders(d.secret, d.eventId, d.body, nowMs, d.previousSecret)) };
}
