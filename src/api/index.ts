import { Hono } from "hono";
import { authenticate } from "./auth";
import type { ApiEnv } from "./context";
import { deliveries } from "./deliveries";
import { events } from "./events";
import { webhooks } from "./webhooks";

/** The management API, mounted at /v1. */
export const api = new Hono<ApiEnv>()
  .use("*", authenticate)
  .route("/events", events)
  .route("/webhooks", webhooks)
  .route("/deliveries", deliveries);
