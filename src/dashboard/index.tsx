import { Hono } from "hono";
import { getCookie } from "hono/cookie";
import { AppError } from "../domain/errors";
import { secureHeaders } from "hono/secure-headers";
import { trimTrailingSlash } from "hono/trailing-slash";
import { authAttempt, principalFor } from "../api/auth";
import { limitBody } from "../http/body";
import { allowedMethods, servedMethods } from "../http/methods";
import { CSS, JS } from "./assets";
import { bannersIn, SIGN_IN_MESSAGES } from "./banners";
import { textOf } from "./form";
import { Layout } from "./layout";
import { homeOf, LISTS } from "./navigation";
import { errorPage, notFoundPage, refusalPage } from "./refusal";
import { Login } from "./pages/login";
import { dashboardPath, NO_SESSION_KEPT, sessionCookie, endSession, requireSession, startSession, tooManyFailures, type DashEnv } from "./session";
import { alertRoutes } from "./routes/alerts";
import { createdRoutes } from "./routes/created";
import { deadLetterRoutes } from "./routes/dead-letters";
import { eventRoutes } from "./routes/events";
import { overviewRoutes } from "./routes/overview";
import { sourceRoutes } from "./routes/sources";
import { tokenRoutes } from "./routes/tokens";
import { queryParam } from "./query";
import { webhookRoutes } from "./routes/webhooks";

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
      notice={SIGN_IN_MESSAGES.notice.get(queryParam(c, "notice") ?? "")}
      errors={[SIGN_IN_MESSAGES.error.get(queryParam(c, "error") ?? ""), sessionCookie(c.req.url).kept ? undefined : NO_SESSION_KEPT]}
    >
      <Login next={dashboardPath(queryParam(c, "next") ?? "", c.req.url)} notice={queryParam(c, "notice") === "unsaved" ? "unsaved" : null} />
    </Layout>,
  ),
);

dashboard.post("/login", async (c) => {
  // Whatever its outcome, a sign-in first ends the session the browser came with (deleted, its
  // cookie dropped): else one refused, or as another token, would leave that one signed in.
  if (getCookie(c, sessionCookie(c.req.url).name) !== undefined) await endSession(c);
  const attempt = authAttempt(c.env, (name) => c.req.header(name));
  if (attempt.blocked) return tooManyFailures(c, attempt.blocked);
  // A form the runtime cannot parse signs no one in.
  const form = await c.req.parseBody().catch(() => ({}));
  const token = textOf(form, "token").trim();
  const back = pageToReturnTo(dashboardPath(textOf(form, "next"), c.req.url));
  const principal = token ? await principalFor(c.env, token, c.req.url, (p) => c.executionCtx.waitUntil(p)) : null;
  if (!principal) {
    // An empty token guesses nothing, so it is not counted (as the API's missing one).
    const refusal = token ? await attempt.failed() : null;
    if (refusal?.code === "rate_limited") return tooManyFailures(c, refusal);
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
 * A form's answer (a refused endpoint) stands at the address its POST went to,
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

// After every middleware above: route() copies a sub-app's routes here in its turn, behind them.
dashboard.route("/", overviewRoutes);
dashboard.route("/", eventRoutes);
dashboard.route("/", webhookRoutes);
dashboard.route("/", createdRoutes);
dashboard.route("/", alertRoutes);
dashboard.route("/", sourceRoutes);
dashboard.route("/", tokenRoutes);
dashboard.route("/", deadLetterRoutes);

// Last: a path none of the above serves (signed in, as requireSession sends others to sign in).
dashboard.all("*", (c) => notFoundPage(c, allowedMethods(dashboard.routes, c.req.path.slice("/dashboard".length) || "/", c.req.method)));
