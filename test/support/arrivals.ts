// What a recording downstream's arrival times say about a sender's pace.

/** The most arrivals within any window of `ms` (half-open), from arrival times. */
export function busiestWindow(times: number[], ms = 1000): number {
  const t = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while (t[i]! - t[j]! >= ms) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}
