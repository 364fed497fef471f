// Text a sender or a token chose, shown where a person reads it: a control or a bidirectional
// formatting character there would make it read as other text ("message.\u202edeviecer" shows
// as "message.received").

/** C0 controls, DEL and C1 controls. */
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

/** The controls, and the characters that reorder or isolate text (Unicode bidi controls). */
const HIDDEN_CHARACTERS = new RegExp(`${CONTROL_CHARACTERS.source}|[\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]`);

/** Why `text` may not be taken to be shown as typed: a hidden character in it; else null. */
export function hiddenCharacterProblem(text: string): string | null {
  return HIDDEN_CHARACTERS.test(text) ? "must not contain control or bidirectional formatting characters" : null;
}

/**
 * What the dashboard writes as its escape, the set the CLI escapes (cli/src/output.js; a test keeps
 * them equal): the controls (C0, DEL, C1), the line and paragraph separators, every format
 * character (bidi marks and overrides, the zero-width space, joiners, the BOM, the soft hyphen,
 * tags) and the others Unicode says a renderer may ignore (variation selectors, Hangul fillers).
 * Wider than HIDDEN_CHARACTERS, which refuses input: a name may hold a joiner (an emoji), shown escaped.
 */
const SHOWN_ESCAPED = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/gu;

/** `\u202e`, `\u{e0001}`: a code point as an escape that reads as what it is. */
function escaped(c: string): string {
  const code = c.codePointAt(0) ?? 0;
  return code < 0x10000 ? `\\u${code.toString(16).padStart(4, "0")}` : `\\u{${code.toString(16)}}`;
}

/**
 * One emoji's code points (UTS #51): a tag sequence (a subdivision's flag: the black flag, tags, the
 * cancel tag), or a pictograph with its presentation selector (VS15 text, VS16 emoji) or skin tone.
 * Its joiners, selectors and tags make the one picture: escaped, ❤️ read `❤\ufe0f`. The tags only
 * in a subdivision code's shape (ISO 3166-2: two lowercase letters, then one to three lowercase
 * letters or digits, `gbsct`): any run of tags would keep invisible ASCII, a hidden sentence.
 */
const EMOJI = String.raw`(?:\u{1f3f4}[\u{e0061}-\u{e007a}]{2}[\u{e0030}-\u{e0039}\u{e0061}-\u{e007a}]{1,3}\u{e007f}|\p{Extended_Pictographic}(?:\p{Emoji_Modifier}|[\ufe0e\ufe0f])?)`;
/**
 * What a text block shows as written: an emoji sequence (emoji joined by U+200D, 👨‍👩‍👧; a keycap,
 * 1️⃣), and CR LF, a line's end as Windows writes it. A joiner, selector or tag elsewhere (between
 * letters: `message\u200d.received`), and a lone CR (which hides the start of its line where it is
 * obeyed, a terminal's), are escaped still. (A single code point is never kept: the CLI's set stays
 * the same, test/cli/output.test.ts.)
 */
const SHOWN_IN_BLOCKS = new RegExp(String.raw`(${EMOJI}(?:\u200d${EMOJI})*|[0-9#*]\ufe0f\u20e3|\r\n)|${SHOWN_ESCAPED.source}`, "gu");

/**
 * `text` as the dashboard shows it: each character of SHOWN_ESCAPED written as its escape, so
 * `message\u200b.received` does not read as `message.received`. With `lines`, a text block (a
 * body, a response) keeps its newlines and tabs, as the CLI's `printable` does, its CR LFs and its
 * emoji (SHOWN_IN_BLOCKS): prose someone reads, where a name or a type, told apart by its look,
 * keeps each invisible character escaped. For display only: a form field posted back holds the
 * text as stored.
 */
export function legible(text: string, opts: { lines?: boolean } = {}): string {
  if (!opts.lines) return text.replace(SHOWN_ESCAPED, escaped);
  return text.replace(SHOWN_IN_BLOCKS, (c, kept: string | undefined) => kept ?? (c === "\n" || c === "\t" ? c : escaped(c)));
}

/**
 * Characters that show as nothing, or only as a change to their neighbours: format characters
 * (zero-width space and joiners, word joiner, BOM, soft hyphen, tags) and the others Unicode says
 * a renderer may ignore (variation selectors, Hangul fillers).
 */
const INVISIBLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}]/u;

/**
 * Why an identifier typed to match another's (an organization's uid) may not be taken as given:
 * white space or an invisible character at either end, which a paste brings along and no one sees;
 * else null. (A hidden character anywhere is hiddenCharacterProblem's.)
 */
export function paddedProblem(text: string): string | null {
  if (text.trim() !== text) return "must not begin or end with white space";
  const characters = [...text];
  const invisible = [characters[0], characters.at(-1)].find((c) => c !== undefined && INVISIBLE.test(c));
  // Named by its code point: shown, it would be nothing.
  return invisible === undefined ? null : `must not begin or end with an invisible character (${codePoint(invisible)})`;
}

/**
 * Why text no one types (a secret, copied from where it was shown) may not be taken as given: a
 * character anywhere in it that shows as nothing (UNSEEN), which a page's copy brings along and the
 * sender's copy lacks; else null. (Names may hold one, an emoji's joiner: paddedProblem looks only at
 * their ends. White space within, a passphrase's, is let be.)
 */
export function invisibleProblem(text: string): string | null {
  const invisible = UNSEEN.exec(text)?.[0];
  return invisible === undefined ? null : `must not contain an invisible character (${codePoint(invisible)})`;
}

/** `U+200B`: a character named by its code point. */
export const codePoint = (c: string): string => `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;

/** What shows as nothing: white space, INVISIBLE's, and the braille blank U+2800 (a symbol without dots). */
const BLANK = new RegExp(`^(?:\\s|\\u2800|${INVISIBLE.source})*$`, "u");

/** Where a line or paragraph ends, as some readers obey (U+2028, U+2029): a name is one line. */
const SEPARATOR = /[\p{Zl}\p{Zp}]/u;

/** INVISIBLE's, the braille blank U+2800 (a symbol without dots) and SEPARATOR's: what a copy shows as nothing, or as a line's end. */
export const UNSEEN = new RegExp(`${INVISIBLE.source}|\\u2800|${SEPARATOR.source}`, "u");

/**
 * Why a name (a source's, a token's) may not be taken as given: one that is only white space or
 * invisible characters, which a list shows as nothing, or holds a line or paragraph separator;
 * else null. (The empty name is the length check's; a control or bidi one, hiddenCharacterProblem's.)
 */
export function blankNameProblem(text: string): string | null {
  const separator = SEPARATOR.exec(text)?.[0];
  if (separator !== undefined) return `must not contain a line or paragraph separator (${codePoint(separator)})`;
  return text !== "" && BLANK.test(text) ? "must not be blank: it holds only white space or invisible characters" : null;
}
