/**
 * Event search (`GET /v1/events?q=…`): a query is a field's value (`data.conversation.uid=abc`,
 * a dotted path into the body), a filter document (`{"body": …}`, the language of webhook
 * filters), or else text found in the raw body (case-insensitive). Matching is pure; the
 * bound on how many events one search examines is the caller's.
 */
import { documentPath, FILTER_LIMITS, filterBudget, filterIssuePath, matchesFilter, regexSpent, regexWeight, validateFilter, workSpent, type Filter, type FilterBudget } from "./filter";
import { FilterInput, type EventContent } from "./match";
import { asciiJsonText, JSON_WRITERS } from "../domain/json-writers";
import { REPEATED_KEY, repeatedKey } from "../domain/documents";

/** Text: the forms (lower case) in which the text may be written in a raw body; one found is a match. */
type SearchQuery = { kind: "text"; lower: string[] } | { kind: "filter"; filter: Filter };

/** A dotted path into the body; a segment never starts with `$` (that would be an operator). */
const FIELD = /^([A-Za-z0-9_-][A-Za-z0-9_$-]*(?:\.[A-Za-z0-9_-][A-Za-z0-9_$-]*)*)=(.*)$/s;

export function parseSearch(q: string): { ok: true; query: SearchQuery } | { ok: false; path: string; message: string } {
  const text = q.trim();
  if (text === "") return { ok: false, path: "q", message: "the search is empty" };
  if (text.startsWith("{")) {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      return { ok: false, path: "q", message: "a search starting with { is a filter document, and this one is not valid JSON" };
    }
    const twice = repeatedKey(text);
    if (twice) return { ok: false, path: documentPath(twice, "q"), message: REPEATED_KEY };
    const r = validateFilter(doc);
    if (!r.ok) return { ok: false, path: r.issues[0] ? filterIssuePath("q", r.issues[0]) : "q", message: r.issues[0]?.message ?? "invalid filter" };
    return { ok: true, query: { kind: "filter", filter: r.filter } };
  }
  const field = FIELD.exec(text);
  if (field) {
    const [, path = "", value = ""] = field;
    // The value as written matches a string; when it reads as a number, boolean or null, that value too.
    const candidates: unknown[] = [value];
    // (Not one past JSON's numbers, `1e400`: Infinity is no JSON value, so that is text alone.)
    const n = Number(value);
    if (/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(value) && Number.isFinite(n)) candidates.push(n);
    if (value === "true" || value === "false" || value === "null") candidates.push(JSON.parse(value));
    const r = validateFilter({ body: { [path]: { $in: candidates } } });
    if (!r.ok) return { ok: false, path: "q", message: r.issues[0]?.message ?? "invalid field search" };
    return { ok: true, query: { kind: "filter", filter: r.filter } };
  }
  return { ok: true, query: { kind: "text", lower: textForms(text) } };
}

/**
 * The text in lower case, as a raw body lowered is compared: as typed, and as JSON writers quote it
 * (JSON_WRITERS: a message's quote or line break is `\"`, `\n` in its raw body, `é` may be `\u00e9`,
 * `/` `\/`, `<` `\u003c`); and its capitals escaped as capitals (`É` as `\u00c9`: lowering the body
 * leaves that escape apart from `é`'s), so a text in capitals is found so too. A text mixing escaped
 * capitals and small letters (`\u00c6r\u00f8`) is not found through its escapes.
 */
function textForms(text: string): string[] {
  const lower = text.toLowerCase();
  return [...new Set([lower, ...JSON_WRITERS.map((write) => write(lower)), asciiJsonText(text.toUpperCase()).toLowerCase()])];
}

/**
 * The `$regex` work one search (or range replay) call may do, in FILTER_LIMITS.regexWork's units:
 * before reading, characters of bodies examined times the filters' regex weight (regexWeight: each
 * `$regex` tests a string of a body at most once); as it examines them, the work their budgets spent
 * (CallWork: headers' strings too, which no body counts). At the dearest rate measured (~11 ns a
 * unit in workerd) about 0.75 s; an event's own budget (regexWork, ~23 ms) bounds one event, this the
 * thousand a call may examine (1,000 budgets would be 23 s).
 */
const SEARCH_REGEX_WORK = 64 * 1024 * 1024;

/** The characters of bodies one call examines: `maxChars`, fewer for a filter whose `$regex` conditions cost more per character. */
export function searchChars(query: SearchQuery, maxChars: number): number {
  return charsForRegexWeight(query.kind === "filter" ? regexWeight(query.filter) : 0, maxChars);
}

/** The characters of bodies a call that tests them with filters of this total regex weight examines (SEARCH_REGEX_WORK). */
export function charsForRegexWeight(weight: number, maxChars: number): number {
  return weight === 0 ? maxChars : Math.min(maxChars, Math.max(1, Math.floor(SEARCH_REGEX_WORK / weight)));
}

/**
 * The work of the other conditions (FILTER_LIMITS.work units, not `$regex`) that the filters of one
 * search or range replay call may spend over the events it examines, each event with a budget of
 * its own: four events' worth, about 300 ms at worst (workerd), under the ~1 s of its `$regex` part
 * (SEARCH_REGEX_WORK). Once spent, the call examines no further event (it always examines one) and
 * its cursor goes on from the last one examined; without it a call's 1,000 events could cost 1,000
 * budgets, over a minute. The call's last event may spend a budget more (its own, whole).
 */
export const CALL_FILTER_WORK = 4 * FILTER_LIMITS.work;

/** What a call's filters have spent (CALL_FILTER_WORK, SEARCH_REGEX_WORK), event by event, each event's budget fresh. */
export class CallWork {
  private spent = 0;
  private regex = 0;

  /** `f` with a fresh budget for one event; what it spends counts toward the call's. */
  measure<T>(f: (budget: FilterBudget) => T): T {
    const budget = filterBudget();
    try {
      return f(budget);
    } finally {
      this.spent += workSpent(budget);
      this.regex += regexSpent(budget);
    }
  }

  /** Whether the call has spent its bound: it examines no further event. */
  get exhausted(): boolean {
    return this.spent >= CALL_FILTER_WORK || this.regex >= SEARCH_REGEX_WORK;
  }
}

/** Whether the event matches; a filter document's conditions spend `budget` (a fresh one unless given). */
export function matchesSearch(query: SearchQuery, e: EventContent, budget: FilterBudget = filterBudget()): boolean {
  if (query.kind === "text") {
    const body = e.body.toLowerCase();
    return query.lower.some((t) => body.includes(t));
  }
  return matchesFilter(query.filter, new FilterInput(e).value, budget);
}
