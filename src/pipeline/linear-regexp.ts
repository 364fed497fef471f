import { RE2JS } from "re2js";

/** What a match looks like to JSONata: the match and its groups, and where it starts. */
export type RegExpMatchLike = (string | undefined)[] & { index: number; input: string };

/**
 * A JavaScript regular expression (as JSONata parses `/…/i` literals) run on RE2, whose matching
 * is linear in the input: a transform's regex cannot backtrack catastrophically and block the
 * Worker. JSONata uses only `lastIndex` and `exec`, which this keeps with RegExp's `g` semantics.
 * The constructor throws for what RE2 cannot run in linear time (lookaround, backreferences).
 */
export class LinearRegExp {
  lastIndex = 0;
  readonly #re: RE2JS;

  constructor(source: RegExp) {
    this.#re = RE2JS.compile(RE2JS.translateRegExp(source));
  }

  exec(input: string): RegExpMatchLike | null {
    const m = this.#re.matcher(input);
    if (this.lastIndex > input.length || !m.find(this.lastIndex)) {
      this.lastIndex = 0;
      return null;
    }
    const groups: (string | undefined)[] = [];
    for (let i = 0; i <= m.groupCount(); i++) groups.push(m.group(i) ?? undefined);
    this.lastIndex = m.end();
    return Object.assign(groups, { index: m.start(), input });
  }
}
