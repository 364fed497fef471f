// The benches' Worker: Edgehook itself, with D1 metered (every answer carries the rows
// its D1 statements read and wrote), and measuring routes that drive the real code
// in-process with counting queues, schedulers and R2:
// - /__bench/ingest: events/s of the ingest consumer on this database, at given places (with
//   `record`, every statement it ran, for bench/volume/ingest-replay.mjs);
// - /__bench/places: the seeded account's locations; /__bench/steady-counts: the event
//   counters brought to what the maintenance run keeps in an account's stride;
// - /__bench/cycle/{start,ack,ingest,deliver,counts,fold,purge,purges}: what events cost, one phase
//   a request (so the caller can read the runtime's CPU time around each): received by
//   the ack path, stored, delivered once to one webhook, their counts folded into the
//   counter rows, their hour folded into the counters' totals and taken out, purged at the
//   retention, and the purges taken off the counter rows.
import { random, seedBody, seedWebhooks } from "../../scripts/seed/volume";
import { DEFAULT_MAX_CONCURRENCY } from "../../src/domain/flow";
import { DEFAULT_AUTO_DISABLE_MINUTES, DEFAULT_FAILING_AFTER } from "../../src/domain/health";
import { eventIdFor } from "../../src/domain/ids";
import { settings } from "../../src/domain/settings";
import { DAY_MS, HOUR_MS } from "../../src/domain/time";
import type { IngestMessage } from "../../src/domain/types";
import type { Env } from "../../src/env";
import worker from "../../src/index";
import { retention, RETENTION_GRID_MS } from "../../src/maintenance/cron";
import { IDLE_STATUS, WebhookFlow } from "../../src/pipeline/flow";
import { consumeIngest } from "../../src/pipeline/ingest";
import { applyRetentionPurges } from "../../src/store/retention";
import { podium } from "../../src/schemes/podium";
import { eventCountsStatement, foldEventCountDeltas, foldEventCounts } from "../../src/store/counters";
import { placeLocations, type LocationOwner as Place } from "../../src/store/locations";
import { learnNamesStatement, nameIdSql } from "../../src/store/names";
import { insertWebhook } from "../../src/store/webhooks";
import { meteredD1, type D1Usage } from "../d1-meter";

import { WebhookScheduler as Scheduler } from "../../src/index";
export { ListenerHub } from "../../src/index";

/**
 * The delivery schedulers send nothing here: the bench's routes drive delivery with counting
 * schedulers of their own, and a seed's schedulers woken by an earlier stack on its directory (their
 * alarms are kept with it) sent its pending deliveries to hooks.example.com while reads were timed
 * (failed lookups, load on the timings, the seed's pending deliveries turned failed). Their alarms
 * pass unrun; the maintenance run of a later `npm run dev` wakes overdue deliveries' schedulers again.
 */
export class WebhookScheduler extends Scheduler {
  override async alarm(): Promise<void> {}
}

/** A queue producer that keeps what it is sent, counting messages written. */
function countingQueue<T>() {
  const q = {
    sent: [] as T[],
    writes: 0,
    async send(body: T) {
      q.writes++;
      q.sent.push(body);
    },
    async sendBatch(msgs: Iterable<{ body: T }>) {
      for (const m of msgs) {
        q.writes++;
        q.sent.push(m.body);
      }
    },
  };
  return q;
}

/** Delivery schedulers that count their wake-ups (each a Durable Object request, and the alarm it sets another). */
function countingSchedulers() {
  const s = {
    wakes: 0,
    woken: new Set<string>(),
    getByName: (_name: string) => ({
      async wake(webhookUid: string) {
        s.wakes++;
        s.woken.add(webhookUid);
      },
      status: async () => IDLE_STATUS,
    }),
  };
  return s;
}

/** An R2 bucket that counts Class A (put, delete, list, multipart) and Class B (get, head) operations. */
function countingBucket(bucket: R2Bucket) {
  const ops = { classA: 0, classB: 0 };
  const classOf: Record<string, keyof typeof ops> = { put: "classA", delete: "classA", list: "classA", createMultipartUpload: "classA", get: "classB", head: "classB" };
  const proxy = new Proxy(bucket, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (typeof value !== "function") return value;
      const cls = typeof prop === "string" ? classOf[prop] : undefined;
      return (...args: unknown[]) => {
        if (cls) ops[cls]++;
        return value.apply(target, args);
      };
    },
  });
  return { bucket: proxy, ops };
}

/** A queue batch as the runtime hands it to a consumer, counting acks (deletes) and retries. */
function batchOf<T>(queue: string, bodies: T[]) {
  const settled = { acked: 0, retried: 0 };
  const messages = bodies.map((body, i) => ({
    id: `m${i}`,
    timestamp: new Date(),
    attempts: 1,
    body,
    ack: () => void settled.acked++,
    retry: () => void settled.retried++,
  }));
  const batch = { queue, messages, ackAll: () => messages.forEach((m) => m.ack()), retryAll: () => messages.forEach((m) => m.retry()) };
  return { batch: batch as unknown as MessageBatch<T>, settled };
}

/** Runs a consumer over messages in batches of `size`: how many invocations, reads and deletes it took. */
async function consume<T>(queue: string, bodies: T[], size: number, consumer: (b: MessageBatch<T>) => Promise<void>) {
  const out = { invocations: 0, reads: 0, deletes: 0, retries: 0 };
  for (let i = 0; i < bodies.length; i += size) {
    const { batch, settled } = batchOf(queue, bodies.slice(i, i + size));
    await consumer(batch);
    out.invocations++;
    out.reads += batch.messages.length;
    out.deletes += settled.acked;
    out.retries += settled.retried;
  }
  return out;
}

let made = 0;


/** Podium events as the ack path queues them, with the seed's bodies (about 1.5 KB). */
async function ingestMessages(n: number, places: Place[], now: number): Promise<IngestMessage[]> {
  const rand = random(now % 1_000_000);
  return Promise.all(
    Array.from({ length: n }, async () => {
      const dedupeKey = `bench-${now}-${made++}`;
      const place = places[Math.floor(rand() * places.length)]!;
      const body = seedBody(rand, "message.received", place.locationUid, place.organizationUid, now);
      return {
        v: 1 as const,
        eventId: await eventIdFor({ id: "podium", eventSalt: null }, { given: dedupeKey }),
        sourceId: "podium",
        dedupeKey,
        eventType: "message.received",
        ...place,
        receivedAt: now,
        headers: { "content-type": "application/json", "podium-timestamp": String(now) },
        body,
      };
    }),
  );
}

/**
 * The event counters as the maintenance run keeps them in an account's stride
 * (store/counters.ts): this hour and later out of the totals. A database fresh from
 * migration 0022 (or seeded before it) keeps every hour in them until its maintenance
 * runs, and the current hour until it closes; the benches measure what ingest writes
 * once folding runs.
 */
async function steadyCounts(db: D1Database): Promise<void> {
  // Ingest's waiting counts folded, as the maintenance run keeps them (ten minutes at most): a
  // seed's are never folded, so its side would otherwise fold 200 of them inside a timed round.
  await foldEventCountDeltas(db);
  const hour = Math.floor(Date.now() / HOUR_MS);
  // The closed hours an earlier run of the benches left out, folded as the maintenance run would;
  // then the marks brought to the clock of two hours ago, whose hour after is the last one in the
  // totals (the maintenance run's own step, never below what was taken out).
  await foldEventCounts(db, hour, -1);
  await foldEventCounts(db, hour - 2, -1);
}

/** The account the cost cycle's events come from, as the seed's: 1,000 locations in 100 organizations. */
const CYCLE_PLACES: Place[] = Array.from({ length: 1000 }, (_, i) => ({ locationUid: `loc-cycle-${i}`, organizationUid: `org-cycle-${i % 100}` }));

/**
 * This hour's and the next one's counter rows as they are once an hour of a busy account is
 * under way: every cycle place already counted, by events the cycle never sees. The cycle's
 * events then update rows as a real hour's do (a new row also writes its index entry, once an
 * hour), and taking its purge off leaves them standing (updated, where an hour's last purges
 * delete them: a row written either way).
 */
function hourUnderWay(db: D1Database, now: number): D1PreparedStatement {
  const rows = JSON.stringify([now, now + HOUR_MS].flatMap((at) => CYCLE_PLACES.map((p) => [p.organizationUid, p.locationUid, at])));
  return eventCountsStatement(
    db,
    `SELECT ${nameIdSql("value->>0")} AS org, ${nameIdSql("value->>1")} AS loc, value->>2 AS received_at, 0 AS object, 0 AS alert FROM json_each(?)`,
    [rows],
    1,
  );
}

/**
 * Signed Podium requests (made into Requests by the phase that sends them): the seed's bodies,
 * each with its own eventUid, at a location drawn from CYCLE_PLACES, so each batch touches as
 * many counters as a busy account's.
 */
async function signedRequests(n: number, secret: string): Promise<{ body: string; headers: Record<string, string> }[]> {
  const now = Date.now();
  const rand = random(now % 1_000_000);
  return Promise.all(
    Array.from({ length: n }, async () => {
      const place = CYCLE_PLACES[Math.floor(rand() * CYCLE_PLACES.length)]!;
      const body = seedBody(rand, "message.received", place.locationUid, place.organizationUid, now);
      return { body, headers: { "content-type": "application/json", ...(await podium.sign(secret, body, { now })) } };
    }),
  );
}

/** A measured phase: D1 as reported by its results, and the platform operations counted around it. */
interface Phase {
  d1: D1Usage;
  queue: { writes: number; reads: number; deletes: number };
  r2: { classA: number; classB: number };
  invocations: number;
  ms: number;
}

/** The cycle's state between its phases (one isolate serves them all under `wrangler dev`). */
let cycle: { n: number; now: number; requests: { body: string; headers: Record<string, string> }[]; ingest: IngestMessage[]; woken: string[] } | null = null;

async function cyclePhase(phase: string, request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const meter = meteredD1(env.DB);
  const ingestQ = countingQueue<IngestMessage>();
  const schedulers = countingSchedulers();
  const r2 = countingBucket(env.BODIES);
  const benchEnv = { ...env, DB: meter.db, BODIES: r2.bucket, INGEST: ingestQ, SCHEDULERS: schedulers } as unknown as Env;
  const started = Date.now();
  const result = (extra: { invocations: number; queue?: Partial<Phase["queue"]>; [more: string]: unknown }): Phase & Record<string, unknown> => ({
    ...extra,
    d1: meter.usage,
    queue: { writes: ingestQ.writes, reads: 0, deletes: 0, ...extra.queue },
    r2: r2.ops,
    ms: Date.now() - started,
  });

  if (phase === "start") {
    // It purges what it stored by moving the retention past it: only on a database of its own.
    if (await env.DB.prepare("SELECT 1 FROM events LIMIT 1").first()) return new Response("the cycle needs an empty database", { status: 409 });
    const { n, downstream, secret } = await request.json<{ n: number; downstream: string; secret: string }>();
    const now = Date.now();
    // An account in its stride: its locations known (events name them every hour), its counters
    // folded as the maintenance run keeps them, the hour's rows made by its earlier events.
    const names = CYCLE_PLACES.flatMap((p) => [p.locationUid, p.organizationUid]).concat(["podium", "message.received"]);
    await env.DB.batch([learnNamesStatement(env.DB, names), placeLocations(env.DB, CYCLE_PLACES, now)].filter((q) => q !== null));
    await steadyCounts(env.DB);
    await hourUnderWay(env.DB, now).run();
    await insertWebhook(env.DB, {
      uid: crypto.randomUUID(), url: downstream, eventTypes: ["*"], organizationUid: null, locationUid: null, grantOrganizationUid: null, sourceIds: null,
      secret: "whsec_YmVuY2gtY3ljbGUtc2VjcmV0LW9mLWVub3VnaC1ieXRlcw==", previousSecret: null, disabled: false, timeoutMs: 5000, maxAttempts: 3, createdAt: now - 1, updatedAt: now - 1,
      rateLimit: null, maxConcurrency: DEFAULT_MAX_CONCURRENCY, ordering: "unordered", filter: null, transform: null, transformHeaders: null,
      kind: "webhook", autoDisableAfterMinutes: DEFAULT_AUTO_DISABLE_MINUTES, failingAfterAttempts: DEFAULT_FAILING_AFTER, disabledReason: null, disabledAt: null,
    });
    cycle = { n, now, requests: await signedRequests(n, secret), ingest: [], woken: [] };
    const size = (await env.DB.prepare("SELECT 1").run()).meta.size_after;
    return Response.json({ n, sizeBefore: size });
  }
  if (!cycle) return new Response("POST /__bench/cycle/start first", { status: 409 });
  const c = cycle;

  if (phase === "ack") {
    // The ingress as deployed (routing, verification, the enqueue), one request per event.
    let accepted = 0;
    for (const { body, headers } of c.requests.splice(0)) {
      const res = await worker.fetch(new Request("http://bench/webhooks/podium", { method: "POST", headers, body }), benchEnv, ctx);
      if (res.status === 202) accepted++;
      await res.body?.cancel();
    }
    c.ingest = ingestQ.sent.splice(0);
    return Response.json(result({ invocations: c.n, accepted }));
  }
  if (phase === "ingest") {
    // Full batches (100, the queue's max_batch_size) unless told: a busy account's case. Light
    // traffic hands the consumer what came in its batch timeout, a few events.
    const { batch } = await request.json<{ batch?: number }>();
    const q = await consume("edgehook-ingest", c.ingest, batch ?? 100, (b) => consumeIngest(b, benchEnv));
    c.woken = [...schedulers.woken];
    const owed = await env.DB.prepare("SELECT COUNT(*) AS n FROM deliveries WHERE status = 1").first<number>("n");
    return Response.json(
      result({ invocations: q.invocations, queue: { reads: q.reads, deletes: q.deletes }, retries: q.retries, deliveriesOwed: owed, schedulerWakes: schedulers.wakes }),
    );
  }
  if (phase === "deliver") {
    // What each woken webhook's scheduler does in its alarm, run here with the metered D1.
    for (const uid of c.woken) await new WebhookFlow(benchEnv, uid).run({ deadline: Infinity, maxStarts: Infinity, maxTransformSteps: Infinity, maxWaitMs: 0 });
    return Response.json(result({ invocations: 0, schedulerRuns: c.woken.length }));
  }
  if (phase === "counts") {
    // The maintenance run adds ingest's pending counts to the counter rows (once the oldest is ten
    // minutes old: at 1,000,000 events a day ~6,900 events share a fold and its rows; here the
    // cycle's, an upper bound).
    await foldEventCountDeltas(meter.db);
    return Response.json(result({ invocations: 0 }));
  }
  if (phase === "fold") {
    // The hour closes, and later reaches the retention: the maintenance run folds it into the
    // totals, then takes it out (a total row per scope each time, whatever the events in the
    // hour; here the totals are new, so each is made and deleted too: an upper bound).
    const next = Math.floor(Date.now() / HOUR_MS) + 1;
    await foldEventCounts(meter.db, next, next);
    return Response.json(result({ invocations: 0 }));
  }
  if (phase === "purge") {
    // Time passes: the maintenance run's retention purges these events (and their deliveries,
    // attempts, bodies and counts), in its own chunks.
    const days = settings(env).retentionDays;
    const { purged } = await retention(benchEnv, Date.now() + days * DAY_MS + RETENTION_GRID_MS, days);
    const left = await env.DB.prepare("SELECT COUNT(*) AS n FROM events").first<number>("n");
    return Response.json(result({ invocations: 0, purged, left }));
  }
  if (phase === "purges") {
    // The maintenance run takes the purges of the hours the retention has passed off the counter
    // rows, an hour's at once (a row per scope and hour, whatever the events purged in the hour).
    const applied = await applyRetentionPurges(meter.db);
    cycle = null;
    return Response.json(result({ invocations: 0, applied }));
  }
  return new Response("unknown phase", { status: 404 });
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    const meter = meteredD1(env.DB);

    if (url.pathname === "/__bench/ingest") {
      // The ingest consumer's rate on this database: batches of `batch`, each event at one of `places`, drawn at random.
      // With `record`, also every statement it ran, with its binds (bench/volume/ingest-replay.mjs).
      const { n, batch, places, record } = await request.json<{ n: number; batch: number; places: unknown; record?: boolean }>();
      const isPlace = (p: unknown): p is Place =>
        typeof p === "object" && p !== null && "locationUid" in p && typeof p.locationUid === "string" && "organizationUid" in p && typeof p.organizationUid === "string";
      if (!Array.isArray(places) || places.length === 0 || !places.every(isPlace)) return new Response("places: [{ locationUid, organizationUid }]", { status: 400 });
      const schedulers = countingSchedulers();
      const d1 = record ? meteredD1(env.DB, { record: true }) : meter;
      const benchEnv = { ...env, DB: d1.db, SCHEDULERS: schedulers } as unknown as Env;
      const msgs = await ingestMessages(n, places, Date.now());
      const started = Date.now();
      for (let i = 0; i < msgs.length; i += batch) await consumeIngest(batchOf("edgehook-ingest", msgs.slice(i, i + batch)).batch, benchEnv);
      return Response.json({ events: n, ms: Date.now() - started, d1: d1.usage, schedulerWakes: schedulers.wakes, statements: record ? d1.calls : undefined });
    }
    if (url.pathname === "/__bench/places") {
      // Where the seeded account's events happen: the seed's locations (UUIDs), with their
      // organizations, not those the benches' own events named (loc-…).
      const { results } = await env.DB.prepare(
        `SELECT location_uid AS locationUid, organization_uid AS organizationUid FROM locations
         WHERE organization_uid IS NOT NULL AND location_uid NOT LIKE 'loc-%' ORDER BY location_uid LIMIT 1000`,
      ).all<Place>();
      return Response.json(results);
    }
    if (url.pathname === "/__bench/steady-counts" && request.method === "POST") {
      await steadyCounts(env.DB);
      return new Response(null, { status: 204 });
    }
    if (url.pathname === "/__bench/seed-webhooks") {
      // The seed's five webhooks on a database without them, so both sides of a comparison route alike.
      if (await env.DB.prepare("SELECT 1 FROM webhooks LIMIT 1").first()) return new Response("this database has webhooks", { status: 409 });
      for (const w of seedWebhooks(random(1), Date.now() - 1, "org-bench-none")) await insertWebhook(env.DB, w);
      return new Response(null, { status: 204 });
    }
    const phase = /^\/__bench\/cycle\/(\w+)$/.exec(url.pathname)?.[1];
    if (phase && request.method === "POST") return cyclePhase(phase, request, env, ctx);

    const res = await worker.fetch(request, { ...env, DB: meter.db }, ctx);
    const headers = new Headers(res.headers);
    headers.set("x-d1-rows-read", String(meter.usage.rowsRead));
    headers.set("x-d1-rows-written", String(meter.usage.rowsWritten));
    headers.set("x-d1-size", String(meter.usage.sizeAfter));
    headers.set("x-d1-ms", String(meter.usage.durationMs));
    if (request.headers.get("x-bench-detail")) headers.set("x-d1-statements", JSON.stringify(meter.usage.bySql));
    return new Response(res.body, { status: res.status, headers });
  },
  queue: worker.queue,
  scheduled: worker.scheduled,
} satisfies ExportedHandler<Env>;
