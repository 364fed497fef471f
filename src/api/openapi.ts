import { createRoute, OpenAPIHono, type Hook, type RouteConfig, type z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { invalidInput, MAX_LISTED_ISSUES } from "../domain/errors";
import { isRecord } from "../domain/guards";
import type { Scope } from "../domain/scopes";
import { BEARER_CHALLENGE } from "../http/errors";
import { hasNamelessParam, nameless } from "../http/unknown-param";
import { requireScope } from "./auth";
import type { ApiEnv } from "./context";
import { plainBody } from "./plain-body";
import { ErrorSchema, NoFields, NoQuery, queryRefusal } from "./schemas/fields";
import { tagOf, type ResourcePath } from "./tags";
import { illFormedText, invalidRequest, repeatedParam } from "./validate";

/** No API request needs more than this; a larger body is refused before it is read (index.ts). */
export const MAX_API_BODY_BYTES = 64 * 1024;

/**
 * An OpenAPIHono whose validation failures answer the contract's 400 `invalid_request`, as does
 * text D1 could not store as given.
 */
export function router() {
  return new OpenAPIHono<ApiEnv>({ defaultHook: validationHook });
}

/** Every route's validation, unless its own hook (webhook-input.ts) does more before it. */
export const validationHook = <T, P extends string>(...[result, c]: Parameters<Hook<T, ApiEnv, P, undefined>>): undefined => {
  const what = result.target === "json" ? "body" : result.target;
  if (!result.success) throw (result.target === "query" ? repeatedParam(result.error, c.req.queries()) : null) ?? invalidRequest(result.error, what);
  const refused = illFormedText(result.data, what);
  if (refused) throw refused;
  return undefined;
};

const ERROR_DESCRIPTIONS = {
  400: `invalid_request: the input failed validation (details.issues lists why: the first ${MAX_LISTED_ISSUES} issues, the message saying how many more)`,
  401: "unauthorized: no valid bearer token",
  403: "forbidden: the token lacks a scope (details.missingScope) or the location/organization",
  404: "not_found",
  409: "conflict",
  412: "precondition_failed: `If-Match` names no longer the resource's version (it was changed since it was read); nothing was changed",
  413: `payload_too_large: the request body is over ${MAX_API_BODY_BYTES / 1024} KiB (checked on every request, before routing: also one whose operation takes no body)`,
  415: "unsupported_media_type: a body sent as anything but `Content-Type: application/json` (any parameters), or compressed (a `Content-Encoding` such as gzip): docs/api.md#errors",
  429: "rate_limited: too many failed authentications from this address (Retry-After says when to try again)",
  503: "queue_unavailable: the queue did not take the message, so nothing was queued (Retry-After says when to try again)",
} as const;

type ErrorStatus = keyof typeof ERROR_DESCRIPTIONS;

// Sent with every answer of the status that declares it (http/errors.ts): required.
export const RETRY_AFTER = { "Retry-After": { description: "Seconds to wait before trying again.", required: true, schema: { type: "integer" as const, minimum: 0 } } };

const CHALLENGE = {
  "WWW-Authenticate": { description: `The scheme to authenticate with: \`${BEARER_CHALLENGE}\`.`, required: true, schema: { type: "string" as const, example: BEARER_CHALLENGE } },
};

/** An error answer in the `{"error":{code,message}}` shape: its status's own description, or `description`. */
export function errorAnswer(status: ErrorStatus, description: string = ERROR_DESCRIPTIONS[status]) {
  return {
    description,
    ...(status === 429 || status === 503 ? { headers: RETRY_AFTER } : status === 401 ? { headers: CHALLENGE } : {}),
    content: { "application/json": { schema: ErrorSchema } },
  };
}

/** Error answers of a route beyond those apiRoute declares for what it takes. */
export function errors(...statuses: ErrorStatus[]) {
  return Object.fromEntries(statuses.map((s) => [s, errorAnswer(s)]));
}

/**
 * The errors a route answers for what it takes, before its handler runs: 400 for a parameter,
 * query or body that fails validation (a route that takes no query refuses one: noQuery), 413
 * for any request body (index.ts's limit runs before routing, so a route that takes no body
 * answers it too), 415 for a body (the JSON validator), 401 and 429 for a token (auth.ts), 403
 * for a scope.
 */
function impliedErrors(config: RouteConfig): ErrorStatus[] {
  const { body } = config.request ?? {};
  return [
    400,
    ...(config.security?.length ? [401 as const, 429 as const] : []),
    ...(config["x-required-scope"] === undefined ? [] : [403 as const]),
    413,
    ...(body ? [415 as const] : []),
  ];
}

/**
 * A DELETE takes no body as a retry takes none (NO_BODY): none, or `{}`. Without one declared, the
 * router never read it, so `{bad json`, a form or `{"confirm":false}` still deleted (204). Each
 * DELETE spreads NO_BODY into its `request`; apiRoute's parameter demands it, so one without it
 * does not compile (test/worker/delete-body.typecheck.ts), and the route's type says what it takes.
 */
type DeleteTakesNoBody<R extends RouteConfig> = R["method"] extends "delete" ? { request: { body: typeof NO_BODY.body } } : unknown;

/**
 * createRoute, declaring too the errors the route answers for what it takes (its own `responses`
 * come first) and the tag of the resource its path names (tags.ts); after its own middleware, a
 * route that takes a body checks its bytes (plain-body.ts) and one that takes no query refuses any
 * (noQuery). Its `operationId` is its own, named for what it does (`listEvents`, `retryDelivery`):
 * the name client generators give its method. A DELETE takes NO_BODY (DeleteTakesNoBody).
 */
export function apiRoute<P extends ResourcePath, R extends Omit<RouteConfig, "path" | "operationId" | "tags"> & { path: P; operationId: string }>(
  config: R & DeleteTakesNoBody<R>,
) {
  const own = config.middleware === undefined ? [] : [config.middleware].flat();
  const { body, query } = config.request ?? {};
  const bodyChecks = body ? [plainBody(body.required === true)] : [];
  const checks = [namedQuery(parametersOf(query)), ...bodyChecks, ...(query ? [] : [noQuery])];
  const middleware = [...own, ...checks];
  const responses = { ...errors(...impliedErrors(config)), ...config.responses };
  return createRoute({ ...config, tags: [tagOf(config.path)], middleware, responses });
}

/**
 * The query check of a route that takes none: a parameter is refused by name, as the lists
 * refuse one they do not take, rather than ignored (`/v1/stats?since=…` answered every hour).
 */
const noQuery: MiddlewareHandler = async (c, next) => {
  const given = NoQuery.safeParse(c.req.query());
  if (!given.success) throw invalidRequest(given.error, "query");
  await next();
};

/** The parameters a route's query schema names (a strictQuery's shape); none without one. */
const parametersOf = (query: unknown): string[] => (isRecord(query) && isRecord(query.shape) ? Object.keys(query.shape) : []);

/**
 * A parameter with no name (`?=x`) is refused as one the operation does not take (the router
 * reads none there, so neither its query schema nor noQuery meets it), rather than ignored.
 */
const namedQuery =
  (takes: string[]): MiddlewareHandler =>
  async (c, next) => {
    if (hasNamelessParam(c.req.url)) throw invalidInput("query", [{ path: "", message: nameless(queryRefusal(takes)) }]);
    await next();
  };

export function json<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}

/** The ETag of a versioned resource's answer (if-match.ts); `required`: false where a resource may have no version. */
const etag = (required: boolean) => ({
  ETag: {
    description:
      "The resource's version: send it back as `If-Match` (docs/api.md).",
    required,
    schema: { type: "string" as const, example: '"mj2x4k1c"' },
  },
});

/** json(), for a versioned resource: with its ETag. */
export function versionedJson<T extends z.ZodType>(schema: T, description: string, required = true) {
  return { ...json(schema, description), headers: etag(required) };
}

export function body<T extends z.ZodType>(schema: T) {
  return { body: { content: { "application/json": { schema } }, required: true } };
}

/** A body the route also takes none of (no Content-Type, or an empty body: plain-body.ts): the handler reads `{}`. */
export function optionalBody<T extends z.ZodType>(schema: T) {
  return { body: { content: { "application/json": { schema } }, required: false } };
}

/**
 * The body of an operation that takes none (a retry, a dead letter's replay): none, or `{}`, as
 * documented; a field is refused by name rather than ignored (a retry's `{"url":…}` was answered
 * 202, as if taken).
 */
export const NO_BODY = optionalBody(NoFields.openapi({ description: "No fields: send no body, or `{}`.", example: {} }));

/**
 * The middleware and OpenAPI note of a route that needs a scope, or more than one (each checked
 * in turn, the first missing named in the 403). `x-required-scope` lists them all, as an array on
 * every route, so a program reads one shape whatever the route needs; the security requirement
 * lists them too, as the roles OpenAPI 3.1 lets a bearer requirement name, where generic tools look.
 */
export function scoped(...scopes: [Scope, ...Scope[]]) {
  return {
    middleware: scopes.map(requireScope),
    security: [{ bearer: scopes }],
    "x-required-scope": scopes,
  };
}
