import { Hono, type Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Child } from "hono/jsx";
import { AppError, notFound } from "../domain/errors";
import { sha256Hex } from "../domain/crypto";
import { keepReveal, takeReveal, type Reveal } from "../store/sessions";
import { randomSecret } from "../domain/tokens";
import { secureHeaders } from "hono/secure-headers";
import { trimTrailingSlash } from "hono/trailing-slash";
import { z } from "../domain/zod";
import { authAttempt, principalFor } from "../api/auth";
import { limitBody } from "../http/body";
import { allowedMethods, servedMethods } from "../http/methods";
import {
  AlertSchema,
  NotificationEndpointCreated,
  NotificationEndpointSchema,
  EventSchema,
  EventSummarySchema,
  page as pageOf,
  ReplayAnswer,
  RejectionsSchema,
  RetryAnswer,
  SourceSchema,
  StatsSchema,
  TokenCreated,
  TokenSchema,
  WebhookChanged,
  WebhookCreated,
  webhookFormNumbers,
  WebhookSchema,
  WebhookTestAnswer,
} from "../api/schemas";
import { isRecord } from "../domain/guards";
import { settings } from "../domain/settings";
import { isEventId } from "../domain/ids";
import { hasScope, lacksScope, type Scope } from "../domain/scopes";
import { isLimited, missingDataScope } from "../domain/access";
import { CSS, JS } from "./assets";
import { bannerParams, bannersIn, SIGN_IN_MESSAGES, type Banners } from "./banners";
import { sealForSession, signedForSession, signForSession, unsealForSession } from "./session-signature";
import { textOf, textsOf, type Form } from "./form";
import { ConfirmPage, Layout, shortened } from "./layout";
import { homeOf } from "./navigation";
import { apiRefusal, errorPage, notFoundPage, refusalPage, refusedBy, unknownParamRefusal, type Refusal } from "./refusal";
import { EventList, EventPage, FILTERS, LiveUpdate } from "./pages/events";
import { hasWebhookSubject } from "../domain/alerts";
import { AlertsPage, type EndpointEntered } from "./pages/alerts";
import { Login } from "./pages/login";
import { Overview } from "./pages/overview";
import { SourceList, type SourceEntered } from "./pages/sources";
import { SecretOnce, WebhookList, WebhookPage, WebhookTestForm, WebhookTestResult, type Entered, type WebhookCounts } from "./pages/webhooks";
import { DeadLetterList } from "./pages/dead-letters";
import { TokenList, type TokenEntered } from "./pages/tokens";
import { DeadLetterSchema } from "../api/routes/dead-letters";
import { ASK } from "./confirm";
import { callApi } from "./api-client";
import { dashboardPath, endSession, requireSession, startSession, tooManyFailures, type DashEnv } from "./session";

// The answers the dashboard reads, as the API documents them.
const EventList_ = pageOf(EventSummarySchema, "EventPage");
const WebhookList_ = pageOf(WebhookSchema, "WebhookPage");
const SourceList_ = pageOf(SourceSchema, "SourceList");
const AlertList_ = pageOf(AlertSchema, "AlertPage");
const EndpointList_ = pageOf(NotificationEndpointSchema, "NotificationEndpointPage");
const TokenList_ = pageOf(TokenSchema, "TokenList");
const DeadLetterList_ = pageOf(DeadLetterSchema, "DeadLetterPage");
const Ignored = z.unknown();

/** Where a refused page links back to: the first page of the list it belongs to. */
const LISTS = {
  overview: { path: "/dashboard", label: "the overview" },
  events: { path: "/dashboard/events", label: "the events" },
  webhooks: { path: "/dashboard/webhooks", label: "the webhooks" },
  sources: { path: "/dashboard/sources", label: "the sources" },
  alerts: { path: "/dashboard/alerts", label: "the alerts" },
  tokens: { path: "/dashboard/tokens", label: "the tokens" },
  deadLetters: { path: "/dashboard/dead-letters", label: "the dead letters" },
};

type C = Context<DashEnv>;

/** Relative paths resolve against this, so what leaves it (`//host`, `/\host`) is seen as leaving. */
const HERE = new URL("https://dashboard.invalid/dashboard/");

/**
 * Redirect after an action, carrying what happened to show it on the next page. The target
 * is resolved first and must stay under /dashboard on this origin (else it is /dashboard):
 * an id decoded from the URL (`..%2F..%2F%2Fevil.com`) can never make it leave.
 */
async function redirectWith(c: C, path: string, banners: Banners) {
  const resolved = new URL(path, HERE);
  const url = resolved.origin === HERE.origin && /^\/dashboard(\/|$)/.test(resolved.pathname) ? resolved : new URL("/dashboard", HERE);
  for (const [name, value] of await bannerParams(c.get("session"), banners)) url.searchParams.append(name, value);
  return c.redirect(`${url.pathname}${url.search}`, 303);
}

/** Redirect after an action: its `notice` (and the API's `warnings` about what it saved), or the API's error. */
function back(c: C, path: string, answer: { ok: true; error: null } | { ok: false; error: string }, notice: string, warnings: ApiWarning[] = []) {
  return redirectWith(c, path, answer.ok ? { notice, ...warningBanners(warnings) } : { error: answer.error });
}

type ApiWarning = { message: string };
/**
 * At most this many of a save's warnings travel in the redirect: each may be a few hundred
 * characters, a webhook may name 100 event types, and the URL has to stay short enough to be sent.
 */
const MAX_WARNINGS_SHOWN = 10;

/** The banners of the API's warnings about what it saved: each one's message, up to MAX_WARNINGS_SHOWN, then how many more. */
function warningBanners(warnings: ApiWarning[] | undefined): Pick<Banners, "warnings"> {
  if (!warnings?.length) return {};
  const shown = warnings.slice(0, MAX_WARNINGS_SHOWN).map((w) => w.message);
  const more = warnings.length - shown.length;
  return { warnings: more > 0 ? [...shown, `And ${more} more warning${more === 1 ? "" : "s"} like these.`] : shown };
}

/**
 * A page; a form's again after a refusal, with the refusal's status (the API's, or 400 for what the dashboard itself refused) and error,
 * which takes the focus unless the form marked the field it names (its `field`). `title`: its title and heading, or each of its own (Layout).
 */
function page(c: C, title: string | { title: string; heading: string }, path: string, body: Child, refused?: Omit<Refusal<unknown>, "entered">) {
  const banners = c.get("banners");
  const named = typeof title === "string" ? { title } : title;
  return c.html(
    <Layout
      {...named}
      path={path}
      principal={c.get("principal")}
      notice={banners.notice}
      warnings={banners.warnings}
      errors={[refused?.error ?? banners.error]}
      focusError={refused !== undefined && refused.field === undefined}
    >
      {body}
    </Layout>,
    refused?.status ?? 200,
  );
}

const can = (c: C, scope: Parameters<typeof hasScope>[1]) => hasScope(c.get("principal"), scope);
/** Whether the session's token is limited to some organizations or locations: the API lists it only theirs. */
const limited = (c: C) => isLimited(c.get("principal"));
/** The API's 403 to a session without `scope`, as the page calling it answers it; else null. */
const scopeRefusal = (c: C, scope: Scope, title: string, list: { path: string; label: string }) =>
  can(c, scope) ? null : apiRefusal(c, title, list, { status: 403, error: lacksScope(scope) });
/** Whether the session may change a webhook: webhooks:write and the data scopes of all its types, as the API asks. */
const mayChange = (c: C, w: { eventTypes: string[] }) => can(c, "webhooks:write") && missingDataScope(c.get("principal"), w.eventTypes) === null;

/** Per-webhook counts from /v1/stats of the webhooks shown (a page at most), when the token may read them. */
async function webhookCounts(c: C, uids: string[]): Promise<Map<string, WebhookCounts>> {
  const named = uids.length > 0 ? `/stats?${new URLSearchParams({ webhookUids: uids.join(",") })}` : null;
  const stats = can(c, "events:read") && named !== null ? await callApi(c, "GET", named, StatsSchema) : null;
  return new Map((stats?.ok ? stats.json.webhooks : []).map((w) => [w.uid, { held: w.held, failed: w.failed }]));
}

export const dashboard = new Hono<DashEnv>();
dashboard.onError(errorPage);

dashboard.use(
  "*",
  secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", "data:"],
      connectSrc: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
    },
    referrerPolicy: "same-origin",
  }),
);
// Pages show event bodies, secrets (once) and what a token may see: none may be kept by the
// browser or a proxy, or Back after sign-out on a shared machine would show them again.
// The assets set their own.
dashboard.use("*", async (c, next) => {
  await next();
  if (!c.res.headers.has("cache-control")) c.res.headers.set("cache-control", "no-store");
});
// `/dashboard/` is how the dashboard's address is often typed (and a sign-in there went back
// to it): a page asked for with a trailing slash that serves none is the page without it.
dashboard.use("*", trimTrailingSlash());
// Actions are form POSTs from our own pages only, and the cookie is SameSite=Strict. Whatever the
// body's type (an action without fields takes any, so hono/csrf, which checks form types only, is
// not enough), a POST must say it comes from here: Sec-Fetch-Site, or else Origin.
dashboard.use("*", async (c, next) => {
  const safe = c.req.method === "GET" || c.req.method === "HEAD" || c.req.method === "OPTIONS";
  const fromHere = c.req.header("sec-fetch-site") === "same-origin" || c.req.header("origin") === new URL(c.req.url).origin;
  if (!safe && !fromHere) throw new AppError("forbidden", "Cross-origin form posts are refused.");
  await next();
});
const FORM_LIMIT_KIB = 64;
// Refused before the session is looked up: the page is the signed-out one, whoever sent it.
dashboard.use(
  "*",
  limitBody(
    {
      maxSize: FORM_LIMIT_KIB * 1024,
      onError: (c) =>
        refusalPage(c, { status: 413, title: "Request too large", message: `Request too large: the dashboard takes forms of up to ${FORM_LIMIT_KIB} KiB.` }),
    },
    (c, err) => refusalPage(c, { status: 400, title: "Form not read", message: err.message }),
  ),
);
// Signing out reads no form: whatever its body (one that broke off is the limit's 400 above), it signs out.
dashboard.post("/logout", async (c) => {
  await endSession(c);
  return c.redirect("/dashboard/login?notice=signed-out", 303);
});

dashboard.get("/assets/app.css", (c) => c.body(CSS, 200, { "content-type": "text/css; charset=utf-8", "cache-control": "max-age=300" }));
dashboard.get("/assets/app.js", (c) => c.body(JS, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "max-age=300" }));

dashboard.get("/login", (c) =>
  c.html(
    <Layout
      title="Sign in"
      path="/dashboard/login"
      notice={SIGN_IN_MESSAGES.notice.get(c.req.query("notice") ?? "")}
      errors={[SIGN_IN_MESSAGES.error.get(c.req.query("error") ?? "")]}
    >
      <Login next={dashboardPath(c.req.query("next") ?? "", c.req.url)} notice={c.req.query("notice") === "unsaved" ? "unsaved" : null} />
    </Layout>,
  ),
);

dashboard.post("/login", async (c) => {
  const attempt = authAttempt(c.env, (name) => c.req.header(name));
  if (attempt.blocked) return tooManyFailures(c, attempt.blocked);
  // A form the runtime cannot parse signs no one in.
  const form = await c.req.parseBody().catch(() => ({}));
  const token = textOf(form, "token").trim();
  const back = pageToReturnTo(dashboardPath(textOf(form, "next"), c.req.url));
  const principal = token ? await principalFor(c.env, token, c.req.url, (p) => c.executionCtx.waitUntil(p)) : null;
  if (!principal) {
    const refusal = await attempt.failed();
    if (refusal.code === "rate_limited") return tooManyFailures(c, refusal);
    // Tried again, the sign-in still says why it was asked for, and where it goes back to.
    const unsaved = textOf(form, "notice") === "unsaved" ? [["notice", "unsaved"]] : [];
    return c.redirect(`/dashboard/login?${new URLSearchParams([["error", "invalid-token"], ...unsaved, ...(back ? [["next", back]] : [])])}`, 303);
  }
  // A valid token that may read no page (write scopes alone) would land on a 403 whose links lead
  // back to it: it is told so here, with no session made (nor a failure counted: the token is good).
  const home = homeOf(principal);
  if (home === null) return c.redirect("/dashboard/login?error=nothing-to-read", 303);
  await startSession(c, principal);
  return c.redirect(back ?? home, 303);
});

/**
 * The page a sign-in goes back to: `path`, or the nearest page above it that a GET is served at.
 * A form's answer (a test's result, a refused endpoint) stands at the address its POST went to,
 * which is where a session that ended there would send one back.
 */
function pageToReturnTo(path: string | null): string | null {
  if (path === null) return null;
  const { pathname } = new URL(path, "https://dashboard.invalid");
  for (let p = pathname; p.startsWith("/dashboard/"); p = p.slice(0, p.lastIndexOf("/"))) {
    if (servedMethods(dashboard.routes, p.slice("/dashboard".length)).includes("GET")) return p === pathname ? path : p;
  }
  return null;
}

dashboard.use("*", requireSession);
// Every action past sign-in reads its form: one the runtime cannot parse (a multipart body without its
// boundary) is refused here, once, instead of throwing from each handler. The parsed form is
// cached by Hono, so the handlers read it again for free.
dashboard.use("*", async (c, next) => {
  if (c.req.method === "POST") {
    try {
      await c.req.parseBody();
    } catch {
      return refusalPage(c, {
        status: 400,
        title: "Form not read",
        message: "The form could not be read: send it as application/x-www-form-urlencoded or multipart/form-data.",
        principal: c.get("principal"),
      });
    }
  }
  await next();
});
dashboard.use("*", async (c, next) => {
  c.set("banners", await bannersIn(c.get("session"), (name) => c.req.queries(name) ?? []));
  await next();
});

/** The pages that name an object by an id in the path segment after their list's: what they name, and their list. */
const ID_PAGES: Record<string, { noun: string; list: { path: string; label: string } }> = {
  events: { noun: "event", list: LISTS.events },
  deliveries: { noun: "delivery", list: LISTS.events },
  webhooks: { noun: "webhook", list: LISTS.webhooks },
  sources: { noun: "source", list: LISTS.sources },
  tokens: { noun: "token", list: LISTS.tokens },
  "dead-letters": { noun: "dead letter", list: LISTS.deadLetters },
  "alerts/endpoints": { noun: "notification endpoint", list: LISTS.alerts },
};
const ID_PAGE = new RegExp(`^/dashboard/(${Object.keys(ID_PAGES).join("|")})/([^/]+)`);
/** Every id Edgehook makes (uuids, evt_…, tok_…, source slugs, dead letters' numbers) is of these characters. */
const PLAIN_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * A page's id is shown as text (a confirm page's question, the API's "No webhook …"), so one that
 * no id could be is refused unnamed: a crafted link would otherwise put its sentence on the
 * dashboard's own page (`/dashboard/tokens/Session expired: paste your token at …/revoke`), which
 * the signed banners (banners.ts) keep out of `?error=`.
 */
dashboard.use("*", async (c, next) => {
  const [, list = "", segment = ""] = ID_PAGE.exec(new URL(c.req.url).pathname) ?? [];
  const page = ID_PAGES[list];
  if (page && !PLAIN_ID.test(decodedSegment(segment))) {
    const message = `No ${page.noun} has the id this address names.`;
    return refusalPage(c, { status: 404, title: "Not found", message, principal: c.get("principal"), nav: page.list.path, back: { href: page.list.path, label: `Back to ${page.list.label}` } });
  }
  await next();
});

/** A path segment as the router gives it to a page; one that does not decode is no id. */
function decodedSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return "";
  }
}

dashboard.get("/", async (c) => {
  // Failing webhooks first, wherever they are by uid: a page by uid alone would leave out one past the first.
  const stats = await callApi(c, "GET", "/stats?failingFirst=true", StatsSchema);
  if (!stats.ok) return apiRefusal(c, "Overview", LISTS.overview, stats);
  return page(c, "Overview", "/dashboard", <Overview stats={stats.json} canReadWebhooks={can(c, "webhooks:read")} principal={c.get("principal")} limited={limited(c)} now={Date.now()} />);
});

dashboard.get("/events", async (c) => {
  const id = c.req.query("id")?.trim();
  if (id) return c.redirect(`/dashboard/events/${encodeURIComponent(id)}`, 303);
  // The scope first, as the API checks it before the query: a session without it is told so, not the list's parameters.
  const refused = scopeRefusal(c, "events:read", "Events", LISTS.events) ?? unknownParamRefusal(c, "Events", LISTS.events, [...FILTERS, "id", "cursor"], ["partial"]);
  if (refused) return refused;
  const query: Record<string, string> = {};
  const api = new URLSearchParams({ limit: "50" });
  for (const f of FILTERS) {
    const v = c.req.query(f)?.trim();
    if (!v) continue;
    query[f] = v;
    // datetime-local has no zone: the page says UTC.
    api.set(f, f === "since" || f === "until" ? `${v.length === 16 ? `${v}:00` : v}Z` : v);
  }
  const cursor = c.req.query("cursor");
  if (cursor) api.set("cursor", cursor);
  const list = await callApi(c, "GET", `/events?${api}`, EventList_);
  if (!list.ok && list.status !== 400) return apiRefusal(c, "Events", LISTS.events, list);
  // A filter the API refused (a bad time, a type too long): the form again, as typed, to mend it.
  if (!list.ok) {
    const refusal = refusedBy(query, list);
    const form = <EventList events={[]} query={query} nextCursor={null} live={false} refused invalidField={refusal.field} limited={limited(c)} principal={c.get("principal")} />;
    return page(c, "Events", "/dashboard/events", form, refusal);
  }
  if (c.req.query("partial") === "1") return c.html(<LiveUpdate events={list.json.data} query={query} nextCursor={list.json.nextCursor} limited={limited(c)} />);
  return page(
    c,
    "Events",
    "/dashboard/events",
    <EventList events={list.json.data} query={query} nextCursor={list.json.nextCursor} live={!cursor && !query.q} limited={limited(c)} principal={c.get("principal")} />,
  );
});

dashboard.get("/events/:id", async (c) => {
  const event = await callApi(c, "GET", `/events/${encodeURIComponent(c.req.param("id"))}`, EventSchema);
  if (!event.ok) return apiRefusal(c, "Event", LISTS.events, event);
  // Titled by its id too: every message.received page was titled alike.
  return page(
    c,
    { title: `${event.json.eventType} ${event.json.id}`, heading: event.json.eventType },
    "/dashboard/events",
    <EventPage event={event.json} canReplay={can(c, "events:replay")} canReadWebhooks={can(c, "webhooks:read")} limited={limited(c)} />,
  );
});

dashboard.post("/events/:id/replay", async (c) => {
  const id = c.req.param("id");
  const res = await callApi(c, "POST", `/events/${encodeURIComponent(id)}/replay`, ReplayAnswer, {});
  const made = res.json?.deliveries ?? 0;
  return back(c, `/dashboard/events/${encodeURIComponent(id)}`, res, `Replayed: ${made} new ${made === 1 ? "delivery" : "deliveries"}.`);
});

dashboard.post("/deliveries/:id/retry", async (c) => {
  // Where to go afterwards: the event's page when `back` is an event id, else the list.
  const eventId = textOf(await c.req.parseBody(), "back");
  const res = await callApi(c, "POST", `/deliveries/${encodeURIComponent(c.req.param("id"))}/retry`, Ignored);
  return back(c, isEventId(eventId) ? `/dashboard/events/${eventId}` : "/dashboard/events", res, "The delivery will be tried again now (a held one when its webhook is enabled).");
});

/** The API's list path for a page of 100, from the dashboard's cursor parameter `name`, if any. */
function pageOfList(c: C, path: string, name = "cursor"): string {
  const cursor = c.req.query(name);
  return `${path}?${new URLSearchParams({ limit: "100", ...(cursor ? { cursor } : {}) })}`;
}

/** What a webhook form held when it was refused. */
type Refused = Refusal<Entered>;

/** A form's text fields as they were sent. */
function enteredIn(form: Form): Entered {
  return Object.fromEntries(Object.keys(form).flatMap((k) => (textsOf(form, k).length > 0 ? [[k, textOf(form, k)]] : [])));
}

/**
 * A "retry failed" press's cursor is signed for the session and the webhook whose page it
 * leads to: a crafted link could otherwise set where a signed-in user's next press starts,
 * and make it skip deliveries.
 */
const retryLabel = (webhookUid: string) => `retry cursor\n${webhookUid}`;

/** The query of the webhook's page after a press that ended at `cursor`. */
async function retryParams(c: C, webhookUid: string, cursor: string): Promise<Record<string, string>> {
  return { retryCursor: cursor, retrySig: await signForSession(c.get("session"), retryLabel(webhookUid), cursor) };
}

/** Where the last "retry failed" press on this webhook's page ended, when more may remain (its redirect says, signed). */
async function retryFrom(c: C, webhookUid: string): Promise<string | undefined> {
  const cursor = c.req.query("retryCursor");
  if (!cursor) return undefined;
  return (await signedForSession(c.get("session"), retryLabel(webhookUid), cursor, c.req.query("retrySig") ?? "")) ? cursor : undefined;
}

async function webhookListPage(c: C, refused?: Refused) {
  // The form sends what it shows: shown a constant, it overrode the deployment's DELIVERY_TIMEOUT_MS and MAX_ATTEMPTS.
  const deploymentSettings = settings(c.env);
  const list = await callApi(c, "GET", pageOfList(c, "/webhooks"), WebhookList_);
  if (!list.ok) return apiRefusal(c, "Webhooks", LISTS.webhooks, list);
  return page(
    c,
    "Webhooks",
    "/dashboard/webhooks",
    <WebhookList
      webhooks={list.json.data}
      nextCursor={list.json.nextCursor}
      counts={await webhookCounts(c, list.json.data.map((w) => w.uid))}
      canWrite={can(c, "webhooks:write")}
      mayChange={(w) => mayChange(c, w)}
      canReplay={can(c, "events:replay")}
      entered={refused?.entered}
      invalidField={refused?.field}
      defaults={{ timeoutMs: deploymentSettings.deliveryTimeoutMs, maxAttempts: deploymentSettings.maxAttempts }}
      limited={limited(c)}
    />,
    refused,
  );
}

dashboard.get("/webhooks", (c) => webhookListPage(c));

/**
 * The edit form's fields that still hold what it first showed (its `shown`, WebhookForm): left
 * out of the PATCH, so that what changed elsewhere meanwhile (another field, or the webhook
 * disabled automatically) is not written back. A browser sends a textarea's line breaks as CRLF.
 */
function unchangedFields(form: Form): string[] {
  let shown: unknown;
  try {
    shown = JSON.parse(textOf(form, "shown"));
  } catch {
    return [];
  }
  if (!isRecord(shown)) return [];
  const now = (k: string) => (k === "disabled" ? (form.disabled === "on" ? "on" : "off") : textOf(form, k).replace(/\r\n/g, "\n").trim());
  return Object.entries(shown).flatMap(([k, v]) => (typeof v === "string" && v.replace(/\r\n/g, "\n").trim() === now(k) ? [k] : []));
}

/** The form's fields as the API's webhook body, or what in them it would not take (a number not in digits, JSON that is not). */
function webhookBody(form: Form, creating: boolean): { ok: true; body: Record<string, unknown> } | { ok: false; error: string; field: string } {
  const text = (k: string) => textOf(form, k).trim();
  const body: Record<string, unknown> = {
    url: text("url"),
    eventTypes: text("eventTypes").split(",").map((t) => t.trim()).filter(Boolean),
    disabled: form.disabled === "on",
  };
  // Numbers as the API's queries take them, decimal digits within the body's bounds (Number() read
  // `0x10`, `1e3`, `5.0` as numbers and stored them): each read as typed, untrimmed.
  for (const [k, digits] of Object.entries(webhookFormNumbers)) {
    // An empty rate limit is none, and an empty "disable after" never: the form always carries
    // those fields, so clearing one lifts it. Another left empty is left out.
    if (!text(k)) {
      if ((k === "rateLimit" || k === "autoDisableAfterMinutes") && k in form) body[k] = null;
      continue;
    }
    const n = digits.safeParse(textOf(form, k));
    if (!n.success) return { ok: false, error: `${k}: ${n.error.issues[0]?.message ?? "expected a whole number (decimal digits)"}`, field: k };
    body[k] = n.data;
  }
  if (text("ordering")) body.ordering = text("ordering");
  if (creating && text("organizationUid")) body.organizationUid = text("organizationUid");
  if (creating && text("locationUid")) body.locationUid = text("locationUid");
  // An empty box clears the field when editing, and leaves it out when creating.
  for (const [field, json] of [["filter", true], ["transform", false], ["transformHeaders", true]] as const) {
    const value = text(field);
    if (!value) {
      if (!creating) body[field] = null;
      continue;
    }
    if (!json) {
      body[field] = value;
      continue;
    }
    try {
      body[field] = JSON.parse(value);
    } catch (e) {
      return { ok: false, error: `${field} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`, field };
    }
  }
  if (!creating) for (const field of unchangedFields(form)) delete body[field];
  return { ok: true, body };
}

dashboard.post("/webhooks", async (c) => {
  const sent = await c.req.parseBody();
  const form = webhookBody(sent, true);
  if (!form.ok) return webhookListPage(c, { entered: enteredIn(sent), error: form.error, status: 400, field: form.field });
  const res = await callApi(c, "POST", "/webhooks", WebhookCreated, form.body);
  if (!res.ok) return webhookListPage(c, refusedBy(enteredIn(sent), res));
  const reveal = { title: "Webhook created", nav: "/dashboard/webhooks", what: "webhook", href: `/dashboard/webhooks/${res.json.uid}`, secret: res.json.secret };
  return showOnce(c, reveal, warningBanners(res.json.warnings));
});

/** How long a secret made through a form waits for its page (the redirect right after). */
const REVEAL_MS = 10 * 60_000;
/** Sealed under a label naming its page's key: a secret kept for one page never opens on another's. */
const revealLabel = (key: string) => `secret shown once\n${key}`;
/** A page key as showOnce makes them (randomSecret): anything else is not looked up. */
const REVEAL_KEY = /^[A-Za-z0-9_-]{43}$/;

/**
 * After a form that made a secret: the secret waits with the session and the answer is a redirect
 * to the page that shows it once, so that reloading that page shows nothing again and makes
 * nothing again (a reloaded POST made a second webhook). Each creation waits under a key of its
 * own, carried in that redirect: two made at once (two tabs) each show their own secret on their
 * own page. The redirect carries the API's warnings about what it made, as banners.
 */
async function showOnce(c: C, reveal: Omit<Reveal, "until">, banners: Banners = {}): Promise<Response> {
  const key = randomSecret();
  // Sealed under the cookie's secret, which D1 holds only as a hash: an API token is otherwise kept
  // only as a hash too, and a redirect not followed would leave it in the clear until it expires.
  const secret = await sealForSession(c.get("session"), revealLabel(key), reveal.secret);
  await keepReveal(c.env.DB, await sha256Hex(c.get("session")), key, { ...reveal, secret, until: Date.now() + REVEAL_MS });
  const to = `/dashboard/created/${key}`;
  return banners.warnings ? redirectWith(c, to, banners) : c.redirect(to, 303);
}

/** The secret kept for this session's page `key`, taken (so shown this once), or null. */
async function takenReveal(c: C, key: string): Promise<{ reveal: Reveal; secret: string } | null> {
  if (!REVEAL_KEY.test(key)) return null;
  const reveal = await takeReveal(c.env.DB, await sha256Hex(c.get("session")), key, Date.now());
  const secret = reveal && (await unsealForSession(c.get("session"), revealLabel(key), reveal.secret));
  return reveal && secret !== null ? { reveal, secret } : null;
}

// Without a key (or once taken): what to do about a secret not copied.
dashboard.get("/created/:key?", async (c) => {
  const key = c.req.param("key");
  // A HEAD (a link checker, a prefetch) would take the secret with a page no one sees.
  const taken = key === undefined || c.req.method === "HEAD" ? null : await takenReveal(c, key);
  if (!taken) {
    return page(
      c,
      "Shown once",
      "/dashboard",
      <p>
        A signing secret is shown once, on the page right after the form that made it. If it was not copied then, give the
        webhook a new one through the API (<code>PATCH /v1/webhooks/&#123;uid&#125;</code> with <code>secret</code>, or{" "}
        <code>npx edgehook webhooks update &lt;uid&gt; --secret …</code>), or make the notification endpoint again. An API token
        is shown once too: make another on the <a href="/dashboard/tokens">Tokens</a> page and revoke the one not copied.
      </p>,
    );
  }
  return page(c, taken.reveal.title, taken.reveal.nav, <SecretOnce what={taken.reveal.what} secret={taken.secret} href={taken.reveal.href} />);
});

async function webhookPage(c: C, uid: string, refused?: Refused) {
  // The webhook and its counts at once: the counts of one the caller may not see are not shown.
  const [w, counts] = await Promise.all([callApi(c, "GET", `/webhooks/${encodeURIComponent(uid)}`, WebhookSchema), webhookCounts(c, [uid])]);
  if (!w.ok) return apiRefusal(c, "Webhook", LISTS.webhooks, w);
  // Titled by its URL: every webhook's page was "Webhook".
  return page(
    c,
    { title: `Webhook ${shortened(w.json.url)}`, heading: "Webhook" },
    "/dashboard/webhooks",
    <WebhookPage
      webhook={w.json}
      counts={counts.get(w.json.uid)}
      canWrite={mayChange(c, w.json)}
      canReplay={can(c, "events:replay")}
      canTest={can(c, "events:read")}
      testEventId={c.req.query("test")}
      entered={refused?.entered}
      invalidField={refused?.field}
      retryCursor={await retryFrom(c, uid)}
    />,
    refused,
  );
}

dashboard.get("/webhooks/:uid", (c) => webhookPage(c, c.req.param("uid")));

dashboard.post("/webhooks/:uid", async (c) => {
  const uid = c.req.param("uid");
  const sent = await c.req.parseBody();
  const form = webhookBody(sent, false);
  if (!form.ok) return webhookPage(c, uid, { entered: enteredIn(sent), error: form.error, status: 400, field: form.field });
  if (Object.keys(form.body).length === 0) return back(c, `/dashboard/webhooks/${encodeURIComponent(uid)}`, { ok: true, error: null }, "Nothing was changed.");
  const res = await callApi(c, "PATCH", `/webhooks/${encodeURIComponent(uid)}`, WebhookChanged, form.body);
  if (!res.ok) return webhookPage(c, uid, refusedBy(enteredIn(sent), res));
  return back(c, `/dashboard/webhooks/${encodeURIComponent(uid)}`, res, "Saved.", res.json.warnings);
});

dashboard.post("/webhooks/:uid/test", async (c) => {
  const uid = c.req.param("uid");
  const eventId = textOf(await c.req.parseBody(), "eventId").trim();
  const res = await callApi(c, "POST", `/webhooks/${encodeURIComponent(uid)}/test`, WebhookTestAnswer, { eventId });
  const here = `/dashboard/webhooks/${encodeURIComponent(uid)}`;
  if (!res.ok) return back(c, `${here}?test=${encodeURIComponent(eventId)}`, res, "");
  return page(
    c,
    "Test this webhook",
    "/dashboard/webhooks",
    <div class="stack">
      <p>
        Webhook <a href={here}>{uid}</a>: nothing was sent.
      </p>
      <WebhookTestResult result={res.json} />
      <WebhookTestForm uid={uid} eventId={eventId} />
    </div>,
  );
});

/**
 * What a confirm page asks about: the API's GET of it, the list it belongs to, and, when it is
 * still found but already past the action (a revoked token), the API's 404 that the action would answer.
 */
type ConfirmedObject = { api: string; list: { path: string; label: string }; gone?: (found: unknown) => string | null };

/**
 * The confirm page of a destructive button (ConfirmAction), at the action's own address: GET
 * asks, POST does. What it names comes from the URL and is shown as text; the post it makes is
 * checked as every other (same origin, the API's scopes).
 */
async function confirmPage(
  c: C,
  props: { title: string; nav: string; question: string; label: string; back: string; scope?: Scope; of: ConfirmedObject },
) {
  // Asked only of a session that may do it: the API's refusal, as its list page would answer it.
  const refused = props.scope ? scopeRefusal(c, props.scope, props.title, { path: props.nav, label: props.title }) : null;
  if (refused) return refused;
  // Asked only of what is there: one gone (deleted, revoked) is the API's 404 ("No webhook …"), as its own page answers.
  const there = await callApi(c, "GET", props.of.api, Ignored);
  if (!there.ok) return apiRefusal(c, props.title, props.of.list, there);
  const gone = props.of.gone?.(there.json);
  if (gone) return apiRefusal(c, props.title, props.of.list, { status: 404, error: gone });
  return page(c, props.title, props.nav, <ConfirmPage question={props.question} action={c.req.path} label={props.label} back={props.back} />);
}

dashboard.get("/webhooks/:uid/delete", (c) => {
  const uid = c.req.param("uid");
  const own = `/dashboard/webhooks/${encodeURIComponent(uid)}`;
  const of = { api: `/webhooks/${encodeURIComponent(uid)}`, list: LISTS.webhooks };
  return confirmPage(c, { title: "Delete webhook", nav: "/dashboard/webhooks", question: ASK.deleteWebhook(uid), label: "Delete webhook", back: own, scope: "webhooks:write", of });
});

dashboard.get("/webhooks/:uid/end-previous-secret", (c) => {
  const uid = c.req.param("uid");
  const own = `/dashboard/webhooks/${encodeURIComponent(uid)}`;
  const of = { api: `/webhooks/${encodeURIComponent(uid)}`, list: LISTS.webhooks };
  return confirmPage(c, { title: "End the previous secret", nav: "/dashboard/webhooks", question: ASK.endPreviousSecret(uid), label: "End the previous secret", back: own, scope: "webhooks:write", of });
});

dashboard.post("/webhooks/:uid/:action{enable|disable|retry-failed|delete|end-previous-secret}", async (c) => {
  const uid = c.req.param("uid");
  const action = c.req.param("action");
  const path = `/webhooks/${encodeURIComponent(uid)}`;
  // Back where the button was pressed: the webhook's own page, or the list's page it was on (a
  // later page's row was not on the first); a deleted one goes to the list's first page.
  const own = `/dashboard${path}`;
  const pressedOn = dashboardPath(c.req.header("referer") ?? "", c.req.url)?.split("?")[0] === own ? own : listPressedOn(c, LISTS.webhooks.path, ["cursor"]);
  if (action === "delete") {
    const res = await callApi(c, "DELETE", path, Ignored);
    return back(c, res.ok ? "/dashboard/webhooks" : pressedOn, res, "Webhook deleted.");
  }
  if (action === "retry-failed") {
    // A press retries a bounded page, oldest first, and the button then carries where it
    // ended: those retried may fail again meanwhile, and the next press must not take them again.
    const cursor = textOf(await c.req.parseBody(), "cursor");
    const res = await callApi(c, "POST", "/deliveries/retry", RetryAnswer, { status: "failed", webhookUid: uid, ...(cursor ? { cursor } : {}) });
    const next = res.json?.nextCursor ?? null;
    // A full page: more may match, or it took exactly the last ones.
    const more = next ? " More failed deliveries may remain: press again for the next ones." : "";
    const n = res.json?.count ?? 0;
    // More remaining: on to the webhook's own page, whose button carries the place (whatever list
    // page the press was on). Else back where it was pressed.
    const to = next ? `${own}?${new URLSearchParams(await retryParams(c, uid, next))}` : pressedOn;
    return back(c, to, res, `${n} failed deliver${n === 1 ? "y" : "ies"} will be tried again, oldest first.${more}`);
  }
  if (action === "end-previous-secret") {
    // A leaked previous secret, ended before its time (the API's previousSecretValidSeconds 0 without a new secret).
    const res = await callApi(c, "PATCH", path, Ignored, { previousSecretValidSeconds: 0 });
    return back(c, own, res, "The previous secret no longer signs: deliveries carry the current secret's signature alone.");
  }
  const res = await callApi(c, "PATCH", path, Ignored, { disabled: action === "disable" });
  return back(c, pressedOn, res, action === "disable" ? "Disabled: new deliveries are held." : "Enabled: held deliveries are going out, oldest first.");
});

/** The alerts page; after a refused new endpoint, with its error and what was typed kept in the form. */
async function alertsPage(c: C, refused?: Refusal<EndpointEntered>) {
  const [alerts, endpoints] = await Promise.all([
    callApi(c, "GET", pageOfList(c, "/alerts", "alerts"), AlertList_),
    callApi(c, "GET", pageOfList(c, "/notification-endpoints", "endpoints"), EndpointList_),
  ]);
  if (!alerts.ok) return apiRefusal(c, "Alerts", LISTS.alerts, alerts);
  if (!endpoints.ok) return apiRefusal(c, "Alerts", LISTS.alerts, endpoints);
  // Which webhooks the alerts name may be opened: one that was deleted since has no page. (Alerts are an admin's: the read is allowed.)
  const named = [...new Set(alerts.json.data.filter((a) => hasWebhookSubject(a.type)).map((a) => a.subject))];
  const webhooks = new Set((await webhookCounts(c, named)).keys());
  return page(
    c,
    "Alerts",
    "/dashboard/alerts",
    <AlertsPage
      alerts={alerts.json.data}
      endpoints={endpoints.json.data}
      nextAlerts={alerts.json.nextCursor}
      nextEndpoints={endpoints.json.nextCursor}
      entered={refused?.entered}
      invalidField={refused?.field}
      webhooks={webhooks}
    />,
    refused,
  );
}

dashboard.get("/alerts", (c) => alertsPage(c));

dashboard.post("/alerts/endpoints", async (c) => {
  const form = await c.req.parseBody({ all: true });
  const entered = { url: textOf(form, "url").trim(), alertTypes: textsOf(form, "alertTypes"), format: "format" in form ? textOf(form, "format") : "standard-webhooks" };
  const res = await callApi(c, "POST", "/notification-endpoints", NotificationEndpointCreated, entered);
  if (!res.ok) return alertsPage(c, refusedBy(entered, res));
  return showOnce(c, { title: "Notification endpoint created", nav: "/dashboard/alerts", what: "notification endpoint", href: "/dashboard/alerts", secret: res.json.secret });
});

dashboard.get("/alerts/endpoints/:uid/delete", (c) => {
  const uid = c.req.param("uid");
  const of = { api: `/notification-endpoints/${encodeURIComponent(uid)}`, list: LISTS.alerts };
  return confirmPage(c, { title: "Delete notification endpoint", nav: "/dashboard/alerts", question: ASK.deleteEndpoint(uid), label: "Delete", back: "/dashboard/alerts", scope: "admin", of });
});

dashboard.post("/alerts/endpoints/:uid/delete", async (c) => {
  const res = await callApi(c, "DELETE", `/notification-endpoints/${encodeURIComponent(c.req.param("uid"))}`, Ignored);
  return back(c, "/dashboard/alerts", res, "Notification endpoint deleted.");
});

/** The sources page; after a refused new source, with its error and what was typed (but the secret) kept in the form. */
async function sourcesPage(c: C, refused?: Refusal<SourceEntered>) {
  const list = await callApi(c, "GET", pageOfList(c, "/sources"), SourceList_);
  if (!list.ok) return apiRefusal(c, "Sources", LISTS.sources, list);
  // The admin also sees requests to ids that name no source, and to paths that are no source id
  // (a trailing slash, capitals): both are a wrong URL given to a provider.
  const [unknown, invalid] = can(c, "admin")
    ? await Promise.all(["(unknown)", "(invalid)"].map((id) => callApi(c, "GET", `/sources/${id}/rejections?limit=1`, RejectionsSchema)))
    : [null, null];
  return page(
    c,
    "Sources",
    "/dashboard/sources",
    <SourceList
      sources={list.json.data}
      nextCursor={list.json.nextCursor}
      canWrite={can(c, "sources:write")}
      now={Date.now()}
      unknown={unknown?.ok ? unknown.json : null}
      invalid={invalid?.ok ? invalid.json : null}
      entered={refused?.entered}
      invalidField={refused?.field}
      limited={limited(c)}
    />,
    refused,
  );
}

dashboard.get("/sources", (c) => sourcesPage(c));

dashboard.post("/sources", async (c) => {
  const form = await c.req.parseBody();
  const entered = { id: textOf(form, "id").trim(), name: textOf(form, "name").trim(), provider: textOf(form, "provider") };
  const res = await callApi(c, "POST", "/sources", SourceSchema, {
    ...(entered.id ? { id: entered.id } : {}),
    name: entered.name,
    provider: entered.provider,
    secrets: [textOf(form, "secret")],
  });
  if (!res.ok) return sourcesPage(c, refusedBy(entered, res, { secrets: "secret" }));
  return back(c, "/dashboard/sources", res, `Source created: point the provider at ${res.json.ingressUrl}`);
});

dashboard.post("/sources/:id/rotate", async (c) => {
  const id = c.req.param("id");
  // Secrets are write-only, so the page cannot keep the old one beside the new: it replaces it.
  // An overlapping rotation (`secrets: [new, old]`) is a PATCH through the API.
  const res = await callApi(c, "PATCH", `/sources/${encodeURIComponent(id)}`, Ignored, { secrets: [textOf(await c.req.parseBody(), "secret")] });
  return back(c, "/dashboard/sources", res, "Secret replaced.");
});

dashboard.get("/sources/:id/delete", (c) => {
  const id = c.req.param("id");
  const of = { api: `/sources/${encodeURIComponent(id)}`, list: LISTS.sources };
  return confirmPage(c, { title: "Delete source", nav: "/dashboard/sources", question: ASK.deleteSource(id), label: "Delete", back: "/dashboard/sources", scope: "sources:write", of });
});

dashboard.post("/sources/:id/delete", async (c) => {
  const res = await callApi(c, "DELETE", `/sources/${encodeURIComponent(c.req.param("id"))}`, Ignored);
  return back(c, "/dashboard/sources", res, "Source deleted.");
});

/** The tokens page (admin only, as the API's /v1/tokens); after a refused new token, with its error and what was typed. */
async function tokensPage(c: C, refused?: Refusal<TokenEntered>) {
  const list = await callApi(c, "GET", pageOfList(c, "/tokens"), TokenList_);
  if (!list.ok) return apiRefusal(c, "Tokens", LISTS.tokens, list);
  return page(
    c,
    "Tokens",
    "/dashboard/tokens",
    <TokenList tokens={list.json.data} nextCursor={list.json.nextCursor} ownTokenId={c.get("principal").tokenId} entered={refused?.entered} invalidField={refused?.field} />,
    refused,
  );
}

dashboard.get("/tokens", (c) => tokensPage(c));

/** A box of uids as the API's list: split at commas and white space; none given leaves the field out (every one). */
const uidsIn = (text: string) => text.split(/[\s,]+/).filter(Boolean);

dashboard.post("/tokens", async (c) => {
  const form = await c.req.parseBody({ all: true });
  const entered = {
    name: textOf(form, "name").trim(),
    scopes: textsOf(form, "scopes"),
    organizationUids: textOf(form, "organizationUids").trim(),
    locationUids: textOf(form, "locationUids").trim(),
  };
  const orgs = uidsIn(entered.organizationUids);
  const locs = uidsIn(entered.locationUids);
  const res = await callApi(c, "POST", "/tokens", TokenCreated, {
    name: entered.name,
    scopes: entered.scopes,
    ...(orgs.length > 0 ? { organizationUids: orgs } : {}),
    ...(locs.length > 0 ? { locationUids: locs } : {}),
  });
  if (!res.ok) return tokensPage(c, refusedBy(entered, res));
  return showOnce(c, { title: "Token created", nav: "/dashboard/tokens", what: "API token", href: "/dashboard/tokens", secret: res.json.token });
});

dashboard.get("/tokens/:id/revoke", (c) => {
  const id = c.req.param("id");
  // Revoked already: the 404 its Revoke would answer (the API's DELETE), not a question about it.
  const gone = (t: unknown) => (isRecord(t) && t.revokedAt !== null ? notFound("live token", id).message : null);
  const of = { api: `/tokens/${encodeURIComponent(id)}`, list: LISTS.tokens, gone };
  return confirmPage(c, { title: "Revoke token", nav: "/dashboard/tokens", question: ASK.revokeToken(id), label: "Revoke", back: "/dashboard/tokens", scope: "admin", of });
});

dashboard.post("/tokens/:id/revoke", async (c) => {
  const res = await callApi(c, "DELETE", `/tokens/${encodeURIComponent(c.req.param("id"))}`, Ignored);
  return back(c, "/dashboard/tokens", res, "Token revoked: it no longer works.");
});

dashboard.get("/dead-letters", async (c) => {
  // The scope first, as the API checks it before the query (the events' page says why).
  const refused = scopeRefusal(c, "admin", "Dead letters", LISTS.deadLetters) ?? unknownParamRefusal(c, "Dead letters", LISTS.deadLetters, ["open", "cursor"]);
  if (refused) return refused;
  const given = c.req.query("open");
  const open = given === "true";
  const cursor = c.req.query("cursor");
  // The page shows no message (each up to the queue's message size): the API leaves them out, unread.
  // `open` goes as given: the API refuses one that is neither true nor false (`open=yes`), which read as false.
  const query = new URLSearchParams({ limit: "100", withMessage: "false", ...(given === undefined ? {} : { open: given }), ...(cursor ? { cursor } : {}) });
  const list = await callApi(c, "GET", `/dead-letters?${query}`, DeadLetterList_);
  if (!list.ok) return apiRefusal(c, "Dead letters", LISTS.deadLetters, list);
  return page(c, "Dead letters", "/dashboard/dead-letters", <DeadLetterList letters={list.json.data} nextCursor={list.json.nextCursor} open={open} cursor={cursor} />);
});

/** The dead letters' page that `query` places one on: its filter and cursor, none of the banners it was showing. */
const deadLettersAt = (query: URLSearchParams) => listPageAt(LISTS.deadLetters.path, query, ["open", "cursor"]);

/** The page of the list at `path` that `query` places one on: its parameters `kept` (filters, cursor), none of the banners it was showing. */
function listPageAt(path: string, query: URLSearchParams, kept: string[]): string {
  const place = [...query].filter(([name]) => kept.includes(name));
  return place.length > 0 ? `${path}?${new URLSearchParams(place)}` : path;
}

/**
 * Back to the page of the list at `path` that a button was pressed on (from the Referer, which
 * the policy sends to this origin): the list itself, or a page matching `also` (a delete's confirm
 * page, whose query carries it), with its parameters `kept`; else, or pressed elsewhere, its first page.
 * The Referer is read as dashboardPath reads it: it never leads off /dashboard.
 */
function listPressedOn(c: C, path: string, kept: string[], also?: RegExp): string {
  const from = new URL(dashboardPath(c.req.header("referer") ?? "", c.req.url) ?? "/dashboard", HERE);
  return from.pathname === path || also?.test(from.pathname) ? listPageAt(path, from.searchParams, kept) : path;
}

const deadLettersPressedOn = (c: C) => listPressedOn(c, LISTS.deadLetters.path, ["open", "cursor"], /^\/dashboard\/dead-letters\/[^/]+\/delete$/);

/**
 * A replay's refusals in the page's words: the API's say what to do with its calls (DELETE the
 * letter, POST a retry), which a reader of this page does with its buttons instead.
 */
const REPLAY_REFUSED = new Map<string, string>([
  // `nothing_to_retry`, by its cause (`details.cause`).
  ["nothing_to_retry:delivery_gone", "The delivery is gone (purged with its event at the retention): nothing to retry. Once handled, delete this dead letter with its Delete button."],
  ["nothing_to_retry:webhook_deleted", "The delivery's webhook was deleted: there is nowhere to send it, nothing to retry. Once handled, delete this dead letter with its Delete button."],
  [
    "nothing_to_retry:outside_grant",
    "The delivery's webhook was confined to an organization since, and this event is not that organization's: it is not sent there again, nothing to retry. Once handled, delete this dead letter with its Delete button.",
  ],
  [
    "nothing_to_retry:held",
    "The delivery is held while its webhook is disabled: nothing to retry, it goes out once the webhook is enabled (its Enable button, on the webhook's page). Once handled, delete this dead letter with its Delete button.",
  ],
  ["nothing_to_retry:changed", "The delivery changed meanwhile; try again."],
  ["unreplayable", "This dead letter names nothing to replay. Once handled, delete it with its Delete button."],
  ["replay_in_progress", "Another replay of this dead letter is under way. Look at it again in a moment: replayed, or open again if the ingest queue refused it."],
  ["already_replayed", "This dead letter was replayed already (or its delivery retried); a replay is made once. To send it again on purpose, open its event and retry the delivery or replay the event there."],
]);

dashboard.post("/dead-letters/:id/replay", async (c) => {
  const id = c.req.param("id");
  const res = await callApi(c, "POST", `/dead-letters/${encodeURIComponent(id)}/replay`, DeadLetterSchema);
  const what = res.json && res.json.deliveryId !== null ? "its delivery will be tried again" : "its event is queued again";
  const refusal = res.ok || res.reason === undefined ? undefined : REPLAY_REFUSED.get(res.cause === undefined ? res.reason : `${res.reason}:${res.cause}`);
  const answer = res.ok ? res : { ...res, error: refusal ?? res.error };
  return back(c, deadLettersPressedOn(c), answer, `Dead letter ${id} replayed: ${what}.`);
});

dashboard.get("/dead-letters/:id/delete", (c) => {
  const back = deadLettersAt(new URL(c.req.url).searchParams);
  const id = c.req.param("id");
  const of = { api: `/dead-letters/${encodeURIComponent(id)}`, list: LISTS.deadLetters };
  return confirmPage(c, { title: "Delete dead letter", nav: "/dashboard/dead-letters", question: ASK.deleteDeadLetter(id), label: "Delete", back, scope: "admin", of });
});

dashboard.post("/dead-letters/:id/delete", async (c) => {
  const res = await callApi(c, "DELETE", `/dead-letters/${encodeURIComponent(c.req.param("id"))}`, Ignored);
  return back(c, deadLettersPressedOn(c), res, "Dead letter deleted.");
});

// Last: a path none of the above serves (signed in, as requireSession sends others to sign in).
dashboard.all("*", (c) => notFoundPage(c, allowedMethods(dashboard.routes, c.req.path.slice("/dashboard".length) || "/", c.req.method)));
