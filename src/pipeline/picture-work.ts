/**
 * The work a picture asks of JSONata's formatting built-ins before they return, in evaluation steps
 * (jsonata-builtins.ts charges it before each call): reading the picture is charged by its length
 * apart, but a width (`[D,1000000]`) or many digits are padded, grouping separators are inserted
 * one at a time each copying the whole string, and JSONata's analysis goes through the picture
 * once per separator. None of it is seen until the result is, so it is reckoned from the picture.
 */
import { isRecord } from "../domain/guards";
import { BoundExceeded, TRANSFORM_LIMITS } from "./transform-limits";

/** A number's own digits beyond what a picture asks for (`'' + 1e20` is 21, a date's year 6). */
const VALUE_DIGITS = 25;
/** Integer presentations that write no digits. */
const NAMED = new Set(["A", "a", "I", "i", "W", "w", "Ww"]);
const DIGIT = /^\p{Nd}$/u;
/** Integer presentations in words. */
const WORDS = new Set(["W", "w", "Ww"]);

interface Layout {
  /** Characters of the picture part. */
  length: number;
  /** A date marker's width modifier (`[D,6]`), else 0. */
  width: number;
  /** Digits written at most: those asked for (picture or width) and the value's own. */
  digits: number;
  /** Grouping separators in the picture, and the characters of one. */
  separators: number;
  separatorChars: number;
  /** Digits of another family than 0–9, which JSONata maps one by one. */
  foreign: boolean;
}

/** Steps of writing `layout` (`writes`: false for a picture only read, `$toMillis`'s and `$parseInteger`'s). */
function stepsOf(layout: Layout, writes: boolean): number {
  const { length, width, digits, separators, separatorChars, foreign } = layout;
  let steps = (separators * length) / TRANSFORM_LIMITS.separatorScansPerStep;
  // Read (`$toMillis`), a width is how many digits the regular expression JSONata compiles at each
  // call repeats: RE2 compiles a counted repeat slowly (`[D,1000][M]` took 3 ms a call).
  if (!writes) steps += width / TRANSFORM_LIMITS.matchedWidthPerStep;
  else {
    if (digits > TRANSFORM_LIMITS.stringChars) {
      throw new BoundExceeded(`stopped: a picture asks for ${digits} digits, over ${TRANSFORM_LIMITS.stringChars} characters`);
    }
    steps += (digits * (foreign ? TRANSFORM_LIMITS.foreignDigitCost : 1)) / TRANSFORM_LIMITS.paddedDigitsPerStep;
    if (separators > 0) {
      // Each inserted separator copies the string (regular grouping may put one after every digit).
      const inserted = Math.max(digits, separators);
      steps += (inserted * (digits + inserted * separatorChars)) / TRANSFORM_LIMITS.groupingCopiesPerStep;
    }
  }
  return Math.ceil(steps);
}

/** An integer picture (`$formatInteger`'s, a date marker's presentation) padded to at least `width` digits. */
function integerLayout(picture: string, width: number): Layout {
  const semicolon = picture.lastIndexOf(";");
  const primary = semicolon === -1 ? picture : picture.slice(0, semicolon);
  let digits = 0;
  let separators = 0;
  let foreign = false;
  if (!NAMED.has(primary)) {
    for (const ch of primary) {
      if (DIGIT.test(ch)) {
        digits++;
        if (ch < "0" || ch > "9") foreign = true;
      } else if (ch !== "#") separators++;
    }
  }
  return { length: primary.length, width, digits: Math.max(digits, width) + VALUE_DIGITS, separators, separatorChars: 2, foreign };
}

/** Steps of `$formatInteger`'s or `$parseInteger`'s picture. */
export function integerPictureSteps(picture: unknown, writes: boolean): number {
  return typeof picture === "string" ? stepsOf(integerLayout(picture, 0), writes) : 0;
}

/** Integer presentations JSONata writes in Roman numerals. */
const ROMAN = new Set(["i", "I"]);
/** Date components whose value is the year (`X`: the ISO week-numbering year, within one of it). */
const YEARS = new Set(["Y", "X"]);

/**
 * How far from zero the year is that `$fromMillis(millis, …, timezone)` writes, and one more (`X`
 * may be the next), reckoned as JSONata does (the zone read by `parseInt` as `±hhmm`); 0 for a date
 * it cannot write.
 */
export function writtenYear(millis: unknown, timezone: unknown): number {
  if (typeof millis !== "number") return 0;
  const offset = typeof timezone === "string" ? parseInt(timezone) : 0;
  const [hours, minutes] = Number.isNaN(offset) ? [NaN, NaN] : [Math.floor(offset / 100), offset % 100];
  const year = new Date(millis + (60 * hours + minutes) * 60_000).getUTCFullYear();
  return Number.isNaN(year) ? 0 : Math.abs(year) + 1;
}

/**
 * The marker's presentation (`[Yio,2]` is `i`), as JSONata reads it: after the component, before a
 * width modifier, without a last `a`, `t`, `c` or `o` if longer than one character.
 */
function presentationOf(marker: string, comma: number): string {
  const modifiers = marker.slice(1, comma === -1 ? undefined : comma);
  return modifiers.length > 1 && "atco".includes(modifiers.at(-1) ?? "") ? modifiers.slice(0, -1) : modifiers;
}

/**
 * Steps of a date-time picture (`$fromMillis`, `$now`, `$toMillis`): each marker's presentation as
 * an integer picture, padded to its width modifier (`[D,6]`, `[Y,2-4]`), found as JSONata does.
 * `year` (writtenYear): a year written in Roman numerals costs by its value, as `$formatInteger`'s.
 */
export function dateTimePictureSteps(picture: unknown, writes: boolean, year = 0): number {
  if (typeof picture !== "string") return 0;
  // Read, JSONata builds and compiles a regular expression at each call, a group per marker: RE2's
  // compiling is slow however small (`[D]` took ~200 µs a call, `[Y0001]-[M01]-[D01]` ~400 µs).
  let steps = writes ? 0 : TRANSFORM_LIMITS.matcherStepsPerMarker;
  for (let pos = picture.indexOf("["); pos !== -1; pos = picture.indexOf("[", pos + 1)) {
    if (picture[pos + 1] === "[") {
      pos++; // a literal `[`
      continue;
    }
    const end = picture.indexOf("]", pos);
    if (end === -1) break; // JSONata refuses it (D3135)
    const marker = picture.slice(pos + 1, end).replace(/\s+/g, "");
    const comma = marker.lastIndexOf(",");
    const widths = comma === -1 ? [] : jsonataWidths(marker.slice(comma + 1));
    const width = Math.max(0, ...widths.filter(Number.isFinite));
    steps += stepsOf(integerLayout(marker.slice(1, comma === -1 ? undefined : comma), width), writes);
    if (writes && YEARS.has(marker[0] ?? "") && ROMAN.has(presentationOf(marker, comma))) {
      steps += Math.ceil(year / TRANSFORM_LIMITS.romanValuePerStep);
    }
    if (!writes) steps += TRANSFORM_LIMITS.matcherStepsPerMarker;
    pos = end;
  }
  return steps;
}

/**
 * A width modifier's minimum and maximum, read as JSONata reads them: split at the first `-`, each
 * by `parseInt` without a radix, which takes `0x2000000` as hexadecimal (read in decimal, that width
 * was charged a step and JSONata wrote 33,554,432 characters).
 */
function jsonataWidths(modifier: string): number[] {
  const dash = modifier.indexOf("-");
  const parts = dash === -1 ? [modifier] : [modifier.slice(0, dash), modifier.slice(dash + 1)];
  return parts.map((w) => parseInt(w));
}

/** Steps of `$formatNumber`'s picture, with the options that change its separator and digits. */
export function numberPictureSteps(picture: unknown, options: unknown): number {
  if (typeof picture !== "string") return 0;
  const option = (name: string, fallback: string): string => {
    const v: unknown = isRecord(options) ? options[name] : undefined;
    return typeof v === "string" ? v : fallback;
  };
  const separator = option("grouping-separator", ",");
  return stepsOf(
    {
      length: picture.length,
      width: 0,
      // Any character may be a digit written (the integer part's, the fraction's).
      digits: picture.length + VALUE_DIGITS,
      separators: separator === "" ? 0 : picture.split(separator).length - 1,
      separatorChars: Math.max(1, separator.length),
      foreign: option("zero-digit", "0") !== "0",
    },
    true,
  );
}

/**
 * Steps of `$parseInteger`'s reading of `value` with a words picture (`w`, `W`, `Ww`, with `;o` or
 * not): its matcher built from the number words, and the string split and looked up piece by piece.
 */
export function parsedWordsSteps(value: unknown, picture: unknown): number {
  if (typeof value !== "string" || typeof picture !== "string") return 0;
  const semicolon = picture.lastIndexOf(";");
  const primary = semicolon === -1 ? picture : picture.slice(0, semicolon);
  if (!WORDS.has(primary)) return 0;
  return TRANSFORM_LIMITS.wordsMatcherSteps + Math.ceil(value.length / TRANSFORM_LIMITS.parsedWordCharsPerStep);
}
