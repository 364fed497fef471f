import { seal, sha256Hex, unseal } from "../domain/crypto";
import { invalidField } from "../domain/errors";
import type { DeliveryStatus } from "../domain/delivery";
import type { EventFilter } from "../store/events";

/**
 * Opaque list cursors: the position to continue from, sealed (domain/crypto.ts, under
 * TOKEN_PEPPER) for the list that gave it, where it alone opens. A position is an insertion
 * sequence or a time shared by every tenant (where a walk stopped is as often as not another's
 * row), so it is never shown, and one cannot be made up.
 */
type CursorEnv = { TOKEN_PEPPER?: string };

/**
 * Each list's filters, as it reads them (`since` and `until` as instants, however spelt; `open` as yes
 * or no, given or not): what its cursors are bound to. With other filters a position would go on over
 * what they select, passing over, without a word, all they would have listed before it: such a cursor
 * answers 400. `limit` is no filter (a page size may change between pages), nor is what a page shows
 * of each row (dead letters' `withMessage`). A list by name here: a misspelt one is no new scope.
 */
interface ListFilters {
  /** The plain list, a time list (`since`, `until`) and a search (`q`) alike: the filters tell them apart. */
  events: EventFilter & { q?: string; since?: number; until?: number };
  deliveries: { status?: DeliveryStatus; webhookUid?: string; eventId?: string };
  "dead letters": { open: boolean };
  "bulk retry": { status: DeliveryStatus; webhookUid?: string; since?: number };
  "range replay": { since: number; until: number; webhookUid?: string; eventType?: string; dryRun: boolean };
  webhooks: NoFilters;
  sources: NoFilters;
  tokens: NoFilters;
  "notification endpoints": NoFilters;
  alerts: NoFilters;
  "event types": NoFilters;
  "stats webhooks": NoFilters;
}
/** The filters of a list that takes none: a filter given it by mistake does not type. */
type NoFilters = Readonly<Record<string, never>>;
type ListName = keyof ListFilters;
type WholeList = { [L in ListName]: ListFilters[L] extends NoFilters ? L : never }[ListName];

/** What a cursor is bound to: its list, and the filters of the request whose page gave it. */
export type CursorScope<L extends ListName = ListName> = { [K in L]: { readonly list: K; readonly filters: Readonly<ListFilters[K]> } }[L];

/** The scope of a list that takes no filter. */
export const wholeList = (list: WholeList): CursorScope<WholeList> => ({ list, filters: {} });

/** Without a pepper (a local stack), a fixed key: the cursors are still opaque, if not secret. */
const cursorSecret = (env: CursorEnv) => env.TOKEN_PEPPER || "edgehook";
const purpose = (list: string) => `edgehook cursor: ${list}`;

/**
 * The filters given (by name, in order; one not given is no filter), hashed short: the cursor is
 * sealed, so the digest need only tell filters apart, and a search's `q` (2,000 characters) would not fit.
 */
async function filtersDigest(filters: CursorScope["filters"]): Promise<string> {
  const given = Object.entries(filters)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return (await sha256Hex(JSON.stringify(given))).slice(0, FILTERS_DIGEST_CHARS);
}
const FILTERS_DIGEST_CHARS = 16;
const BOUND_POSITION = new RegExp(`^([0-9a-f]{${FILTERS_DIGEST_CHARS}}):([^]*)$`);

const toCursor = async (env: CursorEnv, scope: CursorScope, position: string) =>
  seal(cursorSecret(env), purpose(scope.list), `${await filtersDigest(scope.filters)}:${position}`);

/** The groups of a cursor's position, or 400 when it is not one this list returned for these filters. */
async function fromCursor(env: CursorEnv, scope: CursorScope, cursor: string, pattern: RegExp): Promise<string[]> {
  const text = await unseal(cursorSecret(env), purpose(scope.list), cursor);
  // No digest: not one of this list's, or one given before cursors carried their filters (docs/api.md#lists).
  const bound = text === null ? null : BOUND_POSITION.exec(text);
  if (!bound) throw unknownCursor();
  if (bound[1] !== (await filtersDigest(scope.filters))) throw otherFilters();
  const m = pattern.exec(bound[2] ?? "");
  if (m) return m.slice(1);
  throw unknownCursor();
}

/** Says what to send instead: a cursor from another list or request, or from before a pepper change, never works again. */
const unknownCursor = () =>
  invalidField(
    "The cursor is not one this API returned for this list: pass the cursor the same request's previous page answered (the same filters), or leave cursor out to start again from the first page.",
    { path: "cursor", message: "unknown cursor" },
  );

/** A cursor of this list that another request's filters gave: the filters to send it with are that request's. */
const otherFilters = () =>
  invalidField(
    "The cursor belongs to other filters: this list gave it for a request with other filters than these. Pass it with the same filters as the request whose page answered it (a list's limit may change), or leave cursor out to start again from the first page.",
    { path: "cursor", message: "a cursor of other filters" },
  );

/**
 * A page of rows read with one more than `limit`: the first `limit`, and the cursor
 * after the last of them (`cursorOf`) when that one more was there, else null.
 */
export async function pageOf<T>(rows: readonly T[], limit: number, cursorOf: (last: T) => Promise<string>): Promise<{ data: T[]; nextCursor: string | null }> {
  const data = rows.slice(0, limit);
  const last = data[limit - 1];
  return { data, nextCursor: rows.length > limit && last !== undefined ? await cursorOf(last) : null };
}

/** A position in insertion order (lists, newest first). */
export function encodeCursor(env: CursorEnv, scope: CursorScope, seq: number): Promise<string> {
  return toCursor(env, scope, `s${seq}`);
}

export async function decodeCursor(env: CursorEnv, scope: CursorScope, cursor: string): Promise<number> {
  return Number((await fromCursor(env, scope, cursor, /^s(\d{1,15})$/))[0]);
}

/**
 * A position in time order, (received time, insertion sequence), of a search (newest first), of a list
 * filtered by time (newest first) or of a range replay (oldest first), each bound to its request's
 * filters. A search and a time list are the events list's, as its plain pages are: a cursor of one
 * given with `q`, `since` or `until` added or dropped is one of other filters (its digest tells), not
 * one of another list. A search's cursor, or another replay's (another webhook, type or range, or a
 * dry run, which pages ten times further), given to a replay would have skipped, without a word, every
 * event of its range before it; another range's, a list's events of this one between the two.
 */
export type TimeScope = CursorScope<"events" | "range replay">;

export function sealPosition(env: CursorEnv, scope: TimeScope, p: { receivedAt: number; seq: number }): Promise<string> {
  return toCursor(env, scope, `t${p.receivedAt}s${p.seq}`);
}

export async function openPosition(env: CursorEnv, scope: TimeScope, cursor: string): Promise<{ receivedAt: number; seq: number }> {
  const [receivedAt, seq] = await fromCursor(env, scope, cursor, /^t(\d{1,15})s(\d{1,15})$/);
  return { receivedAt: Number(receivedAt), seq: Number(seq) };
}

/** A position in creation order (webhook lists, newest first): (created time, uid). */
export function encodeCreated(env: CursorEnv, scope: CursorScope, p: { createdAt: number; uid: string }): Promise<string> {
  return toCursor(env, scope, `c${p.createdAt}u${p.uid}`);
}

export async function decodeCreated(env: CursorEnv, scope: CursorScope, cursor: string): Promise<{ createdAt: number; uid: string }> {
  const [createdAt, uid = ""] = await fromCursor(env, scope, cursor, /^c(\d{1,15})u([\x21-\x7e]{1,128})$/);
  return { createdAt: Number(createdAt), uid };
}

/** A position in key order (sources, by id): the key of the last item given. */
export function encodeKey(env: CursorEnv, scope: CursorScope, key: string): Promise<string> {
  return toCursor(env, scope, `k${key}`);
}

export async function decodeKey(env: CursorEnv, scope: CursorScope, cursor: string): Promise<string> {
  return (await fromCursor(env, scope, cursor, /^k([\x21-\x7e]{1,128})$/))[0] ?? "";
}

/**
 * A bulk retry's position: (webhook, insertion sequence within it), of its filter alone (`scope`'s):
 * given with another (status, webhook or since), it would have passed over, without a word, that
 * filter's deliveries before it.
 */
export function encodeRetryCursor(env: CursorEnv, scope: CursorScope, p: { webhook: number; seq: number }): Promise<string> {
  return toCursor(env, scope, `w${p.webhook}s${p.seq}`);
}

export async function decodeRetryCursor(env: CursorEnv, scope: CursorScope, cursor: string): Promise<{ webhook: number; seq: number }> {
  const [webhook, seq] = await fromCursor(env, scope, cursor, /^w(\d{1,15})s(\d{1,15})$/);
  return { webhook: Number(webhook), seq: Number(seq) };
}

/** What the events list's cursor continues alone: its filters, `q`, `since` and `until` (instants, however spelt). */
export const eventListScope = (f: ListFilters["events"]): CursorScope<"events"> => ({
  list: "events",
  filters: {
    eventType: f.eventType,
    sourceId: f.sourceId,
    locationUid: f.locationUid,
    organizationUid: f.organizationUid,
    status: f.status,
    q: f.q,
    since: f.since,
    until: f.until,
  },
});

/** A search's scope: the events list's, with `q`. */
export type SearchScope = CursorScope<"events"> & { readonly filters: { readonly q: string } };
export const isSearch = (scope: CursorScope<"events">): scope is SearchScope => scope.filters.q !== undefined;

/** What a bulk retry's cursor continues alone: its filter (`since` as an instant, however spelt). */
export const retryScope = (f: ListFilters["bulk retry"]): CursorScope<"bulk retry"> => ({
  list: "bulk retry",
  filters: { status: f.status, webhookUid: f.webhookUid, since: f.since },
});

/** What the deliveries list's cursor continues alone: its filters (GET /v1/events/{id} gives the first cursor of its `eventId`'s). */
export const deliveryListScope = (f: ListFilters["deliveries"]): CursorScope<"deliveries"> => ({
  list: "deliveries",
  filters: { status: f.status, webhookUid: f.webhookUid, eventId: f.eventId },
});
