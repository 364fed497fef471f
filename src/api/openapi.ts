import { OpenAPIHono, type z } from "@hono/zod-openapi";
import type { Scope } from "../domain/scopes";
import { requireScope } from "./auth";
import type { ApiEnv } from "./context";
import { ErrorSchema } from "./schemas";
import { illFormedText, invalidRequest, repeatedParam } from "./validate";

/**
 * An OpenAPIHono whose validation failures answer the contract's 400 `invalid_request`, as does
 * text D1 could not store as given.
 */
export function router() {
  return new OpenAPIHono<ApiEnv>({
    defaultHook: (result, c) => {
      const what = result.target === "json" ? "body" : result.target;
      if (!result.success) throw (result.target === "query" ? repeatedParam(result.error, c.req.queries()) : null) ?? invalidRequest(result.error, what);
      const refused = illFormedText(result.data, what);
      if (refused) throw refused;
    },
  });
}

const ERROR_DESCRIPTIONS = {
  400: "invalid_request: the input failed validation (details.issues lists why)",
  401: "unauthorized: no valid bearer token",
  403: "forbidden: the token lacks a scope (details.missingScope) or the location/organization",
  404: "not_found",
  409: "conflict",
} as const;

/** Error answers of a route, all in the `{"error":{code,message}}` shape. */
export function errors(...statuses: (keyof typeof ERROR_DESCRIPTIONS)[]) {
  const all: (keyof typeof ERROR_DESCRIPTIONS)[] = [401, 403, ...statuses];
  return Object.fromEntries(
    all.map((s) => [
      s,
      { description: ERROR_DESCRIPTIONS[s], content: { "application/json": { schema: ErrorSchema } } },
    ]),
  );
}

export function json<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}

export function body<T extends z.ZodType>(schema: T) {
  return { body: { content: { "application/json": { schema } }, required: true } };
}

/** The middleware and OpenAPI note of a route that needs a scope. */
export function scoped(scope: Scope) {
  return {
    middleware: requireScope(scope),
    security: [{ bearer: [] }],
    "x-required-scope": scope,
  };
}
