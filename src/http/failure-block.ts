// Failures counted against a key (a client address; a source and an address). A Rate
// Limiting binding counts on every limit() call and cannot be asked without counting, so
// it is called on failures only; once it says a key is over, the key is remembered here,
// in this isolate, until the binding's period ends (another isolate learns it at that
// key's next failure).

const MAX_BLOCKED = 10_000;

export class FailureBlock {
  /** Key → end of its block. Every block lasts as long, so insertion order is expiry order. */
  readonly #until = new Map<string, number>();

  /** `periodMs`: the binding's period (wrangler.toml, [[ratelimits]]). */
  constructor(private readonly periodMs: number) {}

  /** Seconds `key` stays blocked, 0 when it is not. */
  blockedFor(key: string, now: number): number {
    const until = this.#until.get(key);
    if (until === undefined) return 0;
    if (until <= now) {
      this.#until.delete(key);
      return 0;
    }
    return Math.ceil((until - now) / 1000);
  }

  /** Counts a failure against `key`; past the limit it is blocked for the period. Seconds it stays blocked, 0 when it is not. */
  async countFailure(limiter: RateLimit | undefined, key: string, now: number): Promise<number> {
    const outcome = await limiter?.limit({ key }).catch(() => ({ success: true }));
    if (outcome && !outcome.success) this.#block(key, now);
    return this.blockedFor(key, now);
  }

  #block(key: string, now: number): void {
    // Expired blocks go first; when every one is current and the map is full, the oldest.
    for (const [k, until] of this.#until) {
      if (until > now && this.#until.size < MAX_BLOCKED) break;
      this.#until.delete(k);
    }
    this.#until.delete(key);
    this.#until.set(key, now + this.periodMs);
  }
}
