// What every route that takes a webhook by uid or a destination URL checks first: that the caller
// may see the webhook, and that deliveries may go to the URL.
import { isLimited, webhookInGrant, type LocationOrganizations } from "../domain/access";
import { destinationProblem, loopProblem, typedUrlProblem } from "../domain/destination";
import { invalidField, webhookNotFound } from "../domain/errors";
import { hasScope, type Principal } from "../domain/scopes";
import type { Webhook } from "../domain/types";
import { replayPlan, type ReplayPlan } from "../routing/match";
import { keepsDeliveriesTo } from "../store/delivery-reads";
import { allWebhooks, getWebhookPlaced } from "../store/webhooks";

/** Refuses a destination URL deliveries may not go to (scheme, private addresses, this Edgehook's own ingress at `self`). */
export function checkUrl(url: string, allowPrivate: boolean, self: string): void {
  const problem = typedUrlProblem(url) ?? destinationProblem(url, allowPrivate) ?? loopProblem(url, self);
  if (problem) throw invalidField(`Invalid body: url: ${problem}.`, { path: "url", message: problem });
}

/** A webhook the caller may see, or 404; with `endpoints`, a notification endpoint too (the admin's). */
export async function visibleWebhook(db: D1Database, p: Principal, uid: string, endpoints = false): Promise<Webhook> {
  return (await visiblePlacedWebhook(db, p, uid, endpoints)).webhook;
}

/**
 * A webhook the caller may see, or 404, with what its grant check read of where its location
 * belongs (for a token that names organizations, the organization of a location webhook's location),
 * so a change that keeps its location need not read it again.
 */
export async function visiblePlacedWebhook(db: D1Database, p: Principal, uid: string, endpoints = false): Promise<{ webhook: Webhook; locations: LocationOrganizations }> {
  const seen = await seenPlaced(db, p, uid, endpoints);
  if (!seen) throw webhookNotFound(uid);
  return seen;
}

/**
 * Refuses a webhook a filter of deliveries names (their list, a bulk retry) that the caller may not
 * see, or that none is: 404 as for a webhook's own routes, not an empty answer a typo would hide
 * behind. The admin may name a notification endpoint, whose deliveries carry its alerts, and with
 * `kept`, a deleted webhook whose deliveries are kept (to list them until the retention purges them).
 */
export async function checkNamedWebhook(db: D1Database, p: Principal, uid: string, kept = false): Promise<void> {
  const admin = hasScope(p, "admin");
  if ((await seenPlaced(db, p, uid, admin)) !== null) return;
  if (kept && admin && (await keepsDeliveriesTo(db, uid))) return;
  throw webhookNotFound(uid);
}

/** The webhook, if the caller may see it: `endpoints`, a notification endpoint too. */
async function seenPlaced(db: D1Database, p: Principal, uid: string, endpoints: boolean): Promise<{ webhook: Webhook; locations: LocationOrganizations } | null> {
  // The row and, for a token limited to organizations (only their grant goes through where a location
  // belongs), its location's organization in one read: hidden or unknown, the same one round trip.
  const read = await getWebhookPlaced(db, uid, isLimited(p) && (p.organizationUids ?? []).length > 0);
  // A notification endpoint is not a webhook here (/v1/notification-endpoints), unless `endpoints`.
  const kindSeen = read !== null && (read.webhook.kind === "webhook" || endpoints);
  return read && kindSeen && webhookInGrant(p, read.webhook, read.locations) ? read : null;
}

/**
 * What routing tests of an event beside this one webhook (`replayPlan`): the webhooks whose
 * filters spend an event's budget before it. Every webhook is read only when it has a filter
 * (else the budget cannot change its answer).
 */
export async function planFor(db: D1Database, w: Webhook): Promise<ReplayPlan> {
  const all = w.filter !== null ? await allWebhooks(db) : [];
  return replayPlan(all.filter((o) => o.kind === w.kind), [w]);
}
