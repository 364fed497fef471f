import { AppError } from "../../domain/errors";
import { sha256Hex } from "../../domain/ids";
import type { EventFacts, ProviderName, Source } from "../../domain/types";

/** One inbound request, as a provider sees it. */
export interface InboundRequest {
  headers: Headers;
  /** The raw body bytes, exactly as received: what signatures cover. */
  raw: Uint8Array;
  /** Epoch milliseconds at the edge. */
  now: number;
}

/** What a provider module knows: how to verify its requests and read its events. */
export interface Provider {
  readonly name: ProviderName;
  /** Throws an AppError (401) unless the request is signed by one of the source's secrets. */
  verify(req: InboundRequest, source: Source): Promise<void>;
  /** Reads the event's facts from the decoded body; throws AppError 400 when it is not this provider's shape. */
  facts(req: InboundRequest, body: string, source: Source): Promise<EventFacts>;
  /** A verified request the provider expects answered directly, not queued (e.g. Slack's url_verification). */
  handshake?(req: InboundRequest, body: string): Response | null;
  /** The provider's non-secret headers worth keeping with the event (lower case). */
  storedHeaders(source: Source): readonly string[];
}

/** A signature header may carry this many candidate signatures, in this many characters. */
export const MAX_SIGNATURE_CANDIDATES = 10;
export const MAX_SIGNATURE_HEADER_CHARS = 4096;

/**
 * Refuses a signature header too long or with too many candidates before any
 * HMAC is computed, so an unauthenticated request cannot buy CPU time.
 */
export function capSignatureHeader(name: string, value: string): void {
  if (value.length > MAX_SIGNATURE_HEADER_CHARS) {
    throw invalidSignature(`${name} is too long (over ${MAX_SIGNATURE_HEADER_CHARS} characters).`);
  }
}

export function capCandidates(name: string, count: number): void {
  if (count > MAX_SIGNATURE_CANDIDATES) {
    throw invalidSignature(`${name} carries ${count} signatures; at most ${MAX_SIGNATURE_CANDIDATES} are accepted.`);
  }
}

/** The dedupe key a provider gives, or else the SHA-256 of the raw body. */
export async function dedupeKeyOr(key: string | null | undefined, raw: Uint8Array): Promise<string> {
  return key || (await sha256Hex(raw));
}

/** A header's trimmed value, or null. */
export function header(req: InboundRequest, name: string): string | null {
  return req.headers.get(name)?.trim() || null;
}

export const missingSignature = (headers: string) =>
  new AppError(401, "missing_signature", `The request has no ${headers} header(s); it must be signed.`);
export const invalidSignature = (why: string) => new AppError(401, "invalid_signature", why);
export const staleTimestamp = (toleranceSeconds: number) =>
  new AppError(
    401,
    "timestamp_out_of_tolerance",
    `The signature timestamp is more than ${toleranceSeconds} s away from the current time.`,
  );
export const malformed = (why: string) => new AppError(400, "malformed_payload", why);

/** Parses a body that must be a JSON object. */
export function jsonObject(body: string, provider: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw malformed(`A ${provider} webhook body is JSON; this one does not parse.`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw malformed(`A ${provider} webhook body is a JSON object; this one is not.`);
  }
  return value as Record<string, unknown>;
}

/** Reads a nested string field, or null. A digit key indexes an array. */
export function stringAt(obj: unknown, ...path: string[]): string | null {
  let cur: unknown = obj;
  for (const key of path) {
    if (Array.isArray(cur)) cur = /^\d+$/.test(key) ? cur[Number(key)] : undefined;
    else if (cur !== null && typeof cur === "object") cur = (cur as Record<string, unknown>)[key];
    else return null;
  }
  return typeof cur === "string" && cur !== "" ? cur : null;
}
