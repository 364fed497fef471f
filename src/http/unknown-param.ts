/**
 * What a list says of a query parameter it does not take (a misspelt filter): the API's words
 * (api/schemas.ts, strictQuery) and the dashboard's list pages' (dashboard/refusal.tsx), one sentence.
 */
export const notAParameter = (takes: readonly string[]) => `not a parameter of this list, which takes ${takes.join(", ")}`;
