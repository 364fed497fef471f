// The dashboard's pages and the scope each needs to be read: the menu (layout.tsx), where a
// session starts, and what a refusal names. No JSX here: banners.ts reads it too.
import { hasScope, type Principal } from "../domain/scopes";

/** The menu, in its order. */
export const NAV: { href: string; label: string; scope: Parameters<typeof hasScope>[1] }[] = [
  { href: "/dashboard", label: "Overview", scope: "events:read" },
  { href: "/dashboard/events", label: "Events", scope: "events:read" },
  { href: "/dashboard/webhooks", label: "Webhooks", scope: "webhooks:read" },
  { href: "/dashboard/sources", label: "Sources", scope: "sources:read" },
  { href: "/dashboard/alerts", label: "Alerts", scope: "admin" },
  { href: "/dashboard/dead-letters", label: "Dead letters", scope: "admin" },
  { href: "/dashboard/tokens", label: "Tokens", scope: "admin" },
];

/**
 * Where a principal's dashboard starts: the first page of the menu it may read (a token for
 * sources alone was sent to the webhooks, a 403 whose link led back to it). Null for a token
 * that may read none (write scopes alone, a data scope alone): the sign-in refuses it.
 */
export const homeOf = (p: Principal) => NAV.find((n) => hasScope(p, n.scope))?.href ?? null;

/** The scopes of which a token needs one to read a page of the dashboard, as a sentence's list. */
export const READ_SCOPES = [...new Set(NAV.map((n) => n.scope))].join(", ");

/** Where a refused page links back to: the first page of the list it belongs to. */
export const LISTS = {
  overview: { path: "/dashboard", label: "the overview" },
  events: { path: "/dashboard/events", label: "the events" },
  webhooks: { path: "/dashboard/webhooks", label: "the webhooks" },
  sources: { path: "/dashboard/sources", label: "the sources" },
  alerts: { path: "/dashboard/alerts", label: "the alerts" },
  tokens: { path: "/dashboard/tokens", label: "the tokens" },
  deadLetters: { path: "/dashboard/dead-letters", label: "the dead letters" },
};
