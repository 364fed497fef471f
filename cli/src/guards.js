// Type guards for what the CLI reads from outside (its files, wrangler's output, the API's socket).

/** A JSON object, its fields read by name. @param {unknown} v @returns {v is Record<string, unknown>} */
export const isObject = (v) => typeof v === "object" && v !== null && !Array.isArray(v);

/** A store position: what a listener saves and resumes after. @param {unknown} v @returns {v is number} */
export const isPosition = (v) => Number.isSafeInteger(v) && Number(v) >= 0;
