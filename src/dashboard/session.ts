import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { principalFor } from "../api/auth";
import { api } from "../api";
import type { Principal } from "../domain/scopes";
import type { Env } from "../env";

export const COOKIE = "edgehook_session";
const EIGHT_HOURS = 8 * 3600;

export type DashEnv = { Bindings: Env; Variables: { principal: Principal; token: string } };

export function startSession(c: Context<DashEnv>, token: string): void {
  setCookie(c, COOKIE, token, { httpOnly: true, secure: true, sameSite: "Strict", path: "/dashboard", maxAge: EIGHT_HOURS });
}

export function endSession(c: Context<DashEnv>): void {
  deleteCookie(c, COOKIE, { path: "/dashboard", secure: true, httpOnly: true, sameSite: "Strict" });
}

/** Every dashboard page but the sign-in needs a session whose token is still valid. */
export const requireSession: MiddlewareHandler<DashEnv> = async (c, next) => {
  const token = getCookie(c, COOKIE);
  const principal = token ? await principalFor(c.env, token, (p) => c.executionCtx.waitUntil(p)) : null;
  if (!token || !principal) {
    if (token) endSession(c);
    return c.redirect("/dashboard/login", 303);
  }
  c.set("principal", principal);
  c.set("token", token);
  await next();
};

export interface ApiAnswer<T> {
  status: number;
  ok: boolean;
  json: T;
  error: string | null;
}

/**
 * The dashboard is a client of the /v1 API, called in-process with the
 * signed-in token: every page and action gets exactly the API's scope checks.
 */
export async function callApi<T = any>(c: Context<DashEnv>, method: string, path: string, body?: unknown): Promise<ApiAnswer<T>> {
  const res = await api.fetch(
    new Request(new URL(path, "https://edgehook.internal"), {
      method,
      headers: { authorization: `Bearer ${c.get("token")}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
    c.env,
    c.executionCtx,
  );
  const json = res.status === 204 ? null : await res.json().catch(() => null);
  const error = res.ok ? null : ((json as { error?: { message?: string } } | null)?.error?.message ?? `HTTP ${res.status}`);
  return { status: res.status, ok: res.ok, json: json as T, error };
}
