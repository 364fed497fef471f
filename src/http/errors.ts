// An error as an HTTP answer, for every side that answers one (the API, the ingress, the
// dashboard, the listen hub): the status of each code and the JSON body.
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { AppError, invalidField, type ErrorCode } from "../domain/errors";

/** The HTTP status of each error code. */
export const STATUS_OF: Record<ErrorCode, ContentfulStatusCode> = {
  malformed_payload: 400,
  invalid_request: 400,
  missing_signature: 401,
  invalid_signature: 401,
  timestamp_out_of_tolerance: 401,
  unauthorized: 401,
  forbidden: 403,
  unknown_source: 404,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  precondition_failed: 412,
  payload_too_large: 413,
  unsupported_media_type: 415,
  upgrade_required: 426,
  rate_limited: 429,
  internal_error: 500,
  queue_unavailable: 503,
};

/** The JSON body of an error answer. */
function errorBody(code: ErrorCode, message: string, details?: unknown) {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/** The challenge of the API's 401 (RFC 9110 15.5.2: a 401 names the scheme to authenticate with). */
export const BEARER_CHALLENGE = 'Bearer realm="edgehook"';

/** An AppError as the answer: its code's status, Retry-After when it says when, the API's challenge with its 401, and any headers given. */
export function errorResponse(err: AppError, headers: Record<string, string> = {}): Response {
  const retry: Record<string, string> = err.retryAfterSeconds === undefined ? {} : { "retry-after": String(err.retryAfterSeconds) };
  const challenge: Record<string, string> = err.code === "unauthorized" ? { "www-authenticate": BEARER_CHALLENGE } : {};
  // Never sniffed into another type (an error quotes what it was sent), wherever it is answered from:
  // the app's own middleware cannot add it when the app failed to load (fetch.ts).
  const nosniff = { "x-content-type-options": "nosniff" };
  return Response.json(errorBody(err.code, err.message, err.details), { status: STATUS_OF[err.code], headers: { ...retry, ...challenge, ...nosniff, ...headers } });
}

/** A body sent as anything but JSON (api/plain-body.ts, http/media-type.ts), as the validator's 415 says it. */
export const unsupportedMediaType = () =>
  new AppError("unsupported_media_type", "Send the body as JSON, with the header Content-Type: application/json.", {
    issues: [{ path: "content-type", message: "must be application/json" }],
  });

/** What an error thrown in a handler answers: AppErrors themselves, the middlewares' refusals by their status, anything else a logged 500. */
export function appErrorOf(err: Error): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof HTTPException && err.status === 400) {
    // Said with what to send: an empty body with a JSON Content-Type lands here too.
    return invalidField("The body is not valid JSON: send one JSON object ({} when you give none of its fields).", { path: "", message: err.message });
  }
  // The validator of a JSON body: a body sent as a form (curl -d) or as text.
  if (err instanceof HTTPException && err.status === 415) return unsupportedMediaType();
  console.error("unhandled error", { error: String(err) });
  return new AppError("internal_error", "Something went wrong on our side; it has been logged.");
}

/** The one error handler of the API: appErrorOf's answer as JSON. */
export function handleError(err: Error): Response {
  return errorResponse(appErrorOf(err));
}
