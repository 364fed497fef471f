import type { z } from "zod";
import { AppError } from "../domain/errors";

/** 400 `invalid_request` listing a zod error's issues. */
export function invalidRequest(error: z.ZodError, what: string): AppError {
  const issues = error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
  const first = issues[0];
  return new AppError(
    400,
    "invalid_request",
    `Invalid ${what}${first ? `: ${first.path ? `${first.path}: ` : ""}${first.message}` : ""}.`,
    { issues },
  );
}

/** Opaque list cursors: base64url of the position to continue below. */
export function encodeCursor(seq: number): string {
  return btoa(`s${seq}`).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}

export function decodeCursor(cursor: string): number {
  try {
    const text = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
    const m = /^s(\d{1,15})$/.exec(text);
    if (m?.[1]) return Number(m[1]);
  } catch {
    // fall through
  }
  throw new AppError(400, "invalid_request", "The cursor is not one this API returned.", {
    issues: [{ path: "cursor", message: "unknown cursor" }],
  });
}
