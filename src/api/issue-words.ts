import type { z } from "zod";
import english from "zod/v4/locales/en.js";

/**
 * Our words for zod's issues, set as its global error map (schemas/fields.ts), below any message a
 * schema gives itself (a rate limit of 0 says what to give for none) and above zod's English,
 * which stays for every other issue. Only words change: the answer's code (`invalid_request`) and
 * `details.issues` (path, message) keep their shape.
 * - A value out of a schema's bounds, or a number that is not whole: the field's bound and what
 *   was given ("must be at most 50 (got 500)"), where zod says "Too big: expected number to be <=50".
 * - A required field left out: "required (expected string)", not a value of the wrong type
 *   ("expected string, received undefined").
 * - A map of any keys (a filter, transformHeaders) is an object, as JSON and the OpenAPI document
 *   call it, where zod says "record".
 */
export function issueWords(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === "invalid_type") return typeWords(issue);
  return boundWords(issue);
}

const zodsEnglish = english().localeError;

function typeWords(issue: z.core.$ZodRawIssue & { code: "invalid_type" }): string | undefined {
  if (issue.expected === "int" && typeof issue.input === "number") return `must be a whole number${given(issue.input)}`;
  // A JSON number past a double's range (1e400) is read as Infinity: what was written is gone, how far it was is not.
  if ((issue.expected === "number" || issue.expected === "int") && (issue.input === Infinity || issue.input === -Infinity)) {
    return `must be a number (got one too ${issue.input > 0 ? "large" : "small"} to read, past ${issue.input > 0 ? "" : "-"}1.8e308)`;
  }
  const expected = issue.expected === "record" ? "object" : issue.expected;
  if (issue.input === undefined) return `required (expected ${expected})`;
  if (issue.expected !== "record") return undefined;
  const said = zodsEnglish(issue);
  return (typeof said === "string" ? said : said?.message)?.replace("expected record", "expected object");
}

function boundWords(issue: z.core.$ZodRawIssue): string | undefined {
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
 * " (got 500)": said of a number JSON or a query gave exactly; of one past 2^53, which was read other
 * than written, about what it was (a query's digits say themselves: fields.ts decimalInteger).
 */
const given = (n: number) => (Math.abs(n) <= Number.MAX_SAFE_INTEGER ? ` (got ${n})` : ` (got about ${n.toPrecision(3)})`);

/** A string's length as zod counts it, in code points; an array's or a set's size. */
function sizeOf(input: unknown): number | null {
  if (typeof input === "string") return [...input].length;
  if (Array.isArray(input)) return input.length;
  return input instanceof Set ? input.size : null;
}
