/**
 * Content filters: a JSON document in the syntax Hookdeck and Convoy users know, matched against
 * `{ body, headers }` of an event. `validateFilter` turns an untrusted document into a `Filter` or
 * says precisely what is wrong and where; `matchesFilter` is a pure, total, bounded function.
 *
 * `$regex` runs on RE2 (re2js): matching is linear in the tested string whatever the pattern, so no
 * pattern can backtrack catastrophically; lookaround and backreferences, which need backtracking,
 * are refused when the filter is validated.
 */
import { RE2JS } from "re2js";
import { utf8Length } from "../domain/crypto";
import { jsonPrefix, quotedInput } from "../domain/cut-short";
import { isPlainObject, isRecord, own } from "../domain/guards";
import type { Json } from "../domain/types";
import { REPETITIONS_COUNT } from "../domain/regex-size";
import { findsIn, NO_ONE_PASS_INSTRUCTIONS, programWeight, withoutOnePass } from "./regex-weight";

/** A validated filter. Only `validateFilter` makes one (a `regex` node holds a compiled pattern). */
export type Filter =
  | { kind: "all"; of: Filter[] }
  | { kind: "any"; of: Filter[] }
  /** `op`: the operator written, when it was `$neq` or `$nin` (a `$not` of `$eq` or `$in`), for the reason a test gives. */
  | { kind: "not"; of: Filter; op?: "$neq" | "$nin" }
  /** The value under `key`; in an array, that of some object element. */
  | { kind: "field"; key: string; of: Filter }
  /**
   * The fields of one object pattern (two or more): they hold together, of the value or, in an
   * array, of one element, as Hookdeck matches an object against an array.
   */
  | { kind: "fields"; of: Extract<Filter, { kind: "field" }>[] }
  /** An array pattern: the value is an array and each pattern matches some element. */
  | { kind: "elements"; of: Filter[] }
  | { kind: "eq"; value: Json }
  | { kind: "in"; values: Json[] }
  | { kind: "compare"; op: "gt" | "gte" | "lt" | "lte"; value: number | string }
  | { kind: "text"; op: "startsWith" | "endsWith" | "contains"; value: string }
  /**
   * `size`: the pattern's program size (RE2 instructions), what compiling and holding it cost;
   * `weight`: its program weighed (programWeight), what testing one character costs at most.
   */
  | { kind: "regex"; source: string; pattern: RE2JS; size: number; weight: number }
  | { kind: "exist"; value: boolean };

export interface FilterIssue {
  /** Where in the filter document, e.g. `$.body.data.amount.$gt`. */
  path: string;
  message: string;
}

/**
 * A filter issue's path as the API reports it, under the field that holds the filter: a webhook's
 * `filter`, a search's `q`. One notation for both: a key that is a name as `.key`, any other (a
 * dotted path, `x-y`, text with spaces) quoted as `["…"]`, so a key is told from a path through it.
 */
export function filterIssuePath(field: string, issue: FilterIssue): string {
  return `${field}${issue.path.slice(1)}`;
}

export const FILTER_LIMITS = {
  /** The filter document as JSON, in UTF-8 bytes. */
  bytes: 8192,
  /** Nesting of objects and arrays in the document. */
  depth: 16,
  /** Literals and operators together. */
  conditions: 128,
  regexes: 8,
  regexLength: 256,
  /**
   * A pattern's compiled program, in RE2 instructions, read from its text before it is compiled
   * (regexSizeBound): compiling takes time in proportion, and counted repetitions let 256
   * characters spell 26,000 instructions (`(?:a{1000}|b{1000}|…)`, about 55 ms a compile in
   * workerd, 8 to a filter). At this bound 8 patterns compile in about 20 ms at worst (long runs of
   * one literal), 3–5 ms otherwise; a pattern without counted repetitions (a 256-character
   * alternation of words is about 250) stays well under it. A stored filter is not held to it.
   */
  regexProgram: 1024,
  /**
   * The programs of every webhook's filter together, in RE2 instructions, a pattern counted at least
   * `regexCharge` (programCharge; checked when a filter is saved: api/filter-programs.ts). A fresh
   * isolate compiles them all in its first batch, so this bounds that batch's compiling: measured in
   * workerd (2026-12-05), 320 patterns of ~1,000 instructions (40 filters of 8) compiled in 444 ms
   * (long literal runs, the costliest) or 302 ms (classes), so 256 Ki about 0.36 s at worst; compiled,
   * about 80 bytes an instruction (some 20 MB). Without it 259 filters of 8 such patterns outgrew the
   * isolate's cache, and every batch compiled them all again (17–20 s).
   */
  accountRegexProgram: 256 * 1024,
  /**
   * The part of `accountRegexProgram` one owner's webhooks may hold together (an eighth): their
   * organization (or the one a location webhook is confined to), else their location; a catch-all
   * counts toward the account only. So one tenant's token cannot take the whole bound and leave
   * other organizations unable to save a filter (checked on save and held by migrations 0054, 0055:
   * only a filter that counts more than its webhook did is held to it).
   */
  ownerRegexProgram: 32 * 1024,
  /**
   * What a pattern counts toward `accountRegexProgram` at least: compiling a small one costs about
   * what 128 instructions of a large one do (320 patterns of 25 instructions: 56 ms), so 2,048
   * small patterns are about as costly as the bound.
   */
  regexCharge: 128,
  /** `$regex` never matches a longer string, so one event costs at most this per pattern and string. */
  regexInput: 16384,
  /**
   * The work the `$regex` conditions of the filters tested on one event may do together, in
   * characters tested times the pattern's program weighed (programWeight, regex-weight.ts: RE2's
   * matching is linear in both, `[a-z]{1000}` keeps up to a thousand threads alive at each character,
   * and a folded rune or a class of many ranges costs more a thread). Charged before each find, by
   * the whole string. Past it a `$regex` does not match. The engines a find runs on (findsIn: never
   * the lazy DFA) took 4–11 ns a unit in workerd with every thread alive (TRANSFORM_LIMITS.regexWorkPerStep),
   * so about 20–25 ms an event at the dearest. Charged by program size and run on the DFA, a filter of
   * 8 × `(?i)[kι]\pL{12}[xy]` spent about 1 s an event (2.9 s at worst) in workerd; now 14 tests of
   * 2,000 characters, then none: 6–14 ms an event in workerd (vitest's pool, the whole budget spent),
   * 8 × `(?i)k{300}x` over Kelvin signs 6–13, 8 × `(?i)(?:ικ|κι|.){120}[xy]` over folded Greek 9–12.
   */
  regexWork: 2 * 1024 * 1024,
  /**
   * What each `$regex` test costs besides its characters (a matcher made, an engine picked): ~0.3 µs,
   * where a tiny pattern's character is ~30 ns. Charged by characters alone, 8 × `[xy]` over 87,000
   * empty strings spent the whole budget in ~349,000 tests: 137–195 ms an event in workerd.
   */
  regexWorkPerTest: 64,
  /**
   * The work every other condition of the filters tested on one event may do together, in values
   * visited: a condition tested on a value, an element of an array a condition walks, a value (or
   * an object's key) compared by `$eq`/`$in`, 8 characters compared by a text operator or `$gt`….
   * Past it a condition does not match. About 75 ms at worst (workerd); without it one filter of 8 KiB
   * (`$in` of 4,000 values over an array of 130,000) spent 4.7 s on one 256 KiB event.
   */
  work: 2 * 1024 * 1024,
  /** Characters a text comparison examines for one unit of `work` (they cost far less than a value visited). */
  charsPerWork: 8,
} as const;

/**
 * What is left of an evaluation's `regexWork` (`left`) and `work`. Routing gives one to an event and
 * passes it to every webhook's filter in turn (routing/match.ts), so an event costs one budget
 * however many filters test it.
 */
export interface FilterBudget {
  left: number;
  work: number;
  /** The parsed objects whose keys this budget has paid for (`keyCount`): once per event's budget, not once per filter. */
  readonly keysPaid: WeakSet<object>;
}
export const filterBudget = (): FilterBudget => ({ left: FILTER_LIMITS.regexWork, work: FILTER_LIMITS.work, keysPaid: new WeakSet() });
/** What a budget, fresh for one event, has spent of its `work` (the other conditions', not `$regex`). */
export const workSpent = (b: FilterBudget): number => FILTER_LIMITS.work - b.work;
/** What a budget, fresh for one event, has spent of its `$regex` work (`left`). */
export const regexSpent = (b: FilterBudget): number => FILTER_LIMITS.regexWork - b.left;

const COMPARE = { $gt: "gt", $gte: "gte", $lt: "lt", $lte: "lte" } as const;
const TEXT = { $startsWith: "startsWith", $endsWith: "endsWith", $contains: "contains" } as const;
/** Spellings from other filter languages, answered with ours. */
const DID_YOU_MEAN: Record<string, string> = { $ne: "$neq", $exists: "$exist", $nor: "$not with $or", $regexp: "$regex" };

/**
 * `given`: a filter someone is writing (a webhook's, a search's), where what could never match or
 * would match every event is refused: a header compared with anything but a string, the headers
 * compared whole with anything but an object of names, a header named twice in two cases, an empty
 * filter in a top-level `$and`/`$or`/`$not`. A stored filter is read without those checks, so one
 * saved before them keeps meaning what it meant (a `$neq: 5` on a header matches every event,
 * `{"$or": [{}]}` too).
 */
export function validateFilter(doc: unknown, opts: { given: boolean } = { given: true }): { ok: true; filter: Filter } | { ok: false; issues: FilterIssue[] } {
  const bytes = jsonBytes(doc);
  if (bytes === null) return { ok: false, issues: [{ path: "$", message: "the filter is not a JSON document" }] };
  if (bytes > FILTER_LIMITS.bytes) {
    return {
      ok: false,
      issues: [{ path: "$", message: `the filter is ${bytes} bytes of JSON; the limit is ${FILTER_LIMITS.bytes}` }],
    };
  }
  if (!isPlainObject(doc)) {
    return {
      ok: false,
      issues: [{ path: "$", message: 'a filter is a JSON object, e.g. {"body": {"type": "invoice.paid"}}' }],
    };
  }
  const v = new Validator(opts.given);
  const filter = v.object(doc, "$", 1, []);
  return v.issues.length > 0 ? { ok: false, issues: v.issues } : { ok: true, filter };
}

/** Whether the input matches; its conditions spend `budget` (a fresh one unless given: one shared by several filters). */
export function matchesFilter(filter: Filter, input: { body: unknown; headers: Record<string, string> }, budget: FilterBudget = filterBudget()): boolean {
  try {
    const headers = Object.fromEntries(Object.entries(input.headers).map(([name, value]) => [name.toLowerCase(), value]));
    return test(filter, { body: input.body, headers }, budget);
  } catch {
    // Only an input that is not plain data (a throwing getter, a proxy) gets here: such an
    // event cannot be shown to match, and routing must not crash on it.
    return false;
  }
}

/**
 * Why an input does not match: the first condition that fails, with the event's value there
 * (`body.data.channel.type is "email", not "sms"`), or null when it matches. For people
 * testing a webhook; routing only needs `matchesFilter`.
 */
export function explainMismatch(filter: Filter, input: { body: unknown; headers: Record<string, string> }): string | null {
  if (matchesFilter(filter, input)) return null;
  try {
    const headers = Object.fromEntries(Object.entries(input.headers).map(([name, value]) => [name.toLowerCase(), value]));
    // One budget for the whole explanation: `why` tests each condition once on its way down, as matching does.
    const budget = filterBudget();
    const reason = why(filter, { body: input.body, headers }, "", budget);
    // Once the work budget ran out every condition failed: the first failing one is then no reason.
    if (budget.work === 0) return WORK_SPENT;
    return reason ?? "the event does not match the filter";
  } catch {
    return "the event is not plain data";
  }
}

const OP_SYMBOL = { gt: ">", gte: ">=", lt: "<", lte: "<=" } as const;

/** Why a filter whose own conditions ran out of the event's work budget excludes it. */
export const WORK_SPENT =
  "its conditions exceed the event's filter work budget (walking this event's arrays and objects costs more than a filter may spend), so it excludes the event";

/**
 * Why `f` does not match `v`, or null. `$and` and a field of an object are not tested before going
 * down into them (their parts are, there): testing each level again on the way down spent the budget
 * again at each, so that a costly condition that matches could fail there and be named the reason.
 */
function why(f: Filter, v: unknown, at: string, b: FilterBudget): string | null {
  if (f.kind === "field" && !Array.isArray(v)) return why(f.of, isRecord(v) ? own(v, f.key) : undefined, at ? `${at}.${f.key}` : f.key, b);
  // An object pattern's fields over an object (not an array) are a conjunction, as `$and` is.
  if (f.kind === "all" || (f.kind === "fields" && !Array.isArray(v))) {
    for (const g of f.of) {
      const reason = why(g, v, at, b);
      if (reason) return reason;
    }
    return null;
  }
  // Each alternative's own reason, tested once as matching tests it (it stops at the first that matches).
  if (f.kind === "any") {
    const reasons: string[] = [];
    for (const [i, g] of f.of.entries()) {
      const reason = why(g, v, at, b);
      if (reason === null) return null;
      reasons.push(`$or[${i}]: ${reason}`);
    }
    return `none of the $or alternatives matches ${at || "the event"} (${reasons.join("; ")})`;
  }
  // What the `$regex` budget held before this test: a pattern it could not pay for was never tested.
  const left = b.left;
  if (test(f, v, b)) return null;
  const here = at || "the event";
  switch (f.kind) {
    case "not":
      return f.op ? `${here} is ${shown(v)}, which ${f.op} excludes` : `${here} matches what $not excludes`;
    case "field":
      return `no element of ${here} has a matching ${f.key}`;
    case "fields":
      return `no element of ${here} has a matching ${f.of.map((g) => g.key).join(" and ")} together`;
    case "elements":
      return `${here} is ${shown(v)}, not an array with an element matching each pattern`;
    case "eq":
      return `${here} is ${shown(v)}, not ${shown(f.value)}`;
    case "in":
      return `${here} is ${shown(v)}, not one of ${shown(f.values)}`;
    case "compare":
      return `${here} is ${shown(v)}, not ${OP_SYMBOL[f.op]} ${shown(f.value)}`;
    case "text":
      return `${here} is ${shown(v)}, which does not ${f.op === "contains" ? "contain" : f.op === "startsWith" ? "start with" : "end with"} ${shown(f.value)}`;
    case "regex":
      // Said apart: "\"aaaa…\", which does not match /a/" reads as a wrong answer.
      if (typeof v === "string" && v.length > FILTER_LIMITS.regexInput) {
        return `${here} is a string of ${v.length} characters, and $regex never matches one over ${FILTER_LIMITS.regexInput}`;
      }
      if (typeof v === "string" && regexCost(f, v) > left) {
        return `${here} is a string of ${v.length} characters, which /${f.source}/ would cost more to test than is left of the event's $regex work budget, so it does not match`;
      }
      return `${here} is ${shown(v)}, which does not match /${f.source}/`;
    case "exist":
      return f.value ? `${here} is missing` : `${here} exists`;
  }
}

/**
 * A value as a reason shows it: JSON, whole when it is at most 80 UTF-16 units, else its first 77 and
 * an ellipsis (a string's inside its quotes, so they still close), cut at a whole character and escape.
 */
function shown(v: unknown): string {
  if (v === undefined) return "missing";
  const text = JSON.stringify(v) ?? String(v);
  if (text.length <= 80) return text;
  return `${jsonPrefix(text, 77)}…${typeof v === "string" ? '"' : ""}`;
}

function test(f: Filter, v: unknown, b: FilterBudget): boolean {
  // Every condition tested on a value is a unit of work: an array's elements each cost one (`field`,
  // `elements`), so walking arrays of a big event with many conditions runs out, not on.
  if (!work(b, 1)) return false;
  switch (f.kind) {
    case "all":
      return f.of.every((g) => test(g, v, b));
    case "any":
      return f.of.some((g) => test(g, v, b));
    case "not":
      return !test(f.of, v, b);
    case "field":
      // Over an array, some element's field; an element that is no object has it missing, and so
      // does an empty array: `$exist: false` and the negations match there as anywhere it is missing.
      if (Array.isArray(v)) return v.length === 0 ? test(f.of, undefined, b) : some(v, b, (e) => test(f.of, isRecord(e) ? own(e, f.key) : undefined, b));
      return test(f.of, isRecord(v) ? own(v, f.key) : undefined, b);
    case "fields":
      // Over an array, one element holds them all (an array inside it, one of its elements); over
      // an empty one each field is missing, as for `field`.
      if (Array.isArray(v)) return v.length === 0 ? f.of.every((g) => test(g, undefined, b)) : some(v, b, (e) => test(f, e, b));
      return f.of.every((g) => test(g, v, b));
    case "elements":
      return Array.isArray(v) && f.of.every((g) => some(v, b, (e) => test(g, e, b)));
    case "eq":
      return equalOrHas(v, f.value, b);
    case "in":
      return some(f.values, b, (x) => equalOrHas(v, x, b));
    case "compare":
      return anyScalar(v, b, (s) => (typeof s !== "string" || work(b, chars(Math.min(s.length, String(f.value).length)))) && compare(f.op, s, f.value));
    case "text":
      return anyScalar(v, b, (s) => typeof s === "string" && work(b, chars(textCost(f.op, s, f.value))) && textTest(f.op, s, f.value));
    case "regex":
      return anyScalar(v, b, (s) => typeof s === "string" && s.length <= FILTER_LIMITS.regexInput && spend(b, regexCost(f, s)) && findsIn(f.pattern, s));
    case "exist":
      return (v !== undefined) === f.value;
  }
}

/**
 * What testing `s` costs a `$regex`, charged before it runs: one unanchored find reads each character
 * at most once at each instruction, so the string's length times the weighed program (findsIn: never
 * re2js's lazy DFA). An empty string counts a character: a find goes through the program at one
 * position at least (`(?:a?){500}b` over "": ~6 µs in node, once charged nothing, 87,000 of them in
 * one body's array); and each test its fixed cost (regexWorkPerTest).
 */
const regexCost = (f: Extract<Filter, { kind: "regex" }>, s: string): number => Math.max(s.length, 1) * f.weight + FILTER_LIMITS.regexWorkPerTest;

/** The sum over a filter's `$regex` conditions of `size` of each. */
function sumRegexes(f: Filter, size: (regex: Extract<Filter, { kind: "regex" }>) => number): number {
  switch (f.kind) {
    case "all":
    case "any":
    case "elements":
    case "fields":
      return f.of.reduce((n: number, g: Filter) => n + sumRegexes(g, size), 0);
    case "not":
    case "field":
      return sumRegexes(f.of, size);
    case "regex":
      return size(f);
    default:
      return 0;
  }
}

/** What testing one character costs a filter at most, in `regexWork` units: the weights of its `$regex` conditions' programs. */
export const regexWeight = (f: Filter): number => sumRegexes(f, (r) => r.weight);

/** The RE2 instructions a filter's `$regex` conditions compile to (what holding it compiled costs). */
export const regexInstructions = (f: Filter): number => sumRegexes(f, (r) => r.size);

/** What a filter counts toward FILTER_LIMITS.accountRegexProgram: its patterns' sizes, each at least `regexCharge`. */
export const programCharge = (f: Filter): number => sumRegexes(f, (r) => Math.max(r.size, FILTER_LIMITS.regexCharge));

/** Takes `cost` from the `$regex` budget if that much is left (a shorter string may still fit). */
function spend(b: FilterBudget, cost: number): boolean {
  if (cost > b.left) return false;
  b.left -= cost;
  return true;
}

/** Takes `cost` from the `work` budget; once short, it is spent: every condition from then on fails at once. */
function work(b: FilterBudget, cost: number): boolean {
  if (cost > b.work) {
    b.work = 0;
    return false;
  }
  b.work -= cost;
  return true;
}

/** Characters examined, in units of work. */
const chars = (n: number): number => 1 + Math.floor(n / FILTER_LIMITS.charsPerWork);

/** What a text operator examines at most: `includes` the whole string and the pattern, the others the shorter. */
function textCost(op: "startsWith" | "endsWith" | "contains", s: string, x: string): number {
  return op === "contains" ? s.length + x.length : Math.min(s.length, x.length);
}

/** Equal, or an array with an equal element. */
function equalOrHas(v: unknown, x: Json, b: FilterBudget): boolean {
  return deepEqual(v, x, b) || (Array.isArray(v) && some(v, b, (e) => deepEqual(e, x, b)));
}

/** Recursion follows `x`, which is a validated, bounded document; each value compared is a unit of work, and each key of an object. */
function deepEqual(v: unknown, x: Json, b: FilterBudget): boolean {
  if (!work(b, 1)) return false;
  if (x === null || typeof x !== "object") return typeof v === "string" && typeof x === "string" ? work(b, chars(Math.min(v.length, x.length))) && v === x : v === x;
  if (Array.isArray(x)) return Array.isArray(v) && v.length === x.length && x.every((xi, i) => deepEqual(v[i], xi, b));
  if (!isRecord(v)) return false;
  const keys = Object.keys(x);
  return keyCount(v, b) === keys.length && keys.every((k) => Object.hasOwn(v, k) && deepEqual(v[k], x[k] ?? null, b));
}

// An event's parsed objects, never changed, are the same for every filter and condition that tests it: listing one's keys
// (about 90 ns a key in a wide object) is done once, not once per `$in` value and webhook.
const keyCounts = new WeakMap<object, number>();
/**
 * How many keys `v` has; the first time for a budget it costs their number (-1 once the budget is out). Paid once per
 * budget, not once ever: else what a filter costs would depend on what an earlier evaluation of the same parsed event
 * listed (the webhook test checks the filter alone, then as routing tests it).
 */
function keyCount(v: Record<string, unknown>, b: FilterBudget): number {
  let n = keyCounts.get(v);
  if (n === undefined) {
    n = Object.keys(v).length;
    keyCounts.set(v, n);
  }
  if (!b.keysPaid.has(v)) {
    b.keysPaid.add(v);
    if (!work(b, n)) return -1;
  }
  return n;
}

/** The value itself, or one element of it when it is an array (each a unit of work). */
function anyScalar(v: unknown, b: FilterBudget, pred: (s: unknown) => boolean): boolean {
  return pred(v) || (Array.isArray(v) && some(v, b, pred));
}

/**
 * Whether some element satisfies `pred`, each element a unit of work: it stops when the budget is
 * out (`Array.some` would walk on, each element failing at once, but walk all 100,000 of them).
 */
function some<T>(xs: readonly T[], b: FilterBudget, pred: (x: T) => boolean): boolean {
  for (const x of xs) {
    if (!work(b, 1)) return false;
    if (pred(x)) return true;
  }
  return false;
}

/** Numbers compare with numbers and strings with strings (ISO times in one format sort in time order). */
function compare(op: "gt" | "gte" | "lt" | "lte", s: unknown, x: number | string): boolean {
  let order: number;
  if (typeof s === "number" && typeof x === "number") order = s < x ? -1 : s > x ? 1 : 0;
  else if (typeof s === "string" && typeof x === "string") order = s < x ? -1 : s > x ? 1 : 0;
  else return false;
  return op === "gt" ? order > 0 : op === "gte" ? order >= 0 : op === "lt" ? order < 0 : order <= 0;
}

function textTest(op: "startsWith" | "endsWith" | "contains", s: string, x: string): boolean {
  return op === "startsWith" ? s.startsWith(x) : op === "endsWith" ? s.endsWith(x) : s.includes(x);
}

class Validator {
  constructor(private readonly given: boolean) {}
  issues: FilterIssue[] = [];
  private conditions = 0;
  private regexes = 0;

  /**
   * `at` is the field path from the top of the filter while it is known (not inside an array
   * pattern): it places `body`/`headers` and lower-cases header names, as HTTP compares them.
   */
  object(obj: Record<string, unknown>, path: string, depth: number, at: string[] | null): Filter {
    const entries = Object.entries(obj);
    if (entries.length === 0) {
      // The whole filter `{}` is every event; one inside `$and`, `$or`, `$not` at the top says nothing there
      // (refused when given; a stored one keeps its meaning: every event, under `$not` none).
      if (this.given ? path !== "$" : at?.length !== 0) this.issue(path, at?.length === 0 ? "an empty filter matches every event (under $not, none): leave it out" : 'an empty object matches nothing in particular: use {"$exist": true}');
      return { kind: "all", of: [] };
    }
    if (this.given && atHeaders(at)) {
      // Compared in lower case, two spellings of one name are one header (which has one value).
      const seen = new Set<string>();
      for (const [key] of entries) {
        const name = key.startsWith("$") ? "" : (key.split(".")[0] ?? "").toLowerCase();
        if (seen.has(name)) this.issue(pathStep(path, key), "this header is given twice (names are compared in lower case)");
        if (name) seen.add(name);
      }
    }
    const parts = entries.map(([key, value]) =>
      key.startsWith("$") ? this.operator(key, value, pathStep(path, key), depth, at) : this.field(key, value, path, depth, at),
    );
    // The fields hold together (one node where the first of them was), the operators beside them each on its own.
    const fields = mergeFields(parts.filter(isField));
    const together: Filter[] = fields.length > 1 ? [{ kind: "fields", of: fields }] : fields;
    const first = parts.findIndex(isField);
    const all = first < 0 ? parts : [...parts.slice(0, first), ...together, ...parts.slice(first).filter((p) => !isField(p))];
    return all.length === 1 && all[0] ? all[0] : { kind: "all", of: all };
  }

  private field(key: string, value: unknown, path: string, depth: number, at: string[] | null): Filter {
    const here = pathStep(path, key);
    // A dotted key is a path: {"data.object.amount": 1} is {"data": {"object": {"amount": 1}}}.
    const segments = key.split(".");
    if (segments.some((s) => s === "")) this.issue(here, "a field path has an empty segment");
    if (at?.length === 0 && segments[0] !== "body" && segments[0] !== "headers") {
      this.issue(here, `unknown field ${JSON.stringify(excerpt(segments[0] ?? ""))}: a filter matches {"body": …, "headers": …}`);
    }
    // Header names are case-insensitive: the second step of a `headers` path is compared in lower case.
    const nameAt = at && (at.length === 0 ? segments[0] : at[0]) === "headers" ? 1 - at.length : -1;
    if (nameAt >= 0 && nameAt < segments.length) segments[nameAt] = segments[nameAt]?.toLowerCase() ?? "";
    const full = at ? [...at, ...segments] : null;
    // Said once, where the path first goes below a header's name: a string has no fields.
    if (this.given && full?.[0] === "headers" && full.length > 2 && at && at.length <= 2) {
      this.issue(here, `a header's value is a string, with no field ${JSON.stringify(excerpt(full[2] ?? ""))} under it: compare the header with a string`);
    }
    const inner = this.pattern(value, here, depth + 1, full);
    return segments.reduceRight<Filter>((of, k) => ({ kind: "field", key: k, of }), inner);
  }

  private pattern(value: unknown, path: string, depth: number, at: string[] | null): Filter {
    if (depth > FILTER_LIMITS.depth) return this.fail(path, `nested deeper than ${FILTER_LIMITS.depth} levels`);
    if (isPlainObject(value)) return this.object(value, path, depth, at);
    if (at?.length === 0) return this.fail(path, "at the top level, a filter is an object with body or headers");
    if (this.given && atHeaders(at)) return this.fail(path, HEADERS);
    this.count(path);
    if (Array.isArray(value)) {
      if (value.length === 0) {
        return this.fail(path, 'an empty array is ambiguous: use {"$eq": []} for an empty array');
      }
      if (this.given && at?.length === 2 && at[0] === "headers") {
        return this.fail(path, "a header's value is a string, not an array: compare it with a string, or with several in $in");
      }
      return { kind: "elements", of: value.map((e, i) => this.pattern(e, `${path}[${i}]`, depth + 1, null)) };
    }
    const json = this.json(value, path, depth);
    this.headerValue(json, path, at);
    return { kind: "eq", value: json };
  }

  /** A header's value is one string: a number, boolean, null, object or array there would never match (refused, not saved to match nothing). */
  private headerValue(x: Json, path: string, at: string[] | null): void {
    if (!this.given) return;
    if (atHeaders(at) && !isPlainObject(x)) this.issue(path, HEADERS);
    else if (at?.length === 2 && at[0] === "headers" && typeof x !== "string") {
      const example = JSON.stringify(x) ?? "";
      this.issue(path, `a header's value is a string: compare it with one${example === excerpt(example) ? `, e.g. ${JSON.stringify(example)}` : ""}`);
    }
  }

  private operator(name: string, operand: unknown, path: string, depth: number, at: string[] | null): Filter {
    this.count(path);
    const logical = name === "$and" || name === "$or" || name === "$not";
    if (at?.length === 0 && !logical && name in OPERATORS) {
      return this.fail(path, `${name} tests a field's value: at the top level, use body or headers, or $and, $or, $not`);
    }
    // The headers are always an object: compared with a string or a number they never match, $exist
    // says nothing, and compared whole with an object they match only that exact set, names as sent.
    if (this.given && atHeaders(at) && !logical && name in OPERATORS) return this.fail(path, `${name} on the headers themselves: ${HEADERS}`);
    switch (name) {
      case "$and":
      case "$or": {
        if (!Array.isArray(operand) || operand.length === 0) return this.fail(path, `${name} takes a non-empty array of filters`);
        const of = operand.map((f, i) => this.pattern(f, `${path}[${i}]`, depth + 2, at));
        return { kind: name === "$and" ? "all" : "any", of };
      }
      case "$not":
        return { kind: "not", of: this.pattern(operand, path, depth + 1, at) };
      case "$eq":
      case "$neq": {
        const value = this.json(operand, path, depth);
        this.headerValue(value, path, at);
        return name === "$eq" ? { kind: "eq", value } : { kind: "not", of: { kind: "eq", value }, op: name };
      }
      case "$in":
      case "$nin": {
        if (!Array.isArray(operand) || operand.length === 0) {
          const hint = typeof operand === "string" ? "; to find text inside a string, use $contains" : "";
          return this.fail(path, `${name} takes a non-empty array of values${hint}`);
        }
        const values = operand.map((x, i) => this.json(x, `${path}[${i}]`, depth + 1));
        values.forEach((x, i) => this.headerValue(x, `${path}[${i}]`, at));
        return name === "$in" ? { kind: "in", values } : { kind: "not", of: { kind: "in", values }, op: name };
      }
      case "$gt":
      case "$gte":
      case "$lt":
      case "$lte":
        if (typeof operand === "string" || (typeof operand === "number" && Number.isFinite(operand))) {
          this.headerValue(operand, path, at);
          return { kind: "compare", op: COMPARE[name], value: operand };
        }
        return this.fail(path, typeof operand === "number" ? notJson(operand) : `${name} takes a number or a string`);
      case "$startsWith":
      case "$endsWith":
      case "$contains":
        if (typeof operand === "string") return { kind: "text", op: TEXT[name], value: operand };
        return this.fail(path, `${name} takes a string`);
      case "$regex":
        return this.regex(operand, path);
      case "$exist":
        if (typeof operand === "boolean") return { kind: "exist", value: operand };
        return this.fail(path, "$exist takes true or false");
      default: {
        const hint = DID_YOU_MEAN[name] ? ` (did you mean ${DID_YOU_MEAN[name]}?)` : "";
        return this.fail(path, `unknown operator ${NAME.test(name) ? name : JSON.stringify(excerpt(name))}${hint}`);
      }
    }
  }

  private regex(operand: unknown, path: string): Filter {
    if (typeof operand !== "string") return this.fail(path, "$regex takes a string");
    if (operand.length > FILTER_LIMITS.regexLength) {
      return this.fail(path, `the pattern is ${operand.length} UTF-16 code units (an emoji is two); the limit is ${FILTER_LIMITS.regexLength}`);
    }
    if (++this.regexes > FILTER_LIMITS.regexes) return this.fail(path, `more than ${FILTER_LIMITS.regexes} $regex in one filter`);
    // Anchored at its start, compiled without re2js's one-pass program (withoutOnePass): `^\pL{990}`
    // ×8 took ~1 s to compile and held 65 MB; wrapped, ~0.1 s and 0.1 MB. Its three instructions more are not counted.
    const { pattern: compiled, bound: wrappedBound } = withoutOnePass(operand, "");
    const wrapper = compiled === operand ? 0 : NO_ONE_PASS_INSTRUCTIONS;
    // Refused from its text, before compiling it costs what it would.
    const bound = wrappedBound - wrapper;
    if (this.given && bound > FILTER_LIMITS.regexProgram) return this.fail(path, programTooLarge(`up to ${bound}`));
    try {
      const pattern = RE2JS.compile(compiled);
      const size = pattern.programSize() - wrapper;
      if (this.given && size > FILTER_LIMITS.regexProgram) return this.fail(path, programTooLarge(String(size)));
      return { kind: "regex", source: operand, pattern, size, weight: programWeight(pattern) };
    } catch (e) {
      // RE2 quotes the part of the pattern it stopped at, which may be the rest of it.
      const why = (e instanceof Error ? e.message.replace(/^error parsing regexp: /, "") : String(e)).replace(/`([\s\S]*)`$/, (_, part: string) => `\`${excerpt(part)}\``);
      return this.fail(path, `unsupported pattern (${why}); RE2 syntax, without lookaround or backreferences`);
    }
  }

  /** An operand of $eq / $in: any JSON value, within the depth bound. */
  private json(value: unknown, path: string, depth: number): Json {
    if (depth > FILTER_LIMITS.depth) {
      this.issue(path, `nested deeper than ${FILTER_LIMITS.depth} levels`);
      return null;
    }
    if (value === null || typeof value === "string" || typeof value === "boolean") return value;
    if (typeof value === "number" && Number.isFinite(value)) return value;
    if (Array.isArray(value)) return value.map((e, i) => this.json(e, `${path}[${i}]`, depth + 1));
    if (isPlainObject(value)) {
      // fromEntries defines own properties, so a "__proto__" key stays a key.
      return Object.fromEntries(Object.entries(value).map(([k, e]) => [k, this.json(e, pathStep(path, k), depth + 1)]));
    }
    this.issue(path, notJson(value));
    return null;
  }

  private count(path: string): void {
    if (++this.conditions === FILTER_LIMITS.conditions + 1) {
      this.issue(path, `more than ${FILTER_LIMITS.conditions} conditions in one filter`);
    }
  }

  private fail(path: string, message: string): Filter {
    this.issue(path, message);
    return { kind: "all", of: [] };
  }

  private issue(path: string, message: string): void {
    this.issues.push({ path, message });
  }
}

/** Why a number JSON.parse read as Infinity (`1e400`, which JSON would write as null) is refused (the dashboard's words too). */
export const OUT_OF_RANGE = "not a JSON value (a number out of range: beyond ±1.8e308)";
const notJson = (v: unknown): string => (v === Infinity || v === -Infinity ? OUT_OF_RANGE : "not a JSON value");

/** Whether `at` (Validator's) is the headers object itself, `{"headers": …}`. */
const atHeaders = (at: string[] | null): boolean => at?.length === 1 && at[0] === "headers";
const HEADERS = 'the headers are an object of names and values, so this could never tell events apart: compare a header by its name, e.g. {"headers": {"x-github-event": "push"}}';

/** Why a pattern is refused for its compiled size (`size`: the instructions, or a bound of them). */
const programTooLarge = (size: string): string =>
  `the pattern compiles to ${size} RE2 instructions, ${REPETITIONS_COUNT}; the limit is ${FILTER_LIMITS.regexProgram}`;

const OPERATORS: Record<string, true> = Object.fromEntries(
  ["$eq", "$neq", "$in", "$nin", "$gt", "$gte", "$lt", "$lte", "$exist", "$startsWith", "$endsWith", "$contains", "$regex"].map(
    (op) => [op, true],
  ),
);

type FieldFilter = Extract<Filter, { kind: "field" }>;
const isField = (f: Filter): f is FieldFilter => f.kind === "field";

/**
 * One object pattern's fields with those under the same key merged, so a dotted key is the
 * nested pattern it spells: `{"lines.price": "gold", "lines.qty": 5}` is `{"lines": {"price":
 * "gold", "qty": 5}}`, both fields of one element. Merged only where each is itself fields (a
 * key given a value and a path under it, `{"a": 5, "a.b": 1}`, stay two conditions).
 */
function mergeFields(fields: FieldFilter[]): FieldFilter[] {
  const out: FieldFilter[] = [];
  for (const f of fields) {
    const these = fieldsUnder(f.of);
    const at = these === null ? -1 : out.findIndex((g) => g.key === f.key && fieldsUnder(g.of) !== null);
    const prior = out[at];
    const priorOf = prior ? fieldsUnder(prior.of) : null;
    if (these === null || priorOf === null) {
      out.push(f);
      continue;
    }
    const [only, ...more] = mergeFields([...priorOf, ...these]);
    if (only) out[at] = { kind: "field", key: f.key, of: more.length === 0 ? only : { kind: "fields", of: [only, ...more] } };
  }
  return out;
}

/** The fields a pattern is made of, or null when it is more than fields. */
function fieldsUnder(f: Filter): FieldFilter[] | null {
  return f.kind === "field" ? [f] : f.kind === "fields" ? f.of : null;
}

/** A JSONPath-like step: `$.body.type`, `$.headers["x-github-event"]`. */
export function pathStep(path: string, key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(excerpt(key))}]`;
}

/** A path into a JSON document (repeatedKey's: an array's element by its index) in that notation, under `field` or at the top. */
export const documentPath = (path: readonly (string | number)[], field = ""): string =>
  path.reduce<string>((p, k) => (typeof k === "number" ? `${p}[${k}]` : pathStep(p, k)), field).replace(/^\./, "");

/** A name of the characters field names, header names and operators are made of. */
const NAME = /^[A-Za-z0-9_$.-]{1,128}$/;

/** The filter's own text as an issue quotes it (a key, an operator, a pattern): a search's issue is the dashboard's events page's banner. */
const excerpt = (text: string): string => quotedInput(text, NAME);

function jsonBytes(doc: unknown): number | null {
  try {
    const text = JSON.stringify(doc);
    return typeof text === "string" ? utf8Length(text) : null;
  } catch {
    return null; // cycles, BigInt
  }
}

/** Own properties only, so `constructor` or `__proto__` never reach the prototype. */
