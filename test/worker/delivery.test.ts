import { describe, expect, it, vi } from "vitest";
import {
  decide,
  DELIVERY_STATUSES,
  exponentialSchedule,
  retryBlock,
  statusAfter,
  TRANSITIONS,
} from "../../src/domain/delivery";
import { drawn } from "../../src/domain/random-sample";
import { settings } from "../../src/domain/settings";
import { parseRetryAfter, postDelivery } from "../../src/pipeline/post";
import { retriesWaitNearTheirCeiling } from "./helpers";

const policy = { schedule: exponentialSchedule(5, 3600, 49), maxAttempts: 15, retryAfterCapSeconds: 3600 };
const failure = { ok: false as const, retryAfterSeconds: null };
/** A first attempt of a small body to `url`, untransformed. */
const postTo = (url: string) => ({
  deliveryId: "dlv_x",
  attempt: 1,
  url,
  secret: "whsec_dGVzdA==",
  eventId: "evt_x",
  eventType: "message.received",
  body: "{}",
  timeoutMs: 5000,
  transform: { kind: "webhook" as const, transform: null, transformHeaders: null },
});

describe("the delivery lifecycle", () => {
  it("names every status change, each between known statuses", () => {
    for (const t of Object.values(TRANSITIONS)) {
      for (const s of [...t.from, ...t.to]) expect(DELIVERY_STATUSES).toContain(s);
    }
    // Nothing owed moves on by itself once settled: only a retry brings a settled delivery back.
    const from = (t: keyof typeof TRANSITIONS): readonly string[] => TRANSITIONS[t].from;
    expect(from("retry")).toContain("failed");
    expect(from("retry")).not.toContain("held");
    expect(from("attempt")).not.toContain("held");
    expect(from("release")).not.toContain("pending");
    expect(from("expire")).not.toContain("succeeded");
  });

  it("keeps the retry schedule as data: 5 s doubling to 1 h", () => {
    const DEFAULT_RETRY_SCHEDULE = settings({}).retrySchedule;
    expect(DEFAULT_RETRY_SCHEDULE.slice(0, 12)).toEqual([5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]);
    expect(DEFAULT_RETRY_SCHEDULE).toHaveLength(49);
  });

  it("decides after each attempt: success, a jittered retry within the step, or failure once maxAttempts are spent", () => {
    expect(decide({ ok: true }, 3, policy)).toEqual({ kind: "succeeded" });
    for (let n = 1; n < 15; n++) {
      const ceiling = policy.schedule[n - 1]!;
      expect(decide(failure, n, policy, () => 0)).toEqual({ kind: "retry", inSeconds: 0 });
      expect(decide(failure, n, policy, () => 1)).toEqual({ kind: "retry", inSeconds: ceiling });
      const samples = Array.from({ length: 200 }, () => decide(failure, n, policy));
      for (const d of samples) {
        expect(d.kind).toBe("retry");
        if (d.kind === "retry") expect(d.inSeconds).toBeLessThanOrEqual(ceiling);
      }
    }
    expect(decide(failure, 15, policy)).toEqual({ kind: "failed" });
    expect(decide(failure, 1, { ...policy, maxAttempts: 1 })).toEqual({ kind: "failed" });
    // A schedule of 0 s (RETRY_BASE_SECONDS=0) retries at once, to the last attempt.
    expect(decide(failure, 14, { ...policy, schedule: exponentialSchedule(0, 3600, 49) }, () => 1)).toEqual({ kind: "retry", inSeconds: 0 });
  });

  it("retriesWaitNearTheirCeiling fixes the retry draw only: Math.random and the FIFO sample stay random", () => {
    retriesWaitNearTheirCeiling();
    for (let n = 1; n < 15; n++) {
      expect(decide(failure, n, policy)).toEqual({ kind: "retry", inSeconds: Math.round(0.99 * policy.schedule[n - 1]!) });
    }
    expect(vi.isMockFunction(Math.random)).toBe(false);
    // A fixed Math.random would shuffle alike every time; 20 draws of 30 items all alike by chance is beyond odds.
    const items = Array.from({ length: 30 }, (_, i) => i);
    const orders = new Set(Array.from({ length: 20 }, () => drawn(items, 30).join(",")));
    expect(orders.size).toBeGreaterThan(1);
  });

  it("waits at least the downstream's Retry-After, up to its cap", () => {
    expect(decide({ ok: false, retryAfterSeconds: 120 }, 1, policy, () => 0)).toEqual({ kind: "retry", inSeconds: 120 });
    expect(decide({ ok: false, retryAfterSeconds: 999_999 }, 1, policy, () => 0)).toEqual({ kind: "retry", inSeconds: 3600 });
    expect(decide({ ok: false, retryAfterSeconds: 60 }, 12, policy, () => 1)).toEqual({ kind: "retry", inSeconds: 3600 });
  });

  it("fails a permanent failure for good at once, whatever attempts remain", () => {
    expect(decide({ ok: false, permanent: true }, 1, policy, () => 0)).toEqual({ kind: "failed" });
    expect(decide({ ok: false, permanent: true }, 1, { ...policy, maxAttempts: 50 }, () => 1)).toEqual({ kind: "failed" });
    // The same attempt number with an ordinary failure is retried.
    expect(decide(failure, 1, policy, () => 0).kind).toBe("retry");
  });

  it("maps each decision to the status the delivery takes", () => {
    expect(statusAfter({ kind: "succeeded" })).toBe("succeeded");
    expect(statusAfter({ kind: "retry", inSeconds: 5 })).toBe("pending");
    expect(statusAfter({ kind: "failed" })).toBe("failed");
  });

  it("reads Retry-After as seconds or an HTTP date", () => {
    const now = Date.UTC(2026, 10, 28, 12, 0, 0);
    expect(parseRetryAfter("30", now)).toBe(30);
    expect(parseRetryAfter(new Date(now + 90_000).toUTCString(), now)).toBe(90);
    expect(parseRetryAfter("soon", now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
    // RFC 850's and asctime's forms are HTTP dates too (recipients must read all three).
    expect(parseRetryAfter("Saturday, 28-Nov-26 12:02:00 GMT", now)).toBe(120);
    expect(parseRetryAfter("Sat Nov 28 12:03:00 2026", now)).toBe(180);
    expect(parseRetryAfter("Sat Nov  8 12:00:00 2026", now)).toBe(0);
    // What Date.parse reads but is no HTTP date is ignored, as RFC 9110 says: not a pause up to the cap.
    for (const value of ["May 2027", "3000-01-01", "2026-11-28T13:00:00Z", "Sat, 28 Nov 2026 13:00:00 +0100", "28 Nov 2026 13:00:00 GMT"]) {
      expect(parseRetryAfter(value, now), value).toBeNull();
    }
  });

  it("says of a request that got no answer (nothing listening, an unknown host) what to check, beside the runtime's words", async () => {
    // workerd's own error for a refused connection, which says nothing of where to look.
    const fetchSpy = vi.spyOn(globalThis, "fetch").mockRejectedValue(new Error("Network connection lost."));
    let posted;
    try {
      posted = await postDelivery(postTo("https://downstream.test/ok/unreachable"));
    } finally {
      fetchSpy.mockRestore();
    }
    const { attempt, result } = posted;
    expect(attempt).toMatchObject({ statusCode: null, error: "request failed (is the URL right, and its server up?): Error: Network connection lost." });
    expect(result).toEqual({ ok: false, retryAfterSeconds: null });
  });

  it("counts an answer that came after timeoutMs as timed out, though the runtime's timer fired late (a busy machine): success is a 2xx in time", async () => {
    // A fetch that answers 200 after 300 ms whatever its signal says: the timeout's timer fired late.
    const fetchSpy = vi.spyOn(globalThis, "fetch").mockImplementation(() => scheduler.wait(300).then(() => new Response("late", { status: 200 })));
    let posted;
    try {
      posted = await postDelivery({ ...postTo("https://downstream.test/ok/late"), timeoutMs: 100 });
    } finally {
      fetchSpy.mockRestore();
    }
    const { attempt, result } = posted;
    expect(attempt.statusCode).toBeNull();
    expect(attempt.error).toMatch(/^timed out after 100 ms \(its answer, HTTP 200, came after \d+ ms\)$/);
    expect(Number(/came after (\d+) ms/.exec(attempt.error ?? "")?.[1])).toBeGreaterThanOrEqual(300);
    expect(attempt.responseSnippet).toBeNull();
    expect(result).toEqual({ ok: false, retryAfterSeconds: null });
    // In time, the same answer is a success.
    const inTime = vi.spyOn(globalThis, "fetch").mockImplementation(() => Promise.resolve(new Response("ok", { status: 200 })));
    try {
      expect((await postDelivery({ ...postTo("https://downstream.test/ok/late"), timeoutMs: 100 })).result).toEqual({ ok: true });
    } finally {
      inTime.mockRestore();
    }
  });

  it("counts a 2xx whose status came a little after timeoutMs as timed out, and one at timeoutMs as in time", async () => {
    // The clock the attempt reads moves only when the fetch answers: exactly as far as asked, however busy the machine.
    const timeoutMs = 200;
    let clock = 0;
    const nowSpy = vi.spyOn(performance, "now").mockImplementation(() => clock);
    const answerAfter = (ms: number) => vi.spyOn(globalThis, "fetch").mockImplementation(async () => ((clock += ms), new Response("ok", { status: 200 })));
    const postAfter = async (ms: number) => {
      const fetchSpy = answerAfter(ms);
      try {
        return await postDelivery({ ...postTo("https://downstream.test/ok/late"), timeoutMs });
      } finally {
        fetchSpy.mockRestore();
      }
    };
    try {
      // Well inside twice the timeout: late all the same.
      const late = await postAfter(Math.round(timeoutMs * 1.3));
      expect(late.result).toEqual({ ok: false, retryAfterSeconds: null });
      expect(late.attempt).toMatchObject({ statusCode: null, error: expect.stringMatching(/^timed out after 200 ms \(its answer, HTTP 200, came after \d+ ms\)$/) });
      expect((await postAfter(timeoutMs)).result).toEqual({ ok: true });
    } finally {
      nowSpy.mockRestore();
    }
  });

  it("counts an HTTP-date Retry-After from the answer, as the pause and the retry are", async () => {
    // Asked to wait until 10 s after its answer, which took 1.5 s: about 10 s from the answer (the date has
    // whole seconds), not 11.5 from the request, which kept the webhook paused 1.5 s past the date.
    const { attempt, result } = await postDelivery(postTo("https://downstream.test/retry-at/http-date?ms=1500&s=10"));
    expect(attempt.statusCode).toBe(503);
    expect(attempt.durationMs).toBeGreaterThanOrEqual(1500);
    const seconds = "retryAfterSeconds" in result ? result.retryAfterSeconds : null;
    // 9 when the date, cut to its second, fell less than 9 s after the answer as this end saw it.
    expect(seconds).toBeGreaterThanOrEqual(9);
    expect(seconds).toBeLessThanOrEqual(10);
  });

  it("says what keeps a stored delivery from being sent again, one decision for a retry by hand and a dead letter's replay", () => {
    const horizon = 1_000;
    const open = { grantOrganizationUid: null };
    const confined = { grantOrganizationUid: "org-a" };
    const [inTime, late] = [{ receivedAt: 2_000, organizationUid: "org-b" }, { receivedAt: 500, organizationUid: "org-b" }];
    expect(retryBlock(open, inTime, horizon)).toBeNull();
    expect(retryBlock(confined, { ...inTime, organizationUid: "org-a" }, horizon)).toBeNull();
    expect(retryBlock(null, inTime, horizon)).toEqual({ cause: "webhook_deleted" });
    expect(retryBlock(confined, inTime, horizon)).toEqual({ cause: "outside_grant", organizationUid: "org-a" });
    expect(retryBlock(open, late, horizon)).toEqual({ cause: "past_retention" });
    // Nowhere to send it, or not there again, says more than the retention: those come first.
    expect(retryBlock(null, late, horizon)).toEqual({ cause: "webhook_deleted" });
    expect(retryBlock(confined, late, horizon)).toEqual({ cause: "outside_grant", organizationUid: "org-a" });
    // An event no longer stored is no reason: its delivery is owed still.
    expect(retryBlock(confined, null, horizon)).toBeNull();
  });
});
