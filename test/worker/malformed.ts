// What the property tests of malformed input share (malformed-input.test.ts over the API,
// ingress-malformed.test.ts over the ingress): bad values, and the check of every answer.
import { expect } from "vitest";
import { STATUS_OF } from "../../src/http/errors";
import { isErrorCode } from "../../src/domain/errors";
import { isRecord } from "../../src/domain/guards";

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

// Values of each JSON type; a field gets those of the types it does not take.
export const VALUES_BY_TYPE: Record<string, Json[]> = {
  null: [null],
  boolean: [true, false],
  integer: [0, -1, 1, 2_147_483_648, 9_007_199_254_740_993],
  number: [1.5, -0.0001, 1e308],
  string: ["", "x", "NaN", "Infinity", "1", "true", "null", "évènement", "\u0000", "\ud800"],
  array: [[], [1], [null], ["a", "b"], [[[]]]],
  object: [{}, { a: 1 }, { $gt: null }, { body: { a: { $regex: "(" } } }],
};

/** JSON text nested `depth` levels, as arrays or objects. */
export const deep = (depth: number, kind: "array" | "object") =>
  kind === "array" ? `${"[".repeat(depth)}1${"]".repeat(depth)}` : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;

/** Raw JSON spellings of numbers JSON.stringify cannot make (some are not JSON at all). */
export const RAW_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1E400", "-0", "1e-400", "0x10", "01", "9007199254740993", "1.0"];

/** Strings D1 cannot hold as text (a lone surrogate reads back as U+FFFD): never to be stored. */
export const ILL_FORMED = ["x\ud800", "\udfffx", "a\ud800b-ok-name", "https://downstream.test/ok/\ud800"];

/** Every answer: one of `allowed`, never a 5xx; an error in the contract's shape with a known code. Returns the parsed body. */
export async function expectWellFormed(res: Response, allowed: number[], what: string): Promise<unknown> {
  const text = await res.text();
  const context = `${what} -> ${res.status} ${text.slice(0, 300)}`;
  expect(res.status, context).toBeLessThan(500);
  expect(allowed, context).toContain(res.status);
  if (res.status < 400) return res.status === 204 || text === "" ? null : JSON.parse(text);
  let parsed: unknown;
  expect(() => (parsed = JSON.parse(text)), context).not.toThrow();
  const error = isRecord(parsed) ? parsed.error : undefined;
  expect(isRecord(error), context).toBe(true);
  if (!isRecord(error)) return;
  expect(isErrorCode(error.code), context).toBe(true);
  expect(typeof error.message === "string" && error.message.length > 0, context).toBe(true);
  if (isErrorCode(error.code)) expect(STATUS_OF[error.code], context).toBe(res.status);
  return parsed;
}
