// Drives the whole pipeline inside workerd, one hop at a time, with a recording
// ingest queue and recording schedulers, so each step is explicit and nothing
// runs in the background: `deliver()` runs the flows of the webhooks woken, in
// this isolate, with this pipeline's env (its faults included).
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { toHex } from "../../src/domain/crypto";
import type { IngestMessage } from "../../src/domain/types";
import type { Env } from "../../src/env";
import worker from "../../src/index";
import { WebhookFlow } from "../../src/pipeline/flow";
import type { Recorded } from "../support/fake-downstream";
import { assertConforms, assertRequestConforms } from "./conformance";
import { apiCall, podiumBody, podiumHeaders, post, testEnv } from "./helpers";

let msgSeq = 0;

/** One run of a scheduler's flow, as its alarm makes one, with nothing left waiting: no deadline, no cap on starts or transformation steps, no wait for a slot. */
export const RUN = { deadline: Infinity, maxStarts: Infinity, maxTransformSteps: Infinity, maxWaitMs: 0 };

export function pipeline(overrides: Partial<Env> = {}, opts: { unreachable?: (webhookUid: string) => boolean } = {}) {
  const { env, queues, schedulers } = testEnv(overrides, opts.unreachable);
  // One flow per webhook woken through this pipeline, kept across deliver() calls as
  // its Durable Object keeps it (what it failed to record, a pause).
  const flows = new Map<string, WebhookFlow>();
  /** When each flow's run asked to run again (its Durable Object's alarm), or null: not until woken. */
  const alarms = new Map<string, number | null>();

  async function runQueue<T>(queue: string, bodies: T[], attempts = 1, id?: string) {
    const batch = createMessageBatch<T>(
      queue,
      bodies.map((body, i) => ({ id: id ? `${id}-${i}` : `q${++msgSeq}`, timestamp: new Date(), attempts, body })),
    );
    // getQueueResult does not report retry delays: record what the consumer asked for.
    const delays = new Map<string, number | undefined>();
    for (const m of batch.messages) {
      const retry = m.retry.bind(m);
      m.retry = (options?: QueueRetryOptions) => (delays.set(m.id, options?.delaySeconds), retry(options));
    }
    const retryAll = batch.retryAll.bind(batch);
    batch.retryAll = (options?: QueueRetryOptions) => {
      for (const m of batch.messages) delays.set(m.id, options?.delaySeconds);
      retryAll(options);
    };
    const ctx = createExecutionContext();
    await worker.queue(batch, env);
    const result = await getQueueResult(batch, ctx);
    const byId = new Map(batch.messages.map((m) => [m.id, m.body]));
    const all = batch.messages.map((m) => m.body);
    return {
      acked: result.ackAll ? all : result.explicitAcks.map((id) => byId.get(id)!),
      retried: result.retryBatch.retry ? all : result.retryMessages.map((r) => byId.get(r.msgId)!),
      /** The delay each retried message asked for, in seconds (undefined: the queue's default). */
      retryDelays: result.retryBatch.retry
        ? batch.messages.map((m) => delays.get(m.id))
        : result.retryMessages.map((r) => delays.get(r.msgId)),
    };
  }

  /** Calls the API as the admin, with this pipeline's env. */
  const api = <M extends string, P extends string>(method: M, path: P, body?: unknown) => apiCall(env, method, path, body);

  /** Sends a signed Podium event through the ingress (of `from`, else `podium`) only: its message waits in `queues.ingest.sent`. Returns its event id. */
  async function receive(body = podiumBody(), from: { source: string; secret: string } = { source: "podium", secret: "podium-current" }): Promise<string> {
    const ctx = createExecutionContext();
    const headers = await podiumHeaders(body, from.secret);
    const res = await worker.fetch(post(`/webhooks/${from.source}`, body, headers), env, ctx);
    if (res.status !== 202) throw new Error(`ingress answered ${res.status}`);
    const json: unknown = await res.json();
    assertConforms("POST", `/webhooks/${from.source}`, res.status, json, res.headers);
    assertRequestConforms({ method: "POST", path: `/webhooks/${from.source}`, contentType: headers["content-type"], body }, res.status);
    return (json as { eventId: string }).eventId;
  }

  async function createWebhook(body: Record<string, unknown>) {
    const res = await api("POST", "/v1/webhooks", body);
    if (res.status !== 201) throw new Error(`create webhook: ${res.status} ${JSON.stringify(res.json)}`);
    return res.json as { uid: string; url: string; secret: string; createdAt: string; [k: string]: unknown };
  }

  return {
    env,
    queues,
    /** The webhooks whose scheduler was woken, in order (deliver() takes them). */
    woken: schedulers.woken,
    /** Why each was woken, beside it. */
    wakeReasons: schedulers.reasons,
    api,
    runQueue,
    receive,
    /** Sends a signed Podium event through the ingress (of `from`, else `podium`) and the ingest consumer. */
    async ingestWithResult(body = podiumBody(), from?: { source: string; secret: string }) {
      const eventId = await receive(body, from);
      const consumed = await runQueue<IngestMessage>("edgehook-ingest", queues.ingest.sent.splice(0));
      return { eventId, ...consumed };
    },
    /** The same, returning the event id. */
    async ingest(body = podiumBody(), from?: { source: string; secret: string }): Promise<string> {
      return (await this.ingestWithResult(body, from)).eventId;
    },
    runIngest: (msgs: IngestMessage[]) => runQueue<IngestMessage>("edgehook-ingest", msgs),
    /**
     * Runs the flow of every webhook woken so far through this pipeline: what is due
     * now goes out within its limits, and is recorded. Returns when nothing more can
     * start now (a retry due later, a pause, or nothing owed). `asAlarms`: as their
     * Durable Objects would, only the flows woken since the last call (told to look
     * again) and those whose last run asked for a time now past; the others are not told.
     */
    async deliver(opts: { asAlarms?: boolean } = {}) {
      const woken = new Set(schedulers.woken.splice(0));
      for (const uid of woken) if (!flows.has(uid)) flows.set(uid, new WebhookFlow(env, uid));
      // Every flow, told to look again; or as Durable Objects: those woken, and those whose alarm came due.
      const told = opts.asAlarms ? woken : new Set(flows.keys());
      for (const uid of told) flows.get(uid)!.wake();
      const now = Date.now();
      const due = [...flows].filter(([uid]) => told.has(uid) || (alarms.get(uid) ?? Infinity) <= now);
      await Promise.all(due.map(async ([uid, f]) => alarms.set(uid, await f.run(RUN))));
    },
    createWebhook,
    /**
     * A webhook of its own organization (so tests never see each other's events) on a
     * downstream behaviour of the fake downstream ("ok", "slow?ms=400", …), and its events.
     */
    async webhookOn(behaviour: string, hook: Record<string, unknown> = {}) {
      const key = uniqueKey();
      const org = `org-${key}`;
      const path = behaviour.includes("?") ? behaviour.replace("?", `/${key}?`) : `${behaviour}/${key}`;
      const webhook = await createWebhook({ url: `https://downstream.test/${path}`, eventTypes: ["*"], organizationUid: org, ...hook });
      return { key, org, webhook, event: (type = "message.received") => podiumBody({ type, organizationUid: org }) };
    },
  };
}

/** What the fake downstream received under a key. */
export async function received(key: string): Promise<Recorded[]> {
  const res = await fetch(`https://downstream.test/__requests/${key}`);
  return res.json();
}

/** How many requests the fake downstream received under a key: for a wait on a long list, which would carry every request each poll. */
export async function receivedCount(key: string): Promise<number> {
  const res = await fetch(`https://downstream.test/__requests/${key}?count`);
  return res.json();
}

/**
 * A key no other test of the run draws: the fake downstream keeps what it received under it for the
 * whole run, across files. 64 random bits (16 hex digits): 32 made a collision among a run's keys
 * about 1 in 10,000 runs likely.
 */
export const uniqueKey = () => toHex(crypto.getRandomValues(new Uint8Array(8)));

/**
 * A pipeline and a webhook of its own organization, so tests never see each other's
 * events, sending to the fake downstream's `behaviour` ("fail", "slow?ms=300") under a fresh key.
 */
export async function webhookSetup(behaviour: string, hook: Record<string, unknown> = {}, overrides: Record<string, string> = {}) {
  const p = pipeline(overrides);
  return { p, ...(await p.webhookOn(behaviour, hook)) };
}
