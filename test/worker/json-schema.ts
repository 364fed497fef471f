// The document's JSON Schema, as a client reads it, for conformance.ts: not the zod schema it is
// generated from, which the server's own validator runs (a request the server accepted passes
// that by construction). @cfworker/json-schema validates without compiling code (ajv's
// `new Function`, which workerd refuses).
import { dereference, initialBaseURI, validate, type Schema } from "@cfworker/json-schema";

type Json = Record<string, unknown>;

const lookups = new WeakMap<Json, Record<string, Schema | boolean>>();

let unlisted = 0;

/**
 * Why `value` is not valid under `schema` (each "at path: reason"), empty when it is; its `$ref`s
 * are followed in `root` (the document).
 */
export function schemaIssues(schema: unknown, value: unknown, root: Json, at = ""): string[] {
  let lookup = lookups.get(root);
  if (!lookup) lookups.set(root, (lookup = dereference(root as Schema)));
  if (typeof schema !== "boolean" && !(typeof schema === "object" && schema !== null && "__absolute_uri__" in schema)) {
    // One the document's walk did not reach (a parameter's: `parameters` is no schema keyword) is
    // added under a pointer of its own, its `$ref`s resolved against the document's base.
    dereference(schema as Schema, lookup, initialBaseURI, `/unlisted/${unlisted++}`);
  }
  const { valid, errors } = validate(value, schema as Schema | boolean, "2020-12", lookup, false);
  if (valid) return [];
  return errors.map((e) => `${at || "(root)"}${e.instanceLocation.slice(1)}: ${e.error}`);
}
