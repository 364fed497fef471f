import { defineScheme } from "./scheme";

/**
 * Stripe: `Stripe-Signature: t=<seconds>,v1=<hex>[,v1=<hex>…]`, each v1 the hex
 * HMAC-SHA256 of `${t}.${rawBody}` keyed by the whole `whsec_…` string. Read as stripe-node's
 * parseHeader reads it (split at `,`, keys untrimmed), and its `t` refused when older than the
 * tolerance and, ahead of the clock, only past a day: stripe-node (Webhooks.ts) checks only
 * `timestampAge > tolerance`, but a request signed far ahead could be sent again and stored as new
 * once its event is purged (RETENTION_DAYS); a day is any clock's skew.
 */
export const stripe = defineScheme({
  header: "stripe-signature",
  prefix: "v1=",
  encoding: "hex",
  separator: ",",
  entriesAsSent: true,
  timestamp: { entry: "t=", unit: "s", aheadSeconds: 86_400 },
  content: "{timestamp}.",
});
