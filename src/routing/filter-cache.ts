import { regexWeight, type Filter } from "./filter";

/** A stored filter compiled, or why it no longer validates. */
export type CompiledFilter = Filter | string;

/**
 * How many compiled filters an isolate keeps, and how many `$regex` instructions among them (about
 * 80 bytes each once compiled: 256 Ki is some 20 MB, 32 filters of 8 patterns at
 * FILTER_LIMITS.regexProgram, and as many filters as `entries` of ordinary patterns).
 */
export const FILTER_CACHE = { entries: 256, instructions: 256 * 1024 } as const;

/**
 * Compiled filters by their stored JSON text, the least recently used evicted first past either
 * bound (the one just compiled is kept, whatever it weighs). Routing reads the webhooks afresh for
 * each batch, so a cache keyed by the row's object served no second batch: each compiled every
 * filter again, and a filter stored before the program bound took up to 1.6 s.
 */
export class FilterCache {
  private readonly entries = new Map<string, CompiledFilter>();
  private instructions = 0;

  constructor(private readonly limits: { entries: number; instructions: number } = FILTER_CACHE) {}

  /** The filter of `text`, compiled by `compile` unless held. */
  get(text: string, compile: () => CompiledFilter): CompiledFilter {
    const held = this.entries.get(text);
    if (held !== undefined) {
      // Most recently used last: a Map iterates in insertion order.
      this.entries.delete(text);
      this.entries.set(text, held);
      return held;
    }
    const f = compile();
    this.entries.set(text, f);
    this.instructions += weight(f);
    for (const [k, old] of this.entries) {
      if (k === text || (this.entries.size <= this.limits.entries && this.instructions <= this.limits.instructions)) break;
      this.entries.delete(k);
      this.instructions -= weight(old);
    }
    return f;
  }

  /** The filters held and their `$regex` instructions. */
  get usage(): { entries: number; instructions: number } {
    return { entries: this.entries.size, instructions: this.instructions };
  }
}

const weight = (f: CompiledFilter): number => (typeof f === "string" ? 0 : regexWeight(f));
