// Every answer of the API the tests call, held to what /openapi.json says of it: the status must be
// one its operation documents, and a JSON body must parse with that status's zod schema (the one
// the document is generated from; ajv cannot compile in workerd) and hold no field it does not
// declare. So a field that drifts from its documented type or format fails the test that saw it.
import { z, type RouteConfig } from "@hono/zod-openapi";
import { app } from "../../src/app";
import { ErrorSchema } from "../../src/api/schemas";

interface Operation {
  method: string;
  template: string;
  pattern: RegExp;
  /** Path parameters: a literal segment is the closer match (`/v1/webhooks/test` over `/v1/webhooks/{uid}`). */
  params: number;
  responses: RouteConfig["responses"];
}

const internalError = { description: "internal_error", content: { "application/json": { schema: ErrorSchema.extend({ error: ErrorSchema.shape.error.extend({ code: z.literal("internal_error") }) }) } } };

let operations: Operation[] | undefined;

/** The operations the app registers for its document, paths in full: the API's (/v1), the ingress's and /healthz. */
function apiOperations(): Operation[] {
  operations ??= app.openAPIRegistry.definitions.flatMap((d) => {
    if (d.type !== "route") return [];
    const { method, path, responses } = d.route;
    const source = path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+");
    return [{ method: method.toUpperCase(), template: path, pattern: new RegExp(`^${source}$`), params: (path.match(/\{/g) ?? []).length, responses }];
  });
  return operations;
}

/** The operation serving `method` `path` (its query ignored), or undefined for one the document does not name (the router's 404/405, the dashboard). */
export function operationOf(method: string, path: string): Operation | undefined {
  const bare = path.split("?")[0]!;
  return apiOperations()
    .filter((o) => o.method === method.toUpperCase() && o.pattern.test(bare))
    .sort((a, b) => a.params - b.params)[0];
}

/** Whether two JSON values are the same, keys in any order (an undefined field counts as absent). */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Why an answer does not conform to its operation's documented response, or null when it does (or no operation serves it). */
export function nonConformance(method: string, path: string, status: number, body: unknown): string | null {
  const op = operationOf(method, path);
  if (!op) return null;
  const name = `${op.method} ${op.template} (${method} ${path})`;
  // A 500 internal_error is any route's failure (docs/api.md's errors: "a bug"), declared on none;
  // its body is still the documented error.
  const response = op.responses[status] ?? op.responses.default ?? (status === 500 ? internalError : undefined);
  if (!response) return `${name} answered ${status}, which it does not document (it documents ${Object.keys(op.responses).join(", ")})`;
  const media = "content" in response ? response.content?.["application/json"] : undefined;
  const schema = media && "schema" in media ? media.schema : undefined;
  if (schema === undefined) return null; // nothing documented to hold the body to (a 204, a 101 upgrade)
  if (!(schema instanceof z.ZodType)) return `${name} ${status}: its documented schema is not a zod schema, so it is not checked`;
  const parsed = schema.safeParse(body);
  if (!parsed.success) return `${name} ${status} does not match its documented schema:\n${z.prettifyError(parsed.error)}\nbody: ${JSON.stringify(body).slice(0, 2000)}`;
  // zod drops keys an object does not declare: a field the document does not name differs here.
  if (!sameJson(parsed.data, body)) return `${name} ${status} has fields its documented schema does not declare:\nbody: ${JSON.stringify(body).slice(0, 2000)}\ndeclared: ${JSON.stringify(parsed.data).slice(0, 2000)}`;
  return null;
}

/** Fails (throws) when an answer does not conform to its operation's documented response. */
export function assertConforms(method: string, path: string, status: number, body: unknown): void {
  const problem = nonConformance(method, path, status, body);
  if (problem) throw new Error(`OpenAPI conformance: ${problem}`);
}
