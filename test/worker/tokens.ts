// Scoped tokens in tests: make one through the admin API, then call the API as it.
import { expect } from "vitest";
import type { Scope } from "../../src/domain/scopes";
import { apiCall } from "./helpers";
import { uniqueKey, type pipeline } from "./pipeline";

type P = ReturnType<typeof pipeline>;

export const DATA_SCOPES: Scope[] = ["read_messages", "read_contacts", "read_payments", "read_reviews"];

export async function makeToken(p: P, scopes: Scope[], limits: { organizationUids?: string[]; locationUids?: string[] } = {}) {
  const res = await p.api("POST", "/v1/tokens", { name: `t-${uniqueKey()}`, scopes, ...limits });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json as { id: string; token: string };
}

/** Calls the API as a given token, with the pipeline's env. */
export const as = <M extends string, P2 extends string>(p: P, token: string, method: M, path: P2, body?: unknown) => apiCall(p.env, method, path, body, { authorization: `Bearer ${token}` });
