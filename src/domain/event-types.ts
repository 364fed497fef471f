import type { Scope } from "./scopes";

/** A Podium data scope: what a token needs to subscribe to, or read, an object's events. */
export type DataScope = Extract<Scope, "read_messages" | "read_contacts" | "read_payments" | "read_reviews">;

export const DATA_SCOPE_OF_OBJECT: Record<string, DataScope> = {
  message: "read_messages",
  contact: "read_contacts",
  invoice: "read_payments",
  review: "read_reviews",
};

export const DATA_SCOPES = Object.values(DATA_SCOPE_OF_OBJECT);

export interface EventTypeInfo {
  type: string;
  provider: string;
  scope: DataScope | null;
  description: string;
}

const podium: [string, string][] = [
  ["contact.created", "A contact was created."],
  ["contact.deleted", "A contact was deleted."],
  ["contact.merged", "Two contacts were merged."],
  ["contact.unchanged", "A contact update changed nothing."],
  ["contact.updated", "A contact was updated."],
  ["invoice.created", "An invoice was created."],
  ["invoice.disabled", "An invoice was disabled."],
  ["invoice.marked_as_paid", "An invoice was marked as paid."],
  ["invoice.payment_created", "A payment on an invoice was created."],
  ["invoice.payment_failed", "A payment on an invoice failed."],
  ["invoice.payment_succeeded", "A payment on an invoice succeeded."],
  ["invoice.refund_created", "A refund was created."],
  ["invoice.refund_failed", "A refund failed."],
  ["message.failed", "A message could not be delivered."],
  ["message.received", "A message was received."],
  ["message.sent", "A message was sent."],
  ["review.created", "A review was created."],
  ["review.invite_link_created", "A review invite link was created."],
  ["review.invite_link_updated", "A review invite link was updated."],
  ["review.response_created", "A response to a review was created."],
  ["review.response_updated", "A response to a review was updated."],
  ["review.updated", "A review was updated."],
];

/** The event-type catalog. Other providers' types appear as their providers are added. */
export const EVENT_TYPES: EventTypeInfo[] = podium.map(([type, description]) => ({
  type,
  provider: "podium",
  scope: DATA_SCOPE_OF_OBJECT[type.split(".")[0]!] ?? null,
  description,
}));

/** The data scope an event type needs, or null for types outside the Podium data objects. */
export function dataScopeOf(eventType: string): DataScope | null {
  return DATA_SCOPE_OF_OBJECT[eventType.split(".")[0]!] ?? null;
}

/** The data scopes a subscription pattern needs: `*` needs all four, as in Podium. */
export function dataScopesForPattern(pattern: string): DataScope[] {
  if (pattern === "*") return DATA_SCOPES;
  const scope = dataScopeOf(pattern);
  return scope ? [scope] : [];
}
