import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, generateCookie, getCookie } from "hono/cookie";
import { loopbackHost } from "../domain/destination";
import { authAttempt, sessionPrincipal, sessionPrincipalKey } from "../api/auth";
import type { AppError } from "../domain/errors";
import { sha256Hex } from "../domain/crypto";
import type { Principal } from "../domain/scopes";
import { isRandomSecret, randomSecret } from "../domain/tokens";
import type { Env } from "../env";
import type { Banners } from "./banners";
import { homeOf } from "./navigation";
import { refusalPage } from "./refusal";
import { deleteSession, insertSession, liveSession } from "../store/sessions";
import { touchToken } from "../store/tokens";

/**
 * A `__Host-` cookie is set only by this exact host over a secure origin, with Path=/ and no
 * Domain: a sibling subdomain cannot plant one (browsers refuse it), so the session read here
 * is one this host set. (Path=/ sends it to /v1 too, which never takes it as a credential.)
 */
export const COOKIE = "__Host-edgehook_session";
/**
 * Over plain http at a loopback host (`npm run dev`) the session is this cookie, not Secure: Safari
 * keeps no Secure cookie over http://localhost, so its sign-in looped. Read only there, as the
 * `__Host-` one only over https (docs/security.md).
 */
export const LOCAL_COOKIE = "edgehook_local_session";
/** Sessions end on the server this long after sign-in; the cookie's own lifetime only mirrors it. */
const SESSION_TTL_MS = 8 * 3600_000;

/**
 * The session cookie's name and attributes for a request to `url`; `kept`: false over plain http at
 * any other host (a LAN address, a hosts alias), where browsers drop the Secure cookie and a sign-in would loop.
 */
export function sessionCookie(url: string) {
  const { protocol, hostname } = new URL(url);
  const local = protocol === "http:" && loopbackHost(hostname);
  return { name: local ? LOCAL_COOKIE : COOKIE, options: { httpOnly: true, secure: !local, sameSite: "Strict", path: "/" } as const, kept: local || protocol === "https:" };
}

/** What the sign-in page says where no session would be kept (sessionCookie's `kept`). */
export const NO_SESSION_KEPT = "Over plain http at this address your browser keeps no session: open the dashboard over https, or at localhost or 127.0.0.1.";

export type DashEnv = {
  Bindings: Env;
  /** `session` is the cookie's secret, which keys the banners (banners.ts); `banners` what this request's query carries of them. */
  Variables: { principal: Principal; session: string; banners: Banners };
};

/**
 * Signs the principal in: a random secret goes into the cookie, and only its
 * SHA-256 and the principal it stands for into the sessions table.
 */
export async function startSession(c: Context<DashEnv>, principal: Principal): Promise<void> {
  const key = await sessionPrincipalKey(c.env, principal);
  if (key === null) throw new Error("no session can stand for this principal");
  const secret = randomSecret();
  const now = Date.now();
  await insertSession(c.env.DB, { id: await sha256Hex(secret), principal: key, createdAt: now, expiresAt: now + SESSION_TTL_MS });
  // Set, not appended: it takes the place of the dropped cookie of the session the sign-in ended (index.tsx).
  const cookie = sessionCookie(c.req.url);
  c.header("set-cookie", generateCookie(cookie.name, secret, { ...cookie.options, maxAge: SESSION_TTL_MS / 1000 }));
}

/** Signs out: the session is deleted on the server, and the cookie dropped. */
export async function endSession(c: Context<DashEnv>): Promise<void> {
  const cookie = sessionCookie(c.req.url);
  const secret = getCookie(c, cookie.name);
  if (secret && isRandomSecret(secret)) await deleteSession(c.env.DB, await sha256Hex(secret));
  deleteCookie(c, cookie.name, cookie.options);
}

/**
 * The principal of a live session, or null (unknown, expired, its token revoked, ADMIN_TOKEN changed,
 * or a token that may read no page: one signed in before the sign-in refused such tokens, whose
 * pages were 403s leading back to themselves; signed out, the sign-in says why).
 */
async function principalOfSession(c: Context<DashEnv>, secret: string): Promise<Principal | null> {
  if (!isRandomSecret(secret)) return null;
  const session = await liveSession(c.env.DB, await sha256Hex(secret), Date.now());
  if (!session) return null;
  const principal = await sessionPrincipal(c.env, session.principal, session.token);
  if (principal && homeOf(principal) === null) return null;
  const touched = principal?.tokenId && session.token ? touchToken(c.env.DB, session.token) : null;
  if (touched) c.executionCtx.waitUntil(touched.catch(() => {}));
  return principal;
}

/** A 429 page for an address over the failed-authentication limit: answered before its session is looked up. */
export function tooManyFailures(c: Context<DashEnv>, refusal: AppError): Response | Promise<Response> {
  return refusalPage(c, {
    status: 429,
    title: "Too many attempts",
    message: refusal.message,
    headers: refusal.retryAfterSeconds === undefined ? {} : { "retry-after": String(refusal.retryAfterSeconds) },
  });
}

/**
 * Every dashboard page but the sign-in needs a live session. An address over
 * the failed-authentication limit is refused before its cookie is looked up,
 * and a cookie that names no live session counts as a failure.
 */
export const requireSession: MiddlewareHandler<DashEnv> = async (c, next) => {
  const cookie = sessionCookie(c.req.url);
  const secret = getCookie(c, cookie.name);
  if (!secret) return c.redirect(signInFirst(c), 303);
  const attempt = authAttempt(c.env, (name) => c.req.header(name));
  if (attempt.blocked) return tooManyFailures(c, attempt.blocked);
  const principal = await principalOfSession(c, secret);
  if (!principal) {
    const refusal = await attempt.failed();
    deleteCookie(c, cookie.name, cookie.options);
    if (refusal.code === "rate_limited") return tooManyFailures(c, refusal);
    return c.redirect(signInFirst(c), 303);
  }
  c.set("principal", principal);
  c.set("session", secret);
  await next();
};

/**
 * The sign-in page, to come back after it: to the page asked for, or for a form posted without a
 * live session (it ended while the form was open) to the form's page (its Referer, sent within
 * this origin), saying that nothing was saved.
 */
function signInFirst(c: Context<DashEnv>): string {
  const posted = c.req.method === "POST" && new URL(c.req.url).pathname !== "/dashboard/logout";
  const referer = c.req.header("referer");
  const from = posted ? (referer === undefined ? null : dashboardPath(referer, c.req.url)) : dashboardPath(c.req.url, c.req.url);
  const query = new URLSearchParams([...(posted ? [["notice", "unsaved"]] : []), ...(from ? [["next", from]] : [])]);
  return `/dashboard/login${query.size > 0 ? `?${query}` : ""}`;
}

/** `target`'s path and query when it is a dashboard page of this origin (`here`'s), else null: where a sign-in may send one back. */
export function dashboardPath(target: string, here: string): string | null {
  if (!URL.canParse(target, here)) return null;
  const url = new URL(target, here);
  if (url.origin !== new URL(here).origin || !url.pathname.startsWith("/dashboard/") || url.pathname.startsWith("/dashboard/login")) return null;
  return `${url.pathname}${url.search}`;
}
