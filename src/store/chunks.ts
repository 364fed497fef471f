/** `items` in order, `size` to a list (the last shorter): what one statement or call takes of them. */
export function chunksOf<T>(items: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}
