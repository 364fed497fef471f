import { sha256Hex } from "../../domain/crypto";
import { github as scheme } from "../../schemes/github";
import { header, jsonObject, stringAt, type Provider } from "./provider";

const STORED_HEADERS = [
  "x-github-event",
  "x-github-delivery",
  "x-github-hook-id",
  "x-github-hook-installation-target-id",
  "x-github-hook-installation-target-type",
] as const;

// GitHub's default content type sends the JSON as a form's `payload` field.
const FORM_HINT = "set the GitHub webhook's Content type to application/json (its default, application/x-www-form-urlencoded, is not read)";

/**
 * GitHub: the type is `X-GitHub-Event` plus `.action` when the body has one (`unknown` without
 * the header); `ping` is stored like any other event. The signature covers the body only, so the
 * dedupe key is the body's hash: a captured request re-sent with another X-GitHub-Delivery
 * or X-GitHub-Event lands on the event already stored.
 */
export const github: Provider = {
  name: "github",

  scheme: () => scheme,

  async facts(req, body) {
    const event = jsonObject(body, "GitHub", FORM_HINT);
    const name = header(req, "x-github-event");
    const action = stringAt(event, "action");
    return {
      dedupeKey: { digest: await sha256Hex(req.raw) },
      // Without X-GitHub-Event the type is `unknown` as it stands (docs/providers.md): an action
      // appended would make `unknown.opened`, a type that names no GitHub event.
      eventType: name === null ? "unknown" : action ? `${name}.${action}` : name,
      locationUid: stringAt(event, "repository", "full_name"),
      organizationUid: stringAt(event, "organization", "login"),
    };
  },

  storedHeaders: () => STORED_HEADERS,
};
