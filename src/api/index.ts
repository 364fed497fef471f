import { AppError } from "../domain/errors";
import { authenticate } from "./auth";
import { limitBody } from "../http/body";
import { errorResponse, handleError } from "../http/errors";
import { concreteMethods, methodNotAllowed } from "../http/methods";
import { MAX_API_BODY_BYTES, router } from "./openapi";
import { notifications } from "./routes/alerts";
import { catalog } from "./routes/catalog";
import { deadLetters } from "./routes/dead-letters";
import { deliveries } from "./routes/deliveries";
import { events } from "./routes/events";
import { listener } from "./routes/listen";
import { replay } from "./routes/replay";
import { sources } from "./routes/sources";
import { tokens } from "./routes/tokens";
import { webhooks } from "./routes/webhooks";

/** The management API, mounted at /v1: every route authenticated, each checking its scope. */
export const api = router()
  // Answers carry what a token may see, and a secret once at creation: no browser or proxy keeps
  // them, errors included (first, so the body limit's 413 too). A Durable Object's answer (the
  // listener hub's 429) has immutable headers, so the answer is rebuilt around its body; an
  // upgrade (101) carries its socket and nothing to keep.
  .use("*", async (c, next) => {
    await next();
    if (c.res.status === 101 || c.res.headers.has("cache-control")) return;
    c.res = new Response(c.res.body, c.res);
    c.res.headers.set("cache-control", "no-store");
  })
  .use(
    "*",
    limitBody(
      {
        maxSize: MAX_API_BODY_BYTES,
        onError: () => errorResponse(new AppError("payload_too_large", `API request bodies are limited to ${MAX_API_BODY_BYTES} bytes.`)),
      },
      (_, err) => errorResponse(new AppError("invalid_request", err.message)),
    ),
  )
  .use("*", authenticate)
  // A method a concrete path does not take is its 405, though a templated route would match it.
  .use("*", async (c, next) => {
    const allowed = concreteMethods(api.routes, c.req.path.startsWith("/v1/") ? c.req.path.slice(3) : c.req.path);
    if (allowed.length === 0 || allowed.includes(c.req.method)) return next();
    return methodNotAllowed(c.req.method, allowed);
  })
  .route("/", events)
  .route("/", replay)
  .route("/", webhooks)
  .route("/", deliveries)
  .route("/", sources)
  .route("/", tokens)
  .route("/", catalog)
  .route("/", deadLetters)
  .route("/", listener)
  .route("/", notifications);

// Also when the dashboard calls the API in-process, errors answer in the contract's shape.
api.onError(handleError);
