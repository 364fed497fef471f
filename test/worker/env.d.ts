/// <reference types="vite/client" />
import type { D1Migration } from "cloudflare:test";
import type { Env as EdgehookEnv } from "../../src/env";

declare global {
  namespace Cloudflare {
    interface Env extends EdgehookEnv {
      TEST_MIGRATIONS: D1Migration[];
    }
  }
}
