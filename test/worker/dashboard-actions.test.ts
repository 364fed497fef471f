// The dashboard's buttons after the press: back on the list's page they were on, confirm pages only for what is there, and a token that may read no page.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { recordDeadLetters } from "../../src/store/dead-letters";
import { insertSession, liveSession } from "../../src/store/sessions";
import { sha256Hex } from "../../src/domain/crypto";
import type { Scope } from "../../src/domain/scopes";
import { ADMIN_TOKEN, call, clientAddress, createSource, dashboardCookie, dashboardForm, failUntilLimited, pageBanners as banners, pageText as text } from "./helpers";
import { pipeline, uniqueKey } from "./pipeline";
import { makeToken } from "./tokens";

const ORIGIN = "https://edgehook.test";
const get = (path: string, cookie: string) => call(new Request(`${ORIGIN}${path}`, { headers: { cookie } }));
/** A button's post, pressed on the page at `referer` (which the browser sends as the Referer). */
const press = (path: string, cookie: string, referer: string) =>
  call(new Request(`${ORIGIN}${path}`, { method: "POST", headers: { cookie, origin: ORIGIN, referer: `${ORIGIN}${referer}`, "content-type": "application/x-www-form-urlencoded" }, body: "" }));

describe("a webhook's buttons on a later page of the list", () => {
  it("bring one back to that page (its cursor kept, its old banners not), where the row is", async () => {
    const p = pipeline();
    const cookie = await dashboardCookie();
    const key = uniqueKey();
    const [first, second] = [await p.createWebhook({ url: `https://downstream.test/ok/${key}-a`, eventTypes: ["message.*"] }), await p.createWebhook({ url: `https://downstream.test/ok/${key}-b`, eventTypes: ["message.*"] })];
    const listed = async (limit: number, from: string | null) =>
      (await p.api("GET", `/v1/webhooks?${new URLSearchParams({ limit: String(limit), ...(from ? { cursor: from } : {}) })}`)).json as { data: { uid: string }[]; nextCursor: string | null };
    // The one of them that is not the list's very first row (at most one is): a cursor leads to a page starting at it.
    let [after, cursor, from]: [{ uid: string } | undefined, string | null, string | null] = [undefined, null, null];
    while (after === undefined) {
      const { data, nextCursor } = await listed(100, from);
      const at = data.findIndex((w) => (w.uid === first.uid || w.uid === second.uid) && (from !== null || data.indexOf(w) > 0));
      if (at >= 0) {
        after = data[at]!;
        // The cursor of a page of `at` rows from here ends right before it.
        cursor = at > 0 ? (await listed(at, from)).nextCursor : from;
      } else {
        expect(nextCursor).not.toBeNull();
        from = nextCursor;
      }
    }
    expect(cursor).not.toBeNull();
    const listPage = `/dashboard/webhooks?cursor=${encodeURIComponent(cursor!)}`;
    expect(await (await get(listPage, cookie)).text()).toContain(`/dashboard/webhooks/${after.uid}/disable`);
    for (const [action, notice] of [
      ["disable", "Disabled: pending and new deliveries are held until it is enabled."],
      ["enable", "Enabled: held deliveries are going out, oldest first; any whose event is past the retention expire unsent."],
      ["retry-failed", "0 failed deliveries will be tried again, oldest first."],
    ] as const) {
      const res = await press(`/dashboard/webhooks/${after.uid}/${action}`, cookie, `${listPage}&notice=stale&sig=x`);
      expect(res.status).toBe(303);
      const to = new URL(res.headers.get("location")!, ORIGIN);
      expect(to.pathname, action).toBe("/dashboard/webhooks");
      expect(to.searchParams.get("cursor"), action).toBe(cursor);
      const shown = await (await get(`${to.pathname}${to.search}`, cookie)).text();
      expect(banners(shown, "status"), action).toEqual([notice]);
      expect(shown, action).toContain(`/dashboard/webhooks/${after.uid}/${action === "disable" ? "enable" : "disable"}`);
    }
    // Pressed anywhere else (a Referer off the dashboard): the list's first page, never off /dashboard.
    const elsewhere = await call(
      new Request(`${ORIGIN}/dashboard/webhooks/${after.uid}/disable`, {
        method: "POST",
        headers: { cookie, origin: ORIGIN, referer: "https://evil.example/dashboard/webhooks?cursor=x", "content-type": "application/x-www-form-urlencoded" },
        body: "",
      }),
    );
    expect(new URL(elsewhere.headers.get("location")!, ORIGIN).pathname).toBe("/dashboard/webhooks");
    expect(new URL(elsewhere.headers.get("location")!, ORIGIN).searchParams.get("cursor")).toBeNull();
  });
});

describe("a confirm page of what is gone", () => {
  it("answers the API's 404, as the object's own page, not its question", async () => {
    const p = pipeline();
    const cookie = await dashboardCookie();
    const key = uniqueKey();
    const hook = await p.createWebhook({ url: `https://downstream.test/ok/${key}`, eventTypes: ["message.*"] });
    // Rotated, so that it has a previous secret to end.
    const rotated = { secret: "whsec_" + btoa(`rotated ${key}, a secret of 24+ bytes`), previousSecretValidSeconds: 3600 };
    expect((await p.api("PATCH", `/v1/webhooks/${hook.uid}`, rotated)).status).toBe(200);
    const sourceId = await createSource({ id: `gone-${key}`, secrets: ["secret-long-enough"] });
    const endpoint = (await p.api("POST", "/v1/notification-endpoints", { url: `https://downstream.test/ok/${key}-alerts`, alertTypes: ["webhook.failing"] })).json as { uid: string };
    const token = await makeToken(p, ["events:read"]);
    const eventId = `evt_${key.replace(/-/g, "")}`;
    await recordDeadLetters(env.DB, [{ queue: "edgehook-deliveries-dlq", messageId: `m-${eventId}`, eventId, deliveryId: `dlv_${eventId}`, reason: "gone", body: "{}", attempts: 1, receivedAt: Date.now() }]);
    const letter = (await p.api("GET", "/v1/dead-letters?limit=100")).json.data.find((d: { eventId: string }) => d.eventId === eventId) as { id: number };
    const pages = [
      { confirm: `/dashboard/webhooks/${hook.uid}/delete`, gone: `/v1/webhooks/${hook.uid}`, says: `No webhook "${hook.uid}"` },
      { confirm: `/dashboard/webhooks/${hook.uid}/end-previous-secret`, gone: null, says: `No webhook "${hook.uid}"` },
      { confirm: `/dashboard/sources/${sourceId}/delete`, gone: `/v1/sources/${sourceId}`, says: `No source "${sourceId}"` },
      { confirm: `/dashboard/alerts/endpoints/${endpoint.uid}/delete`, gone: `/v1/notification-endpoints/${endpoint.uid}`, says: `No notification endpoint "${endpoint.uid}"` },
      { confirm: `/dashboard/tokens/${token.id}/revoke`, gone: `/v1/tokens/${token.id}`, says: `No live token "${token.id}"` },
      { confirm: `/dashboard/dead-letters/${letter.id}/delete`, gone: `/v1/dead-letters/${letter.id}`, says: `No dead letter "${letter.id}"` },
    ];
    // There: each asks.
    for (const { confirm } of pages) expect((await get(confirm, cookie)).status, confirm).toBe(200);
    for (const { gone } of pages) if (gone) expect((await p.api("DELETE", gone)).status, gone).toBe(204);
    for (const { confirm, says } of pages) {
      const res = await get(confirm, cookie);
      expect(res.status, confirm).toBe(404);
      const html = await res.text();
      expect(banners(html, "alert")[0], confirm).toContain(says);
      expect(text(html), confirm).not.toMatch(/cannot be undone|\?\s*It /);
      expect(html, confirm).not.toContain(`<form method="post" action="${confirm}"`);
    }
    // Its post, pressed from a page shown before, leads to the webhook's page: the API's 404, said once (as its other buttons).
    const posted = await dashboardForm(`/dashboard/webhooks/${hook.uid}/end-previous-secret`, cookie, {});
    expect(posted.status).toBe(303);
    const shown = await get(posted.headers.get("location")!, cookie);
    expect(shown.status).toBe(404);
    expect(banners(await shown.text())).toEqual([expect.stringContaining(`No webhook "${hook.uid}"`)]);
  });
});

describe("a confirm page of what may not be done", () => {
  it("of a source declared by configuration answers the 409 its post would, not the question", async () => {
    const cookie = await dashboardCookie();
    const res = await get("/dashboard/sources/podium/delete", cookie);
    expect(res.status).toBe(409);
    const html = await res.text();
    expect(banners(html, "alert")[0]).toContain('The source "podium" is declared by configuration');
    expect(html).not.toContain('<form method="post" action="/dashboard/sources/podium/delete"');
  });

  it("of a source that teaches where locations belong, to a token not the admin, answers the 403 its post would, and its row offers neither button", async () => {
    const p = pipeline();
    // First in the list's order, so on its first page.
    const id = `0-teach-${uniqueKey()}`.toLowerCase();
    const made = await p.api("POST", "/v1/sources", { id, name: "taught", provider: "stripe", secrets: ["a-teaching-secret"] });
    expect(made.json).toMatchObject({ teachesLocations: true, organizationUid: null });
    const { token } = await makeToken(p, ["sources:read", "sources:write"]);
    const cookie = (await dashboardForm("/dashboard/login", null, { token })).headers.get("set-cookie")!.split(";")[0]!;
    const html = await (await get("/dashboard/sources", cookie)).text();
    const row = html.slice(html.indexOf(`<span class="muted mono">${id}</span>`), html.indexOf("</tr>", html.indexOf(`<span class="muted mono">${id}</span>`)));
    expect(text(row)).toContain("the admin's alone");
    expect(row).not.toContain(`/dashboard/sources/${id}/rotate`);
    expect(row).not.toContain(`/dashboard/sources/${id}/delete`);
    const confirm = `/dashboard/sources/${id}/delete`;
    const asked = await get(confirm, cookie);
    expect(asked.status).toBe(403);
    const said = banners(await asked.text(), "alert")[0];
    expect(said).toContain("Only the admin may delete a source that teaches");
    // The post is refused in the same words, and the source is there.
    const posted = await dashboardForm(confirm, cookie, {});
    expect(banners(await (await get(posted.headers.get("location")!, cookie)).text(), "alert")[0]).toBe(said);
    expect((await p.api("GET", `/v1/sources/${id}`)).status).toBe(200);
    // The admin is asked, and offered both.
    const admin = await dashboardCookie();
    expect((await get(confirm, admin)).status).toBe(200);
    const its = await (await get("/dashboard/sources", admin)).text();
    expect(its).toContain(`/dashboard/sources/${id}/rotate`);
    expect(its).toContain(`action="/dashboard/sources/${id}/delete"`);
  });

  it("is refused as its post is: deleting or ending the previous secret of a webhook whose types need a data scope the session lacks (403, in the API's words)", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const rotated = { secret: "whsec_" + btoa(`rotated ${key}, a secret of 24+ bytes`), previousSecretValidSeconds: 3600 };
    const every = await p.createWebhook({ url: `https://downstream.test/ok/${key}`, eventTypes: ["*"], organizationUid: `org-${key}` });
    const contacts = await p.createWebhook({ url: `https://downstream.test/ok/${key}-c`, eventTypes: ["contact.*"], organizationUid: `org-${key}` });
    const messages = await p.createWebhook({ url: `https://downstream.test/ok/${key}-m`, eventTypes: ["message.*"], organizationUid: `org-${key}` });
    for (const w of [every, contacts, messages]) expect((await p.api("PATCH", `/v1/webhooks/${w.uid}`, rotated)).status).toBe(200);
    const { token } = await makeToken(p, ["webhooks:read", "webhooks:write", "read_messages"]);
    const cookie = (await dashboardForm("/dashboard/login", null, { token })).headers.get("set-cookie")!.split(";")[0]!;
    for (const w of [every, contacts]) {
      for (const act of ["delete", "end-previous-secret"]) {
        const confirm = `/dashboard/webhooks/${w.uid}/${act}`;
        const asked = await get(confirm, cookie);
        expect(asked.status, confirm).toBe(403);
        const html = await asked.text();
        const said = banners(html, "alert")[0];
        expect(said, confirm).toMatch(/needs the scope "read_contacts"/);
        expect(html, confirm).not.toContain(`<form method="post" action="${confirm}"`);
        // The post is refused in the same words.
        const posted = await dashboardForm(confirm, cookie, {});
        expect(banners(await (await get(posted.headers.get("location")!, cookie)).text(), "alert")[0], confirm).toBe(said);
      }
    }
    // One of types it holds the scope of: asked.
    for (const act of ["delete", "end-previous-secret"]) expect((await get(`/dashboard/webhooks/${messages.uid}/${act}`, cookie)).status, act).toBe(200);
    // Nor does a page offer to delete a webhook the session may not change: only the one it may.
    for (const w of [every, contacts, messages]) {
      const offered = (await (await get(`/dashboard/webhooks/${w.uid}`, cookie)).text()).includes(`/dashboard/webhooks/${w.uid}/delete`);
      expect(offered, w.url).toBe(w === messages);
    }
  });

  it("says a webhook has no previous secret rather than asking to end it, and its post ends none nor says so", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const w = await p.createWebhook({ url: `https://downstream.test/ok/${key}`, eventTypes: ["message.*"] });
    const cookie = await dashboardCookie();
    const confirm = `/dashboard/webhooks/${w.uid}/end-previous-secret`;
    const asked = await get(confirm, cookie);
    expect(asked.status).toBe(404);
    const html = await asked.text();
    expect(banners(html, "alert")[0]).toContain(`No previous secret of webhook "${w.uid}"`);
    expect(text(html)).not.toMatch(/cannot be undone/);
    expect(html).not.toContain(`<form method="post" action="${confirm}"`);
    const posted = await dashboardForm(confirm, cookie, {});
    expect(posted.status).toBe(303);
    const after = await (await get(posted.headers.get("location")!, cookie)).text();
    expect(banners(after, "alert")[0]).toContain(`No previous secret of webhook "${w.uid}"`);
    expect(text(after)).not.toContain("The previous secret no longer signs");
  });
});

describe("signing in again", () => {
  it("ends the session the browser came with, whatever the outcome: refused, as another token, or from a blocked address", async () => {
    const p = pipeline();
    const secretOf = (cookie: string) => cookie.slice(cookie.indexOf("=") + 1);
    /** Whether the session is gone on the server, not only from the browser: its row is deleted. */
    const ended = async (cookie: string) => {
      expect(await liveSession(env.DB, await sha256Hex(secretOf(cookie)), Date.now())).toBeNull();
      const res = await get("/dashboard/tokens", cookie);
      expect(res.status).toBe(303);
      expect(res.headers.get("location")).toMatch(/^\/dashboard\/login/);
    };
    const dropped = /^__Host-edgehook_session=;/;
    const writeOnly = await makeToken(p, ["webhooks:write"]);
    const refusals: [token: string, error: string][] = [
      [writeOnly.token, "nothing-to-read"],
      ["ehk_wrong", "invalid-token"],
      ["", "invalid-token"],
    ];
    for (const [token, refused] of refusals) {
      const admin = await dashboardCookie();
      expect((await get("/dashboard/tokens", admin)).status).toBe(200);
      const res = await dashboardForm("/dashboard/login", admin, { token });
      expect(res.headers.get("location"), token).toBe(`/dashboard/login?error=${refused}`);
      expect(res.headers.getSetCookie(), token).toEqual([expect.stringMatching(dropped)]);
      await ended(admin);
    }

    // Signed in as another token, the browser holds that one's session alone.
    const admin = await dashboardCookie();
    const reader = await makeToken(p, ["sources:read"]);
    const res = await dashboardForm("/dashboard/login", admin, { token: reader.token });
    expect(res.headers.get("location")).toBe("/dashboard/sources");
    const [set, ...more] = res.headers.getSetCookie();
    expect(more).toEqual([]);
    expect(set).toMatch(/^__Host-edgehook_session=[A-Za-z0-9_-]{43};/);
    await ended(admin);
    const cookie = set!.split(";")[0]!;
    expect((await get("/dashboard/sources", cookie)).status).toBe(200);
    expect((await get("/dashboard/tokens", cookie)).status).toBe(403);

    // Refused for the address's failures, before any token is looked at: the session ends all the same.
    const client = clientAddress();
    const signIn = (token: string, cookie: string | null) =>
      call(
        new Request(`${ORIGIN}/dashboard/login`, {
          method: "POST",
          headers: { ...(cookie ? { cookie } : {}), origin: ORIGIN, "content-type": "application/x-www-form-urlencoded", "cf-connecting-ip": client },
          body: new URLSearchParams({ token }),
        }),
      );
    await failUntilLimited(303, (i) => signIn(`guess-${i}`, null));
    const blocked = await dashboardCookie();
    const refused = await signIn(ADMIN_TOKEN, blocked);
    expect(refused.status).toBe(429);
    expect(refused.headers.getSetCookie()).toEqual([expect.stringMatching(dropped)]);
    await ended(blocked);
  });
});

describe("signing in with a token that may read no page", () => {
  it("is refused with what it lacks, and makes no session (its 403 led back to itself)", async () => {
    const p = pipeline();
    for (const scopes of [["webhooks:write"], ["events:replay"], ["read_messages"], ["sources:write", "webhooks:write"]] satisfies Scope[][]) {
      const { token } = await makeToken(p, scopes);
      const res = await dashboardForm("/dashboard/login", null, { token });
      expect(res.status, scopes.join()).toBe(303);
      expect(res.headers.get("set-cookie"), scopes.join()).toBeNull();
      expect(res.headers.get("location"), scopes.join()).toBe("/dashboard/login?error=nothing-to-read");
      const page = text(await (await call(new Request(`${ORIGIN}${res.headers.get("location")}`))).text());
      expect(page).toContain("That token is valid, but may read none of the dashboard's pages: it holds none of events:read, webhooks:read, sources:read, admin");
    }
    // A session such a token holds from before the sign-in refused it is none: signed out, to the sign-in, which says why.
    const { id } = await makeToken(p, ["webhooks:write"]);
    const secret = "w".repeat(43);
    await insertSession(env.DB, { id: await sha256Hex(secret), principal: id, createdAt: Date.now(), expiresAt: Date.now() + 3_600_000 });
    const old = await get("/dashboard/webhooks", `__Host-edgehook_session=${secret}`);
    expect(old.status).toBe(303);
    expect(old.headers.get("location")).toMatch(/^\/dashboard\/login/);
    expect(old.headers.get("set-cookie")).toMatch(/^__Host-edgehook_session=;/);
    // One that may read a page signs in, as before.
    const { token } = await makeToken(p, ["sources:read"]);
    const ok = await dashboardForm("/dashboard/login", null, { token });
    expect(ok.headers.get("location")).toBe("/dashboard/sources");
    expect(ok.headers.get("set-cookie")).toMatch(/^__Host-edgehook_session=/);
  });
});
