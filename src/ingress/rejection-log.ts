// Requests the ingress refuses are kept in sight ("why are my events not
// arriving?") without costing the ack path a D1 write or an await: each refusal
// is added to this isolate's tally, and the tally goes to the rejections queue
// as one message per flush window, sent after the answer (waitUntil). A flood of
// bad requests thus costs one message per isolate per window, whatever its size.
import { settings } from "../domain/settings";
import type { RejectionsMessage, RejectionSample } from "../domain/types";
import type { Env } from "../env";

/** Samples one message carries at most (the consumer keeps the latest few hundred per source)... */
export const MAX_SAMPLES = 20;
/** ...and of one source, its latest: a flood on one source leaves room for another's (a wrong id among them). */
const SAMPLES_PER_SOURCE = 4;
const MAX_HEADER_NAMES = 40;
/**
 * Each header name is cut to this many characters: the platform bounds only a request's headers
 * as a whole, and a few refusals with names kilobytes long made the window's message too large
 * for the queue, so the tally was lost, other senders' refusals with it.
 */
export const MAX_HEADER_NAME_CHARS = 64;

/**
 * One refusal as the ingress sees it: a sample before its header names are taken
 * (a path naming no source counts under one key for all such, so a flood of ids adds no rows).
 */
type Refusal = Omit<RejectionSample, "headerNames"> & { headers: Headers };

interface Tally {
  counts: Map<string, RejectionsMessage["counts"][number]>;
  /** By source, its latest SAMPLES_PER_SOURCE refusals (made samples at the flush); MAX_SAMPLES / SAMPLES_PER_SOURCE sources at most. */
  samples: Map<string, Refusal[]>;
}

const empty = (): Tally => ({ counts: new Map(), samples: new Map() });
let tally = empty();
let flushing = false;

function add(r: Refusal): void {
  // Apart by the source's creation too: a window's refusals by a deleted source and by one made
  // again under its id are two tallies, the first recorded for neither (store/rejections.ts).
  const key = `${r.sourceId}\n${r.reason}\n${r.sourceCreatedAt ?? ""}`;
  const c = tally.counts.get(key) ?? {
    sourceId: r.sourceId,
    reason: r.reason,
    count: 0,
    lastAt: r.at,
    ...(r.sourceCreatedAt === undefined ? {} : { sourceCreatedAt: r.sourceCreatedAt }),
  };
  c.count++;
  c.lastAt = Math.max(c.lastAt, r.at);
  tally.counts.set(key, c);
  const latest = tally.samples.get(r.sourceId) ?? [];
  if (latest.length === 0 && tally.samples.size >= MAX_SAMPLES / SAMPLES_PER_SOURCE) return;
  if (latest.length === SAMPLES_PER_SOURCE) latest.shift();
  latest.push(r);
  tally.samples.set(r.sourceId, latest);
}

const sampleOf = (r: Refusal): RejectionSample => ({
  sourceId: r.sourceId,
  requested: r.requested.slice(0, 64),
  reason: r.reason,
  at: r.at,
  client: r.client.slice(0, 64),
  userAgent: r.userAgent?.slice(0, 256) ?? null,
  headerNames: [...r.headers.keys()].slice(0, MAX_HEADER_NAMES).map((name) => name.slice(0, MAX_HEADER_NAME_CHARS)),
  ...(r.sourceCreatedAt === undefined ? {} : { sourceCreatedAt: r.sourceCreatedAt }),
});

async function flushAfter(env: Env, ms: number): Promise<void> {
  if (ms > 0) await new Promise((r) => setTimeout(r, ms));
  const taken = tally;
  tally = empty();
  flushing = false;
  const message: RejectionsMessage = { v: 1, counts: [...taken.counts.values()], samples: [...taken.samples.values()].flat().map(sampleOf) };
  if (message.counts.length === 0) return;
  try {
    await env.REJECTIONS.send(message, { contentType: "json" });
  } catch (err) {
    // What is lost is a tally of refused requests, never an event.
    console.error("rejection log: sending the tally failed", { requests: message.counts.reduce((n, c) => n + c.count, 0), error: String(err) });
  }
}

/** Tallies a refused request; the tally is sent after the answer, at most once per window in this isolate. */
export function noteRefusal(env: Env, waitUntil: (p: Promise<unknown>) => void, r: Refusal): void {
  add(r);
  if (flushing) return;
  flushing = true;
  // How long refusals are tallied before the tally is sent: REJECTIONS_FLUSH_MS (settings.ts).
  waitUntil(flushAfter(env, settings(env).rejectionsFlushMs));
}
