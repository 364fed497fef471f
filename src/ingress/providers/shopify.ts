import { concatBytes, utf8 } from "../../domain/crypto";
import { sha256Hex } from "../../domain/crypto";
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
 * Only the body is signed, so the dedupe key is the hash of the topic and the body: Shopify
 * sends the same order body under several topics (`orders/create`, `orders/updated`,
 * `orders/paid`), each an event of its own, and a request re-sent with another delivery id
 * lands on the event already stored. A source pinned to its shop (`shopDomain`) refuses any
 * other `X-Shopify-Shop-Domain`; the shop is the organization.
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
    const topic = header(req, "x-shopify-topic");
    return {
      dedupeKey: await sha256Hex(topic === null ? req.raw : concatBytes([utf8(`${topic}\n`), req.raw])),
      eventType: topic?.replace(/\//g, ".") ?? "unknown",
      locationUid: null,
      organizationUid: source.shopDomain ?? header(req, SHOP_DOMAIN),
    };
  },

  storedHeaders: () => STORED_HEADERS,
};
