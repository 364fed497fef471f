// The members of zod's `z` the Worker uses (values, and the types written as z.X), from "zod/v4":
// "zod" itself is ./zod.ts in the deployed bundle (wrangler.toml's alias), there for
// @hono/zod-openapi. Add a member here before using it (./zod.ts); nothing else of ours imports zod's
// values (test/docs/architecture.test.ts), so every member used is listed here.
export {
  array,
  boolean,
  config,
  enum,
  iso,
  literal,
  NEVER,
  null,
  number,
  object,
  preprocess,
  record,
  strictObject,
  string,
  union,
  unknown,
  ZodType,
} from "zod/v4";
export type { infer, output, RefinementCtx, ZodArray, ZodError, ZodRawShape, ZodString } from "zod/v4";
