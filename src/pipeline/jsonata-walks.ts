/**
 * What a wildcard (`*`) or descendant (`**`) step goes through, charged before JSONata walks it:
 * JSONata does it all within the one evaluation step, and what the step gives back is not what it
 * went through (an empty array is walked, never given; a wildcard copies what it gathered at each
 * key holding an array). Each walk mirrors JSONata's own (evaluateWildcard, recurseDescendants) and
 * charges each value before going through it, so a hostile input is stopped early, not walked whole first.
 */
import { isIndexable } from "../domain/guards";
import { fractionally, isFunction } from "./jsonata-builtins";
import { TRANSFORM_LIMITS } from "./transform-limits";

const PER_VALUE = 1 / TRANSFORM_LIMITS.walkedValuesPerStep;
/**
 * An object's key costs its listing besides its value: listing a big object's keys and looking each
 * up took 250–650 ns a key in Node (28,000 keys of `[]`, `0` or `{}`: ~18 ms a wildcard), whatever it held.
 */
const PER_KEY = PER_VALUE + 1 / TRANSFORM_LIMITS.keysPerStep;

/**
 * A wildcard step: each key of its input, each value at every depth of an array at a key (flattened),
 * and for each such array the copy of all gathered before it with its items appended (JSONata's
 * append: 20,000 keys of `[0]` took 3.8 s in one step, charged 10,409 for what it gave).
 */
export function chargeWildcard(input: unknown, charge: (steps: number) => void): void {
  const owe = fractionally(charge);
  // (JSONata takes the value out of the sequence it wraps a whole array input in.)
  const walked = Array.isArray(input) && Reflect.get(input, "outerWrapper") === true && input.length > 0 ? input[0] : input;
  if (!isIndexable(walked) || isFunction(walked)) return;
  const keys = Object.keys(walked);
  owe(keys.length * PER_KEY);
  let gathered = 0;
  for (const key of keys) {
    const value = walked[key];
    if (!Array.isArray(value)) {
      gathered += 1;
      continue;
    }
    const flat = countFlattened(value, owe);
    const copied = gathered + flat;
    owe(copied / (copied > TRANSFORM_LIMITS.largeCopyItems ? TRANSFORM_LIMITS.largeCopiesPerStep : TRANSFORM_LIMITS.wildcardCopiesPerStep));
    gathered += flat;
  }
}

/** The values JSONata's flatten gives of an array: charged each item, at every depth, before going through it. */
function countFlattened(array: unknown[], owe: (part: number) => void): number {
  let flat = 0;
  const pending = [array];
  for (let a = pending.pop(); a !== undefined; a = pending.pop()) {
    owe(a.length * PER_VALUE);
    for (const item of a) {
      if (Array.isArray(item)) pending.push(item);
      else flat += 1;
    }
  }
  return flat;
}

/**
 * A descendant step: every value at every depth of its input, arrays (empty ones too) and objects
 * included, each charged before its own are gone through (86,000 empty arrays walked 2,000 times
 * ran 4 s, charged as the 3 values they gave).
 */
export function chargeDescendants(input: unknown, charge: (steps: number) => void): void {
  if (input === undefined) return;
  const owe = fractionally(charge);
  owe(PER_VALUE);
  const pending: unknown[] = [input];
  while (pending.length > 0) {
    const v = pending.pop();
    if (Array.isArray(v)) {
      owe(v.length * PER_VALUE);
      for (const item of v) pending.push(item);
    } else if (isIndexable(v) && !isFunction(v)) {
      const keys = Object.keys(v);
      owe(keys.length * PER_KEY);
      for (const key of keys) pending.push(v[key]);
    }
  }
}
