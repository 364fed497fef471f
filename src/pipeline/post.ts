import type { Attempt, Webhook } from "../domain/types";
import { fromUtf8 } from "../domain/crypto";
import { scrubCredentials } from "../domain/credential-headers";
import type { AttemptResult } from "../domain/delivery";
import { outbound } from "./outbound";
import { TRANSFORM_LIMITS } from "./transform-limits";
import { deliveryHeaders } from "./sign";

const SNIPPET_BYTES = 512;

interface PostRequest {
  deliveryId: string;
  attempt: number;
  url: string;
  secret: string;
  /** A rotation's previous secret, signing beside `secret` until it expires (judged when signing). */
  previousSecret?: Webhook["previousSecret"];
  eventId: string;
  eventType: string;
  /** The stored body; the webhook's transformation (if any) makes what is sent from it. */
  body: string;
  timeoutMs: number;
  transform: Pick<Webhook, "kind" | "transform" | "transformHeaders">;
  /** Told the evaluation steps the transformation took (0 without one) once it ended, before anything is sent. */
  transformed?: (steps: number) => void;
}

/** The attempt as recorded, and what it came to as the retry decision needs it. */
export interface Posted {
  attempt: Attempt;
  result: AttemptResult;
}

const DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)";
const MONTH = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
const CLOCK = "\\d{2}:\\d{2}:\\d{2}";
/**
 * The three forms of an HTTP date (RFC 9110 §5.6.7): IMF-fixdate, RFC 850's and asctime's. Only
 * these are read as dates: Date.parse also takes `May 2027` or `3000-01-01`, which would pause the
 * whole webhook up to the cap on a value the RFC says to ignore.
 */
const HTTP_DATE = new RegExp(
  `^(?:${DAY}, \\d{2} ${MONTH} \\d{4} ${CLOCK} GMT|(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day, \\d{2}-${MONTH}-\\d{2} ${CLOCK} GMT|${DAY} ${MONTH} [ \\d]\\d ${CLOCK} \\d{4})$`,
);

/** `Retry-After` as seconds from now: delta-seconds or an HTTP date; anything else is none. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  if (!HTTP_DATE.test(trimmed)) return null;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

/**
 * How long an answer's body is read for its snippet once its status arrived. The attempt is
 * decided by then; a body that trickles would otherwise hold the webhook's slot (its FIFO
 * head, one of its concurrent requests) for the whole timeout.
 */
const SNIPPET_WAIT_MS = 1_000;

/**
 * Reads at most a snippet of a response body, for at most SNIPPET_WAIT_MS, and lets go of the
 * rest. What arrived before the wait ended, the timeout or a reset is kept.
 */
async function snippet(res: Response): Promise<string | null> {
  if (!res.body) return null;
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const waited = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), SNIPPET_WAIT_MS)));
  try {
    while (size < SNIPPET_BYTES) {
      const next = await Promise.race([reader.read(), waited]);
      if (next === null || next.done) break;
      chunks.push(next.value);
      size += next.value.byteLength;
    }
  } catch {
    // Cut off (the timeout, a reset): what arrived stands.
  } finally {
    clearTimeout(timer);
    reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) bytes.set(c, (at += c.byteLength) - c.byteLength);
  return fromUtf8(bytes.subarray(0, SNIPPET_BYTES)) || null;
}

const REDIRECTS = [301, 302, 303, 307, 308];

/**
 * Why an answer that is not a 2xx failed. Not where a redirect pointed: the receiver chooses that
 * (it may echo the request), and an attempt's error is shown with its webhook's health to tokens
 * that may not read the event.
 */
function failure(res: Response): string {
  return REDIRECTS.includes(res.status) ? `redirect ${res.status} not followed` : `HTTP ${res.status}`;
}

/**
 * One attempt: POST the stored body byte for byte (or the transformation's output),
 * signed over exactly what is sent, within the timeout. Success is a 2xx in time (its status
 * arrived within timeoutMs of sending, however late the runtime's timer fires);
 * redirects are not followed (a 3xx is a failure). A transformation that fails is a
 * failed attempt that sends nothing.
 */
export async function postDelivery(r: PostRequest, now = Date.now()): Promise<Posted> {
  const base = { deliveryId: r.deliveryId, number: r.attempt, startedAt: now };
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const payload = await outbound(r.transform, r.body);
  r.transformed?.(payload.steps);
  if (!payload.ok) {
    // Recorded without the event's values: a webhook's health shows it to tokens that may not read
    // the event. The webhook's test (POST /v1/webhooks/{uid}/test) shows the error, when there is more (cut at its messageChars).
    const more = payload.reason === payload.summary ? "" : `; POST /v1/webhooks/{uid}/test shows its message (up to ${TRANSFORM_LIMITS.messageChars.toLocaleString("en-US")} characters)`;
    const error = `transformation failed, not retried: ${payload.summary}${more}`.slice(0, 1000);
    return { result: { ok: false, permanent: true }, attempt: { ...base, durationMs: elapsed(), statusCode: null, error, responseSnippet: null } };
  }
  // Edgehook's own headers come last: a transformation never replaces a signature.
  const headers = { ...payload.headers, ...(await deliveryHeaders({ ...r, body: payload.body }, now)) };
  const signal = AbortSignal.timeout(r.timeoutMs);
  const sent = performance.now();
  try {
    const res = await fetch(r.url, { method: "POST", headers, body: payload.body, redirect: "manual", signal });
    // The answer counts once its status arrived; the body is read only for a snippet.
    const durationMs = elapsed();
    const waited = Math.round(performance.now() - sent);
    // A busy runtime fires the timeout's timer late (up to ~0.8 s under load, measured): an answer that
    // came after timeoutMs all the same is one the downstream gave too late, success or not.
    if (waited > r.timeoutMs) {
      res.body?.cancel().catch(() => {});
      const error = `timed out after ${r.timeoutMs} ms (its answer, HTTP ${res.status}, came after ${waited} ms)`;
      return { attempt: { ...base, durationMs, statusCode: null, error, responseSnippet: null }, result: { ok: false, retryAfterSeconds: null } };
    }
    const ok = res.status >= 200 && res.status < 300;
    // A downstream may echo the request back (an error page listing its headers): the
    // transformation's credential headers are write-only there too.
    const text = scrubCredentials(await snippet(res), payload.headers);
    return {
      attempt: { ...base, durationMs, statusCode: res.status, error: ok ? null : failure(res), responseSnippet: text },
      // From the answer, as the pause and the retry it sets are counted: an HTTP date is when, not how long.
      result: ok ? { ok } : { ok, retryAfterSeconds: parseRetryAfter(res.headers.get("retry-after"), now + durationMs) },
    };
  } catch (err) {
    // The runtime's words for no answer are its own ("Network connection lost." for a refused
    // connection, "internal error; reference = …" for an unknown host): say what they mean.
    const error = signal.aborted ? `timed out after ${r.timeoutMs} ms` : `request failed (is the URL right, and its server up?): ${String(err).slice(0, 200)}`;
    return { attempt: { ...base, durationMs: elapsed(), statusCode: null, error, responseSnippet: null }, result: { ok: false, retryAfterSeconds: null } };
  }
}
