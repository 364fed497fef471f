// One zod schema per shape: they validate requests, type the handlers and
// generate /openapi.json.
// Importing @hono/zod-openapi gives every zod schema .openapi() (used below as each is made).
import "@hono/zod-openapi";
import { z } from "../domain/zod";
import { ERROR_CODES } from "../domain/errors";
import { SCOPES } from "../domain/scopes";
import { DELIVERY_STATUSES, MAX_ATTEMPTS_LIMIT, TIMEOUT_MS_LIMITS } from "../domain/delivery";
import { TOLERANCE_S_LIMITS } from "../domain/settings";
import { DEFAULT_MAX_CONCURRENCY, MAX_CONCURRENCY_MAX, OPEN_CONNECTIONS, ORDERINGS, RATE_LIMIT_MAX } from "../domain/flow";
import { ALERT_SOURCE, ALERT_TYPES } from "../domain/alerts";
import { isWildcard } from "../domain/event-types";
import {
  AUTO_DISABLE_MINUTES_MAX,
  DEFAULT_AUTO_DISABLE_MINUTES,
  DEFAULT_FAILING_AFTER,
  FAILING_AFTER_MAX,
  HEALTH_STATES,
} from "../domain/health";
import { MAX_URL_CHARS } from "../domain/destination";
import { isRecord } from "../domain/guards";
import { blankNameProblem, hiddenCharacterProblem, paddedProblem } from "../domain/legible";
import { HmacConfigShape } from "../domain/hmac-config";
import { sourceProblems } from "../domain/source-rules";
import { isJson, PROVIDER_NAMES } from "../domain/types";
import { SOURCE_ID } from "../domain/ids";
import { notAParameter } from "../http/unknown-param";
import { CREDENTIAL_NAMES, CREDENTIAL_PARTS, CREDENTIAL_WORDS, REDACTED } from "../domain/credential-headers";
import { compileTransform, TRANSFORM_LIMITS } from "../pipeline/transform";
import { validateFilter } from "../routing/filter";
import { CALL_FILTER_WORK } from "../routing/search";
import { signingSecretProblem } from "../schemes/standard-webhooks";
import { sourceSecretIssues } from "../ingress/providers";
import { STATS_GRANT_WEBHOOKS, STATS_WEBHOOKS } from "../store/stats";
import { issueWords } from "./issue-words";
import { iso, msAtOrAfter } from "../domain/time";
import { PREVIOUS_SECRET_VALID_SECONDS } from "../domain/webhook";

// A value out of a schema's bounds says the bound and what was given, in every schema without its own message.
z.config({ customError: issueWords });

// Checked as ISO 8601 with Z (z.iso), as the server writes every time: the test helpers hold answers
// to these schemas (test/worker/conformance.ts), so an epoch number or another format fails there.
export const time = z.iso.datetime().openapi({ example: "2026-11-28T17:59:31.123Z" });
/**
 * A time a request gives (ISO 8601 with Z or an offset). Said with an example, and, when a space
 * stands where an offset's sign goes, that a URL query reads a bare + as a space (curl sends it so).
 */
const givenTime = (description: string) =>
  z.iso
    .datetime({
      offset: true,
      // A required one left out says so: "expected an ISO 8601 time" read as a malformed one.
      error: (iss) =>
        iss.input === undefined
          ? "required: an ISO 8601 time with Z or an offset, such as 2026-11-28T00:00:00Z"
          : typeof iss.input === "string" && /\d [0-9]{2}(:?[0-9]{2})?$/.test(iss.input)
            ? "the offset's + arrived as a space, as a URL query reads a bare +: write it %2B (or use Z)"
            : "expected an ISO 8601 time with Z or an offset, such as 2026-11-28T00:00:00Z",
    })
    .openapi({ description });
/** Whether since and until are both times to compare (a bad one is said once, by itself). */
const comparable = (since: string, until: string) => !Number.isNaN(Date.parse(since)) && !Number.isNaN(Date.parse(until));
/** A given time's digits of a second's fraction past the millisecond, which Date.parse drops ("" for none). */
const subMs = (time: string) => /\.\d{3}(\d+)/.exec(time)?.[1] ?? "";
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
function refineRange(since: string | undefined, until: string | undefined, ctx: z.RefinementCtx) {
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
 * what was meant. Digits past a double's range (Infinity) read as the largest double, so what is
 * said of them is the bound.
 */
const decimalInteger = <T extends z.ZodType<number, number>>(number: T) =>
  z
    .string()
    .regex(/^\d+$/, "expected a whole number (decimal digits)")
    .transform((digits) => Math.min(Number(digits), Number.MAX_VALUE))
    .pipe(number);
/** Out of bounds, it says the bound it passed and what was given, as a body's number does (issue-words.ts). */
const queryInteger = (min: number, max: number) => decimalInteger(z.number().int().min(min).max(max));
/** A page size of a query, 1 to `max`. */
export const pageSize = (max: number) =>
  queryInteger(1, max).default(50).openapi({ type: "integer", minimum: 1, maximum: max, default: 50, description: `Page size, at most ${max}.` });
const limit = pageSize(100);
const cursor = z.string().min(1).max(200).optional().openapi({ description: "The `nextCursor` of the previous page, with the same filters (another answers 400; `limit` may change)." });
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
const uid = z.string().min(1).max(128);
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
const givenName = legible(z.string().min(1).max(200), blankNameProblem);
/** A location or organization uid given to own something (or repeated as the webhook's own). */
const ownerUid = legible(uid);
/**
 * One given to own something new: also without white space or an invisible character (a zero-width
 * space, a BOM) at either end, which no event's uid carries: pasted with one, it made a webhook owed
 * nothing and a token that sees nothing, without a word.
 */
const newOwnerUid = legible(uid, paddedProblem);
/**
 * A list that names each item once: one given twice is refused by its place (as `alertTypes`
 * always was), rather than stored twice or quietly folded into one. `said` is what names it
 * (never a secret's value).
 */
const distinct = <T extends z.ZodType<string>>(list: z.ZodArray<T>, said = (item: string) => JSON.stringify(item)) =>
  list
    .superRefine((items, ctx) => {
      items.forEach((item, i) => {
        if (items.indexOf(item) < i) ctx.addIssue({ code: "custom", message: `${said(item)} is given twice`, path: [i] });
      });
    })
    .openapi({ uniqueItems: true });
/** A secret of 8 to 256 characters. */
const anySecret = z.string().min(8).max(256);
/** A secret Edgehook signs with, which receivers' Standard Webhooks libraries must decode: a `whsec_` one carries a key long enough not to be guessed. */
const webhookSecret = anySecret.superRefine((s, ctx) => {
  const found = signingSecretProblem(s);
  if (found) ctx.addIssue({ code: "custom", message: found });
});

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

// Events

export const EventSummarySchema = z
  .object({
    id: z.string().openapi({ example: "evt_528e218bd5c051bf5503ef78c46b97e3" }),
    sourceId: z.string(),
    eventType: z.string().openapi({ example: "message.received" }),
    locationUid: z.string().nullable(),
    organizationUid: z.string().nullable(),
    dedupeKey: z.string(),
    receivedAt: time,
  })
  .openapi("EventSummary");

const AttemptSchema = z
  .object({
    number: z.number().int(),
    startedAt: time,
    durationMs: z.number().int(),
    statusCode: z.number().int().nullable(),
    error: z.string().nullable(),
    responseSnippet: z.string().nullable(),
  })
  .openapi("Attempt");

export const DeliverySchema = z
  .object({
    id: z.string(),
    eventId: z.string(),
    webhookUid: z.string(),
    status: z.enum(DELIVERY_STATUSES),
    attemptCount: z.number().int(),
    nextAttemptAt: time.nullable(),
    createdAt: time,
    updatedAt: time,
  })
  .openapi("Delivery");

/** A delivery with its attempts: `GET /v1/deliveries/{id}`, and each of `GET /v1/events/{id}`'s. */
export const DeliveryDetailSchema = DeliverySchema.extend({
  attempts: z.array(AttemptSchema),
  webhookDeleted: z.boolean().openapi({
    description: "Its webhook was deleted since: the delivery is kept (expired if it was still owed), the webhook's own routes answer 404.",
  }),
}).openapi("DeliveryDetail");

/** Deliveries an event's detail holds at most: the first page of `GET /v1/deliveries?eventId=` at its largest `limit`. */
export const EVENT_DELIVERIES_SHOWN = 100;

export const EventSchema = EventSummarySchema.extend({
  headers: z.record(z.string(), z.string()),
  body: z.string().openapi({ description: "The raw body, exactly as received." }),
  deliveries: z.array(DeliveryDetailSchema).openapi({
    description: `The first page of \`GET /v1/deliveries?eventId=\` for this event, each with its attempts: newest first, at most ${EVENT_DELIVERIES_SHOWN} (those to webhooks within a limited token's grant). Like that list's pages it can be short, even empty, with \`deliveriesNextCursor\` set.`,
  }),
  deliveriesNextCursor: z.string().nullable().openapi({
    description: "More deliveries of this event may follow: `GET /v1/deliveries?eventId={id}&cursor={deliveriesNextCursor}` continues the list, and its pages' `nextCursor` after it. null: these are all of them.",
  }),
  filteredOut: z.array(z.string()).openapi({
    description:
      "Webhooks owed this event by type, owner and source whose filter excluded it when it was stored: no delivery was made. Webhooks deleted since are left out, and a limited token sees those within its grant. `POST /v1/webhooks/{uid}/test` says why.",
  }),
}).openapi("Event");

/** How much one search call reads: events examined, and characters of their bodies. */
export const SEARCH_BOUND = { events: 1000, chars: 4 * 1024 * 1024, defaultHours: 24 } as const;

/** A list or replay filters on one type: a wildcard, which a webhook's eventTypes take, would silently match nothing. */
const exactType = z
  .string()
  .min(1)
  .max(200)
  .refine((t) => !isWildcard(t), "an exact event type: lists and replays take no wildcard (a webhook's eventTypes do)")
  .openapi({ description: "Only events of this exact type. A Podium object's type that does not exist and no source has received (`message.recieved`) is a 400 naming the closest.", example: "message.received" });

export const EventListQuery = strictQuery({
  q: z
    .string()
    .min(1, "empty: give what to search for, or leave q out")
    .max(2000, "at most 2,000 characters, a filter document's too: search for a shorter value, text or document")
    .optional()
    .openapi({
      description: `Search: \`path=value\` finds events whose body has that value at a dotted path (\`data.conversation.uid=5d9f…\`; any element of an array; \`amount=500\` matches the number or the string), a filter document (\`{"body": …}\`, the language of webhook filters) matches as a filter does, anything else is text found in the raw body (case-insensitive), as typed or as a JSON string writes it (\`say "hi"\` finds \`say \\"hi\\"\`). Within \`since\`..\`until\` (default: the ${SEARCH_BOUND.defaultHours} hours before now), newest first by received time. One call examines at most ${SEARCH_BOUND.events} events, or fewer once their bodies reach ${SEARCH_BOUND.chars / 1024 / 1024} Mi characters or a filter's conditions have done ${CALL_FILTER_WORK / 1024 / 1024} Mi units of work on them (each event is matched in full); the other filters and the token's access apply to those. A page may hold fewer than \`limit\` events, even none, and still have a \`nextCursor\`: call again with it to search further back.`,
      examples: ["data.conversation.uid=5d9f1c2e-8a7b-4c3d-9e0f-1a2b3c4d5e6f", "appointment", '{"body": {"data.object.amount_due": {"$gt": 50000}}}'],
    }),
  eventType: exactType.optional(),
  sourceId: z.string().min(1).max(64).optional().openapi({ description: "Only events received by this source (its id)." }),
  locationUid: uid.optional().openapi({ description: "Only events of this location." }),
  organizationUid: uid.optional().openapi({ description: "Only events of this organization." }),
  status: z.enum(DELIVERY_STATUSES).optional().openapi({ description: "Events with a delivery in this status." }),
  since: givenTime("Events received from this time (included).").optional(),
  until: givenTime("Events received up to this time (excluded).").optional(),
  limit,
  cursor: cursor.openapi({
    description: "The `nextCursor` of the previous page, with the same filters, `q`, `since` and `until` (the same instants, however spelt): others answer 400. `limit` may change.",
  }),
})
  // As a search and a range replay refuse it: reversed, the list answered an empty page.
  .superRefine((q, ctx) => refineRange(q.since, q.until, ctx));

export const ReplayBody = z.strictObject({ webhookUid: uid.optional() }).openapi("ReplayRequest");
export const ReplayAnswer = z.object({ deliveries: z.number().int() }).openapi("ReplayAnswer");

export const RangeReplayBody = z
  .strictObject({
    since: givenTime("From this time (included)."),
    until: givenTime("Up to this time (excluded)."),
    webhookUid: uid.optional().openapi({ description: "Only to this webhook (else every matching webhook)." }),
    eventType: exactType.optional(),
    dryRun: z.boolean().optional().openapi({ description: "Count what would be replayed; create nothing." }),
    cursor: cursor.openapi({
      description: "The `nextCursor` of the previous call, with the same since, until, webhookUid, eventType and dryRun (another answers 400).",
    }),
  })
  .superRefine((b, ctx) => refineRange(b.since, b.until, ctx))
  .openapi("RangeReplayRequest");
export const RangeReplayAnswer = z
  .object({
    dryRun: z.boolean(),
    events: z.number().int().openapi({ description: "Events of this page replayed (or, dry, to be replayed)." }),
    deliveries: z.number().int().openapi({ description: "Deliveries created (or, dry, to be created); held for a disabled webhook." }),
    nextCursor: z.string().nullable().openapi({ description: "Call again with it for the rest of the range; null at the end." }),
  })
  .openapi("RangeReplayAnswer");

// Webhooks

const EVENT_TYPE_PATTERN = /^(\*|[A-Za-z0-9_-]+(\.[A-Za-z0-9_/-]+)*(\.\*)?)$/;
/** A field's own words when it is left out (its other issues keep zod's, or the schema's). */
const whenMissing = (message: string) => ({ error: (issue: { input?: unknown }) => (issue.input === undefined ? message : undefined) });
const webhookUrl = (missing?: string) =>
  z.string(missing === undefined ? undefined : whenMissing(missing)).max(MAX_URL_CHARS).openapi({ example: "https://api.example.com/podium-events" });
const webhookEventTypes = (missing?: string) =>
  distinct(
    z
      .array(z.string().max(200).regex(EVENT_TYPE_PATTERN, "an exact type, `object.*` or `*`"), missing === undefined ? undefined : whenMissing(missing))
      .min(1, "subscribe to at least one event type")
      .max(100),
  ).openapi({ example: ["message.received", "contact.*"] });
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
const webhookFields = {
  url: webhookUrl(),
  eventTypes: webhookEventTypes(),
  sourceIds: distinct(z.array(z.string().regex(SOURCE_ID, "a source id")).min(1).max(100))
    .nullable()
    .openapi({ description: "The sources it takes events from, each existing (stored, or declared by configuration like `podium`) when named; null: all." }),
  secret: webhookSecret.openapi({
    description: "Write-only. Generated as `whsec_…` when omitted; a given `whsec_` secret is standard base64 (not URL-safe) of at least 24 bytes, as receivers' Standard Webhooks libraries decode it.",
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
    .openapi({ description: `Requests in flight at once at most (1..${MAX_CONCURRENCY_MAX}); above ${OPEN_CONNECTIONS} it acts as ${OPEN_CONNECTIONS}, the connections a scheduler opens at once on Cloudflare. Default ${DEFAULT_MAX_CONCURRENCY}.` }),
  ordering: z.enum(ORDERINGS).openapi({
    description:
      "`fifo`: one at a time, strictly in the order the events were received; a failing delivery holds back the ones after it until it succeeds or fails for good. `unordered` (default): in parallel, up to maxConcurrency.",
  }),
  autoDisableAfterMinutes: z
    .number()
    .int()
    .min(1)
    .max(AUTO_DISABLE_MINUTES_MAX)
    .nullable()
    .openapi({
      description: `Disabled automatically once it is failing (failingAfterAttempts in a row) and every attempt has failed for this many minutes (1..${AUTO_DISABLE_MINUTES_MAX}); its events are then held. null: never. Default ${DEFAULT_AUTO_DISABLE_MINUTES}.`,
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

const WebhookHealth = z
  .object({
    state: z.enum(HEALTH_STATES).openapi({
      description:
        "`disabled`; `failing`: failingAfterAttempts failed attempts in a row or more; `degraded`: the last attempt failed, or under 90% succeeded over the last hour; else `healthy`.",
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
      .openapi({ description: "Attempts made per second over the last 30 seconds, or since the first of them when that is later (at least 1 second); never more than rateLimit." }),
    pausedUntil: time.nullable().openapi({ description: "Nothing starts before this time: the downstream answered 429/503 with Retry-After, or did not answer." }),
    estimatedSeconds: z.number().int().nullable().openapi({
      description: "Seconds until held and pending are done: from when something can start next (a pause's end, or an idle scheduler's next run: a retry's due time, a FIFO head's), at the pace deliveries have been settling (else at rateLimit); null: unknown, or disabled.",
    }),
    estimatedDoneAt: time.nullable(),
  })
  .openapi("WebhookBacklog");
// Content routing and reshaping (docs/filters-and-transforms.md)

const FILTER_EXAMPLES = {
  // A Podium text message's channel is "phone" (docs/filters-and-transforms.md).
  podium: { body: { "metadata.eventType": "message.received", "data.conversation.channel.type": "phone" } },
  stripe: { body: { type: { $startsWith: "invoice." }, "data.object.amount_due": { $gt: 50000 } } },
  github: { headers: { "x-github-event": "push" }, body: { ref: "refs/heads/main" } },
};
const TRANSFORM_EXAMPLES = {
  podium: '{"text": "New " & data.conversation.channel.type & " message: " & data.body}',
  stripe: '{"invoice": data.object.id, "amount": data.object.amount_due / 100, "currency": $uppercase(data.object.currency)}',
  github: '{"repo": repository.full_name, "branch": $substringAfter(ref, "refs/heads/"), "messages": [commits.message]}',
};

/**
 * A JSON object of `value`s under any keys. A zod record leaves a "__proto__" key out of what it
 * parses without an issue (assigning one would replace the result's prototype), so that a filter
 * or header sent under it would be dropped in silence: it is refused instead.
 */
const jsonRecord = <V extends z.ZodType>(value: V) =>
  z.preprocess((v, ctx) => {
    if (isRecord(v) && Object.hasOwn(v, "__proto__")) ctx.addIssue({ code: "custom", message: 'the key "__proto__" is not accepted', path: ["__proto__"] });
    return v;
  }, z.record(z.string(), value));

const filterDoc = jsonRecord(z.unknown())
  .superRefine((doc, ctx) => {
    const r = validateFilter(doc);
    // The place in the filter goes as the filter's own path, which the answer writes as a search's (api/validate.ts).
    if (!r.ok) for (const i of r.issues) ctx.addIssue({ code: "custom", message: i.message, params: { filterIssue: i } });
  })
  .transform((doc, ctx) => {
    if (isJson(doc) && isRecord(doc)) return doc;
    ctx.addIssue({ code: "custom", message: "the filter is not JSON data" });
    return z.NEVER;
  })
  .openapi({
    description:
      "A JSON document matched against `{body, headers}` of each event when it is stored: equality by example on nested or dotted paths, `$eq $neq $in $nin $gt $gte $lt $lte $exist $startsWith $endsWith $contains $regex` (RE2), `$and $or $not`; an array matches when any element does (an object pattern's fields, the same element). At most 8 KiB, depth 16, 128 conditions. An event it excludes gets no delivery, and its `filteredOut` says so. null: none.",
    examples: [FILTER_EXAMPLES.podium, FILTER_EXAMPLES.stripe, FILTER_EXAMPLES.github],
  });

const transformExpression = z
  .string()
  .superRefine((expr, ctx) => {
    const r = compileTransform(expr);
    if (!r.ok) for (const i of r.issues) ctx.addIssue({ code: "custom", message: i.message });
  })
  .openapi({
    description:
      `A JSONata expression evaluated on the event's parsed body; its result, as JSON, is the body sent and signed (the event is stored unchanged). Bounded (${TRANSFORM_LIMITS.expressionChars} characters nested at most ${TRANSFORM_LIMITS.nesting} levels deep, 50,000 steps, 256 KiB of output); an error fails the attempt for good, without retries. null: the stored body byte for byte.`,
    examples: [TRANSFORM_EXAMPLES.podium, TRANSFORM_EXAMPLES.stripe, TRANSFORM_EXAMPLES.github],
  });

const asCode = (xs: readonly string[]) => xs.map((x) => `\`${x}\``).join(", ");
const CREDENTIAL_HEADERS_NOTE = `Write-only values: a header whose name looks like a credential (${asCode(CREDENTIAL_NAMES)}, a name containing any of ${asCode(CREDENTIAL_PARTS)}, or with any of the words ${asCode(CREDENTIAL_WORDS)} or \`access\` then \`code\`, parted by \`-\`, \`_\` or \`.\`) is shown with the value \`"${REDACTED}"\` in every answer; deliveries send the real value.`;

const transformHeaderMap = jsonRecord(z.string())
  .superRefine((headers, ctx) => {
    // A value given as REDACTED is the stored one, checked when it was stored (the route puts it
    // back); its name is checked here like any other.
    const r = compileTransform(null, Object.fromEntries(Object.entries(headers).map(([name, expr]) => [name, expr === REDACTED ? "''" : expr])));
    if (r.ok) return;
    for (const i of r.issues) {
      const name = /^transformHeaders\[(".*")\]$/.exec(i.path)?.[1];
      ctx.addIssue({ code: "custom", message: i.message, path: name === undefined ? [] : [String(JSON.parse(name))] });
    }
  })
  // Names are compared and sent in lower case; no header at all is stored as none.
  .transform((headers) =>
    Object.keys(headers).length === 0 ? null : Object.fromEntries(Object.entries(headers).map(([name, expr]) => [name.toLowerCase(), expr])),
  )
  .openapi({
    description:
      `Extra headers: name → JSONata expression on the same input; a string, number or boolean result is the value, nothing found leaves the header out. At most 10; never \`content-type\`, \`user-agent\`, \`webhook-*\`, \`podium-*\` or \`edgehook-*\`, nor a hop-by-hop header (\`connection\`, \`te\`, \`upgrade\`, …) or \`cf-connecting-ip\`/\`cf-worker\`, which a Worker's request cannot send as given. A value is sent trimmed of spaces and tabs (HTTP drops them); an expression whose every value would start or end with them (a padded literal), or hold a character outside printable ASCII and the tab (a literal's é, NUL or line break), is refused. null: none. ${CREDENTIAL_HEADERS_NOTE} On PATCH and PUT, \`"${REDACTED}"\` keeps the stored expression of that header (what a read shows may be written back as is); for a header not stored, and on create, it is refused (400 \`invalid_request\`). A header left out of the object is removed.`,
    examples: [{ "x-podium-event": "metadata.eventType", "x-conversation": "data.conversation.uid" }, { "x-repository": "repository.full_name" }],
  });

export const WebhookSchema = z
  .object({
    uid: z.string(),
    url: z.string(),
    eventTypes: z.array(z.string()),
    locationUid: z.string().nullable(),
    organizationUid: z.string().nullable(),
    grantOrganizationUid: z.string().nullable().openapi({
      description:
        "Read-only. A location webhook made by a token limited to organizations that holds the location through one of them: that organization. The webhook is owed the location's events only while they name it (a location that moves to another organization does not take the webhook along), and stays within that organization's grant. null: no such limit.",
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
      description: "Read-only: until when the secret replaced by the last rotation signs beside the current one (a second `webhook-signature` entry); null: none does.",
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
  .openapi({ description: "Saved, but worth a look: event types none of the webhook's sources has received or declares. Absent when there is none." });

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
  secret: webhookFields.secret.optional(),
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
  })
  .refine((w) => w.locationUid == null || w.organizationUid == null, {
    message:
      "give exactly one of locationUid or organizationUid (a webhook belongs to one location or one organization, as in Podium), or neither for a catch-all",
    path: ["locationUid"],
  })
  .openapi("WebhookCreate");

/** Of a write that changes `secret`: how long the replaced secret keeps signing; without one, 0 ends the previous secret (domain/webhook.ts withRotation). */
const previousSecretValidSeconds = z
  .number()
  .int()
  .min(0)
  .max(PREVIOUS_SECRET_VALID_SECONDS.max)
  .optional()
  .openapi({
    description: `With a new \`secret\`: seconds the secret it replaces keeps signing beside it, as a second \`webhook-signature\` entry (0..${PREVIOUS_SECRET_VALID_SECONDS.max}; default ${PREVIOUS_SECRET_VALID_SECONDS.default}, 24 h). 0 stops the old secret at once (a leaked one); without a new secret, 0 ends the previous secret now and any other value is a 400 \`invalid_request\`. \`podium-signature\` carries the new secret's signature alone.`,
  });

export const WebhookPut = z
  .strictObject({ url: webhookUrl(REPLACED), eventTypes: webhookEventTypes(REPLACED), ...changeable, previousSecretValidSeconds, ...immutableScope })
  .openapi("WebhookPut");

export const WebhookPatch = WebhookPut.partial().openapi("WebhookPatch");

export const ListQuery = strictQuery({ limit, cursor });

export const WebhookTestBody = z
  .strictObject({ eventId: uid.openapi({ description: "A stored event the caller may see.", example: "evt_528e218bd5c051bf5503ef78c46b97e3" }) })
  .openapi("WebhookTestRequest");

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
    transformError: z.string().nullable().openapi({ description: "Why the transformation fails on this event (a delivery would fail for good, not retried); null when it runs." }),
    request: z
      .object({
        url: z.string(),
        headers: z.record(z.string(), z.string()).openapi({
          description:
            `The headers sent, except the signatures (\`webhook-id\`, \`webhook-timestamp\`, \`webhook-signature\`, \`podium-timestamp\`, \`podium-signature\`), which each attempt computes over exactly \`body\`. A credential header of \`transformHeaders\` shows \`"${REDACTED}"\` in place of its value.`,
        }),
        body: z.string().openapi({ description: "The body sent: the transformation's output, or the stored body byte for byte." }),
      })
      .nullable()
      .openapi({ description: "What a delivery would POST, whether or not the webhook is owed the event; null when the transformation fails." }),
  })
  .openapi("WebhookTestAnswer");

// Deliveries

export const DeliveryListQuery = strictQuery({
  status: z.enum(DELIVERY_STATUSES).optional().openapi({ description: "Only deliveries in this status." }),
  webhookUid: uid.optional().openapi({ description: "Only deliveries to this webhook." }),
  eventId: uid.optional().openapi({ description: "Only deliveries of this event (`evt_…`)." }),
  limit,
  cursor,
});

export const BulkRetryBody = z
  .strictObject({
    // `held` is a status of the list, so a client tries it here: say where held ones go instead.
    status: z.enum(["pending", "failed", "expired", "succeeded"], {
      error: (iss) =>
        iss.input === "held"
          ? 'held deliveries are not retried: they go out when their webhook is enabled (PATCH /v1/webhooks/{uid} {"disabled": false})'
          : iss.input === undefined
            ? 'required: the status of the deliveries to retry, "failed", "expired", "succeeded" or "pending"'
            : undefined,
    }),
    webhookUid: uid.optional(),
    since: givenTime("Deliveries created from this time (included).").optional(),
    cursor: cursor.openapi({ description: "The `nextCursor` of the previous call, with the same status, webhookUid and since (another answers 400)." }),
  })
  .openapi("BulkRetryRequest");
export const RetryAnswer = z
  .object({
    count: z.number().int().openapi({ description: "Deliveries tried again." }),
    held: z.number().int().openapi({ description: "Of them, held because their webhook is disabled: they go out when it is enabled." }),
    nextCursor: z.string().nullable().openapi({ description: "More may match: call again with it (and the same filter) for the next ones; null when none is left." }),
  })
  .openapi("RetryAnswer");

// Sources

const headerName = z.string().regex(/^[A-Za-z0-9-]{1,100}$/, "an HTTP header name").transform((h) => h.toLowerCase());
const dotPath = z.string().regex(/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/, "a dot path such as data.object.id").max(200);

// The stored shape (domain/hmac-config.ts), with what a request must also satisfy.
const stored = HmacConfigShape.shape;
const HmacConfigSchema = HmacConfigShape.extend({
  header: headerName.openapi({ example: "x-signature" }),
  algorithm: stored.algorithm.default("SHA-256"),
  encoding: stored.encoding.default("hex"),
  // ", " parts the copies of a header sent more than once (src/schemes/scheme.ts): a prefix with it could never match.
  // A signature header's value is trimmed before its prefix is looked for: a prefix led by white space could never match.
  prefix: stored.prefix
    .max(40)
    .refine((p) => !p.includes(", "), "must not contain \", \"")
    .refine((p) => !/^\s/.test(p), "must not start with white space")
    .default("")
    .openapi({ example: "sha256=", description: "Written before the encoded MAC; matched in any case (`sha256=` takes `SHA256=`)." }),
  timestampHeader: headerName.nullable().default(null).openapi({
    description: "When set, the signed content is `${timestamp}.${body}` and the timestamp must be within the tolerance.",
  }),
  typePath: dotPath.nullable().default(null).openapi({ example: "type" }),
  dedupePath: dotPath.nullable().default(null).openapi({ example: "id" }),
})
  .strict()
  .openapi("HmacConfig");

const RejectionSummarySchema = z
  .object({
    reason: z.string().openapi({ example: "invalid_signature" }),
    thisHour: z.number().int().openapi({ description: "Refused in the current clock hour." }),
    lastDay: z.number().int().openapi({ description: "Refused in the last 24 clock hours." }),
    lastAt: time,
  })
  .openapi("RejectionSummary");

export const RejectionsSchema = z
  .object({
    sourceId: z.string(),
    summary: z.array(RejectionSummarySchema),
    recent: z.array(
      z.object({
        at: time,
        reason: z.string(),
        requested: z.string().openapi({ description: "The source id the request's path named." }),
        client: z.string().openapi({ description: "The client's address." }),
        userAgent: z.string().nullable(),
        headerNames: z.array(z.string()).openapi({ description: "The request's header names; never their values, nor the body." }),
      }),
    ),
  })
  .openapi("Rejections");

export const SourceSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    provider: z.enum(PROVIDER_NAMES),
    verification: z.enum(["signature", "none"]),
    toleranceSeconds: z.number().int(),
    disabled: z.boolean(),
    ingressUrl: z.string(),
    readOnly: z.boolean().openapi({ description: "Declared by configuration (a Worker secret); change it there." }),
    // Not .nullable(): on a named schema it makes the component itself nullable, and with it
    // SourceCreate's and SourcePatch's hmac, which refuse null.
    hmac: z.union([HmacConfigSchema, z.null()]),
    shopDomain: z.string().nullable().openapi({ description: "Shopify: the one shop this source accepts." }),
    organizationUid: z.string().nullable().openapi({
      description: "The owning organization: its events alone come through (pinned to it). null: no organization owns it.",
    }),
    teachesLocations: z.boolean().openapi({
      description:
        "Whether its events teach which organization a location belongs to (what organization-limited tokens may subscribe to by location): sources of the configuration or made by the admin, while they verify signatures (`verification: \"none\"` teaches nothing: anyone may post to it). Only the admin may change how such a source is verified (secrets, verification, hmac, shopDomain, toleranceSeconds), disable or enable it, or delete it.",
    }),
    createdAt: time.nullable().openapi({ description: "null for a source declared by configuration (readOnly): it has no row of its own." }),
    updatedAt: time.nullable().openapi({ description: "null for a source declared by configuration (readOnly)." }),
    rejections: z
      .array(RejectionSummarySchema)
      .optional()
      .openapi({ description: "In lists and reads: requests refused in the last 24 hours, by reason, latest first." }),
  })
  .openapi("Source");

// What more a source's secret must be is its provider's to say (sourceSecretIssues, on the source made or
// changed): only Standard Webhooks reads a key out of a `whsec_` one.
const secrets = distinct(z.array(anySecret).min(1).max(5), () => "the same secret").openapi({
  description:
    "Write-only. The first is current; the others are still accepted (rotation). A `standard-webhooks` source's `whsec_` secret is standard base64 (not URL-safe) of at least 24 bytes, as a webhook's (one the source holds already may be given again, beside a new one); other providers take any secret as it is (Stripe keys by the whole `whsec_…` string).",
});
const shopDomain = z
  .string()
  .max(255)
  .toLowerCase()
  .regex(/^[a-z0-9][a-z0-9-]*\.myshopify\.com$/, "a shop's myshopify.com domain, e.g. acme.myshopify.com")
  .openapi({
    // Matched in any case (a domain's case means nothing) and stored lower-case: the document's
    // pattern says so, where the one above, run on the lower-cased value, would forbid `Acme…`.
    pattern: "^[A-Za-z0-9][A-Za-z0-9-]*\\.[Mm][Yy][Ss][Hh][Oo][Pp][Ii][Ff][Yy]\\.[Cc][Oo][Mm]$",
    example: "acme.myshopify.com",
    description:
      "Any case, stored lower-case. Shopify only: requests whose X-Shopify-Shop-Domain names another shop are refused (401), and each topic of one order body is an event (a source neither pinned nor owned dedupes on the body alone).",
  });

export const SourceCreate = z
  .strictObject({
    id: z
      .string()
      .regex(SOURCE_ID, "a slug: [a-z0-9-]{1,64}")
      .refine((id) => id !== ALERT_SOURCE, `"${ALERT_SOURCE}" is reserved: Edgehook's alerts are stored under it`)
      .optional(),
    name: givenName,
    provider: z.enum(PROVIDER_NAMES),
    secrets: secrets.optional(),
    verification: z.enum(["signature", "none"]).optional(),
    toleranceSeconds: z.number().int().min(TOLERANCE_S_LIMITS.min).max(TOLERANCE_S_LIMITS.max).optional(),
    disabled: z.boolean().optional(),
    hmac: HmacConfigSchema.optional().openapi({ description: "Required for the `hmac` provider, refused for others." }),
    shopDomain: shopDomain.optional(),
    organizationUid: newOwnerUid.optional().openapi({
      description: "The owning organization. A limited token's sources belong to one of its organizations (the only one by default).",
    }),
  })
  .superRefine((s, ctx) => {
    for (const { path, message } of [...sourceSecretIssues(s.provider, s.secrets ?? []), ...sourceProblems(s)]) {
      ctx.addIssue({ code: "custom", message, path: path.split(".") });
    }
  })
  .openapi("SourceCreate");

/**
 * What a source keeps for life: a PATCH naming them is refused saying so, not as a typo (only when
 * they are its only unknown keys: validate.ts gives each unknown key the issue's message).
 */
const SOURCE_FIXED: readonly string[] = ["provider", "organizationUid"];
const SOURCE_FIXED_MESSAGE = "a source's provider and owner (organizationUid) cannot change; create a new source instead";

export const SourcePatch = z
  .strictObject(
    {
      name: givenName.optional(),
      secrets: secrets.optional(),
      verification: z.enum(["signature", "none"]).optional(),
      toleranceSeconds: z.number().int().min(TOLERANCE_S_LIMITS.min).max(TOLERANCE_S_LIMITS.max).nullable().optional(),
      disabled: z.boolean().optional(),
      hmac: HmacConfigSchema.optional().openapi({
        description: "Replaces the whole configuration: a field left out takes its default (not the source's current value), so send every field you set.",
      }),
      shopDomain: shopDomain.nullable().optional(),
    },
    { error: (issue) => (issue.code === "unrecognized_keys" && issue.keys.every((k) => SOURCE_FIXED.includes(k)) ? SOURCE_FIXED_MESSAGE : undefined) },
  )
  .openapi("SourcePatch");

// Tokens

export const TokenSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    scopes: z.array(z.enum(SCOPES)),
    organizationUids: z.array(z.string()).nullable(),
    locationUids: z.array(z.string()).nullable(),
    createdAt: time,
    lastUsedAt: time.nullable(),
    revokedAt: time.nullable(),
  })
  .openapi("Token");

export const TokenCreated = TokenSchema.extend({ token: z.string() }).openapi("TokenCreated");

/** A token without a scope could do nothing: said so rather than zod's "expected array to have >=1 items". */
const NO_SCOPE = "give at least one scope, such as events:read";

export const TokenCreate = z
  .strictObject({
    name: givenName,
    scopes: distinct(z.array(z.enum(SCOPES), { error: (issue) => (issue.input === undefined ? NO_SCOPE : undefined) }).min(1, NO_SCOPE)),
    organizationUids: distinct(z.array(newOwnerUid).min(1).max(100)).optional(),
    locationUids: distinct(z.array(newOwnerUid).min(1).max(100)).optional(),
  })
  .refine((t) => !t.scopes.includes("admin") || (t.organizationUids === undefined && t.locationUids === undefined), {
    message: "admin reaches every organization, so it cannot be limited to organizationUids or locationUids; give the scopes the token needs instead",
    path: ["scopes"],
  })
  .openapi("TokenCreate");

// Catalog and stats

export const EventTypeSchema = z
  .object({
    type: z.string(),
    provider: z.string(),
    scope: z.string().nullable().openapi({ description: "The data scope subscribing to or reading this type needs (by its object, the word before the first dot, whatever the provider); null: none." }),
    description: z.string(),
  })
  .openapi("EventType");

export const StatsSchema = z
  .object({
    events: z.object({
      total: z.number().int(),
      last24h: z.number().int().openapi({
        description:
          "Events received in the current ten-minute bucket of the clock and the 143 before it: the last 23 h 50 min to 24 h, so up to the day's oldest ten minutes are not counted.",
      }),
    }),
    series: z
      .array(z.object({ start: time, events: z.number().int(), attempts: z.number().int().nullable(), succeededAttempts: z.number().int().nullable() }))
      .openapi({ description: "The last six hours in ten-minute buckets, oldest first. Attempts are null where `deliveries` is." }),
    deliveries: z
      .object({
        held: z.number().int(),
        pending: z.number().int(),
        succeeded: z.number().int(),
        failed: z.number().int(),
        expired: z.number().int(),
      })
      .nullable()
      .openapi({ description: `Null for a limited token whose grant holds more than ${STATS_GRANT_WEBHOOKS} webhooks: see the per-webhook counts.` }),
    deadLetters: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "Dead letters not replayed yet: see /v1/dead-letters. Null unless the token is admin: dead letters belong to no tenant." }),
    parkedDeadLetters: z.number().int().nullable().openapi({
      description:
        "Dead letters waiting in R2 because D1 could not take them (counted up to 1000); the maintenance run records or re-ingests them. Null unless the token is admin.",
    }),
    webhooks: z.array(
      z.object({
        uid: z.string(),
        url: z.string(),
        disabled: z.boolean(),
        succeeded: z.number().int(),
        failed: z.number().int(),
        pending: z.number().int(),
        held: z.number().int(),
        successRate: z.number().nullable().openapi({ description: "succeeded / (succeeded + failed); null before any." }),
        lastFailureAt: time.nullable(),
        lastError: z.string().nullable(),
      }),
    ).openapi({
      description: `At most ${STATS_WEBHOOKS}, the first by uid after \`cursor\`, most failed first among them (with \`failingFirst\`, up to ${STATS_WEBHOOKS} failing now before them).`,
    }),
    webhooksNextCursor: z.string().nullable().openapi({ description: "Where the next webhooks follow (`cursor`), or null: none." }),
  })
  .openapi("Stats");

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
        "The ETag read (`*`: any version): the change applies only while the resource is still at that version, else 412 `precondition_failed` and nothing is changed. Without it, the change applies to the resource as this request reads it.",
      example: '"mj2x4k1c"',
    }),
});

// Listeners (`edgehook listen` and `tail`)

/**
 * A comma-separated query list. An empty entry (`,a`, `a,,b`, `a,`) is refused, not dropped: a
 * parameter is never ignored, in part or whole. (An empty parameter is "must not be empty".)
 */
const commaList = (item: z.ZodString, description: string, most = 50, chars = 2000) =>
  z
    .string()
    .max(chars)
    .transform((s, ctx) => {
      if (s.trim() === "") return [];
      const items = s.split(",").map((x) => x.trim());
      items.forEach((x, i) => {
        if (x === "") ctx.addIssue({ code: "custom", message: `entry ${i + 1} of ${items.length} is empty (two commas together, or one at either end)`, path: [i] });
      });
      return items;
    })
    .pipe(distinct(z.array(item).min(1).max(most)))
    .optional()
    .openapi({ type: "string", description });

export const StatsQuery = strictQuery({
  cursor: cursor.openapi({ description: "The `webhooksNextCursor` of the previous answer: the next webhooks." }),
  webhookUids: commaList(
    uid,
    `Comma-separated webhook uids (at most ${STATS_WEBHOOKS}): \`webhooks\` holds the counts of those of them the token may see, in place of a page (no cursor).`,
    STATS_WEBHOOKS,
    // (Each uid up to 128 characters, and its comma.)
    STATS_WEBHOOKS * 129,
  ),
  failingFirst: z.enum(["true", "false"]).optional().openapi({
    description: `\`true\`: \`webhooks\` starts with the webhooks failing now (their last attempt failed), up to ${STATS_WEBHOOKS} wherever they are by uid (the latest streaks when more fail: a disabled webhook keeps its streak until enabled), the longest failing first; the first page by uid follows, without them (the dashboard's overview asks so). Not with \`cursor\` or \`webhookUids\`.`,
  }),
});

export const ListenQuery = strictQuery({
  mode: z.enum(["listen", "tail"]).default("listen").openapi({
    description: "`listen`: events with their bodies and signature headers; `tail`: events without bodies, and delivery attempts.",
  }),
  sourceIds: commaList(z.string().regex(SOURCE_ID, "a source id"), "Comma-separated source ids, each existing (400 `invalid_request` names one that does not, as for a webhook's `sourceIds`); default all."),
  eventTypes: commaList(
    z.string().max(200).regex(EVENT_TYPE_PATTERN, "an exact type, `object.*` or `*`"),
    "Comma-separated event types (`message.received`, `message.*`, `*`); default all. A Podium object's type that does not exist and no source has received (`message.recieved`) is refused as a webhook's is (400 `invalid_request`, `details.issues[].closest` names the nearest valid one); other providers' types are free-form.",
  ),
  webhookUid: uid.optional().openapi({
    description: "Hear what this webhook is owed, signed with its secret (listen needs webhooks:write, tail webhooks:read).",
  }),
  // Digits, as a hello or an event gave it: coerced, a blank one would read as 0 and resend the whole store.
  after: queryInteger(0, Number.MAX_SAFE_INTEGER)
    .optional()
    .openapi({ type: "integer", minimum: 0, description: "Resume: send what was stored after this position first." }),
  replay: queryInteger(0, 100)
    .default(0)
    .openapi({ type: "integer", minimum: 0, maximum: 100, default: 0, description: "Send the last N matching events first. Not with `after` (400): a resume starts at its position." }),
  ack: z.enum(["true", "false"]).optional().openapi({
    description:
      'Listen mode: after each run of events (ended by a `position` message) the hub sends no more until the client sends `{"type":"ack","position":…}` with that position, so a slow client slows its catch-up. The hello says `acks: true`. `true` in tail mode, which sends nothing to ack, answers 400.',
  }),
})
  // Each would be ignored without a word: a resume starts at its position, and tail sends no runs to ack.
  .refine((q) => q.after === undefined || q.replay === 0, { message: "not with after, which resumes from a position", path: ["replay"] })
  .refine((q) => q.mode !== "tail" || q.ack !== "true", { message: "listen mode only: tail sends nothing to ack", path: ["ack"] });

// Notification endpoints and alerts (docs/alerts.md)

const ALERT_FORMATS = ["standard-webhooks", "slack"] as const;

const notificationFields = {
  url: webhookFields.url.openapi({ example: "https://ops.example.com/edgehook-alerts" }),
  alertTypes: distinct(z.array(z.enum(ALERT_TYPES)).min(1, "subscribe to at least one alert type"))
    .openapi({ example: ["webhook.failing", "webhook.disabled", "webhook.recovered"] }),
  format: z.enum(ALERT_FORMATS).openapi({
    description: "`standard-webhooks` (default): `{type, timestamp, data}` JSON signed with the endpoint's secret. `slack`: `{\"text\": …}` for Slack and similar incoming webhooks (signed the same way).",
  }),
  disabled: z.boolean(),
};

export const NotificationEndpointSchema = z
  .object({
    uid: z.string(),
    url: z.string(),
    alertTypes: z.array(z.enum(ALERT_TYPES)),
    format: z.enum(ALERT_FORMATS),
    disabled: z.boolean(),
    createdAt: time,
    updatedAt: time,
  })
  .openapi("NotificationEndpoint");

export const NotificationEndpointCreated = NotificationEndpointSchema.extend({
  secret: z.string().openapi({ description: "The signing secret (`whsec_…`), shown this once." }),
}).openapi("NotificationEndpointCreated");

export const NotificationEndpointCreate = z
  .strictObject({
    url: notificationFields.url,
    alertTypes: notificationFields.alertTypes,
    format: notificationFields.format.optional(),
    disabled: notificationFields.disabled.optional(),
  })
  .openapi("NotificationEndpointCreate");

const NOTIFICATION_SECRET_FIXED =
  "a notification endpoint's secret cannot be changed: to rotate it, create a new endpoint with the same settings, give its secret to the receiver, then delete the old one";
// A `secret` sent to PATCH is refused with how to rotate it, not as an unknown key (alone: validate.ts gives
// each unknown key the issue's message, which beside another key would be said of that one too).
export const NotificationEndpointPatch = z
  .strictObject(NotificationEndpointCreate.partial().shape, {
    error: (issue) => (issue.code === "unrecognized_keys" && issue.keys.length === 1 && issue.keys[0] === "secret" ? NOTIFICATION_SECRET_FIXED : undefined),
  })
  .openapi("NotificationEndpointPatch");

export const AlertSchema = z
  .object({
    id: z.string(),
    type: z.enum(ALERT_TYPES).openapi({ description: "The condition; a `webhook.failing` episode closes with a `webhook.recovered` alert." }),
    subject: z.string().openapi({ description: "The webhook uid, the source id, or `ingest`." }),
    state: z.enum(["open", "closed"]),
    openedAt: time,
    lastAt: time.openapi({ description: "When the condition was last seen." }),
    closedAt: time.nullable(),
    count: z.number().int().openapi({ description: "How many times the condition was seen in this episode (failed attempts, dead letters, refused requests)." }),
    data: z
      .record(z.string(), z.unknown())
      .openapi({ description: "What the opening alert said; with `webhookDeleted: true` once deleting its webhook closed the episode." }),
    message: z.string(),
  })
  .openapi("Alert");

export const AlertListQuery = strictQuery({
  limit,
  cursor: cursor.openapi({ description: "The `nextCursor` of the previous page (newest first)." }),
});
