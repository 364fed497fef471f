import type { DeliveryStatus } from "./delivery";
import type { FlowLimits } from "./flow";
import { isErrorCode, type ErrorCode } from "./errors";
import { arrayOf, isNumber, isPlainObject, isString, isStringArray, objectOf, oneOf, orNull, orUndefined, recordOf } from "./guards";
import type { HmacConfig } from "./hmac-config";

/** The providers Edgehook can verify. One module each in src/ingress/providers/. */
export const PROVIDER_NAMES = ["podium", "standard-webhooks", "stripe", "github", "shopify", "slack", "hmac"] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

export const isProviderName = oneOf(PROVIDER_NAMES);

/** An inbound endpoint for one provider account. */
export interface Source {
  id: string;
  name: string;
  provider: ProviderName;
  verification: "signature" | "none";
  /** Accepted secrets, current first (rotation). Never leaves the Worker. */
  secrets: string[];
  /** Timestamp tolerance in seconds; 0 turns the check off. */
  toleranceSeconds: number;
  disabled: boolean;
  /** Declared by configuration (env secrets) rather than stored in D1. */
  fromConfig: boolean;
  /** Only for the generic `hmac` provider. */
  hmac: HmacConfig | null;
  /** Only for `shopify`: the one shop (`acme.myshopify.com`) this source accepts. */
  shopDomain: string | null;
  /** The organization that owns it, whose events alone it may send; null: none owns it. */
  organizationUid: string | null;
  /** Made by configuration or the admin: its events may teach which organization a location belongs to (see `teaches`). */
  teachesLocations: boolean;
  /** When the stored source was made (what tells it from one made again under its id); null for one declared by configuration. */
  madeAt: number | null;
  /** What its events' ids are derived with besides its id (eventIdFor); null for one stored before migration 0060 or declared by configuration. Never shown. */
  eventSalt: string | null;
}

/** Whether a source's events teach where locations belong: one the admin or configuration made, while it verifies signatures (anyone may post to one that does not). */
export const teaches = (s: Pick<Source, "teachesLocations" | "verification">): boolean => s.teachesLocations && s.verification === "signature";

/** What a provider reads out of a verified request (the dedupe key as stored). */
export interface EventFacts {
  dedupeKey: string;
  eventType: string;
  locationUid: string | null;
  organizationUid: string | null;
  /**
   * false: the event says nothing about where its location belongs, its source being one that may not
   * teach it (Source.teachesLocations), or its location and organization read from two objects (a
   * Podium contact's organization beside a `data.location`).
   */
  teaches?: false;
}

/**
 * A dedupe key as a provider has it: the sender's own id, or a digest (SHA-256 hex) Edgehook took
 * of what it had instead. A given id may be any text, a digest's shape included, so the event id
 * tells the two apart (ids.ts): a sender's id is never taken for another event's digest.
 */
export type DedupeKey = { given: string } | { digest: string };

/** The key's text, as stored and shown. */
export const dedupeKeyText = (key: DedupeKey): string => ("given" in key ? key.given : key.digest);

/** What a provider reads out of a verified request, its dedupe key with what kind it is. */
export interface ProviderFacts extends Omit<EventFacts, "dedupeKey"> {
  dedupeKey: DedupeKey;
}

/** The message the ack path puts on the ingest queue. */
export interface IngestMessage extends EventFacts {
  v: 1;
  eventId: string;
  sourceId: string;
  /** The owner of a tenant's source: its events are pinned to this organization. */
  sourceOwner?: string;
  /** Epoch milliseconds at the edge. */
  receivedAt: number;
  headers: Record<string, string>;
  /** The raw body, unless it went to R2 (claim check). */
  body?: string;
  bodyKey?: string;
}

/** Whether a queue message (or a parked or dead-lettered copy of one) is an ingest message. */
export const isIngestMessage = objectOf<IngestMessage>({
  v: oneOf([1]),
  eventId: isString,
  sourceId: isString,
  sourceOwner: orUndefined(isString),
  teaches: orUndefined(oneOf([false])),
  receivedAt: isNumber,
  headers: recordOf(isString),
  body: orUndefined(isString),
  bodyKey: orUndefined(isString),
  dedupeKey: isString,
  eventType: isString,
  locationUid: orNull(isString),
  organizationUid: orNull(isString),
});

/** A stored event, as the store returns it. */
export interface StoredEvent extends EventFacts {
  seq: number;
  id: string;
  sourceId: string;
  receivedAt: number;
  headers: Record<string, string>;
  body: string;
}

/** A JSON value, as `JSON.parse` makes it. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Whether a value is JSON data (finite numbers, plain arrays and objects all the way down). */
export function isJson(v: unknown): v is Json {
  if (v === null || typeof v === "string" || typeof v === "boolean") return true;
  if (typeof v === "number") return Number.isFinite(v);
  if (Array.isArray(v)) return v.every(isJson);
  return isPlainObject(v) && Object.values(v).every(isJson);
}

/** A forwarding subscription (docs/forwarding.md) with its flow limits (docs/flow-control.md). `secret` never leaves through the API after creation. */
export interface Webhook extends FlowLimits {
  uid: string;
  url: string;
  eventTypes: string[];
  locationUid: string | null;
  organizationUid: string | null;
  /**
   * A location webhook made by a token holding the location only through this
   * organization: owed the location's events only while they name it. null: no such limit.
   */
  grantOrganizationUid: string | null;
  sourceIds: string[] | null;
  secret: string;
  /** The secret the last rotation replaced, signing beside `secret` until `expiresAt` (ms); null: none kept. Never leaves the Worker. */
  previousSecret: { secret: string; expiresAt: number } | null;
  disabled: boolean;
  timeoutMs: number;
  maxAttempts: number;
  createdAt: number;
  updatedAt: number;
  /** A content filter (routing/filter.ts) matched against `{ body, headers }` at storage; null: none. */
  filter: Json | null;
  /** A JSONata expression whose result is the body sent; null: the stored body byte for byte. */
  transform: string | null;
  /** Extra headers sent: lower-case name → JSONata expression; null: none. */
  transformHeaders: Record<string, string> | null;
  /** `notification`: an operator's notification endpoint, sent alerts only (docs/alerts.md). */
  kind: WebhookKind;
  /** Disabled once every attempt has failed for this long; null: never. */
  autoDisableAfterMinutes: number | null;
  /** Failed attempts in a row that make it `failing`. */
  failingAfterAttempts: number;
  /** Why it was disabled automatically; null otherwise. */
  disabledReason: string | null;
  /** When it was disabled, while it is. */
  disabledAt: number | null;
}

const WEBHOOK_KINDS = ["webhook", "notification"] as const;
export type WebhookKind = (typeof WEBHOOK_KINDS)[number];

export const isWebhookKind = oneOf(WEBHOOK_KINDS);

/** One event owed to one webhook. */
export interface Delivery {
  id: string;
  eventId: string;
  webhookUid: string;
  status: DeliveryStatus;
  attemptCount: number;
  nextAttemptAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** One HTTP try of a delivery. */
export interface Attempt {
  deliveryId: string;
  number: number;
  startedAt: number;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  responseSnippet: string | null;
}

/** One request the ingress refused, as kept: never its body, a signature or a secret. */
export interface RejectionSample {
  /** The source it is counted under: the source, or `(unknown)` / `(invalid)` for a path that names none. */
  sourceId: string;
  /** The source id the request's path asked for. */
  requested: string;
  reason: ErrorCode;
  at: number;
  client: string;
  userAgent: string | null;
  headerNames: string[];
  /**
   * The created_at of the source the request was judged against (absent: no stored source, or a
   * message from before it was sent): recorded only while that source, not one made again under
   * its id, holds the id.
   */
  sourceCreatedAt?: number;
}

/** What the ack path sends to the rejections queue: a tally of refusals over a window, and a few samples. */
export interface RejectionsMessage {
  v: 1;
  counts: { sourceId: string; reason: ErrorCode; count: number; lastAt: number; sourceCreatedAt?: number }[];
  samples: RejectionSample[];
}

const isRejectionSample = objectOf<RejectionSample>({
  sourceId: isString,
  requested: isString,
  reason: isErrorCode,
  at: isNumber,
  client: isString,
  userAgent: orNull(isString),
  headerNames: isStringArray,
  sourceCreatedAt: orUndefined(isNumber),
});

/** Whether a rejections queue message is what the ingress sends (rejection-log.ts). */
export const isRejectionsMessage = objectOf<RejectionsMessage>({
  v: oneOf([1]),
  counts: arrayOf(objectOf({ sourceId: isString, reason: isErrorCode, count: isNumber, lastAt: isNumber, sourceCreatedAt: orUndefined(isNumber) })),
  samples: arrayOf(isRejectionSample),
});
