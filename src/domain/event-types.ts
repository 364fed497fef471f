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

/** Common types of the other providers (they send many more; any type is accepted and routed). */
const others: [string, string, string][] = [
  ["stripe", "payment_intent.succeeded", "A PaymentIntent succeeded."],
  ["stripe", "payment_intent.payment_failed", "A PaymentIntent failed."],
  ["stripe", "charge.refunded", "A charge was refunded."],
  ["stripe", "customer.subscription.created", "A subscription was created."],
  ["stripe", "customer.subscription.deleted", "A subscription ended."],
  ["stripe", "checkout.session.completed", "A Checkout Session completed."],
  ["github", "ping", "The webhook was created or pinged."],
  ["github", "push", "Commits were pushed."],
  ["github", "pull_request.opened", "A pull request was opened."],
  ["github", "pull_request.closed", "A pull request was closed or merged."],
  ["github", "issues.opened", "An issue was opened."],
  ["github", "release.published", "A release was published."],
  ["shopify", "orders.create", "An order was created."],
  ["shopify", "orders.paid", "An order was paid."],
  ["shopify", "orders.cancelled", "An order was cancelled."],
  ["shopify", "customers.create", "A customer was created."],
  ["shopify", "products.update", "A product was updated."],
  ["shopify", "app.uninstalled", "The app was uninstalled."],
  ["slack", "message", "A message was posted in a channel the app is in."],
  ["slack", "app_mention", "The app was mentioned."],
  ["slack", "reaction_added", "A reaction was added."],
  ["slack", "member_joined_channel", "A user joined a channel."],
];

/** The event-type catalog: Podium's 22 types with their data scopes, then common types of other providers. */
export const EVENT_TYPES: EventTypeInfo[] = [
  ...podium.map(([type, description]) => ({
    type,
    provider: "podium",
    scope: DATA_SCOPE_OF_OBJECT[type.split(".")[0]!] ?? null,
    description,
  })),
  ...others.map(([provider, type, description]) => ({ type, provider, scope: null, description })),
];

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
