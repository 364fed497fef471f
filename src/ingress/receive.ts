import { clientAddress, failureKey } from "../http/client";
import { encodedBody } from "../http/content-encoding";
import { errorResponse, STATUS_OF } from "../http/errors";
import { FailureBlock } from "../http/failure-block";
import { AppError } from "../domain/errors";
import { boundFacts } from "../domain/facts";
import { eventIdFor, SOURCE_ID } from "../domain/ids";
import { isExampleSecret, secretsAtHost } from "../domain/secrets";
import { dedupeKeyText, teaches, type IngestMessage, type Source } from "../domain/types";
import type { Env } from "../env";
import { BodyBrokeOff, readLimited } from "../http/body";
import { enqueue, QUEUE_RETRY_AFTER_S } from "./enqueue";
import { providers, storedHeaderNames } from "./providers";
import { malformed, verifyRequest, type Provider } from "./providers/provider";
import type { SignedRequest } from "../schemes/scheme";
import { noteRefusal } from "./rejection-log";
import { findSource, SourceUnavailable } from "./sources";

/** The largest body accepted. */
export const MAX_BODY_BYTES = 256 * 1024;
/** Where refusals of a path naming no enabled source are logged: a source id that is not one, or no id at all. */
const UNKNOWN_SOURCE = "(unknown)";
const INVALID_SOURCE = "(invalid)";
/** The rejection logs that belong to no source (the admin reads them). */
export const NO_SOURCE_LOGS: readonly string[] = [UNKNOWN_SOURCE, INVALID_SOURCE];

const MAX_HEADER_VALUE = 1024;

/** The headers kept with an event of `source` (storedHeaderNames), never its signature's (an hmac source's stored before that was refused). */
function storableHeaders(headers: Headers, source: Source): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of storedHeaderNames(source)) {
    const value = headers.get(name);
    if (value !== null && name !== source.hmac?.header) out[name] = value.slice(0, MAX_HEADER_VALUE);
  }
  return out;
}

/**
 * Rejected signatures per source and client address (an IPv6 one by its /64) (wrangler.toml, [[ratelimits]]
 * SIGNATURE_FAILURES: 20 a minute); consulted only once a signature is rejected, so the
 * success path awaits nothing and reads nothing.
 */
const rejections = new FailureBlock(60_000);

const clientOf = (request: Request) => clientAddress((name) => request.headers.get(name) ?? undefined);

const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

const rateLimited = (rejected: AppError, seconds: number) =>
  new AppError(
    "rate_limited",
    `${rejected.message} Too many rejected signatures from this address for this source; wait and retry (correctly signed events are still accepted).`,
    // What was refused, for a client to act on (the CLI's `send` hint), as a 409's reason says why.
    { reason: rejected.code },
    seconds,
  );

/**
 * POST /webhooks/:sourceId — the ack path. It verifies, enqueues and answers;
 * it writes nothing to D1 and reads D1 only on a cold source cache.
 */
export async function receive(request: Request, sourceId: string, env: Env, ctx: Pick<ExecutionContext, "waitUntil">): Promise<Response> {
  const judged: Judged = { source: null };
  try {
    return await accept(request, sourceId, env, judged);
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    // A refusal of the request (not our own 503) is tallied for the rejection log, after the answer.
    if (STATUS_OF[err.code] < 500) {
      // A disabled source answers as a missing one (unknown_source), so its refusals are filed with
      // theirs, under (unknown): no source of that id holds them, so they carry no source's creation.
      const unknown = err.code === "unknown_source";
      noteRefusal(env, (p) => ctx.waitUntil(p), {
        sourceId: unknown ? (SOURCE_ID.test(sourceId) ? UNKNOWN_SOURCE : INVALID_SOURCE) : sourceId,
        requested: sourceId,
        reason: err.code,
        at: Date.now(),
        client: clientOf(request),
        userAgent: request.headers.get("user-agent"),
        headers: request.headers,
        // The source it was refused by: one this isolate still knows (SOURCE_CACHE_TTL_MS) after
        // it was deleted and made again under its id elsewhere is not the new one.
        ...(unknown || judged.source?.madeAt == null ? {} : { sourceCreatedAt: judged.source.madeAt }),
      });
    }
    return errorResponse(err);
  }
}

let exampleSecretsSaid = false;

/**
 * The source as it verifies a request to `url`: a published example secret (.dev.vars.example)
 * verifies nothing at a host other than a loopback one (said once in the log, never the secret).
 */
function atHost<S extends { secrets: string[] }>(source: S, url: string): S {
  const secrets = secretsAtHost(source.secrets, () => new URL(url).hostname);
  if (secrets === source.secrets) return source;
  if (!exampleSecretsSaid) {
    exampleSecretsSaid = true;
    console.error(
      "A source's secret is one published in .dev.vars.example, so it verifies only requests to localhost or 127.0.0.1: set a secret of your own (the provider's) to receive events under another name.",
    );
  }
  return { ...source, secrets };
}

/**
 * A signature refused at a host where the source's published example secret verifies nothing, and
 * that secret made it, says so: the sender (a tunnel to `npm run dev`) signed with the secret it was
 * given, and "does not match" alone sends it looking for a typo. Any other refusal (another secret,
 * a malformed header) stays as it is: the host is not why. The example is published: saying so
 * tells nobody more.
 */
async function exampleSecretRefusal(err: unknown, provider: Provider, req: SignedRequest, source: Source, url: string): Promise<unknown> {
  if (!(err instanceof AppError) || err.code !== "invalid_signature") return err;
  try {
    await provider.scheme(source).verify(req, source.secrets.filter(isExampleSecret), source.toleranceSeconds);
  } catch {
    return err;
  }
  return new AppError(
    "invalid_signature",
    `${err.message} The source's secrets include a published example's (.dev.vars.example, the API reference), which verifies only requests to localhost or 127.0.0.1, not to ${new URL(url).hostname}: give the source a secret of your own.`,
  );
}

/** The source a request was judged against, once found: what a refusal is tallied under. */
interface Judged {
  source: Source | null;
}

/** 404 unknown_source, saying what to do about it. */
function unknownSource(sourceId: string): AppError {
  // No id at all: a base URL given to the provider, or an API call without its /v1 (POST
  // /webhooks with a webhook's body, as Podium's POST /v4/webhooks).
  if (sourceId === "") {
    return new AppError(
      "unknown_source",
      "The URL names no source: providers POST to /webhooks/{sourceId} (1 to 64 of a-z, 0-9 and -, no trailing slash). A forwarding webhook is made with POST /v1/webhooks.",
    );
  }
  // Not even a source id: most often the URL given to the provider ends with a slash. Else
  // most often a typo: where the ids are (the API needs a token; the ingress names none).
  const hint = SOURCE_ID.test(sourceId)
    ? " GET /v1/sources (`npx edgehook sources list`) lists the sources and which are enabled."
    : " A source id is 1 to 64 of a-z, 0-9 and -, with nothing after it (no trailing slash).";
  return new AppError("unknown_source", `No enabled source is called "${sourceId.slice(0, 64)}".${hint}`);
}

async function accept(request: Request, sourceId: string, env: Env, judged: Judged): Promise<Response> {
  const now = Date.now();
  const source = await findSource(env, sourceId, now).catch((err) => {
    if (!(err instanceof SourceUnavailable)) throw err;
    console.error("ingress source lookup failed", { sourceId, error: err.message });
    throw new AppError("queue_unavailable", "The source could not be read just now, so the event was not queued; retry later.", undefined, QUEUE_RETRY_AFTER_S);
  });
  judged.source = source;
  if (!source || source.disabled) throw unknownSource(sourceId);
  const signed = source.verification === "signature";
  const encoded = encodedBody(request.headers.get("content-encoding"));
  if (encoded) throw encoded;

  // (An error is built only when thrown: the ack path allocates no stack traces for nothing.)
  const tooLarge = () => new AppError("payload_too_large", `The body is over the ${MAX_BODY_BYTES}-byte limit.`);
  if (Number(request.headers.get("content-length") ?? 0) > MAX_BODY_BYTES) throw tooLarge();
  let raw: Uint8Array | null;
  try {
    raw = await readLimited(request.body, MAX_BODY_BYTES);
  } catch (err) {
    throw err instanceof BodyBrokeOff ? malformed(`${err.message} Nothing was queued.`) : err;
  }
  if (!raw) throw tooLarge();

  const provider = providers[source.provider];
  const req = { headers: request.headers, raw, now };
  if (signed) {
    const verifying = atHost(source, request.url);
    try {
      await verifyRequest(provider, req, verifying);
    } catch (caught) {
      const err = verifying === source ? caught : await exampleSecretRefusal(caught, provider, req, source, request.url);
      // Providers send everyone's webhooks from a few shared addresses, so a block never
      // refuses a correct signature (someone else's bad ones would lose this source's
      // events): it only turns the answer to a rejected one into a 429. Every rejection
      // counts, blocked or not.
      if (err instanceof AppError && STATUS_OF[err.code] === 401) {
        const client = clientOf(request);
        const wait = await rejections.countFailure(env.SIGNATURE_FAILURES, `${source.id}\n${failureKey(client)}`, now);
        if (wait > 0) throw rateLimited(err, wait);
      }
      throw err;
    }
  }

  let body: string;
  try {
    body = utf8Decoder.decode(raw);
  } catch {
    throw malformed("The body is not valid UTF-8.");
  }
  const handshake = provider.handshake?.(req, body);
  if (handshake) return handshake;
  // Bounded, so the message fits in the queue whatever the body says.
  const facts = await boundFacts(await provider.facts(req, body, source));
  const msg: IngestMessage = {
    v: 1,
    eventId: await eventIdFor(source, facts.dedupeKey),
    sourceId: source.id,
    receivedAt: now,
    headers: storableHeaders(request.headers, source),
    ...facts,
    dedupeKey: dedupeKeyText(facts.dedupeKey),
    body,
  };
  // A tenant's source sends only its own organization's events, whatever the body says
  // (the ingest consumer then keeps the location only if it is known to be the owner's).
  if (source.organizationUid !== null) {
    msg.organizationUid = msg.sourceOwner = source.organizationUid;
  }
  if (!teaches(source)) msg.teaches = false;

  try {
    await enqueue(env, msg);
  } catch (err) {
    // enqueue's own refusal (an event too large even without its body) is the request's, not the queue's.
    if (err instanceof AppError) throw err;
    console.error("ingest enqueue failed", { eventId: msg.eventId, error: String(err) });
    throw new AppError("queue_unavailable", "The event could not be queued durably; retry later.", undefined, QUEUE_RETRY_AFTER_S);
  }
  return Response.json({ eventId: msg.eventId }, { status: 202 });
}
