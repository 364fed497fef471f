// Scoped tokens in tests: make one through the admin API, then call the API as it.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { expect } from "vitest";
import type { Scope } from "../../src/domain/scopes";
import worker from "../../src/index";
import { uniqueKey, type pipeline } from "./pipeline";

type P = ReturnType<typeof pipeline>;

export const DATA_SCOPES: Scope[] = ["read_messages", "read_contacts", "read_payments", "read_reviews"];

export async function makeToken(p: P, scopes: Scope[], limits: { organizationUids?: string[]; locationUids?: string[] } = {}) {
  const res = await p.api("POST", "/v1/tokens", { name: `t-${uniqueKey()}`, scopes, ...limits });
  expect(res.status).toBe(201);
  return res.json as { id: string; token: string };
}

/** Calls the API as a given token. */
export async function as(p: P, token: string, method: string, path: string, body?: unknown) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`https://edgehook.test${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
    p.env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return { status: res.status, json: res.status === 204 ? null : ((await res.json()) as any) };
}
