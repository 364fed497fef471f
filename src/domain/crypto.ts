/** Byte encodings (UTF-8, hex, base64) and cached HMAC keys (WebCrypto), for signature schemes, ids and API tokens. */
const encoder = new TextEncoder();
const decoder = new TextDecoder();

// Typed as the platform types encode(), and BufferSource taken where WebCrypto reads bytes:
// Node's DOM typings (test/docs/ reaches this file through delivery.ts) take only views of an ArrayBuffer.
export const utf8 = (s: string) => encoder.encode(s);

/** The UTF-8 size of a string, in bytes. */
export const utf8Length = (s: string): number => encoder.encode(s).byteLength;

/** UTF-8 bytes as text, an ill-formed sequence as U+FFFD. */
export const fromUtf8 = (bytes: Uint8Array): string => decoder.decode(bytes);

/** The parts, one after another. (An array, not rest parameters: a body streamed in small chunks has more than a call takes.) */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
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

export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let out = "";
  for (const b of view) out += b.toString(16).padStart(2, "0");
  return out;
}

export async function sha256Hex(data: string | BufferSource): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", typeof data === "string" ? utf8(data) : data));
}

/** Each hex digit's value, either case; 255 for any other code. */
const NIBBLES = new Uint8Array(256).fill(255);
for (const [i, c] of [..."0123456789abcdef"].entries()) NIBBLES[c.charCodeAt(0)] = NIBBLES[c.toUpperCase().charCodeAt(0)] = i;

/** Hex (either case) to bytes; null when it is not hex of the given length. */
export function hexToBytes(hex: string, byteLength = hex.length / 2): Uint8Array | null {
  if (!Number.isInteger(byteLength) || hex.length !== byteLength * 2) return null;
  const out = new Uint8Array(byteLength);
  // A table lookup a digit: stored event contents come back from D1 as hex, tens of KB a read.
  const digit = (at: number) => NIBBLES[hex.charCodeAt(at)] ?? 255; // (a code past 255: none)
  for (let i = 0; i < byteLength; i++) {
    const hi = digit(2 * i);
    const lo = digit(2 * i + 1);
    if ((hi | lo) > 15) return null;
    out[i] = (hi << 4) | lo;
  }
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

/** URL-safe base64 without padding (base64ToBytes reads it back). */
export function bytesToBase64url(bytes: ArrayBuffer | Uint8Array): string {
  return bytesToBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export type HmacHash = "SHA-256" | "SHA-1" | "SHA-512";

/** How a secret string becomes HMAC key bytes; null: this secret must not be used. */
export interface KeyDerivation {
  /** Keeps keys derived differently from one secret apart in the cache. */
  readonly name: string;
  bytes(secret: string): BufferSource | null;
}

export const UTF8_KEY: KeyDerivation = { name: "utf8", bytes: utf8 };

// Importing a key costs more than the HMAC of a small body: keep them per isolate,
// found by the secret as given, so a hit decodes nothing (a refused secret is kept as null).
const keys = new Map<string, Promise<CryptoKey> | null>();
const MAX_CACHED_KEYS = 1000;

export function hmacKey(secret: string, hash: HmacHash = "SHA-256", derive: KeyDerivation = UTF8_KEY): Promise<CryptoKey> | null {
  const id = `${hash}:${derive.name}:${secret}`;
  let key = keys.get(id);
  if (key === undefined) {
    if (keys.size >= MAX_CACHED_KEYS) keys.clear();
    const raw = derive.bytes(secret);
    key = raw && crypto.subtle.importKey("raw", raw, { name: "HMAC", hash }, false, ["sign"]);
    keys.set(id, key);
  }
  return key;
}

export async function hmac(secret: string, data: BufferSource, hash: HmacHash = "SHA-256", derive: KeyDerivation = UTF8_KEY): Promise<Uint8Array> {
  const key = hmacKey(secret, hash, derive);
  if (!key) throw new Error(`This secret gives no ${derive.name} key.`);
  return new Uint8Array(await crypto.subtle.sign("HMAC", await key, data));
}

// A sealing key costs an HMAC and an import: one per secret and purpose, per isolate.
const sealKeys = new Map<string, Promise<CryptoKey>>();

/** The AES-GCM key for `purpose`: the HMAC-SHA-256 of the purpose under `secret`. */
function sealKey(secret: string, purpose: string): Promise<CryptoKey> {
  const id = `${purpose}:${secret}`;
  let key = sealKeys.get(id);
  if (key === undefined) {
    if (sealKeys.size >= MAX_CACHED_KEYS) sealKeys.clear();
    key = hmac(secret, utf8(purpose)).then((raw) => crypto.subtle.importKey("raw", raw.slice(), "AES-GCM", false, ["encrypt", "decrypt"]));
    sealKeys.set(id, key);
  }
  return key;
}

export const SEAL_IV_BYTES = 12;

/**
 * `text` encrypted and authenticated (AES-GCM) under a key for `purpose` from `secret`: base64url of
 * IV and ciphertext. The IV is derived from the text (as in SIV), so the same text seals the same:
 * a client can tell a cursor that did not move; equal texts are all it learns.
 */
export async function seal(secret: string, purpose: string, text: string): Promise<string> {
  const iv = (await hmac(secret, utf8(`${purpose}\0iv\0${text}`))).slice(0, SEAL_IV_BYTES);
  return sealWith(await sealKey(secret, purpose), iv, text);
}

/** The text `seal` sealed with this secret and purpose; null for anything else. */
export async function unseal(secret: string, purpose: string, sealed: string): Promise<string | null> {
  return openWith(sealKey(secret, purpose), sealed);
}

/** `text` encrypted under an AES-GCM key with this 12-byte IV: base64url of IV and ciphertext (`seal`'s format). */
export async function sealWith(key: CryptoKey, iv: Uint8Array<ArrayBuffer>, text: string): Promise<string> {
  const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, utf8(text));
  return bytesToBase64url(concatBytes([iv, new Uint8Array(sealed)]));
}

/** The text `sealWith` sealed under this key; null for anything else (malformed, altered, another key). */
export async function openWith(key: Promise<CryptoKey>, sealed: string): Promise<string | null> {
  const bytes = base64ToBytes(sealed);
  if (!bytes || bytes.length <= SEAL_IV_BYTES) return null;
  try {
    return fromUtf8(new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: bytes.slice(0, SEAL_IV_BYTES) }, await key, bytes.slice(SEAL_IV_BYTES))));
  } catch {
    return null;
  }
}
