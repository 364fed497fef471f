// The Worker's bindings and vars are generated from wrangler.toml into
// worker-configuration.d.ts by `npm run types` (typecheck fails when it is stale).
// Secrets are not in wrangler.toml: they are declared here, each optional, since a
// deploy may leave any unset (an unset ADMIN_TOKEN authenticates nothing).

declare global {
  namespace Cloudflare {
    interface Env {
      /** The admin API token (at least 32 characters): every scope. */
      ADMIN_TOKEN?: string;
      /** Keys the hash of stored API tokens; without it a fixed pepper is used. */
      TOKEN_PEPPER?: string;
      /** Declares the source `podium` (several secrets separated by spaces: a rotation). */
      PODIUM_WEBHOOK_SECRET?: string;
      /** Declares the source `standard-webhooks`. */
      STANDARD_WEBHOOKS_SECRET?: string;
    }
  }
}

/** What the Worker is given. */
export type Env = Cloudflare.Env;

export type AppEnv = { Bindings: Env };
