import type { Context } from "hono";
import { repeatedQueryParam } from "../api/validate";

/**
 * A dashboard page's query parameter. One given more than once is refused as the API refuses it
 * (400 invalid_request, "eventType is given 2 times; give it once"), shown as the refusal page
 * (errorPage), after the page's scope as a page reads it after checking that: read as its first
 * value, a list would be answered as if filtered by that one alone.
 */
export function queryParam(c: Context, name: string): string | undefined {
  const given = c.req.queries(name) ?? [];
  if (given.length > 1) throw repeatedQueryParam(name, given.length);
  return given[0];
}
