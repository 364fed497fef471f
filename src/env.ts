// The Worker's bindings, vars and required secrets are generated from wrangler.toml
// into worker-configuration.d.ts by `npm run types` (typecheck fails when it is stale).
// The secrets a deploy may leave unset are added to that interface here.

declare global {
  namespace Cloudflare {
    interface Env {
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
