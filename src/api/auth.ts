import type { MiddlewareHandler } from "hono";
import { AppError } from "../domain/errors";
import { hasScope, SCOPES, type Principal, type Scope } from "../domain/scopes";
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

/** Resolves the bearer token to a principal; 401 without a valid one. */
export const authenticate: MiddlewareHandler<ApiEnv> = async (c, next) => {
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) throw unauthorized();
  const token = match[1];

  const admin = c.env.ADMIN_TOKEN;
  if (admin && (await sameSecret(token, admin))) {
    const principal: Principal = { tokenId: null, scopes: new Set(SCOPES), organizationUids: null, locationUids: null };
    c.set("principal", principal);
    return next();
  }
  throw unauthorized();
};

/** 403 naming the missing scope unless the caller holds it. */
export function requireScope(scope: Scope): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    if (!hasScope(c.get("principal"), scope)) {
      throw new AppError(403, "forbidden", `This token lacks the scope "${scope}".`, { missingScope: scope });
    }
    return next();
  };
}
