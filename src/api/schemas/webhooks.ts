// Webhooks: what is read, written and tested (their filters and transforms: filters-and-transforms.ts).
import "@hono/zod-openapi"; // gives every zod schema .openapi()
import { z } from "../../domain/zod";
import { MAX_ATTEMPTS_LIMIT, TIMEOUT_MS_LIMITS } from "../../domain/delivery";
import { DEFAULT_MAX_CONCURRENCY, MAX_CONCURRENCY_MAX, OPEN_CONNECTIONS, ORDERINGS, RATE_LIMIT_MAX } from "../../domain/flow";
import { AUTO_DISABLE_MINUTES_MAX, DEFAULT_AUTO_DISABLE_MINUTES, DEFAULT_FAILING_AFTER, FAILING_AFTER_MAX, HEALTH_STATES } from "../../domain/health";
import { MAX_URL_CHARS } from "../../domain/destination";
import { SOURCE_ID } from "../../domain/ids";
import { isTypePattern, TYPE_PATTERN_PROBLEM } from "../../domain/event-types";
import { REDACTED } from "../../domain/credential-headers";
import { PREVIOUS_SECRET_VALID_SECONDS } from "../../domain/webhook";
import { EXAMPLE_IDS, EXAMPLE_WEBHOOK_URL } from "./examples";
import { time, decimalInteger, uid, ownerUid, newOwnerUid, distinct, webhookSecret, anySecret } from "./fields";
import { FILTER_EXAMPLES, TRANSFORM_EXAMPLES, filterDoc, transformExpression, CREDENTIAL_HEADERS_NOTE, transformHeaderMap } from "./filters-and-transforms";

/** A webhook's (or a listener's) eventTypes entry: isTypePattern, the ingress's own rule for the types it keeps. */
export const typePattern = z.string().max(200).refine(isTypePattern, TYPE_PATTERN_PROBLEM);
/** A field's own words when it is left out (its other issues keep zod's, or the schema's). */
const whenMissing = (message: string) => ({ error: (issue: { input?: unknown }) => (issue.input === undefined ? message : undefined) });
const webhookUrl = (missing?: string) =>
  z.string(missing === undefined ? undefined : whenMissing(missing)).max(MAX_URL_CHARS).openapi({ example: "https://api.example.com/podium-events" });
const webhookEventTypes = (missing?: string) =>
  distinct(
    z
      .array(typePattern, missing === undefined ? undefined : whenMissing(missing))
      .min(1, "subscribe to at least one event type")
      .max(100),
  ).openapi({ example: ["message.received", "contact.*"], description: `Each ${TYPE_PATTERN_PROBLEM} (docs/providers.md#providers).` });
/**
 * A PUT's url or eventTypes left out says what a PUT is: Podium's PUT changes only the fields it
 * gives, which here is PATCH (docs/podium.md#where-it-departs); a bare "required" sent a Podium
 * integrator to fill in fields rather than to the method they meant.
 */
const REPLACED = "required: a PUT replaces the whole webhook (what it leaves out goes back to its default); PATCH changes only the fields it gives";
/**
 * A rate limit, with what to give for none (the API's null, the form's empty box): 0, which some
 * services read as "no limit", is refused here saying so, rather than as "too small".
 */
const rateLimitNumber = (none: string) =>
  z
    .number()
    .int()
    .min(1, { error: (iss) => (iss.input === 0 ? `0 is no rate: give 1..${RATE_LIMIT_MAX} attempts a second, or ${none} for no limit` : undefined) })
    .max(RATE_LIMIT_MAX);
export const webhookFields = {
  url: webhookUrl(),
  eventTypes: webhookEventTypes(),
  sourceIds: distinct(z.array(z.string().regex(SOURCE_ID, "a source id")).min(1).max(100))
    .nullable()
    .openapi({ description: "The sources it takes events from (each existing when named); null: all." }),
  secret: webhookSecret.openapi({
    description: "Write-only. Generated as `whsec_…` when omitted; a given one is standard base64 of at least 24 bytes: docs/forwarding.md.",
  }),
  disabled: z.boolean(),
  timeoutMs: z.number().int().min(TIMEOUT_MS_LIMITS.min).max(TIMEOUT_MS_LIMITS.max),
  maxAttempts: z.number().int().min(1).max(MAX_ATTEMPTS_LIMIT),
  rateLimit: rateLimitNumber("null")
    .nullable()
    .openapi({ description: `Attempts started per second at most, retries included, evenly spaced (1..${RATE_LIMIT_MAX}); null: no limit. Default null.` }),
  maxConcurrency: z
    .number()
    .int()
    .min(1)
    .max(MAX_CONCURRENCY_MAX)
    .openapi({ description: `Requests in flight at most (1..${MAX_CONCURRENCY_MAX}; more than ${OPEN_CONNECTIONS} act as ${OPEN_CONNECTIONS}): docs/flow-control.md. Default ${DEFAULT_MAX_CONCURRENCY}.` }),
  ordering: z.enum(ORDERINGS).openapi({
    description:
      "`fifo`: one at a time in the order received, a failing delivery holding back the rest; `unordered` (default): in parallel: docs/flow-control.md.",
  }),
  autoDisableAfterMinutes: z
    .number()
    .int()
    .min(1)
    .max(AUTO_DISABLE_MINUTES_MAX)
    .nullable()
    .openapi({
      description: `Disabled, its events then held, once failing with every attempt failed for this many minutes (1..${AUTO_DISABLE_MINUTES_MAX}); null: never. Default ${DEFAULT_AUTO_DISABLE_MINUTES}.`,
    }),
  failingAfterAttempts: z
    .number()
    .int()
    .min(1)
    .max(FAILING_AFTER_MAX)
    .openapi({ description: `Failed attempts in a row that make the webhook \`failing\` (and raise \`webhook.failing\`). Default ${DEFAULT_FAILING_AFTER}.` }),
};

/**
 * A webhook's number fields as the dashboard's form gives them, text: decimal digits within the
 * body's own bounds (a blank one, none, is the form's to read). Number() took `0x10`, `1e3`, `5.0`.
 */
export const webhookFormNumbers = {
  timeoutMs: decimalInteger(webhookFields.timeoutMs),
  maxAttempts: decimalInteger(webhookFields.maxAttempts),
  rateLimit: decimalInteger(rateLimitNumber("leave it empty")),
  maxConcurrency: decimalInteger(webhookFields.maxConcurrency),
  autoDisableAfterMinutes: decimalInteger(webhookFields.autoDisableAfterMinutes.unwrap()),
  failingAfterAttempts: decimalInteger(webhookFields.failingAfterAttempts),
};

const rate = z.number().min(0).max(1).nullable();

export const WebhookHealth = z
  .object({
    state: z.enum(HEALTH_STATES).openapi({
      description:
        "`disabled`, `failing`, `degraded` or `healthy`: docs/alerts.md.",
    }),
    consecutiveFailures: z.number().int(),
    failingSince: time.nullable().openapi({ description: "When the current streak of failed attempts began." }),
    successRate: z
      .object({ lastHour: rate, lastDay: rate })
      .openapi({ description: "Share of attempts that succeeded (0..1); null: no attempt. The last hour is estimated from hourly counts." }),
    lastSuccessAt: time.nullable(),
    lastFailure: z.object({ at: time, error: z.string().nullable() }).nullable(),
    backlog: z
      .object({ held: z.number().int(), pending: z.number().int() })
      .openapi({ description: "Deliveries held and pending now, as counted in `backlog`." }),
  })
  .openapi("WebhookHealth");

const WebhookBacklog = z
  .object({
    held: z.number().int().openapi({ description: "Deliveries held (the webhook is, or was until just now, disabled)." }),
    pending: z.number().int().openapi({ description: "Deliveries due or waiting for a retry." }),
    inFlight: z.number().int().openapi({ description: "Requests in flight right now." }),
    deliveriesPerSecond: z
      .number()
      .openapi({ description: "Attempts a second over the last 30 seconds; at most rateLimit." }),
    pausedUntil: time.nullable().openapi({ description: "Nothing starts before this time: the downstream answered 429/503 with Retry-After, or none. null while disabled." }),
    estimatedSeconds: z.number().int().nullable().openapi({
      description: "Seconds until held and pending are done, at the recent pace: docs/flow-control.md. null: unknown, or disabled.",
    }),
    estimatedDoneAt: time.nullable(),
  })
  .openapi("WebhookBacklog");

export const WebhookSchema = z
  .object({
    uid: z.string(),
    url: z.string(),
    eventTypes: z.array(z.string()),
    locationUid: z.string().nullable(),
    organizationUid: z.string().nullable(),
    grantOrganizationUid: z.string().nullable().openapi({
      description:
        "Read-only: the organization through which a token limited to organizations made this location webhook, whose grant it stays within: docs/api.md. null: no such limit.",
    }),
    catchAll: z.boolean().openapi({ description: "Neither location nor organization: it is owed every event (of its types and sources)." }),
    sourceIds: z.array(z.string()).nullable(),
    disabled: z.boolean(),
    timeoutMs: z.number().int(),
    maxAttempts: z.number().int(),
    rateLimit: z.number().int().nullable(),
    maxConcurrency: z.number().int(),
    ordering: z.enum(ORDERINGS),
    createdAt: time,
    updatedAt: time,
    filter: z.record(z.string(), z.unknown()).nullable().openapi({ description: "The content filter; null: none.", example: FILTER_EXAMPLES.podium }),
    transform: z.string().nullable().openapi({ description: "The JSONata transformation; null: none.", example: TRANSFORM_EXAMPLES.podium }),
    transformHeaders: z
      .record(z.string(), z.string())
      .nullable()
      .openapi({ description: `The extra headers: name → JSONata expression; null: none. ${CREDENTIAL_HEADERS_NOTE}` }),
    autoDisableAfterMinutes: z.number().int().nullable(),
    failingAfterAttempts: z.number().int(),
    disabledReason: z.string().nullable().openapi({ description: "Read-only: why it was disabled automatically; null when enabled or disabled by hand." }),
    disabledAt: time.nullable().openapi({ description: "Read-only: when it was disabled, while it is." }),
    previousSecretExpiresAt: time.nullable().openapi({
      description: "Read-only: until when the previous secret still signs; null: none does.",
    }),
    heldDeliveries: z.number().int().optional().openapi({ description: "Deliveries held now (as `backlog.held`): in `GET /v1/webhooks/{uid}`, and after the change in `PATCH /v1/webhooks/{uid}` and `PUT /v1/webhooks/{uid}`; not for a token lacking the data scope of one of its types (nor `backlog`)." }),
    backlog: WebhookBacklog.optional().openapi({ description: "In `GET /v1/webhooks/{uid}` only (not for a token lacking the data scope of one of its types): what it is owed and how fast it goes." }),
    health: WebhookHealth.partial()
      .optional()
      .openapi({ description: "Every field in the answer for one webhook (with `backlog`); `state` alone in lists." }),
  })
  .openapi("Webhook");

const warnings = z
  .array(z.object({ code: z.literal("unseen_event_type"), eventType: z.string(), message: z.string() }))
  .optional()
  .openapi({ description: "Saved, but worth a look: types none of its sources has received or declares; absent when none." });

/** A webhook given both owners; a limited token, which makes no catch-all, is told no more (webhook-input.ts), the others "or neither for a catch-all". */
export const ONE_OWNER = "give exactly one of locationUid or organizationUid (a webhook belongs to one location or one organization, as in Podium)";

export const WebhookCreated = WebhookSchema.extend({ secret: z.string(), warnings }).openapi("WebhookCreated");
export const WebhookChanged = WebhookSchema.extend({ warnings }).openapi("WebhookChanged");

export const SCOPE_IMMUTABLE = "the location and organization of a webhook cannot change; create a new webhook instead";
const immutable = ownerUid
  .nullish()
  .openapi({ description: `Accepted only as the webhook's own (repeated with its other fields as read back); any other value is refused: ${SCOPE_IMMUTABLE}.` });
const immutableScope = { locationUid: immutable, organizationUid: immutable };

/** What every write may set; PATCH may set any of them, PUT must give url and eventTypes. */
const changeable = {
  sourceIds: webhookFields.sourceIds.optional(),
  // Checked by the change unless it is the webhook's own (one sent back as it was stored, by a client keeping its whole object).
  secret: anySecret.optional().openapi({
    description: "Write-only: a new secret rotates; the webhook's own, given again, changes nothing.",
  }),
  disabled: webhookFields.disabled.optional(),
  timeoutMs: webhookFields.timeoutMs.optional(),
  maxAttempts: webhookFields.maxAttempts.optional(),
  rateLimit: webhookFields.rateLimit.optional(),
  maxConcurrency: webhookFields.maxConcurrency.optional(),
  ordering: webhookFields.ordering.optional(),
  autoDisableAfterMinutes: webhookFields.autoDisableAfterMinutes.optional(),
  failingAfterAttempts: webhookFields.failingAfterAttempts.optional(),
  filter: filterDoc.nullable().optional(),
  transform: transformExpression.nullable().optional(),
  transformHeaders: transformHeaderMap.nullable().optional(),
};

export const WebhookCreate = z
  .strictObject({
    url: webhookFields.url,
    eventTypes: webhookFields.eventTypes,
    locationUid: newOwnerUid.nullish(),
    organizationUid: newOwnerUid.nullish(),
    ...changeable,
    secret: webhookFields.secret.optional(),
  })
  .refine((w) => w.locationUid == null || w.organizationUid == null, { message: `${ONE_OWNER}, or neither for a catch-all`, path: ["locationUid"] })
  .openapi("WebhookCreate", { example: { url: EXAMPLE_WEBHOOK_URL, eventTypes: ["message.received"], locationUid: EXAMPLE_IDS.locationUid } });

/** Of a write that changes `secret`: how long the replaced secret keeps signing; without one, 0 ends the previous secret (domain/webhook.ts withRotation). */
const previousSecretValidSeconds = z
  .number()
  .int()
  .min(0)
  .max(PREVIOUS_SECRET_VALID_SECONDS.max)
  .optional()
  .openapi({
    description: `With a new \`secret\`: seconds the old one keeps signing (0..${PREVIOUS_SECRET_VALID_SECONDS.max}; default ${PREVIOUS_SECRET_VALID_SECONDS.default}); 0 ends it at once: docs/forwarding.md.`,
  });

export const WebhookPut = z
  .strictObject({ url: webhookUrl(REPLACED), eventTypes: webhookEventTypes(REPLACED), ...changeable, previousSecretValidSeconds, ...immutableScope })
  .openapi("WebhookPut", {
    // The whole webhook, its location repeated as read back.
    example: { url: EXAMPLE_WEBHOOK_URL, eventTypes: ["message.received", "message.sent"], locationUid: EXAMPLE_IDS.locationUid, timeoutMs: 10000, maxAttempts: 10 },
  });

export const WebhookPatch = WebhookPut.partial().openapi("WebhookPatch", { example: { eventTypes: ["message.received", "message.failed"], timeoutMs: 10000 } });

export const WebhookTestBody = z
  .strictObject({ eventId: uid.openapi({ description: "A stored event the caller may see.", example: EXAMPLE_IDS.eventId }) })
  .openapi("WebhookTestRequest", { example: { eventId: EXAMPLE_IDS.eventId } });

export const WebhookTestAnswer = z
  .object({
    eventId: z.string(),
    webhookUid: z.string(),
    matched: z.boolean().openapi({ description: "Whether the webhook is owed the event: every check passed." }),
    checks: z
      .array(
        z.object({
          check: z.enum(["eventTypes", "owner", "sources", "filter"]),
          passed: z.boolean(),
          message: z.string().openapi({ example: 'body.data.conversation.channel.type is "email", not "phone"' }),
        }),
      )
      .openapi({ description: "Each routing check, in order, with why it passed or failed." }),
    transformError: z.string().nullable().openapi({ description: "Why the transformation fails on this event (a delivery would fail for good); null when it runs." }),
    request: z
      .object({
        url: z.string(),
        headers: z.record(z.string(), z.string()).openapi({
          description:
            `The headers sent but the signatures, which each attempt computes over \`body\`; a credential header of \`transformHeaders\` shows \`"${REDACTED}"\`.`,
        }),
        body: z.string().openapi({ description: "The body sent: the transformation's output, or the stored body." }),
      })
      .nullable()
      .openapi({ description: "What a delivery would POST, owed or not; null when the transformation fails." }),
  })
  .openapi("WebhookTestAnswer");
