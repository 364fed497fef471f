// Every answer of the API the tests call, held to what /openapi.json says of it: the status must be
// one its operation documents, and a JSON body must parse with that status's zod schema (the one
// the document is generated from; ajv cannot compile in workerd), hold no field it does not
// declare, and be valid under the JSON Schema the document renders of it (json-schema.ts). So a
// field that drifts from its documented type or format fails the test that saw it.
// Every request the API accepted (2xx), held to the operation's parameters and body as the document
// renders them: zod's own check is the server's validator, which passed it by construction, so only
// the rendering can differ (a transform or override the document does not show).
// And an answer for a path or method the document does not name under /v1 (or for a documented
// path's other methods) must be its error: 404 not_found, 405 method_not_allowed.
import type { RouteConfig } from "@hono/zod-openapi";
// zod itself, not the members the Worker keeps (vitest.config.ts aliases "zod" as the bundle does): prettifyError is a test's.
import { z } from "zod/v4";
import { app } from "../../src/app";
import { ErrorSchema } from "../../src/api/schemas/fields";
import type { ErrorCode } from "../../src/domain/errors";
import { schemaIssues } from "./json-schema";

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
    const source = path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "([^/]+)");
    return [{ method: method.toUpperCase(), template: path, pattern: new RegExp(`^${source}$`), params: (path.match(/\{/g) ?? []).length, responses }];
  });
  return operations;
}

/** The operation serving `method` `path` (its query ignored), or undefined for one the document does not name (the router's 404/405, the dashboard). */
export function operationOf(method: string, path: string): Operation | undefined {
  const bare = path.split("?")[0]!;
  const matching = apiOperations().filter((o) => o.pattern.test(bare));
  // As OpenAPI matches paths: the fewest parameters first, whatever the method (a GET of
  // /v1/deliveries/retry is that path's, which takes POST alone, not GET /v1/deliveries/{id}'s).
  const fewest = Math.min(...matching.map((o) => o.params));
  return matching.find((o) => o.params === fewest && o.method === method.toUpperCase());
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const at = (node: unknown, ...keys: string[]): unknown => keys.reduce<unknown>((n, k) => (isObject(n) ? n[k] : undefined), node);

let generated: Json | undefined;

/** The document /openapi.json serves (its servers aside), generated once. */
function document(): Json {
  generated ??= app.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "Edgehook", version: "1.0.0" } }) as unknown as Json;
  return generated;
}

/** An operation as the document renders it. */
function documentedOperation(op: Operation): Json | undefined {
  const item = (document().paths as Json)[op.template];
  const operation = isObject(item) ? item[op.method.toLowerCase()] : undefined;
  return isObject(operation) ? operation : undefined;
}

/** Whether two JSON values are the same, keys in any order (an undefined field counts as absent). */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/**
 * Headers that say something of their status (when to try again, how to authenticate): one sent
 * with a status whose response does not declare it is an answer the document does not describe.
 */
const STATUS_HEADERS = ["Retry-After", "WWW-Authenticate"];

/** A header's text as its documented schema types it: a number where it says integer (digits only, as HTTP writes one). */
function headerValue(schema: unknown, text: string): unknown {
  const types = isObject(schema) ? [schema.type].flat() : [];
  if (types.includes("integer") && /^-?\d+$/.test(text)) return Number(text);
  return text;
}

/**
 * Why an answer's headers differ from those its response declares (as the document renders them):
 * a required one absent, one sent that its schema does not allow, or a STATUS_HEADERS one sent on a
 * status that does not declare it.
 */
function headerIssues(op: Operation, status: number, headers: Headers): string[] {
  const responses = documentedOperation(op)?.responses;
  // The status's own response, else the default (a 500's internal_error declares none).
  const response = isObject(responses) ? (responses[String(status)] ?? responses.default) : undefined;
  const declared = at(response, "headers");
  const documented = isObject(declared) ? declared : {};
  const issues: string[] = [];
  for (const [name, header] of Object.entries(documented)) {
    const value = headers.get(name);
    if (value === null) {
      if (at(header, "required") === true) issues.push(`header ${name}: required, absent`);
    } else issues.push(...schemaIssues(at(header, "schema"), headerValue(at(header, "schema"), value), document(), `header ${name} (${JSON.stringify(value)})`));
  }
  const names = Object.keys(documented).map((n) => n.toLowerCase());
  for (const name of STATUS_HEADERS) {
    if (headers.has(name) && !names.includes(name.toLowerCase())) issues.push(`header ${name}: sent (${JSON.stringify(headers.get(name))}), which this status does not declare`);
  }
  return issues;
}

/**
 * Why an answer does not conform to its operation's documented response, or null when it does (or
 * no operation serves it); with `headers`, its headers too.
 */
export function nonConformance(method: string, path: string, status: number, body: unknown, headers?: Headers): string | null {
  const op = operationOf(method, path);
  if (!op) return null;
  const name = `${op.method} ${op.template} (${method} ${path})`;
  // A 500 internal_error is any route's failure (docs/api.md's errors: "a bug"), declared on none;
  // its body is still the documented error.
  const response = op.responses[status] ?? op.responses.default ?? (status === 500 ? internalError : undefined);
  if (!response) return `${name} answered ${status}, which it does not document (it documents ${Object.keys(op.responses).join(", ")})`;
  const headerProblems = headers ? headerIssues(op, status, headers) : [];
  if (headerProblems.length > 0) return `${name} ${status}: its headers differ from those documented:\n${headerProblems.join("\n")}`;
  const media = "content" in response ? response.content?.["application/json"] : undefined;
  const schema = media && "schema" in media ? media.schema : undefined;
  if (schema === undefined) return null; // nothing documented to hold the body to (a 204, a 101 upgrade)
  if (!(schema instanceof z.ZodType)) return `${name} ${status}: its documented schema is not a zod schema, so it is not checked`;
  const parsed = schema.safeParse(body);
  if (!parsed.success) return `${name} ${status} does not match its documented schema:\n${z.prettifyError(parsed.error)}\nbody: ${JSON.stringify(body).slice(0, 2000)}`;
  // zod drops keys an object does not declare: a field the document does not name differs here.
  if (!sameJson(parsed.data, body)) return `${name} ${status} has fields its documented schema does not declare:\nbody: ${JSON.stringify(body).slice(0, 2000)}\ndeclared: ${JSON.stringify(parsed.data).slice(0, 2000)}`;
  // And as the document renders that schema (a client's generator reads this, not zod).
  const responses = documentedOperation(op)?.responses;
  const rendered = at(responses, String(status), "content", "application/json", "schema") ?? at(responses, "default", "content", "application/json", "schema");
  const issues = rendered === undefined ? [] : schemaIssues(rendered, body, document());
  if (issues.length > 0) return `${name} ${status} does not match its schema in the document:\n${issues.join("\n")}\nbody: ${JSON.stringify(body).slice(0, 2000)}`;
  return null;
}

/** Fails (throws) when an answer does not conform to its operation's documented response (its headers too, given them). */
export function assertConforms(method: string, path: string, status: number, body: unknown, headers?: Headers): void {
  const problem = nonConformance(method, path, status, body, headers);
  if (problem) throw new Error(`OpenAPI conformance: ${problem}`);
}

/** A query or path parameter's text as the document types it: a number where it says integer or number. */
function parameterValue(schema: unknown, text: string): unknown {
  const types = isObject(schema) ? [schema.type].flat() : [];
  if ((types.includes("integer") || types.includes("number")) && /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(text)) return Number(text);
  if (types.includes("boolean") && (text === "true" || text === "false")) return text === "true";
  return text;
}

/** The request as it was sent: its path with its query, the Content-Type it named, and its body's text (undefined: none). */
export interface SentRequest {
  method: string;
  path: string;
  contentType: string | null;
  body: string | undefined;
}

/**
 * Why a request the server accepted does not conform to what /openapi.json documents its
 * operation takes (its path and query parameters, its body), or null when it does (or no
 * operation serves it). A client held to the document could not have sent it: the document
 * forbids what the API takes, and what users rely on.
 */
export function requestNonConformance(r: SentRequest): string | null {
  const op = operationOf(r.method, r.path);
  if (!op) return null;
  const root = document();
  const operation = documentedOperation(op);
  if (!isObject(operation)) return `${op.method} ${op.template} is not in the generated document`;
  const url = new URL(r.path, "https://edgehook.test");
  const problems: string[] = [];
  const parameters = (Array.isArray(operation.parameters) ? operation.parameters : []).filter(isObject);

  // Path parameters: the concrete segments at the template's parameters.
  const names = [...op.template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
  const values = op.pattern.exec(url.pathname)?.slice(1) ?? [];
  for (const p of parameters.filter((p) => p.in === "path")) {
    const text = values[names.indexOf(String(p.name))];
    if (text === undefined) problems.push(`path parameter ${String(p.name)} is not in the template`);
    else problems.push(...schemaIssues(p.schema, parameterValue(p.schema, decodeURIComponent(text)), root, `path ${String(p.name)}`));
  }
  // Query parameters: each one the document names, once (none of them is an array), and on the
  // API no other (docs/api.md: it refuses one an operation does not take; OpenAPI itself is
  // silent, and /healthz and the ingress ignore one, as a prober's or provider's URL may carry it).
  const query = parameters.filter((p) => p.in === "query");
  // A name-less one (`?=x`) is one too, which no operation documents (an empty part, `?&`, is none).
  for (const name of new Set(url.searchParams.keys())) {
    const p = query.find((q) => q.name === name);
    const given = url.searchParams.getAll(name);
    if (!p) {
      if (op.template.startsWith("/v1/")) problems.push(`query ${name}: a parameter the operation does not document`);
    } else if (given.length > 1) problems.push(`query ${name}: given ${given.length} times`);
    else problems.push(...schemaIssues(p.schema, parameterValue(p.schema, given[0]!), root, `query ${name}`));
  }
  for (const p of query.filter((p) => p.required === true && !url.searchParams.has(String(p.name)))) problems.push(`query ${String(p.name)}: required, missing`);

  // The body: in the media type the request named (or */*), where the operation takes one.
  const requestBody = isObject(operation.requestBody) ? operation.requestBody : undefined;
  if (!requestBody) {
    if (r.body) problems.push("a body, which the operation does not document taking");
  } else if (r.body === undefined) {
    if (requestBody.required === true) problems.push("no body, which the operation requires");
  } else {
    const content = isObject(requestBody.content) ? requestBody.content : {};
    const mediaType = r.contentType?.split(";")[0]?.trim().toLowerCase() ?? "";
    const issuesAs = (type: string) => bodyIssues(type, content[type], r.body!, root);
    if (content["*/*"] !== undefined) {
      // An operation that takes any media type (the ingress) reads the body by what it is sent to
      // (the source's provider), not by its Content-Type, the document says: it must be one of them.
      const each = Object.keys(content).map(issuesAs);
      if (!each.some((issues) => issues.length === 0)) problems.push(...each.flat());
    } else if (content[mediaType] === undefined) problems.push(`a body as ${mediaType || "no media type"}, which the operation does not document (${Object.keys(content).join(", ")})`);
    else problems.push(...issuesAs(mediaType));
  }
  if (problems.length === 0) return null;
  return `${op.method} ${op.template} (${r.method} ${r.path}) was accepted with a request its document does not allow:\n${problems.join("\n")}\nbody: ${(r.body ?? "").slice(0, 2000)}`;
}

/** Why a body's text is not valid as `mediaType` under its documented `media`: JSON parsed first (a leading byte order mark ignored, as RFC 8259 lets a parser). */
function bodyIssues(mediaType: string, media: unknown, text: string, root: Json): string[] {
  const schema = at(media, "schema");
  if (!/[/+]json$/.test(mediaType)) return schemaIssues(schema, text, root, "body");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch {
    return [`body: not JSON, though taken as ${mediaType}`];
  }
  return schemaIssues(schema, parsed, root, "body");
}

/** Whether an answer accepted its request: a 2xx, or a listener's switch to a WebSocket (101). */
export const isAccepted = (status: number) => (status >= 200 && status <= 299) || status === 101;

/**
 * Fails (throws) when the server accepted a request its operation's document does not allow.
 * A refused one (4xx: the tests' bad input, deliberately; 5xx) is exempt.
 */
export function assertRequestConforms(r: SentRequest, status: number): void {
  if (!isAccepted(status)) return;
  const problem = requestNonConformance(r);
  if (problem) throw new Error(`OpenAPI conformance: ${problem}`);
}

/**
 * Whether the document names nothing for `method` `path` that the check should still hold: under
 * /v1 (the API's namespace: a client's typo, a method it does not serve), or a path it documents
 * for other methods (/healthz, the ingress).
 */
export function isUndocumented(method: string, path: string): boolean {
  const bare = path.split("?")[0]!;
  // HEAD is GET without its body (Hono serves both).
  if (operationOf(method, bare) || (method.toUpperCase() === "HEAD" && operationOf("GET", bare))) return false;
  return bare === "/v1" || bare.startsWith("/v1/") || apiOperations().some((o) => o.pattern.test(bare));
}

/** The code a refusal of what the document does not name answers with, by status. */
const UNDOCUMENTED_CODES: Record<number, ErrorCode> = { 404: "not_found", 405: "method_not_allowed" };

/**
 * Why an answer for a path or method the document does not name (isUndocumented) is not the
 * document's error, or null when it is: a 4xx in the `{error:{code,message}}` shape, its code
 * machine-readable (404 not_found, 405 method_not_allowed with its Allow header; before routing,
 * auth's 401/429 and the body limit's 413 keep theirs).
 */
export function undocumentedNonConformance(method: string, path: string, res: { status: number; contentType: string | null; allow: string | null }, body: unknown): string | null {
  const name = `${method} ${path} (no documented operation)`;
  if (res.status < 400 || res.status > 499) return `${name} answered ${res.status}, not a refusal`;
  if (!res.contentType?.startsWith("application/json")) return `${name} answered ${res.status} as ${res.contentType ?? "no content type"}, not the JSON error`;
  if (res.status === 405 && !res.allow) return `${name} 405 names no Allow header`;
  if (method.toUpperCase() === "HEAD") return null; // no body to hold
  const issues = schemaIssues(at(document(), "components", "schemas", "Error"), body, document());
  const parsed = ErrorSchema.safeParse(body);
  if (issues.length > 0 || !parsed.success || !sameJson(parsed.data, body)) return `${name} ${res.status} is not the documented error:\n${issues.join("\n")}\nbody: ${JSON.stringify(body).slice(0, 2000)}`;
  const code = UNDOCUMENTED_CODES[res.status];
  if (code && parsed.data.error.code !== code) return `${name} ${res.status} answered code ${parsed.data.error.code}, not ${code}`;
  return null;
}

/** Fails (throws) when an answer for what the document does not name is not its error. */
export function assertUndocumentedConforms(method: string, path: string, res: { status: number; contentType: string | null; allow: string | null }, body: unknown): void {
  const problem = undocumentedNonConformance(method, path, res, body);
  if (problem) throw new Error(`OpenAPI conformance: ${problem}`);
}
