// The dashboard against a shared machine's history, a sibling subdomain's cookies, crafted links and crafted banners.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, bodiedRequest, call, clientAddress, failUntilLimited, dashboardCookie, dashboardForm, dashboardShown, pageBanners as banners, pageText as text, podiumBody } from "./helpers";
import { COOKIE } from "../../src/dashboard/session";
import { d1Double } from "./d1-double";
import { pipeline, uniqueKey } from "./pipeline";

const ORIGIN = "https://edgehook.test";
const get = (path: string, cookie?: string) => call(new Request(`${ORIGIN}${path}`, { headers: cookie ? { cookie } : {} }));


/** Where a redirect leads, resolved as a browser resolves it against the page that posted. */
const target = (res: Response, from: string) => new URL(res.headers.get("location")!, `${ORIGIN}${from}`);

const sha256Hex = async (s: string) =>
  [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s)))].map((b) => b.toString(16).padStart(2, "0")).join("");

describe("dashboard answers are never cached", () => {
  it("sends Cache-Control: no-store on pages, redirects and the sign-in page, and keeps the assets' own", async () => {
    const cookie = await dashboardCookie();
    const p = pipeline();
    const event = await p.ingest(podiumBody());
    const answers: [string, Response][] = [
      ["the sign-in page", await get("/dashboard/login")],
      ["the sign-in's redirect", await dashboardForm("/dashboard/login", null, { token: ADMIN_TOKEN })],
      ["a refused sign-in's redirect", await dashboardForm("/dashboard/login", null, { token: "nope" })],
      ["the redirect to sign in", await get("/dashboard/events")],
      ["the overview", await get("/dashboard", cookie)],
      ["an event's page", await get(`/dashboard/events/${event}`, cookie)],
      ["the live list's rows", await get("/dashboard/events?partial=1", cookie)],
      ["an action's redirect", await dashboardForm(`/dashboard/events/${event}/replay`, cookie, {})],
      ["a missing page", await get("/dashboard/events/evt_00000000000000000000000000000000", cookie)],
    ];
    for (const [what, res] of answers) expect(res.headers.get("cache-control"), what).toBe("no-store");
    expect(answers[1]![1].status).toBe(303);

    // The pages that show a secret once.
    const created = await dashboardShown(await dashboardForm("/dashboard/webhooks", cookie, { url: `https://downstream.test/ok/${uniqueKey()}`, eventTypes: "*" }), cookie);
    expect(created.status).toBe(200);
    expect(text(await created.text())).toContain("it is shown this once");
    expect(created.headers.get("cache-control")).toBe("no-store");
    const endpoint = await dashboardShown(await dashboardForm("/dashboard/alerts/endpoints", cookie, { url: `https://downstream.test/ok/${uniqueKey()}`, alertTypes: "webhook.failing" }), cookie);
    expect(endpoint.status).toBe(200);
    expect(text(await endpoint.text())).toContain("it is shown this once");
    expect(endpoint.headers.get("cache-control")).toBe("no-store");

    // Sign-out's redirect too.
    const out = await dashboardForm("/dashboard/logout", cookie, {});
    expect(out.status).toBe(303);
    expect(out.headers.get("cache-control")).toBe("no-store");

    for (const asset of ["/dashboard/assets/app.css", "/dashboard/assets/app.js"]) expect((await get(asset)).headers.get("cache-control")).toBe("max-age=300");
  });
});

describe("the session cookie", () => {
  it("is a __Host- cookie: Secure, Path=/, no Domain, HttpOnly, SameSite=Strict; sign-out drops that same cookie", async () => {
    const login = await dashboardForm("/dashboard/login", null, { token: ADMIN_TOKEN });
    const set = login.headers.get("set-cookie")!;
    const [pair, ...attributes] = set.split(/;\s*/);
    expect(pair).toMatch(/^__Host-edgehook_session=[A-Za-z0-9_-]{43}$/);
    expect(attributes).toEqual(expect.arrayContaining(["Path=/", "Secure", "HttpOnly", "SameSite=Strict"]));
    expect(attributes.filter((a) => /^path=/i.test(a))).toEqual(["Path=/"]);
    expect(attributes.some((a) => /^domain=/i.test(a))).toBe(false);

    expect((await get("/dashboard/events", pair)).status).toBe(200);
    const out = await dashboardForm("/dashboard/logout", pair!, {});
    const dropped = out.headers.get("set-cookie")!.split(/;\s*/);
    expect(dropped[0]).toBe("__Host-edgehook_session=");
    expect(dropped).toEqual(expect.arrayContaining(["Path=/", "Secure", "Max-Age=0"]));
  });

  it("is read only under its __Host- name: a live session's secret under the old, plantable name signs nobody in", async () => {
    const pair = (await dashboardCookie()).split("=");
    const secret = pair.slice(1).join("=");
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM sessions WHERE id = ?").bind(await sha256Hex(secret)).first("n")).toBe(1);
    const res = await get("/dashboard/events", `edgehook_session=${secret}`);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/dashboard/login?next=%2Fdashboard%2Fevents");
  });

  it("over plain http at a loopback host is edgehook_local_session, not Secure (Safari keeps none there), and is read only there", async () => {
    const at = (origin: string, path: string, init: { cookie?: string; form?: Record<string, string> } = {}) =>
      call(
        new Request(`${origin}${path}`, {
          method: init.form ? "POST" : "GET",
          headers: { ...(init.cookie ? { cookie: init.cookie } : {}), ...(init.form ? { origin, "content-type": "application/x-www-form-urlencoded" } : {}) },
          ...(init.form ? { body: new URLSearchParams(init.form) } : {}),
        }),
      );
    for (const local of ["http://127.0.0.1:8787", "http://localhost:8787"]) {
      const [pair, ...attributes] = (await at(local, "/dashboard/login", { form: { token: ADMIN_TOKEN } })).headers.get("set-cookie")!.split(/;\s*/);
      expect(pair).toMatch(/^edgehook_local_session=[A-Za-z0-9_-]{43}$/);
      expect(attributes).toEqual(expect.arrayContaining(["Path=/", "HttpOnly", "SameSite=Strict"]));
      expect(attributes).not.toContain("Secure");
      expect((await at(local, "/dashboard/events", { cookie: pair })).status).toBe(200);
      // The same live secret under the other name, or this name over https, signs nobody in.
      const secret = pair!.split("=")[1];
      expect((await at(local, "/dashboard/events", { cookie: `${COOKIE}=${secret}` })).status).toBe(303);
      expect((await get("/dashboard/events", pair)).status).toBe(303);
      const out = (await at(local, "/dashboard/logout", { cookie: pair, form: {} })).headers.get("set-cookie")!.split(/;\s*/);
      expect(out[0]).toBe("edgehook_local_session=");
      expect(out).toContain("Max-Age=0");
      expect((await at(local, "/dashboard/events", { cookie: pair })).status).toBe(303);
    }
    // Over https at a loopback host (wrangler dev --local-protocol https), and over http elsewhere, the __Host- cookie as before.
    for (const origin of ["https://127.0.0.1:8787", "http://edgehook.test"]) {
      const set = (await at(origin, "/dashboard/login", { form: { token: ADMIN_TOKEN } })).headers.get("set-cookie")!;
      expect(set).toMatch(/^__Host-edgehook_session=[A-Za-z0-9_-]{43};/);
      expect(set).toContain("Secure");
    }
    // Where a browser drops it (plain http at another host), the sign-in page says so, not a silent loop back to it.
    const said = "Over plain http at this address your browser keeps no session";
    expect(await (await at("http://192.168.1.20:8787", "/dashboard/login")).text()).toContain(said);
    for (const origin of ["http://127.0.0.1:8787", "https://edgehook.test"]) expect(await (await at(origin, "/dashboard/login")).text()).not.toContain(said);
  });
});

describe("a session that ended", () => {
  it("sends the sign-in back to the page asked for, or to a form's page saying nothing was saved; never off the dashboard", async () => {
    const asked = await get("/dashboard/webhooks?cursor=x");
    expect(asked.headers.get("location")).toBe("/dashboard/login?next=%2Fdashboard%2Fwebhooks%3Fcursor%3Dx");
    const page = await (await get(asked.headers.get("location")!)).text();
    expect(page).toContain('name="next" value="/dashboard/webhooks?cursor=x"');

    // A form posted after the session ended (its cookie names no live session): its page, and why.
    const posted = await call(
      new Request(`${ORIGIN}/dashboard/webhooks`, {
        method: "POST",
        headers: { cookie: "__Host-edgehook_session=x".padEnd(66, "x"), origin: ORIGIN, referer: `${ORIGIN}/dashboard/webhooks/new`, "content-type": "application/x-www-form-urlencoded" },
        body: "url=https%3A%2F%2Fexample.com",
      }),
    );
    expect(posted.status).toBe(303);
    const login = new URL(posted.headers.get("location")!, ORIGIN);
    expect([login.pathname, login.searchParams.get("notice"), login.searchParams.get("next")]).toEqual(["/dashboard/login", "unsaved", "/dashboard/webhooks/new"]);
    expect(await (await get(`${login.pathname}${login.search}`)).text()).toContain("nothing was saved");

    // Signed in with it, back to that page; a next off the dashboard goes home instead.
    const back = await dashboardForm("/dashboard/login", null, { token: ADMIN_TOKEN, next: "/dashboard/webhooks/new" });
    expect(back.headers.get("location")).toBe("/dashboard/webhooks/new");
    for (const next of ["https://evil.example/dashboard/x", "//evil.example/dashboard/x", "/v1/tokens", "/dashboard/login?next=x", "javascript:alert(1)"]) {
      const home = await dashboardForm("/dashboard/login", null, { token: ADMIN_TOKEN, next });
      expect(home.headers.get("location"), next).toBe("/dashboard");
    }
    // A form whose answer stands where only its POST goes (a refused endpoint): back to the page above it.
    // (A test's result has a GET of its own, which without an event leads to the webhook's page.)
    for (const [next, page] of [
      ["/dashboard/webhooks/wh_1/test", "/dashboard/webhooks/wh_1/test"],
      ["/dashboard/alerts/endpoints", "/dashboard/alerts"],
    ] as const) {
      expect((await dashboardForm("/dashboard/login", null, { token: ADMIN_TOKEN, next })).headers.get("location"), next).toBe(page);
    }
    // A refused sign-in keeps where to go back to, and why it was asked for.
    const refused = await dashboardForm("/dashboard/login", null, { token: "nope", next: "/dashboard/alerts", notice: "unsaved" });
    expect(refused.headers.get("location")).toBe("/dashboard/login?error=invalid-token&notice=unsaved&next=%2Fdashboard%2Falerts");
    expect(await (await get(refused.headers.get("location")!)).text()).toContain('name="notice" value="unsaved"');
  });
});

describe("redirects stay in the dashboard", () => {
  it("keeps an encoded path traversal in an id under /dashboard/ on this origin", async () => {
    const cookie = await dashboardCookie();
    const { webhook } = await pipeline().webhookOn("ok");
    const posts = [
      "/dashboard/events/..%2F..%2F%2Fevil.example/replay",
      "/dashboard/events/..%5C..%5C%5Cevil.example/replay",
      "/dashboard/events/..%2F..%2F..%2F%2Fevil.example%2Fx/replay",
      "/dashboard/webhooks/..%2F..%2F%2Fevil.example/test",
      "/dashboard/webhooks/..%5C..%5C%5Cevil.example/test",
      "/dashboard/webhooks/..%2F..%2F%2Fevil.example/enable",
    ];
    // No id is made of such characters: refused (404) before any action, so no redirect at all
    // (redirectWith would still resolve one under /dashboard/).
    for (const path of posts) {
      const res = await dashboardForm(path, cookie, { eventId: "evt_nope" });
      expect(res.status, path).toBe(404);
      expect(res.headers.get("location"), path).toBeNull();
    }
    // So do the test's result's address and its refusal (GET).
    for (const path of posts.filter((p) => p.endsWith("/test"))) {
      const res = await get(`${path}?eventId=evt_nope`, cookie);
      expect([res.status, res.headers.get("location")], path).toEqual([404, null]);
    }
    // A real action still leads to its own pages: the test's result's, whose refusal leads to the webhook's.
    const missing = `evt_${"0".repeat(32)}`;
    const test = await dashboardForm(`/dashboard/webhooks/${webhook.uid}/test`, cookie, { eventId: missing });
    const result = target(test, "/");
    expect(`${result.pathname}${result.search}`).toBe(`/dashboard/webhooks/${webhook.uid}/test?eventId=${missing}`);
    expect(target(await get(`${result.pathname}${result.search}`, cookie), "/").pathname).toBe(`/dashboard/webhooks/${webhook.uid}`);
  });
});

describe("banners show only what the dashboard said", () => {
  const PHISH = "Token expired, paste it at https://evil.example/renew";

  it("ignores free text in ?notice= and ?error= on the sign-in page and on any page", async () => {
    const cookie = await dashboardCookie();
    const q = (kind: string) => `?${new URLSearchParams({ [kind]: PHISH })}`;
    for (const [path, c] of [
      [`/dashboard/login${q("error")}`, undefined],
      [`/dashboard/login${q("notice")}`, undefined],
      [`/dashboard/events${q("error")}`, cookie],
      [`/dashboard/webhooks${q("notice")}`, cookie],
      [`/dashboard${q("error")}&sig=${"0".repeat(64)}`, cookie],
    ] as const) {
      const html = await (await get(path, c)).text();
      expect(html, path).not.toContain("evil.example");
      expect(banners(html), path).toEqual([]);
    }
  });

  it("still shows a failed action's API error, and the sign-in page's own messages, but not another session's banner", async () => {
    const mine = await dashboardCookie();
    const theirs = await dashboardCookie();
    // A retry of a delivery that does not exist, which leads back to the events list (a page that is there).
    const missing = "dlv_0123456789abcdef0123456789abcdef";
    const res = await dashboardForm(`/dashboard/deliveries/${missing}/retry`, mine, { back: "" });
    expect(res.status).toBe(303);
    const to = target(res, "/");
    expect(to.pathname).toBe("/dashboard/events");
    const shown = async (c: string) => banners(await (await get(`${to.pathname}${to.search}`, c)).text());
    expect(await shown(mine)).toEqual([`No delivery "${missing}".`]);
    // The same link opened in another session (as one sent to a victim would be) shows nothing.
    expect(await shown(theirs)).toEqual([]);
    // Its signature holds for its own text and kind only: changed text, or the error shown as a notice, shows nothing.
    const altered = async (edit: (q: URLSearchParams) => void) => {
      const q = new URLSearchParams(to.search);
      edit(q);
      return banners(await (await get(`${to.pathname}?${q}`, mine)).text());
    };
    expect(await altered((q) => q.set("error", PHISH))).toEqual([]);
    expect(await altered((q) => (q.set("notice", q.get("error")!), q.delete("error")))).toEqual([]);
    // Nor can a banner be added to a signed one: a warning (as a save's carries), or a second error.
    expect(await altered((q) => q.append("warning", PHISH))).toEqual([]);
    expect(await altered((q) => q.append("error", PHISH))).toEqual([]);

    // The sign-in page's messages: a refused token, and signing out.
    const refused = await dashboardForm("/dashboard/login", null, { token: "nope" });
    expect(banners(await (await get(refused.headers.get("location")!)).text())).toEqual([
      "That token is not valid. The admin token is the Worker's ADMIN_TOKEN (locally in .dev.vars); a scoped token is shown once when it is made and stops working when revoked.",
    ]);
    const out = await dashboardForm("/dashboard/logout", mine, {});
    expect(banners(await (await get(out.headers.get("location")!)).text())).toEqual(["Signed out."]);
  });

  it("shows a successful action's notice with its figures", async () => {
    const p = pipeline();
    const cookie = await dashboardCookie();
    const { event: body } = await p.webhookOn("ok");
    const event = await p.ingest(body());
    const res = await dashboardForm(`/dashboard/events/${event}/replay`, cookie, {});
    const to = target(res, "/");
    expect(to.pathname).toBe(`/dashboard/events/${event}`);
    const [banner] = banners(await (await get(`${to.pathname}${to.search}`, cookie)).text());
    expect(banner).toMatch(/^Replayed: [1-9]\d* new deliveries\.$/);
  });
});

describe("the dashboard's own refusals are pages", () => {
  /** A refusal page's error banner, after checking it is an HTML page with a link back to the dashboard. */
  async function refusal(res: Response, status: number, what: string): Promise<{ banner: string[]; html: string }> {
    expect(res.status, what).toBe(status);
    expect(res.headers.get("content-type"), what).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html, what).toContain('<link rel="stylesheet" href="/dashboard/assets/app.css"/>');
    expect(html, what).toMatch(/<a href="\/dashboard">Back to the dashboard<\/a>/);
    return { banner: banners(html, "alert"), html };
  }

  it("answers a form over the body limit 413, saying so; made before the session is known, the page shows none, signed in or out", async () => {
    const cookie = await dashboardCookie();
    const big = "a".repeat(70 * 1024);
    const streamed = (c: string) =>
      call(
        new Request(`${ORIGIN}/dashboard/sources`, {
          method: "POST",
          headers: { cookie: c, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
          // No Content-Length: the limit counts the bytes as they come.
          body: new Blob([`name=${big}`]).stream(),
        }),
      );
    const answers: [string, Response][] = [
      ["signed in", await dashboardForm("/dashboard/sources", cookie, { name: big })],
      ["signed out", await dashboardForm("/dashboard/webhooks", null, { url: big })],
      ["at sign-in", await dashboardForm("/dashboard/login", null, { token: big })],
      ["streamed", await streamed(cookie)],
    ];
    for (const [what, res] of answers) {
      const { banner, html } = await refusal(res, 413, what);
      expect(banner, what).toEqual(["Request too large: the dashboard takes forms of up to 64 KiB."]);
      // What the sign-in page shows a signed-out visitor: no navigation, no sign-out.
      expect(html, what).not.toContain("<nav");
      expect(html, what).not.toContain("/dashboard/logout");
    }
  });

  it("answers a page's GET carrying a body over the limit 413 too; one with a small or empty body is the page", async () => {
    const cookie = await dashboardCookie();
    const page = (body: string, headers: Record<string, string> = {}) => call(bodiedRequest("GET", `${ORIGIN}/dashboard/events`, { cookie, ...headers }, body));
    const { banner } = await refusal(await page("a".repeat(70 * 1024)), 413, "a GET's body");
    expect(banner).toEqual(["Request too large: the dashboard takes forms of up to 64 KiB."]);
    for (const res of [await page("x=1"), await page("", { "content-length": "0" })]) {
      expect(res.status).toBe(200);
      expect(await res.text()).toContain("<nav");
    }
  });

  it("shows each secret made by a form on its own page, once, when several forms were sent before any page was opened (two tabs)", async () => {
    const cookie = await dashboardCookie();
    const key = uniqueKey();
    const secretIn = (html: string) => /(?:whsec|ehk)_[A-Za-z0-9+/=_-]+/g.exec(html)?.[0];
    // A webhook, a token and a notification endpoint, each form's redirect not yet followed.
    const posted = [
      await dashboardForm("/dashboard/webhooks", cookie, { url: `https://downstream.test/ok/${key}`, eventTypes: "*" }),
      await dashboardForm("/dashboard/tokens", cookie, [["name", `tab ${key}`], ["scopes", "events:read"]]),
      await dashboardForm("/dashboard/alerts/endpoints", cookie, { url: `https://downstream.test/ok/${key}-alerts`, alertTypes: "webhook.failing" }),
    ];
    const pages = posted.map((res) => res.headers.get("location")!);
    expect(new Set(pages).size).toBe(3);
    // A HEAD of a page (a prefetch, a link checker) takes nothing.
    for (const path of pages) expect((await call(new Request(`${ORIGIN}${path}`, { method: "HEAD", headers: { cookie } }))).status).toBe(200);
    // Opened last first: each page shows the secret its own form made, and only that one.
    const says = ["Copy the signing secret of this webhook now", "Copy this API token now", "Copy the signing secret of this notification endpoint now"];
    const shown = new Map<number, string>();
    for (const i of [2, 0, 1]) {
      const html = await (await dashboardShown(posted[i]!, cookie)).text();
      expect(text(html), pages[i]).toContain(says[i]);
      const secrets = [...html.matchAll(/(?:whsec|ehk)_[A-Za-z0-9+/=_-]+/g)].map((m) => m[0]);
      expect(secrets, pages[i]).toHaveLength(1);
      shown.set(i, secrets[0]!);
    }
    expect(new Set(shown.values()).size).toBe(3);
    // The token shown is the one the token form made.
    expect(shown.get(1)).toMatch(/^ehk_/);
    expect((await call(new Request(`${ORIGIN}/v1/events?limit=1`, { headers: { authorization: `Bearer ${shown.get(1)}` } }))).status).toBe(200);
    // And once: opened again, no page shows a secret.
    for (const path of pages) expect(secretIn(await (await get(path, cookie)).text()), path).toBeUndefined();
  });

  it("shows a secret made by a form once, on the page the form redirects to: reloading it makes nothing again and shows nothing again", async () => {
    const cookie = await dashboardCookie();
    const url = `https://downstream.test/ok/${uniqueKey()}`;
    const posted = await dashboardForm("/dashboard/webhooks", cookie, { url, eventTypes: "*" });
    expect(posted.status).toBe(303);
    expect(posted.headers.get("location")).toMatch(/^\/dashboard\/created\/[A-Za-z0-9_-]{43}$/);
    const shown = await (await dashboardShown(posted, cookie)).text();
    const secret = /whsec_[A-Za-z0-9+/=]+/.exec(shown)?.[0];
    expect(secret).toBeDefined();
    const made = (await pipeline().api("GET", "/v1/webhooks?limit=100")).json.data.filter((w: { url: string }) => w.url === url);
    expect(made).toHaveLength(1);
    expect(shown).toContain(`/dashboard/webhooks/${made[0].uid}`);
    // Reloaded (or opened again): the secret is gone, and nothing more was made.
    const again = await call(new Request(`${ORIGIN}${posted.headers.get("location")}`, { headers: { cookie } }));
    expect(again.status).toBe(200);
    const againHtml = await again.text();
    expect(againHtml).not.toContain(secret!);
    expect(text(againHtml)).toContain("shown once");
    // Where a new one comes from: the API or the CLI (the dashboard's form has no secret field).
    expect(text(againHtml)).toContain("PATCH /v1/webhooks/{uid} with secret");
    expect((await pipeline().api("GET", "/v1/webhooks?limit=100")).json.data.filter((w: { url: string }) => w.url === url)).toHaveLength(1);
    // Another session never sees it.
    const other = await dashboardCookie();
    const posted2 = await dashboardForm("/dashboard/webhooks", cookie, { url: `${url}-2`, eventTypes: "*" });
    const elsewhere = await (await call(new Request(`${ORIGIN}${posted2.headers.get("location")}`, { headers: { cookie: other } }))).text();
    expect(elsewhere).not.toMatch(/whsec_/);
    expect(await (await dashboardShown(posted2, cookie)).text()).toMatch(/whsec_/);
  });

  it("refuses an action posted from another origin, or from nowhere it says, whatever its content type: a field-less one takes any body", async () => {
    const cookie = await dashboardCookie();
    const p = pipeline();
    const made = await p.api("POST", "/v1/webhooks", { url: `https://downstream.test/ok/${uniqueKey()}`, eventTypes: ["*"], organizationUid: `org-${uniqueKey()}` });
    const del = (headers: Record<string, string>) =>
      call(new Request(`${ORIGIN}/dashboard/webhooks/${made.json.uid}/delete`, { method: "POST", headers: { cookie, "content-type": "application/json", ...headers }, body: "{}" }));
    const elsewhere: Record<string, string>[] = [{ origin: "https://evil.example", "sec-fetch-site": "cross-site" }, { "sec-fetch-site": "same-site" }, {}];
    for (const headers of elsewhere) {
      const refused = await refusal(await del(headers), 403, JSON.stringify(headers));
      expect(refused.banner).toEqual(["Cross-origin form posts are refused."]);
      expect((await p.api("GET", `/v1/webhooks/${made.json.uid}`)).status).toBe(200);
    }
    // From our own pages (the browser says so), it goes through.
    const ours = await del({ "sec-fetch-site": "same-origin" });
    expect(ours.status).toBe(303);
    expect((await p.api("GET", `/v1/webhooks/${made.json.uid}`)).status).toBe(404);
  });

  it("answers a form posted from another origin 403, a path no page serves 404 (405 for a method it does not take) and its own failure 500, each a page", async () => {
    const cookie = await dashboardCookie();
    const key = uniqueKey();
    const crossOrigin = await call(
      new Request(`${ORIGIN}/dashboard/sources`, {
        method: "POST",
        headers: { cookie, origin: "https://evil.example", "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ id: `csrf-${key}`, name: "x", provider: "podium", secret: "s".repeat(16) }),
      }),
    );
    const refused = await refusal(crossOrigin, 403, "cross-origin");
    expect(refused.banner).toEqual(["Cross-origin form posts are refused."]);
    // Refused before the session is looked up: the signed-out page; and nothing was made.
    expect(refused.html).not.toContain("<nav");
    expect((await pipeline().api("GET", `/v1/sources/csrf-${key}`)).status).toBe(404);

    const missing = await get(`/dashboard/nowhere-${key}`, cookie);
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toMatch(/^text\/html/);
    const page = await missing.text();
    expect(banners(page, "alert")).toEqual([`No dashboard page at /dashboard/nowhere-${key}.`]);
    expect(page).toContain("<nav"); // signed in: the layout as on every page
    // A page's path with a method it does not take: 405, naming those it takes, as the API's.
    const wrongMethod = await get("/dashboard/logout", cookie);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("POST");
    expect(banners(await wrongMethod.text(), "alert")).toEqual(["GET is not served here; use POST."]);
    // An action's name is one of its own: another is no page (404), whatever the method; one of
    // them with the wrong method is a 405. A path that only looks like a page's (a parameter the
    // router refused) is a 404 too, never a 405 naming the method it was asked with.
    const post = (path: string) => call(new Request(`${ORIGIN}${path}`, { method: "POST", headers: { cookie, origin: ORIGIN } }));
    for (const res of [await get(`/dashboard/webhooks/w-${key}/frobnicate`, cookie), await post(`/dashboard/webhooks/w-${key}/frobnicate`)]) {
      expect(res.status).toBe(404);
      expect(banners(await res.text(), "alert")).toEqual([`No dashboard page at /dashboard/webhooks/w-${key}/frobnicate.`]);
    }
    // (A delete's GET is its confirm page: enabling has none.)
    const getAction = await get(`/dashboard/webhooks/w-${key}/enable`, cookie);
    expect(getAction.status).toBe(405);
    expect(getAction.headers.get("allow")).toBe("POST");
    // A page whose last parameter is optional (the secret's page, with its key or without) is served at both paths.
    for (const path of ["/dashboard/created", `/dashboard/created/${"k".repeat(43)}`]) {
      const res = await post(path);
      expect(res.status, path).toBe(405);
      expect(res.headers.get("allow"), path).toBe("GET, HEAD");
    }
    // Signed out, an unknown path signs in first, as every other does.
    expect((await get(`/dashboard/nowhere-${key}`)).status).toBe(303);

    // D1 down: the session cannot be looked up, so the page is the signed-out one.
    const broken = await call(new Request(`${ORIGIN}/dashboard/webhooks`, { headers: { cookie } }), { DB: d1Double({ down: true }).db });
    const failed = await refusal(broken, 500, "failure");
    expect(failed.banner).toEqual(["Something went wrong on our side; it has been logged."]);
    expect(failed.html).not.toContain("D1 unavailable");
    expect(failed.html).not.toContain("<nav");
  });

  it("answers an address over the failed-authentication limit 429 with when to try again, showing nothing of the session it did not look up", async () => {
    const cookie = await dashboardCookie();
    const client = clientAddress();
    const from = (init: RequestInit & { path: string }) => {
      const headers = new Headers(init.headers);
      headers.set("cf-connecting-ip", client);
      return call(new Request(`${ORIGIN}${init.path}`, { ...init, headers }));
    };
    const signIn = (token: string) =>
      from({ path: "/dashboard/login", method: "POST", headers: { origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ token }) });
    // A refused sign-in goes back to the sign-in page (303).
    await failUntilLimited(303, (i) => signIn(`guess-${i}`));
    const answers: [string, Response][] = [
      ["sign-in", await signIn(ADMIN_TOKEN)],
      ["a live session's page", await from({ path: "/dashboard/webhooks", headers: { cookie } })],
    ];
    for (const [what, res] of answers) {
      expect(res.headers.get("retry-after"), what).toMatch(/^\d+$/);
      const { banner, html } = await refusal(res, 429, what);
      expect(banner, what).toEqual([expect.stringMatching(/^Too many failed authentications from this address; try again in \d+ s\.$/)]);
      expect(html, what).not.toContain("<nav");
      expect(html, what).not.toContain("/dashboard/logout");
    }
  });
});
