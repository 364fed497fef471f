// The volume seed: a busy account's retained traffic, written through the same code
// the ingest and delivery consumers run (provider facts, owners, routing, the store's
// transactions with their counters), so everything it writes reads back through the
// API as real traffic would. Deterministic for a given seed number.
import contactFixture from "../../cli/src/samples/contact.json";
import invoiceFixture from "../../cli/src/samples/invoice.json";
import messageFixture from "../../cli/src/samples/message.json";
import reviewInviteFixture from "../../cli/src/samples/review-invite.json";
import reviewFixture from "../../cli/src/samples/review.json";
import { fixtureName, podiumSample } from "../../cli/src/samples/podium.js";
import { newDelivery, type NewDelivery } from "../../src/domain/delivery";
import { PODIUM_TYPES } from "../../src/domain/event-types";
import { DEFAULT_MAX_CONCURRENCY } from "../../src/domain/flow";
import { DEFAULT_AUTO_DISABLE_MINUTES, DEFAULT_FAILING_AFTER } from "../../src/domain/health";
import { isRecord } from "../../src/domain/guards";
import { eventIdFor } from "../../src/domain/ids";
import { dedupeKeyText, type Webhook } from "../../src/domain/types";
import { podium } from "../../src/ingress/providers/podium";
import { declaredSource } from "../../src/ingress/sources";
import { failedDeliveryLetter } from "../../src/pipeline/attempt";
import { settleOwners } from "../../src/pipeline/owners";
import { owedWebhooks } from "../../src/routing/match";
import { recordAttempts, type AttemptOutcome } from "../../src/store/deliveries";
import { recordEventTypes } from "../../src/store/event-types";
import { storedEventIds, storeEvents, type EventRow } from "../../src/store/events";
import { learnLocations, locationPlaces } from "../../src/store/locations";
import { allWebhooks, insertWebhook } from "../../src/store/webhooks";

/** The source the seed's events came in by, as configuration declares it. */
const PODIUM_SOURCE = declaredSource({ id: "podium", name: "podium", provider: "podium" }, [], 300);

const FIXTURES: Record<string, Record<string, unknown>> = {
  message: messageFixture,
  contact: contactFixture,
  invoice: invoiceFixture,
  review: reviewFixture,
  // The invite link types come in the review invite object's format, not a review's.
  "review-invite": reviewInviteFixture,
};

export interface SeedOptions {
  /** The whole seed's size: times spread over it. */
  events: number;
  /** This call writes events [offset, offset + count) of it (default: all); the first call creates the webhooks. */
  offset?: number;
  count?: number;
  /** Events per transaction, as the ingest consumer's batches. */
  batch?: number;
  retentionDays?: number;
  now?: number;
  seed?: number;
  organizations?: number;
  locations?: number;
  /** Called after each batch with the events written so far. */
  progress?: (written: number) => void;
}

/** What a call wrote: events already stored (an earlier run's, a chunk run again) are not written again, nor counted here. */
interface SeedReport {
  events: number;
  /** Events of this call's range found stored already, left as they are (with their deliveries and attempts). */
  alreadyStored: number;
  bodyBytes: number;
  deliveries: Record<"held" | "pending" | "succeeded" | "failed", number>;
  attempts: number;
  deadLetters: number;
  webhooks: number;
  /** Webhooks in the database the seed did not make: the seeded events route to the seed's own only, never to these. */
  otherWebhooks: number;
  organizations: number;
  locations: number;
  /** When the first and last event written were received (null: none written). */
  from: number | null;
  to: number | null;
  /** When the first (oldest) event written leaves the retention: the maintenance run purges it from then on. */
  leavesRetentionAt: number | null;
}

/** The retention the seed spreads its events over, as wrangler.toml's RETENTION_DAYS. */
export const SEED_RETENTION_DAYS = 10;

/** A small deterministic generator (mulberry32). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  "hi thanks for reaching out we can fit you in tomorrow afternoon or friday morning your appointment is confirmed " +
  "please bring your insurance card the estimate for the repair is ready and the parts arrive monday let us know " +
  "if that time still works for you our team will call when the car is ready great service friendly staff quick " +
  "and easy would recommend to friends and family the price was fair and they explained everything clearly"
).split(" ");

/** 32 random bits as 8 hex digits. */
const hex8 = (rand: () => number) => Math.floor(rand() * 2 ** 32).toString(16).padStart(8, "0");

function uuid(rand: () => number): string {
  // Four draws of 32 bits, as version 4 writes them (a few million a seed: no array or join).
  const a = hex8(rand);
  const b = hex8(rand);
  const c = hex8(rand);
  const d = hex8(rand);
  return `${a}-${b.slice(0, 4)}-4${b.slice(5)}-a${c.slice(1, 4)}-${c.slice(4)}${d}`;
}

function text(rand: () => number, chars: number): string {
  const out: string[] = [];
  let n = 0;
  while (n < chars) {
    const w = WORDS[Math.floor(rand() * WORDS.length)]!;
    out.push(w);
    n += w.length + 1;
  }
  return out.join(" ");
}

const UID = /^[0-9a-f]{8}-[0-9a-f]{4}-/;

/** Every fixture uid in `value` (a copy of its own: podiumSample's) replaced in place by a fresh one, as each real object has its own. */
function freshUids(value: unknown, rand: () => number, keep: Set<string>): unknown {
  if (typeof value === "string") return UID.test(value) && !keep.has(value) ? uuid(rand) : value;
  if (Array.isArray(value)) value.forEach((v, i) => (value[i] = freshUids(v, rand, keep)));
  else if (isRecord(value)) for (const k of Object.keys(value)) value[k] = freshUids(value[k], rand, keep);
  return value;
}

/** A field of a fixture that is an object (the fixtures are the documented shapes: anything else is a broken fixture). */
function objectAt(o: Record<string, unknown>, key: string): Record<string, unknown> {
  const v = o[key];
  if (!isRecord(v)) throw new Error(`the fixture's ${key} is not an object`);
  return v;
}

/**
 * A body in the documented shape of its type's object, about 1.5 KB on average:
 * what a busy account's objects carry (a message's text, a contact's channels,
 * attributes and tags, an invoice's line items and payments, a review's words and
 * response), each with its own uids.
 */
export function seedBody(rand: () => number, type: string, locationUid: string, organizationUid: string, at: number): string {
  const shape = fixtureName(type);
  const fixture = FIXTURES[shape] ?? FIXTURES.message!;
  const eventUid = uuid(rand);
  const body = podiumSample(fixture, { type, eventUid, locationUid, organizationUid });
  const fresh = freshUids(body, rand, new Set([locationUid, organizationUid]));
  if (!isRecord(fresh)) throw new Error(`the ${shape} fixture is not an object`);
  const metadata = { ...objectAt(fresh, "metadata"), eventUid };
  const data = objectAt(fresh, "data");
  const iso = new Date(at).toISOString();
  const some = (min: number, max: number) => min + Math.floor(rand() * (max - min + 1));
  const phone = () => `+1801555${String(some(0, 9999)).padStart(4, "0")}`;
  if (shape === "message") {
    Object.assign(data, { body: text(rand, some(300, 1200)), createdAt: iso });
    objectAt(data, "conversation").channel = { type: "phone", identifier: phone() };
  } else if (shape === "review") {
    data.review = { ...objectAt(data, "review"), body: text(rand, some(250, 950)), rating: some(1, 5) };
    data.createdAt = data.updatedAt = iso;
    if (rand() < 0.5) data.responses = [{ uid: uuid(rand), body: text(rand, some(60, 300)), createdAt: iso, userUid: uuid(rand) }];
  } else if (shape === "review-invite") {
    const link = `https://app.podium.com/reviews/invites/${String(data.uid)}`;
    Object.assign(data, { url: link, customerName: text(rand, some(8, 24)), channel: { type: "phone", identifier: phone() }, createdAt: iso, updatedAt: iso });
  } else if (shape === "invoice") {
    data.lineItems = Array.from({ length: some(3, 10) }, () => ({ amount: some(500, 20000), description: text(rand, some(12, 48)) }));
    data.payments = Array.from({ length: some(1, 2) }, () => ({
      uid: uuid(rand), status: "succeeded", cardBrand: "visa", cardLast4: String(some(1000, 9999)), fee: some(30, 400), createdAt: iso, refunds: [],
    }));
    data.amount = some(1000, 90000);
    data.createdAt = iso;
  } else if (shape === "contact") {
    const after = objectAt(data, "after");
    const channels = after.channels;
    if (!Array.isArray(channels)) throw new Error("the contact fixture's data.after.channels is not an array");
    after.channels = [
      ...channels,
      ...Array.from({ length: some(0, 3) }, () => ({ type: "PHONE", identifier: phone(), label: "mobile", createdAt: iso, updatedAt: iso })),
    ];
    after.tags = Array.from({ length: some(1, 3) }, () => ({ uid: uuid(rand), label: text(rand, 6), description: text(rand, some(10, 40)) }));
  }
  return JSON.stringify({ data, metadata });
}

/** The five webhooks: one per Podium object, and one organization's everything, disabled (its deliveries held). */
export function seedWebhooks(rand: () => number, createdAt: number, organizationUid: string): Webhook[] {
  const base = {
    locationUid: null, grantOrganizationUid: null, sourceIds: null, timeoutMs: 5000, maxAttempts: 3, createdAt, updatedAt: createdAt,
    rateLimit: null, maxConcurrency: DEFAULT_MAX_CONCURRENCY, ordering: "unordered" as const, filter: null, transform: null, transformHeaders: null,
    kind: "webhook" as const, autoDisableAfterMinutes: DEFAULT_AUTO_DISABLE_MINUTES, failingAfterAttempts: DEFAULT_FAILING_AFTER,
    disabledReason: null, disabledAt: null, previousSecret: null,
  };
  const hook = (name: string, eventTypes: string[], extra: Partial<Webhook> = {}): Webhook => ({
    ...base,
    uid: uuid(rand),
    url: `https://hooks.example.com/${name}`,
    eventTypes,
    organizationUid: null,
    secret: `whsec_${btoa(uuid(rand))}`,
    disabled: false,
    ...extra,
  });
  return [
    hook("messages", ["message.*"]),
    hook("contacts", ["contact.*"]),
    hook("payments", ["invoice.payment_succeeded", "invoice.payment_failed", "invoice.refund_created", "invoice.refund_failed"]),
    hook("reviews", ["review.*"]),
    hook("one-organization", ["*"], { organizationUid, disabled: true }),
  ];
}

/** What happens to a delivery: ~96% succeed (a few on the second try), ~3% fail after 3 attempts, ~1% pending. */
function fate(rand: () => number): "ok" | "ok-second" | "failed" | "pending" {
  const r = rand();
  if (r < 0.03) return "failed";
  if (r < 0.04) return "pending";
  if (r < 0.1) return "ok-second";
  return "ok";
}

/**
 * A D1 whose batches wait for `flush`, which sends all of them as one: a seed batch's store calls (its
 * events, then each webhook's attempts of each round: a dozen) in one round trip and one transaction, with
 * the same statements in the same order, so the same rows. A local D1 call, and its commit, cost more than
 * the few rows most of these write: ~100 calls a 10,000-event chunk instead of ~640 took (with uuid's lighter
 * generation above) a quarter less CPU and 1.4-1.8x less time on a busy 2-core machine (100,000 events,
 * 2026-12-03; a million on a quiet one: 480 s against 618 s). What they answer is not known until then:
 * they answer nothing, which the calls here do not read (storeEvents' wake-ups, owed to no scheduler here;
 * recordAttempts without `then`). Reads go to `db` itself, after a flush.
 */
export function deferredBatches(db: D1Database): { db: D1Database; flush: () => Promise<void> } {
  const pending: D1PreparedStatement[] = [];
  const refuse = () => {
    throw new Error("the seed's deferred D1 only prepares statements and takes batches");
  };
  return {
    db: {
      prepare: (query) => db.prepare(query),
      batch: async (statements) => {
        pending.push(...statements);
        return [];
      },
      exec: refuse,
      dump: refuse,
      withSession: refuse,
    },
    flush: async () => {
      if (pending.length > 0) await db.batch(pending.splice(0));
    },
  };
}

/** Seeds `opts.events` events through the store, oldest first, spread evenly over the retention. */
export async function seedVolume(db: D1Database, opts: SeedOptions): Promise<SeedReport> {
  const rand = random(opts.seed ?? 14);
  const offset = opts.offset ?? 0;
  const end = Math.min(opts.events, offset + (opts.count ?? opts.events));
  const now = opts.now ?? Date.now();
  const days = opts.retentionDays ?? SEED_RETENTION_DAYS;
  const batchSize = opts.batch ?? 200;
  const orgCount = opts.organizations ?? 100;
  const locCount = opts.locations ?? 1000;
  // Three hours inside the retention: a million takes 8–25 minutes to seed (by the machine's load), and
  // what it printed stays what the API counts for a while after.
  const from = now - days * 86_400_000 + 3 * 3_600_000;
  const span = now - from - 60_000;
  const orgs = Array.from({ length: orgCount }, () => uuid(rand));
  const locations = Array.from({ length: locCount }, (_, i) => ({ uid: uuid(rand), org: orgs[i % orgCount]! }));

  const hooks = seedWebhooks(rand, from - 1, orgs[0]!);
  // The first chunk makes them, those it has not made already: npm run seed runs a failed chunk again.
  if (offset === 0) {
    const made = new Set((await allWebhooks(db)).map((w) => w.uid));
    for (const w of hooks) if (!made.has(w.uid)) await insertWebhook(db, w);
  }
  const stored = await allWebhooks(db);
  const webhooks = stored.filter((w) => hooks.some((h) => h.uid === w.uid));
  const chunkRand = random((opts.seed ?? 14) * 1_000_003 + offset);
  const byUid = new Map(webhooks.map((w) => [w.uid, w]));

  const report: SeedReport = {
    events: 0,
    alreadyStored: 0,
    bodyBytes: 0,
    deliveries: { held: 0, pending: 0, succeeded: 0, failed: 0 },
    attempts: 0,
    deadLetters: 0,
    webhooks: webhooks.length,
    // (Notification endpoints are owed alerts, not events.)
    otherWebhooks: stored.filter((w) => w.kind === "webhook" && !hooks.some((h) => h.uid === w.uid)).length,
    organizations: orgCount,
    locations: locCount,
    from: null,
    to: null,
    leavesRetentionAt: null,
  };
  const encoder = new TextEncoder();
  const deferred = deferredBatches(db);
  for (let done = offset; done < end; done += batchSize) {
    const n = Math.min(batchSize, end - done);
    const rows: EventRow[] = [];
    const bytes = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const at = from + Math.floor(((done + i) / opts.events) * span);
      const type = PODIUM_TYPES[Math.floor(chunkRand() * PODIUM_TYPES.length)]!;
      const loc = locations[Math.floor(chunkRand() * locations.length)]!;
      const body = seedBody(chunkRand, type, loc.uid, loc.org, at);
      const raw = encoder.encode(body);
      // The provider reads the facts, as at the ingress.
      const facts = await podium.facts({ headers: new Headers(), raw, now: at }, body, PODIUM_SOURCE);
      rows.push({
        ...facts,
        eventId: await eventIdFor(PODIUM_SOURCE, facts.dedupeKey),
        dedupeKey: dedupeKeyText(facts.dedupeKey),
        sourceId: "podium",
        receivedAt: at,
        headers: { "content-type": "application/json", "user-agent": "Podium-Webhooks/1.0", "podium-timestamp": String(at) },
        body,
      });
      bytes.set(rows[rows.length - 1]!.eventId, raw.length);
    }
    // Everything below is drawn for every event, stored or not, so the sequence (and what a later batch
    // draws) is the same whatever an earlier run wrote; only the events not stored yet are written.
    const already = await storedEventIds(db, rows.map((r) => r.eventId));
    // As the ingest consumer: owners settled, what the batch teaches, routing, its statements.
    const known = await locationPlaces(db, rows.flatMap((r) => (r.locationUid && !r.organizationUid ? [r.locationUid] : [])));
    const settled = settleOwners(rows, known, already);
    const also = [learnLocations(db, settled.learned), recordEventTypes(db, settled.rows, ["podium"], from)].filter((s) => s !== null);
    const deliveries: NewDelivery[] = [];
    for (const e of settled.rows) {
      for (const w of owedWebhooks(webhooks, e).owed) deliveries.push(await newDelivery("routed", { id: e.eventId, receivedAt: e.receivedAt }, w, e.receivedAt));
    }
    const fresh = settled.rows.filter((r) => !already.has(r.eventId));
    const isFresh = (d: NewDelivery) => !already.has(d.eventId);
    await storeEvents(deferred.db, fresh, deliveries.filter(isFresh), also);
    report.events += fresh.length;
    report.alreadyStored += n - fresh.length;
    for (const r of fresh) {
      report.bodyBytes += bytes.get(r.eventId) ?? 0;
      report.from ??= r.receivedAt;
      report.to = r.receivedAt;
    }

    // As the delivery consumer: attempts, a round at a time (sent with the events' statements, in one transaction).
    const received = new Map(settled.rows.map((r) => [r.eventId, r.receivedAt]));
    const rounds: AttemptOutcome[][] = [[], [], []];
    for (const d of deliveries) {
      if (byUid.get(d.webhookUid)?.disabled) {
        if (isFresh(d)) report.deliveries.held++;
        continue;
      }
      const f = fate(chunkRand);
      const start = (received.get(d.eventId) ?? from) + 200;
      const attempt = (number: number, ok: boolean, at: number) => ({
        deliveryId: d.id,
        number,
        startedAt: at,
        durationMs: 40 + Math.floor(chunkRand() * 300),
        statusCode: ok ? 200 : 503,
        error: ok ? null : "HTTP 503",
        responseSnippet: ok ? null : "upstream unavailable",
      });
      if (f === "ok") rounds[0]!.push({ attempt: attempt(1, true, start), status: "succeeded", nextAttemptAt: null, deadLetter: null });
      if (f === "pending") {
        rounds[0]!.push({ attempt: attempt(1, false, start), status: "pending", nextAttemptAt: now + Math.floor(chunkRand() * 3_600_000), deadLetter: null });
      }
      if (f === "ok-second") {
        rounds[0]!.push({ attempt: attempt(1, false, start), status: "pending", nextAttemptAt: start + 5000, deadLetter: null });
        rounds[1]!.push({ attempt: attempt(2, true, start + 5000), status: "succeeded", nextAttemptAt: null, deadLetter: null });
      }
      if (f === "failed") {
        rounds[0]!.push({ attempt: attempt(1, false, start), status: "pending", nextAttemptAt: start + 5000, deadLetter: null });
        rounds[1]!.push({ attempt: attempt(2, false, start + 5000), status: "pending", nextAttemptAt: start + 15_000, deadLetter: null });
        const last = attempt(3, false, start + 15_000);
        const webhookUid = byUid.get(d.webhookUid)?.uid ?? d.webhookUid;
        rounds[2]!.push({ attempt: last, status: "failed", nextAttemptAt: null, deadLetter: failedDeliveryLetter({ deliveryId: d.id, eventId: d.eventId, webhookUid }, last) });
        if (isFresh(d)) report.deadLetters++;
      }
      if (isFresh(d)) report.deliveries[f === "failed" ? "failed" : f === "pending" ? "pending" : "succeeded"]++;
    }
    // A scheduler records one webhook's attempts at a time.
    const byId = new Map(deliveries.map((d) => [d.id, d]));
    for (const drawn of rounds) {
      const round = drawn.filter((o) => {
        const d = byId.get(o.attempt.deliveryId);
        return d !== undefined && isFresh(d);
      });
      const byWebhook = Map.groupBy(round, (o) => byId.get(o.attempt.deliveryId)?.webhookUid ?? "");
      for (const [uid, outcomes] of byWebhook) await recordAttempts(deferred.db, uid, outcomes);
      report.attempts += round.length;
    }
    // Before the next batch reads which locations are known.
    await deferred.flush();
    opts.progress?.(report.events);
  }
  if (report.from !== null) report.leavesRetentionAt = report.from + days * 86_400_000;
  return report;
}
