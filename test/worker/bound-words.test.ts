// A value out of bounds is refused naming the field, its bound and what was given
// ("maxAttempts: must be at most 50 (got 500)"), not in zod's words ("Too big: expected number to be <=50").
import { describe, expect, it } from "vitest";
import { MAX_ATTEMPTS_LIMIT, TIMEOUT_MS_LIMITS } from "../../src/domain/delivery";
import { RATE_LIMIT_MAX } from "../../src/domain/flow";
import { pipeline, uniqueKey } from "./pipeline";
import { ADMIN, call } from "./helpers";

/** The 400 `invalid_request` of a request with one issue, saying `message` of `path` in `what` (body, query). */
const refusal = (what: string, path: string, message: string) => ({
  code: "invalid_request",
  message: `Invalid ${what}: ${path}: ${message}.`,
  details: { issues: [{ path, message }] },
});

describe("a value out of bounds", () => {
  const p = pipeline();
  const key = uniqueKey();
  const webhook = { url: `https://downstream.test/ok/${key}`, eventTypes: ["*"], organizationUid: `org-${key}` };

  it("of a webhook's numbers says the bound and what was given, on create and on change", async () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [{ maxAttempts: 500 }, "maxAttempts", `must be at most ${MAX_ATTEMPTS_LIMIT} (got 500)`],
      [{ maxAttempts: 0 }, "maxAttempts", "must be at least 1 (got 0)"],
      [{ timeoutMs: 5 }, "timeoutMs", `must be at least ${TIMEOUT_MS_LIMITS.min} (got 5)`],
      [{ timeoutMs: 60_000 }, "timeoutMs", `must be at most ${TIMEOUT_MS_LIMITS.max} (got 60000)`],
      [{ rateLimit: 5000 }, "rateLimit", `must be at most ${RATE_LIMIT_MAX} (got 5000)`],
      // Not a whole number where one is needed, said plainly.
      [{ maxAttempts: 2.5 }, "maxAttempts", "must be a whole number (got 2.5)"],
      [{ timeoutMs: 1000.5 }, "timeoutMs", "must be a whole number (got 1000.5)"],
    ];
    for (const [fields, path, message] of cases) {
      const created = await p.api("POST", "/v1/webhooks", { ...webhook, ...fields });
      expect(created.status, JSON.stringify(fields)).toBe(400);
      expect(created.json.error, JSON.stringify(fields)).toEqual(refusal("body", path, message));
    }
    const hook = (await p.api("POST", "/v1/webhooks", webhook)).json;
    const changed = await p.api("PATCH", `/v1/webhooks/${hook.uid}`, { maxAttempts: 500 });
    expect(changed.json.error).toEqual(refusal("body", "maxAttempts", `must be at most ${MAX_ATTEMPTS_LIMIT} (got 500)`));
    // A schema's own words for a value are kept: a rate of 0 says what to give for none.
    const zero = await p.api("PATCH", `/v1/webhooks/${hook.uid}`, { rateLimit: 0 });
    expect(zero.json.error.message).toMatch(/^Invalid body: rateLimit: 0 is no rate: /);
    expect((await p.api("DELETE", `/v1/webhooks/${hook.uid}`)).status).toBe(204);
  });

  it("of a list's limit says the bound and what was given", async () => {
    for (const list of ["/v1/events", "/v1/webhooks", "/v1/deliveries"]) {
      expect((await p.api("GET", `${list}?limit=5000`)).json.error, list).toEqual(refusal("query", "limit", "must be at most 100 (got 5000)"));
      expect((await p.api("GET", `${list}?limit=0`)).json.error, list).toEqual(refusal("query", "limit", "must be at least 1 (got 0)"));
    }
    // Past 2^53 (and past a double's range), the digits as written, not the number they read as.
    const digits = "99999999999999999999";
    expect((await p.api("GET", `/v1/events?limit=${digits}`)).json.error).toEqual(refusal("query", "limit", `must be at most 100 (got ${digits})`));
    const huge = "9".repeat(400);
    expect((await p.api("GET", `/v1/events?limit=${huge}`)).json.error).toEqual(refusal("query", "limit", `must be at most 100 (got ${"9".repeat(39)}…)`));
  });

  it("of a JSON number past 2^53 says about what it was; one past a double's range says it is too large", async () => {
    const big = await p.api("POST", "/v1/webhooks", { ...webhook, maxAttempts: 99999999999999999999 });
    expect(big.json.error).toEqual(refusal("body", "maxAttempts", `must be at most ${MAX_ATTEMPTS_LIMIT} (got about 1.00e+20)`));
    const res = await call(new Request("https://edgehook.test/v1/webhooks", {
      method: "POST",
      headers: { ...ADMIN, "content-type": "application/json" },
      body: JSON.stringify(webhook).replace(/}$/, ',"maxAttempts":1e400}'),
    }));
    const { error } = (await res.json()) as { error: unknown };
    expect(error).toEqual(refusal("body", "maxAttempts", "must be a number (got one too large to read, past 1.8e308)"));
  });

  it("of a string's length or a list's size says it in characters or items", async () => {
    const long = await p.api("POST", "/v1/tokens", { name: "n".repeat(201), scopes: ["events:read"] });
    expect(long.status).toBe(400);
    expect(long.json.error).toEqual(refusal("body", "name", "must be at most 200 characters (got 201)"));
    // Counted as zod counts them, in code points: 201 emoji are 402 UTF-16 units.
    const emoji = await p.api("POST", "/v1/tokens", { name: "🙂".repeat(201), scopes: ["events:read"] });
    expect(emoji.json.error).toEqual(refusal("body", "name", "must be at most 200 characters (got 201)"));
    const empty = await p.api("POST", "/v1/tokens", { name: "", scopes: ["events:read"] });
    expect(empty.json.error).toEqual(refusal("body", "name", "must not be empty"));
    const types = Array.from({ length: 101 }, (_, i) => `thing${i}.happened`);
    const many = await p.api("POST", "/v1/webhooks", { ...webhook, eventTypes: types });
    expect(many.json.error).toEqual(refusal("body", "eventTypes", "must have at most 100 items (got 101)"));
  });
});
