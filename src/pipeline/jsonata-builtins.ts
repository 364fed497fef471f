/**
 * JSONata's built-ins whose work one evaluation step does not bound, each wrapped to charge that
 * work to a run's steps (and to stop at its own bound), with the charges they share with the
 * evaluator and with transform.ts (boundedWriting): jsonata-meter.ts counts a run's steps and
 * installs these on its evaluator. Kept apart from it: each wrapper is a cost measured and bounded
 * on its own, most of the code, and the evaluator reads shorter without them.
 */
import { isIndexable } from "../domain/guards";
import { JSONATA, type Evaluator, type QuotedOperand } from "./jsonata-check";
import { dateTimePictureSteps, integerPictureSteps, numberPictureSteps, parsedWordsSteps, writtenYear } from "./picture-work";
import { NativeRegExp, withRegExp, type LinearRegExp, type RegexSource } from "./linear-regexp";
import { BoundExceeded, TRANSFORM_LIMITS } from "./transform-limits";

/**
 * A JSONata function value (what `$name` evaluates to): its JavaScript implementation, called with
 * JSONata's `this`, and its arity (the implementation's length: as many arguments as a built-in that
 * calls a function, `$each`'s values and keys, gives it).
 */
function implementationOf(v: unknown): Builtin {
  if (isIndexable(v) && typeof v.implementation === "function") {
    const f: unknown = v.implementation;
    if (typeof f === "function") return Object.assign((self: unknown, args: unknown[]) => Reflect.apply(f, self, args), { arity: f.length });
  }
  throw new Error("not a JSONata function");
}

type Builtin = ((self: unknown, args: unknown[]) => unknown) & { arity: number };
/** JSONata's own implementation of each built-in wrapped here, by name, read once per isolate. */
const builtinsByName = new Map<string, Promise<Builtin>>();
const builtin = (name: string): Promise<Builtin> => {
  let found = builtinsByName.get(name);
  if (!found) builtinsByName.set(name, (found = JSONATA.parse(`$${name}`).evaluate({}).then(implementationOf)));
  return found;
};

/**
 * The longest prefix any two different ones of `strings` share: in sorted order two strings share
 * no more than each neighbour between them does with the next, so the neighbours' longest is the bound.
 */
function longestSharedPrefix(strings: string[]): number {
  const sorted = [...strings].sort();
  let longest = 0;
  for (let i = 1; i < sorted.length; i++) {
    const [a, b] = [sorted[i - 1]!, sorted[i]!];
    if (a === b) continue;
    let k = 0;
    while (k < a.length && a.charCodeAt(k) === b.charCodeAt(k)) k++;
    longest = Math.max(longest, k);
  }
  return longest;
}

/**
 * The built-ins whose work one step does not bound, each in front of its own bound and
 * charged to the run's steps for the work it does: `$pad` would build its whole string
 * (however wide) before the string bound sees it, and `$distinct` compares every item with
 * every other (100,000 items took 13 s).
 */
export async function boundBuiltins(
  target: Evaluator,
  charge: (steps: number) => void,
  chargeResult: (result: unknown) => void,
  Engine: new (source: RegexSource) => LinearRegExp,
): Promise<void> {
  const [pad, distinct, sort, string, merge, keys, spread, boolean, not, toMillis, fromMillis, now, formatNumber, formatInteger, parseInteger, replace, lookup, zip, join] = await Promise.all([
    builtin("pad"),
    builtin("distinct"),
    builtin("sort"),
    builtin("string"),
    builtin("merge"),
    builtin("keys"),
    builtin("spread"),
    builtin("boolean"),
    builtin("not"),
    builtin("toMillis"),
    builtin("fromMillis"),
    builtin("now"),
    builtin("formatNumber"),
    builtin("formatInteger"),
    builtin("parseInteger"),
    builtin("replace"),
    builtin("lookup"),
    builtin("zip"),
    builtin("join"),
  ]);
  // Each wrapper (a function of `...args`, length 0) gets its built-in's arity: given to `$each` or
  // `$map` as a function, it is passed as many arguments as JSONata's own would be, no fewer.
  const arities: Promise<void>[] = [];
  const evaluator = {
    registerFunction(name: string, implementation: (...args: unknown[]) => unknown, signature: string): void {
      arities.push(builtin(name).then((original) => void Object.defineProperty(implementation, "length", { value: original.arity })));
      target.registerFunction(name, implementation, signature);
    },
  };
  // JSONata's `$now` writes the time its own evaluation began, and `now` above is `$now` evaluated
  // once an isolate: the time of this run's (what `$millis()` answers) is written with `$fromMillis`.
  const nowOfRun: Builtin = Object.assign((self: unknown, args: unknown[]) => fromMillis(self, [startOf(self), ...args]), { arity: now.arity });
  const chargeItems = fractionally(charge);
  const chargePicture = (picture: unknown) => {
    if (typeof picture === "string") charge(Math.ceil(picture.length / TRANSFORM_LIMITS.pictureCharsPerStep));
  };
  // A function given to a built-in that calls it (`$map`'s, `$sort`'s comparator) reaches it as
  // JSONata's closure, and a built-in function so called (`$append`, `$string`) evaluates no
  // expression, so no hook charged it: `$sort([1..100000], $append)` ran the runtime out of memory
  // at 909 steps. Each call is charged as an expression is: a step, and its result by its size.
  const metered = (f: unknown, truth = false): unknown => {
    if (typeof f !== "function") return f;
    const call = async function (this: unknown, ...params: unknown[]) {
      charge(1);
      const result: unknown = await Reflect.apply(f, this, params);
      chargeResult(result);
      if (truth) chargeTruth(result, charge);
      return result;
    };
    // JSONata passes a callback as many arguments as its arity says (hofFuncArgs).
    return Object.assign(call, { arity: arityOf(f) });
  };
  for (const [name, signature, truth] of HIGHER_ORDER) {
    const implementation = await builtin(name);
    evaluator.registerFunction(
      name,
      function (this: unknown, ...args: unknown[]) {
        return implementation(this, args.map((arg) => metered(arg, truth)));
      },
      signature,
    );
  }
  // Plain functions, not arrows: JSONata calls a built-in with its own `this` (its focus).
  evaluator.registerFunction(
    "pad",
    function (this: unknown, ...args: unknown[]) {
      const [str, width, char] = args;
      // (The signature has made `width` a number and `char` a string.) JSONata joins copies of `char` before it trims them.
      const built = str !== undefined && typeof width === "number" ? Math.abs(width) * Math.max(1, typeof char === "string" ? char.length : 1) : 0;
      if (built > TRANSFORM_LIMITS.stringChars) {
        throw new BoundExceeded(`stopped: $pad to ${width} characters is over ${TRANSFORM_LIMITS.stringChars}`);
      }
      charge(Math.ceil(built / 1000));
      // JSONata counts the string's code points (an array of them), and when `char` is longer than
      // one splits its padding so too, and joins the part it keeps.
      const split = (typeof str === "string" ? str.length : 0) + (typeof char === "string" && char.length > 1 ? 2 * built : 0);
      charge(Math.floor(split / TRANSFORM_LIMITS.stringArgCharsPerStep.pad));
      // JSONata joins an array of `width` holes to pad (~27 ns a character: 1,000,000 took 25 ms,
      // charged a thousand steps); the same padding is its fill repeated, done so here.
      if (typeof str === "string" && typeof width === "number") return padded(str, width, typeof char === "string" && char !== "" ? char : " ");
      return pad(this, args);
    },
    "<s-ns?:s>",
  );
  evaluator.registerFunction(
    "distinct",
    function (this: unknown, ...args: unknown[]) {
      const [items] = args;
      if (Array.isArray(items)) {
        if (items.length > TRANSFORM_LIMITS.distinctItems) {
          throw new BoundExceeded(`stopped: $distinct of ${items.length} items is over ${TRANSFORM_LIMITS.distinctItems}`);
        }
        charge(Math.ceil((items.length * items.length) / 1000));
        // Each item may be compared with every one kept, and comparing objects or arrays goes
        // through all their values (5,000 objects of 8 keys took 11 s, charged as 5,000 numbers).
        for (const item of items) {
          chargeValues(item, items.length / TRANSFORM_LIMITS.comparedValuesPerStep, charge, items.length / TRANSFORM_LIMITS.comparedCharsPerStep);
        }
        // Strings of one length are compared character by character up to where they differ, each pair
        // once (5,000 of 1,000 characters differing at their ends took 0.48 s, charged as 25,000 steps
        // of pairs): charged by the longest prefix two different ones share, which bounds every such
        // pair's (ids that differ early cost little however long), and a repeat by its length once
        // (the first equal one kept ends its comparisons).
        const sameLength = new Map<number, string[]>();
        for (const item of items) {
          if (typeof item !== "string") continue;
          const group = sameLength.get(item.length);
          if (group) group.push(item);
          else sameLength.set(item.length, [item]);
        }
        for (const group of sameLength.values()) {
          if (group.length < 2) continue;
          const pairs = ((longestSharedPrefix(group) + 1) * group.length * group.length) / 2;
          charge(Math.floor((pairs + group.length * group[0]!.length) / TRANSFORM_LIMITS.comparedCharsPerStep));
        }
      }
      return distinct(this, args);
    },
    "<x:x>",
  );
  evaluator.registerFunction(
    "sort",
    function (this: unknown, ...args: unknown[]) {
      const [items, comparator] = args;
      // JSONata's merge sort copies the rest of a run at each comparison: quadratic in time and
      // memory (10,000 numbers took 0.2 s and 100 MB; 100,000 exhausted the isolate's memory), and
      // its default comparison is no evaluation step. A sort by value is done here in n log n and
      // charged by its comparisons; with a comparator function each call is charged already, and
      // the copying before it runs (sortCopies).
      if (comparator === undefined && Array.isArray(items) && items.length > 1) {
        const numbers = items.every((x) => typeof x === "number");
        if (numbers || items.every((x) => typeof x === "string")) {
          charge(Math.ceil((items.length * Math.log2(items.length)) / TRANSFORM_LIMITS.sortComparisonsPerStep));
          // Stable and ascending, as JSONata's (it moves an item only past a greater one).
          return [...items].sort((a, b) => (a > b ? 1 : a < b ? -1 : 0));
        }
      }
      if (Array.isArray(items)) charge(sortCopies(items.length));
      return sort(this, [items, metered(comparator)]);
    },
    "<af?:a>",
  );
  // Each call of these works through its whole string: charged by its length at each call, as a
  // reference to the string was charged once (1 step per 1,000 characters) however often it was used.
  for (const [name, signature] of STRING_WORK) {
    const implementation = await builtin(name);
    evaluator.registerFunction(
      name,
      function (this: unknown, ...args: unknown[]) {
        charge(stringArgSteps(args[0], name));
        return implementation(this, args);
      },
      signature,
    );
  }
  // These go through their array an item at a time (JSONata checks each against the signature
  // first), dearer than the array's own charge as it flows: 45 `$average`s of 99,999 numbers took
  // ~145 ms in Node, charged 48,000 steps.
  for (const [name, signature] of ITEM_WORK) {
    const implementation = await builtin(name);
    evaluator.registerFunction(
      name,
      function (this: unknown, ...args: unknown[]) {
        if (Array.isArray(args[0])) chargeItems(args[0].length / TRANSFORM_LIMITS.itemWorkPerStep);
        return implementation(this, args);
      },
      signature,
    );
  }
  // `$join` writes its whole string before the string bound sees it: 7,200 items joined by a
  // separator of 72,000 characters took 1.8–5 s and 550 MB in 310 steps. What it would write is
  // counted first (its items' lengths, the separator between each two), stopped past the bound and
  // charged as a string given is, and its items as `$sum`'s (JSONata checks each is a string).
  evaluator.registerFunction(
    "join",
    function (this: unknown, ...args: unknown[]) {
      const [strs, separator] = args;
      if (Array.isArray(strs)) {
        const between = typeof separator === "string" ? separator.length * Math.max(0, strs.length - 1) : 0;
        const written = strs.reduce<number>((sum, s) => sum + (typeof s === "string" ? s.length : 0), between);
        if (written > TRANSFORM_LIMITS.stringChars) throw new BoundExceeded(`stopped: $join would write over ${TRANSFORM_LIMITS.stringChars} characters`);
        chargeItems(strs.length / TRANSFORM_LIMITS.itemWorkPerStep);
        charge(Math.floor(written / TRANSFORM_LIMITS.charsPerStep));
      }
      return join(this, args);
    },
    "<a<s>s?:s>",
  );
  // `$split` builds a string per piece: `$split(s, '')` of 900,000 characters, ~45 ms a call in
  // Node. By a string, its search is charged and its pieces counted before; by a regular
  // expression, whose matching is charged as it goes, after.
  const split = await builtin("split");
  evaluator.registerFunction(
    "split",
    async function (this: unknown, ...args: unknown[]) {
      const [str, separator] = args;
      const before = typeof str === "string" && typeof separator === "string";
      if (before) {
        charge(stringArgSteps(str, "split"));
        chargeItems(piecesOf(str, separator) / TRANSFORM_LIMITS.itemWorkPerStep);
      }
      const pieces: unknown = await split(this, args);
      if (!before && Array.isArray(pieces)) chargeItems(pieces.length / TRANSFORM_LIMITS.itemWorkPerStep);
      return pieces;
    },
    "<s-(sf)n?:a<s>>",
  );
  // These go through every key of the objects they are given, and an object costs nothing by its
  // size as it flows (a string or an array does): a thousand merges of a 20,000-key body took 10 s.
  // `$boolean` and `$not` list an object's keys to take its truth, however they are reached (`$b := $boolean`).
  for (const [name, builtin, signature, charged] of [
    // (And each object, empty or not: TRANSFORM_LIMITS.mergedObjectsPerStep.)
    ["merge", merge, "<a<o>:o>", (v, c) => chargeKeys(v, c, 1 / TRANSFORM_LIMITS.mergedObjectsPerStep)],
    // `$keys` and `$lookup` of an array call themselves on each item, at every depth (an array of
    // 100,000 one-item arrays: 32 ms a `$keys`, charged nothing for the inner ones), and copy each
    // item's answer into the array's at every level: 100,000 values looked up 300 arrays deep took
    // 4.0 s, charged as one walk (3,504 steps).
    ["keys", keys, "<x-:a<s>>", (v, c) => (Array.isArray(v) ? chargeNestedAnswers(v, c, keyCount, 1 / TRANSFORM_LIMITS.keysPerStep) : chargeKeys(v, c))],
    ["boolean", boolean, "<x-:b>", chargeTruth],
    ["not", not, "<x-:b>", chargeTruth],
  ] as const satisfies readonly (readonly [string, Builtin, string, (v: unknown, c: (steps: number) => void) => void])[]) {
    evaluator.registerFunction(
      name,
      function (this: unknown, ...args: unknown[]) {
        charged(args[0], charge);
        return builtin(this, args);
      },
      signature,
    );
  }
  evaluator.registerFunction(
    "lookup",
    function (this: unknown, ...args: unknown[]) {
      const [input, key] = args;
      // (The signature has made `key` a string.)
      if (Array.isArray(input) && typeof key === "string") chargeLookup(input, key, charge);
      return lookup(this, args);
    },
    "<x-s:x>",
  );
  // JSONata's `$spread` of an array appends each item's spread to a copy of all before it:
  // quadratic (60,000 numbers took 16 s). Done here in one pass, with JSONata's answers (its own
  // spread of each item that is no array, its empty sequence when nothing is spread), and charged
  // by the items it goes through as well as the keys: in fractions of a step, so arrays of a few
  // items each add up too (a ternary tree of 88,573 arrays cost nothing, each under a step). Each
  // value is put once into the one answer, walked with a stack of its own: an answer copied into the
  // one above at each level cost depth × items (2,000 arrays deep around 60,000 items: 16 s a call).
  const spreadLinear = (self: unknown, arg: unknown, owe: (part: number) => void): unknown => {
    if (!Array.isArray(arg)) return spread(self, [arg]);
    const out: unknown[] = [];
    // (Once anything is appended, even an empty array, JSONata's answer is a plain array, not its empty sequence.)
    const appended = arg.some((item) => item !== undefined);
    const walking: Iterator<unknown>[] = [];
    const enter = (array: unknown[]) => {
      owe(array.length / TRANSFORM_LIMITS.listedItemsPerStep);
      walking.push(array[Symbol.iterator]());
    };
    enter(arg);
    for (let at = walking.at(-1); at !== undefined; at = walking.at(-1)) {
      const next = at.next();
      if (next.done) {
        walking.pop();
        continue;
      }
      const item: unknown = next.value;
      if (Array.isArray(item)) {
        enter(item);
        continue;
      }
      // (JSONata's spread of a value that is no object is the value.)
      const part = typeof item === "object" && item !== null ? spread(self, [item]) : item;
      if (Array.isArray(part)) for (const x of part) out.push(x);
      else if (part !== undefined) out.push(part);
      if (out.length > TRANSFORM_LIMITS.sequence) throw new BoundExceeded(`D2015: a sequence grew over ${TRANSFORM_LIMITS.sequence} items`);
    }
    return appended ? out : spread(self, [[]]);
  };
  evaluator.registerFunction(
    "spread",
    function (this: unknown, ...args: unknown[]) {
      chargeKeys(args[0], charge);
      return spreadLinear(this, args[0], fractionally(charge));
    },
    "<x-:a<o>>",
  );
  // `$zip` builds a tuple per index of the shortest array, an item per array in it (100,000 pairs:
  // ~59 ms a call, charged ~3,000 steps as the arrays it gave).
  evaluator.registerFunction(
    "zip",
    function (this: unknown, ...args: unknown[]) {
      const length = Math.min(...args.map((a) => (Array.isArray(a) ? a.length : 0)));
      charge(Math.ceil((length * args.length) / TRANSFORM_LIMITS.zippedItemsPerStep));
      return zip(this, args);
    },
    "<a+>",
  );
  // `$toMillis` with a picture matches the timestamp with a RegExp it builds from the picture, which
  // backtracks: `[Y]1[M]1[D]` over 4,000 digits took 28 s in one call, five such parts over 200 took
  // 34 s. JSONata builds and runs it within this synchronous call, so for the call the RegExp
  // constructor gives this run's RE2 engine (linear, and charged as a regular expression literal is).
  evaluator.registerFunction(
    "toMillis",
    function (this: unknown, ...args: unknown[]) {
      if (args[1] === undefined) return toMillis(this, args);
      chargePicture(args[1]);
      charge(dateTimePictureSteps(args[1], false));
      return withRegExp(
        function (source: string, flags?: string) {
          return new Engine(new NativeRegExp(source, flags));
        },
        () => toMillis(this, args),
      );
    },
    "<s-s?:n>",
  );
  // The others that read a picture: each call costs its picture's length, and what the picture
  // asks to be written (widths, digits, separators: picture-work.ts) before it is.
  for (const [name, builtin, signature, at, work] of [
    // (A year in Roman numerals, `[Yi]`, costs by its value: the year 275760 took ~60 µs a call.)
    ["fromMillis", fromMillis, "<n-s?s?:s>", 1, (args) => dateTimePictureSteps(args[1], true, writtenYear(args[0], args[2]))],
    ["now", nowOfRun, "<s?s?:s>", 0, (args, self) => dateTimePictureSteps(args[0], true, writtenYear(startOf(self), args[1]))],
    // (It also reads its whole string: with a letters picture, `a`, a character at a time; with a
    // words picture, `w`, piece by piece, after building its matcher from the number words.)
    [
      "parseInteger",
      parseInteger,
      "<s-s:n>",
      1,
      (args) => integerPictureSteps(args[1], false) + stringArgSteps(args[0], "parseInteger") + parsedWordsSteps(args[0], args[1]),
    ],
  ] as const satisfies readonly (readonly [string, Builtin, string, number, (args: unknown[], self: unknown) => number])[]) {
    evaluator.registerFunction(
      name,
      function (this: unknown, ...args: unknown[]) {
        chargePicture(args[at]);
        charge(work(args, this));
        return builtin(this, args);
      },
      signature,
    );
  }
  // What these write is charged at a higher rate than a string is (words and grouping build it
  // piece by piece: `$formatInteger(1e300, "W")` took 86 µs a call, charged as a step).
  const chargeFormatted = (text: unknown) => {
    if (typeof text === "string") charge(Math.floor(text.length / TRANSFORM_LIMITS.formattedCharsPerStep));
    return text;
  };
  evaluator.registerFunction(
    "formatNumber",
    function (this: unknown, ...args: unknown[]) {
      chargePicture(args[1]);
      charge(numberPictureSteps(args[1], args[2]));
      // JSONata copies the options object key by key at each call (24,000 keys, 1,000 calls: 4.9 s in 9,081 steps).
      chargeKeys(args[2], chargeItems);
      return chargeFormatted(formatNumber(this, args));
    },
    "<n-so?:s>",
  );
  // Roman numerals (a picture `I` or `i`) cost by their value too: JSONata recurses once per 1,000 of it.
  evaluator.registerFunction(
    "formatInteger",
    function (this: unknown, value: unknown, picture: unknown) {
      chargePicture(picture);
      charge(integerPictureSteps(picture, true));
      if (typeof value === "number" && typeof picture === "string" && /^[iI]/.test(picture)) {
        charge(Math.ceil(Math.abs(value) / TRANSFORM_LIMITS.romanValuePerStep));
      }
      return chargeFormatted(formatInteger(this, [value, picture]));
    },
    "<n-s:s>",
  );
  // A string pattern's matches are no steps (a regular expression's each cost at least one).
  evaluator.registerFunction(
    "replace",
    function (this: unknown, ...args: unknown[]) {
      const [str, pattern, replacement, limit] = args;
      if (typeof str === "string" && typeof pattern === "string" && pattern !== "") {
        charge(Math.floor(str.length / pattern.length / TRANSFORM_LIMITS.replacementsPerStep));
      }
      // With a regular expression, JSONata writes a string replacement out at each match, `$0` and
      // each `$n` by what was matched, within one step: 1,000 matches of 32,768 `$0`s took 4.3 s and
      // 1.3 GB before the string bound saw the result. Each match is written here by JSONata's own
      // replacement of that one match, charged and bounded before it is by the most it can write.
      if (typeof str === "string" && typeof pattern !== "string" && typeof replacement === "string") {
        const refs = replacement.split("$").length - 1;
        const owe = fractionally(charge);
        // What the answer can be: the string, each match replaced by what is written for it.
        let most = str.length;
        const self = this;
        const substitute = (m: unknown) => {
          const match = isIndexable(m) && typeof m.match === "string" ? m.match : "";
          const groups = isIndexable(m) && Array.isArray(m.groups) ? m.groups : [];
          const written = replacement.length + refs * match.length;
          most += written - match.length;
          if (most > TRANSFORM_LIMITS.stringChars) {
            throw new BoundExceeded(`stopped: $replace could write over ${TRANSFORM_LIMITS.stringChars} characters`);
          }
          owe(refs / TRANSFORM_LIMITS.replacementRefsPerStep + written / TRANSFORM_LIMITS.charsPerStep);
          const only = () => ({ match, start: 0, end: match.length, groups, next: () => undefined });
          return replace(self, [match, only, replacement]);
        };
        return replace(this, [str, pattern, substitute, limit]);
      }
      return replace(this, args);
    },
    "<s-(sf)(sf)n?:s>",
  );
  // The transform operator (`$ ~> |path|update|`) copies its whole input with `$clone`, which
  // JSONata does through the JSON text of it: an object costs nothing by its size otherwise, and a
  // body copied once per item of its own array took seconds and ran out of memory. As JSONata's
  // own (the text its $string writes, parsed back), charged by the text's length.
  evaluator.registerFunction(
    "clone",
    function (this: unknown, ...args: unknown[]) {
      const [value] = args;
      if (value === undefined) return undefined;
      checkTextWithin(value, TRANSFORM_LIMITS.stringChars, "a copy", charge);
      const text = string(this, [value]);
      if (typeof text !== "string") return undefined;
      charge(Math.ceil(text.length / TRANSFORM_LIMITS.cloneCharsPerStep));
      return JSON.parse(text);
    },
    "<(oa)-:o>",
  );
  // `$string` of a value writes its whole JSON text before the string bound sees it, and charged by
  // its size as a string it was ~30 times cheaper than writing it is (checkTextWithin charges that).
  evaluator.registerFunction(
    "string",
    function (this: unknown, ...args: unknown[]) {
      const [value] = args;
      // (JSONata pretty-prints with an indent of 2.)
      if (value !== undefined && typeof value !== "string") checkTextWithin(value, TRANSFORM_LIMITS.stringChars, "a text", charge, args[1] === true ? 2 : 0);
      return string(this, args);
    },
    "<x-b?:s>",
  );
  await Promise.all(arities);
}

/**
 * The built-ins charged by the length of their string argument at each call (rates:
 * TRANSFORM_LIMITS.stringArgCharsPerStep, which says why each), with JSONata's signatures; `$pad`'s
 * charge is with its own bound.
 */
const STRING_WORK = [
  ["length", "<s-:n>"],
  ["substring", "<s-nn?:s>"],
  ["trim", "<s-:s>"],
  ["uppercase", "<s-:s>"],
  ["lowercase", "<s-:s>"],
  ["base64encode", "<s-:s>"],
  ["base64decode", "<s-:s>"],
  ["encodeUrl", "<s-:s>"],
  ["encodeUrlComponent", "<s-:s>"],
  ["decodeUrl", "<s-:s>"],
  ["decodeUrlComponent", "<s-:s>"],
  ["contains", "<s-(sf):b>"],
  ["substringBefore", "<s-s:s>"],
  ["substringAfter", "<s-s:s>"],
  ["number", "<(nsb)-:n>"],
] as const satisfies readonly (readonly [keyof typeof TRANSFORM_LIMITS.stringArgCharsPerStep, string])[];

/**
 * JSONata's `$pad` of `str` to `width` code points: the first of them it lacks of `fill` repeated
 * (JSONata joins that many copies of `fill`, and keeps as many code points of them).
 */
function padded(str: string, width: number, fill: string): string {
  const points = (s: string) => {
    let n = 0;
    for (const _ of s) n++;
    return n;
  };
  const padLength = Math.abs(Math.trunc(width)) - points(str);
  if (!(padLength > 0)) return str;
  // JSONata joins `padLength` copies (a one-unit fill is kept so) and keeps that many code points
  // of them; copies join surrogates into pairs (`\uDE00\uD83D` twice holds three), so as many
  // copies are joined as hold a code point more than that, at least half a point a unit.
  const copies = fill.length === 1 ? padLength : Math.min(padLength, Math.ceil((2 * (padLength + 1)) / fill.length) + 1);
  const repeated = fill.repeat(copies);
  let end = fill.length === 1 ? repeated.length : 0;
  let kept = 0;
  for (const point of fill.length === 1 ? "" : repeated) {
    if (kept++ === padLength) break;
    end += point.length;
  }
  const padding = repeated.slice(0, end);
  return Math.trunc(width) > 0 ? str + padding : padding + str;
}

/** The pieces `$split` makes of `str` by a string: a character each by "" (at most), else one more than the separator's matches. */
function piecesOf(str: string, separator: string): number {
  if (separator === "") return str.length;
  let pieces = 1;
  for (let at = str.indexOf(separator); at >= 0; at = str.indexOf(separator, at + separator.length)) pieces++;
  return pieces;
}

/** The built-ins that go through their array argument an item at a time, with JSONata's signatures. */
const ITEM_WORK = [
  ["sum", "<a<n>:n>"],
  ["max", "<a<n>:n>"],
  ["min", "<a<n>:n>"],
  ["average", "<a<n>:n>"],
] as const;

/** What JSONata's append adds of a value (a sequence's items, or the value; nothing for undefined): what a node gives, counted. */
export const itemsOf = (value: unknown): number => (Array.isArray(value) ? value.length : value === undefined ? 0 : 1);

/** Steps of the copying JSONata's merge sort does for `n` items: the rest of a run at each comparison (TRANSFORM_LIMITS.sortCopiesPerStep). */
export const sortCopies = (n: number): number => Math.floor((n * n) / 4 / TRANSFORM_LIMITS.sortCopiesPerStep);

/** When the evaluation a built-in is called in began: its frame's `timestamp` (JSONata's focus holds the frame). */
function startOf(self: unknown): number {
  const environment = isIndexable(self) ? self.environment : undefined;
  const timestamp = isIndexable(environment) ? environment.timestamp : undefined;
  return timestamp instanceof Date ? timestamp.getTime() : Date.now();
}

/** Steps of a built-in's work through its string argument, at its rate (TRANSFORM_LIMITS.stringArgCharsPerStep). */
function stringArgSteps(arg: unknown, name: keyof typeof TRANSFORM_LIMITS.stringArgCharsPerStep): number {
  return typeof arg === "string" ? Math.floor(arg.length / TRANSFORM_LIMITS.stringArgCharsPerStep[name]) : 0;
}

/**
 * The built-ins that call a function they are given, with JSONata's signatures for them (its
 * `staticFrame`), and whether they take the truth of what it answers; `$sort` is bound apart.
 */
const HIGHER_ORDER: readonly (readonly [string, string, boolean])[] = [
  ["map", "<af>", false],
  ["filter", "<af>", true],
  ["single", "<af?>", true],
  ["reduce", "<afj?:j>", false],
  ["sift", "<o-f?:o>", true],
  ["each", "<o-f:a>", false],
];

/**
 * Charges taking the truth of a value as JSONata does it: an object's keys are listed (a check of
 * one of 16,000 keys took ~2 ms, and a thousand checks of the event's body were charged as 4,000
 * steps), an array's items are each taken one at a time (85,000 `[]` taken 100 times: ~0.45 s at
 * a step per 100 items, ~10 µs a step), so many keys cost a step as `$keys` does.
 */
export function chargeTruth(value: unknown, charge: (steps: number) => void): void {
  chargeKeys(value, charge, 1 / TRANSFORM_LIMITS.itemWorkPerStep);
}

/** The arity JSONata gave a function it hands on (its closure's `arity`), else the function's own length. */
function arityOf(f: { readonly length: number }): number {
  const arity: unknown = Reflect.get(f, "arity");
  return typeof arity === "number" ? arity : f.length;
}

/**
 * Charges `perValue` steps for each value in `value` at every depth (an object's keys, an array's
 * items), and `perChar` for each character of a string among them, an object's keys too, as often
 * as sorting them compares each (JSONata's deep equality sorts and compares two objects' key lists:
 * 250 keys of 1,000 characters sharing a prefix, compared 190 times, took 190 ms), as it counts them, so the count stops where the steps
 * run out. A function's insides are not a value.
 */
export function chargeValues(value: unknown, perValue: number, charge: (steps: number) => void, perChar = 0): void {
  const owe = fractionally(charge);
  const pending = [value];
  while (pending.length > 0) {
    const v = pending.pop();
    if (!isIndexable(v) || isFunction(v)) continue;
    const entries: [string, unknown][] = Array.isArray(v) ? v.map((child: unknown) => ["", child]) : Object.entries(v);
    // A key is compared about log2(keys) times as they are sorted, each time through a shared prefix.
    const sorted = 1 + Math.log2(Math.max(1, entries.length));
    for (const [key, child] of entries) {
      owe(perValue + (key.length * sorted + (typeof child === "string" ? child.length : 0)) * perChar);
      pending.push(child);
    }
  }
}

/**
 * Charges the characters of the strings in an array (and in arrays in it), as a string result's
 * are: a built-in a higher-order function applies (`$map($a, $uppercase)`) gives its strings
 * without passing the evaluator's hook (jsonata-meter.ts), and an array of 64 references to one
 * string of 1,000,000 characters (six `$append`s of itself) mapped so made 64 new strings, 128 MB,
 * in ~4,000 steps.
 */
export function chargeStrings(items: unknown[], charge: (steps: number) => void): void {
  // Summed, then charged once: a call a string made this a third of a run's time over big arrays.
  let chars = 0;
  let inner = 0;
  // Each inner array gone through costs more than its items (nested one in one, 3,000 of them 30
  // deep: 90,000 arrays of one item walked at each node that gave them, charged 900 steps a walk).
  let arrays = 0;
  const pending = [items];
  while (pending.length > 0) {
    for (const v of pending.pop()!) {
      if (typeof v === "string") chars += v.length;
      else if (Array.isArray(v)) {
        inner += v.length;
        arrays += 1;
        pending.push(v);
      }
    }
  }
  charge(Math.floor(chars / TRANSFORM_LIMITS.charsPerStep + inner / TRANSFORM_LIMITS.itemsPerStep + arrays / TRANSFORM_LIMITS.nestedArraysPerStep));
}

/**
 * Charges the keys of the objects in `value` (it, or the items of an array, of arrays in it too), as
 * `$merge`, `$keys` and `$spread` go through them, `perKey` each, and `perItem` for each item of an array.
 */
function chargeKeys(value: unknown, charge: (steps: number) => void, perItem = 0, perKey = 1 / TRANSFORM_LIMITS.keysPerStep): void {
  const owe = fractionally(charge);
  const pending = [value];
  while (pending.length > 0) {
    const v = pending.pop();
    if (Array.isArray(v)) {
      owe(v.length * perItem);
      // An array's items one by one: spread into push(), a long one passes the arguments a call takes.
      for (const item of v) pending.push(item);
    } else if (perKey > 0 && isIndexable(v) && !isFunction(v)) owe(Object.keys(v).length * perKey);
  }
}

/**
 * Charges `$keys` or `$lookup` of an array as JSONata does them: each item's answer (an inner
 * array's, its own such answer) is copied into the array's, at every level, so a value nested d
 * arrays deep is copied d times. `size`: the answer's size for an item that is no array (an
 * object's keys, the values found at the key), `perAnswer` steps each copied, and each array's
 * items as they are gone through. Inner arrays' answers are counted with their repeats: the most
 * `$keys` can copy (it keeps each key once).
 */
function chargeNestedAnswers(value: unknown[], charge: (steps: number) => void, size: (v: unknown) => number, perAnswer: number): void {
  const owe = fractionally(charge);
  // (As deep as JSONata's own recursion over it goes.)
  const answer = (v: unknown): number => {
    if (!Array.isArray(v)) return size(v);
    let total = 0;
    for (const item of v) total += answer(item);
    owe(v.length / TRANSFORM_LIMITS.listedItemsPerStep + total * perAnswer);
    return total;
  };
  answer(value);
}

/**
 * What JSONata's lookup of `key` in an array goes through (`$lookup`, and a path's name step given an
 * array): each item's answer, copied into the array's at every level of nesting (20,000 values 1,000
 * arrays deep: 1.7 s for a one-step `a.x`). An object's answer is its own value at the key, an array's items each.
 */
export function chargeLookup(input: unknown[], key: string, charge: (steps: number) => void): void {
  const found = (v: unknown) => {
    if (!isIndexable(v) || isFunction(v) || !Object.hasOwn(v, key)) return 0;
    const value: unknown = Reflect.get(v, key);
    return itemsOf(value);
  };
  chargeNestedAnswers(input, charge, found, 1 / TRANSFORM_LIMITS.listedItemsPerStep);
}

/** How many keys JSONata lists for a value: an object's own, none for anything else (a function's included). */
function keyCount(v: unknown): number {
  return isIndexable(v) && !isFunction(v) ? Object.keys(v).length : 0;
}

/** `charge` taking fractions of a step: whole steps are charged as the fractions add up to them. */
export function fractionally(charge: (steps: number) => void): (part: number) => void {
  let owed = 0;
  return (part) => {
    owed += part;
    if (owed < 1) return;
    const whole = Math.floor(owed);
    owed -= whole;
    charge(whole);
  };
}

/**
 * Charges writing what `&` joins, as `$string` is charged: JSONata writes an operand that is not
 * a string as its JSON text (`[1..50].($$ & '')` of an 18,000-key body ran ~14 µs a step uncharged).
 */
export function chargeJoined(value: unknown, charge: (steps: number) => void): void {
  if (isIndexable(value)) checkTextWithin(value, TRANSFORM_LIMITS.stringChars, "a text", charge);
}

/**
 * Charges an operand whose value JSONata's error would quote (QuotedOperand), given its value as
 * JSONata takes it: a value it would refuse (an object or array to negate or as a key, an update
 * that is no object, deletions that are not strings) is written as its JSON text in the message, in
 * full and uncharged (one sharing an object 19 levels deep: 512 MB, 10 s), so that writing is
 * charged and bounded here, before JSONata throws, as `$string`'s is. A transform copies an update's
 * keys into each match and deletes each name from it: charged by their count, as `$merge` is.
 * `charge` takes fractions of a step (fractionally).
 */
export function chargeQuoted(kind: QuotedOperand, value: unknown, charge: (steps: number) => void): void {
  // (Any object's keys, a function's marked ones too: JSONata copies them all.)
  if (kind === "update" && isIndexable(value) && !Array.isArray(value)) return charge(Object.keys(value).length / TRANSFORM_LIMITS.keysPerStep);
  if (kind === "deleted" && typeof value === "string") return charge(1 / TRANSFORM_LIMITS.keysPerStep);
  if (kind === "deleted" && Array.isArray(value) && value.every((name) => typeof name === "string")) return charge(value.length / TRANSFORM_LIMITS.keysPerStep);
  // Its functions too, as JSON.stringify writes them: a lambda holds its input (`$big.(function($x) {$x})`).
  if (isIndexable(value)) checkTextWithin(value, TRANSFORM_LIMITS.stringChars, "the value a JSONata error would quote", charge, 0, (f) => f);
}

/**
 * Stops, as it is written, the JSON text of a value that would pass `limit` characters: a value
 * that shares one object many times is cheap to build, and its text doubles with each level
 * (depth 30 ran for minutes; JSONata's $string and its copy write it whole). Functions count as
 * what $string writes for them, "", unless `asFunction` says otherwise. Charges the writing as it goes, by the values and characters
 * written (this pass and JSONata's own, each a replacer call a value), so the step bound stops it too.
 */
function checkTextWithin(value: unknown, limit: number, what: string, charge: (steps: number) => void, indent = 0, asFunction: (f: unknown) => unknown = () => ""): void {
  const owe = fractionally(charge);
  const bounded = boundedWriting(limit, `stopped: ${what} would be over ${limit} characters`, asFunction);
  // Pretty-printed, each value is written on its own line, indented by its depth: a value nested
  // 2,000 deep writes 4,000 spaces before each of its items (80,000 such items took ~5 s). And at
  // each object or array, JSON.stringify checks those it is inside for a cycle, one by one.
  const depths = new Map<unknown, number>();
  JSON.stringify(value, function (this: unknown, key: string, v: unknown) {
    const depth = (depths.get(this) ?? -1) + 1;
    if (isIndexable(v)) depths.set(v, depth);
    const lined = indent > 0 ? indent * depth + 2 : 0;
    owe(
      1 / TRANSFORM_LIMITS.writtenValuesPerStep +
        (key.length + (typeof v === "string" ? v.length : 1)) / TRANSFORM_LIMITS.writtenCharsPerStep +
        lined / TRANSFORM_LIMITS.indentCharsPerStep +
        (isIndexable(v) ? depth / TRANSFORM_LIMITS.nestingCheckedPerStep : 0),
    );
    return bounded(key, v, lined);
  });
}

/**
 * A JSON.stringify replacer that stops the writing (BoundExceeded, `over`) once about `limit`
 * characters are written, keys and strings by their length, anything else as one, and the
 * `indentation` a caller says a value is written with (pretty-printed); a function is
 * written as `asFunction` says.
 */
export function boundedWriting(limit: number, over: string, asFunction: (f: unknown) => unknown) {
  let budget = limit;
  return (key: string, v: unknown, indentation = 0): unknown => {
    budget -= indentation + key.length + (typeof v === "string" ? v.length : 1);
    if (budget < 0) throw new BoundExceeded(over);
    return isFunction(v) ? asFunction(v) : v;
  };
}

/**
 * JSONata lambdas and built-in functions are objects marked as such (`true`), not JS functions, and
 * hold what no JSON can: a built-in its implementation, a lambda its environment's lookup. A body's
 * `{"_jsonata_lambda": true}` is data, charged as data: some of JSONata's work skips it, some
 * (deep equality, `$spread`) goes through it key by key.
 */
export function isFunction(v: unknown): boolean {
  if (typeof v === "function") return true;
  if (!isIndexable(v)) return false;
  if (v._jsonata_function === true) return typeof v.implementation === "function";
  return v._jsonata_lambda === true && isIndexable(v.environment) && typeof v.environment.lookup === "function";
}
