// A webhook's own life as data: what it is made with, and what a change of it writes besides
// the fields changed.
import { keepRedacted } from "./credential-headers";
import { DEFAULT_MAX_CONCURRENCY } from "./flow";
import { DEFAULT_AUTO_DISABLE_MINUTES, DEFAULT_FAILING_AFTER } from "./health";
import { newWebhookSecret } from "./secrets";
import type { Settings } from "./settings";
import type { Webhook, WebhookKind } from "./types";
import { nextVersion, unchangedApartFromVersion } from "./version";

/** The fields with a default: those a create, or a replace (PUT), may leave out. */
type Defaulted =
  | "sourceIds"
  | "disabled"
  | "timeoutMs"
  | "maxAttempts"
  | "rateLimit"
  | "maxConcurrency"
  | "ordering"
  | "filter"
  | "transform"
  | "transformHeaders"
  | "autoDisableAfterMinutes"
  | "failingAfterAttempts";

/** What a create or a replace gives of the changeable fields (the secret aside). */
type WebhookFields = Pick<Webhook, "url" | "eventTypes"> & Partial<Pick<Webhook, Defaulted>>;

/** What a change (PATCH, PUT) may give: any changeable field, never the location, organization or kind. */
export type WebhookChanges = Partial<Pick<Webhook, "url" | "eventTypes" | "secret" | Defaulted>>;

/** The changeable fields (the secret aside) as given, each left out at its default. */
export function withDefaults(f: WebhookFields, s: Settings): Pick<Webhook, "url" | "eventTypes" | Defaulted> {
  return {
    url: f.url,
    eventTypes: f.eventTypes,
    sourceIds: f.sourceIds ?? null,
    disabled: f.disabled ?? false,
    timeoutMs: f.timeoutMs ?? s.deliveryTimeoutMs,
    maxAttempts: f.maxAttempts ?? s.maxAttempts,
    rateLimit: f.rateLimit ?? null,
    maxConcurrency: f.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY,
    ordering: f.ordering ?? "unordered",
    filter: f.filter ?? null,
    transform: f.transform ?? null,
    transformHeaders: f.transformHeaders ?? null,
    // null is a value here: never disabled automatically.
    autoDisableAfterMinutes: f.autoDisableAfterMinutes === undefined ? DEFAULT_AUTO_DISABLE_MINUTES : f.autoDisableAfterMinutes,
    failingAfterAttempts: f.failingAfterAttempts ?? DEFAULT_FAILING_AFTER,
  };
}

/**
 * A webhook (or a notification endpoint: `kind`) made now with `f`, each field left out at
 * its default; its secret generated unless given. Its grant organization is for the route to
 * say, once it knows the caller's grant.
 */
export function newWebhook(
  f: WebhookFields & { kind: WebhookKind; secret?: string; locationUid?: string | null; organizationUid?: string | null },
  s: Settings,
  now: number,
): Webhook {
  const fields = withDefaults(f, s);
  return {
    ...fields,
    uid: crypto.randomUUID(),
    locationUid: f.locationUid ?? null,
    organizationUid: f.organizationUid ?? null,
    grantOrganizationUid: null,
    secret: f.secret ?? newWebhookSecret(),
    previousSecret: null,
    createdAt: now,
    updatedAt: now,
    // Nothing is stored yet, so a REDACTED value is refused.
    transformHeaders: fields.transformHeaders === null ? null : keepRedacted(fields.transformHeaders, null),
    kind: f.kind,
    disabledReason: null,
    disabledAt: fields.disabled ? now : null,
  };
}

/** How long, by default and at most, a secret replaced by a rotation keeps signing: Svix's 24 hours, and a week. */
export const PREVIOUS_SECRET_VALID_SECONDS = { default: 86_400, max: 604_800 } as const;

/**
 * The webhook as changed, when the change gives it a new secret: the one replaced signs beside it
 * for `validSeconds` (replacing any previous one: only one is kept); 0 keeps none (a leaked secret),
 * and without a new secret ends the previous one.
 */
export function withRotation(current: Webhook, next: Webhook, validSeconds: number = PREVIOUS_SECRET_VALID_SECONDS.default, now = Date.now()): Webhook {
  if (next.secret === current.secret) return validSeconds === 0 ? { ...next, previousSecret: null } : next;
  return { ...next, previousSecret: validSeconds === 0 ? null : { secret: current.secret, expiresAt: now + validSeconds * 1000 } };
}

/** Whether a change leaves the webhook as it was (its version aside): then nothing is written. */
export const unchanged = (current: Webhook, next: Webhook): boolean => unchangedApartFromVersion(current, next);

/**
 * The webhook as changed: disabling records when (by hand: no reason); enabling
 * clears when and why it was disabled.
 */
export function withDisabled(current: Webhook, next: Webhook, now = Date.now()): Webhook {
  const when = !next.disabled
    ? { disabledAt: null, disabledReason: null }
    : current.disabled
      ? { disabledAt: current.disabledAt, disabledReason: current.disabledReason }
      : { disabledAt: now, disabledReason: null };
  return { ...next, ...when, updatedAt: nextVersion(current.updatedAt, now) };
}
