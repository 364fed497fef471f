/** The bounds of a transformation's expressions and of their evaluation (docs/filters-and-transforms.md). */
export const TRANSFORM_LIMITS = {
  expressionChars: 8192,
  headers: 10,
  headerValueChars: 4096,
  /**
   * Evaluation steps per run (a delivery attempt, a webhook test): the body's and the headers'
   * expressions together, each given what those before it left. Tens of milliseconds of CPU.
   */
  steps: 50_000,
  /** A value an expression gives costs a step more per this many characters of a string… */
  charsPerStep: 1000,
  /** …or items of an array. */
  itemsPerStep: 100,
  /**
   * …and arrays nested in it, at every depth, besides their items: its charge goes through each to
   * count their items and strings, at each node that gives it (~30 ns an array in workerd: an event's
   * 3,000 items each 30 arrays deep, `[1..60].$count($$.a[])`, ran 2.7–2.9 µs a step charged by the
   * items alone, 5–8 in an audit; 0.35–0.9 at this rate).
   */
  nestedArraysPerStep: 10,
  /**
   * Items per step, besides the array's own charge as a value (itemsPerStep), of the arrays built or
   * gone through an item at a time: a range (`[1..99999]`), what `$split` gives, what `$sum`,
   * `$max`, `$min` and `$average` add up and `$join` joins (each item is checked against the
   * signature first), and each array given to a lambda whose signature types its items (`a<n>`),
   * checked at each call. ~30–50 ns an item in Node (35–45 ns a signature's item in workerd), so
   * 20 items a step in all stay under a microsecond.
   */
  itemWorkPerStep: 25,
  /**
   * Objects `$merge` goes through per step, empty ones too, besides their keys: each is checked
   * against its signature, then its keys listed and copied (85,000 `{}` merged ~100 ns each in
   * workerd: at 25 a step, 2.5–5 µs a step).
   */
  mergedObjectsPerStep: 10,
  /**
   * Frames per step a name looked up (a variable, a function called by name, a parent step `%`)
   * walks out through, counted as deep as its frame is: each block and lambda call nests one more
   * (lexically), and the name is looked up in each, out to where it is bound (~14 ns a frame in
   * workerd: `$x.$x.$x` mapped over 9,300 items inside 385 blocks, 5 µs a step charged a step a
   * node, 0.5–1.1 at this rate). Below 32 frames deep (any realistic expression) nothing more.
   */
  framesPerLookupStep: 32,
  /**
   * Parameters a lambda may declare: JSONata binds each at every call, given or not (1,750 of them,
   * a step a call, ran ~45 µs a step in an audit; at 32, under a microsecond more).
   */
  lambdaParameters: 32,
  /**
   * Optional (`?`, `-`) and repeated (`+`) parameters of a lambda's signature: JSONata matches a call's
   * arguments with a native regular expression, which tries up to 2^optional ways, times the
   * arguments for a repeated one, before it fails (30 optional: ~5 s a call; 40 held the runtime for minutes).
   */
  signatureOptional: 3,
  signatureRepeated: 1,
  /**
   * Characters JSONata's parser may copy: it deep-copies the left operand of each `??` and `?:` (as
   * JSON), so each nested on the left doubles it (18 levels, 127 characters: 4.6 s to save, 4-6 s at
   * each delivery), and what it copies is parsed and walked again at each attempt (a megabyte, ~20,000
   * objects: 60-80 ms). 60 coalesced fields with long left operands copy ~32 KB.
   */
  parseCopiedChars: 131_072,
  /**
   * `[:` in a regular expression literal: RE2 looks for a POSIX class's `:]` through the rest of the
   * pattern at each (2,700 in 8 KB: ~60-90 ms to compile, at each attempt).
   */
  regexClassOpenings: 16,
  /**
   * Number predicates (`[0]`, `[-1]`) and index stages (`#$i`) of one node per step, charged at each
   * evaluation (each item a path step gives; a sort step's once a path): JSONata applies them without
   * evaluating a node (0.2–0.9 µs each), and 2,700 `[0]` on a step over an event's 48,000 items ran 24 s
   * within the steps; at 2 a step, 0.4–1.8 µs a step, about a plain step's time.
   */
  predicatesPerStep: 2,
  /** JSONata call depth. */
  depth: 500,
  /** Levels an expression's parse tree may nest, so that nesting alone stays under the call depth. */
  nesting: 400,
  /**
   * Steps of one path (`a.b.c` is 3; each `%` is one). JSONata's parser goes through all the steps
   * so far at each `.` (a path of 4,000 steps took ~380 ms to parse, at each attempt); a real
   * transformation's paths are a few steps long.
   */
  pathSteps: 64,
  /**
   * Names one path binds with `%` (each step a `%` reaches is one), `#$i` and `@$v`, a block or path
   * step giving a tuple stream adding its own. A path carrying any copies them into each item's tuple
   * at each of its steps (JSONata's tuple stream): 2,000 `%` took ~1 ms a step, 700 `#` names ~0.3 ms.
   * Paths side by side each carry their own.
   */
  bindings: 16,
  /**
   * Names copied per step in a path that carries bound names: each of its steps binds an item's
   * tuple (the names it and the steps before it bound) in a new frame, and copies it into each item
   * it gives (16 names over 3,000 items ~1.3 µs a step in Node; the parent example over 1,000 orders,
   * two names, ~1.8 µs).
   */
  boundNamesPerStep: 2,
  /**
   * Steps besides its own an object constructor or a grouping costs at each evaluation: it groups
   * its input by key and builds an object (`[1..46000].{}` ran 2.8 µs a step charged a step each).
   */
  constructedSteps: 2,
  /**
   * Steps besides its own an array constructor (`[a, b]`) costs at each evaluation: it evaluates its
   * items side by side (a promise each), appends them and marks its answer. `[[1], [1], …]` of 2,000
   * evaluated 12 times, charged two steps an inner `[1]`, ran 1.9–2.6 µs a step in Node where a plain
   * step ran 0.5–0.7 (4.6–8.2 µs in an audit); with these three, under 1.2.
   */
  arrayConstructedSteps: 3,
  /**
   * Steps besides its own a transform (`|a|{…}|`) costs at each evaluation: JSONata makes its
   * function anew there, parsing its signature again (`$count([1..45000].|a|{}|)`, a step each, ran
   * 3.2 µs a step in workerd, 4–6 times a plain step on the stack, holding ~1.2 KB each to the end).
   */
  transformerSteps: 8,
  /**
   * Groups a grouping (`items{key: value}`, an object constructor) had found before a new one, per
   * step charged for the new one: JSONata evaluates all groups' values side by side, and each costs
   * more the more are in flight (in Node ~2 µs a group of 1,000, ~12–26 of 10,000: `objs{id: [v]}`
   * of 10,000 unique ids took 0.26–0.4 s, charged 50,104 steps).
   */
  groupsBeforePerStep: 400,
  /**
   * Items an array constructor copies per step, counted as its appended items times its answer's
   * length (each append copies all before it: ~9 ns an item in workerd).
   */
  appendedItemsPerStep: 200,
  /** Items in one sequence (array). */
  sequence: 100_000,
  /** The forwarded body, in UTF-8 bytes. */
  outputBytes: 256 * 1024,
  /**
   * Characters of a JSONata error's message kept (stored only by its code; the webhook test answers
   * it): one quotes the value it refused as JSON, up to a text of stringChars.
   */
  messageChars: 4096,
  /** Any string built while evaluating, in UTF-16 units. */
  stringChars: 1024 * 1024,
  /** Items `$distinct` compares (each with every other: a few tens of milliseconds at most). */
  distinctItems: 5000,
  /** Comparisons of a `$sort` by value that cost one step (about the time of one). */
  sortComparisonsPerStep: 50,
  /**
   * Items JSONata's merge sort copies per step when it sorts by a function or an order-by (`^(…)`):
   * it copies the rest of a run at each comparison, about n²/4 items for n (`$sort([1..7000],
   * $append)`, a step a comparison, ran 2.8–5 times a plain step's time; ~10 ns an item copied).
   */
  sortCopiesPerStep: 200,
  /**
   * Characters of JSON text a copy (`~> |…|…|`, `$clone`) reads back per step, besides its writing
   * (writtenValuesPerStep, writtenCharsPerStep).
   */
  cloneCharsPerStep: 50,
  /**
   * Values (an object's keys, an array's items, at every depth) `$string` and a copy write as JSON,
   * per step: each goes through JSONata's replacer and the bound's, ~400 ns a value in workerd
   * (`$string` of an array of 120,000 zeros took ~50 ms a call, charged as its 240 KB text: 240 steps).
   */
  writtenValuesPerStep: 3,
  /**
   * Levels JSON.stringify goes back through per step: at each object or array it writes, it checks
   * all those it is inside for a cycle (`$string` of an object chain 5,000 deep: ~14 ms a call, 7–9
   * µs a step charged by its values; ~1 ns a level).
   */
  nestingCheckedPerStep: 1000,
  /** Characters of indentation pretty-printed `$string` writes, per step (~3 ns each in workerd: a line of 400 spaces per value). */
  indentCharsPerStep: 100,
  /** Characters of the JSON text `$string` and a copy write, per step (escaping a long string: ~6 ns a character). */
  writtenCharsPerStep: 250,
  /**
   * Characters of a string argument per step, charged at each call of a built-in that works through
   * its whole string: `$length`, `$substring` and `$pad` first split it into an array of its code
   * points (~13 ns a character: 190 `$length`s of a 250,000-character string took 0.8 s, charged as
   * the references they were), `$trim` replaces each run of white space, the others copy or convert
   * it. `$contains`, `$substringBefore`, `$substringAfter` and `$split` with a string search it, up
   * to ~10 ns a character (a short pattern over text repeating its first character: 48 `$contains`
   * of 1,000,000 `a`s for "aaaaab" took 0.3 s, charged as the string's references; a built-in given as
   * `$each`'s or `$sift`'s function gets each value uncharged: 2,000 such calls of a megabyte, 21 s).
   * `$number` tests its string with a regular expression, then parses it (~7 ns a character).
   */
  stringArgCharsPerStep: {
    length: 100,
    substring: 100,
    pad: 100,
    trim: 40,
    uppercase: 150,
    lowercase: 150,
    base64encode: 100,
    base64decode: 100,
    encodeUrl: 100,
    encodeUrlComponent: 100,
    decodeUrl: 100,
    decodeUrlComponent: 100,
    contains: 50,
    substringBefore: 50,
    substringAfter: 50,
    split: 50,
    number: 100,
    /** With a letters picture (`a`) it reads its string a character at a time: 45 of 1,000,000 characters took 0.6–0.8 s. */
    parseInteger: 100,
  },
  /**
   * Values a descendant (`**`) or wildcard (`*`) step goes through per step: JSONata walks the whole
   * value within one evaluation step (40 `$count($$.**)` of 60,000 numbers took 150–335 ms; ~0.2 µs
   * a value in Node, so a step per 5 ran ~1 µs a step).
   */
  walkedValuesPerStep: 2,
  /**
   * Items a wildcard (`*`) step copies per step: at each key holding an array, JSONata appends the
   * array's items to a copy of all it gathered before (~1–2.5 ns an item in Node: 1,800 keys of `[0]`,
   * 1.6 million items copied, took ~3 ms).
   */
  wildcardCopiesPerStep: 200,
  /**
   * Items of a copy from which it is dearer (V8 allocates an array over 128 KiB apart): ~1.3 ms a
   * copy of 17,000 items, ~3.3 ms of 90,000 (235 keys of `[0]` after one of 17,000: 320 ms)…
   */
  largeCopyItems: 16_384,
  /** …so such a copy costs a step per this many of its items (~2 µs a step at 17,000 items, ~1 at 90,000). */
  largeCopiesPerStep: 25,
  /**
   * Work of a regular expression per step: characters read times its program weighed
   * (programWeight, routing/regex-weight.ts), and regexWorkPerRun a run. Linear is
   * not cheap: with every instruction's thread alive at each character, re2js's NFA (long texts) and
   * bit-state engine (short ones, programs up to 500 instructions) took 4–11 ns a character × weight
   * in workerd. Against the audit's `(?i)(?:ικ|κι|.){150}[xy]` (0.66–0.74 µs a step in workerd),
   * over 4,000 characters in node: `(?:a|b|.){160}x` and `(?i)(?:a|.){150}x` 1.9 times, `(?i)a{300}x`
   * 1.7, `.{300}x` 1.66, `[a-z]{300}x` 1.5, `[a-z0-9_.-]{300}x` 1.2, `[^,]{300}x`, `(?i)k{300}x` over
   * Kelvin signs, `\pL{300}x` 1.0–1.2: the dearest ~1.25–1.4 µs a step, no headroom for a larger
   * rate. Realistic patterns keep few threads alive and ran 0.35–1 µs a step over 256 KiB in node
   * (`$contains(c, /order/i)` 36,364 steps; `$count($match(b, /(\d+):(\d+)/))` ~94,000, 89 ms: such a
   * body takes more than the steps there, whatever the rate). Charged by instructions unweighed at
   * a step per 500, `(?i)(?:ικ|κι|.){150}[xy]` ran 20–30 µs a step (46,817 steps over 21,500
   * characters: ~1 s in workerd); now stopped past ~1,500 characters.
   */
  regexWorkPerStep: 120,
  /**
   * Work of each run of a regular expression besides its characters (a find, reading a match's
   * groups): a matcher, and JSONata's handling of each match. Charged by characters alone,
   * `$replace(t, /\s+/, "_")` of 10,000 one-space matches ran 2–3.6 µs a step in node, `$count($match(s,
   * /[ab]/))` 2.2–2.6; at 200 a run ~1–1.8 and 0.6–1.2 (`$split` of 32,000 pieces, 0.5).
   */
  regexWorkPerRun: 200,
  /**
   * Work of a character a run of a regular expression passes over without stepping through it: RE2
   * looks for its pattern's literal prefix with the platform's `indexOf` where no thread is alive, and
   * a search that finds nothing is charged so for what it did not step through (indexOf scanned it,
   * or it gave up). indexOf ran ~0.04 ns a character over text without the prefix's first character,
   * 2 with it every 3rd, and its dearest, near-misses at every character (`a…ab` over `a…`, 2 to 999
   * long, `κ…κb` over `κ…`): 6–10 ns in workerd, 3.5–5.5 in node, where a unit of stepping is 4–11
   * ns. So 2: a search for `"id":\s*"([^"]+)"` failing over 256 KiB of `ab"`, `"i"` or `"id"`, and
   * `a{6}b`, `a{30}b`, `a{300}b` over runs of `a`, ran 2.3–4.7 ns a unit so charged in workerd.
   */
  regexWorkPerSkipped: 2,
  /**
   * Capture groups that make a character of reading a match's groups cost its program's weight once
   * more (captureFactor, linear-regexp.ts); the find keeps one group's captures whatever the pattern
   * holds. Against the find over the same `(?:.*(a)){K}z|a` in node: 1.5–1.7 times with up to 10
   * groups, 3.2 with 20, 5 with 40, 11 with 100, 42 with 400.
   */
  regexCapturesPerWeight: 10,
  /**
   * Work of reading a match's groups per group the pattern declares, besides its characters: re2js
   * makes each thread's captures for every group, used or not (4,000 `()` under `{0}`, a program
   * of a few instructions: ~70 µs a read in node, charged 2 steps as a run alone, 50–66 µs a step; in
   * an audit 1.4 s an attempt). At 2 a group, ~8 ns a unit.
   */
  regexWorkPerGroup: 2,
  /**
   * Instructions of a regular expression compiled per step, charged before compiling by the most
   * its text can compile to (regexSizeBound, which counts a class by what building it takes: its
   * Unicode tables' ranges). Compiling took 0.4–5.5 µs an instruction in workerd
   * (a run of one literal `^a{1000}$`, `^\pL{1000}$`, an alternation of counted repeats the
   * dearest), and small patterns up to ~11 µs (`^(\d{4})-(\d{2})-(\d{2})`: 19 in 75–210 µs).
   */
  regexInstructionsPerStep: 1,
  /**
   * The most RE2 instructions one regular expression literal may compile to, read from its text: a
   * literal of 8,000 characters (`a{1000}b{1000}…`) spells millions, seconds of compiling. At it a
   * compile takes ~5–20 ms; a realistic pattern is under a few hundred (an e-mail's is 13).
   */
  regexProgram: 4096,
  /**
   * The most all of a transformation's literals together may compile to (body and headers), as
   * each is compiled to check it when it is saved: ~80 ms at worst.
   */
  regexPrograms: 16_384,
  /**
   * Values compared per step: an object's keys and an array's items, at every depth, of what `=`
   * and `!=` compare (JSONata lists and sorts an object's keys to compare it: one comparison of a
   * 20,000-key object took 16 ms), and of what `$distinct` compares with each item it keeps.
   */
  comparedValuesPerStep: 2,
  /**
   * Characters of the strings `=` and `!=` compare inside objects and arrays, and `$distinct` compares
   * with each other, per step: equal lengths are compared character by character, ~0.07–0.15 ns each.
   */
  comparedCharsPerStep: 8000,
  /**
   * Items, at every depth, of the arrays `$keys`, `$lookup` and `$spread` go through, per step: JSONata
   * calls itself on each (an array of 100,000 one-item arrays: 32 ms a `$keys`, ~250 ns an item).
   */
  listedItemsPerStep: 4,
  /** Items `$zip` puts in its tuples (one per array given, per index of the shortest), per step: ~300 ns each. */
  zippedItemsPerStep: 4,
  /** Keys of the objects `$merge`, `$keys` and `$spread` go through, per step (merging a 20,000-key object took 10 ms). */
  keysPerStep: 2,
  /**
   * Characters of a picture (`$fromMillis`, `$toMillis`, `$now`, `$formatNumber`, `$formatInteger`,
   * `$parseInteger`) per step: each call reads its picture through, about a microsecond a character
   * (a hundred calls with one of 200,000 took 12 s, charged as the string it is).
   */
  pictureCharsPerStep: 2,
  /**
   * Matches of a string pattern `$replace` may make per step, charged before it runs by the most it
   * could make: JSONata builds each match and its replacement (250,000 matches took 44 ms a call,
   * charged as its 750 steps of strings).
   */
  replacementsPerStep: 8,
  /**
   * `$n` references (`$0`, `$1`, `$$`) of a string replacement `$replace` writes at each match of a
   * regular expression, per step: JSONata appends each to the match's text one by one (1,000 matches
   * of 32,768 `$0`s took 4.3 s, ~130 ns a reference).
   */
  replacementRefsPerStep: 10,
  /**
   * Digits a picture asks to be written (its own, a width modifier's: `[D,1000000]`), per step,
   * charged before the call: JSONata pads them as an array joined, ~100 ns a digit (`[D,100000]`
   * took 9.7 ms a call, charged as its 100-step result).
   */
  paddedDigitsPerStep: 50,
  /** How many times dearer a digit of another family than 0–9 is (`[D١,100000]`: 24 ms a call, JSONata maps each). */
  foreignDigitCost: 5,
  /**
   * Characters copied per step by inserting grouping separators, each of which copies the whole
   * string (`[D#,##0,3000]`: 1,000 separators into 3,000 digits took 13 ms a call).
   */
  groupingCopiesPerStep: 1000,
  /**
   * A picture's grouping separators times its characters, per step: JSONata's analysis goes through
   * the picture once per separator (`$formatNumber` with 5,000 of them took 0.8 s a call).
   */
  separatorScansPerStep: 300,
  /** Steps of each marker of a picture `$toMillis` is given, and once more a call: JSONata compiles a regular expression of them at each call. */
  matcherStepsPerMarker: 20,
  /** Of a width modifier `$toMillis` is given (the count its regular expression repeats a digit), per step. */
  matchedWidthPerStep: 1,
  /**
   * Characters of the text `$formatNumber` and `$formatInteger` write, per step, charged after the
   * call: words and grouping build it piece by piece (`$formatInteger(1e300, "W")` took 86 µs a call).
   */
  formattedCharsPerStep: 20,
  /**
   * Of the value `$formatInteger` writes in Roman numerals, and of the year a date's `[Yi]`, `[YI]`,
   * `[Xi]` marker writes so, per step: JSONata recurses once per 1,000 of it (9,000,000 took 2 ms a
   * call; the year 275760 took ~60 µs a `$fromMillis` in Node, 5–14 µs a step charged as its picture).
   */
  romanValuePerStep: 1000,
  /**
   * Characters of the string `$parseInteger` reads with a words picture (`w`, `W`, `Ww`), per step,
   * besides stringArgCharsPerStep: JSONata splits it at every space, `-` and `, ` and looks each
   * piece up (~70–80 ns a character of separators in Node: 99 `-` ran 2.7 µs a step at 5 steps a call).
   */
  parsedWordCharsPerStep: 20,
  /**
   * Steps of each `$parseInteger` call with a words picture: JSONata builds its matcher's text from
   * its ~90 number words at each call (~4–5 µs a call in Node: `$parseInteger("forty-two", "w")`
   * ran 1.6 µs a step at 5 steps a call).
   */
  wordsMatcherSteps: 2,
} as const;

/** A bound an expression passed, as it was checked or evaluated. */
export class BoundExceeded extends Error {}
