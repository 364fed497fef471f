import { defineScheme } from "./scheme";

/**
 * Stripe: `Stripe-Signature: t=<seconds>,v1=<hex>[,v1=<hex>…]`, each v1 the hex
 * HMAC-SHA256 of `${t}.${rawBody}` keyed by the whole `whsec_…` string.
 */
export const stripe = defineScheme({
  header: "stripe-signature",
  prefix: "v1=",
  encoding: "hex",
  separator: ",",
  timestamp: { entry: "t=", unit: "s" },
  content: "{timestamp}.",
});
