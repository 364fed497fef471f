// A secret made through a form, shown once: kept sealed with the session for the page right after.
import { sha256Hex } from "../domain/crypto";
import { isRandomSecret, randomSecret } from "../domain/tokens";
import { keepReveal, takeReveal, type Reveal } from "../store/sessions";
import type { Banners } from "./banners";
import { redirectWith, type C } from "./respond";
import { sealForSession, unsealForSession } from "./session-signature";

/** How long a secret made through a form waits for its page (the redirect right after). */
const REVEAL_MS = 10 * 60_000;
/** Sealed under a label naming its page's key: a secret kept for one page never opens on another's. */
const revealLabel = (key: string) => `secret shown once\n${key}`;

/**
 * After a form that made a secret: the secret waits with the session and the answer is a redirect
 * to the page that shows it once, so that reloading that page shows nothing again and makes
 * nothing again (a reloaded POST made a second webhook). Each creation waits under a key of its
 * own, carried in that redirect: two made at once (two tabs) each show their own secret on their
 * own page. The redirect carries the API's warnings about what it made, as banners.
 */
export async function showOnce(c: C, reveal: Omit<Reveal, "until">, banners: Pick<Banners, "warnings"> = {}): Promise<Response> {
  const key = randomSecret();
  // Sealed under the cookie's secret, which D1 holds only as a hash: an API token is otherwise kept
  // only as a hash too, and a redirect not followed would leave it in the clear until it expires.
  const secret = await sealForSession(c.get("session"), revealLabel(key), reveal.secret);
  await keepReveal(c.env.DB, await sha256Hex(c.get("session")), key, { ...reveal, secret, until: Date.now() + REVEAL_MS });
  const to = `/dashboard/created/${key}`;
  return banners.warnings ? redirectWith(c, to, banners) : c.redirect(to, 303);
}

/** The secret kept for this session's page `key`, taken (so shown this once), or null. */
export async function takenReveal(c: C, key: string): Promise<{ reveal: Reveal; secret: string } | null> {
  // A page key as showOnce makes them: anything else is not looked up.
  if (!isRandomSecret(key)) return null;
  const reveal = await takeReveal(c.env.DB, await sha256Hex(c.get("session")), key, Date.now());
  const secret = reveal && (await unsealForSession(c.get("session"), revealLabel(key), reveal.secret));
  return reveal && secret !== null ? { reveal, secret } : null;
}
