import { hexToBytes, verifyHmacAny } from "../../domain/crypto";
import { sha256Hex } from "../../domain/ids";
import { header, invalidSignature, jsonObject, missingSignature, stringAt, type Provider } from "./provider";

const STORED_HEADERS = [
  "x-github-event",
  "x-github-delivery",
  "x-github-hook-id",
  "x-github-hook-installation-target-id",
  "x-github-hook-installation-target-type",
] as const;

/**
 * GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`. The type
 * is `X-GitHub-Event` plus `.action` when the body has one; `ping` is stored like
 * any other event. The signature covers the body only, so the dedupe key is the
 * body's hash: a captured request re-sent with another X-GitHub-Delivery or
 * X-GitHub-Event lands on the event already stored.
 */
export const github: Provider = {
  name: "github",

  async verify(req, source) {
    const value = header(req, "x-hub-signature-256");
    if (!value) throw missingSignature("X-Hub-Signature-256");
    const sig = value.startsWith("sha256=") ? hexToBytes(value.slice(7), 32) : null;
    if (!sig) throw invalidSignature("X-Hub-Signature-256 is not sha256=<hex>.");
    if (!(await verifyHmacAny(source.secrets, sig, req.raw))) {
      throw invalidSignature("X-Hub-Signature-256 does not match the body under the source's secrets.");
    }
  },

  async facts(req, body) {
    const event = jsonObject(body, "GitHub");
    const name = header(req, "x-github-event") ?? "unknown";
    const action = stringAt(event, "action");
    return {
      dedupeKey: await sha256Hex(req.raw),
      eventType: action ? `${name}.${action}` : name,
      locationUid: stringAt(event, "repository", "full_name"),
      organizationUid: stringAt(event, "organization", "login"),
    };
  },

  storedHeaders: () => STORED_HEADERS,
};
