import { ALERT_SOURCE } from "../domain/alerts";
import { confinementAllows } from "../domain/access";
import { parseBody } from "../domain/documents";
import type { EventFacts, Webhook } from "../domain/types";
import { explainMismatch, filterBudget, filterIssuePath, matchesFilter, programCharge, regexWeight, validateFilter, type FilterBudget } from "./filter";
import { FilterCache, type CompiledFilter } from "./filter-cache";

/** An entry of `eventTypes` matches an exact type, every type of an object (`message.*`), or all (`*`). */
export function typeMatches(pattern: string, eventType: string): boolean {
  if (pattern === "*") return true;
  if (pattern.endsWith(".*")) return eventType.startsWith(pattern.slice(0, -1));
  return pattern === eventType;
}

type RoutedEvent = Pick<EventFacts, "eventType" | "locationUid" | "organizationUid"> & { sourceId: string };

/** What a content filter reads of an event: its raw body and stored headers. */
export interface EventContent {
  body: string;
  headers: Record<string, string>;
}

type Owned = Pick<Webhook, "organizationUid" | "locationUid" | "grantOrganizationUid">;

/**
 * Why the event is not the webhook's by owner, or null when it is: the organization
 * (which wins, as in Podium), or else the location, within the organization whose
 * grant the webhook was made under, if any.
 */
export function ownerMismatch(w: Owned, e: Pick<RoutedEvent, "locationUid" | "organizationUid">): string | null {
  if (ownerMatches(w, e)) return null;
  const theirs = (what: string, event: string | null, webhook: string) => `the event's ${what} is ${event ?? "none"}, the webhook's ${webhook}`;
  if (w.organizationUid !== null) return theirs("organization", e.organizationUid, w.organizationUid);
  if (e.locationUid !== w.locationUid) return theirs("location", e.locationUid, w.locationUid ?? "none");
  return `${theirs("organization", e.organizationUid, w.grantOrganizationUid ?? "none")} (made within that organization's grant)`;
}

/** `ownerMismatch` without the words: what routing asks of every webhook for every event. */
function ownerMatches(w: Owned, e: Pick<RoutedEvent, "locationUid" | "organizationUid">): boolean {
  if (w.organizationUid !== null) return e.organizationUid === w.organizationUid;
  if (w.locationUid === null) return true;
  return e.locationUid === w.locationUid && confinementAllows(w, e);
}

/** The owner a webhook listens to, in words. */
export function ownerOf(w: Owned): string {
  if (w.organizationUid !== null) return `organization ${w.organizationUid}`;
  if (w.locationUid === null) return "a catch-all: every organization and location";
  return `location ${w.locationUid}${w.grantOrganizationUid === null ? "" : ` within organization ${w.grantOrganizationUid}`}`;
}

/**
 * Why the event is not for this kind of receiver, or null when it is: alerts go to notification
 * endpoints only, and nothing else does, whatever `eventTypes` says. Said of the event ("… is …").
 */
export function kindMismatch(w: Pick<Webhook, "kind">, e: Pick<RoutedEvent, "sourceId">): string | null {
  const alert = e.sourceId === ALERT_SOURCE;
  if ((w.kind === "notification") === alert) return null;
  return alert ? `an alert (source ${ALERT_SOURCE}), which goes to notification endpoints only` : "not an alert, which is all a notification endpoint is sent";
}

/** Why the event's type is not one the webhook listens to, or null when it is. */
export function typeMismatch(w: Pick<Webhook, "eventTypes">, e: Pick<RoutedEvent, "eventType">): string | null {
  return typeListened(w, e) ? null : `${e.eventType} is not among ${w.eventTypes.join(", ")}`;
}

/** `typeMismatch` without the words: what routing asks of every webhook for every event. */
function typeListened(w: Pick<Webhook, "eventTypes">, e: Pick<RoutedEvent, "eventType">): boolean {
  return w.eventTypes.some((p) => typeMatches(p, e.eventType));
}

/** Why the event's source is not one the webhook listens to, or null when it is (`sourceIds` null: every source). */
export function sourceMismatch(w: Pick<Webhook, "sourceIds">, e: Pick<RoutedEvent, "sourceId">): string | null {
  // (Not listened to: sourceIds is a list, never null.)
  return sourceListened(w, e) ? null : `source ${e.sourceId} is not among ${(w.sourceIds ?? []).join(", ")}`;
}

/** `sourceMismatch` without the words. */
function sourceListened(w: Pick<Webhook, "sourceIds">, e: Pick<RoutedEvent, "sourceId">): boolean {
  return w.sourceIds === null || w.sourceIds.includes(e.sourceId);
}

/**
 * Whether a webhook is owed an event, ignoring time and content: an alert goes to
 * notification endpoints and an event to webhooks (`kindMismatch`), the types match
 * (`typeMismatch`), the owner matches (`ownerMismatch`), and the source is one it listens to
 * (`sourceMismatch`). Asked of every webhook for every event: the checks without their words.
 */
export function matches(w: Webhook, e: RoutedEvent): boolean {
  if (kindMismatch(w, e) !== null) return false;
  if (!typeListened(w, e)) return false;
  if (!ownerMatches(w, e)) return false;
  return sourceListened(w, e);
}

/** A filter's input: the body parsed as JSON (else the raw string), parsed at most once per event. */
export class FilterInput {
  private parsed: { body: unknown; headers: Record<string, string> } | null = null;
  constructor(private readonly content: EventContent) {}

  get value(): { body: unknown; headers: Record<string, string> } {
    this.parsed ??= { body: parseBody(this.content.body), headers: this.content.headers };
    return this.parsed;
  }
}

// Webhooks are read once per batch (or request) and shared by its events: a batch finds each
// stored filter document's Filter by the object, without writing it as text again for each event.
const compiled = new WeakMap<object, CompiledFilter>();
// Each batch reads them afresh: across batches, by the document's text, so an isolate compiles a filter once.
const byText = new FilterCache();

/** Lets go of every compiled filter this isolate holds (a test that counts compiles begins so). */
export function forgetCompiledFilters(): void {
  byText.clear();
}

/** The webhook's filter compiled, or why the stored document no longer validates. */
function filterOf(doc: NonNullable<Webhook["filter"]>): CompiledFilter {
  if (typeof doc !== "object") return "the stored filter is not a JSON object";
  let f = compiled.get(doc);
  if (f === undefined) {
    f = byText.get(JSON.stringify(doc), () => {
      const r = validateFilter(doc, { given: false });
      return r.ok ? r.filter : `the stored filter is invalid: ${r.issues.map((i) => `${filterIssuePath("filter", i)}: ${i.message}`).join("; ")}`;
    });
    compiled.set(doc, f);
  }
  return f;
}

/**
 * Why a webhook's filter excludes the event, or null when it has none or the event
 * matches. A stored filter that no longer validates excludes everything (fails closed).
 */
export function filterMismatch(w: Webhook, input: FilterInput): string | null {
  if (w.filter === null) return null;
  const f = filterOf(w.filter);
  if (typeof f === "string") return f;
  return explainMismatch(f, input.value);
}

/** What testing one character of an event costs the webhook's filter at most: its `$regex` programs' weights (regexWeight). */
export function filterRegexWeight(w: Webhook): number {
  if (w.filter === null) return 0;
  const f = filterOf(w.filter);
  return typeof f === "string" ? 0 : regexWeight(f);
}

/** What the webhook's filter counts toward FILTER_LIMITS.accountRegexProgram (programCharge); 0 for one that no longer validates. */
export function filterProgramCharge(w: Webhook): number {
  if (w.filter === null) return 0;
  const f = filterOf(w.filter);
  return typeof f === "string" ? 0 : programCharge(f);
}

/** Whether the webhook's filter (if any) admits the event, its conditions spending the event's budget. */
function passesFilter(w: Webhook, input: FilterInput, budget: FilterBudget): boolean {
  if (w.filter === null) return true;
  const f = filterOf(w.filter);
  return typeof f !== "string" && matchesFilter(f, input.value, budget);
}

const isCatchAll = (w: Owned): boolean => w.organizationUid === null && w.locationUid === null;

// Routing orders the webhooks of a batch (or request) once, not once per event.
const ordered = new WeakMap<readonly Webhook[], Webhook[]>();

/**
 * The order in which routing tests filters for an event, all of them spending the event's one
 * budget (`$regex` and other work: a budget per webhook let a tenant's many costly webhooks cost the ingest batch
 * that carries everyone's events many budgets an event): the catch-alls first (no organization,
 * no location: the operator's, which no limited token can make), so that what an organization's
 * own filters spend never starves them, then by creation (createdAt, then uid). An event of an
 * organization is tested only by the catch-alls and that organization's and its locations'
 * webhooks (ownerMatches), so a budget its webhooks use up affects only its webhooks.
 * Deterministic for an event and a set of webhooks.
 */
export function routingOrder(webhooks: readonly Webhook[]): Webhook[] {
  let o = ordered.get(webhooks);
  if (o === undefined) {
    o = [...webhooks].sort(
      (a, b) => Number(isCatchAll(b)) - Number(isCatchAll(a)) || a.createdAt - b.createdAt || (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0),
    );
    ordered.set(webhooks, o);
  }
  return o;
}

/** Where an event goes: the webhooks owed it, and those whose filter excluded it. */
interface Routing {
  owed: Webhook[];
  filteredOut: Webhook[];
}

/**
 * The webhooks owed an event: those it matches that existed when it was received
 * and whose filter admits its content. A pure function of the event and the
 * webhooks; the body is parsed once, and only when a candidate has a filter. The
 * filters are tested in `routingOrder` and share one budget (FilterBudget): past it, a
 * condition does not match, whichever webhook's it is. Listed in the order given.
 */
export function owedWebhooks(webhooks: Webhook[], e: RoutedEvent & EventContent & { receivedAt: number }): Routing {
  const input = new FilterInput(e);
  const budget = filterBudget();
  const admits = new Map<Webhook, boolean>();
  for (const w of routingOrder(webhooks)) {
    if (w.createdAt > e.receivedAt || !matches(w, e)) continue;
    admits.set(w, passesFilter(w, input, budget));
  }
  const routing: Routing = { owed: [], filteredOut: [] };
  for (const w of webhooks) {
    const admitted = admits.get(w);
    if (admitted !== undefined) (admitted ? routing.owed : routing.filteredOut).push(w);
  }
  return routing;
}

/** An event to replay: its content is needed when a target has a filter (else it may be null). */
export type ReplayEvent = RoutedEvent & { id: string; receivedAt: number; content: EventContent | null };

/** What a replay tests for each event, in routing order, and which of those are its targets. */
export interface ReplayPlan {
  tested: Webhook[];
  targets: ReadonlySet<string>;
}

/**
 * Whether one event could be owed to both webhooks by their owners: false only when they name
 * different organizations (a location webhook's confinement counts as its organization) or
 * different locations. Whether a location belongs to an organization is not known here, so an
 * unconfined location webhook may share events with any organization's.
 */
function ownersOverlap(a: Owned, b: Owned): boolean {
  const orgOf = (w: Owned) => w.organizationUid ?? w.grantOrganizationUid;
  const locationOf = (w: Owned) => (w.organizationUid === null ? w.locationUid : null);
  const [oa, ob, la, lb] = [orgOf(a), orgOf(b), locationOf(a), locationOf(b)];
  return (oa === null || ob === null || oa === ob) && (la === null || lb === null || la === lb);
}

/**
 * What a replay to `targets` tests, so that each event is owed to a target what routing would
 * owe it among `all` (the webhooks of the targets' kind): the targets, and before them in
 * `routingOrder` every webhook whose filter spends the event's budget first and that may share an
 * event with a target. The others cannot change what a target is owed: those after the last
 * target, those without a filter, those of other owners. Unlike routing, a replay
 * reaches webhooks made after the event, and so does what they spend.
 */
export function replayPlan(all: Webhook[], targets: Webhook[]): ReplayPlan {
  const uids = new Set(targets.map((t) => t.uid));
  const everyone = [...all.filter((w) => !uids.has(w.uid)), ...targets];
  const order = routingOrder(everyone);
  let last = -1;
  order.forEach((w, i) => {
    if (uids.has(w.uid)) last = i;
  });
  const spends = (w: Webhook) => w.filter !== null && targets.some((t) => t.kind === w.kind && ownersOverlap(w, t));
  return { tested: order.slice(0, last + 1).filter((w) => uids.has(w.uid) || spends(w)), targets: uids };
}

/**
 * The targets a replayed event is owed: types, owner and sources (whenever the webhook was
 * made), and filter, the plan's filters sharing the event's budget as at ingest (`budget`, fresh
 * for this event: a caller that gives one reads what they spent).
 */
export function replayTargets(plan: ReplayPlan, e: ReplayEvent, budget: FilterBudget = filterBudget()): Webhook[] {
  const input = e.content && new FilterInput(e.content);
  // Without content no filter can be shown to pass; callers read it whenever a target has a filter.
  const owed = plan.tested.filter((w) => matches(w, e) && (w.filter === null || (input !== null && passesFilter(w, input, budget))));
  return owed.filter((w) => plan.targets.has(w.uid));
}

/** Why a filter that admits an event alone excluded it: what the others spent (the 409 of a named replay, the test's check). */
export const BUDGET_SPENT =
  "alone its filter admits the event, but its conditions would exceed what is left of the event's filter work budget ($regex and other work), which the filters tested before it (the catch-alls', then by creation) spend first";

/**
 * Why the webhook's filter excludes the event when tested as a replay to it tests it, after the
 * webhooks of `plan` (replayPlan(all, [w])) spent their part of the event's budget, or
 * null when it admits it so (as routing would, also where a `$not` around a condition the budget
 * cut short matches what the filter alone excludes): `filterMismatch`, or BUDGET_SPENT when only
 * the budget excluded it.
 */
export function plannedFilterMismatch(plan: ReplayPlan, w: Webhook, e: RoutedEvent, input: FilterInput): string | null {
  if (w.filter === null) return null;
  const budget = filterBudget();
  for (const o of plan.tested) {
    if (o.uid === w.uid) break;
    if (matches(o, e)) passesFilter(o, input, budget);
  }
  if (passesFilter(w, input, budget)) return null;
  return filterMismatch(w, input) ?? BUDGET_SPENT;
}
