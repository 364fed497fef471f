import { createHmac, randomUUID } from "node:crypto";

export function podiumEvent(opts: { type?: string; eventUid?: string; locationUid?: string; organizationUid?: string; pad?: string } = {}) {
  return JSON.stringify({
    data: {
      uid: randomUUID(),
      body: "Is the 2pm appointment still open?",
      ...(opts.pad ? { pad: opts.pad } : {}),
      location: { uid: opts.locationUid ?? "loc-e2e", organizationUid: opts.organizationUid ?? "org-e2e" },
    },
    metadata: { eventType: opts.type ?? "message.received", eventUid: opts.eventUid ?? randomUUID(), version: "2021.04.01" },
  });
}

/** HMAC-SHA256, hex, of `{timestamp}.{body}`: how Podium (and Stripe's v1) sign, computed apart from src/. */
export function timestampedHmac(secret: string, timestamp: string | number, body: string): string {
  return createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
}

/** POSTs a body signed the way Podium signs it. */
export async function sendPodium(url: string, body: string, secret: string, timestamp = String(Date.now())) {
  const signature = timestampedHmac(secret, timestamp, body);
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", "podium-timestamp": timestamp, "podium-signature": signature },
    body,
  });
}
