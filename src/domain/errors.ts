import type { ContentfulStatusCode } from "hono/utils/http-status";

/** Every machine-readable error code Edgehook answers with. */
export type ErrorCode =
  | "malformed_payload"
  | "missing_signature"
  | "invalid_signature"
  | "timestamp_out_of_tolerance"
  | "unknown_source"
  | "payload_too_large"
  | "queue_unavailable"
  | "invalid_request"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "method_not_allowed"
  | "rate_limited"
  | "upgrade_required"
  | "internal_error";

/** An error as a value: the status, a code to branch on and a message to act on. */
export class AppError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export function errorBody(code: ErrorCode, message: string, details?: unknown) {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

export function errorResponse(err: AppError): Response {
  return Response.json(errorBody(err.code, err.message, err.details), { status: err.status, headers: err.headers });
}
