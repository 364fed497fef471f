// How common JSON writers put a string's text between its quotes: what a value may look like in a
// raw body a sender wrote (search finds text so; scrubbing finds a credential so).

/** `text`'s UTF-16 units that `which` matches, as JSON's `\uXXXX` escapes. */
const unicodeEscaped = (text: string, which: RegExp) => text.replace(which, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

const jsonText = (text: string) => JSON.stringify(text).slice(1, -1);

/** Python's json (and any writer keeping to ASCII): what is not ASCII as `\u00e9`. */
export const asciiJsonText = (text: string) => unicodeEscaped(jsonText(text), /[^\x00-\x7f]/g);

/**
 * The text as JSON writers quote it: JSON.stringify's (`"` as `\"`, a line break as `\n`); Python's
 * (asciiJsonText); PHP's json_encode, `/` as `\/`, with its non-ASCII escapes and without them
 * (JSON_UNESCAPED_UNICODE); Go's encoding/json, `<`, `>`, `&`, U+2028 and U+2029 as `\u003c`….
 */
export const JSON_WRITERS: readonly ((text: string) => string)[] = [
  jsonText,
  asciiJsonText,
  (t) => asciiJsonText(t).replaceAll("/", "\\/"),
  (t) => jsonText(t).replaceAll("/", "\\/"),
  (t) => unicodeEscaped(jsonText(t), /[<>&\u2028\u2029]/g),
];
