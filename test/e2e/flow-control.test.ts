// Flow control through the local stack (wrangler dev: the schedulers are Durable Objects
// there too) to a real HTTP downstream on 127.0.0.1 that records each request's arrival
// and how many were in flight. Limits are checked on those records, with a tolerance of
// one request per window for network jitter; nothing here asserts how long anything took.
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { busiestWindow } from "../support/arrivals";
import type { Downstream } from "./downstream";
import { podiumEvent, sendPodium } from "./podium";
import { eventually, useLocalStack, type Stack } from "./stack";

let stack: Stack;
let down: Downstream;
// Short backoff, so the FIFO webhook's failures are retried within the test.
useLocalStack({ RETRY_BASE_SECONDS: "1", RETRY_CAP_SECONDS: "2" }, (s, d) => ((stack = s), (down = d)));

const api = <M extends string, P extends string>(method: M, path: P, body?: unknown) => stack.api(method, path, body);

describe("flow control through the local stack", () => {
  it("keeps each webhook's rate limit, concurrency limit and FIFO order with a recording downstream", async () => {
    const key = randomUUID().slice(0, 8);
    const org = `org-${key}`;
    const subscribe = async (path: string, limits: Record<string, unknown>) => {
      const res = await api("POST", "/v1/webhooks", { url: `${down.url}/${path}`, eventTypes: ["*"], organizationUid: org, ...limits });
      expect(res.status).toBe(201);
      return res.json as { uid: string };
    };
    await subscribe(`record/${key}-rate`, { rateLimit: 4, maxConcurrency: 10 });
    await subscribe(`record/${key}-conc?ms=300`, { maxConcurrency: 2 });
    const fifo = await subscribe(`record/${key}-fifo?fail=0.3`, { ordering: "fifo", maxAttempts: 30 });

    // Received one after another: their order of receipt is the order they are sent in.
    const n = 24;
    const secret = stack.vars.PODIUM_WEBHOOK_SECRET!.split(" ")[0]!;
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await sendPodium(`${stack.url}/webhooks/podium`, podiumEvent({ organizationUid: org }), secret);
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { eventId: string }).eventId);
    }

    const settled = async (path: string) =>
      eventually(
        async () => {
          const got = await down.requests(path);
          return new Set(got.filter((r) => r.status === 200).map((r) => r.headers["edgehook-event-id"])).size === n ? got : null;
        },
        150_000,
        `${n} deliveries to ${path}`,
      );
    const [rate, conc, ordered] = await Promise.all([settled(`${key}-rate`), settled(`${key}-conc`), settled(`${key}-fifo`)]);

    expect(busiestWindow(rate.map((r) => r.at))).toBeLessThanOrEqual(4 + 1);
    expect(Math.max(...conc.map((r) => r.inFlight))).toBeLessThanOrEqual(2);
    expect(Math.max(...conc.map((r) => r.inFlight))).toBe(2); // it did go in parallel, up to its limit

    const order = ordered.map((r) => ids.indexOf(r.headers["edgehook-event-id"]!));
    expect(order.every((i) => i >= 0)).toBe(true);
    for (let k = 1; k < order.length; k++) expect(order[k]! - order[k - 1]!, `request ${k}`).toBeGreaterThanOrEqual(0);
    for (let k = 1; k < order.length; k++) if (order[k] !== order[k - 1]) expect(ordered[k - 1]!.status).toBe(200);
    expect(Math.max(...ordered.map((r) => r.inFlight))).toBe(1);

    // The webhook's view has caught up: nothing owed.
    const view = await eventually(async () => {
      const b = (await api("GET", `/v1/webhooks/${fifo.uid}`)).json.backlog;
      return b.held + b.pending === 0 ? b : null;
    }, 10_000);
    expect(view).toMatchObject({ held: 0, pending: 0, estimatedSeconds: 0 });
  }, 180_000);
});
