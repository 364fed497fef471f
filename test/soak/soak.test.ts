// The soak: N signed events through the real local stack (wrangler dev) to two
// local downstreams, one of which fails 30% of the time and is sometimes slower
// than its timeout. Loopback only, bounded in count and time.
// `npm test` runs 500 events; `npm run soak` runs 5,000 at concurrency 50 (SOAK_EVENTS, SOAK_CONCURRENCY).
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startDownstream, type Downstream } from "../e2e/downstream";
import { podiumEvent, sendPodium } from "../e2e/podium";
import { eventually, startStack, type Stack } from "../e2e/stack";
import type { components } from "../../cli/src/api";

const EVENTS = Number(process.env.SOAK_EVENTS ?? 500);
const CONCURRENCY = Number(process.env.SOAK_CONCURRENCY ?? 50);

let stack: Stack;
let down: Downstream;
beforeAll(async () => {
  down = await startDownstream();
  stack = await startStack({ RETRY_BASE_SECONDS: "1", RETRY_CAP_SECONDS: "3" });
});
afterAll(async () => {
  await stack?.stop();
  await down?.close();
});

const api = async <M extends string, P extends string>(method: M, path: P, body?: unknown) => (await stack.api(method, path, body)).json;

it(`carries ${EVENTS} events through the pipeline: each stored once, every delivery succeeded, no 5xx`, async () => {
  const key = randomUUID().slice(0, 8);
  await api("POST", "/v1/webhooks", { url: `${down.url}/ok/${key}-steady`, eventTypes: ["*"] });
  await api("POST", "/v1/webhooks", {
    url: `${down.url}/chaos/${key}-chaos?fail=0.3&slow=0.05&ms=1500`,
    eventTypes: ["*"],
    timeoutMs: 1000,
    maxAttempts: 30,
  });

  const secret = stack.vars.PODIUM_WEBHOOK_SECRET!.split(" ")[0]!;
  const statuses = new Map<number, number>();
  const accepted = new Set<string>();
  let next = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < EVENTS) {
        next++;
        const res = await sendPodium(`${stack.url}/webhooks/podium`, podiumEvent({ type: "message.received" }), secret);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 202) accepted.add(((await res.json()) as { eventId: string }).eventId);
        else await res.body?.cancel();
      }
    }),
  );
  const ingressSeconds = (Date.now() - started) / 1000;

  let last: components["schemas"]["Stats"] | null = null;
  let lastPrint = 0;
  const stats = await eventually(
    async () => {
      const s = (last = await api("GET", "/v1/stats"));
      if (Date.now() - lastPrint > 10_000) {
        lastPrint = Date.now();
        console.log(`soak progress: events ${s.events.total}, deliveries ${JSON.stringify(s.deliveries)}`);
      }
      return s.deliveries.succeeded === accepted.size * 2 && s.deliveries.pending === 0 ? s : null;
    },
    Math.max(180_000, EVENTS * 100),
    "every delivery to succeed",
  ).catch((err) => {
    throw new Error(`${err.message}; last stats: ${JSON.stringify(last?.deliveries)} of ${accepted.size * 2}`);
  });
  const totalSeconds = (Date.now() - started) / 1000;
  const steady = new Set((await down.requests(`${key}-steady`)).map((r) => r.headers["webhook-id"]));
  const chaos = await down.requests(`${key}-chaos`);
  const chaosIds = new Set(chaos.map((r) => r.headers["webhook-id"]));

  console.log(
    [
      `soak: ${EVENTS} events at concurrency ${CONCURRENCY}`,
      `  ingress answers: ${[...statuses].map(([s, n]) => `${s}×${n}`).join(", ")} in ${ingressSeconds.toFixed(1)} s (${(EVENTS / ingressSeconds).toFixed(0)}/s)`,
      `  stored events: ${stats.events.total} (accepted ${accepted.size})`,
      `  deliveries: ${JSON.stringify(stats.deliveries)}; dead letters: ${stats.deadLetters}`,
      `  steady downstream: ${steady.size} distinct events; chaos downstream: ${chaosIds.size} distinct events in ${chaos.length} requests`,
      `  all delivered after ${totalSeconds.toFixed(1)} s`,
    ].join("\n"),
  );

  expect([...statuses.keys()].filter((s) => s >= 500)).toEqual([]);
  expect(accepted.size).toBe(EVENTS);
  expect(stats.events.total).toBe(accepted.size);
  expect(stats.deliveries.failed).toBe(0);
  expect(steady.size).toBe(accepted.size);
  expect(chaosIds.size).toBe(accepted.size);
  expect(chaos.length).toBeGreaterThan(accepted.size); // the chaos downstream really failed some
});
