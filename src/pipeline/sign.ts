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
