import { defineScheme } from "./scheme";

/**
 * Shopify: `X-Shopify-Hmac-Sha256` is the base64 HMAC-SHA256 of the body, no timestamp. Shopify
 * sends one value, and its libraries compare the base64 text: one canonical standard base64
 * signature only (no list, no second copy, no URL-safe or unpadded spelling).
 */
export const shopify = defineScheme({ header: "x-shopify-hmac-sha256", prefix: "", encoding: "base64", oneValue: true, content: "" });
