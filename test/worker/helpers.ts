import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, onTestFinished, vi } from "vitest";
import { retryJitter } from "../../src/domain/retry-jitter";
import type { IngestMessage, RejectionsMessage, Webhook } from "../../src/domain/types";
import type { Env } from "../../src/env";
import { IDLE_STATUS, type FlowStatus, type WakeReason } from "../../src/pipeline/flow";
import type { WebhookScheduler } from "../../src/pipeline/scheduler";
import { podium } from "../../src/schemes/podium";
import { insertSource, type NewSource } from "../../src/store/sources";
import worker from "../../src/index";
import type { meteredD1 } from "../../bench/d1-meter";
import { assertConforms, assertRequestConforms, assertUndocumentedConforms, isAccepted, isUndocumented, operationOf } from "./conformance";
import { fakeNamespace } from "./fakes";
import type { AnswerJson } from "../support/api-answer";

/** The admin token of the test configuration (vitest.config.ts). */
export const ADMIN_TOKEN = env.ADMIN_TOKEN ?? "";
export const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };

/** A Podium event body in the documented shape. */
export function podiumBody(overrides: { type?: string; eventUid?: string; locationUid?: string; organizationUid?: string } = {}) {
  return JSON.stringify({
    data: {
      uid: crypto.randomUUID(),
      body: "hello",
      location: {
        uid: overrides.locationUid ?? "loc-1",
        organizationUid: overrides.organizationUid ?? "org-1",
      },
    },
    metadata: {
      eventType: overrides.type ?? "message.received",
      eventUid: overrides.eventUid ?? crypto.randomUUID(),
      version: "2021.04.01",
    },
  });
}

/** Headers a Podium sender would attach: ms timestamp, lower-case hex, signed by the Podium scheme. */
export async function podiumHeaders(body: string | Uint8Array, secret = "podium-current", timestamp = String(Date.now())) {
  const signed = await podium.sign(secret, body, { timestamp });
  return { "content-type": "application/json", "podium-timestamp": timestamp, "podium-signature": signed["podium-signature"] ?? "" };
}

/**
 * For the rest of the test, a failed attempt's retry waits 99% of its backoff's ceiling: the full
 * jitter (retryJitter, src/domain/delivery.ts decide) would make it due at once on a draw near 0,
 * and a test that expects no retry within it would see one. Only the retry draw is fixed: Math.random
 * (the FIFO sample's shuffle, ids) stays random.
 */
export function retriesWaitNearTheirCeiling(): void {
  const random = vi.spyOn(retryJitter, "draw").mockReturnValue(0.99);
  onTestFinished(() => random.mockRestore());
}

/** What the platform's queues hold in one message (128 KB); a larger one is refused by send(). */
export const QUEUE_MESSAGE_LIMIT_BYTES = 128_000;

/** A queue binding that keeps what it was sent. */
export interface RecordingQueue<T = IngestMessage> extends Queue<T> {
  sent: T[];
}

/** A queue that records what was sent, or fails when told to; like the platform's, it refuses a message over 128 KB. */
export function recordingQueue<T = IngestMessage>(fail = false): RecordingQueue<T> {
  const sent: T[] = [];
  let bytes = 0;
  const size = (msg: T) => new TextEncoder().encode(JSON.stringify(msg)).byteLength;
  const backlog = () => ({ backlogCount: sent.length, backlogBytes: bytes });
  const record = (msg: T) => {
    sent.push(structuredClone(msg));
    bytes += size(msg);
  };
  return {
    sent,
    async metrics() {
      return backlog();
    },
    async send(msg) {
      if (fail) throw new Error("queue unavailable (test)");
      if (size(msg) > QUEUE_MESSAGE_LIMIT_BYTES) throw new Error("message too large (test)");
      record(msg);
      return { metadata: { metrics: backlog() } };
    },
    async sendBatch(msgs) {
      if (fail) throw new Error("queue unavailable (test)");
      for (const m of msgs) record(m.body);
      return { metadata: { metrics: backlog() } };
    },
  };
}

/**
 * Delivery schedulers that record which webhooks were woken (`woken`) instead of
 * sending anything (pipeline.ts's `deliver()` runs their flows), or fail for the
 * webhooks `fails` names.
 */
/** `woken`: the webhooks whose scheduler was woken, in order; `reasons`: each wake's, beside it. */
export type RecordingSchedulers = Env["SCHEDULERS"] & { woken: string[]; reasons: { webhookUid: string; why: WakeReason }[] };

export function recordingSchedulers(fails: (webhookUid: string) => boolean = () => false): RecordingSchedulers {
  const woken: string[] = [];
  const reasons: { webhookUid: string; why: WakeReason }[] = [];
  const namespace = fakeNamespace<WebhookScheduler>(() => ({
    async wake(webhookUid: string, _resume?: boolean, why: WakeReason = "changed"): Promise<void> {
      if (fails(webhookUid)) throw new Error("scheduler unreachable (test)");
      woken.push(webhookUid);
      reasons.push({ webhookUid, why });
    },
    status: async (): Promise<FlowStatus> => IDLE_STATUS,
  }));
  return Object.assign(namespace, { woken, reasons });
}

/**
 * The test env with the ingest queue and the schedulers replaced by recording ones,
 * so nothing runs in the background; the schedulers of the webhooks `unreachable`
 * names fail to wake.
 */
export function testEnv(overrides: Partial<Env> = {}, unreachable?: (webhookUid: string) => boolean) {
  const queues = { ingest: recordingQueue<IngestMessage>(), rejections: recordingQueue<RejectionsMessage>() };
  const schedulers = recordingSchedulers(unreachable);
  const e: Env = {
    ...env,
    INGEST: queues.ingest,
    SCHEDULERS: schedulers,
    REJECTIONS: queues.rejections,
    ...overrides,
  };
  return { env: e, queues, schedulers };
}

// Documentation addresses (2001:db8::/32), one network per test file's isolate and one /64 per call
// (failures are counted against an IPv6 client's /64: src/http/client.ts).
const network = `2001:db8:${crypto.getRandomValues(new Uint16Array(1))[0]!.toString(16)}`;
let clients = 0;
/** A client address no other call uses, in a /64 of its own. */
export const clientAddress = () => `${network}:${(++clients % 0x10000).toString(16)}::1`;

/**
 * Sends failed authentications `fail(1)`, `fail(2)`, … until one is answered 429, and checks that
 * each before it was answered `refused`, at least 20 of them. Up to 41: the local limiter (20 a
 * minute, wrangler.toml's [[ratelimits]]) counts in windows aligned to the clock's minute, so a burst
 * crossing into the next window is counted afresh there and reaches 429 later, by its 41st at most.
 */
export async function failUntilLimited(refused: number, fail: (i: number) => Promise<{ status: number }>): Promise<void> {
  const minute = () => Math.floor(Date.now() / 60_000);
  // Read before the first request and after the last answer: the runtime's clock stands still between
  // I/O, so it is never ahead of the limiter's, and one minute at both ends holds the whole burst.
  const first = minute();
  const statuses: number[] = [];
  for (let i = 1; i <= 41 && statuses.at(-1) !== 429; i++) statuses.push((await fail(i)).status);
  const crossed = minute() !== first;
  expect(statuses.at(-1)).toBe(429);
  // Within one window the 21st is refused, exactly: a limit raised past 20 would fail here.
  if (crossed) expect(statuses.length).toBeGreaterThanOrEqual(21);
  else expect(statuses.length).toBe(21);
  expect(statuses.slice(0, -1).filter((s) => s !== refused)).toEqual([]);
}

/**
 * A GET or HEAD carrying a body, as `curl -X GET --data-binary @file` sends one and the runtime
 * passes on: a Request built here may not hold one, so it is a POST's that says `method`. It names
 * its client address, so call() does not rebuild it (which would make it a POST again).
 */
export function bodiedRequest(method: "GET" | "HEAD", url: string, headers: Record<string, string>, body: string | ReadableStream<Uint8Array>): Request {
  const request = new Request(url, { method: "POST", headers: { "cf-connecting-ip": clientAddress(), ...headers }, body });
  Object.defineProperty(request, "method", { value: method });
  return request;
}

/** The worker's fetch with the test env, optionally with some bindings replaced; an answer the document describes is held to it (conformsIfDocumented). */
export async function call(request: Request, overrides: Partial<Env> = {}): Promise<Response> {
  // Each call comes from its own client address unless a test names one, so deliberate
  // authentication failures across the suite never add up to the per-client rate limit.
  if (!request.headers.has("cf-connecting-ip")) {
    request = new Request(request, { headers: new Headers(request.headers) });
    request.headers.set("cf-connecting-ip", clientAddress());
  }
  return fetchChecked(request, testEnv(overrides).env);
}

/**
 * The worker's fetch with an env a test built, held to the document as call()'s; `wait: false`
 * leaves what the call started running (a listener's socket lives on after its 101).
 */
export async function fetchChecked(request: Request, e: Env, o: { wait: boolean } = { wait: true }): Promise<Response> {
  const url = new URL(request.url);
  const documented = operationOf(request.method, url.pathname) !== undefined;
  // A copy of the body, read only once the answer is a 2xx (a refused body may be a stream a test
  // counts the reads of, or one that never ends).
  const copy = documented && request.body !== null ? request.clone() : undefined;
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, e, ctx);
  if (o.wait) await waitOnExecutionContext(ctx);
  if (documented) await conforms(request, copy, res);
  else if (isUndocumented(request.method, url.pathname)) await refusesAsDocumented(request.method, url.pathname, res);
  return res;
}

/** An answer for a path or method the document does not name, held to its error (conformance.ts); its body is read from a copy. */
async function refusesAsDocumented(method: string, path: string, res: Response): Promise<void> {
  const contentType = res.headers.get("content-type");
  const text = await res.clone().text();
  const body: unknown = contentType?.startsWith("application/json") && text !== "" ? JSON.parse(text) : text;
  assertUndocumentedConforms(method, path, { status: res.status, contentType, allow: res.headers.get("allow") }, body);
}

/**
 * A call of an operation /openapi.json documents (the API, the ingress) held to it (conformance.ts):
 * its answer, and the request if accepted (`copy` holds its body); the answer's body is read from a copy, left to the test.
 */
async function conforms(request: Request, copy: Request | undefined, res: Response): Promise<void> {
  const url = new URL(request.url);
  const json = res.headers.get("content-type")?.startsWith("application/json") ? await res.clone().json() : undefined;
  assertConforms(request.method, url.pathname, res.status, json, res.headers);
  if (!isAccepted(res.status)) return;
  const body = copy ? await copy.text() : undefined;
  assertRequestConforms({ method: request.method, path: `${url.pathname}${url.search}`, contentType: request.headers.get("content-type"), body }, res.status);
}

/**
 * What an API call answered: its status, and its JSON body (null for a 204), typed by what the
 * document describes for `method` and `path` (test/support/api-answer.ts); `any` where the call
 * names neither as a literal.
 */
export interface ApiAnswer<Json = AnswerJson<string, string>> {
  status: number;
  json: Json;
}
/** What a call of `method` on `path` answers (a list's path without its query names its pages). */
export type Answered<M extends string, P extends string> = ApiAnswer<AnswerJson<M, P>>;

/**
 * The one way tests call the API: with `env`, as `headers` say (the admin by default), waiting
 * for what the call left running (waitUntil). A pipeline's `api` and tokens.ts's `as` are this.
 * Each call comes from a client address of its own unless `headers` name one, as call()'s do.
 * Its answer must conform to what /openapi.json documents for it (conformance.ts), as call()'s, and
 * so must the request, if the API accepted it.
 */
export async function apiCall<M extends string, P extends string>(
  e: Env,
  method: M,
  path: P,
  body?: unknown,
  headers: Record<string, string> = ADMIN,
): Promise<Answered<M, P>> {
  const request = new Request(`https://edgehook.test${path}`, {
    method,
    headers: { "cf-connecting-ip": clientAddress(), ...headers, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const res = await fetchChecked(request, e);
  // fetchChecked held the body to the document, which is what its type says (null for a 204's).
  const text = await res.text();
  return { status: res.status, json: JSON.parse(text === "" ? "null" : text) };
}

/**
 * An API call with the test env's D1 seen through `meter` (bench/d1-meter.ts): also the rows it read.
 * Its schedulers record what it wakes (testEnv): the real ones would run on into the next file.
 */
export async function meteredApiCall<M extends string, P extends string>(
  meter: ReturnType<typeof meteredD1>,
  method: M,
  path: P,
  body?: unknown,
  headers: Record<string, string> = ADMIN,
) {
  meter.reset();
  const answer = await apiCall({ ...testEnv().env, DB: meter.db }, method, path, body, headers);
  return { ...answer, rows: meter.usage.rowsRead };
}

/**
 * A list (`path` with its query) paged through its cursors to the end, each call answering 200 and
 * reading at most `maxRows` D1 rows: every item in order, the rows each call read, and how many calls.
 */
export async function pagedList<T>(
  meter: ReturnType<typeof meteredD1>,
  path: string,
  o: { maxRows: number; maxCalls: number; headers?: Record<string, string> },
): Promise<{ data: T[]; rows: number[]; calls: number }> {
  const data: T[] = [];
  const rows: number[] = [];
  let cursor: string | null = null;
  for (let calls = 1; calls <= o.maxCalls; calls++) {
    // `path` is any list's: its items are the caller's T.
    const r: ApiAnswer & { rows: number } = await meteredApiCall(meter, "GET", `${path}${cursor ? `&cursor=${cursor}` : ""}`, undefined, o.headers ?? ADMIN);
    expect(r.status, path).toBe(200);
    rows.push(r.rows);
    expect(r.rows, path).toBeLessThanOrEqual(o.maxRows);
    data.push(...r.json.data);
    cursor = r.json.nextCursor;
    if (!cursor) return { data, rows, calls };
  }
  throw new Error(`${path}: more than ${o.maxCalls} calls`);
}

/** An ingest message as the ingress queues it (a Podium message.received of no owner), with `fields` changed. */
export function ingestMessage(fields: Partial<IngestMessage> = {}): IngestMessage {
  const id = crypto.randomUUID().slice(0, 8);
  return {
    v: 1,
    eventId: `evt_${id}`,
    sourceId: "podium",
    dedupeKey: id,
    eventType: "message.received",
    locationUid: null,
    organizationUid: null,
    receivedAt: Date.now(),
    headers: {},
    body: podiumBody(),
    ...fields,
  };
}

/** HTML text with tags removed and entities decoded enough to read. */
export const pageText = (html: string) => html.replace(/<[^>]+>/g, " ").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, "&").replace(/\s+/g, " ");

/** The banners a dashboard page shows under its title: notices and errors, or only those of `role` (status: notice, alert: error). */
export const pageBanners = (html: string, role: "status" | "alert" | null = null) =>
  [...html.matchAll(new RegExp(`<p class="notice[^"]*" role="${role ?? "(?:status|alert)"}"[^>]*>([\\s\\S]*?)</p>`, "g"))].map((m) => pageText(m[1]!).trim());

/** A dashboard session cookie (`name=value`), signed in as the admin. */
export async function dashboardCookie(): Promise<string> {
  const login = await dashboardForm("/dashboard/login", null, { token: ADMIN_TOKEN });
  return login.headers.get("set-cookie")!.split(";")[0]!;
}

/** A same-origin form post to the dashboard, with a session cookie (or none); `overrides` as call() takes them (a pipeline's env). */
export function dashboardForm(path: string, cookie: string | null, fields: Record<string, string> | [string, string][], overrides: Partial<Env> = {}): Promise<Response> {
  return call(
    new Request(`https://edgehook.test${path}`, {
      method: "POST",
      headers: { ...(cookie ? { cookie } : {}), origin: "https://edgehook.test", "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields),
    }),
    overrides,
  );
}

/** The page a form that made a secret redirects to (it shows the secret once), fetched with the session's cookie. */
export async function dashboardShown(res: Response, cookie: string): Promise<Response> {
  if (res.status !== 303) throw new Error(`expected the redirect to the secret's page, got ${res.status}`);
  return call(new Request(new URL(res.headers.get("location")!, "https://edgehook.test/dashboard/"), { headers: { cookie } }));
}

export function post(path: string, body: string, headers: Record<string, string>): Request {
  return new Request(`https://edgehook.test${path}`, { method: "POST", body, headers });
}

export async function createSource(s: Partial<NewSource> & { secrets: string[] }): Promise<string> {
  const id = s.id ?? `src-${crypto.randomUUID().slice(0, 8)}`;
  await insertSource(env.DB, {
    id,
    name: s.name ?? id,
    provider: s.provider ?? "podium",
    verification: s.verification ?? "signature",
    secrets: s.secrets,
    toleranceSeconds: s.toleranceSeconds ?? null,
    disabled: s.disabled ?? false,
    hmac: s.hmac ?? null,
    organizationUid: s.organizationUid ?? null,
    teachesLocations: s.teachesLocations ?? (s.organizationUid ?? null) === null,
    shopDomain: s.shopDomain ?? null,
  });
  return id;
}

/** A whole webhook record with plain defaults, for code that takes one (routing, the store). */
export function aWebhook(over: Partial<Webhook> = {}): Webhook {
  return {
    uid: "wh-1",
    url: "https://downstream.test/ok/x",
    eventTypes: ["*"],
    locationUid: null,
    organizationUid: null,
    grantOrganizationUid: null,
    sourceIds: null,
    secret: "whsec_dGVzdA==",
    previousSecret: null,
    disabled: false,
    timeoutMs: 5000,
    maxAttempts: 15,
    rateLimit: null,
    maxConcurrency: 8,
    ordering: "unordered",
    createdAt: 1000,
    updatedAt: 1000,
    filter: null,
    transform: null,
    transformHeaders: null,
    kind: "webhook",
    autoDisableAfterMinutes: 1440,
    failingAfterAttempts: 10,
    disabledReason: null,
    disabledAt: null,
    ...over,
  };
}

/** A listener socket that asked for acks acks a run's `position`, as the CLI does (one closed meanwhile takes none). */
export function ack(ws: WebSocket, position: number): void {
  try {
    ws.send(JSON.stringify({ type: "ack", position }));
  } catch {
    // closed by the test or the hub: nothing more is sent it
  }
}
