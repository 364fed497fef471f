import { bytesToBase64, hmac, standardWebhooksKey, utf8 } from "../domain/crypto";
import { toHex } from "../domain/ids";

/**
 * The signature headers of an outbound delivery: Standard Webhooks (verifiable
 * with the `standardwebhooks` package) and Podium style (verifiable by code that
 * already checks Podium's own webhooks).
 */
export async function signatureHeaders(
  secret: string,
  msgId: string,
  body: string,
  nowMs: number,
): Promise<Record<string, string>> {
  const seconds = Math.floor(nowMs / 1000);
  const standard = await hmac(standardWebhooksKey(secret), utf8(`${msgId}.${seconds}.${body}`));
  const podium = await hmac(secret, utf8(`${nowMs}.${body}`));
  return {
    "webhook-id": msgId,
    "webhook-timestamp": String(seconds),
    "webhook-signature": `v1,${bytesToBase64(standard)}`,
    "podium-timestamp": String(nowMs),
    "podium-signature": toHex(podium),
  };
}

/** Every header a webhook's POST carries besides its body: what a downstream (or `edgehook listen`) gets. */
export async function deliveryHeaders(
  d: { secret: string; eventId: string; eventType: string; body: string; attempt: number },
  nowMs: number,
): Promise<Record<string, string>> {
  return {
    "content-type": "application/json",
    "user-agent": "Edgehook/1",
    ...(await signatureHeaders(d.secret, d.eventId, d.body, nowMs)),
    "edgehook-event-type": d.eventType,
    "edgehook-event-id": d.eventId,
    "edgehook-attempt": String(d.attempt),
  };
}
