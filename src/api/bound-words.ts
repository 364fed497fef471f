import type { z } from "zod";

/**
 * Our words for a value out of a schema's bounds, and for a number that is not whole: the field's
 * bound and what was given ("must be at most 50 (got 500)"), where zod's English says
 * "Too big: expected number to be <=50". Set as zod's global error map (schemas.ts), below any
 * message a schema gives itself (a rate limit of 0 says what to give for none) and above zod's
 * English, which stays for every other issue. Only words change: the answer's code
 * (`invalid_request`) and `details.issues` (path, message) keep their shape.
 */
export function boundWords(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === "invalid_type" && issue.expected === "int" && typeof issue.input === "number") {
    return `must be a whole number${given(issue.input)}`;
  }
  if (issue.code !== "too_big" && issue.code !== "too_small") return undefined;
  const big = issue.code === "too_big";
  const bound = Number(big ? issue.maximum : issue.minimum);
  if (issue.origin === "number" || issue.origin === "int") {
    const most = big ? (issue.inclusive ? "at most" : "less than") : issue.inclusive ? "at least" : "more than";
    return typeof issue.input === "number" ? `must be ${most} ${bound}${given(issue.input)}` : undefined;
  }
  const unit = UNITS[issue.origin];
  if (!unit) return undefined; // a date's or a bigint's: not one the API takes
  const size = sizeOf(issue.input);
  if (!big && bound === 1 && size === 0) return "must not be empty";
  const most = issue.exact ? "exactly" : big ? "at most" : "at least";
  return `must ${unit.verb} ${most} ${bound} ${bound === 1 ? unit.one : unit.many}${size === null ? "" : ` (got ${size})`}`;
}

/** How zod measures each sized kind of value, and how to say it. */
const UNITS: Partial<Record<string, { verb: string; one: string; many: string }>> = {
  string: { verb: "be", one: "character", many: "characters" },
  array: { verb: "have", one: "item", many: "items" },
  set: { verb: "have", one: "item", many: "items" },
};

/**
 * " (got 500)": said of a number JSON or a query gave exactly, not of an integer past 2^53, which
 * was read other than written (a query's 400 digits read as the largest double).
 */
const given = (n: number) => (Math.abs(n) <= Number.MAX_SAFE_INTEGER ? ` (got ${n})` : "");

/** A string's length as zod counts it, in code points; an array's or a set's size. */
function sizeOf(input: unknown): number | null {
  if (typeof input === "string") return [...input].length;
  if (Array.isArray(input)) return input.length;
  return input instanceof Set ? input.size : null;
}
