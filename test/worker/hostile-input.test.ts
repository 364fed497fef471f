// Property-based tests: whatever arrives, the ingress and the API answer a 4xx
// with the error shape (never a 5xx, never a throw), and nothing unverified is queued.
import fc from "fast-check";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { STATUS_OF } from "../../src/http/errors";
import { AppError } from "../../src/domain/errors";
import { providers } from "../../src/ingress/providers";
import { verifyRequest } from "../../src/ingress/providers/provider";
import type { Source } from "../../src/domain/types";
import { ADMIN, call, createSource, podiumHeaders, post, recordingQueue } from "./helpers";

const SIGNATURE_HEADERS = [
  "podium-timestamp",
  "podium-signature",
  "webhook-id",
  "webhook-timestamp",
  "webhook-signature",
  "stripe-signature",
  "x-hub-signature-256",
  "x-github-event",
  "x-shopify-hmac-sha256",
  "x-shopify-topic",
  "x-slack-signature",
  "x-slack-request-timestamp",
  "x-sig",
  "x-ts",
  "content-type",
  "content-length",
];

const headerValue = fc.oneof(
  fc.string({ maxLength: 80 }).map((s) => s.replace(/[\r\n\0]/g, "")),
  fc.constantFrom("sha256=", "v1,", "t=1,v1=00", "v0=", "1620771659663", String(Math.floor(Date.now() / 1000)), "whsec_AAAA"),
  fc.stringMatching(/^[0-9a-fA-F]{64}$/),
);
const headers = fc.dictionary(fc.constantFrom(...SIGNATURE_HEADERS), headerValue, { maxKeys: 6 });
const bodies = fc.oneof(
  fc.uint8Array({ maxLength: 512 }),
  fc.json({ maxDepth: 4 }).map((j) => new TextEncoder().encode(j)),
  fc.constantFrom("{}", "[]", "null", '{"metadata":{"eventType":1}}', '{"type":"url_verification","challenge":"x"}').map((s) =>
    new TextEncoder().encode(s),
  ),
);

let sourceIds: string[] = [];
async function sources(): Promise<string[]> {
  if (sourceIds.length) return sourceIds;
  const hmac = { header: "x-sig", algorithm: "SHA-256" as const, encoding: "hex" as const, prefix: "", timestampHeader: "x-ts", typePath: "type", dedupePath: "id" };
  sourceIds = ["podium", "standard-webhooks"];
  for (const provider of ["stripe", "github", "shopify", "slack", "hmac"] as const) {
    sourceIds.push(await createSource({ provider, secrets: ["a-fuzz-secret"], hmac: provider === "hmac" ? hmac : null }));
  }
  return sourceIds;
}

describe("the ingress under arbitrary input", () => {
  it("answers 4xx with the error shape, never throws, never queues an unsigned request", async () => {
    const ids = await sources();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ids, "nope", "UPPER", "a/b", "..", "-", "x".repeat(65)),
        fc.constantFrom("POST", "POST", "POST", "GET", "PUT", "DELETE", "PATCH"),
        headers,
        bodies,
        async (source, method, h, body) => {
          const queue = recordingQueue();
          const res = await call(
            new Request(`https://edgehook.test/webhooks/${encodeURIComponent(source)}`, {
              method,
              headers: h,
              body: method === "GET" ? undefined : body,
            }),
            { INGEST: queue },
          );
          expect(res.status).toBeGreaterThanOrEqual(400);
          expect(res.status).toBeLessThan(500);
          const json = (await res.json()) as { error: { code: string; message: string } };
          expect(typeof json.error.code).toBe("string");
          expect(queue.sent).toHaveLength(0);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("reads every provider's bodies and headers without throwing anything but a 400 or 401", async () => {
    const source: Source = {
      id: "fuzz",
      name: "fuzz",
      provider: "hmac",
      verification: "signature",
      secrets: ["a-fuzz-secret"],
      toleranceSeconds: 300,
      disabled: false,
      fromConfig: false,
      madeAt: null,
      eventSalt: null,
      organizationUid: null,
      teachesLocations: true,
      hmac: { header: "x-sig", algorithm: "SHA-512", encoding: "base64", prefix: "p=", timestampHeader: "x-ts", typePath: "a.b", dedupePath: "c" },
      shopDomain: "fuzz.myshopify.com",
    };
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...Object.values(providers)), headers, fc.string({ maxLength: 300 }), async (provider, h, text) => {
        const req = { headers: new Headers(h), raw: new TextEncoder().encode(text), now: Date.now() };
        for (const step of [() => verifyRequest(provider, req, source), () => provider.facts(req, text, source)]) {
          try {
            await step();
          } catch (err) {
            expect(err).toBeInstanceOf(AppError);
            expect([400, 401]).toContain(STATUS_OF[(err as AppError).code]);
          }
        }
        try {
          provider.handshake?.(req, text);
        } catch (err) {
          expect(STATUS_OF[(err as AppError).code]).toBe(400);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("handles deep nesting, invalid UTF-8, huge and duplicate headers without a 5xx", async () => {
    const deep = `${'{"a":'.repeat(5000)}1${"}".repeat(5000)}`;
    const deepRes = await call(post("/webhooks/podium", deep, await podiumHeaders(deep)), { INGEST: recordingQueue() });
    expect([202, 400]).toContain(deepRes.status);

    // Invalid UTF-8 whose signature is valid over the raw bytes.
    const raw = new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0xff, 0xfe, 0x7d]);
    const ts = String(Date.now());
    const bad = await call(new Request("https://edgehook.test/webhooks/podium", { method: "POST", body: raw, headers: await podiumHeaders(raw) }), {
      INGEST: recordingQueue(),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("malformed_payload");

    const huge = await call(post("/webhooks/podium", "{}", { "podium-signature": "a".repeat(32_000), "podium-timestamp": ts }));
    expect(huge.status).toBe(401);

    // A signature header sent twice: a valid copy verifies (as one of several entries does), two wrong ones do not.
    const dup = new Headers(await podiumHeaders("{}"));
    dup.append("podium-signature", "0".repeat(64));
    const dupRes = await call(new Request("https://edgehook.test/webhooks/podium", { method: "POST", body: "{}", headers: dup }), { INGEST: recordingQueue() });
    expect(dupRes.status).toBe(202);
    dup.set("podium-signature", "1".repeat(64));
    dup.append("podium-signature", "0".repeat(64));
    const wrong = await call(new Request("https://edgehook.test/webhooks/podium", { method: "POST", body: "{}", headers: dup }), { INGEST: recordingQueue() });
    expect(wrong.status).toBe(401);
  });
});

describe("the API under arbitrary input", () => {
  it("answers every malformed request with a 4xx and the error shape", async () => {
    const routes: [string, string][] = [
      ["POST", "/v1/webhooks"],
      ["PATCH", "/v1/webhooks/none"],
      ["PUT", "/v1/webhooks/none"],
      ["POST", "/v1/sources"],
      ["PATCH", "/v1/sources/none"],
      ["POST", "/v1/tokens"],
      ["POST", "/v1/deliveries/retry"],
      ["POST", "/v1/events/none/replay"],
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        fc.oneof(fc.json({ maxDepth: 3 }), fc.string({ maxLength: 200 }), fc.constant("")),
        async ([method, path], body) => {
          const res = await call(
            new Request(`https://edgehook.test${path}`, {
              method,
              headers: { ...ADMIN, "content-type": "application/json" },
              body,
            }),
          );
          expect(res.status).toBeLessThan(500);
          if (res.status >= 400) {
            const json = (await res.json()) as { error: { code: string } };
            expect(typeof json.error.code).toBe("string");
          }
        },
      ),
      { numRuns: 200 },
    );
    void env;
  });

  it("quotes an id its path gives in a 404 escaped and cut short, never a control or bidi character as it came", async () => {
    const long = "a".repeat(128);
    const cases: [string, string][] = [
      ["/v1/webhooks/%E2%80%AE", String.raw`No webhook "\u202e"`],
      ["/v1/tokens/%00", String.raw`No token "\u0000"`],
      ["/v1/events/x%E2%80%8By", String.raw`"x\u200by"`],
      [`/v1/webhooks/${long}`, `No webhook "${"a".repeat(79)}…"`],
    ];
    for (const [path, quoted] of cases) {
      const res = await call(new Request(`https://edgehook.test${path}`, { headers: ADMIN }));
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      expect([res.status, error.code], path).toEqual([404, "not_found"]);
      expect(error.message, path).toContain(quoted);
      expect(error.message, path).not.toMatch(/[\u0000-\u001f\u200b\u202e]/);
    }
  });

  it("answers arbitrary list queries with 200 or 400 (404 for a filter naming a webhook, event or source that is not there)", async () => {
    // The filters that name a thing, and the lists they name it in: one that is not there is refused as its own routes refuse it.
    const naming: Record<string, string[]> = { "/v1/deliveries": ["webhookUid", "eventId"], "/v1/events": ["sourceId"], "/v1/stats": ["webhookUids"] };
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("/v1/events", "/v1/deliveries", "/v1/webhooks", "/v1/dead-letters", "/v1/stats"),
        fc.dictionary(
          fc.constantFrom("limit", "cursor", "status", "since", "until", "eventType", "webhookUid", "eventId", "open", "sourceId", "webhookUids"),
          fc.string({ maxLength: 40 }),
          { maxKeys: 4 },
        ),
        async (path, query) => {
          const res = await call(
            new Request(`https://edgehook.test${path}?${new URLSearchParams(query)}`, { headers: ADMIN }),
          );
          const named = (naming[path] ?? []).some((filter) => filter in query);
          expect(named ? [200, 400, 404] : [200, 400]).toContain(res.status);
          if (res.status === 404) expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
        },
      ),
      { numRuns: 150 },
    );
  });
});
