import { base64ToBytes, verifyHmacAny } from "../../domain/crypto";
import { dedupeKeyOr, header, invalidSignature, jsonObject, missingSignature, type Provider } from "./provider";

/**
 * Shopify: `X-Shopify-Hmac-Sha256` is the base64 HMAC-SHA256 of the body. The type
 * comes from `X-Shopify-Topic` (`orders/create` → `orders.create`), the shop
 * (`X-Shopify-Shop-Domain`) is the organization.
 */
export const shopify: Provider = {
  name: "shopify",

  async verify(req, source) {
    const value = header(req, "x-shopify-hmac-sha256");
    if (!value) throw missingSignature("X-Shopify-Hmac-Sha256");
    const sig = base64ToBytes(value);
    if (!sig || sig.byteLength !== 32) throw invalidSignature("X-Shopify-Hmac-Sha256 is not a base64 HMAC-SHA256.");
    if (!(await verifyHmacAny(source.secrets, sig, req.raw))) {
      throw invalidSignature("X-Shopify-Hmac-Sha256 does not match the body under the source's secrets.");
    }
  },

  async facts(req, body) {
    jsonObject(body, "Shopify");
    return {
      dedupeKey: await dedupeKeyOr(header(req, "x-shopify-webhook-id") ?? header(req, "x-shopify-event-id"), req.raw),
      eventType: header(req, "x-shopify-topic")?.replace(/\//g, ".") ?? "unknown",
      locationUid: null,
      organizationUid: header(req, "x-shopify-shop-domain"),
    };
  },
};
