import type { Context } from "hono";
import { AppError, errorResponse } from "../domain/errors";
import { eventIdFor } from "../domain/ids";
import type { IngestMessage } from "../domain/types";
import type { AppEnv } from "../env";
import { enqueue } from "./claim-check";
import { providers } from "./providers";
import { malformed } from "./providers/provider";
import { findSource } from "./sources";

/** The largest body accepted (CONTRACT §1). */
export const MAX_BODY_BYTES = 256 * 1024;
const QUEUE_RETRY_AFTER_S = "5";

// Signatures and credentials are never stored with an event.
const SECRET_HEADER = /^(authorization|proxy-authorization|cookie)$|signature|hmac|token|secret/i;
const MAX_STORED_HEADERS = 40;
const MAX_HEADER_VALUE = 1024;

function storableHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  let n = 0;
  for (const [name, value] of headers) {
    if (SECRET_HEADER.test(name) || name.startsWith("cf-")) continue;
    if (++n > MAX_STORED_HEADERS) break;
    out[name] = value.slice(0, MAX_HEADER_VALUE);
  }
  return out;
}

const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * POST /webhooks/:sourceId — the ack path. It verifies, enqueues and answers;
 * it writes nothing to D1 and reads D1 only on a cold source cache.
 */
export async function receive(c: Context<AppEnv>): Promise<Response> {
  try {
    return await accept(c);
  } catch (err) {
    if (err instanceof AppError) return errorResponse(err);
    throw err;
  }
}

async function accept(c: Context<AppEnv>): Promise<Response> {
  const now = Date.now();
  const sourceId = c.req.param("sourceId") ?? "";
  const source = await findSource(c.env, sourceId, now);
  if (!source || source.disabled) {
    throw new AppError(404, "unknown_source", `No enabled source is called "${sourceId.slice(0, 64)}".`);
  }

  // (An error is built only when thrown: the ack path allocates no stack traces for nothing.)
  const tooLarge = () => new AppError(413, "payload_too_large", `The body is over the ${MAX_BODY_BYTES}-byte limit.`);
  if (Number(c.req.header("content-length") ?? 0) > MAX_BODY_BYTES) throw tooLarge();
  const raw = new Uint8Array(await c.req.arrayBuffer());
  if (raw.byteLength > MAX_BODY_BYTES) throw tooLarge();

  const provider = providers[source.provider];
  const req = { headers: c.req.raw.headers, raw, now };
  if (source.verification === "signature") await provider.verify(req, source);

  let body: string;
  try {
    body = utf8Decoder.decode(raw);
  } catch {
    throw malformed("The body is not valid UTF-8.");
  }
  const handshake = provider.handshake?.(req, body);
  if (handshake) return handshake;
  const facts = await provider.facts(req, body, source);
  const msg: IngestMessage = {
    v: 1,
    eventId: await eventIdFor(source.id, facts.dedupeKey),
    sourceId: source.id,
    receivedAt: now,
    headers: storableHeaders(c.req.raw.headers),
    ...facts,
    body,
  };
  // A tenant's source sends only its own organization's events, whatever the body says
  // (the ingest consumer then keeps the location only if it is known to be the owner's).
  if (source.organizationUid !== null) {
    msg.organizationUid = msg.sourceOwner = source.organizationUid;
  }

  try {
    await enqueue(c.env, msg);
  } catch (err) {
    console.error("ingest enqueue failed", { eventId: msg.eventId, error: String(err) });
    throw new AppError(503, "queue_unavailable", "The event could not be queued durably; retry later.", undefined, {
      "retry-after": QUEUE_RETRY_AFTER_S,
    });
  }
  return c.json({ eventId: msg.eventId }, 202);
}
