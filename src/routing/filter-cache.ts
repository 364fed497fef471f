import { regexInstructions, FILTER_LIMITS, type Filter } from "./filter";

/** A stored filter compiled, or why it no longer validates. */
export type CompiledFilter = Filter | string;

/**
 * How many compiled filters an isolate keeps, their `$regex` instructions (about 80 bytes each once
 * compiled) and their stored JSON text in characters (what a filter without `$regex` weighs). Twice
 * what the webhooks may hold together (FILTER_LIMITS.accountRegexProgram: some 20 MB compiled), so
 * every filter routing reads stays compiled, with room for the old text of a changed one until it goes
 * stale (`staleMs`).
 */
const FILTER_CACHE = {
  entries: 16 * 1024,
  instructions: 2 * FILTER_LIMITS.accountRegexProgram,
  chars: 32 * 1024 * 1024,
  staleMs: 10 * 60_000,
} as const;

type Limits = { entries: number; instructions: number; chars: number; staleMs: number };

interface Held {
  filter: CompiledFilter;
  instructions: number;
  usedAt: number;
}

/**
 * Compiled filters by their stored JSON text. Routing reads the webhooks afresh for each batch, so a
 * cache keyed by the row's object served no second batch. One that is held stays while it is used: a
 * new one past a bound takes the room of those unused for `staleMs` (least recently used first), or
 * else is compiled without being kept. Evicting the least recently used instead thrashed when the
 * filters of a batch outweighed the bounds (routing visits them in one order each batch): every
 * lookup missed, and every batch compiled every filter (17–20 s with 259 filters of 8 patterns).
 */
export class FilterCache {
  private readonly entries = new Map<string, Held>();
  private instructions = 0;
  private chars = 0;
  /** Filters compiled without being kept (past a bound, nothing stale): what an operator would look for. */
  private unkept = 0;

  constructor(
    private readonly limits: Limits = FILTER_CACHE,
    private readonly now: () => number = Date.now,
  ) {}

  /** The filter of `text`, compiled by `compile` unless held. */
  get(text: string, compile: () => CompiledFilter): CompiledFilter {
    const now = this.now();
    const held = this.entries.get(text);
    if (held !== undefined) {
      // Most recently used last: a Map iterates in insertion order.
      this.entries.delete(text);
      held.usedAt = now;
      this.entries.set(text, held);
      return held.filter;
    }
    const filter = compile();
    const instructions = typeof filter === "string" ? 0 : regexInstructions(filter);
    if (this.makeRoom(instructions, text.length, now)) {
      this.entries.set(text, { filter, instructions, usedAt: now });
      this.instructions += instructions;
      this.chars += text.length;
    } else this.unkept++;
    return filter;
  }

  /** Whether one more of this weight fits, once the stale ones it needs gone are (oldest first). */
  private makeRoom(instructions: number, chars: number, now: number): boolean {
    const fits = () =>
      this.entries.size + 1 <= this.limits.entries &&
      this.instructions + instructions <= this.limits.instructions &&
      this.chars + chars <= this.limits.chars;
    if (fits()) return true;
    if (instructions > this.limits.instructions || chars > this.limits.chars) return false;
    for (const [k, old] of this.entries) {
      if (now - old.usedAt < this.limits.staleMs) return false;
      this.entries.delete(k);
      this.instructions -= old.instructions;
      this.chars -= k.length;
      if (fits()) return true;
    }
    return fits();
  }

  /** The filters held, their `$regex` instructions, and how many were compiled without being kept. */
  /** Lets go of every filter held: each is compiled again when next used. */
  clear(): void {
    this.entries.clear();
    this.instructions = 0;
    this.chars = 0;
  }

  get usage(): { entries: number; instructions: number; unkept: number } {
    return { entries: this.entries.size, instructions: this.instructions, unkept: this.unkept };
  }
}
