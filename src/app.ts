import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { z } from "./domain/zod";
import type { MiddlewareHandler } from "hono";
import { api } from "./api";
import { docsPage } from "./api/docs-page";
import { RETRY_AFTER } from "./api/openapi";
import { TAGS, type Tag } from "./api/tags";
import { errorResponse, handleError } from "./http/errors";
import { dashboard } from "./dashboard";
import { ErrorSchema } from "./api/schemas/fields";
import { PODIUM_EVENT_EXAMPLE } from "./api/schemas/examples";
import { AppError } from "./domain/errors";
import { SOURCE_ID } from "./domain/ids";
import type { AppEnv } from "./env";
import { receive } from "./ingress/receive";
import { allowedMethods, methodNotAllowed, servedMethods } from "./http/methods";

/**
 * The Hono app: /v1, /dashboard, /openapi.json, /docs, /healthz, the ingress's fallbacks, 404/405.
 * The fetch handler (src/fetch.ts) loads this module on the first request that is not a provider's
 * POST to /webhooks/{sourceId} (those go to the ack path directly), so the ack path never builds it.
 */
export const app = new OpenAPIHono<AppEnv>();

// The API's answers (its errors and 404s too), its OpenAPI document and reference are read by
// browsers as well as clients: none may be sniffed into another type (a JSON error echoing
// input rendered as HTML). The dashboard sets its own (secureHeaders). A Durable Object's answer
// (the listener hub's 429) has immutable headers, so the answer is rebuilt around its body; an
// upgrade (101) carries its socket.
const noSniff: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  if (c.res.status === 101 || c.res.headers.get("x-content-type-options") === "nosniff") return;
  c.res = new Response(c.res.body, c.res);
  c.res.headers.set("x-content-type-options", "nosniff");
};
for (const path of ["/v1/*", "/openapi.json", "/docs"]) app.use(path, noSniff);

// The ack path (which the fetch handler sends provider requests to directly), for what
// it does not recognise (a percent-encoded source id) and for the 405 of other methods.
app.post("/webhooks/:sourceId", (c) => receive(c.req.raw, c.req.param("sourceId"), c.env, c.executionCtx));
// A path under /webhooks/ that names no source id (a trailing slash, often pasted with the URL,
// or a deeper path) is the ingress's 404 unknown_source, logged under `(invalid)` for "why are
// my events not arriving?", not the router's bare not_found that nobody sees.
app.post("/webhooks/*", (c) => receive(c.req.raw, c.req.path.slice("/webhooks/".length), c.env, c.executionCtx));

app.openapi(
  createRoute({
    method: "get",
    path: "/healthz",
    operationId: "getHealth",
    tags: ["Health" satisfies Tag],
    summary: "Liveness",
    security: [], // public: nothing to authenticate
    responses: { 200: { description: "Up", content: { "application/json": { schema: z.object({ ok: z.boolean() }) } } } },
  }),
  (c) => c.json({ ok: true }, 200),
);

app.route("/v1", api);
app.route("/dashboard", dashboard);

// The ingress is documented here; it reads the raw body itself (signatures cover the bytes).
const ingressError = (description: string) => ({ description, content: { "application/json": { schema: ErrorSchema } } });
const ingressRetry = (description: string) => ({ ...ingressError(description), headers: RETRY_AFTER });
app.openAPIRegistry.registerPath({
  method: "post",
  path: "/webhooks/{sourceId}",
  operationId: "receiveWebhook",
  tags: ["Ingress" satisfies Tag],
  summary: "Receive a webhook from a provider",
  description:
    "Verifies the provider's signature (its headers per provider: docs/providers.md), queues the event durably and answers 202. The body: up to 256 KiB of UTF-8, a JSON object for every provider but hmac (any UTF-8 text), stored byte for byte whatever its `Content-Type`.",
  // Authenticated by the provider's signature, not a bearer token.
  security: [],
  request: {
    params: z.object({ sourceId: z.string().openapi({ param: { name: "sourceId", in: "path" }, example: "podium" }) }),
    body: {
      content: {
        "application/json": { schema: z.record(z.string(), z.unknown()).openapi({ example: PODIUM_EVENT_EXAMPLE }) },
        "*/*": { schema: z.string().openapi({ description: "An hmac source's body: any UTF-8 text (other bytes are refused 400 malformed_payload)" }) },
      },
      required: true,
    },
  },
  responses: {
    200: {
      description: "Slack's signed url_verification handshake, answered with its challenge and not queued",
      content: { "application/json": { schema: z.object({ challenge: z.string() }) } },
    },
    202: {
      description: "Queued durably",
      content: { "application/json": { schema: z.object({ eventId: z.string() }).openapi("Accepted") } },
    },
    400: ingressError(
      "malformed_payload: not UTF-8, or not a JSON object (hmac: any UTF-8 text); a header read for one value sent more than once; a Slack url_verification without a string challenge; a body cut short",
    ),
    401: ingressError("missing_signature, invalid_signature or timestamp_out_of_tolerance"),
    404: ingressError("unknown_source"),
    405: { ...ingressError("method_not_allowed: anything but POST"), headers: { Allow: { description: "The methods served: POST.", required: true, schema: { type: "string" as const } } } },
    413: ingressError("payload_too_large: a body over 256 KiB, or the event without its body (headers, type, keys) too large for one queue message"),
    415: ingressError("unsupported_media_type: a compressed body (Content-Encoding gzip, br, deflate…): send it uncompressed"),
    429: ingressRetry("rate_limited: too many rejected signatures from this client for this source; retry after Retry-After seconds"),
    503: ingressRetry("queue_unavailable: retry after Retry-After seconds"),
  },
});

app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
  type: "http",
  scheme: "bearer",
  description: "The ADMIN_TOKEN secret, or a scoped token from POST /v1/tokens.",
});

app.doc31("/openapi.json", (c) => ({
  openapi: "3.1.0",
  info: {
    title: "Edgehook",
    version: "1.0.0",
    description: "A webhook edge receiver: verify at the edge, store once, forward signed.",
  },
  servers: [{ url: new URL(c.req.url).origin }],
  tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
}));

app.get("/docs", docsPage);

// Webhook uids are UUIDs; any other id at /webhooks/{id} is a source's ingress URL.
const WEBHOOK_UID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Where the API serves what a request without its /v1 meant, said as a sentence; "" when nowhere. */
function apiHint(method: string, path: string): string {
  // A source's ingress URL opened with GET (a browser, a check): its API path is /v1/sources/{id},
  // and /v1/webhooks/{id} would answer "no webhook".
  const source = /^\/webhooks\/([^/]+)$/.exec(path)?.[1];
  if (source !== undefined && !WEBHOOK_UID.test(source)) {
    // An id no source can have (`%`) names no webhook either: /v1/webhooks/{it} would only answer 404.
    if (!SOURCE_ID.test(source)) return "";
    const at = `/v1/sources/${source}`;
    return servedMethods(app.routes, at).includes(method) ? ` This URL receives a source's webhooks; the API serves ${method} ${at}.` : "";
  }
  // An API call without its /v1 (GET /webhooks/{uid}, as Podium's /v4/webhooks has it) meets the
  // ingress's POST-only /webhooks/…: a bare "use POST" would send it to the ingress instead.
  const served = servedMethods(app.routes, `/v1${path}`);
  if (served.includes(method)) return ` The API is under /v1: ${method} /v1${path}.`;
  // Another method there (GET /webhooks/{uid}/test): what /v1 serves at it.
  return served.length > 0 ? ` The API is under /v1, which serves ${served.join(", ")} /v1${path}.` : "";
}

/**
 * The routes a 405's Allow is read from: not the ingress's catch-all, which takes a POST of any path
 * under /webhooks/ only to answer it 404 unknown_source, so "use POST" there would be untrue.
 */
const allowingRoutes = app.routes.filter((r) => r.path !== "/webhooks/*");

app.notFound((c) => {
  const { method, path } = c.req;
  const v1 = apiHint(method, path);
  const allowed = allowedMethods(allowingRoutes, path, method);
  if (allowed.length > 0) return methodNotAllowed(method, allowed, v1);
  // Says where the routes are: a guessed one (GET /v1/attempts/{id}) otherwise ends here.
  return errorResponse(new AppError("not_found", `No route for ${method} ${path}: GET /openapi.json lists the API's routes.${v1}`));
});

app.onError(handleError);
