import { bytesToBase64url, hmac, toHex, utf8 } from "./crypto";

/** 32 random bytes, base64url without padding (43 characters). */
export function randomSecret(): string {
  return bytesToBase64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** Whether `s` has randomSecret's shape: anything else is refused without a lookup. */
export const isRandomSecret = (s: string): boolean => /^[A-Za-z0-9_-]{43}$/.test(s);

/** A new API token: `ehk_` + a random secret. Shown once, never stored. */
export function newApiToken(): string {
  return `ehk_${randomSecret()}`;
}

/**
 * What the database keeps of a token: an HMAC keyed by a server-side pepper
 * (TOKEN_PEPPER), so a leaked table neither reveals nor verifies tokens offline.
 */
export async function hashApiToken(token: string, pepper: string | undefined): Promise<string> {
  return toHex(await hmac(pepper || "edgehook-token-hash", utf8(token)));
}

/** An ADMIN_TOKEN shorter than this authenticates nothing. */
export const MIN_ADMIN_TOKEN_LENGTH = 32;

/**
 * The ADMIN_TOKEN `.dev.vars.example` gives every local setup: published, so it stands for the admin
 * only in a request to a loopback host (`loopbackHost`). A web page that rebinds its own DNS name to
 * 127.0.0.1 reaches a local `npm run dev` under that name, and would otherwise drive its API with it.
 */
export const EXAMPLE_ADMIN_TOKEN = "dev-admin-token-for-local-use-only";

/** The ADMIN_TOKEN when it is long enough to stand for every scope. */
export const usableAdminToken = (token: string | undefined): string | null =>
  token !== undefined && token.length >= MIN_ADMIN_TOKEN_LENGTH ? token : null;

const ADMIN_KEY_MARKER = "admin:";

/**
 * The fingerprint of the current ADMIN_TOKEN (null: none usable), keyed like scoped
 * tokens' hashes: what sessions and listeners of the admin record, so that changing
 * ADMIN_TOKEN ends them.
 */
export async function adminKey(secrets: { ADMIN_TOKEN?: string; TOKEN_PEPPER?: string }): Promise<string | null> {
  const admin = usableAdminToken(secrets.ADMIN_TOKEN);
  return admin ? `${ADMIN_KEY_MARKER}${(await hashApiToken(admin, secrets.TOKEN_PEPPER)).slice(0, 32)}` : null;
}

/** Whether a recorded principal key is an admin fingerprint (else a scoped token's id). */
export const isAdminKey = (key: string): boolean => key.startsWith(ADMIN_KEY_MARKER);
