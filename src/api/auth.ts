import type { MiddlewareHandler } from "hono";
import { utf8 } from "../domain/crypto";
import { AppError } from "../domain/errors";
import { hasScope, lacksScope, SCOPES, type Principal, type Scope } from "../domain/scopes";
import { loopbackHost } from "../domain/destination";
import { adminKey, EXAMPLE_ADMIN_TOKEN, hashApiToken, isAdminKey, MIN_ADMIN_TOKEN_LENGTH, usableAdminToken } from "../domain/tokens";
import type { Env } from "../env";
import { tokenByHash, touchToken, type TokenRecord } from "../store/tokens";
import type { ApiEnv } from "./context";
import { clientAddress, failureKey } from "../http/client";
import { FailureBlock } from "../http/failure-block";

/** Compares two strings in time independent of where they differ. */
async function sameSecret(a: string, b: string): Promise<boolean> {
  const [da, db] = await Promise.all([
    crypto.subtle.digest("SHA-256", utf8(a)),
    crypto.subtle.digest("SHA-256", utf8(b)),
  ]);
  return crypto.subtle.timingSafeEqual(da, db);
}

const unauthorized = () =>
  new AppError("unauthorized", "Send a valid API token as `Authorization: Bearer <token>`.");

const logged = new Set<string>();
const logOnce = (message: string) => {
  if (logged.has(message)) return;
  logged.add(message);
  console.error(message);
};

/**
 * The ADMIN_TOKEN when it may stand for every scope in a request to `hostname`: long enough, and
 * not the example's published one unless the host is a loopback one. Either refusal is logged once.
 */
function adminToken(env: Env, hostname: string): string | null {
  const token = env.ADMIN_TOKEN;
  if (!token) return null;
  if (!usableAdminToken(token)) {
    logOnce(
      `ADMIN_TOKEN is shorter than ${MIN_ADMIN_TOKEN_LENGTH} characters, so it authenticates nothing: set a random one of at least ${MIN_ADMIN_TOKEN_LENGTH} (e.g. \`openssl rand -base64 32\`).`,
    );
    return null;
  }
  if (token === EXAMPLE_ADMIN_TOKEN && !loopbackHost(hostname)) {
    logOnce(
      "ADMIN_TOKEN is the published example's, so it authenticates only requests to localhost or 127.0.0.1: set a random one (e.g. `openssl rand -base64 32`) to reach this server under another name.",
    );
    return null;
  }
  return token;
}

const adminPrincipal = (): Principal => ({ tokenId: null, scopes: new Set(SCOPES), organizationUids: null, locationUids: null });

/** The principal a live scoped token stands for. */
function tokenPrincipal(record: TokenRecord): Principal {
  return {
    tokenId: record.id,
    scopes: new Set(record.scopes),
    organizationUids: record.organizationUids,
    locationUids: record.locationUids,
  };
}

/** The principal a bearer token stands for in a request to `url`: the ADMIN_TOKEN secret, or a live scoped token. */
export async function principalFor(env: Env, token: string, url: string, waitUntil: (p: Promise<unknown>) => void): Promise<Principal | null> {
  const admin = adminToken(env, new URL(url).hostname);
  if (admin && (await sameSecret(token, admin))) return adminPrincipal();
  if (!token.startsWith("ehk_")) return null;
  // The lookup is by hash: equality on a keyed hash leaks nothing useful about the token.
  const record = await tokenByHash(env.DB, await hashApiToken(token, env.TOKEN_PEPPER));
  if (!record) return null;
  const touched = touchToken(env.DB, record);
  if (touched) waitUntil(touched.catch(() => {}));
  return tokenPrincipal(record);
}

/**
 * What a dashboard session records of its principal: the scoped token's id,
 * or for the ADMIN_TOKEN a fingerprint of it (keyed like scoped tokens'
 * hashes), so that changing ADMIN_TOKEN ends its sessions.
 */
export async function sessionPrincipalKey(env: Env, principal: Principal): Promise<string | null> {
  return principal.tokenId ?? (await adminKey(env));
}

/** The principal of a session's record, if it still stands for one. */
export async function sessionPrincipal(env: Env, key: string, token: TokenRecord | null): Promise<Principal | null> {
  if (isAdminKey(key)) return key === (await sessionPrincipalKey(env, adminPrincipal())) ? adminPrincipal() : null;
  return token?.id === key ? tokenPrincipal(token) : null;
}

// Failed authentications, per client address (an IPv6 one by its /64: failureKey) (wrangler.toml,
// [[ratelimits]] AUTH_FAILURES: 20 a minute). A blocked address is refused before any credential it
// sends is evaluated.
const failures = new FailureBlock(60_000);

const rateLimited = (seconds: number) =>
  new AppError("rate_limited", `Too many failed authentications from this address; try again in ${seconds} s.`, undefined, seconds);

/** 429 when this address is over the failed-authentication limit; checked before any credential is looked at. */
function blockedRefusal(client: string): AppError | null {
  const seconds = failures.blockedFor(failureKey(client), Date.now());
  return seconds > 0 ? rateLimited(seconds) : null;
}

/**
 * Counts a failed authentication against the client's address: 401, or past
 * the limit 429, after which the address is refused until the period ends.
 */
async function failedAuthentication(env: Env, client: string): Promise<AppError> {
  const seconds = await failures.countFailure(env.AUTH_FAILURES, failureKey(client), Date.now());
  return seconds > 0 ? rateLimited(seconds) : unauthorized();
}

/**
 * An attempt to authenticate, by the request's client address: `blocked`, the 429 to answer before
 * any credential is looked at while the address is over the limit (else null), and `failed`, which
 * counts a failure (`failedAuthentication`) and gives the refusal to answer.
 */
export function authAttempt(env: Env, header: (name: string) => string | undefined): { blocked: AppError | null; failed: () => Promise<AppError> } {
  const client = clientAddress(header);
  return { blocked: blockedRefusal(client), failed: () => failedAuthentication(env, client) };
}

// In-process calls. The dashboard calls the API in-process on behalf of its
// session's principal. It passes a copy of the env registered here: Hono hands
// the env object through untouched (the Request may be rebuilt, by the body
// limit for one), and an outside request always carries the Worker's own env,
// never one of these copies, so no client can reach this path.
const actingFor = new WeakMap<Env, Principal>();

/** An env for an in-process API call that acts as `principal`. */
export function envActingAs(env: Env, principal: Principal): Env {
  const copy: Env = { ...env };
  actingFor.set(copy, principal);
  return copy;
}

/**
 * Resolves the bearer token to a principal; 401 without a valid one, 429 while the address is over
 * the limit. Only a token presented and refused counts as a failed authentication.
 */
export const authenticate: MiddlewareHandler<ApiEnv> = async (c, next) => {
  const inProcess = actingFor.get(c.env);
  if (inProcess) {
    c.set("principal", inProcess);
    return next();
  }
  const attempt = authAttempt(c.env, (name) => c.req.header(name));
  if (attempt.blocked) throw attempt.blocked;
  const token = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "")?.[1];
  // No bearer token guesses nothing, so it is not counted: any web page can make a browser send
  // such requests here (an <img>, a CORS preflight), which would otherwise block the operator.
  if (!token) throw unauthorized();
  const principal = await principalFor(c.env, token, c.req.url, (p) => c.executionCtx.waitUntil(p));
  if (!principal) throw await attempt.failed();
  c.set("principal", principal);
  await next();
};

/** 403 naming the missing scope unless the caller holds it. */
export function requireScope(scope: Scope): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    if (!hasScope(c.get("principal"), scope)) {
      throw new AppError("forbidden", lacksScope(scope), { missingScope: scope });
    }
    await next();
  };
}
