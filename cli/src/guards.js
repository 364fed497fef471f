// Type guards for what the CLI reads from outside (its files, wrangler's output, the API's socket).

/** A JSON object, its fields read by name. @param {unknown} v @returns {v is Record<string, unknown>} */
export const isObject = (v) => typeof v === "object" && v !== null && !Array.isArray(v);

/** A store position: what a listener saves and resumes after. @param {unknown} v @returns {v is number} */
export const isPosition = (v) => Number.isSafeInteger(v) && Number(v) >= 0;

/**
 * An answer's member when it is of the type `is` checks, else undefined (shown —): an older deployment's
 * answer may lack it, and a default in its place (enabled, 0, catch-all) would say what the answer did not.
 * @template T @param {unknown} v @param {(v: unknown) => v is T} is @returns {T | undefined}
 */
export const memberOf = (v, is) => (is(v) ? v : undefined);
/** @param {unknown} v @returns {v is string} */
export const isString = (v) => typeof v === "string";
/** @param {unknown} v @returns {v is number} */
export const isNumber = (v) => typeof v === "number";
/** @param {unknown} v @returns {v is boolean} */
export const isBoolean = (v) => typeof v === "boolean";
