/**
 * The first of the items of each key, in order: a batch may carry the same event twice (a queue
 * redelivery), and a statement must not take a repeat twice (the counts would).
 */
export function distinctBy<T>(items: T[], key: (t: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((t) => !seen.has(key(t)) && seen.add(key(t)) !== undefined);
}
