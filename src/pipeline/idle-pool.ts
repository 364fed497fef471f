/**
 * How many idle parsed expressions an isolate keeps (jsonata-meter.ts), and their source text in
 * characters in all: eight of the longest (8 KiB), or those of a few dozen webhooks, each parsed tree
 * many times its text. One idle `staleMs` gives its room to another.
 */
export const IDLE_POOL = { items: 32, chars: 64 * 1024, staleMs: 60_000 } as const;

type Limits = { items: number; chars: number; staleMs: number };

interface Idle<T> {
  key: string;
  item: T;
  since: number;
}

/**
 * Things dear to make (a parsed expression) kept idle by their key (its text) between uses: each is
 * taken by one user alone and given back when that user is done, several of a key kept when several
 * users had one at once. One given back past the bounds takes the room of those idle `staleMs` (the
 * longest idle first), or else is dropped: dropping the longest idle instead would miss every time when
 * a batch's deliveries go through more than the bounds hold in one order.
 */
export class IdlePool<T> {
  /** Longest idle first. */
  private readonly idle: Idle<T>[] = [];
  private chars = 0;

  constructor(
    private readonly limits: Limits = IDLE_POOL,
    private readonly now: () => number = Date.now,
  ) {}

  /** An idle one of `key` (the last given back), now the caller's alone; undefined when none is. */
  take(key: string): T | undefined {
    const at = this.idle.findLastIndex((idle) => idle.key === key);
    const [taken] = at < 0 ? [] : this.idle.splice(at, 1);
    if (taken === undefined) return undefined;
    this.chars -= key.length;
    return taken.item;
  }

  /** `item`, made for `key` and no longer in use, kept for a later `take` if there is room. */
  give(key: string, item: T): void {
    if (key.length > this.limits.chars) return;
    const now = this.now();
    const fits = () => this.idle.length < this.limits.items && this.chars + key.length <= this.limits.chars;
    while (!fits()) {
      const oldest = this.idle[0];
      if (oldest === undefined || now - oldest.since < this.limits.staleMs) return;
      this.idle.shift();
      this.chars -= oldest.key.length;
    }
    this.idle.push({ key, item, since: now });
    this.chars += key.length;
  }

  /** None idle any more. */
  clear(): void {
    this.idle.length = 0;
    this.chars = 0;
  }

  /** How many are idle, and their keys' characters. */
  get size(): { items: number; chars: number } {
    return { items: this.idle.length, chars: this.chars };
  }
}
