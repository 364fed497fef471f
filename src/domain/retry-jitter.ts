// Where a retry's full jitter is drawn. An object of its own, so a test can fix the retry
// draw (vi.spyOn(retryJitter, "draw")) and leave Math.random to everything else that uses it.

/** The source of retry jitter: a uniform draw in [0, 1). */
export const retryJitter = {
  draw(): number {
    return Math.random();
  },
};
