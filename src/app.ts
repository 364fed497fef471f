import { Hono } from "hono";
import { api } from "./api";
import { AppError, errorResponse } from "./domain/errors";
import type { AppEnv } from "./env";
import { receive } from "./ingress/receive";

export const app = new Hono<AppEnv>();

app.get("/healthz", (c) => c.json({ ok: true }));
app.post("/webhooks/:sourceId", receive);
app.all("/webhooks/:sourceId", () =>
  errorResponse(new AppError(405, "method_not_allowed", "Webhooks are received with POST.", undefined, { allow: "POST" })),
);
app.route("/v1", api);

app.notFound((c) => errorResponse(new AppError(404, "not_found", `No route for ${c.req.method} ${c.req.path}.`)));
app.onError((err) => {
  if (err instanceof AppError) return errorResponse(err);
  console.error("unhandled error", { error: String(err) });
  return errorResponse(new AppError(500, "internal_error", "Something went wrong on our side; it has been logged."));
});
