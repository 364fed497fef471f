// The members of zod's `z` the Worker uses (values, and the types written as z.X), from "zod/v4":
// "zod" itself is ./zod.ts in the deployed bundle (wrangler.toml's alias), there for
// @hono/zod-openapi and src/domain/hmac-config.ts too. Add a member here before using it (./zod.ts).
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
