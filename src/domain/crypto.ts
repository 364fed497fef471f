/**
 * WebCrypto helpers for signature checks. Each secret's MAC is computed once per
 * request and compared with crypto.subtle.timingSafeEqual, so no secret-dependent
 * early exit exists anywhere in the verify path, and extra candidate signatures
 * cost a comparison, not an HMAC.
 */
const encoder = new TextEncoder();

export const utf8 = (s: string): Uint8Array => encoder.encode(s);

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.byteLength;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Hex (either case) to bytes; null when it is not hex of the given length. */
export function hexToBytes(hex: string, byteLength: number): Uint8Array | null {
  if (hex.length !== byteLength * 2 || !/^[0-9a-fA-F]+$/.test(hex)) return null;
  const out = new Uint8Array(byteLength);
  for (let i = 0; i < byteLength; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Standard or URL-safe base64 to bytes; null when it is not base64. */
export function base64ToBytes(b64: string): Uint8Array | null {
  const normal = b64.replace(/-/g, "+").replace(/_/g, "/");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(normal)) return null;
  try {
    const bin = atob(normal);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

export function bytesToBase64(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let bin = "";
  for (let i = 0; i < view.length; i += 0x8000) {
    bin += String.fromCharCode(...view.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

export type HmacHash = "SHA-256" | "SHA-1" | "SHA-512";

/** A key: a string stands for its UTF-8 bytes. */
export type Secret = string | Uint8Array;

// Importing a key costs more than the HMAC of a small body: keep them per isolate,
// found by the secret as given, so a hit encodes nothing.
const keys = new Map<string, Promise<CryptoKey>>();
const MAX_CACHED_KEYS = 1000;

export function hmacKey(secret: Secret, hash: HmacHash = "SHA-256"): Promise<CryptoKey> {
  const id = typeof secret === "string" ? `${hash}:s:${secret}` : `${hash}:b:${bytesToBase64(secret)}`;
  let key = keys.get(id);
  if (!key) {
    if (keys.size >= MAX_CACHED_KEYS) keys.clear();
    const raw = typeof secret === "string" ? utf8(secret) : secret;
    key = crypto.subtle.importKey("raw", raw, { name: "HMAC", hash }, false, ["sign", "verify"]);
    keys.set(id, key);
  }
  return key;
}

export async function hmac(secret: Secret, data: Uint8Array, hash: HmacHash = "SHA-256"): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(secret, hash), data));
}

/**
 * True when one of `candidates` is the HMAC of `data` under one of `secrets`.
 * One HMAC per secret, however many candidates; each comparison is constant-time.
 */
export async function macMatchesAny(
  secrets: readonly Secret[],
  candidates: readonly Uint8Array[],
  data: Uint8Array,
  hash: HmacHash = "SHA-256",
): Promise<boolean> {
  if (candidates.length === 0) return false;
  let match = false;
  for (const secret of secrets) {
    const mac = await hmac(secret, data, hash);
    for (const c of candidates) {
      if (c.byteLength === mac.byteLength && crypto.subtle.timingSafeEqual(c, mac)) match = true;
    }
    if (match) return true;
  }
  return false;
}

/** True when `signature` is the HMAC of `data` under any of `secrets`. */
export function verifyHmacAny(
  secrets: readonly Secret[],
  signature: Uint8Array,
  data: Uint8Array,
  hash: HmacHash = "SHA-256",
): Promise<boolean> {
  return macMatchesAny(secrets, [signature], data, hash);
}

/** A timestamp check shared by providers; tolerance 0 turns it off. */
export function withinTolerance(timestampSeconds: number, nowMs: number, toleranceSeconds: number): boolean {
  if (toleranceSeconds === 0) return true;
  return Math.abs(nowMs / 1000 - timestampSeconds) <= toleranceSeconds;
}

/** A `whsec_` key shorter than this is refused: a short key can be guessed. */
export const MIN_WHSEC_KEY_BYTES = 24;
export const WHSEC_RULE = `a whsec_ secret must be base64 of at least ${MIN_WHSEC_KEY_BYTES} bytes`;

/** The key bytes of a `whsec_` secret, or null when it is not base64 of at least 24 bytes. */
export function whsecKey(secret: string): Uint8Array | null {
  const bytes = base64ToBytes(secret.slice("whsec_".length));
  return bytes && bytes.byteLength >= MIN_WHSEC_KEY_BYTES ? bytes : null;
}

/** A `whsec_` secret that must not be used: not base64, or too short. */
export function isWeakWhsec(secret: string): boolean {
  return secret.startsWith("whsec_") && whsecKey(secret) === null;
}

/**
 * The key a Standard Webhooks signature is verified with: the base64 after `whsec_`,
 * or the UTF-8 bytes of any other secret. A weak `whsec_` secret gives no key at all,
 * never its UTF-8 bytes.
 */
export function verificationKey(secret: string): Uint8Array | null {
  return secret.startsWith("whsec_") ? whsecKey(secret) : utf8(secret);
}

/** `whsec_` secrets are base64 after the prefix; any other secret is its UTF-8 bytes. */
export function standardWebhooksKey(secret: string): Uint8Array {
  if (secret.startsWith("whsec_")) {
    const bytes = base64ToBytes(secret.slice("whsec_".length));
    if (bytes) return bytes;
  }
  return utf8(secret);
}
