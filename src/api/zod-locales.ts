/**
 * What the deployed bundle has for zod's locale index (`wrangler.toml`'s `alias`): English only.
 * zod's namespace exports all 40-odd locales (~39 KB gzip), and `@hono/zod-openapi` keeps the
 * whole namespace, so the bundler cannot drop them; nothing here sets another locale, and zod's
 * default messages import English directly.
 */
export { default as en } from "zod/v4/locales/en.js";
