import { concatBytes, sha256Hex, utf8 } from "../../domain/crypto";
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
 * Shopify: the type comes from `X-Shopify-Topic` (`orders/create` → `orders.create`). Only the
 * body is signed, so a captured request can be re-sent with any topic and shop; what it can
 * make depends on whether the shop is the source's to say:
 * - pinned to its shop (`shopDomain`, any other `X-Shopify-Shop-Domain` refused) or owned by
 *   an organization (its events are that organization's): the dedupe key is the hash of the
 *   topic and the body, as Shopify sends one order body under several topics (`orders/create`,
 *   `orders/updated`, `orders/paid`), each an event of its own; a forged topic stays that shop's.
 * - otherwise the shop comes from the unsigned header, so the key is the body's hash alone: a
 *   re-sent body, whatever its headers, lands on the event already stored and never becomes
 *   another shop's (the price: one body sent under several topics is stored once).
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
    const shopPinned = source.shopDomain !== null || source.organizationUid !== null;
    return {
      dedupeKey: { digest: await sha256Hex(topic === null || !shopPinned ? req.raw : concatBytes([utf8(`${topic}\n`), req.raw])) },
      eventType: topic?.replace(/\//g, ".") ?? "unknown",
      locationUid: null,
      organizationUid: source.shopDomain ?? header(req, SHOP_DOMAIN),
    };
  },

  storedHeaders: () => STORED_HEADERS,
};
