// The pieces every resource's schemas are built of: times and ranges, a query's whole numbers,
// page sizes and cursors, strict queries, uids and names, secrets, path and header parameters, and
// the error and page answers. One zod schema per shape (here and in each resource's module): they
// validate requests, type the handlers and generate /openapi.json.
// Importing @hono/zod-openapi gives every zod schema .openapi() (used below as each is made).
import "@hono/zod-openapi";
import { z } from "../../domain/zod";
import { ERROR_CODES } from "../../domain/errors";
import { blankNameProblem, hiddenCharacterProblem, paddedProblem } from "../../domain/legible";
import { notAParameter } from "../../http/unknown-param";
import { signingSecretProblem } from "../../schemes/standard-webhooks";
import { pastedSecretProblem } from "../../domain/secrets";
import { issueWords } from "../issue-words";
import { iso, msAtOrAfter, subMs } from "../../domain/time";
import { cutShort } from "../../domain/cut-short";

// A value out of a schema's bounds says the bound and what was given, in every schema without its own message.
z.config({ customError: issueWords });

// Checked as ISO 8601 with Z (z.iso), as the server writes every time: the test helpers hold answers
// to these schemas (test/worker/conformance.ts), so an epoch number or another format fails there.
export const time = z.iso.datetime().openapi({ example: "2026-11-28T17:59:31.123Z" });
/**
 * A time a request gives (ISO 8601 with Z or an offset). Said with an example, and, when a space
 * stands where an offset's sign goes, that a URL query reads a bare + as a space (curl sends it so).
 */
export const givenTime = (description: string) => {
  // A required one left out says so: "expected an ISO 8601 time" read as a malformed one.
  const error = (iss: { input?: unknown }) =>
    iss.input === undefined
      ? "required: an ISO 8601 time with Z or an offset, such as 2026-11-28T00:00:00Z"
      : typeof iss.input === "string" && /\d [0-9]{2}(:?[0-9]{2})?$/.test(iss.input)
        ? "the offset's + arrived as a space, as a URL query reads a bare +: write it %2B (or use Z)"
        : "expected an ISO 8601 time with Z or an offset, such as 2026-11-28T00:00:00Z";
  return (
    z
      .string({ error })
      // RFC 3339 (the document's date-time) allows a lower-case t and z: taken, as written upper-case.
      .toUpperCase()
      .datetime({ offset: true, error })
      .openapi({ description })
  );
};
/** Whether since and until are both times to compare (a bad one is said once, by itself). */
const comparable = (since: string, until: string) => !Number.isNaN(Date.parse(since)) && !Number.isNaN(Date.parse(until));
/** Whether `a` is later than `b` to the last digit given (neither is rounded to the millisecond). */
function laterExactly(a: string, b: string): boolean {
  const [msA, msB] = [Date.parse(a), Date.parse(b)];
  if (msA !== msB) return msA > msB;
  const [fa, fb] = [subMs(a), subMs(b)];
  const width = Math.max(fa.length, fb.length);
  return fa.padEnd(width, "0") > fb.padEnd(width, "0");
}
/**
 * Refuses a range whose until is not later than its since, as kept: to the millisecond, so
 * `…00.0001Z`..`…00.0002Z`, two times as written, is an empty range, which the message says
 * (it said only that until must be later, of an until that is).
 */
export function refineRange(since: string | undefined, until: string | undefined, ctx: z.RefinementCtx) {
  if (since === undefined || until === undefined || !comparable(since, until)) return;
  const [from, to] = [msAtOrAfter(since), msAtOrAfter(until)];
  if (to > from) return;
  const message =
    to === from && laterExactly(until, since)
      ? `until must be later than since: times are kept to the millisecond, and both round up to ${iso(from)}`
      : "until must be later than since";
  ctx.addIssue({ code: "custom", message, path: ["until"] });
}
/**
 * A whole number of a query (or of a dashboard form), in decimal digits, then checked by `number`
 * (its bounds): coerced, `0x10`, `1e2`, ` 5` read as numbers and an empty one as 0, other than
 * what was meant. Digits past 2^53 read as another number (past a double's range, the largest):
 * refused, the refusal quotes the digits as written (cut short), not that number.
 */
export const decimalInteger = <T extends z.ZodType<number, number>>(number: T) =>
  z
    .string()
    .regex(/^\d+$/, "expected a whole number (decimal digits)")
    .transform((digits, ctx) => {
      const n = Math.min(Number(digits), Number.MAX_VALUE);
      if (n <= Number.MAX_SAFE_INTEGER) return n;
      // An int schema is bounded at 2^53 - 1 besides its own bound: the tightest is the one to say.
      const issues = number.safeParse(n).error?.issues ?? [];
      const [bound] = issues.sort((a, b) => (a.code === "too_big" ? Number(a.maximum) : Infinity) - (b.code === "too_big" ? Number(b.maximum) : Infinity));
      if (bound === undefined) return n;
      ctx.addIssue({ code: "custom", message: `${bound.message.replace(/ \(got [^)]*\)$/, "")} (got ${cutShort(digits, 40)})`, path: bound.path });
      return z.NEVER;
    })
    .pipe(number);
/** Out of bounds, it says the bound it passed and what was given, as a body's number does (issue-words.ts). */
export const queryInteger = (min: number, max: number) => decimalInteger(z.number().int().min(min).max(max));
/** A page size of a query, 1 to `max`. */
export const pageSize = (max: number) =>
  queryInteger(1, max).default(50).openapi({ type: "integer", minimum: 1, maximum: max, default: 50, description: `Page size, at most ${max}.` });
export const limit = pageSize(100);
export const cursor = z.string().min(1).max(200).optional().openapi({ description: "The `nextCursor` of the previous page, with the same filters (another answers 400; `limit` may change)." });
/** What an operation taking `takes` says of a query parameter it does not take. */
export const queryRefusal = (takes: readonly string[]) => (takes.length === 0 ? "this operation takes no query parameters" : notAParameter(takes));
/**
 * A query that names only the parameters its route takes: one it does not take (a misspelt
 * filter) is refused by name rather than ignored, which answered the whole list as if filtered.
 */
export const strictQuery = <S extends z.ZodRawShape>(shape: S) => {
  const refusal = queryRefusal(Object.keys(shape));
  return z.strictObject(shape, { error: (issue) => (issue.code === "unrecognized_keys" ? refusal : undefined) });
};
/** The query of an operation that takes none (apiRoute gives it to every such route). */
export const NoQuery = strictQuery({});
/**
 * The body of an operation that takes none (openapi.ts, NO_BODY): a field is refused by name,
 * as a route that takes a body refuses one it does not take, rather than ignored.
 */
export const NoFields = z.strictObject({}, { error: (issue) => (issue.code === "unrecognized_keys" ? "this operation takes no fields: send no body, or {}" : undefined) });
export const uid = z.string().min(1).max(128);
/**
 * Text shown where a person reads it (a name, an owner's uid in a list): without the control and
 * bidirectional formatting characters a URL may not hold either (domain/legible.ts), which would
 * make it read as other text; then `more`'s rule, if any, in one refinement (a hidden character
 * is reported once).
 */
const legible = <T extends z.ZodString>(text: T, more: (v: string) => string | null = () => null) =>
  text.superRefine((v, ctx) => {
    const problem = hiddenCharacterProblem(v) ?? more(v);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });
/**
 * A source's or token's name, which lists show to tell it apart: also not blank (only white space
 * or invisible characters, `"   "`, `"\u200b"`, which read as no name) nor broken across lines (a
 * line or paragraph separator).
 */
export const givenName = legible(z.string().min(1).max(200), blankNameProblem);
/** A location or organization uid given to own something (or repeated as the webhook's own). */
export const ownerUid = legible(uid);
/**
 * One given to own something new: also without white space or an invisible character (a zero-width
 * space, a BOM) at either end, which no event's uid carries: pasted with one, it made a webhook owed
 * nothing and a token that sees nothing, without a word.
 */
export const newOwnerUid = legible(uid, paddedProblem);
/**
 * A list that names each item once: one given twice is refused by its place (as `alertTypes`
 * always was), rather than stored twice or quietly folded into one. `said` is what names it
 * (never a secret's value).
 */
export const distinct = <T extends z.ZodType<string>>(list: z.ZodArray<T>, said = (item: string) => JSON.stringify(item)) =>
  list
    .superRefine((items, ctx) => {
      items.forEach((item, i) => {
        if (items.indexOf(item) < i) ctx.addIssue({ code: "custom", message: `${said(item)} is given twice`, path: [i] });
      });
    })
    .openapi({ uniqueItems: true });
/** A secret of 8 to 256 characters. */
export const anySecret = z.string().min(8).max(256);
/** A secret Edgehook signs with (as pasted: pastedSecretProblem), which receivers' Standard Webhooks libraries must decode: a `whsec_` one carries a key long enough not to be guessed. */
export const webhookSecret = anySecret.superRefine((s, ctx) => {
  const found = webhookSecretProblem(s);
  if (found) ctx.addIssue({ code: "custom", message: found });
});
/** Why a webhook's secret given anew cannot be taken, or null (webhookSecret's rule; a change checks it unless the secret is the webhook's own). */
export const webhookSecretProblem = (s: string): string | null => pastedSecretProblem(s) ?? signingSecretProblem(s);

export const ErrorSchema = z
  .object({
    error: z.object({
      // The closed set (domain/errors.ts), so a client generated from the document can branch on it.
      code: z.enum(ERROR_CODES).openapi({ example: "invalid_request", description: "Machine-readable; each answer's description says which codes its status carries." }),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .openapi("Error");

export const page = <T extends z.ZodType>(item: T, name: string) =>
  z.object({ data: z.array(item), nextCursor: z.string().nullable() }).openapi(name);

export const ListQuery = strictQuery({ limit, cursor });

export const IdParam = z.object({ id: uid.openapi({ param: { name: "id", in: "path" } }) });
export const UidParam = z.object({ uid: uid.openapi({ param: { name: "uid", in: "path" } }) });

/** The If-Match header of a change to a versioned resource (api/if-match.ts reads it; header names are case-insensitive). */
export const IfMatchHeader = z.object({
  "if-match": z
    .string()
    .optional()
    .openapi({
      param: { name: "if-match", in: "header" },
      description:
        'The ETag read (`"mj2x4k1c"`), or `*`: the change applies only while the resource is at that version, else 412 `precondition_failed`: docs/api.md.',
    }),
});

/** What is wrong with a comma list's entry `i` (of `n`) that is empty (the dashboard's comma boxes say it too). */
export const emptyEntryProblem = (i: number, n: number) => `entry ${i + 1} of ${n} is empty (two commas together, or one at either end)`;

/**
 * A comma-separated query list. An empty entry (`,a`, `a,,b`, `a,`) is refused, not dropped: a
 * parameter is never ignored, in part or whole. (An empty parameter is "must not be empty".)
 */
export const commaList = (item: z.ZodString, description: string, most = 50, chars = 2000) =>
  z
    .string()
    .max(chars)
    .transform((s, ctx) => {
      if (s.trim() === "") return [];
      const items = s.split(",").map((x) => x.trim());
      items.forEach((x, i) => {
        if (x === "") ctx.addIssue({ code: "custom", message: emptyEntryProblem(i, items.length), path: [i] });
      });
      return items;
    })
    .pipe(distinct(z.array(item).min(1).max(most)))
    .optional()
    .openapi({ type: "string", description });
