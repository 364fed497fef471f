/**
 * How many idle parsed expressions an isolate keeps (jsonata-meter.ts), and their weight in all: the
 * objects their trees are made of, 55–125 bytes each as kept (a flat object constructor of 5.8 KB is
 * ~2,400; a 57-character nest of eight `??` ~3,000, as JSONata's parser copies the left operand of
 * each; the largest of 8 KB found, ~18,700), so 5–10 MB at most. One idle `staleMs` gives its room
 * to another.
 */
const IDLE_POOL = { items: 32, weight: 80_000, staleMs: 60_000 } as const;

type Limits = { items: number; weight: number; staleMs: number };

interface Idle<T> {
  key: string;
  item: T;
  weight: number;
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
  private weight = 0;

  constructor(
    private readonly limits: Limits = IDLE_POOL,
    private readonly now: () => number = Date.now,
  ) {}

  /** An idle one of `key` (the last given back), now the caller's alone; undefined when none is. */
  take(key: string): T | undefined {
    const at = this.idle.findLastIndex((idle) => idle.key === key);
    const [taken] = at < 0 ? [] : this.idle.splice(at, 1);
    if (taken === undefined) return undefined;
    this.weight -= taken.weight;
    return taken.item;
  }

  /** `item`, made for `key` and no longer in use, kept for a later `take` if there is room for its `weight`. */
  give(key: string, item: T, weight: number): void {
    if (weight > this.limits.weight) return;
    const now = this.now();
    const fits = () => this.idle.length < this.limits.items && this.weight + weight <= this.limits.weight;
    while (!fits()) {
      const oldest = this.idle[0];
      if (oldest === undefined || now - oldest.since < this.limits.staleMs) return;
      this.idle.shift();
      this.weight -= oldest.weight;
    }
    this.idle.push({ key, item, weight, since: now });
    this.weight += weight;
  }

  /** None idle any more. */
  clear(): void {
    this.idle.length = 0;
    this.weight = 0;
  }

  /** How many are idle, and their weight in all. */
  get size(): { items: number; weight: number } {
    return { items: this.idle.length, weight: this.weight };
  }
}
