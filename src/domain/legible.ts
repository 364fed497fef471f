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

const EVERY_HIDDEN = new RegExp(HIDDEN_CHARACTERS.source, "g");

/** `text` with each hidden character written as its escape (`\u202e`), so it reads as what it is. */
export function legible(text: string): string {
  return text.replace(EVERY_HIDDEN, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
