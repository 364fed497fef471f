import { sha256Hex } from "../../domain/ids";
import { shopify as scheme } from "../../schemes/shopify";
import { header, invalidSignature, jsonObject, type Provider } from "./provider";

const SHOP_DOMAIN = "x-shopify-shop-domain";
const STORED_HEADERS = [
  "x-shopify-topic",
  SHOP_DOMAIN,
  "x-shopify-webhook-id",
  "x-shopify-event-id",
  "x-shopify-api-version",
  "x-shopify-triggered-at",
] as const;

/**
 * Shopify: the type comes from `X-Shopify-Topic` (`orders/create` → `orders.create`).
 * Only the body is signed, so the dedupe key is the body's hash (a request re-sent with
 * other headers lands on the event already stored), and a source pinned to its shop
 * (`shopDomain`) refuses any other `X-Shopify-Shop-Domain`; the shop is the organization.
 */
export const shopify: Provider = {
  name: "shopify",

  scheme: () => scheme,

  pin(req, source) {
    if (source.shopDomain && header(req, SHOP_DOMAIN)?.toLowerCase() !== source.shopDomain) {
      throw invalidSignature(`X-Shopify-Shop-Domain must be ${source.shopDomain}: this source belongs to that shop.`);
    }
  },

  async facts(req, body, source) {
    jsonObject(body, "Shopify");
    return {
      dedupeKey: await sha256Hex(req.raw),
      eventType: header(req, "x-shopify-topic")?.replace(/\//g, ".") ?? "unknown",
      locationUid: null,
      organizationUid: source.shopDomain ?? header(req, SHOP_DOMAIN),
    };
  },

  storedHeaders: () => STORED_HEADERS,
};
