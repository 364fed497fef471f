// The API's view of stored records: times as ISO 8601, secrets never.
import { redactHeaders } from "../domain/credential-headers";
import { alertMessage, closingType, isAlertType, shownAlertData, SLACK_TRANSFORM } from "../domain/alerts";
import { drainEstimate, paceOf } from "../domain/flow";
import { isRecord } from "../domain/guards";
import { healthState, successRates, type HealthRecord, type HourCount } from "../domain/health";
import { iso, isoTime } from "../domain/time";
import { type Attempt, type Delivery, type RejectionSample, type Source, type StoredEvent, type Webhook } from "../domain/types";
import type { FlowStatus } from "../pipeline/flow";
import { sourceSecretProblem } from "../ingress/providers";
import type { StoredSource } from "../store/sources";
import type { TokenRecord } from "../store/tokens";
import type { RejectionSummary } from "../store/rejections";
import type { AlertEpisode } from "../store/alerts";
import type { WebhookState } from "../store/webhook-state";

export function eventSummaryView(e: Omit<StoredEvent, "body" | "headers">) {
  return {
    id: e.id,
    sourceId: e.sourceId,
    eventType: e.eventType,
    locationUid: e.locationUid,
    organizationUid: e.organizationUid,
    dedupeKey: e.dedupeKey,
    receivedAt: iso(e.receivedAt),
  };
}

/**
 * When a pending delivery is tried: its due time, or the time it was owed anew (retried by hand,
 * released, attempted meanwhile) when that is later. Owed anew, it is stored due since its event's
 * receipt, which orders it among its webhook's others (store/delivery-retry.ts): a time past,
 * which would read as an attempt long missed.
 */
const dueAt = (d: Delivery) => (d.nextAttemptAt === null ? null : Math.max(d.nextAttemptAt, d.updatedAt));

export function deliveryView(d: Delivery) {
  return {
    id: d.id,
    eventId: d.eventId,
    webhookUid: d.webhookUid,
    status: d.status,
    attemptCount: d.attemptCount,
    nextAttemptAt: d.status === "pending" ? isoTime(dueAt(d)) : null,
    createdAt: iso(d.createdAt),
    updatedAt: iso(d.updatedAt),
  };
}

export function attemptView(a: Attempt) {
  return {
    number: a.number,
    startedAt: iso(a.startedAt),
    durationMs: a.durationMs,
    statusCode: a.statusCode,
    error: a.error,
    responseSnippet: a.responseSnippet,
  };
}

export function webhookView(w: Webhook, now = Date.now()) {
  return {
    uid: w.uid,
    url: w.url,
    eventTypes: w.eventTypes,
    locationUid: w.locationUid,
    organizationUid: w.organizationUid,
    grantOrganizationUid: w.grantOrganizationUid,
    catchAll: w.locationUid === null && w.organizationUid === null,
    sourceIds: w.sourceIds,
    disabled: w.disabled,
    timeoutMs: w.timeoutMs,
    maxAttempts: w.maxAttempts,
    rateLimit: w.rateLimit,
    maxConcurrency: w.maxConcurrency,
    ordering: w.ordering,
    createdAt: iso(w.createdAt),
    updatedAt: iso(w.updatedAt),
    // Filters are JSON objects (the API accepts nothing else).
    filter: isRecord(w.filter) ? w.filter : null,
    transform: w.transform,
    transformHeaders: w.transformHeaders && redactHeaders(w.transformHeaders),
    autoDisableAfterMinutes: w.autoDisableAfterMinutes,
    failingAfterAttempts: w.failingAfterAttempts,
    disabledReason: w.disabled ? w.disabledReason : null,
    disabledAt: w.disabled ? isoTime(w.disabledAt) : null,
    // When the previous secret stops signing; never the secret itself.
    previousSecretExpiresAt: w.previousSecret && w.previousSecret.expiresAt > now ? iso(w.previousSecret.expiresAt) : null,
  };
}

/** A webhook's health: its state, streak, success rates and last outcomes. */
export function healthView(w: Webhook, h: { record: HealthRecord; hours: HourCount[] }, now = Date.now()) {
  const rates = successRates(h.hours, now);
  const r = h.record;
  return {
    state: healthState(w, r, rates),
    consecutiveFailures: r.consecutiveFailures,
    failingSince: isoTime(r.failingSince),
    successRate: rates,
    lastSuccessAt: isoTime(r.lastSuccessAt),
    lastFailure: r.lastFailureAt === null ? null : { at: iso(r.lastFailureAt), error: r.lastError },
  };
}

/** A webhook's (or notification endpoint's) whole health, with what it is owed now (`backlog`: held and pending). */
export function fullHealthView(w: Webhook, state: WebhookState, now = Date.now()) {
  return { ...healthView(w, state.health, now), backlog: state.owed };
}

export function notificationEndpointView(w: Webhook) {
  return {
    uid: w.uid,
    url: w.url,
    alertTypes: w.eventTypes.filter(isAlertType),
    format: w.transform === SLACK_TRANSFORM ? ("slack" as const) : ("standard-webhooks" as const),
    disabled: w.disabled,
    createdAt: iso(w.createdAt),
    updatedAt: iso(w.updatedAt),
  };
}

export function alertView(e: AlertEpisode) {
  const closing = e.closedAt !== null;
  const type = closing ? closingType(e.type) : e.type;
  const data = shownAlertData(e.data);
  return {
    id: e.id,
    type: e.type,
    subject: e.subject,
    state: closing ? ("closed" as const) : ("open" as const),
    openedAt: iso(e.openedAt),
    // Kept as the occurrence's own time (a later success is compared with it): an opening stamped
    // after another alert of its batch (pipeline/alerts.ts) is shown last at its opening, not before it.
    lastAt: iso(Math.max(e.lastAt, e.openedAt)),
    closedAt: isoTime(e.closedAt),
    count: e.count,
    data,
    message: alertMessage(type, e.subject, data, e.count, closing),
  };
}

/** A webhook's backlog: what it holds and has pending (exact, from its counts), and how fast it is going. */
export function backlogView(w: Webhook, owed: { held: number; pending: number }, status: FlowStatus, now = Date.now()) {
  // Over by this answer's clock, a pause is not shown (nor counted in the estimate): its scheduler
  // read the status on its own clock (another machine's, perhaps), and before this. Nor while
  // disabled: nothing starts then anyway, and enabling ends the pause (changeWebhook).
  const pausedUntil = !w.disabled && status.pausedUntil !== null && status.pausedUntil > now ? status.pausedUntil : null;
  // Nothing starts before the pause ends, nor before an idle scheduler's next run (a retry due
  // later, a FIFO head's): the drain is counted from the later of the two.
  const startsAt = Math.max(pausedUntil ?? now, status.nextRunAt ?? now);
  const pace = paceOf(status, w.rateLimit);
  const seconds = drainEstimate(owed.held + owed.pending, pace.settledPerSecond, w, Math.ceil(Math.max(0, startsAt - now) / 1000));
  return {
    ...owed,
    inFlight: status.inFlight,
    deliveriesPerSecond: pace.attemptsPerSecond,
    pausedUntil: isoTime(pausedUntil),
    estimatedSeconds: seconds,
    estimatedDoneAt: seconds === null ? null : iso(now + seconds * 1000),
  };
}

export function sourceView(s: StoredSource | Source, origin: string, defaultTolerance: number) {
  const stored = "createdAt" in s;
  return {
    id: s.id,
    name: s.name,
    provider: s.provider,
    verification: s.verification,
    toleranceSeconds: s.toleranceSeconds ?? defaultTolerance,
    disabled: s.disabled,
    ingressUrl: `${origin}/webhooks/${s.id}`,
    readOnly: !stored,
    hmac: s.hmac,
    shopDomain: s.shopDomain,
    organizationUid: s.organizationUid,
    // What the admin's lock on it reads (routes/sources.ts), whether it verifies now or not: with
    // verification "none" it teaches nothing meanwhile (receive.ts, teaches), and does again once verified.
    teachesLocations: s.teachesLocations,
    // One stored before its provider's rule, while it verifies: whether it holds one, never which.
    secretBelowRule: s.verification === "signature" && s.secrets.some((secret) => sourceSecretProblem(s.provider, secret) !== null),
    createdAt: stored ? iso(s.createdAt) : null,
    updatedAt: stored ? iso(s.updatedAt) : null,
  };
}

export function rejectionSummaryView(r: RejectionSummary) {
  return { reason: r.reason, thisHour: r.thisHour, lastDay: r.lastDay, lastAt: iso(r.lastAt) };
}

export function rejectionView(r: RejectionSample) {
  return { at: iso(r.at), reason: r.reason, requested: r.requested, client: r.client, userAgent: r.userAgent, headerNames: r.headerNames };
}

export function tokenView(t: TokenRecord) {
  return {
    id: t.id,
    name: t.name,
    scopes: t.scopes,
    organizationUids: t.organizationUids,
    locationUids: t.locationUids,
    createdAt: iso(t.createdAt),
    lastUsedAt: isoTime(t.lastUsedAt),
    revokedAt: isoTime(t.revokedAt),
  };
}
