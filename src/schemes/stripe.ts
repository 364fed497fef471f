import { defineScheme } from "./scheme";

/**
 * Stripe: `Stripe-Signature: t=<seconds>,v1=<hex>[,v1=<hex>…]`, each v1 the hex
 * HMAC-SHA256 of `${t}.${rawBody}` keyed by the whole `whsec_…` string. Read as stripe-node's
 * parseHeader reads it (split at `,`, keys untrimmed), and its `t` refused only when older than the
 * tolerance: stripe-node (Webhooks.ts) checks `timestampAge > tolerance`, never a future one.
 */
export const stripe = defineScheme({
  header: "stripe-signature",
  prefix: "v1=",
  encoding: "hex",
  separator: ",",
  entriesAsSent: true,
  timestamp: { entry: "t=", unit: "s", futureAccepted: true },
  content: "{timestamp}.",
});
