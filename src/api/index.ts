import { Hono } from "hono";
import { authenticate } from "./auth";
import type { ApiEnv } from "./context";
import { events } from "./events";

/** The management API, mounted at /v1. */
export const api = new Hono<ApiEnv>().use("*", authenticate).route("/events", events);
