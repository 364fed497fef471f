import { base64ToBytes, bytesToBase64, utf8 } from "./crypto";
import { loopbackHost } from "./destination";
import { hiddenCharacterProblem, invisibleProblem, paddedProblem } from "./legible";

/** A new signing secret in the Standard Webhooks form: `whsec_` + base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  return `whsec_${bytesToBase64(crypto.getRandomValues(new Uint8Array(32)))}`;
}

/** The API reference's example of a new source gives this one (api/schemas/sources.ts): published on every deployment's /docs, whose "Test Request" sends it. */
export const REFERENCE_EXAMPLE_SECRET = "whsec_replace-with-your-endpoint-signing-secret";

/**
 * The source secrets `.dev.vars.example` gives every local setup (PODIUM_WEBHOOK_SECRET,
 * STANDARD_WEBHOOKS_SECRET), and the API reference's: published, so they verify only requests to
 * a loopback host (`secretsAtHost`), as the example's ADMIN_TOKEN authenticates only there. A web page that
 * rebinds its own DNS name to 127.0.0.1 reaches a local `npm run dev` under that name, and could
 * otherwise sign events with them, which Edgehook would forward signed with each webhook's secret.
 */
export const EXAMPLE_SOURCE_SECRETS: readonly string[] = ["dev-podium-secret", "whsec_ZGV2LXN0YW5kYXJkLXdlYmhvb2tzLXNlY3JldA==", REFERENCE_EXAMPLE_SECRET];

/**
 * Of a source's secrets, those that may verify a request to the host `hostname` names: all of them
 * at a loopback host, else all but the published examples. The same array when it holds none of
 * them (the usual source).
 */
export function secretsAtHost(secrets: string[], hostname: () => string): string[] {
  if (!secrets.some(isExampleSecret) || loopbackHost(hostname())) return secrets;
  return secrets.filter((s) => !isExampleSecret(s));
}

/**
 * Why a secret given anew is not what was meant, or null (never its value): white space at either
 * end (pasted with a trailing space or newline, a source's never verified a request), or a control,
 * bidirectional formatting or invisible character anywhere (a zero-width space a page's copy brought
 * along: the sender's copy lacks it; printed once when made, it would not copy as stored). Secrets
 * held from before are not given anew.
 */
export function pastedSecretProblem(secret: string): string | null {
  return hiddenCharacterProblem(secret) ?? paddedProblem(secret) ?? invisibleProblem(secret);
}

/**
 * The HMAC keys a secret may give, as binary strings: its UTF-8 bytes (what every scheme keys by,
 * Standard Webhooks' aside for a `whsec_` secret), and a `whsec_` one's base64 after the prefix.
 * Without trailing zero bytes: HMAC pads a key shorter than its block with them, so `k` and `k\0`
 * sign alike (a longer key is hashed first: a false match there only keeps a secret to loopback).
 */
function keysOf(secret: string): string[] {
  const whsec = secret.startsWith("whsec_") ? base64ToBytes(secret.slice(6)) : null;
  return [utf8(secret), ...(whsec ? [whsec] : [])].map((bytes) => String.fromCharCode(...bytes).replace(/\0+$/, ""));
}

const EXAMPLE_KEYS = new Set(EXAMPLE_SOURCE_SECRETS.flatMap(keysOf));

// The ack path asks it of every request's secrets: kept per isolate by the secret as given, so a
// hit decodes nothing (as crypto.ts keeps HMAC keys).
const examples = new Map<string, boolean>();
const MAX_CACHED = 1000;

/** Whether `secret` gives a published example's key (EXAMPLE_SOURCE_SECRETS), however spelt: `whsec_` base64 unpadded or URL-safe, the key's own text. */
export function isExampleSecret(secret: string): boolean {
  let is = examples.get(secret);
  if (is === undefined) {
    if (examples.size >= MAX_CACHED) examples.clear();
    is = keysOf(secret).some((key) => EXAMPLE_KEYS.has(key));
    examples.set(secret, is);
  }
  return is;
}
