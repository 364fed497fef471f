// Text cut to a length where it is quoted or named (a filter's reason, a button's name), the one
// place that knows not to split a character: half an emoji is a lone surrogate, which is no text.

/**
 * How a length is counted: `units`, UTF-16 code units (`String.length`, what a bound on a message's
 * size counts); `points`, code points (characters as a person counts them, `[...text]`).
 */
export type Counted = "units" | "points";

/** `text`'s first `n` units or code points, one fewer unit where the cut would split a surrogate pair. */
export function prefix(text: string, n: number, by: Counted): string {
  if (by === "units") {
    const last = text.charCodeAt(n - 1);
    return text.slice(0, last >= 0xd800 && last <= 0xdbff ? n - 1 : n);
  }
  // Counted as `[...text]` does (a lone surrogate is one), without copying a long text into an array.
  let end = 0;
  let count = 0;
  for (const c of text) {
    if (count++ === n) break;
    end += c.length;
  }
  return text.slice(0, end);
}

/** `text` whole when it is at most `max` long (counted `by`), else its first `max - 1` and an ellipsis. */
export function cutShort(text: string, max: number, by: Counted): string {
  // (A text of at most `max` units has at most `max` code points.)
  if (text.length <= max || prefix(text, max, by).length === text.length) return text;
  return `${prefix(text, max - 1, by)}…`;
}
