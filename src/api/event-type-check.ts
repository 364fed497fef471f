import { ALERT_SOURCE, isAlertType } from "../domain/alerts";
import { catalogSpelling, checkEventTypes, type TypeContext } from "../domain/event-types";
import { accessOf, isLimited, missingDataScope } from "../domain/access";
import { AppError, notFound, quotedId } from "../domain/errors";
import type { Principal } from "../domain/scopes";
import type { Source } from "../domain/types";
import type { Env } from "../env";
import { configSources } from "../ingress/sources";
import { seenPatterns } from "../store/event-types";
import { organizationsHeld } from "../store/grants";
import { nameIds } from "../store/names";
import { providersOf } from "../store/sources";
import { quotedInput } from "../domain/cut-short";

/** A limited token's organizations (those its locations are known to belong to included), read when needed. */
type Owners = () => Promise<readonly string[]>;

/** A limited token's organizations, read when needed: null for a token that sees every event. */
export const heldOrganizations = (env: Env, p: Principal): Owners | null => (isLimited(accessOf(p)) ? () => organizationsHeld(env.DB, p) : null);

interface TypeWarning {
  code: "unseen_event_type";
  eventType: string;
  message: string;
}

/**
 * The sources `sourceIds` names, each of which must exist, declared by configuration or stored
 * (`had`: ids named before, which may have been deleted since, are let be): a mistyped id would
 * otherwise subscribe or listen to nothing, without a word. `where` is what named them (a body, a query).
 * A limited token (`owners`: its organizations and its locations', asked only when it names a
 * stored source newly) names only sources no one owns (the configuration's, the admin's, an
 * unlimited token's: their events are any organization's, its own among them) and those
 * organizations' own: another organization's source, whose events are
 * all that organization's, is answered as one that does not exist, in the same words, so the
 * answer tells the token nothing of it (GET /v1/sources/{id} answers it 404 too), and its
 * webhook cannot be tied to it. (The ingress answers anyone whether an id names an enabled
 * source; not whose it is, nor of a disabled one.)
 */
export async function namedSources(
  env: Env,
  sourceIds: string[],
  had: readonly string[],
  owners: Owners | null,
  where: "body" | "query" = "body",
): Promise<{ declared: Source[]; stored: { id: string; provider: string; organizationUid: string | null }[] }> {
  const { declared, stored, unknown } = await knownSources(env, sourceIds, had, owners);
  if (unknown.length > 0) {
    // The reserved id is no source a webhook can take: its issue says where its alerts go instead (kept when merged with others).
    const alerts = where === "body" && unknown.includes(ALERT_SOURCE) ? `"${ALERT_SOURCE}" holds Edgehook's alerts, which webhooks never receive: a notification endpoint does (POST /v1/notification-endpoints).` : "";
    const issues = unknown.map((id) => ({ path: `sourceIds.${sourceIds.indexOf(id)}`, message: id === ALERT_SOURCE && alerts ? `no source: ${alerts}` : `no source "${id}"` }));
    throw new AppError("invalid_request", `Invalid ${where}: sourceIds names no source ${unknown.map((id) => `"${id}"`).join(", ")} (GET /v1/sources lists them).${alerts && ` ${alerts}`}`, { issues });
  }
  return { declared, stored };
}

/** namedSources' finding, without its refusal: the sources named that exist, and the ids (not `had`) that name none. */
async function knownSources(env: Env, sourceIds: string[], had: readonly string[], owners: Owners | null) {
  const declared = configSources(env).filter((s) => sourceIds.includes(s.id));
  const others = sourceIds.filter((id) => !declared.some((s) => s.id === id));
  // The token's organizations are read only when it names a stored source newly, whatever that
  // source is: were it read only for an owned one, the time taken would tell one from an unknown id.
  const none: readonly string[] = [];
  const newly = others.some((id) => !had.includes(id));
  const [found, held] = await Promise.all([others.length > 0 ? providersOf(env.DB, others) : [], owners !== null && newly ? owners() : none]);
  const nameable = (s: { id: string; organizationUid: string | null }) =>
    had.includes(s.id) || owners === null || s.organizationUid === null || held.includes(s.organizationUid);
  const stored = found.filter(nameable);
  const unknown = others.filter((id) => !had.includes(id) && !stored.some((s) => s.id === id));
  return { declared, stored, unknown };
}

/**
 * Refuses an events list's `sourceId` that names no source (declared or stored, and one a limited token may
 * name: namedSources), 404 `not_found`, where the page would be empty without a word. A source is deleted with
 * its events kept ("its events stay"): to a token that sees every event, an id ever stored as a name (every
 * event's source is; one row by key) is let be, its kept events listed until the retention purges them (the
 * name may be another thing's: an empty page, as before). A limited token's is not: the names are every
 * tenant's, and would tell it which sources another's events came from. The alerts' source is always one.
 */
export async function checkListedSource(env: Env, p: Principal, sourceId: string): Promise<void> {
  const owners = heldOrganizations(env, p);
  const { unknown } = await knownSources(env, [sourceId], [ALERT_SOURCE], owners);
  if (unknown.length === 0) return;
  if (owners === null && (await nameIds(env.DB, [sourceId])).has(sourceId)) return;
  // The issue names the filter, so that a form (the dashboard's) marks the field to mend.
  throw notFound("source", sourceId, "GET /v1/sources lists those this token may see", { issues: [{ path: "sourceId", message: `no source "${quotedId(sourceId)}"` }] });
}

/** The providers a webhook listens to: those of its sources (see namedSources), or every one when it names none. */
async function providersFor(
  env: Env,
  sourceIds: string[] | null,
  had: readonly string[],
  owners: Owners | null,
  where: "body" | "query",
): Promise<ReadonlySet<string> | null> {
  if (sourceIds === null) return null;
  const { declared, stored } = await namedSources(env, sourceIds, had, owners, where);
  return new Set([...declared.map((s) => s.provider), ...stored.map((s) => s.provider)]);
}

/**
 * Checks a subscription's event types: a Podium object's type that does not exist
 * is a 400 naming the closest one; another provider's type that none of the
 * webhook's sources has received or declares comes back as a warning. The table of
 * received types is read only when the catalog alone does not settle it, and not for a
 * limited token (`owners` not null: the organizations it holds): it holds every tenant's
 * types, which the answer would tell. `where` is what named them: a webhook's body, a listener's query.
 */
export async function checkSubscriptionTypes(
  env: Env,
  eventTypes: string[],
  sourceIds: string[] | null,
  had: readonly string[] = [],
  owners: Owners | null = null,
  where: "body" | "query" = "body",
): Promise<TypeWarning[]> {
  const limited = owners !== null;
  const ctx: TypeContext = { providers: await providersFor(env, sourceIds, had, owners, where), seen: new Set() };
  let check = checkEventTypes(eventTypes, ctx);
  const doubtful = [...check.invalid.map((i) => i.pattern), ...check.unseen.map((u) => u.pattern)];
  if (doubtful.length > 0 && !limited) check = checkEventTypes(eventTypes, { ...ctx, seen: await seenPatterns(env.DB, doubtful, sourceIds) });

  if (check.invalid.length > 0) throw typos(where, check.invalid.map((i) => ({ ...i, path: `eventTypes.${i.index}` })));
  return check.unseen.map((u) => ({ code: "unseen_event_type", eventType: u.pattern, message: unseenMessage(u, limited) }));
}

/**
 * A list's or a replay's `eventType`, checked as a subscription's is for Podium's objects alone: one
 * of their types that neither the catalog nor what sources received knows is a typo, a 400 naming the
 * closest, where the answer would otherwise be silently empty. Another provider's type is let be. The
 * received types are read (by key) only for such a typo, and not for a limited token (see above).
 */
export async function checkFilterType(env: Env, p: Principal, eventType: string, where: "body" | "query"): Promise<void> {
  // Nor for a token lacking the type's data scope: whether a source received it is of events it may not read.
  const limited = isLimited(p) || missingDataScope(p, [eventType]) !== null;
  const ctx: TypeContext = { providers: null, seen: new Set() };
  let check = checkEventTypes([eventType], ctx);
  if (check.invalid.length > 0 && !limited) check = checkEventTypes([eventType], { ...ctx, seen: await seenPatterns(env.DB, [eventType], null) });
  if (check.invalid.length > 0) throw typos(where, check.invalid.map((i) => ({ ...i, path: "eventType" })));
  // A catalog type in another case (`Message.Received`) matches none of its events: a typo too, unless a
  // source has received it so spelt (a subscription's is only pointed out: another provider may send it).
  const spelt = catalogSpelling(eventType);
  if (spelt !== null && (limited || !(await seenPatterns(env.DB, [eventType], null)).has(eventType))) {
    throw refusedTypes(where, [{ path: "eventType", message: `"${quotedType(eventType)}" is not an event type as written (types match in their case); did you mean "${spelt}"?`, closest: spelt }]);
  }
}

/**
 * A type as a refusal quotes it: whole when it is shaped as Podium's types are (ASCII words, dots) and no longer
 * than a typo of a Podium type may be (QUOTED_TYPE_CHARS), else its first characters, so that a crafted
 * link's sentence (`message.Session expired, sign in at …`, or one spelt as a type:
 * `message.Your_session_expired--sign_in_at.evil.example/login`) is not said back whole on the dashboard's page.
 */
const quotedType = (pattern: string) => quotedInput(pattern, QUOTED_TYPE);
/** Podium's longest type (`review.invite_link_created`) and a few characters a typo may add. */
const QUOTED_TYPE_CHARS = 32;
/** Podium's shape (no space: a sentence is refused), at most QUOTED_TYPE_CHARS long. */
const QUOTED_TYPE = new RegExp(`^(?=[^]{0,${QUOTED_TYPE_CHARS}}$)[A-Za-z0-9_-]+(\\.[A-Za-z0-9_/-]+)*(\\.\\*)?$`);

/** The 400 of Podium types that do not exist, each with the closest that does. */
function typos(where: "body" | "query", invalid: { path: string; pattern: string; closest: string }[]): AppError {
  return refusedTypes(where, invalid.map((i) => ({ path: i.path, message: `"${quotedType(i.pattern)}" is not a Podium event type; did you mean "${i.closest}"?`, closest: i.closest })));
}

/** The 400 of types no event can have, each issue naming the closest that can. */
function refusedTypes(where: "body" | "query", issues: { path: string; message: string; closest: string }[]): AppError {
  return new AppError("invalid_request", `Invalid ${where}: ${issues[0]!.path}: ${issues[0]!.message} (GET /v1/event-types lists them.)`, { issues });
}

function unseenMessage(u: { pattern: string; closest: string | null }, limited: boolean): string {
  if (isAlertType(u.pattern)) {
    return `"${u.pattern}" is one of Edgehook's own alerts, which go only to notification endpoints (POST /v1/notification-endpoints), never to a webhook; it is saved as given and matches only a source's events of that type.`;
  }
  const unseen = limited
    ? `No source of this webhook declares "${u.pattern}" (what sources have received is not told to a limited token)`
    : `No source of this webhook has received "${u.pattern}" yet, and none declares it`;
  return `${unseen}${u.closest ? `; did you mean "${u.closest}"?` : "."} It is saved as given and matches once such events arrive.`;
}
