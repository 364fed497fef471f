import type { Env } from "../env";

/** Settings from wrangler.toml [vars], with the contract's defaults. */
export interface Settings {
  retentionDays: number;
  signatureToleranceSeconds: number;
  deliveryTimeoutMs: number;
  maxAttempts: number;
  retryBaseSeconds: number;
  retryCapSeconds: number;
  allowPrivateDestinations: boolean;
}

function num(value: string | undefined, fallback: number): number {
  if (value === undefined || value.trim() === "") return fallback;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}

export function settings(env: Env): Settings {
  return {
    retentionDays: num(env.RETENTION_DAYS, 10),
    signatureToleranceSeconds: num(env.SIGNATURE_TOLERANCE_S, 300),
    deliveryTimeoutMs: num(env.DELIVERY_TIMEOUT_MS, 5000),
    maxAttempts: num(env.MAX_ATTEMPTS, 15),
    retryBaseSeconds: num(env.RETRY_BASE_SECONDS, 5),
    retryCapSeconds: num(env.RETRY_CAP_SECONDS, 3600),
    allowPrivateDestinations: env.ALLOW_PRIVATE_DESTINATIONS === "true",
  };
}
