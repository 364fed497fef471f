// Zero-downtime rotation of a webhook's signing secret (docs/forwarding.md): the secret a write
// replaces keeps signing beside the new one, as a second `webhook-signature` entry, for
// previousSecretValidSeconds (default 24 h), and never leaves through the API.
import { env } from "cloudflare:workers";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { utf8 } from "../../src/domain/crypto";
import { runMaintenance } from "../../src/maintenance/cron";
import { deliveryHeaders } from "../../src/pipeline/sign";
import { podium } from "../../src/schemes/podium";
import type { Recorded } from "../support/fake-downstream";
import { clockFrom } from "./clock";
import { received, webhookSetup } from "./pipeline";

const secretOf = (words: string) => "whsec_" + btoa(`${words}, a secret of 24+ bytes`);

/** Whether a receiver verifies `req` with `secret`: the standardwebhooks package, and Podium-style code. */
function verifies(req: Recorded, secret: string) {
  let standard = true;
  try {
    new StandardWebhook(secret).verify(req.body, req.headers);
  } catch {
    standard = false;
  }
  const asReceived = { headers: new Headers(req.headers), raw: utf8(req.body), now: Date.now() };
  return podium.verify(asReceived, [secret], 300).then(
    () => ({ standard, podium: true }),
    () => ({ standard, podium: false }),
  );
}

/** A webhook on the fake downstream that has delivered one event with its first secret (its scheduler has read it), and a way to deliver the next. */
async function deliveredOnce() {
  const s = await webhookSetup("ok");
  const first = s.webhook.secret;
  await s.p.ingest(s.event());
  await s.p.deliver();
  const next = async () => {
    await s.p.ingest(s.event());
    await s.p.deliver();
    return (await received(s.key)).at(-1)!;
  };
  return { ...s, first, next };
}

const row = (uid: string) =>
  env.DB.prepare("SELECT secret, previous_secret, previous_secret_expires_at FROM webhooks WHERE uid = ?")
    .bind(uid)
    .first<{ secret: string; previous_secret: string | null; previous_secret_expires_at: number | null }>();

describe("webhook secret rotation", () => {
  it("signs with both secrets for 24 h by default: either verifies with the standardwebhooks package, podium-signature with the new one only", async () => {
    const { p, webhook, first, next } = await deliveredOnce();
    const second = secretOf("second");
    const before = Date.now();
    const rotated = await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { secret: second });
    expect(rotated.status).toBe(200);
    const expiresAt = Date.parse(rotated.json.previousSecretExpiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 86_400_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 86_400_000);
    expect((await p.api("GET", `/v1/webhooks/${webhook.uid}`)).json.previousSecretExpiresAt).toBe(rotated.json.previousSecretExpiresAt);
    // Stored as the current secret is.
    expect(await row(webhook.uid)).toEqual({ secret: second, previous_secret: first, previous_secret_expires_at: expiresAt });

    const req = await next();
    expect(req.headers["webhook-signature"]!.split(" ")).toHaveLength(2);
    expect(await verifies(req, second)).toEqual({ standard: true, podium: true });
    expect(await verifies(req, first)).toEqual({ standard: true, podium: false });
    expect(await verifies(req, secretOf("another"))).toEqual({ standard: false, podium: false });
  });

  it("stops signing with the previous secret once its window has passed", async () => {
    const { p, webhook, first, next } = await deliveredOnce();
    const second = secretOf("second");
    expect((await p.api("PUT", `/v1/webhooks/${webhook.uid}`, { url: webhook.url, eventTypes: ["*"], secret: second, previousSecretValidSeconds: 60 })).status).toBe(200);
    expect(await verifies(await next(), first)).toEqual({ standard: true, podium: false });

    const restore = clockFrom(Date.now() + 61_000);
    try {
      const req = await next();
      expect(req.headers["webhook-signature"]!.split(" ")).toHaveLength(1);
      expect(await verifies(req, second)).toEqual({ standard: true, podium: true });
      expect(await verifies(req, first)).toEqual({ standard: false, podium: false });
      expect((await p.api("GET", `/v1/webhooks/${webhook.uid}`)).json.previousSecretExpiresAt).toBeNull();
    } finally {
      restore();
    }
  });

  it("forgets the previous secret at the first maintenance run at or after its window's end; one still within it is kept and signs", async () => {
    const [ended, within] = [await deliveredOnce(), await deliveredOnce()];
    const second = secretOf("second");
    for (const [s, validSeconds] of [[ended, 60], [within, 3600]] as const) {
      expect((await s.p.api("PATCH", `/v1/webhooks/${s.webhook.uid}`, { secret: second, previousSecretValidSeconds: validSeconds })).status).toBe(200);
    }
    const shown = async (uid: string) => (await ended.p.api("GET", `/v1/webhooks/${uid}`)).json;
    const [endedBefore, withinBefore] = [await shown(ended.webhook.uid), await shown(within.webhook.uid)];
    const end = (await row(ended.webhook.uid))!.previous_secret_expires_at!;
    const withinRow = await row(within.webhook.uid);

    // A run just before the end keeps it; one at the end (when it stops signing: sign.ts) clears it.
    expect((await runMaintenance(ended.p.env, end - 1)).failed).toEqual([]);
    expect((await row(ended.webhook.uid))?.previous_secret).toBe(ended.first);
    expect((await runMaintenance(ended.p.env, end)).failed).toEqual([]);
    expect(await row(ended.webhook.uid)).toEqual({ secret: second, previous_secret: null, previous_secret_expires_at: null });
    expect(await row(within.webhook.uid)).toEqual(withinRow);

    const restore = clockFrom(end);
    try {
      // Neither webhook's version moves, and what the API shows is as before: none for the ended one.
      const seen = ({ updatedAt, previousSecretExpiresAt }: { updatedAt: string; previousSecretExpiresAt: string | null }) => ({ updatedAt, previousSecretExpiresAt });
      expect(seen(await shown(ended.webhook.uid))).toEqual({ updatedAt: endedBefore.updatedAt, previousSecretExpiresAt: null });
      expect(seen(await shown(within.webhook.uid))).toEqual(seen(withinBefore));
      const req = await within.next();
      expect(req.headers["webhook-signature"]!.split(" ")).toHaveLength(2);
      expect(await verifies(req, within.first)).toEqual({ standard: true, podium: false });
      expect((await ended.next()).headers["webhook-signature"]!.split(" ")).toHaveLength(1);
    } finally {
      restore();
    }
  });

  it("judges the window when signing, whatever was read before", async () => {
    const previousSecret = { secret: secretOf("old"), expiresAt: 1_000_000 };
    const d = { secret: secretOf("new"), previousSecret, eventId: "evt_1", eventType: "x", body: "{}", attempt: 1 };
    expect((await deliveryHeaders(d, previousSecret.expiresAt - 1))["webhook-signature"]!.split(" ")).toHaveLength(2);
    expect((await deliveryHeaders(d, previousSecret.expiresAt))["webhook-signature"]!.split(" ")).toHaveLength(1);
  });

  it("with previousSecretValidSeconds 0 ends the old secret at once (a leaked one), keeping nothing of it", async () => {
    const { p, webhook, first, next } = await deliveredOnce();
    const second = secretOf("second");
    const rotated = await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { secret: second, previousSecretValidSeconds: 0 });
    expect(rotated.json.previousSecretExpiresAt).toBeNull();
    expect(await row(webhook.uid)).toEqual({ secret: second, previous_secret: null, previous_secret_expires_at: null });
    const req = await next();
    expect(req.headers["webhook-signature"]!.split(" ")).toHaveLength(1);
    expect(await verifies(req, second)).toEqual({ standard: true, podium: true });
    expect(await verifies(req, first)).toEqual({ standard: false, podium: false });
  });

  it("keeps one previous secret: a rotation within the window replaces it with the secret being replaced", async () => {
    const { p, webhook, first, next } = await deliveredOnce();
    const [second, third] = [secretOf("second"), secretOf("third")];
    await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { secret: second });
    expect((await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { secret: third, previousSecretValidSeconds: 3600 })).status).toBe(200);
    expect((await row(webhook.uid))?.previous_secret).toBe(second);
    const req = await next();
    expect(req.headers["webhook-signature"]!.split(" ")).toHaveLength(2);
    expect((await verifies(req, third)).standard).toBe(true);
    expect((await verifies(req, second)).standard).toBe(true);
    expect((await verifies(req, first)).standard).toBe(false);
  });

  it("ends the previous secret at once with previousSecretValidSeconds 0 and no new secret (a leaked one): it signs nothing more", async () => {
    const { p, webhook, first, next } = await deliveredOnce();
    const second = secretOf("second");
    await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { secret: second });
    expect((await verifies(await next(), first)).standard).toBe(true);
    const ended = await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { previousSecretValidSeconds: 0 });
    expect(ended.status).toBe(200);
    expect(ended.json.previousSecretExpiresAt).toBeNull();
    expect(await row(webhook.uid)).toEqual({ secret: second, previous_secret: null, previous_secret_expires_at: null });
    const req = await next();
    expect(req.headers["webhook-signature"]!.split(" ")).toHaveLength(1);
    expect(await verifies(req, second)).toEqual({ standard: true, podium: true });
    expect(await verifies(req, first)).toEqual({ standard: false, podium: false });
    // With none signing it changes nothing.
    expect((await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { previousSecretValidSeconds: 0 })).json.previousSecretExpiresAt).toBeNull();
  });

  it("refuses previousSecretValidSeconds without a new secret, or out of range, and changes nothing", async () => {
    const { p, webhook, first } = await deliveredOnce();
    const path = `/v1/webhooks/${webhook.uid}`;
    const refused = [
      await p.api("PATCH", path, { previousSecretValidSeconds: 60 }),
      await p.api("PATCH", path, { secret: first, previousSecretValidSeconds: 60, disabled: true }),
      await p.api("PUT", path, { url: webhook.url, eventTypes: ["*"], previousSecretValidSeconds: 60 }),
      await p.api("PATCH", path, { secret: secretOf("second"), previousSecretValidSeconds: 604_801 }),
      await p.api("PATCH", path, { secret: secretOf("second"), previousSecretValidSeconds: -1 }),
      await p.api("POST", "/v1/webhooks", { url: webhook.url, eventTypes: ["*"], previousSecretValidSeconds: 60 }),
    ];
    expect(refused.map((r) => [r.status, r.json.error.code])).toEqual(Array(6).fill([400, "invalid_request"]));
    const said = "only 0 is taken (it ends the previous secret now): give the new secret with any other";
    expect(refused[0]!.json.error.message).toContain(`previousSecretValidSeconds: without a new secret ${said}`);
    // The current secret given again: said as such, not as no secret given.
    expect(refused[1]!.json.error.message).toContain(`previousSecretValidSeconds: the secret given is the webhook's current one, so nothing rotates: ${said}`);
    expect(await row(webhook.uid)).toEqual({ secret: first, previous_secret: null, previous_secret_expires_at: null });
    expect((await p.api("GET", path)).json).toMatchObject({ disabled: false, previousSecretExpiresAt: null });
  });

  it("never shows either secret in an answer after the create", async () => {
    const { p, webhook, first } = await deliveredOnce();
    const second = secretOf("second");
    const answers = [
      await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { secret: second }),
      await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { timeoutMs: 4000 }),
      await p.api("GET", `/v1/webhooks/${webhook.uid}`),
      await p.api("GET", "/v1/webhooks?limit=100"),
    ] as const;
    for (const a of answers) {
      expect(a.status).toBe(200);
      const text = JSON.stringify(a.json);
      for (const s of [first, second]) expect(text).not.toContain(s.slice("whsec_".length, "whsec_".length + 24));
    }
    // Only when the old one stops signing; a change without a new secret keeps it.
    expect(answers[0]!.json.previousSecretExpiresAt).toEqual(expect.any(String));
    expect(answers[1]!.json.previousSecretExpiresAt).toBe(answers[0]!.json.previousSecretExpiresAt);
  });
});
