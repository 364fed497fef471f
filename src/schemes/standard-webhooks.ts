import { base64ToBytes, utf8, type KeyDerivation } from "../domain/crypto";
import { defineScheme } from "./scheme";

const WHSEC = "whsec_";
/** A `whsec_` key shorter than this is refused: a short key can be guessed. */
const MIN_WHSEC_KEY_BYTES = 24;

/**
 * Why `secret` cannot be a signing secret, or null when it can. A `whsec_` secret is
 * the base64 of its key after the prefix, at least 24 bytes; any other secret is its
 * UTF-8 bytes. Every standard-webhooks source's secret the API or the configuration sets goes
 * through this (its provider's `secretProblem`), and every webhook's (`signingSecretProblem`).
 */
export function secretProblem(secret: string): string | null {
  if (!secret.startsWith(WHSEC)) return null;
  const key = base64ToBytes(secret.slice(WHSEC.length));
  const rule = `a whsec_ secret must be base64 of at least ${MIN_WHSEC_KEY_BYTES} bytes after the prefix`;
  if (!key) return `${rule}; this one is not base64`;
  return key.byteLength < MIN_WHSEC_KEY_BYTES ? `${rule}; this one has ${key.byteLength}` : null;
}

/**
 * Why `secret` cannot sign what Edgehook sends, or null when it can: `secretProblem`'s rule,
 * and a `whsec_` key in standard base64 only. The Standard Webhooks libraries receivers verify
 * with decode standard base64 and refuse a key with `-` or `_` (URL-safe); the senders' libraries
 * sign with it so too, so a standard-webhooks source given a secret through the API is held to it
 * as well (its provider's `givenSecretProblem`). Verifying incoming requests still accepts one
 * (a source's stored before, or configuration's).
 */
export function signingSecretProblem(secret: string): string | null {
  const problem = secretProblem(secret);
  if (problem || !secret.startsWith(WHSEC) || !/[-_]/.test(secret.slice(WHSEC.length))) return problem;
  return "a whsec_ secret must be standard base64 after the prefix (+ and /, not the URL-safe - and _), which Standard Webhooks libraries decode";
}

// A stored secret is keyed as it was when stored: a whsec_ secret by the base64 after the prefix at
// any length, one that is not base64 (or any other) by its UTF-8 bytes. Only secrets stored before
// `secretProblem`'s rule, or configured, break it (the API refuses new ones): a webhook's
// receivers, and a source's sender, keep seeing what they always did.
const signingKey: KeyDerivation = {
  name: "whsec-signing",
  bytes: (secret) => (secret.startsWith(WHSEC) && base64ToBytes(secret.slice(WHSEC.length))) || utf8(secret),
};

/**
 * A source's secret below the rule (stored before it, or configured) with fewer unknown bytes than this verifies nothing:
 * the first release took `whsec_AA` (one byte), which a few dozen requests of 10 signatures each
 * would guess, letting anyone post as its sender. 16 bytes cannot be guessed.
 */
const MIN_HELD_KEY_BYTES = 16;

/** The bytes of a secret's key that are not known to all: a whsec_ secret read as UTF-8 begins with its prefix. */
function unknownKeyBytes(secret: string): number {
  if (!secret.startsWith(WHSEC)) return utf8(secret).byteLength;
  return base64ToBytes(secret.slice(WHSEC.length))?.byteLength ?? utf8(secret.slice(WHSEC.length)).byteLength;
}

/**
 * Why a secret that breaks `secretProblem`'s rule (stored before it, or configured) verifies
 * nothing, or null when it verifies as it did: its key is too short to hold.
 */
export function heldSecretProblem(secret: string): string | null {
  const problem = secretProblem(secret);
  if (problem === null || unknownKeyBytes(secret) >= MIN_HELD_KEY_BYTES) return null;
  return `${problem}, and one under ${MIN_HELD_KEY_BYTES} bytes verifies nothing`;
}

// Verifying: as signing, but a secret too short to hold gives no key.
const verificationKey: KeyDerivation = {
  name: "whsec",
  bytes: (secret) => (heldSecretProblem(secret) ? null : signingKey.bytes(secret)),
};

/**
 * Standard Webhooks: `webhook-signature` holds space-separated `v1,<base64>` entries,
 * each an HMAC-SHA256 of `${webhook-id}.${webhook-timestamp}.${rawBody}` (seconds),
 * keyed by the base64 after `whsec_` (or the UTF-8 bytes of any other secret).
 */
export const standardWebhooks = defineScheme({
  header: "webhook-signature",
  prefix: "v1,",
  encoding: "base64",
  separator: " ",
  idHeader: "webhook-id",
  timestamp: { header: "webhook-timestamp", unit: "s" },
  content: "{id}.{timestamp}.",
  key: verificationKey,
  signingKey,
});
