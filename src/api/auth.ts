import type { MiddlewareHandler } from "hono";
import { AppError } from "../domain/errors";
import { hasScope, SCOPES, type Principal, type Scope } from "../domain/scopes";
import { hashApiToken } from "../domain/tokens";
import { tokenByHash, touchToken } from "../store/tokens";
import type { ApiEnv } from "./context";

const encoder = new TextEncoder();

/** Compares two strings in time independent of where they differ. */
async function sameSecret(a: string, b: string): Promise<boolean> {
  const [da, db] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(a)),
    crypto.subtle.digest("SHA-256", encoder.encode(b)),
  ]);
  return crypto.subtle.timingSafeEqual(da, db);
}

const unauthorized = () =>
  new AppError(401, "unauthorized", "Send a valid API token as `Authorization: Bearer <token>`.");

/** The principal a bearer token stands for: the ADMIN_TOKEN secret, or a live scoped token. */
export async function principalFor(
  env: ApiEnv["Bindings"],
  token: string,
  waitUntil: (p: Promise<unknown>) => void,
): Promise<Principal | null> {
  if (env.ADMIN_TOKEN && (await sameSecret(token, env.ADMIN_TOKEN))) {
    return { tokenId: null, scopes: new Set(SCOPES), organizationUids: null, locationUids: null };
  }
  if (!token.startsWith("ehk_")) return null;
  // The lookup is by hash: equality on a keyed hash leaks nothing useful about the token.
  const record = await tokenByHash(env.DB, await hashApiToken(token, env.TOKEN_PEPPER));
  if (!record) return null;
  waitUntil(touchToken(env.DB, record.id).catch(() => {}));
  return {
    tokenId: record.id,
    scopes: new Set(record.scopes),
    organizationUids: record.organizationUids,
    locationUids: record.locationUids,
  };
}

/**
 * Counts a failed authentication against the client's address; past the limit
 * the answer is 429, so tokens cannot be guessed at speed.
 */
export async function failedAuthentication(env: ApiEnv["Bindings"], client: string): Promise<AppError> {
  const outcome = await env.AUTH_FAILURES?.limit({ key: client }).catch(() => ({ success: true }));
  if (outcome && !outcome.success) {
    return new AppError(429, "rate_limited", "Too many failed authentications from this address; wait a minute.", undefined, {
      "retry-after": "60",
    });
  }
  return unauthorized();
}

/** Resolves the bearer token to a principal; 401 without a valid one (429 after too many). */
export const authenticate: MiddlewareHandler<ApiEnv> = async (c, next) => {
  const client = c.req.header("cf-connecting-ip") ?? "unknown";
  const match = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "");
  const principal = match?.[1] ? await principalFor(c.env, match[1], (p) => c.executionCtx.waitUntil(p)) : null;
  if (!principal) throw await failedAuthentication(c.env, client);
  c.set("principal", principal);
  await next();
};

/** 403 naming the missing scope unless the caller holds it. */
export function requireScope(scope: Scope): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    if (!hasScope(c.get("principal"), scope)) {
      throw new AppError(403, "forbidden", `This token lacks the scope "${scope}".`, { missingScope: scope });
    }
    await next();
  };
}
