// HTTP optimistic concurrency (RFC 9110 §13.1.1) over a versioned row (domain/version.ts): its
// ETag is a strong validator of its stored version, and a change sent with If-Match applies only
// while the row is still at a version it names. The version compared is the one the write itself
// checks in its transaction (the version read): a change landing between the read and the write
// makes the write find the row at another version, which answers 412 too.
import { AppError, invalidField } from "../domain/errors";

/** What If-Match asks: nothing (absent), any current version (`*`), or one of these entity tags (as sent, `W/` kept). */
export type IfMatch = null | "*" | string[];

/** The ETag of a row at `version`: opaque and strong. */
export const etagOf = (version: number): string => `"${version.toString(36)}"`;

// An element of the list (RFC 9110 §8.8.3): [W/] DQUOTE *etagc DQUOTE, or nothing (a list may
// hold empty elements, §5.6.1.2), then a comma or the end.
const LIST_ELEMENT = /[ \t]*(?:((?:W\/)?"[\x21\x23-\x7e\x80-\xff]*")[ \t]*)?(?:,|$)/y;

/** The If-Match header as asked; 400 when it is neither `*` nor a list of quoted entity tags. */
export function ifMatchOf(header: string | undefined): IfMatch {
  if (header === undefined) return null;
  if (header.trim() === "*") return "*";
  const tags: string[] = [];
  for (let at = 0; at < header.length; at = LIST_ELEMENT.lastIndex) {
    LIST_ELEMENT.lastIndex = at;
    const m = LIST_ELEMENT.exec(header);
    if (!m) throw malformed();
    if (m[1] !== undefined) tags.push(m[1]);
  }
  if (tags.length === 0) throw malformed();
  return tags;
}

const malformed = () =>
  invalidField('Invalid If-Match: give "*" or the ETag read with the resource (a quoted entity tag, as sent), several separated by commas.', {
    path: "If-Match",
    message: 'must be "*" or a list of quoted entity tags',
  });

/** 412 `precondition_failed`: the row is no longer at a version If-Match names; nothing was changed. */
export const preconditionFailed = (what: string) =>
  new AppError(
    "precondition_failed",
    `The ${what} is no longer at the version If-Match names (another change was saved since it was read); nothing was changed: read it again (GET), check it is still the change you want, and send it with the ETag read.`,
  );

/**
 * The version a write of a row read at `version` is held to: with If-Match naming tags, that version
 * (412 unless one of them is its ETag; a weak tag never is); with `*` or none, none. `*` holds while
 * the row exists, which its read has just found, so a change racing it answers as one sent without
 * If-Match does (409, or a delete that deletes).
 */
export function pinnedVersion(ifMatch: IfMatch, version: number, what: string): number | undefined {
  if (!Array.isArray(ifMatch)) return undefined;
  if (!ifMatch.includes(etagOf(version))) throw preconditionFailed(what);
  return version;
}
