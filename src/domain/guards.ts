// Type guards built from parts, one check per field of an object type: the compiler
// holds each check to its field's type, and a field added to the type without a
// check does not compile. For values that come from outside the code's own types
// (queue messages, JSON read back from D1).

import type { z } from "zod";

export type Guard<T> = (v: unknown) => v is T;

/**
 * What a zod schema accepts, as a guard. Only for a schema whose output is its input (no
 * defaults, no transforms): the guard says the value checked is a T, not what parsing makes of it.
 */
export function parses<T>(schema: z.ZodType<T, T>): Guard<T> {
  return (v): v is T => schema.safeParse(v).success;
}

export const isString: Guard<string> = (v): v is string => typeof v === "string";
export const isNumber: Guard<number> = (v): v is number => typeof v === "number";

/** A non-null object, arrays included: its fields read by name (an array's by index, as a string), absent ones undefined. */
export const isIndexable: Guard<Record<string, unknown>> = (v): v is Record<string, unknown> => typeof v === "object" && v !== null;

/** A non-null object that is not an array (a JSON object, or any other object). */
export const isRecord: Guard<Record<string, unknown>> = (v): v is Record<string, unknown> => isIndexable(v) && !Array.isArray(v);

/** Only what JSON.parse makes of an object: not a Date, Map or class instance. */
export const isPlainObject: Guard<Record<string, unknown>> = (v): v is Record<string, unknown> => {
  if (!isRecord(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

export function orNull<T>(is: Guard<T>): Guard<T | null> {
  return (v): v is T | null => v === null || is(v);
}

/** For an optional field: absent, or as `is` says. */
export function orUndefined<T>(is: Guard<T>): Guard<T | undefined> {
  return (v): v is T | undefined => v === undefined || is(v);
}

/** One of these values (a const list, so the guard is of their literal types). */
export function oneOf<const T extends readonly unknown[]>(values: T): Guard<T[number]> {
  return (v): v is T[number] => values.includes(v);
}

export function arrayOf<T>(is: Guard<T>): Guard<T[]> {
  return (v): v is T[] => Array.isArray(v) && v.every(is);
}

export const isStringArray = arrayOf(isString);

/** A field of a parsed document, its own only: `constructor` or `__proto__` names nothing in JSON. */
export function own(o: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

/** A record whose every value passes `is`, whatever its keys. */
export function recordOf<T>(is: Guard<T>): Guard<Record<string, T>> {
  return (v): v is Record<string, T> => isRecord(v) && Object.values(v).every(is);
}

/** An object whose every field passes its check (a field it lacks is checked as undefined). */
export function objectOf<T>(checks: { [K in keyof T]-?: Guard<T[K]> }): Guard<T> {
  return (v): v is T => {
    if (!isIndexable(v)) return false;
    for (const key in checks) if (!checks[key](Reflect.get(v, key))) return false;
    return true;
  };
}
