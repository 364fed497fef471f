import { env } from "cloudflare:workers";
import { describe, expect, it, onTestFinished } from "vitest";
import { BULK_RETRY_LIMIT } from "../../src/api/routes/deliveries";
import { EVENT_DELIVERIES_SHOWN } from "../../src/api/schemas/events";
import { encodeRetryCursor, retryScope } from "../../src/api/cursors";
import { runMaintenance } from "../../src/maintenance/cron";
import { EventPage } from "../../src/dashboard/pages/events";
import { ADMIN, ADMIN_TOKEN, call, createSource, pageText, podiumBody, testEnv } from "./helpers";
import { pipeline } from "./pipeline";
import { recordDeadLetters } from "../../src/store/dead-letters";
import { openEpisodeStatement } from "../../src/store/alerts";
import { failedDeliveries, failPending, webhookDeliveryRows } from "./rows";

const url = (path: string) => `https://edgehook.test${path}`;

async function signIn(token = ADMIN_TOKEN) {
  const res = await call(
    new Request(url("/dashboard/login"), {
      method: "POST",
      headers: { origin: "https://edgehook.test", "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token }),
    }),
  );
  return res;
}

/** Where a visit to the events page without a live session is sent: to sign in, and back. */
const SIGN_IN_TO_EVENTS = "/dashboard/login?next=%2Fdashboard%2Fevents";

describe("dashboard sessions and security", () => {
  it("sends visitors without a session to sign in", async () => {
    const res = await call(new Request(url("/dashboard/events")));
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(SIGN_IN_TO_EVENTS);
  });

  it("serves a page asked for with a trailing slash (/dashboard/, as it is often typed) as the page without it, signed in or signing in there", async () => {
    /** Follows redirects as a browser does, with the session cookie once it is set: the last answer and where it stands. */
    async function visit(path: string, init?: RequestInit) {
      let cookie = "";
      let res = await call(new Request(url(path), init));
      let at = url(path);
      for (let hops = 0; res.status >= 300 && res.status < 400 && hops < 5; hops++) {
        cookie = res.headers.get("set-cookie")?.split(";")[0] ?? cookie;
        at = new URL(res.headers.get("location")!, at).href;
        res = await call(new Request(at, { headers: cookie ? { cookie } : {} }));
      }
      return { res, at: new URL(at) };
    }
    const signedOut = await call(new Request(url("/dashboard/")));
    const signInPage = new URL(signedOut.headers.get("location")!, url("/"));
    expect(signInPage.pathname).toBe("/dashboard/login");
    // Signing in there goes back to the overview.
    const landed = await visit("/dashboard/login", {
      method: "POST",
      headers: { origin: "https://edgehook.test", "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: ADMIN_TOKEN, next: signInPage.searchParams.get("next")! }),
    });
    expect(landed.res.status).toBe(200);
    expect(landed.at.pathname).toBe("/dashboard");
    expect(pageText(await landed.res.text())).toContain("events in 24 h");
    const cookie = (await signIn()).headers.get("set-cookie")!.split(";")[0]!;
    const events = await call(new Request(url("/dashboard/events/?eventType=message.received"), { headers: { cookie } }));
    expect(events.status).toBe(301);
    expect(new URL(events.headers.get("location")!).pathname + new URL(events.headers.get("location")!).search).toBe("/dashboard/events?eventType=message.received");
  });

  it("keeps the session in an HttpOnly, Secure, SameSite=Strict cookie, and refuses a wrong token", async () => {
    const ok = await signIn();
    expect(ok.status).toBe(303);
    const cookie = ok.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^__Host-edgehook_session=/);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("Secure");
    expect(cookie).toContain("SameSite=Strict");
    const bad = await signIn("nope");
    expect(bad.headers.get("location")).toContain("/dashboard/login?error=");
    expect(bad.headers.get("set-cookie")).toBeNull();
  });

  it("refuses actions posted from another origin (CSRF)", async () => {
    const cookie = (await signIn()).headers.get("set-cookie")!.split(";")[0]!;
    const res = await call(
      new Request(url("/dashboard/webhooks"), {
        method: "POST",
        headers: { cookie, origin: "https://evil.example", "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ url: "https://downstream.test/ok/csrf", eventTypes: "*" }),
      }),
    );
    expect(res.status).toBe(403);
  });

  it("sends a strict Content-Security-Policy and the usual security headers", async () => {
    const cookie = (await signIn()).headers.get("set-cookie")!.split(";")[0]!;
    const res = await call(new Request(url("/dashboard/events"), { headers: { cookie } }));
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy")!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBe("SAMEORIGIN");
    const html = await res.text();
    expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
    expect(html).not.toMatch(/<script>(?!<\/script>)/); // no inline script
  });

  it("shows a catch-all webhook as such, in the list and on its page", async () => {
    const cookie = (await signIn()).headers.get("set-cookie")!.split(";")[0]!;
    const key = crypto.randomUUID().slice(0, 8);
    await createSource({ id: `nothing-${key}`, secrets: ["a-source-of-its-own"] });
    const created = await call(
      new Request(url("/v1/webhooks"), {
        method: "POST",
        headers: { ...ADMIN, "content-type": "application/json" },
        body: JSON.stringify({ url: `https://downstream.test/ok/${key}`, eventTypes: ["*"], sourceIds: [`nothing-${key}`] }),
      }),
    );
    const { uid } = (await created.json()) as { uid: string };
    const list = await (await call(new Request(url("/dashboard/webhooks"), { headers: { cookie } }))).text();
    const row = list.slice(list.indexOf(`/dashboard/webhooks/${uid}`));
    expect(row.slice(0, row.indexOf("</tr>"))).toContain("catch-all");
    const page = await (await call(new Request(url(`/dashboard/webhooks/${uid}`), { headers: { cookie } }))).text();
    expect(page).toContain("catch-all");
  });

  it("serves /docs under a CSP that allows scripts only from its own origin and its inline ones by hash", async () => {
    const res = await call(new Request(url("/docs")));
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy")!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src [^;]*'sha256-[A-Za-z0-9+/=]+'/);
    expect(csp).not.toMatch(/script-src [^;]*'unsafe-inline'/);
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    // Every script is this origin's: the pinned bundle served from /docs, and the inline ones by hash.
    const html = await res.text();
    expect([...html.matchAll(/<script[^>]*\bsrc="([^"]*)"/g)].map((m) => m[1])).toEqual(["/docs/api-reference.js"]);
    expect(csp).toMatch(/script-src 'self'( 'sha256-[A-Za-z0-9+/=]+')+;/);
    expect(csp).not.toMatch(/https?:/);
  });
});

const sha256Hex = async (s: string) =>
  [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s)))].map((b) => b.toString(16).padStart(2, "0")).join("");

/** The session cookie a sign-in set, as `name=value`, and its value. */
async function session(token = ADMIN_TOKEN) {
  const res = await signIn(token);
  const pair = res.headers.get("set-cookie")?.split(";")[0];
  if (!pair) throw new Error(`no session: ${res.status} ${res.headers.get("location")}`);
  return { cookie: pair, secret: pair.slice(pair.indexOf("=") + 1) };
}

const page = (path: string, cookie: string, init: RequestInit = {}) =>
  call(new Request(url(path), { ...init, headers: { cookie, origin: "https://edgehook.test", ...(init.headers ?? {}) } }));

describe("server-side dashboard sessions", () => {
  it("puts a random session secret in the cookie, never the token, and keeps only its hash for 8 hours", async () => {
    const { secret } = await session();
    expect(secret).not.toContain(ADMIN_TOKEN);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const row = await env.DB.prepare("SELECT * FROM sessions WHERE id = ?").bind(await sha256Hex(secret)).first<{ created_at: number; expires_at: number; principal: string }>();
    expect(row).not.toBeNull();
    expect(row!.expires_at - row!.created_at).toBe(8 * 3600_000);
    expect(row!.principal).not.toContain(ADMIN_TOKEN);
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM sessions WHERE id = ?").bind(secret).first("n")).toBe(0);
    const again = await session();
    expect(again.secret).not.toBe(secret);
  });

  it("never accepts the session cookie as a /v1 bearer token", async () => {
    const { secret } = await session();
    const res = await call(new Request(url("/v1/events"), { headers: { authorization: `Bearer ${secret}` } }));
    expect(res.status).toBe(401);
  });

  it("ends the session on the server at logout: the old cookie no longer works", async () => {
    const { cookie, secret } = await session();
    expect((await page("/dashboard/events", cookie)).status).toBe(200);
    const out = await page("/dashboard/logout", cookie, { method: "POST" });
    expect(out.status).toBe(303);
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM sessions WHERE id = ?").bind(await sha256Hex(secret)).first("n")).toBe(0);
    const after = await page("/dashboard/events", cookie);
    expect(after.status).toBe(303);
    expect(after.headers.get("location")).toBe(SIGN_IN_TO_EVENTS);
  });

  it("refuses a session past its server-side expiry, whatever the cookie says", async () => {
    const { cookie, secret } = await session();
    expect((await page("/dashboard/events", cookie)).status).toBe(200);
    await env.DB.prepare("UPDATE sessions SET expires_at = ? WHERE id = ?").bind(Date.now() - 1, await sha256Hex(secret)).run();
    const res = await page("/dashboard/events", cookie);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(SIGN_IN_TO_EVENTS);
  });

  it("stops a scoped token's sessions when the token is revoked", async () => {
    const created = await call(
      new Request(url("/v1/tokens"), {
        method: "POST",
        headers: { ...ADMIN, "content-type": "application/json" },
        body: JSON.stringify({ name: "dash", scopes: ["events:read"] }),
      }),
    );
    const { id, token } = (await created.json()) as { id: string; token: string };
    const { cookie } = await session(token);
    expect((await page("/dashboard/events", cookie)).status).toBe(200);
    expect((await call(new Request(url(`/v1/tokens/${id}`), { method: "DELETE", headers: ADMIN }))).status).toBe(204);
    const res = await page("/dashboard/events", cookie);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(SIGN_IN_TO_EVENTS);
  });

  it("starts a scoped token's dashboard on the first page its scopes show, and leads back there from a page they do not", async () => {
    const make = async (scopes: string[]) => {
      const res = await call(new Request(url("/v1/tokens"), { method: "POST", headers: { ...ADMIN, "content-type": "application/json" }, body: JSON.stringify({ name: "home", scopes }) }));
      return ((await res.json()) as { token: string }).token;
    };
    // A token for sources alone was sent to the webhooks, which it may not read: a 403 whose link led back to it.
    const sources = await make(["sources:read", "sources:write"]);
    const signedIn = await signIn(sources);
    expect(signedIn.headers.get("location")).toBe("/dashboard/sources");
    const cookie = signedIn.headers.get("set-cookie")!.split(";")[0]!;
    expect((await page("/dashboard/sources", cookie)).status).toBe(200);
    const refused = await page("/dashboard/events", cookie);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('href="/dashboard/sources">Back to the dashboard');
    expect((await signIn(await make(["webhooks:read"]))).headers.get("location")).toBe("/dashboard/webhooks");
    expect((await signIn(await make(["events:read"]))).headers.get("location")).toBe("/dashboard");
  });

  it("stops admin sessions when ADMIN_TOKEN changes", async () => {
    const { cookie } = await session();
    expect((await page("/dashboard/events", cookie)).status).toBe(200);
    const rotated = await call(new Request(url("/dashboard/events"), { headers: { cookie } }), { ADMIN_TOKEN: `${ADMIN_TOKEN}-rotated` });
    expect(rotated.status).toBe(303);
  });

  it("has the maintenance run delete expired sessions and keep live ones", async () => {
    const { secret: live } = await session();
    const { secret: old } = await session();
    await env.DB.prepare("UPDATE sessions SET expires_at = ? WHERE id = ?").bind(Date.now() - 1, await sha256Hex(old)).run();
    await runMaintenance(testEnv().env);
    const ids = async (s: string) => env.DB.prepare("SELECT COUNT(*) AS n FROM sessions WHERE id = ?").bind(await sha256Hex(s)).first("n");
    expect(await ids(old)).toBe(0);
    expect(await ids(live)).toBe(1);
  });

  it("has the maintenance run delete secrets no page took before they expired, and keep those still waiting", async () => {
    const { secret } = await session();
    const sessionId = await sha256Hex(secret);
    const waiting = (id: string, expiresAt: number) =>
      env.DB.prepare("INSERT INTO session_reveals (id, session_id, reveal, expires_at) VALUES (?, ?, '{}', ?)").bind(id, sessionId, expiresAt).run();
    const [stale, fresh] = [crypto.randomUUID(), crypto.randomUUID()];
    await waiting(stale, Date.now() - 1);
    await waiting(fresh, Date.now() + 60_000);
    await runMaintenance(testEnv().env);
    const left = await env.DB.prepare("SELECT id FROM session_reveals WHERE session_id = ?").bind(sessionId).all<{ id: string }>();
    expect(left.results.map((r) => r.id)).toEqual([fresh]);
  });
});

describe("dashboard input", () => {
  it("sends the retry form back only to an event id, ignoring any other `back`", async () => {
    const { cookie } = await session();
    for (const back of ["../sources?notice=Signed", "//evil.example/x", "evt_../../webhooks", "evt_ZZ"]) {
      const res = await page("/dashboard/deliveries/dlv_nope/retry", cookie, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ back }),
      });
      expect(res.status).toBe(303);
      expect(new URL(res.headers.get("location")!, "https://x").pathname).toBe("/dashboard/events");
    }
    const good = await page("/dashboard/deliveries/dlv_nope/retry", cookie, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ back: "evt_0123456789abcdef0123456789abcdef" }),
    });
    expect(new URL(good.headers.get("location")!, "https://x").pathname).toBe("/dashboard/events/evt_0123456789abcdef0123456789abcdef");
  });

  it("pretty-prints a normal body, and shows a deeply nested one as received, in a page linear in its size", async () => {
    const p = pipeline();
    const { cookie } = await session();
    const normal = await p.ingest(podiumBody({ type: "message.received" }));
    const normalPage = await (await page(`/dashboard/events/${normal}`, cookie)).text();
    expect(normalPage).toContain('\n  &quot;metadata&quot;: {\n    &quot;eventType&quot;: &quot;message.received&quot;');

    const meta = JSON.parse(podiumBody()) as Record<string, unknown>;
    const deep = `{"metadata":${JSON.stringify(meta.metadata)},"data":${"[".repeat(3000)}${"]".repeat(3000)}}`;
    expect(deep.length).toBeGreaterThan(6000);
    const deepId = await p.ingest(deep);
    const res = await page(`/dashboard/events/${deepId}`, cookie);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain(`${"[".repeat(3000)}${"]".repeat(3000)}`);
    expect(html.length).toBeLessThan(4 * deep.length);
  });
});

/**
 * Presses a webhook's "retry failed" button on a page, with what its form carries (and the page as
 * its Referer, as a browser sends it): answers that cursor (if any) and the query of the page the press leads to.
 */
async function pressRetryFailed(shown: string, webhookUid: string, cookie: string) {
  const html = await (await page(shown, cookie)).text();
  const form = new RegExp(`action="/dashboard/webhooks/${webhookUid}/retry-failed"[^>]*>(.*?)</form>`, "s").exec(html)?.[1];
  expect(form).toBeDefined();
  const cursor = /name="cursor" value="([^"]+)"/.exec(form!)?.[1];
  const res = await page(`/dashboard/webhooks/${webhookUid}/retry-failed`, cookie, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", referer: url(shown) },
    body: new URLSearchParams(cursor ? { cursor } : {}),
  });
  expect(res.status).toBe(303);
  const to = new URL(res.headers.get("location")!, "https://x");
  return { cursor, to };
}

describe("retrying a webhook's failed deliveries", () => {
  it(`says more may remain after a press took ${BULK_RETRY_LIMIT}, and the next press goes on after them even when they failed again`, async () => {
    const p = pipeline();
    const { webhook, event } = await p.webhookOn("ok");
    await failedDeliveries(await p.ingest(event()), webhook.uid, BULK_RETRY_LIMIT); // the bound and one more
    const { cookie } = await session();
    const statuses = async () => (await webhookDeliveryRows(webhook.uid)).map((r) => r.status);
    // Presses the button on the page the last press led to, with what its form carries.
    let shown = "/dashboard/webhooks";
    const press = async () => {
      const { to } = await pressRetryFailed(shown, webhook.uid, cookie);
      shown = `${to.pathname}${to.search}`;
      return to.searchParams.get("notice");
    };
    expect(await press()).toBe(`${BULK_RETRY_LIMIT} failed deliveries will be tried again, oldest first. More failed deliveries may remain: press again for the next ones.`);
    expect(await statuses()).toEqual([...Array(BULK_RETRY_LIMIT).fill("pending"), "failed"]);
    // They fail again before the next press, which still takes the one after them.
    await failPending(webhook.uid);
    expect(await press()).toBe("1 failed delivery will be tried again, oldest first.");
    expect(await statuses()).toEqual([...Array(BULK_RETRY_LIMIT).fill("failed"), "pending"]);
    // Done: the press after that (on the webhook's page, where a press that may leave more leads, and where this one was pressed) starts from the oldest again.
    expect(shown).toMatch(new RegExp(`^/dashboard/webhooks/${webhook.uid}\\?notice=`));
    expect(await press()).toMatch(new RegExp(`^${BULK_RETRY_LIMIT} failed deliveries`));
  });

  it("says a disabled webhook's failed deliveries are held, not tried, and what sends them", async () => {
    const p = pipeline();
    const { webhook, event } = await p.webhookOn("ok");
    await failedDeliveries(await p.ingest(event()), webhook.uid, 1); // two failed
    expect((await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { disabled: true })).status).toBe(200);
    const { cookie } = await session();
    const { to } = await pressRetryFailed(`/dashboard/webhooks/${webhook.uid}`, webhook.uid, cookie);
    expect(to.searchParams.get("notice")).toBe("2 failed deliveries are held while the webhook is disabled: enable it to send them, oldest first.");
    expect((await webhookDeliveryRows(webhook.uid)).map((r) => r.status)).toEqual(["held", "held"]);
  });

  it("goes on from a press's cursor only as this session signed it for this webhook: a crafted link's cursor is ignored", async () => {
    const p = pipeline();
    const { webhook, event } = await p.webhookOn("ok");
    const other = await p.webhookOn("ok");
    await failedDeliveries(await p.ingest(event()), webhook.uid, BULK_RETRY_LIMIT); // the bound and one more
    const { cookie } = await session();
    const here = `/dashboard/webhooks/${webhook.uid}`;
    const statuses = async () => (await webhookDeliveryRows(webhook.uid)).map((r) => r.status);
    const pressOn = async (shown: string, as = cookie) => {
      const { cursor, to } = await pressRetryFailed(shown, webhook.uid, as);
      return { cursor, next: to.searchParams };
    };

    const first = await pressOn(here);
    expect(first.cursor).toBeUndefined();
    const genuine = first.next;
    expect(genuine.get("retryCursor")).toEqual(expect.any(String));
    expect(genuine.has("retry")).toBe(false); // the page's own webhook: not repeated
    await failPending(webhook.uid);
    const restart = async () => {
      await failPending(webhook.uid);
      expect(await statuses()).toEqual(Array(BULK_RETRY_LIMIT + 1).fill("failed"));
    };

    // Past every delivery: a press from there would retry none of them.
    const far = await encodeRetryCursor(env, retryScope({ status: "failed", webhookUid: webhook.uid }), { webhook: 2 ** 40, seq: 0 });
    const sig = genuine.get("retrySig") ?? "";
    const flipped = `${sig.slice(0, -1)}${sig.endsWith("0") ? "1" : "0"}`;
    const otherSession = (await session()).cookie;
    // A press on another webhook (made after this one: its cursor is past all of this one's deliveries).
    await failedDeliveries(await p.ingest(other.event()), other.webhook.uid, BULK_RETRY_LIMIT);
    const otherWebhooks = (await pressRetryFailed(`/dashboard/webhooks/${other.webhook.uid}`, other.webhook.uid, cookie)).to.searchParams;
    expect(otherWebhooks.get("retryCursor")).toEqual(expect.any(String));
    const crafted: [string, string][] = [
      [`${here}?retry=${webhook.uid}&retryCursor=${far}`, cookie], // unsigned
      [`${here}?retryCursor=${far}&retrySig=${sig}`, cookie], // another cursor's signature
      [`${here}?retryCursor=${genuine.get("retryCursor")}&retrySig=${flipped}`, cookie], // an altered signature
      [`${here}?${genuine}`, otherSession], // signed for another session
      [`${here}?${otherWebhooks}`, cookie], // signed for another webhook's page
    ];
    for (const [link, as] of crafted) {
      const pressed = await pressOn(link, as);
      expect(pressed.cursor, link).toBeUndefined();
      // From the beginning: the oldest page.
      expect(await statuses(), link).toEqual([...Array(BULK_RETRY_LIMIT).fill("pending"), "failed"]);
      await restart();
    }

    // The genuine link goes on after the first press's page.
    const genuinePress = await pressOn(`${here}?${genuine}`);
    expect(genuinePress.cursor).toBeDefined();
    expect(await statuses()).toEqual([...Array(BULK_RETRY_LIMIT).fill("failed"), "pending"]);
  });
});

describe("dashboard lists longer than a page", () => {
  const uidsIn = (html: string, path: string) =>
    [...html.matchAll(new RegExp(`${path}/([0-9a-f-]{36})`, "g"))].map((m) => m[1]!).filter((u, i, all) => all.indexOf(u) === i);
  const nextLink = (html: string, label: string) => new RegExp(`href="(/dashboard/[^"?]+\\?[^"]+)">${label}`).exec(html)?.[1]?.replaceAll("&amp;", "&");
  /**
   * Whether a paragraph opens inside another: a browser closes the outer one there, moving what
   * follows out of it (the events list's page links left its live-updated `#event-next`, then doubled).
   */
  const paragraphInParagraph = (html: string) => {
    let open = 0;
    for (const [tag] of html.matchAll(/<\/?p[\s>]/g)) {
      if (tag.startsWith("</")) open = Math.max(open - 1, 0);
      else if (++open > 1) return true;
    }
    return false;
  };
  /** A later page's link back to the list's first page (its page's paragraphs well formed). */
  const firstLink = (html: string) => {
    expect(paragraphInParagraph(html)).toBe(false);
    return /href="([^"]+)">← First page</.exec(html)?.[1]?.replaceAll("&amp;", "&");
  };

  it("pages through more than 100 webhooks", async () => {
    const p = pipeline();
    const key = crypto.randomUUID().slice(0, 8);
    const org = `org-${key}`;
    const made = new Set<string>();
    for (let i = 0; i < 101; i++) made.add((await p.createWebhook({ url: `https://downstream.test/ok/${key}/${i}`, eventTypes: ["*"], organizationUid: org })).uid);
    const token = await p.api("POST", "/v1/tokens", { name: `t-${key}`, scopes: ["webhooks:read"], organizationUids: [org] });
    const { cookie } = await session(token.json.token);

    const first = await (await page("/dashboard/webhooks", cookie)).text();
    const next = nextLink(first, "More webhooks");
    expect(next).toMatch(/^\/dashboard\/webhooks\?cursor=/);
    const second = await (await page(next!, cookie)).text();
    expect(nextLink(second, "More webhooks")).toBeUndefined();
    // Back to the first page from the later one, not from the first itself.
    expect([firstLink(first), firstLink(second)]).toEqual([undefined, "/dashboard/webhooks"]);
    const [a, b] = [uidsIn(first, "/dashboard/webhooks"), uidsIn(second, "/dashboard/webhooks")];
    expect(a).toHaveLength(100);
    expect(new Set([...a, ...b])).toEqual(made);
  });

  it("shows an event's first page of deliveries and says where the rest are: the API's list by event, from its cursor", async () => {
    const p = pipeline();
    const hook = await p.webhookOn("ok");
    const id = await p.ingest(hook.event());
    const { cookie } = await session();
    const cards = (html: string) => [...html.matchAll(/aria-label="Delivery (dlv_[0-9a-f]{32})"/g)].map((m) => m[1]!);
    const one = await (await page(`/dashboard/events/${id}`, cookie)).text();
    expect(cards(one)).toHaveLength(1);
    expect(one).not.toContain('id="more-deliveries"');

    for (let i = 0; i < EVENT_DELIVERIES_SHOWN; i++) expect((await p.api("POST", `/v1/events/${id}/replay`, {})).status).toBe(202);
    const detail = (await p.api("GET", `/v1/events/${id}`)).json;
    const many = await (await page(`/dashboard/events/${id}`, cookie)).text();
    expect(cards(many)).toEqual(detail.deliveries.map((d: { id: string }) => d.id));
    expect(cards(many)).toHaveLength(EVENT_DELIVERIES_SHOWN);
    const more = /<p class="muted" id="more-deliveries">([\s\S]*?)<\/p>/.exec(many)?.[1];
    expect(pageText(more ?? "").trim()).toBe(
      `${EVENT_DELIVERIES_SHOWN} shown, newest first; more via the API: GET /v1/deliveries?eventId=${id}&cursor=${encodeURIComponent(detail.deliveriesNextCursor)}`,
    );
    // What it names is the rest: the event's oldest delivery, the one routed when it was stored.
    const rest = (await p.api("GET", `/v1/deliveries?eventId=${id}&cursor=${encodeURIComponent(detail.deliveriesNextCursor)}`)).json;
    expect(rest.data).toHaveLength(1);
    expect(cards(many)).not.toContain(rest.data[0].id);
    // A first page can be empty and still have a cursor (an event replayed past EVENT_RANGE_DELIVERIES): not "no webhook was owed".
    const empty = pageText(String(await EventPage({ event: { ...detail, deliveries: [] }, canReplay: false, canReadWebhooks: false, limited: false }).toString()));
    expect(empty).not.toContain("No webhook was owed this event.");
    expect(empty).toContain("0 shown, newest first; more via the API: GET /v1/deliveries?eventId=");
  });

  it("pages back through events keeping the filters: the older page is the same search, further back", async () => {
    const p = pipeline();
    const org = `org-${crypto.randomUUID().slice(0, 8)}`;
    // The oldest: where the older page would show it if the type filter were lost.
    const other = await p.ingest(podiumBody({ organizationUid: org, type: "contact.updated" }));
    const made = new Set<string>();
    for (let i = 0; i < 51; i++) made.add(await p.ingest(podiumBody({ organizationUid: org, type: "message.received" })));
    const { cookie } = await session();
    const idsIn = (html: string) => [...html.matchAll(/\/dashboard\/events\/(evt_[0-9a-f]{32})/g)].map((m) => m[1]!);

    const first = await (await page(`/dashboard/events?eventType=message.received&organizationUid=${org}`, cookie)).text();
    const next = nextLink(first, "Older events");
    const params = new URLSearchParams(next?.slice(next.indexOf("?")));
    expect(Object.fromEntries(params)).toEqual({ eventType: "message.received", organizationUid: org, cursor: expect.any(String) });
    const second = await (await page(next!, cookie)).text();
    expect(second).toContain("Showing an older page");
    expect(nextLink(second, "Older events")).toBeUndefined();
    // Back to the newest, the same filters kept, only the cursor dropped.
    expect([firstLink(first), firstLink(second)]).toEqual([undefined, `/dashboard/events?eventType=message.received&organizationUid=${org}`]);
    const [a, b] = [idsIn(first), idsIn(second)];
    expect(idsIn(await (await page(firstLink(second)!, cookie)).text())).toEqual(a);
    expect(a).toHaveLength(50);
    expect(new Set([...a, ...b])).toEqual(made);
    expect([...a, ...b]).toHaveLength(51);
    expect([...a, ...b]).not.toContain(other);
  });

  it("links a later page of dead letters back to the first, the open filter kept", async () => {
    const key = crypto.randomUUID();
    const letter = (i: number) => ({ queue: "edgehook-ingest-dlq", messageId: `first-page-${key}-${i}`, eventId: null, deliveryId: null, reason: "first page", body: "{}", attempts: 1, receivedAt: Date.now() });
    await recordDeadLetters(env.DB, [letter(1), letter(2)]);
    onTestFinished(async () => void (await env.DB.prepare("DELETE FROM dead_letters WHERE message_id LIKE ?").bind(`first-page-${key}-%`).run()));
    const cursor: string = (await pipeline().api("GET", "/v1/dead-letters?open=true&limit=1")).json.nextCursor;
    expect(cursor).toBeTruthy();
    const { cookie } = await session();
    const later = await (await page(`/dashboard/dead-letters?${new URLSearchParams({ open: "true", cursor })}`, cookie)).text();
    expect(firstLink(later)).toBe("/dashboard/dead-letters?open=true");
  });

  it("links each list of the alerts page back to its first page, the other list's place kept", async () => {
    const p = pipeline();
    const key = crypto.randomUUID();
    const now = Date.now();
    const alert = (i: number) =>
      openEpisodeStatement(env.DB, { id: `alrt_${key}_${i}`, type: "webhook.failing", subject: `first-page-${key}-${i}`, openedAt: now + i, lastAt: now + i, count: 1, data: { url: "https://downstream.test/x", consecutiveFailures: 1, lastError: "HTTP 500" } });
    await env.DB.batch([alert(1), alert(2)]);
    onTestFinished(async () => void (await env.DB.prepare("DELETE FROM alerts WHERE subject LIKE ?").bind(`first-page-${key}-%`).run()));
    for (const i of [1, 2]) {
      const made = await p.api("POST", "/v1/notification-endpoints", { url: `https://downstream.test/ok/${key}/${i}`, alertTypes: ["webhook.failing"] });
      expect(made.status).toBe(201);
      onTestFinished(async () => void (await p.api("DELETE", `/v1/notification-endpoints/${made.json.uid}`)));
    }
    const alerts: string = (await p.api("GET", "/v1/alerts?limit=1")).json.nextCursor;
    const endpoints: string = (await p.api("GET", "/v1/notification-endpoints?limit=1")).json.nextCursor;
    expect([alerts, endpoints].every(Boolean)).toBe(true);
    const { cookie } = await session();
    const firstLinks = (html: string) => [...html.matchAll(/href="([^"]+)">← First page</g)].map((m) => m[1]!.replaceAll("&amp;", "&"));
    // Both lists on later pages: each one's first page keeps the other's cursor.
    const both = await (await page(`/dashboard/alerts?${new URLSearchParams({ alerts, endpoints })}`, cookie)).text();
    expect(firstLinks(both)).toEqual([`/dashboard/alerts?${new URLSearchParams({ endpoints })}`, `/dashboard/alerts?${new URLSearchParams({ alerts })}`]);
    // One list on a later page: its first page is the bare page.
    expect(firstLinks(await (await page(`/dashboard/alerts?${new URLSearchParams({ alerts })}`, cookie)).text())).toEqual(["/dashboard/alerts"]);
  });

  it("pages through more than 100 notification endpoints", async () => {
    const p = pipeline();
    const key = crypto.randomUUID().slice(0, 8);
    const made = new Set<string>();
    for (let i = 0; i < 101; i++) {
      const res = await p.api("POST", "/v1/notification-endpoints", { url: `https://downstream.test/ok/${key}/${i}`, alertTypes: ["webhook.failing"] });
      made.add(res.json.uid);
    }
    const { cookie } = await session();
    const seen: string[] = [];
    let path: string | undefined = "/dashboard/alerts";
    while (path) {
      const html = await (await page(path, cookie)).text();
      seen.push(...uidsIn(html, "/dashboard/alerts/endpoints"));
      path = nextLink(html, "More endpoints");
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((u) => made.has(u))).toHaveLength(101);
  });
});
