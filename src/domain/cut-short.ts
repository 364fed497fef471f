// Text cut to a length where it is quoted or named (a filter's reason, a button's name), the one
// place that knows not to split a character: half an emoji is a lone surrogate, which is no text, and
// a family cut after its first person (a ZWJ sequence) or a letter without its accent shows another.

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** `end`, or earlier: the start of the character (grapheme cluster) a cut of `text` at `end` would split. */
function whole(text: string, end: number): number {
  if (end >= text.length) return text.length;
  if (end <= 0) return 0;
  // Whether `end` is a boundary depends on the text before it and the code point at it, none after:
  // segmenting only that much keeps a long text from being copied whole.
  return graphemes.segment(text.slice(0, end + 2)).containing(end)?.index ?? end;
}

/** `text`'s first `n` code points (counted as `[...text]` does: a lone surrogate is one), fewer where the cut would split a character. */
function prefix(text: string, n: number): string {
  // Without copying a long text into an array.
  let end = 0;
  let count = 0;
  for (const c of text) {
    if (count++ === n) break;
    end += c.length;
  }
  return text.slice(0, whole(text, end));
}

/** `text` whole when it is at most `max` code points long, else its first `max - 1` and an ellipsis. */
export function cutShort(text: string, max: number): string {
  // (A text of at most `max` units has at most `max` code points.)
  if (text.length <= max || prefix(text, max).length === text.length) return text;
  return `${prefix(text, max - 1)}…`;
}

/**
 * A JSON text's first `n` units, fewer where the cut would split a character or an escape: half of
 * `\n` or `\u0001` reads as other text (`\` then `n`), and a cut string's text is its JSON, escapes
 * and all, so that is what a length bound counts.
 */
export function jsonPrefix(json: string, n: number): string {
  const end = whole(json, n);
  // JSON.stringify escapes as `\uXXXX` or two characters (`\n`, `\"`, `\\`); elsewhere a `\` is none.
  let i = 0;
  while (i < end) {
    const next = i + (json[i] !== "\\" ? 1 : json[i + 1] === "u" ? 6 : 2);
    if (next > end) break;
    i = next;
  }
  return json.slice(0, i);
}

/**
 * Input as a refusal quotes it: whole when it is a name (`name`: the characters such names are made
 * of), else its first characters, marked cut. A refusal may stand on a dashboard page any link can
 * open with its own query: the link's text must not stand there as a sentence of its choosing.
 */
export const quotedInput = (text: string, name: RegExp): string => (name.test(text) ? text : cutShort(text, 16));
