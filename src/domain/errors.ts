import { oneOf } from "./guards";
import { cutShort } from "./cut-short";
import { legible } from "./legible";

/** Every machine-readable error code Edgehook answers with. */
export const ERROR_CODES = [
  "malformed_payload",
  "missing_signature",
  "invalid_signature",
  "timestamp_out_of_tolerance",
  "unknown_source",
  "payload_too_large",
  "queue_unavailable",
  "invalid_request",
  "unauthorized",
  "forbidden",
  "not_found",
  "conflict",
  "precondition_failed",
  "method_not_allowed",
  "unsupported_media_type",
  "rate_limited",
  "upgrade_required",
  "internal_error",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export const isErrorCode = oneOf(ERROR_CODES);

/** An error as a value: a code to branch on and a message to act on (http/errors.ts gives each code its HTTP status). */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** When to try again, for the codes that say "later" (rate_limited, queue_unavailable). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** One thing wrong with a request's input: where (a dotted path; "" for the whole of it) and what. */
export interface Issue {
  path: string;
  message: string;
}

/** 409 for what would send an event past the retention (RETENTION_DAYS from its receipt): kept a while to be read, never sent. */
export function pastRetention(): AppError {
  return new AppError("conflict", "This event is past the retention (RETENTION_DAYS): it is kept for a while to be read, and nothing is sent for it.", {
    reason: "past_retention",
  });
}

/** The 409 of a change to a source declared by configuration (a Worker secret), which has no row to change. */
export const readOnlySource = (id: string): AppError =>
  new AppError("conflict", `The source "${id}" is declared by configuration (a Worker secret); change it there.`);

/**
 * An id a path or a filter gave, as a refusal quotes it: cut to 80 characters and its controls and
 * invisible or bidi characters escaped (`\u202e`), so a crafted one cannot make the sentence read as other text.
 */
export const quotedId = (id: string): string => legible(cutShort(id, 80));

/** 404 for the `what` named `id` (quotedId), with why it may be missing if there is more to say. */
export function notFound(what: string, id: string, why?: string, details?: unknown): AppError {
  return new AppError("not_found", `No ${what} "${quotedId(id)}"${why === undefined ? "" : ` (${why})`}.`, details);
}

/**
 * 404 for a webhook the caller may not see (outside its grant, deleted, or none), in the same words
 * whichever: a limited token learns nothing of another tenant's webhooks.
 */
export const webhookNotFound = (uid: string, details?: unknown): AppError => notFound("webhook", uid, "deleted, or not one this token may see", details);

/**
 * 404 for an event the caller may not see, or none (mistyped, purged), in the same words whichever;
 * the queue stores an event a moment after its ingress answered, so one just sent reads so meanwhile.
 */
export const eventNotFound = (id: string): AppError => notFound("event", id, "mistyped, purged, not stored yet, or not one this token may see");

/** 400 `invalid_request` saying `message`, its `details.issues` naming the one field at fault. */
export function invalidField(message: string, issue: Issue): AppError {
  return new AppError("invalid_request", message, { issues: [issue] });
}

/**
 * The most issues an error lists: a body of thousands of unknown fields answered each (59 KB sent,
 * 725 KB answered); the message says how many more there were.
 */
export const MAX_LISTED_ISSUES = 100;

/**
 * 400 `invalid_request` listing what is wrong with the request's `what` (body, query), the first said
 * in the message: the first MAX_LISTED_ISSUES, and the message says how many it leaves out.
 */
export function invalidInput(what: string, issues: Issue[]): AppError {
  const first = issues[0];
  const more = issues.length - MAX_LISTED_ISSUES;
  const left = more > 0 ? ` (and ${more} more ${more === 1 ? "issue" : "issues"}: details.issues lists the first ${MAX_LISTED_ISSUES})` : "";
  const said = first ? `: ${first.path ? `${first.path}: ` : ""}${first.message}` : "";
  return new AppError("invalid_request", `Invalid ${what}${said}${left}.`, { issues: issues.slice(0, MAX_LISTED_ISSUES) });
}

/**
 * What invalidInput's message says of the issues details.issues leaves out, read back: how many,
 * and the message without it (the dashboard counts them with the issues it lists). Beside the
 * sentence it reads, so the two change together.
 */
export function unlistedIssues(message: string): { message: string; unlisted: number } {
  const said = / \(and (\d+) more issues?: details\.issues lists the first \d+\)(?=\.$)/.exec(message);
  return said ? { message: message.replace(said[0], ""), unlisted: Number(said[1]) } : { message, unlisted: 0 };
}
