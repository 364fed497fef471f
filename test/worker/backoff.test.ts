import { describe, expect, it } from "vitest";
import { backoffCeiling, backoffSeconds, parseRetryAfter, retryDelaySeconds } from "../../src/pipeline/backoff";

const s = { retryBaseSeconds: 5, retryCapSeconds: 3600 };

describe("backoff with full jitter", () => {
  it("doubles its ceiling from the base up to the cap", () => {
    expect([1, 2, 3, 4, 10, 11, 12, 14].map((n) => backoffCeiling(n, 5, 3600))).toEqual([
      5, 10, 20, 40, 2560, 3600, 3600, 3600,
    ]);
  });

  it("stays within [0, ceiling] and spreads over it", () => {
    for (let n = 1; n <= 15; n++) {
      const samples = Array.from({ length: 200 }, () => backoffSeconds(n, 5, 3600));
      const ceiling = backoffCeiling(n, 5, 3600);
      expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...samples)).toBeLessThanOrEqual(ceiling);
      if (ceiling >= 20) expect(new Set(samples).size).toBeGreaterThan(5); // jittered, not fixed
    }
    expect(backoffSeconds(3, 5, 3600, () => 0)).toBe(0);
    expect(backoffSeconds(3, 5, 3600, () => 1)).toBe(20);
  });

  it("waits at least the downstream's Retry-After, up to the cap", () => {
    expect(retryDelaySeconds(1, s, 120, () => 0)).toBe(120);
    expect(retryDelaySeconds(12, s, 60, () => 1)).toBe(3600);
    expect(retryDelaySeconds(1, s, 999_999, () => 0)).toBe(3600);
    expect(retryDelaySeconds(2, s, null, () => 0.5)).toBe(5);
  });

  it("reads Retry-After as seconds or an HTTP date", () => {
    const now = Date.UTC(2026, 10, 28, 12, 0, 0);
    expect(parseRetryAfter("30", now)).toBe(30);
    expect(parseRetryAfter(new Date(now + 90_000).toUTCString(), now)).toBe(90);
    expect(parseRetryAfter("soon", now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });
});
