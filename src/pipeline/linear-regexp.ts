import { RE2JS } from "re2js";
import { isIndexable } from "../domain/guards";
import { programWeight, withoutOnePass } from "../routing/regex-weight";
import { TRANSFORM_LIMITS } from "./transform-limits";

/** A regular expression as written: its pattern and flags (a RegExp is one). */
export interface RegexSource {
  readonly source: string;
  readonly flags: string;
}

/**
 * A `/…/` literal that JavaScript's RegExp refuses but RE2 may run (`(?i)`, `(?s)`, `(?P<name>…)`):
 * kept as written, for RE2 alone (LinearRegExp), which refuses it in turn if it cannot.
 */
class WrittenRegExp implements RegexSource {
  constructor(
    readonly source: string,
    readonly flags: string,
  ) {}
}

/** Whether a value of a parsed expression is a regular expression literal. */
export const isRegexSource = (v: unknown): v is RegexSource => v instanceof RegExp || v instanceof WrittenRegExp;

/**
 * `parse()` (JSONata's parser) with each `/…/` literal it builds with `new RegExp` kept as written
 * when JavaScript's syntax refuses it: the literals are RE2 syntax (docs/filters-and-transforms.md),
 * whose inline flags a JavaScript RegExp refuses, and checking them is LinearRegExp's. The parser
 * is synchronous, so nothing else sees the constructor. A literal is built with flags (JSONata
 * adds `g`); its other RegExps, a function signature's, without: one of those JavaScript refuses
 * is a broken signature, refused as ever.
 */
export function parsingRe2<T>(parse: () => T): T {
  return withRegExp(function (source: string, flags?: string): RegexSource {
    try {
      return new NativeRegExp(source, flags);
    } catch (e) {
      if (e instanceof SyntaxError && flags !== undefined) return new WrittenRegExp(source, flags);
      throw e;
    }
  }, parse);
}

/** The runtime's own RegExp constructor, as this module found it (withRegExp replaces it for a while). */
export const NativeRegExp = globalThis.RegExp;

/**
 * `run()` with the global RegExp constructor replaced by `make` (a `function`: JSONata calls
 * `new RegExp(source, flags)`), restored however it ends. For JSONata's synchronous steps that build
 * RegExps of their own: its parser (parsingRe2), `$toMillis`' picture (jsonata-builtins.ts). `run` must be
 * synchronous, or other code would meet the replacement.
 */
export function withRegExp<T>(make: (source: string, flags?: string) => unknown, run: () => T): T {
  // Not a RegExpConstructor, so set as the property it is; one not set would leave the native one.
  if (!Reflect.set(globalThis, "RegExp", make)) throw new Error("the RegExp constructor could not be replaced");
  try {
    return run();
  } finally {
    globalThis.RegExp = NativeRegExp;
  }
}

/** RE2's flags for JavaScript's that JSONata (`i`, `m`) and a RegExp (`s`) give; `g` is how LinearRegExp matches anyway. */
function re2Flags(flags: string): number {
  return (flags.includes("i") ? RE2JS.CASE_INSENSITIVE : 0) | (flags.includes("m") ? RE2JS.MULTILINE : 0) | (flags.includes("s") ? RE2JS.DOTALL : 0);
}

/** What a match looks like to JSONata: the match and its groups, and where it starts. */
export type RegExpMatchLike = (string | undefined)[] & { index: number; input: string };

/**
 * What one evaluation's regular expressions may cost. Work is characters scanned times the
 * pattern's program weighed (programWeight): matching is linear in both, and `[^,]{1000}` keeps
 * a thousand threads alive at each character where `,` keeps one.
 */
interface RegexMeter {
  /** Before a run, the least it does (`work`: its fixed part and a character; all it may do where its reads cannot be followed): throws when that much is not left. */
  before(work: number): void;
  /** The most work the steps left can pay for: `before` lets no more start, and a run reading past it is stopped. */
  left(): number;
  /** Throws: a match was stopped as it read past the work left (`left`). */
  stopped(): never;
  /** After it, the work it did (the characters it went through). */
  after(work: number): void;
  /**
   * Before a pattern is compiled, the most instructions its program can hold (compiling costs in
   * proportion, and one literal can spell a million): throws when that is more than is left.
   */
  compiling(bound: number): void;
}

/**
 * A pattern as RE2 compiles it here: JavaScript's escapes (`\u00e9`) taken to RE2's, RE2's own syntax
 * as it is, and one that may begin the text held after an empty alternative that always matches
 * (NO_ONE_PASS); and the most RE2 instructions it compiles to, read from its text (regexSizeBound).
 */
export function re2Program(source: RegexSource): { pattern: string; bound: number } {
  return withoutOnePass(RE2JS.translateRegExp(source.source), source.flags);
}

/** The most RE2 instructions a regular expression compiles to, read from its text without compiling it. */
export const programBound = (source: RegexSource): number => re2Program(source).bound;

/**
 * How many times dearer a character of reading a match's groups is with `captures` groups than a
 * find: that run carries them all in each thread, copied at each instruction it is added at, where
 * re2js's find carries one group's whatever the pattern holds. Over `(?:.*(a)){K}z|a` in node, per
 * character × weight, that run against the find: 1.5–1.7 times with up to 10 groups, 3.2 with 20, 11
 * with 100, 42 with 400; so one more weight per TRANSFORM_LIMITS.regexCapturesPerWeight.
 */
export const captureFactor = (captures: number): number => 1 + Math.ceil(captures / TRANSFORM_LIMITS.regexCapturesPerWeight);

/**
 * A regular expression (as JSONata parses `/…/i` literals: a RegExp, or a WrittenRegExp) run on
 * RE2, whose matching is linear in the input: a transform's regex cannot backtrack catastrophically
 * and block the Worker. Its pattern goes through RE2JS.translateRegExp, which takes JavaScript's
 * escapes (`\u00e9`) to RE2's and leaves RE2's own syntax as it is. JSONata uses only `lastIndex`
 * and `exec`, which this keeps with RegExp's `g` semantics. The constructor throws for what RE2
 * cannot run in linear time (lookaround, backreferences) and for what is not RE2 syntax.
 */
export class LinearRegExp {
  lastIndex = 0;
  readonly #re: RE2JS;
  /** The work of a character read: `find`, its program weighed (programWeight); `groups`, that times captureFactor. */
  readonly #size: { find: number; groups: number };
  readonly #reads: ReadsCounted;
  readonly #meter: RegexMeter | undefined;

  constructor(source: RegexSource, meter?: RegexMeter, compiled?: CompiledRegExps) {
    let c = compiled?.get(source);
    if (!c) {
      const program = re2Program(source);
      // Charged before, not after: compiling is the cost.
      meter?.compiling(program.bound);
      const re = RE2JS.compile(program.pattern, re2Flags(source.flags));
      const weight = programWeight(re);
      c = { re, size: { find: weight, groups: weight * captureFactor(re.groupCount()) }, reads: countingReads(re) };
      compiled?.set(source, c);
    }
    this.#re = c.re;
    this.#size = c.size;
    this.#reads = c.reads;
    this.#meter = meter;
  }

  exec(input: string): RegExpMatchLike | null {
    const from = this.lastIndex;
    if (from > input.length) {
      this.lastIndex = 0;
      return null;
    }
    // Each run of RE2 costs besides its characters (its matcher, JSONata's match object around it).
    // A run goes through its program at one position at least, whatever it reads: over "" a
    // program of 4,000 instructions (`(?:a?){1000}(?:a?){1000}`) ran ~40 µs a call charged a run alone.
    const perRun = TRANSFORM_LIMITS.regexWorkPerRun;
    const { find, groups: grouped } = this.#size;
    const left = Math.max(input.length - from, 1);
    const m = this.#re.matcher(input);
    // re2js's find keeps one group's captures (the match's bounds), whatever the pattern holds.
    const found = this.#bounded(perRun, find, left, () => m.find(from));
    const reads = this.#reads.read();
    if (!found) {
      // A search that finds nothing passed over the whole rest: what it did not step through, indexOf
      // scanned (or it gave up, anchored); were its reads not noted, as if it stepped through it all.
      const stepped = reads ? Math.max(reads.read - reads.skipped, 1) : left;
      this.#charge(perRun, find, stepped, left - stepped);
      this.lastIndex = 0;
      return null;
    }
    // A match costs what RE2 read, which may be far past its end (countingReads), what it skipped
    // cheaper; were its reads not noted, as if it stepped through to the end. A literal alone is found
    // by indexOf alone, stepping through nothing: the text up to its match's end was skipped (at its
    // weight, the match of `a{199}` cost ~800 steps; 74 of them, 2–5 ms, were stopped).
    const read = Math.max(reads?.read ?? input.length - from, m.end() - from, 1);
    const skipped = !reads ? 0 : reads.read === 0 ? m.end() - from : reads.skipped;
    this.#charge(perRun, find, read - skipped, skipped);
    // Reading the groups runs RE2 again from the match's start, with all its captures: a second
    // match, bounded and charged as one, dearer by them. Anchored there, it reads no further than
    // the find did: its threads are those the find started there (or ones at the same instruction
    // and character, started before), and it stops where the find could.
    const groups: (string | undefined)[] = [m.group(0) ?? undefined];
    if (m.groupCount() > 0) {
      // Besides its characters, each group declared (TRANSFORM_LIMITS.regexWorkPerGroup), used or not.
      const perGroups = perRun + m.groupCount() * TRANSFORM_LIMITS.regexWorkPerGroup;
      this.#bounded(perGroups, grouped, Math.max(from + read - m.start(), 1), () => {
        for (let i = 1; i <= m.groupCount(); i++) groups.push(m.group(i) ?? undefined);
      });
      const again = this.#reads.read();
      const passed = again?.skipped ?? 0;
      this.#charge(perGroups, grouped, Math.max(again?.read ?? input.length - m.start(), m.end() - m.start(), 1) - passed, passed);
    }
    this.lastIndex = m.end();
    return Object.assign(groups, { index: m.start(), input });
  }

  /**
   * `match` (a run of RE2: `fixed` work besides its characters, each `weight`) within the work left:
   * started when that pays for its fixed part and one character, and stopped as it reads past what
   * it pays for (countingReads: a character stepped through costs `weight`, one skipped
   * regexWorkPerSkipped), the work it did charged. A run whose reads cannot be noted cannot
   * be stopped: not started unless the work left pays for `whole` characters, all it may read.
   * (A find of `/"id":\s*"([^"]+)"/` in a 256 KiB body reads a few characters, where the whole rest
   * of it, checked before it started, was ~70,000 steps: refused, for ~1 ms of matching.)
   */
  #bounded<T>(fixed: number, weight: number, whole: number, match: () => T): T {
    const meter = this.#meter;
    if (!meter) return this.#reads.counting(weight, Infinity, () => {}, match);
    meter.before(fixed + weight);
    try {
      return this.#reads.counting(weight, meter.left() - fixed, () => meter.before(fixed + whole * weight), match);
    } catch (e) {
      if (!(e instanceof ReadsPassed)) throw e;
      return stop(meter);
    }
  }

  /**
   * Charges a run's work: `fixed`, and characters `stepped` through at `weight` each and `skipped`
   * (passed over with indexOf) at regexWorkPerSkipped each, which may be more than its bound let it
   * read (a search that finds nothing is charged the rest it did not step through as skipped). Past
   * what is left, charged what is left, and stopped.
   */
  #charge(fixed: number, weight: number, stepped: number, skipped: number): void {
    const meter = this.#meter;
    if (!meter) return;
    const work = fixed + stepped * weight + skipped * TRANSFORM_LIMITS.regexWorkPerSkipped;
    if (work > meter.left()) stop(meter);
    meter.after(work);
  }
}

/** A run that read (or would be charged) past what is left: charged what was left, all of it, and stopped. */
function stop(meter: RegexMeter): never {
  meter.after(meter.left());
  return meter.stopped();
}

/** The longest literal prefix RE2 may look for with indexOf (countingReads), in UTF-16 code units. */
const MAX_SKIP_PREFIX = 200;

/** One evaluation's patterns compiled, by their literal. */
export type CompiledRegExps = Map<RegexSource, Compiled>;

/** A pattern compiled, and how far its matches read. */
interface Compiled {
  re: RE2JS;
  /** The work of a character read, by the find and by reading the groups. */
  size: { find: number; groups: number };
  reads: ReadsCounted;
}

interface ReadsCounted {
  /**
   * `match` (runs of RE2's engine), its reads counted afresh, and stopped (ReadsPassed, thrown from
   * the character read) once they would cost more than `work`: `weight` a character stepped through,
   * regexWorkPerSkipped one skipped. `unnoted` is called before a run whose reads cannot be noted
   * (not re2js 2.10's input), which nothing can then stop.
   */
  counting<T>(weight: number, work: number, unnoted: () => void, match: () => T): T;
  /**
   * Characters RE2 went through in the last `counting`: for each run of its engine, from where it
   * began to the furthest it looked (`read`), of them `skipped` where its `step` jumped past the
   * next character (indexOf found the next place a match can start). Undefined when its reads could
   * not be noted.
   */
  read(): { read: number; skipped: number } | undefined;
}

/**
 * A run of RE2 read past the characters it was allowed (ReadsCounted's `counting`). Thrown from
 * within re2js 2.10, which leaves nothing behind that the next run meets: its NFA's machine, or
 * bit-state engine's state, taken from a pool is not given back, and the next run makes another
 * (both are reset before each run anyway); the one-pass engine keeps its state in the run; the
 * matcher is made for one find. Its lazy DFA, which it runs only when asked for no groups, is never run here.
 */
class ReadsPassed extends Error {}

/**
 * What RE2 reads, counted as it reads it. Leftmost-first matching reads on while a branch it prefers
 * to the match found may still match: `/a*b|a/` over 250,000 `a` matches one character and reads them
 * all (~25 ms a match in workerd, 48,000 matches within the steps when charged by the match's end).
 * Each run of the engine (RE2's `executeEngine`: the find, then the groups) counts from where it
 * begins to the furthest character its input gave (noteReads), and is stopped there once that passes
 * what it may read. Each engine it runs with groups asked for (NFA, bit-state, one-pass) reads a
 * character only through the input's `step` of one rune (1 or 2 code units; and `context`, the two
 * either side of where it is), but for the platform's `indexOf` of the pattern's literal prefix: the
 * NFA with no thread alive and the next character not the prefix's first, the bit-state engine
 * before each start it tries; then its next `step` is where indexOf found it, far ahead. Those
 * characters are skipped (cheap: regexWorkPerSkipped), as are a failed indexOf's, the rest of the
 * input, after a search that finds nothing. A pattern that is a literal alone (without groups) is
 * found by indexOf alone: the text up to its match's end is skipped.
 */
function countingReads(re: RE2JS): ReadsCounted {
  const engine = re.re2();
  // Its prefilter looks for the literals a match needs with `indexOf` before any engine runs, through
  // the rest of the input at each match when one branch's is missing (`/aq[^,]*w|b/` over 250,000
  // characters: 35 s within the steps). Without it the engine reads, counted; it only refuses sooner.
  engine.prefilter = null;
  // V8's indexOf stays under ~6 ns a character for a needle of up to 250 code units, however it
  // nearly matches; past that, one whose end keeps matching (`ab` and 300 `a` over `a…`) takes
  // 0.1–1.2 µs a character (4,000 long), where skipping is charged regexWorkPerSkipped: a longer
  // literal prefix is not looked for, and its text is stepped through at the pattern's weight.
  if (engine.prefix.length > MAX_SKIP_PREFIX) {
    engine.prefix = "";
    engine.prefixComplete = false;
    engine.prefixRune = 0;
  }
  const execute = engine.executeEngine.bind(engine);
  const counted = { read: 0, skipped: 0 };
  let noted = true;
  let weight = 1;
  let allowed = Infinity;
  let unnoted = () => {};
  engine.executeEngine = (input: unknown, pos: number, anchor: number, ncap: number, lbState?: unknown) => {
    const notes = noteReads(input);
    noted &&= notes;
    if (!notes) unnoted();
    furthest = pos;
    furthestWidth = 0;
    skipped = 0;
    const spent = (counted.read - counted.skipped) * weight + counted.skipped * TRANSFORM_LIMITS.regexWorkPerSkipped;
    readsEnd = notes ? pos + (allowed - spent) / weight : Infinity;
    skipLets = 1 - TRANSFORM_LIMITS.regexWorkPerSkipped / weight;
    try {
      return execute(input, pos, anchor, ncap, lbState);
    } finally {
      counted.read += furthest - pos;
      counted.skipped += skipped;
      readsEnd = Infinity;
    }
  };
  return {
    counting: (w, work, check, match) => {
      counted.read = counted.skipped = 0;
      noted = true;
      weight = w;
      allowed = work;
      unnoted = check;
      try {
        return match();
      } finally {
        allowed = Infinity;
        unnoted = () => {};
      }
    },
    read: () => (noted ? { ...counted } : undefined),
  };
}

/**
 * The furthest position RE2's engine read in its run under way, the width of the rune there, the
 * characters it skipped (its `step` jumped past the next rune), and the position past which it is
 * stopped, further by `skipLets` for each character skipped (one costs regexWorkPerSkipped where one
 * stepped costs the run's weight). A run is synchronous: nothing else runs meanwhile.
 */
let furthest = 0;
let furthestWidth = 0;
let skipped = 0;
let readsEnd = Infinity;
let skipLets = 0;
const notedInputs = new WeakSet<object>();

/**
 * Has the class of re2js's input to its engine note each position read in `furthest`, once, on its
 * prototype (`step`, its one method that reads a character), and throw ReadsPassed past `readsEnd`:
 * a wrapper made for each run, or an object over each input, made matching 2-3 times slower in
 * node, this ~1.1-1.4 (compared with `readsEnd` only when `furthest` moves on). False when the
 * input is not what re2js 2.10 gives.
 */
function noteReads(input: unknown): boolean {
  const proto: unknown = isIndexable(input) ? Object.getPrototypeOf(input) : null;
  if (!isIndexable(proto)) return false;
  if (notedInputs.has(proto)) return true;
  const step = proto.step;
  if (typeof step !== "function") return false;
  proto.step = function (this: unknown, at: number): unknown {
    const r: unknown = step.call(this, at);
    if (at >= furthest) {
      const skip = at - furthest - furthestWidth;
      if (skip > 0) {
        skipped += skip;
        readsEnd += skip * skipLets;
      }
      furthest = at;
      // re2js's step gives a rune's width in its low 3 bits (0 past the end).
      furthestWidth = typeof r === "number" ? r & 7 : 1;
      if (at > readsEnd) throw new ReadsPassed("a regular expression's run read past the work it was allowed");
    }
    return r;
  };
  notedInputs.add(proto);
  return true;
}

/**
 * LinearRegExp as one evaluation's regex engine (what JSONata constructs for each regex literal it
 * evaluates, again at each evaluation): its work told to `meter`, and each pattern compiled once.
 */
export function meteredRegExp(meter: RegexMeter, compiled: CompiledRegExps = new Map()): new (source: RegexSource) => LinearRegExp {
  return class extends LinearRegExp {
    constructor(source: RegexSource) {
      super(source, meter, compiled);
    }
  };
}
