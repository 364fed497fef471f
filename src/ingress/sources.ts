import { SOURCE_ID } from "../domain/ids";
import { settings } from "../domain/settings";
import type { ProviderName, Source } from "../domain/types";
import type { Env } from "../env";
import { getSource } from "../store/sources";
import { heldSecretProblem, sourceSecretProblem } from "./providers";

/** How long a warm isolate trusts what it read about a source (found or not). */
const SOURCE_CACHE_TTL_MS = 15_000;
/**
 * Sources found and ids not found are remembered apart, each map emptied when full: anyone can
 * post to random ids, and those must not push out the sources this isolate serves (their reads,
 * and what keeps them verified through a D1 outage).
 */
export const SOURCE_CACHE_BOUNDS = { found: 10_000, unknown: 1_000 } as const;

interface Cached<T> {
  source: T;
  expires: number;
}
const found = new Map<string, Cached<Source>>();
const unknown = new Map<string, Cached<null>>();

/** Sources declared by configuration: `PODIUM_WEBHOOK_SECRET` → `podium`, and so on. */
const CONFIG_SOURCES: { id: string; provider: ProviderName; name: string; secret: keyof Env }[] = [
  { id: "podium", provider: "podium", name: "Podium (configuration)", secret: "PODIUM_WEBHOOK_SECRET" },
  {
    id: "standard-webhooks",
    provider: "standard-webhooks",
    name: "Standard Webhooks (configuration)",
    secret: "STANDARD_WEBHOOKS_SECRET",
  },
];

// Parsed once per env object (one per isolate in production), not per request.
const declaredFor = new WeakMap<Env, Source[]>();

export function configSources(env: Env): Source[] {
  let declared = declaredFor.get(env);
  if (!declared) {
    declared = parseConfigSources(env);
    declaredFor.set(env, declared);
  }
  return declared;
}

function parseConfigSources(env: Env): Source[] {
  const tolerance = settings(env).signatureToleranceSeconds;
  const out: Source[] = [];
  for (const c of CONFIG_SOURCES) {
    const value = env[c.secret];
    const given = typeof value === "string" ? value.split(/\s+/).filter(Boolean) : [];
    // A secret that breaks its provider's rule (a short whsec_ key of Standard Webhooks) is kept
    // while it verifies as it did, as one a source stored before the rule is: the first release
    // took it, and dropping it would refuse its sender's every event. One that verifies nothing is
    // left out. Each is said without showing it.
    const dead = given.map((secret) => heldSecretProblem(c.provider, secret));
    const secrets = given.filter((_, i) => dead[i] === null);
    const ignored = dead.filter((p) => p !== null);
    const below = secrets.map((secret) => sourceSecretProblem(c.provider, secret)).filter((p) => p !== null);
    if (ignored.length > 0) console.error("configuration secret ignored", { source: c.id, variable: c.secret, ignored: ignored.length, reason: ignored[0] });
    if (below.length > 0) console.warn("configuration secret below the rule kept: rotate it", { source: c.id, variable: c.secret, kept: below.length, reason: below[0] });
    if (secrets.length === 0) continue;
    out.push(declaredSource(c, secrets, tolerance));
  }
  return out;
}

/** A source as configuration declares one: verified with these secrets, owned by no organization, teaching where locations belong. */
export function declaredSource(c: { id: string; provider: ProviderName; name: string }, secrets: string[], toleranceSeconds: number): Source {
  return {
    id: c.id,
    name: c.name,
    provider: c.provider,
    verification: "signature",
    secrets,
    toleranceSeconds,
    disabled: false,
    fromConfig: true,
    hmac: null,
    shopDomain: null,
    organizationUid: null,
    teachesLocations: true,
    madeAt: null,
    // Its events' ids stay those it always had.
    eventSalt: null,
  };
}

/**
 * The source for an ingress request. Configuration wins; stored sources are read
 * from D1 once per TTL per isolate, so a warm isolate's ack path reads nothing.
 */
export async function findSource(env: Env, id: string, now = Date.now()): Promise<Source | null> {
  if (!SOURCE_ID.test(id)) return null;
  const declared = configSources(env).find((s) => s.id === id);
  if (declared) return declared;

  const hit = found.get(id) ?? unknown.get(id);
  if (hit && hit.expires > now) return hit.source;
  let source: Source | null;
  try {
    source = await getSource(env.DB, id, settings(env).signatureToleranceSeconds);
  } catch (err) {
    // D1 unreachable: a source this isolate knew goes on being served as it was last read (D1
    // asked again a TTL later), so events keep reaching the queue through an outage (a provider
    // that never retries, GitHub, would lose them); one it never read cannot be verified, and
    // the caller says retry later.
    if (hit?.source) {
      console.error("source lookup failed; verifying with what this isolate last read", { sourceId: id, error: String(err) });
      found.set(id, { source: hit.source, expires: now + SOURCE_CACHE_TTL_MS });
      return hit.source;
    }
    throw new SourceUnavailable(String(err));
  }
  const expires = now + SOURCE_CACHE_TTL_MS;
  if (source) {
    unknown.delete(id);
    remember(found, SOURCE_CACHE_BOUNDS.found, id, { source, expires });
  } else {
    found.delete(id);
    remember(unknown, SOURCE_CACHE_BOUNDS.unknown, id, { source, expires });
  }
  return source;
}

function remember<T>(map: Map<string, Cached<T>>, bound: number, id: string, entry: Cached<T>): void {
  if (map.size >= bound && !map.has(id)) map.clear();
  map.set(id, entry);
}

/** The source could not be read (D1 failed) and this isolate knows nothing of it. */
export class SourceUnavailable extends Error {}

/** Drops what this isolate remembers of a source, after the API changed it. */
export function forgetSource(id?: string): void {
  if (id === undefined) {
    found.clear();
    unknown.clear();
  } else {
    found.delete(id);
    unknown.delete(id);
  }
}
