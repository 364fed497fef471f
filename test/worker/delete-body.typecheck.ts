// Checked by `npm run typecheck` alone (no test runs it): apiRoute refuses a DELETE that does not
// declare NO_BODY (openapi.ts), so none can take a body unread. Each `@ts-expect-error` fails the
// check once the route it marks compiles.
import { z } from "@hono/zod-openapi";
import { apiRoute, NO_BODY, optionalBody } from "../../src/api/openapi";

const responses = { 204: { description: "Deleted" } };
const params = z.object({ id: z.string() });

export const routes = () => [
  apiRoute({ method: "delete", path: "/tokens/{id}", operationId: "withNoBody", request: { params, ...NO_BODY }, responses }),
  // @ts-expect-error a DELETE that declares no body
  apiRoute({ method: "delete", path: "/tokens/{id}", operationId: "undeclared", request: { params }, responses }),
  // @ts-expect-error a DELETE with no request at all
  apiRoute({ method: "delete", path: "/tokens/{id}", operationId: "noRequest", responses }),
  // @ts-expect-error a DELETE that takes a body with fields
  apiRoute({ method: "delete", path: "/tokens/{id}", operationId: "fields", request: { params, ...optionalBody(z.object({ confirm: z.boolean() })) }, responses }),
  // Only a DELETE: another method declares a body or not as it takes one.
  apiRoute({ method: "get", path: "/tokens/{id}", operationId: "read", request: { params }, responses }),
];
