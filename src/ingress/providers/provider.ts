import { AppError } from "../../domain/errors";
import { jsonText, valueAt } from "../../domain/documents";
import { isRecord } from "../../domain/guards";
import { sha256Hex } from "../../domain/crypto";
import type { DedupeKey, ProviderFacts, ProviderName, Source } from "../../domain/types";
import type { Scheme, SignedRequest as InboundRequest } from "../../schemes/scheme";

// A provider reads a header for one value (a type, an id, a shop): sent twice, it is refused
// (400 malformed_payload), never read as the copies joined ("ping, push").
export { singleHeader as header, invalidSignature } from "../../schemes/scheme";

/** What a provider module knows: its signature scheme, and how to read its events. */
export interface Provider {
  readonly name: ProviderName;
  /** The scheme its requests are signed with (for `hmac`, the source's own configuration). */
  scheme(source: Source): Scheme;
  /** What a signed request must also satisfy (Shopify's shop pin); throws AppError 401. */
  pin?(req: InboundRequest, source: Source): void;
  /** Reads the event's facts from the decoded body; throws AppError 400 when it is not this provider's shape. */
  facts(req: InboundRequest, body: string, source: Source): Promise<ProviderFacts>;
  /** A verified request the provider expects answered directly, not queued (e.g. Slack's url_verification). */
  handshake?(req: InboundRequest, body: string): Response | null;
  /** The provider's non-secret headers worth keeping with the event (lower case). */
  storedHeaders(source: Pick<Source, "hmac">): readonly string[];
  /**
   * Why its sources may not be given `secret` through the API, or null when they may. Only a
   * scheme that reads a key out of the secret (Standard Webhooks' base64 after `whsec_`) has a rule;
   * the others key by the secret's UTF-8 bytes, so any secret the API takes (8 to 256 characters) is
   * one. A secret below it, stored before the rule or configured, still verifies unless
   * heldSecretProblem says otherwise; the source's view says so (secretBelowRule).
   */
  secretProblem?(secret: string): string | null;
  /**
   * Why a secret may not be given to its sources through the API, when that is more than
   * secretProblem: Standard Webhooks' senders decode a `whsec_` key as standard base64 only, as a
   * webhook's receivers do. Configuration's need only heldSecretProblem's; one already held, kept behind a new first one, none.
   */
  givenSecretProblem?(secret: string): string | null;
  /**
   * Why a secret that breaks secretProblem's rule verifies nothing, or null when it still verifies
   * as it did (one stored before the rule, or configured): Standard Webhooks' shorter than 16 bytes.
   */
  heldSecretProblem?(secret: string): string | null;
}

/** Throws an AppError (401) unless the request is signed by one of the source's secrets (and passes the provider's pin). */
export async function verifyRequest(provider: Provider, req: InboundRequest, source: Source): Promise<void> {
  await provider.scheme(source).verify(req, source.secrets, source.toleranceSeconds);
  provider.pin?.(req, source);
}

/** The dedupe key a provider gives, or else the SHA-256 of the raw body. */
export async function dedupeKeyOr(key: string | null | undefined, raw: Uint8Array): Promise<DedupeKey> {
  // White space alone names nothing: taken as an id, it made every such event one (the first body kept).
  return key && /\S/.test(key) ? { given: key } : { digest: await sha256Hex(raw) };
}

export const malformed = (why: string) => new AppError("malformed_payload", why);

// `name=value…`: no JSON text starts so. Only the start is read, so the check costs nothing on a big body.
const FORM_ENCODED = /^[\w.~%+-]+=/;

/**
 * Parses a body that must be a JSON object. A form-encoded one is named as such, with `formHint`
 * (what the provider's user should change), as it is a sender's setting, not a broken body.
 */
export function jsonObject(body: string, provider: string, formHint?: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(jsonText(body));
  } catch {
    if (FORM_ENCODED.test(body)) {
      throw malformed(`A ${provider} webhook body is JSON; this one is form-encoded (name=value&…)${formHint ? `: ${formHint}` : ""}.`);
    }
    throw malformed(`A ${provider} webhook body is JSON; this one does not parse.`);
  }
  if (!isRecord(value)) {
    throw malformed(`A ${provider} webhook body is a JSON object; this one is not.`);
  }
  return value;
}

/** Reads a nested string field (valueAt: a digit key indexes an array), or null; an empty string is none. */
export function stringAt(obj: unknown, ...path: string[]): string | null {
  const cur = valueAt(obj, path);
  return typeof cur === "string" && cur !== "" ? cur : null;
}
