import { RE2JS } from "re2js";

/** What a match looks like to JSONata: the match and its groups, and where it starts. */
export type RegExpMatchLike = (string | undefined)[] & { index: number; input: string };

/**
 * What one evaluation's regular expressions may cost. Work is characters scanned times the
 * pattern's program size (RE2 instructions): matching is linear in both, and `[^,]{1000}` keeps
 * a thousand threads alive at each character where `,` keeps one.
 */
interface RegexMeter {
  /** Before a match that can do at most `work`: throws when that much is not left. */
  before(work: number): void;
  /** After it, the work it did (the characters it went through). */
  after(work: number): void;
  /** A pattern compiled, of `size` instructions (compiling costs in proportion). */
  compiled(size: number): void;
}

/**
 * A JavaScript regular expression (as JSONata parses `/…/i` literals) run on RE2, whose matching
 * is linear in the input: a transform's regex cannot backtrack catastrophically and block the
 * Worker. JSONata uses only `lastIndex` and `exec`, which this keeps with RegExp's `g` semantics.
 * The constructor throws for what RE2 cannot run in linear time (lookaround, backreferences).
 */
export class LinearRegExp {
  lastIndex = 0;
  readonly #re: RE2JS;
  readonly #meter: RegexMeter | undefined;

  constructor(source: RegExp, meter?: RegexMeter, compiled?: Map<RegExp, RE2JS>) {
    let re = compiled?.get(source);
    if (!re) {
      re = RE2JS.compile(RE2JS.translateRegExp(source));
      meter?.compiled(re.programSize());
      compiled?.set(source, re);
    }
    this.#re = re;
    this.#meter = meter;
  }

  exec(input: string): RegExpMatchLike | null {
    const from = this.lastIndex;
    if (from > input.length) {
      this.lastIndex = 0;
      return null;
    }
    const size = this.#re.programSize();
    this.#meter?.before((input.length - from) * size);
    const m = this.#re.matcher(input);
    const found = m.find(from);
    this.#meter?.after(((found ? m.end() : input.length) - from) * size);
    if (!found) {
      this.lastIndex = 0;
      return null;
    }
    const groups: (string | undefined)[] = [];
    for (let i = 0; i <= m.groupCount(); i++) groups.push(m.group(i) ?? undefined);
    this.lastIndex = m.end();
    return Object.assign(groups, { index: m.start(), input });
  }
}

/**
 * LinearRegExp as one evaluation's regex engine (what JSONata constructs for each regex literal it
 * evaluates, again at each evaluation): its work told to `meter`, and each pattern compiled once.
 */
export function meteredRegExp(meter: RegexMeter): new (source: RegExp) => LinearRegExp {
  const compiled = new Map<RegExp, RE2JS>();
  return class extends LinearRegExp {
    constructor(source: RegExp) {
      super(source, meter, compiled);
    }
  };
}
