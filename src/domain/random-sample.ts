// A uniform random sample, for work a run takes part of: what is left waits for the next runs, and
// a fresh draw each run leaves none of it out for good.

/** `n` of `items` drawn at random (all of them when they are fewer). */
export function drawn<T>(items: T[], n: number): T[] {
  const a = [...items];
  for (let i = 0; i < Math.min(n, a.length - 1); i++) {
    const j = i + Math.floor(Math.random() * (a.length - i));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, n);
}
