import type { Issue } from "../../domain/errors";
import { CREDENTIAL_NAMES } from "../../domain/credential-headers";
import { CONNECTION_HEADERS } from "../../http/connection-headers";
import { pastedSecretProblem } from "../../domain/secrets";
import type { ProviderName, Source } from "../../domain/types";
import { github } from "./github";
import { hmac } from "./hmac";
import { podium } from "./podium";
import type { Provider } from "./provider";
import { shopify } from "./shopify";
import { slack } from "./slack";
import { standardWebhooks } from "./standard-webhooks";
import { stripe } from "./stripe";

/** Every provider, by name. Adding one: docs/adding-a-provider.md. */
export const providers: Record<ProviderName, Provider> = {
  podium,
  "standard-webhooks": standardWebhooks,
  stripe,
  github,
  shopify,
  slack,
  hmac,
};

/**
 * Why a `provider` source cannot verify with `secret`, or null: its provider's rule, the one check
 * of a source's secrets, given through the API or declared by configuration.
 */
export function sourceSecretProblem(provider: ProviderName, secret: string): string | null {
  return providers[provider].secretProblem?.(secret) ?? null;
}

/** Why a `provider` source's secret that breaks its rule verifies nothing, or null (see Provider.heldSecretProblem). */
export function heldSecretProblem(provider: ProviderName, secret: string): string | null {
  return providers[provider].heldSecretProblem?.(secret) ?? null;
}

/**
 * Each of the `secrets` given to a `provider` source through the API it may not take, by its place
 * (`secrets.1`): its provider's rules for a secret given (givenSecretProblem, then secretProblem),
 * but none for one the source `held` already kept behind the current one by a rotation
 * (`[new, old]`): it verifies as it did, whatever rule came after it was stored (a short whsec_ key
 * of the first release included). The current one always meets the rules: a rotation moves to a
 * secret that does, never back to one that does not.
 */
export function sourceSecretIssues(provider: ProviderName, secrets: readonly string[], held: readonly string[] = []): Issue[] {
  const { givenSecretProblem } = providers[provider];
  return secrets.flatMap((secret, i) => {
    if (i > 0 && held.includes(secret)) return [];
    const message = pastedSecretProblem(secret) ?? givenSecretProblem?.(secret) ?? sourceSecretProblem(provider, secret);
    return message === null ? [] : [{ path: `secrets.${i}`, message }];
  });
}

// Only these headers, and those the provider declares, are stored with an event:
// an allowlist, so no credential header (x-api-key, x-auth, …) is ever kept.
const ALWAYS_STORED = ["content-type", "user-agent"] as const;

/** The headers the ingress stores with an event of `source` (lower case). */
export function storedHeaderNames(source: Pick<Source, "provider" | "hmac">): readonly string[] {
  // Never a browser's credentials, whatever a provider lists: an hmac source's timestampHeader could name
  // `cookie` before that was refused, and kept a visitor's session with its events.
  return [...ALWAYS_STORED, ...providers[source.provider].storedHeaders(source)].filter((name) => !CREDENTIAL_NAMES.includes(name));
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * What no request could bring as an `hmac` source's headers name them: a signature header the
 * ingress stores with its events (which keep no signature: a captured one, read back by anyone who
 * reads its events, shows what the secret signs), a connection or browser-credential header for
 * either header, or a prefix of anything but printable ASCII. Each would refuse every event 401, or keep
 * what no event may. (A timestamp header that is the signature's is sourceProblems' to refuse.) Checked
 * when the configuration is written, not on what is stored.
 */
export function signatureHeaderIssues(source: Pick<Source, "provider" | "hmac">): Issue[] {
  const config = source.hmac;
  if (!config) return [];
  const issues: Issue[] = [];
  for (const [field, name] of [["header", config.header], ["timestampHeader", config.timestampHeader]] as const) {
    if (name !== null && CONNECTION_HEADERS.has(name)) issues.push({ path: `hmac.${field}`, message: `"${name}" describes the connection, not the message, and never carries a signature: name the provider's header` });
    else if (name !== null && CREDENTIAL_NAMES.includes(name)) issues.push({ path: `hmac.${field}`, message: `"${name}" carries a browser's credentials, never a provider's: name the provider's header` });
  }
  // Printable ASCII alone: a control character arrives in no header, and past ASCII senders differ (fetch
  // sends é as one byte, which arrives as U+FFFD; a raw client as UTF-8), so one would be refused every event.
  if (!PRINTABLE_ASCII.test(config.prefix)) issues.push({ path: "hmac.prefix", message: "holds a character other than printable ASCII, which senders do not send alike" });
  if (config.header !== config.timestampHeader && storedHeaderNames(source).includes(config.header)) {
    issues.push({ path: "hmac.header", message: `"${config.header}" is stored with every event, which keeps no signature: name another header` });
  }
  return issues;
}
