import { authenticate } from "./auth";
import { handleError } from "./errors";
import { router } from "./openapi";
import { catalog } from "./routes/catalog";
import { deadLetters } from "./routes/dead-letters";
import { deliveries } from "./routes/deliveries";
import { events } from "./routes/events";
import { sources } from "./routes/sources";
import { tokens } from "./routes/tokens";
import { webhooks } from "./routes/webhooks";

/** The management API, mounted at /v1: every route authenticated, each checking its scope. */
export const api = router()
  .use("*", authenticate)
  .route("/", events)
  .route("/", webhooks)
  .route("/", deliveries)
  .route("/", sources)
  .route("/", tokens)
  .route("/", catalog)
  .route("/", deadLetters);

// Also when the dashboard calls the API in-process, errors answer in the contract's shape.
api.onError(handleError);
