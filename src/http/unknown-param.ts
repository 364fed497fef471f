/**
 * What a list says of a query parameter it does not take (a misspelt filter): the API's words
 * (api/schemas/fields.ts, strictQuery) and the dashboard's list pages' (dashboard/refusal.tsx), one sentence.
 */
export const notAParameter = (takes: readonly string[]) => `not a parameter of this list, which takes ${takes.join(", ")}`;

/**
 * Whether a URL's query holds a parameter with no name (`?=x`, `&=`): the router reads none there
 * (Hono skips an empty name), so a check of the parameters it read never met one, which was then
 * ignored, a write's included. Read from the raw query string; an empty part (`?&`) names nothing.
 */
export const hasNamelessParam = (url: string) => {
  const start = url.indexOf("?");
  return start !== -1 && url.slice(start + 1).split("&").some((part) => part.startsWith("="));
};

/** What a list or operation says of a parameter with no name: its refusal of any it does not take, saying which. */
export const nameless = (refusal: string) => `${refusal} (a parameter with no name, =…)`;
