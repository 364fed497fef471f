// What the dashboard's pages and actions answer with: a page, a redirect carrying what happened, and what the session may do.
import type { Context } from "hono";
import type { Child } from "hono/jsx";
import { z } from "../domain/zod";
import { hasScope, lacksScope, type Scope } from "../domain/scopes";
import { accessOf, isLimited } from "../domain/access";
import { bannerParams, type Banners } from "./banners";
import { Layout } from "./layout";
import { apiRefusal, repeatedParamRefusal, type Refusal } from "./refusal";
import type { DashEnv } from "./session";

/** An API answer whose body is not read. */
export const Ignored = z.unknown();

export type C = Context<DashEnv>;

/** Relative paths resolve against this, so what leaves it (`//host`, `/\host`) is seen as leaving. */
export const HERE = new URL("https://dashboard.invalid/dashboard/");

/**
 * Where a redirect to `path` may go: resolved first, it must stay under /dashboard on this origin
 * (else it is /dashboard), so an id decoded from the URL (`..%2F..%2F%2Fevil.com`) can never make it leave.
 */
function inDashboard(path: string): URL {
  const resolved = new URL(path, HERE);
  return resolved.origin === HERE.origin && /^\/dashboard(\/|$)/.test(resolved.pathname) ? resolved : new URL("/dashboard", HERE);
}

/** Redirect after an action, carrying what happened to show it on the next page (inDashboard). */
export async function redirectWith(c: C, path: string, banners: Banners) {
  const url = inDashboard(path);
  for (const [name, value] of await bannerParams(c.get("session"), banners)) url.searchParams.append(name, value);
  return c.redirect(`${url.pathname}${url.search}`, 303);
}

/** Redirect carrying nothing to show (a form's result at an address of its own), kept in the dashboard as redirectWith's (inDashboard). */
export function redirectTo(c: C, path: string) {
  const url = inDashboard(path);
  return c.redirect(`${url.pathname}${url.search}`, 303);
}

/** Redirect after an action: its `notice` (and the API's `warnings` about what it saved), or the API's error. */
export function back(c: C, path: string, answer: { ok: true; error: null } | { ok: false; error: string }, notice: string, warnings: ApiWarning[] = []) {
  return redirectWith(c, path, answer.ok ? { notice, ...warningBanners(warnings) } : { error: answer.error });
}

type ApiWarning = { message: string };
/**
 * At most this many of a save's warnings travel in the redirect: each may be a few hundred
 * characters, a webhook may name 100 event types, and the URL has to stay short enough to be sent.
 */
const MAX_WARNINGS_SHOWN = 10;

/** The banners of the API's warnings about what it saved: each one's message, up to MAX_WARNINGS_SHOWN, then how many more. */
export function warningBanners(warnings: ApiWarning[] | undefined): Pick<Banners, "warnings"> {
  if (!warnings?.length) return {};
  const shown = warnings.slice(0, MAX_WARNINGS_SHOWN).map((w) => w.message);
  const more = warnings.length - shown.length;
  return { warnings: more > 0 ? [...shown, `And ${more} more warning${more === 1 ? "" : "s"} like these.`] : shown };
}

/**
 * A page; a form's again after a refusal, with the refusal's status (the API's, or 400 for what the dashboard itself refused) and error,
 * which takes the focus unless the form marked the field it names (its `field`); else what a redirect back carried takes it. `title`: its title and heading, or each of its own (Layout).
 */
export function page(c: C, title: string | { title: string; heading: string }, path: string, body: Child, refused?: Omit<Refusal<unknown>, "entered">) {
  const banners = c.get("banners");
  const named = typeof title === "string" ? { title } : title;
  return c.html(
    <Layout
      {...named}
      path={path}
      principal={c.get("principal")}
      notice={banners.notice}
      warnings={banners.warnings}
      errors={[refused?.error ?? banners.error, ...(refused?.more ?? [])]}
      focusBanner={refused?.field === undefined}
    >
      {body}
    </Layout>,
    refused?.status ?? 200,
  );
}

export const can = (c: C, scope: Parameters<typeof hasScope>[1]) => hasScope(c.get("principal"), scope);
/** Whether the session's token is limited to some organizations or locations: the API lists it only theirs. */
export const limited = (c: C) => isLimited(c.get("principal"));
/**
 * Whether the session sees only some of the events (nothingSeen): a limited grant, a data scope it
 * lacks, or any token but the admin (alerts are the admin's). "No events yet." would deny those.
 */
export const narrowedEvents = (c: C) => accessOf(c.get("principal")) !== null;
/** The API's 403 to a session without `scope`, as the page calling it answers it; else null. */
export const scopeRefusal = (c: C, scope: Scope, title: string, list: { path: string; label: string }) =>
  can(c, scope) ? null : apiRefusal(c, title, list, { status: 403, error: lacksScope(scope) });

/** A page's refusal before it reads anything: the scope it needs, then a parameter it reads (`takes`) given twice; else null. */
export const pageRefusal = (c: C, scope: Scope, title: string, list: { path: string; label: string }, takes: readonly string[]) =>
  scopeRefusal(c, scope, title, list) ?? repeatedParamRefusal(c, title, list, takes);
