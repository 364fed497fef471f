/**
 * mulberry32: a small seeded generator, enough to pick from lists, so a failing seed
 * replays the same world (the grant models).
 */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T,>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const chance = (p: number) => next() < p;
  const subset = <T,>(xs: readonly T[], p: number): T[] => xs.filter(() => chance(p));
  return { next, int, pick, chance, subset };
}

export type Rng = ReturnType<typeof rng>;

/**
 * A generator of its own, seeded by one draw of `r`: what it draws later takes nothing from `r`,
 * so streams forked from one seed (a history's steps, its faults) do not shift one another.
 */
export function fork(r: Rng): Rng {
  return rng(r.int(2 ** 32));
}
