import { HTTPException } from "hono/http-exception";
import { AppError, errorResponse } from "../domain/errors";

/** The one error handler: AppErrors answer as themselves, anything else as a logged 500. */
export function handleError(err: Error): Response {
  if (err instanceof AppError) return errorResponse(err);
  if (err instanceof HTTPException && err.status === 400) {
    return errorResponse(new AppError(400, "invalid_request", "The body is not valid JSON.", { issues: [{ path: "", message: err.message }] }));
  }
  if (err instanceof HTTPException && err.status === 403) {
    // hono/csrf: a form posted from another origin.
    return errorResponse(new AppError(403, "forbidden", "Cross-origin form posts are refused."));
  }
  console.error("unhandled error", { error: String(err) });
  return errorResponse(new AppError(500, "internal_error", "Something went wrong on our side; it has been logged."));
}
