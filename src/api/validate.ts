import type { z } from "zod";
import { base64ToBytes, bytesToBase64url, fromUtf8, seal, unseal, utf8 } from "../domain/crypto";
import { AppError, invalidField, invalidInput } from "../domain/errors";
import { isIndexable } from "../domain/guards";

/**
 * Whether an issue is `.int()`'s own range, the safe integers ("expected int to be
 * <=9007199254740991"), where the field's own bound (`.max(100)`) says the same of the value too.
 */
function isSafeRangeBeside(issue: z.core.$ZodIssue, all: z.core.$ZodIssue[]): boolean {
  if ((issue.code !== "too_big" && issue.code !== "too_small") || issue.origin !== "int") return false;
  const bound = issue.code === "too_big" ? issue.maximum : issue.minimum;
  if (Math.abs(Number(bound)) !== Number.MAX_SAFE_INTEGER) return false;
  const path = issue.path.join(".");
  return all.some((other) => other !== issue && other.code === issue.code && other.path.join(".") === path);
}

/** 400 `invalid_request` listing a zod error's issues (a field's own bound, not the safe-integer range beside it). */
export function invalidRequest(error: z.ZodError, what: string): AppError {
  return invalidInput(what, error.issues.filter((i) => !isSafeRangeBeside(i, error.issues)).map((i) => ({ path: i.path.join("."), message: i.message })));
}

/**
 * 400 `invalid_request` naming a query parameter given more than once that failed validation
 * (the validator reads a repeated one as a list, of which zod says "received NaN" for `limit=1&limit=2`),
 * else null.
 */
export function repeatedParam(error: z.ZodError, query: Record<string, string[]>): AppError | null {
  for (const issue of error.issues) {
    const name = String(issue.path[0]);
    const given = Object.hasOwn(query, name) ? (query[name]?.length ?? 0) : 0;
    if (given < 2) continue;
    const message = `given ${given} times; give it once`;
    return invalidField(`Invalid query: ${name} is ${message}.`, { path: name, message });
  }
  return null;
}

/**
 * 400 `invalid_request` naming the first string (or object key) of `value` that is not
 * well-formed UTF-16, else null. JSON's `\ud800` escapes make lone surrogates, which UTF-8
 * cannot encode: D1 would store U+FFFD in their place, and the stored text would read back
 * other than the answer that acknowledged it.
 */
export function illFormedText(value: unknown, what: string): AppError | null {
  const stack: { v: unknown; path: string[] }[] = [{ v: value, path: [] }];
  for (let next = stack.pop(); next; next = stack.pop()) {
    const { v, path } = next;
    let bad: string[] | null = typeof v === "string" && !v.isWellFormed() ? path : null;
    if (isIndexable(v)) {
      for (const [k, child] of Object.entries(v)) {
        if (!k.isWellFormed()) bad ??= [...path, k];
        stack.push({ v: child, path: [...path, k] });
      }
    }
    if (bad) {
      const message = "not well-formed Unicode: a lone surrogate (a \\ud800-\\udfff escape without its pair)";
      return invalidInput(what, [{ path: bad.join("."), message }]);
    }
  }
  return null;
}

/** Opaque list cursors: base64url of the position to continue from. */
const toCursor = (text: string) => bytesToBase64url(utf8(text));

/** The groups of a cursor's text, or 400 when it is not one this API returned. */
function fromCursor(cursor: string, pattern: RegExp): string[] {
  const bytes = base64ToBytes(cursor);
  const m = bytes && pattern.exec(fromUtf8(bytes));
  if (m) return m.slice(1);
  throw unknownCursor();
}

const unknownCursor = () =>
  invalidField("The cursor is not one this API returned.", { path: "cursor", message: "unknown cursor" });

/**
 * A page of rows read with one more than `limit`: the first `limit`, and the cursor
 * after the last of them (`cursorOf`) when that one more was there, else null.
 */
export function pageOf<T>(rows: readonly T[], limit: number, cursorOf: (last: T) => string): { data: T[]; nextCursor: string | null } {
  const data = rows.slice(0, limit);
  const last = data[limit - 1];
  return { data, nextCursor: rows.length > limit && last !== undefined ? cursorOf(last) : null };
}

/** A position in insertion order (lists, newest first). */
export function encodeCursor(seq: number): string {
  return toCursor(`s${seq}`);
}

export function decodeCursor(cursor: string): number {
  return Number(fromCursor(cursor, /^s(\d{1,15})$/)[0]);
}

/**
 * A position in time order, (received time, insertion sequence), where a walk over every
 * tenant's events stopped (a search, a range replay): as often as not another's event, so it
 * is sealed (domain/crypto.ts, under TOKEN_PEPPER), never shown.
 */
export async function sealPosition(env: { TOKEN_PEPPER?: string }, p: { receivedAt: number; seq: number }): Promise<string> {
  return seal(cursorSecret(env), POSITION, `t${p.receivedAt}s${p.seq}`);
}

export async function openPosition(env: { TOKEN_PEPPER?: string }, cursor: string): Promise<{ receivedAt: number; seq: number }> {
  const text = await unseal(cursorSecret(env), POSITION, cursor);
  const m = text === null ? null : /^t(\d{1,15})s(\d{1,15})$/.exec(text);
  if (!m) throw unknownCursor();
  return { receivedAt: Number(m[1]), seq: Number(m[2]) };
}

const POSITION = "edgehook cursor: a time position";
/** Without a pepper (a local stack), a fixed key: the cursors are still opaque, if not secret. */
const cursorSecret = (env: { TOKEN_PEPPER?: string }) => env.TOKEN_PEPPER || "edgehook";

/** A position in creation order (webhook lists, newest first): (created time, uid). */
export function encodeCreated(p: { createdAt: number; uid: string }): string {
  return toCursor(`c${p.createdAt}u${p.uid}`);
}

export function decodeCreated(cursor: string): { createdAt: number; uid: string } {
  const [createdAt, uid = ""] = fromCursor(cursor, /^c(\d{1,15})u([\x21-\x7e]{1,128})$/);
  return { createdAt: Number(createdAt), uid };
}

/** A position in key order (sources, by id): the key of the last item given. */
export function encodeKey(key: string): string {
  return toCursor(`k${key}`);
}

export function decodeKey(cursor: string): string {
  return fromCursor(cursor, /^k([\x21-\x7e]{1,128})$/)[0] ?? "";
}

/** A bulk retry's position: (webhook, insertion sequence within it). */
export function encodeRetryCursor(p: { webhook: number; seq: number }): string {
  return toCursor(`w${p.webhook}s${p.seq}`);
}

export function decodeRetryCursor(cursor: string): { webhook: number; seq: number } {
  const [webhook, seq] = fromCursor(cursor, /^w(\d{1,15})s(\d{1,15})$/);
  return { webhook: Number(webhook), seq: Number(seq) };
}
