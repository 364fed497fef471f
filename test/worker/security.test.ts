import { afterEach, describe, expect, it, vi } from "vitest";
import { call, podiumBody, podiumHeaders, post } from "./helpers";
import { pipeline, uniqueKey } from "./pipeline";

const v1 = (path: string, init: RequestInit = {}) => new Request(`https://edgehook.test/v1${path}`, init);

describe("API hardening", () => {
  it("rate-limits failed authentications per client address, leaving valid tokens and other clients alone", async () => {
    const client = `203.0.113.${Math.floor(Math.random() * 200) + 1}`;
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) {
      const res = await call(v1("/events", { headers: { authorization: `Bearer guess-${i}`, "cf-connecting-ip": client } }));
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
    const limited = await call(v1("/events", { headers: { authorization: "Bearer guess", "cf-connecting-ip": client } }));
    expect(limited.headers.get("retry-after")).toBe("60");
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe("rate_limited");
    const valid = await call(v1("/events", { headers: { authorization: "Bearer test-admin-token", "cf-connecting-ip": client } }));
    expect(valid.status).toBe(200);
    const other = await call(v1("/events", { headers: { authorization: "Bearer guess", "cf-connecting-ip": "198.51.100.7" } }));
    expect(other.status).toBe(401);
  });

  it("refuses API bodies over 64 KiB with 413 payload_too_large", async () => {
    const res = await call(
      v1("/webhooks", {
        method: "POST",
        headers: { authorization: "Bearer test-admin-token", "content-type": "application/json" },
        body: JSON.stringify({ url: "https://downstream.test/ok/x", eventTypes: ["*"], pad: "x".repeat(70_000) }),
      }),
    );
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("payload_too_large");
  });
});

describe("secrets never reach the logs", () => {
  afterEach(() => vi.restoreAllMocks());

  it("logs neither tokens, webhook secrets, source secrets nor signatures, on success or failure", async () => {
    const lines: string[] = [];
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        lines.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
      });
    }
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const webhookSecret = `whsec_${btoa(`never-log-this-secret-${uniqueKey()}`)}`;
    const sourceSecret = `source-secret-${uniqueKey()}`;
    const token = (await p.api("POST", "/v1/tokens", { name: "t", scopes: ["events:read"] })).json.token as string;
    const org = `org-${uniqueKey()}`;
    await p.createWebhook({ url: "https://downstream.test/fail/logs", eventTypes: ["*"], organizationUid: org, secret: webhookSecret, maxAttempts: 1 });
    const source = (await p.api("POST", "/v1/sources", { name: "s", provider: "podium", secrets: [sourceSecret] })).json.id;

    const body = podiumBody({ organizationUid: org });
    const headers = await podiumHeaders(body, sourceSecret);
    await call(post(`/webhooks/${source}`, body, headers));
    await call(post(`/webhooks/${source}`, body, await podiumHeaders(body, "wrong-secret"))); // a refusal
    await call(post("/webhooks/podium", body, await podiumHeaders(body)), { INGEST: { send: async () => Promise.reject(new Error("down")) } as never });
    await p.ingest(body);
    await p.deliver(); // a failed delivery, dead-lettered
    await call(v1("/events", { headers: { authorization: `Bearer ${token}x` } }));
    await call(v1("/events", { headers: { authorization: `Bearer ${token}` } }));

    const all = lines.join("\n");
    expect(lines.length).toBeGreaterThan(0); // something was logged, and none of it is secret
    for (const secret of [webhookSecret, sourceSecret, token, "test-admin-token", "podium-current", headers["podium-signature"]]) {
      expect(all).not.toContain(secret);
    }
  });
});
