import type { z } from "zod";
import { AppError } from "../domain/errors";

/** 400 `invalid_request` listing a zod error's issues. */
export function invalidRequest(error: z.ZodError, what: string): AppError {
  const issues = error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
  const first = issues[0];
  return new AppError("invalid_request",
    `Invalid ${what}${first ? `: ${first.path ? `${first.path}: ` : ""}${first.message}` : ""}.`,
    { issues },
  );
}

/** Opaque list cursors: base64url of the position to continue from. */
const toCursor = (text: string) => btoa(text).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");

/** The groups of a cursor's text, or 400 when it is not one this API returned. */
function fromCursor(cursor: string, pattern: RegExp): string[] {
  try {
    const m = pattern.exec(atob(cursor.replace(/-/g, "+").replace(/_/g, "/")));
    if (m) return m.slice(1);
  } catch {
    // fall through
  }
  throw new AppError("invalid_request", "The cursor is not one this API returned.", {
    issues: [{ path: "cursor", message: "unknown cursor" }],
  });
}

/** A position in insertion order (lists, newest first). */
export function encodeCursor(seq: number): string {
  return toCursor(`s${seq}`);
}

export function decodeCursor(cursor: string): number {
  return Number(fromCursor(cursor, /^s(\d{1,15})$/)[0]);
}

/** A position in time order: (received time, insertion sequence). */
export function encodePosition(p: { receivedAt: number; seq: number }): string {
  return toCursor(`t${p.receivedAt}s${p.seq}`);
}

export function decodePosition(cursor: string): { receivedAt: number; seq: number } {
  const [receivedAt, seq] = fromCursor(cursor, /^t(\d{1,15})s(\d{1,15})$/);
  return { receivedAt: Number(receivedAt), seq: Number(seq) };
}

/** A position in creation order (webhook lists, newest first): (created time, uid). */
export function encodeCreated(p: { createdAt: number; uid: string }): string {
  return toCursor(`c${p.createdAt}u${p.uid}`);
}

export function decodeCreated(cursor: string): { createdAt: number; uid: string } {
  const [createdAt, uid = ""] = fromCursor(cursor, /^c(\d{1,15})u([\x21-\x7e]{1,128})$/);
  return { createdAt: Number(createdAt), uid };
}

/** A position in key order (sources, by id): the key of the last item given. */
export function encodeKey(key: string): string {
  return toCursor(`k${key}`);
}

export function decodeKey(cursor: string): string {
  return fromCursor(cursor, /^k([\x21-\x7e]{1,128})$/)[0] ?? "";
}

/** A bulk retry's position: (webhook, insertion sequence within it). */
export function encodeRetryCursor(p: { webhook: number; seq: number }): string {
  return toCursor(`w${p.webhook}s${p.seq}`);
}

export function decodeRetryCursor(cursor: string): { webhook: number; seq: number } {
  const [webhook, seq] = fromCursor(cursor, /^w(\d{1,15})s(\d{1,15})$/);
  return { webhook: Number(webhook), seq: Number(seq) };
}
