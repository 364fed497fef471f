/**
 * zod's `z` with the members the Worker uses only. `@hono/zod-openapi` hands zod's whole `z` to its
 * OpenAPI extension (`extendZodWithOpenApi(z)`), so with zod's own the bundler keeps every zod module
 * whatever the code calls (z.compile, z.fromJSONSchema, z.toJSONSchema…: ~27 KB gzip). In the deployed
 * bundle `wrangler.toml`'s alias makes this file "zod", so the extension gets this `z` (the same
 * ZodType it patches), and vitest.config.ts does the same for the workerd tests. The app imports `z` from here, so a member not
 * listed in zod-members.ts is a type error, not a TypeError in the deployed Worker alone.
 */
export * as z from "./zod-members";
