import { defineScheme } from "./scheme";

/** Shopify: `X-Shopify-Hmac-Sha256` is the base64 HMAC-SHA256 of the body, no timestamp. */
export const shopify = defineScheme({ header: "x-shopify-hmac-sha256", prefix: "", encoding: "base64", content: "" });
