import type { z } from "zod";
import { AppError, invalidField, invalidInput, type Issue } from "../domain/errors";
import { isIndexable, isRecord, isString, objectOf } from "../domain/guards";
import { REPEATED_KEY, repeatedKey } from "../domain/documents";
import { documentPath, filterIssuePath, type FilterIssue } from "../routing/filter";

/**
 * Whether an issue is `.int()`'s own range, the safe integers ("must be at most
 * 9007199254740991"), where the field's own bound (`.max(100)`) says the same of the value too.
 */
function isSafeRangeBeside(issue: z.core.$ZodIssue, all: z.core.$ZodIssue[]): boolean {
  if ((issue.code !== "too_big" && issue.code !== "too_small") || issue.origin !== "int") return false;
  const bound = issue.code === "too_big" ? issue.maximum : issue.minimum;
  if (Math.abs(Number(bound)) !== Number.MAX_SAFE_INTEGER) return false;
  const path = issue.path.join(".");
  return all.some((other) => other !== issue && other.code === issue.code && other.path.join(".") === path);
}

/**
 * Whether an issue is a length bound beside a type issue at its path: zod checks a length on any
 * value that has one, so a string given for a list of at most 5 was also "at most 5 characters".
 */
function isLengthBesideType(issue: z.core.$ZodIssue, all: z.core.$ZodIssue[]): boolean {
  if ((issue.code !== "too_big" && issue.code !== "too_small") || issue.origin === "number" || issue.origin === "int") return false;
  const path = issue.path.join(".");
  return all.some((other) => other.code === "invalid_type" && other.path.join(".") === path);
}

/**
 * 400 `invalid_request` listing a zod error's issues (a field's own bound, not the safe-integer
 * range beside it, nor a length beside a type issue), and in a query each parameter it does not take by its name.
 */
export function invalidRequest(error: z.ZodError, what: string): AppError {
  return invalidInput(what, requestIssues(error, what));
}

/** invalidRequest's issues. */
export function requestIssues(error: z.ZodError, what: string): Issue[] {
  return error.issues
    .filter((i) => !isSafeRangeBeside(i, error.issues) && !isLengthBesideType(i, error.issues))
    .flatMap((i): z.core.$ZodIssue[] => (i.code === "unrecognized_keys" ? i.keys.map((key) => ({ ...i, path: [...i.path, key] })) : [i]))
    .map((i) => ({ path: issuePath(i), message: what !== "query" && isZodsUnknownKey(i) ? UNKNOWN_FIELD : i.message }));
}

/**
 * Runs `checks` in order, each whatever the 400s of those before it said: their issues in one 400
 * (one alone as it was thrown), so a form with several mistakes is mended in one go. Another
 * refusal (403, 404) stops there, answered unless a 400 came before it, as when each stopped the request.
 */
export async function allIssues(what: string, checks: (() => unknown)[]): Promise<void> {
  const refused: { error: unknown; issues: Issue[] }[] = [];
  for (const check of checks) {
    try {
      await check();
    } catch (error) {
      const issues = issuesOf(error);
      if (issues === null) {
        if (refused.length > 0) break;
        throw error;
      }
      refused.push({ error, issues });
    }
  }
  if (refused.length === 1) throw refused[0]!.error;
  if (refused.length > 1) throw invalidInput(what, refused.flatMap((r) => r.issues));
}

/** A 400's issues (each whole: an event type's `closest` too), else null. */
function issuesOf(error: unknown): Issue[] | null {
  if (!(error instanceof AppError) || error.code !== "invalid_request" || !isRecord(error.details) || !Array.isArray(error.details.issues)) return null;
  const issues = error.details.issues.filter(isIssue);
  return issues.length > 0 ? issues : null;
}

const isIssue = objectOf<Issue>({ path: isString, message: isString });

/** A body's field it does not take, by its name as a query's parameter is (zod's "Unrecognized key" had the path ""). */
const UNKNOWN_FIELD = "not a field this operation takes (a typo?): GET /openapi.json lists each operation's fields";

/** zod's own words for a field the schema does not take; a schema's own message (how to rotate a secret) is kept. */
function isZodsUnknownKey(issue: z.core.$ZodIssue): boolean {
  return issue.code === "unrecognized_keys" && issue.message.startsWith("Unrecognized key");
}

/** An issue's path: its fields joined by dots, and within a filter its place as a search's `q` says it (`filter.body["x-y"].$gt`). */
function issuePath(issue: z.core.$ZodIssue): string {
  const field = issue.path.join(".");
  const filterIssue: unknown = issue.code === "custom" ? issue.params?.filterIssue : undefined;
  return isFilterIssue(filterIssue) ? filterIssuePath(field, filterIssue) : field;
}

/** What api/schemas/filters-and-transforms.ts's filter check puts in a custom issue's params (zod types them as any). */
const isFilterIssue = objectOf<FilterIssue>({ path: isString, message: isString });

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
    return repeatedQueryParam(name, given);
  }
  return null;
}

/** 400 `invalid_request` of a query parameter given `given` times that takes one value (the dashboard's pages say it too). */
export function repeatedQueryParam(name: string, given: number): AppError {
  const message = `given ${given} times; give it once`;
  return invalidField(`Invalid query: ${name} is ${message}.`, { path: name, message });
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

/**
 * 400 `invalid_request` naming the first key a JSON body gives twice in one object (JSON.parse would
 * keep the last silently), else null: for text that is not JSON too, the validator's to refuse.
 */
export function repeatedBodyKey(text: string): AppError | null {
  try {
    JSON.parse(text);
  } catch {
    return null;
  }
  const path = repeatedKey(text);
  return path && invalidInput("body", [{ path: documentPath(path), message: REPEATED_KEY }]);
}
