// The pages of a list: the API's page a dashboard page reads, the links to its others, and the page a button was pressed on.
import { HERE, type C } from "./respond";
import { queryParam } from "./query";
import { dashboardPath } from "./session";

/** The API's list path for a page of 100, from the dashboard's cursor parameter `name`, if any. */
export function pageOfList(c: C, path: string, name = "cursor"): string {
  const cursor = queryParam(c, name);
  return `${path}?${new URLSearchParams({ limit: "100", ...(cursor ? { cursor } : {}) })}`;
}

/** The page of the list at `path` that `query` places one on: its parameters `kept` (filters, cursor), none of the banners it was showing. */
export function listPageAt(path: string, query: URLSearchParams, kept: string[]): string {
  const place = [...query].filter(([name]) => kept.includes(name));
  return place.length > 0 ? `${path}?${new URLSearchParams(place)}` : path;
}

/**
 * Back to the page of the list at `path` that a button was pressed on (from the Referer, which
 * the policy sends to this origin): the list itself, or a page matching `also` (a delete's confirm
 * page, whose query carries it), with its parameters `kept`; else, or pressed elsewhere, its first page.
 * The Referer is read as dashboardPath reads it: it never leads off /dashboard.
 */
export function listPressedOn(c: C, path: string, kept: string[], also?: RegExp): string {
  const from = new URL(dashboardPath(c.req.header("referer") ?? "", c.req.url) ?? "/dashboard", HERE);
  return from.pathname === path || also?.test(from.pathname) ? listPageAt(path, from.searchParams, kept) : path;
}

/**
 * A list's links to its other pages: on a page opened with a cursor (`at`, its parameter `name`),
 * back to the first, keeping the filters (`query`); and on to the next (`cursor`, the API's
 * nextCursor), labelled `label`.
 */
export function PageLinks(props: { path: string; name: string; at: string | undefined; cursor: string | null; label: string; query?: Record<string, string> }) {
  if (!props.at && props.cursor === null) return null;
  const query = new URLSearchParams(props.query);
  return (
    <p class="actions">
      {props.at && <a href={query.size > 0 ? `${props.path}?${query}` : props.path}>← First page</a>}
      {props.cursor !== null && <a href={`${props.path}?${new URLSearchParams({ ...props.query, [props.name]: props.cursor })}`}>{props.label}</a>}
    </p>
  );
}
