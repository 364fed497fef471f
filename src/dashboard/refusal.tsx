import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { appErrorOf, STATUS_OF } from "../http/errors";
import { nameless, notAParameter } from "../http/unknown-param";
import { repeatedQueryParam } from "../api/validate";
import type { Principal } from "../domain/scopes";
import { fieldOf } from "./api-client";
import { unlistedIssues } from "../domain/errors";
import { isRecord } from "../domain/guards";
import type { Banners } from "./banners";
import type { FieldLabels } from "./field-labels";
import { Layout } from "./layout";
import { homeOf } from "./navigation";
import type { DashEnv } from "./session";

/**
 * A request the dashboard refuses before any page handles it (its body, or its address), as a
 * page of the dashboard: what was wrong, and a link back to where the principal's dashboard
 * starts. Without `principal` (answered before the session is looked up) it shows what the
 * sign-in page shows a signed-out visitor: no navigation and no sign-out, nothing that would
 * say whether the request held a session; its link leads to /dashboard, which signs in first.
 */
export function refusalPage(
  c: Context,
  refused: {
    status: ContentfulStatusCode;
    title: string;
    message: string;
    principal?: Principal;
    headers?: Record<string, string>;
    /** The menu entry it stands under (else its own path), and where its link leads (else where the dashboard starts). */
    nav?: string;
    back?: { href: string; label: string };
    /** What the redirect here carried (an action's error is shown once when it is the refusal's too). */
    banners?: Banners;
  },
): Response | Promise<Response> {
  // A session's principal may read some page (session.ts: one that may read none has no session).
  const back = refused.back ?? { href: (refused.principal && homeOf(refused.principal)) ?? "/dashboard", label: "Back to the dashboard" };
  return c.html(
    <Layout
      title={refused.title}
      path={refused.nav ?? c.req.path}
      principal={refused.principal}
      notice={refused.banners?.notice}
      warnings={refused.banners?.warnings}
      errors={[refused.banners?.error, refused.message]}
      // The banners a redirect back carried (bannersIn: none is {}), else the focus starts at the top.
      focusBanner={Object.keys(refused.banners ?? {}).length > 0}
    >
      <p>
        <a href={back.href}>{back.label}</a>
      </p>
    </Layout>,
    refused.status,
    refused.headers,
  );
}

/**
 * The dashboard's answer to an error no page handled (a cross-origin post, a 500, an AppError):
 * the API's status and message (a 500 logged as there), as a page; signed out (its principal not
 * known yet), the signed-out one.
 */
export function errorPage(err: Error, c: Context<DashEnv>): Response | Promise<Response> {
  const e = appErrorOf(err);
  const title = e.code.charAt(0).toUpperCase() + e.code.slice(1).replaceAll("_", " ");
  const headers: Record<string, string> = e.retryAfterSeconds === undefined ? {} : { "retry-after": String(e.retryAfterSeconds) };
  return refusalPage(c, { status: STATUS_OF[e.code], title, message: e.message, principal: c.get("principal"), headers });
}

/**
 * A page whose reading the API refused (a cursor it did not make, a webhook or event that is gone,
 * a scope the token lacks): the API's status and message, as a refusal page under the menu entry
 * of `list`, with a link back to that list's first page; for a 403, to where the dashboard starts.
 * Every page that reads through the API answers a refusal so.
 */
export function apiRefusal(
  c: Context<DashEnv>,
  title: string,
  list: { path: string; label: string },
  answer: { status: ContentfulStatusCode; error: string },
): Response | Promise<Response> {
  const back = answer.status === 403 ? undefined : { href: list.path, label: `Back to ${list.label}` };
  return refusalPage(c, { status: answer.status, title, message: answer.error, principal: c.get("principal"), nav: list.path, back, banners: c.get("banners") });
}

/** Parameters any page may carry: the banners a redirect signed (banners.ts). */
const BANNER_PARAMS = ["notice", "warning", "error", "sig"];

/**
 * A list page's refusal of a query parameter it does not take (a misspelt filter, `eventtype`), or of one it takes given twice, as
 * the API refuses one: 400 in its words, under the list's menu entry with a link to its first
 * page, rather than the whole list as if it were filtered; else null. `takes` are the parameters
 * its forms and links give (named in the message), `own` those the page's script adds. A name is
 * quoted only when it reads as one: a crafted link's sentence is not shown as the page's.
 */
export function unknownParamRefusal(
  c: Context<DashEnv>,
  title: string,
  list: { path: string; label: string },
  takes: readonly string[],
  own: readonly string[] = [],
): Response | Promise<Response> | null {
  const known = new Set([...takes, ...own, ...BANNER_PARAMS]);
  const params = new URL(c.req.url).searchParams;
  const name = [...params.keys()].find((n) => !known.has(n));
  if (name === undefined) return repeatedParamRefusal(c, title, list, [...takes, ...own]);
  const named = /^[A-Za-z0-9_.-]{1,64}$/.test(name) ? `${name}: ` : "";
  // One with no name (`?=x`), as the API says of it (api/openapi.ts, namedQuery).
  const refusal = name === "" ? nameless(notAParameter(takes)) : notAParameter(takes);
  return apiRefusal(c, title, list, { status: 400, error: `Invalid query: ${named}${refusal}.` });
}

/**
 * A parameter a page reads (`takes`) given more than once: the API's 400 in its words, under the
 * page's title with its list's way back (after the scope, as a page checks it first), rather than
 * queryParam's refusal, which knows no page; else null.
 */
export function repeatedParamRefusal(c: Context<DashEnv>, title: string, list: { path: string; label: string }, takes: readonly string[]): Response | Promise<Response> | null {
  const params = new URL(c.req.url).searchParams;
  const repeated = takes.find((n) => params.getAll(n).length > 1);
  return repeated === undefined ? null : apiRefusal(c, title, list, { status: 400, error: repeatedQueryParam(repeated, params.getAll(repeated).length).message });
}

/** A dashboard path no page serves (404), or not with this method (405, naming those it takes, as the API's). */
export function notFoundPage(c: Context<DashEnv>, allowed: string[]): Response | Promise<Response> {
  const principal = c.get("principal");
  if (allowed.length > 0) {
    const message = `${c.req.method} is not served here; use ${allowed.join(", ")}.`;
    return refusalPage(c, { status: 405, title: "Method not allowed", message, principal, headers: { allow: allowed.join(", ") } });
  }
  // The path is quoted only when it reads as one: a crafted link's sentence is not shown as the page's.
  const at = /^[A-Za-z0-9/_.~-]*$/.test(c.req.path) ? c.req.path : "this address";
  return refusalPage(c, { status: 404, title: "Not found", message: `No dashboard page at ${at}.`, principal });
}

/**
 * A form refused, shown again with its error and what was typed, so nothing typed is lost: with
 * the status the API refused it with (403 a scope or grant, 409 a conflict, …), as a page it
 * refused to read answers; 400 when the dashboard refused it before asking the API.
 */
export type Refusal<E> = { entered: E; error: string; status: ContentfulStatusCode; field?: string | undefined; more?: string[] | undefined };

/** The API's further issues a refused form shows, each in the form's words, before saying how many it leaves out. */
const MORE_ISSUES_SHOWN = 5;

/**
 * A form the API refused, as a Refusal: its status and message, the field the message names said by
 * its label in the form (`labels`), and `field`, the first field of the
 * form (a name in `entered`) that the API's issues name, which the form marks invalid and focuses.
 * `named`: the form's name of an API field it names otherwise, by the issue's whole path or its
 * field (a source's `secrets` is its field `secret`, never kept in `entered`; in "Replace secret",
 * `secrets.1` is its box `previous`).
 */
export const refusedBy = <E extends object>(
  entered: E,
  answer: { status: ContentfulStatusCode; error: string; paths?: string[] | undefined; details?: unknown },
  labels: FieldLabels,
  named: Record<string, string> = {},
): Refusal<E> => {
  // Past the issues the API lists, its message says how many it left out: counted with the rest here.
  const { message, unlisted } = unlistedIssues(answer.error);
  return {
    entered,
    error: labelled(message, answer.paths?.[0], labels),
    more: furtherIssues(answer.details, labels, unlisted),
    status: answer.status,
    field: answer.paths
      ?.map((path) => named[path] ?? named[fieldOf(path)] ?? fieldOf(path))
      .find((f) => Object.hasOwn(entered, f) || Object.values(named).includes(f)),
  };
};

/**
 * The API's refusal of a form's field (`Invalid body: eventTypes.0: …`) in the form's words: its
 * label, and where in it (`Event types, entry 1: …`); the label alone for a path with one of its own
 * (a source's `secrets.0` is its "New secret" box). Another message is kept as the API said it.
 */
function labelled(error: string, path: string | undefined, labels: FieldLabels): string {
  const prefix = /^Invalid (?:body|query): /.exec(error)?.[0];
  if (path === undefined || prefix === undefined || !error.startsWith(`${prefix}${path}: `)) return error;
  const where = placeOf(path, labels);
  return where === undefined ? error : `${where}: ${error.slice(prefix.length + path.length + 2)}`;
}

/** Where in the form a path is (`eventTypes.0` → "Event types, entry 1"), or undefined when no label says it. */
function placeOf(path: string, labels: FieldLabels): string | undefined {
  const [root = "", ...rest] = path.split(".");
  const own = labels[path];
  const label = own ?? labels[root];
  if (label === undefined) return undefined;
  return own !== undefined || rest.length === 0 ? label : `${label}, ${rest.map((part, i) => (i === 0 && /^\d+$/.test(part) ? `entry ${Number(part) + 1}` : part)).join(".")}`;
}

/**
 * The issues of a refusal after its first (which its message says), each as "place: message", so
 * that a form with several mistakes shows them all at once; MORE_ISSUES_SHOWN, then how many more.
 */
function furtherIssues(details: unknown, labels: FieldLabels, unlisted: number): string[] | undefined {
  const issues = (isRecord(details) && Array.isArray(details.issues) ? details.issues : []).slice(1).flatMap((i: unknown) =>
    isRecord(i) && typeof i.message === "string" ? [`${(typeof i.path === "string" && i.path !== "" && (placeOf(i.path, labels) ?? i.path)) || "Request"}: ${i.message}${/[.?!]$/.test(i.message) ? "" : "."}`] : [],
  );
  if (issues.length === 0) return undefined;
  const left = issues.length - MORE_ISSUES_SHOWN + unlisted;
  return left > 0 ? [...issues.slice(0, MORE_ISSUES_SHOWN), `And ${left} more issue${left === 1 ? "" : "s"}.`] : issues;
}
