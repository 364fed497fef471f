// Type guards built from parts, one check per field of an object type: the compiler
// holds each check to its field's type, and a field added to the type without a
// check does not compile. For values that come from outside the code's own types
// (queue messages, JSON read back from D1).

export type Guard<T> = (v: unknown) => v is T;

export const isString: Guard<string> = (v): v is string => typeof v === "string";
export const isNumber: Guard<number> = (v): v is number => typeof v === "number";

export function orNull<T>(is: Guard<T>): Guard<T | null> {
  return (v): v is T | null => v === null || is(v);
}

/** One of these values (a const list, so the guard is of their literal types). */
export function oneOf<const T extends readonly unknown[]>(values: T): Guard<T[number]> {
  return (v): v is T[number] => values.includes(v);
}

export function arrayOf<T>(is: Guard<T>): Guard<T[]> {
  return (v): v is T[] => Array.isArray(v) && v.every(is);
}

/** An object whose every field passes its check (a field it lacks is checked as undefined). */
export function objectOf<T>(checks: { [K in keyof T]-?: Guard<T[K]> }): Guard<T> {
  return (v): v is T => {
    if (typeof v !== "object" || v === null) return false;
    for (const key in checks) if (!checks[key](Reflect.get(v, key))) return false;
    return true;
  };
}
