import type { Context } from "hono";
import { givenTime } from "../api/schemas/fields";
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

/** A time as typed (`2026-11-28T15:00`, `…:00.5`) ending in a zone: Z, an offset, or one whose + a URL query read as a space. */
const ZONED = /T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+\- ]\d{2}(?::?\d{2})?)$/i;

/**
 * A time filter's value as the API's query takes it. The datetime-local field sends no zone (the
 * page says UTC), so one without gets Z (and seconds, which the field leaves out at :00); one with
 * a zone (a copied link, `?since=…Z` or `%2B02:00`) is sent as given: a second Z made it refused.
 */
export function apiTime(value: string): string {
  if (ZONED.test(value)) return value;
  return `${value.length === 16 ? `${value}:00` : value}Z`;
}

const GIVEN_TIME = givenTime("A time filter's value.");

/**
 * A time filter's value in the datetime-local field's form (UTC, no zone), so a zoned one from a
 * link is shown rather than left blank (the field shows nothing it cannot read). One that is no
 * time is kept as typed, to mend beside the API's refusal.
 */
export function fieldTime(value: string): string {
  // Only one the API takes (a space for an offset's sign, a 30 February, is its 400 to say).
  const ms = ZONED.test(value) && GIVEN_TIME.safeParse(value).success ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) return value;
  const iso = new Date(ms).toISOString().slice(0, -1);
  // Seconds and milliseconds only when given: the field's own value leaves zeros out.
  return iso.endsWith(":00.000") ? iso.slice(0, 16) : iso.endsWith(".000") ? iso.slice(0, 19) : iso;
}
