// The dashboard's Tokens and Dead letters pages, and the confirm pages of its destructive buttons, as served (no JavaScript).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { meteredD1 } from "../../bench/d1-meter";
import { recordDeadLetters } from "../../src/store/dead-letters";
import { sha256Hex } from "../../src/domain/crypto";
import { ADMIN, ADMIN_TOKEN, call, dashboardForm, dashboardShown, pageBanners as banners, pageText as text, podiumBody } from "./helpers";
import { pipeline, received, uniqueKey } from "./pipeline";

const ORIGIN = "https://edgehook.test";
const get = (path: string, cookie: string, overrides: Partial<Env> = {}) => call(new Request(`${ORIGIN}${path}`, { headers: { cookie } }), overrides);
const signIn = async (token = ADMIN_TOKEN) => (await dashboardForm("/dashboard/login", null, { token })).headers.get("set-cookie")!.split(";")[0]!;
/** The href of the link labelled `label`, decoded as a browser reads it. */
const linkTo = (html: string, label: string) => new RegExp(`href="([^"]+)"[^>]*>${label}`).exec(html)?.[1]?.replaceAll("&amp;", "&");
/** The forms of a page: method, action and whether it asks first (data-confirm). */
const formsOf = (html: string) =>
  [...html.matchAll(/<form method="(get|post)" action="([^"]+)"([^>]*)>/g)].map((m) => ({ method: m[1]!, action: m[2]!.replaceAll("&amp;", "&"), asks: m[3]!.includes("data-confirm") }));
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe("the Tokens page", () => {
  it("creates a token with its scopes and grant, shows it once, lists it without it, and revokes it through its confirm page", async () => {
    const cookie = await signIn();
    const p = pipeline();
    const key = uniqueKey();
    const name = `support ${key}`;
    const posted = await dashboardForm("/dashboard/tokens", cookie, [
      ["name", name],
      ["scopes", "events:read"],
      ["scopes", "read_messages"],
      ["organizationUids", `org-${key}-a, org-${key}-b`],
      ["locationUids", ""],
    ]);
    expect(posted.status).toBe(303);
    expect(posted.headers.get("location")).toMatch(/^\/dashboard\/created\/[A-Za-z0-9_-]{43}$/);
    const shown = await (await dashboardShown(posted, cookie)).text();
    const token = /ehk_[A-Za-z0-9_-]+/.exec(shown)?.[0];
    expect(token).toBeDefined();
    expect(text(shown)).toContain("Copy this API token now: it is shown this once.");
    // It is the token the API made, with what the form asked.
    const made = (await p.api("GET", "/v1/tokens?limit=100")).json.data.find((t: { name: string }) => t.name === name);
    expect(made).toMatchObject({ scopes: ["events:read", "read_messages"], organizationUids: [`org-${key}-a`, `org-${key}-b`], locationUids: null, revokedAt: null });
    expect((await call(new Request(`${ORIGIN}/v1/events?limit=1`, { headers: bearer(token!) }))).status).toBe(200);
    // Shown once: the page again, and the list, have it no more.
    expect(await (await get(posted.headers.get("location")!, cookie)).text()).not.toContain(token!);
    const list = await (await get("/dashboard/tokens", cookie)).text();
    expect(list).not.toContain(token!);
    expect(list).not.toMatch(/ehk_/);
    const row = text(list.slice(list.indexOf(made.id), list.indexOf("</tr>", list.indexOf(made.id))));
    expect(row).toContain("events:read, read_messages");
    expect(row).toContain(`organizations org-${key}-a, org-${key}-b`);

    // Revoke: the button opens its confirm page, which changes nothing and posts to itself.
    const revoke = `/dashboard/tokens/${made.id}/revoke`;
    expect(formsOf(list)).toContainEqual({ method: "get", action: revoke, asks: true });
    const confirm = await get(revoke, cookie);
    expect(confirm.status).toBe(200);
    const confirmHtml = await confirm.text();
    expect(text(confirmHtml)).toContain(`Revoke token ${made.id}? It stops working at once`);
    expect(formsOf(confirmHtml)).toContainEqual({ method: "post", action: revoke, asks: false });
    expect(linkTo(confirmHtml, "Cancel")).toBe("/dashboard/tokens");
    expect((await call(new Request(`${ORIGIN}/v1/events?limit=1`, { headers: bearer(token!) }))).status).toBe(200);
    const done = await dashboardForm(revoke, cookie, {});
    expect(done.status).toBe(303);
    expect(banners(await (await get(done.headers.get("location")!, cookie)).text(), "status")).toEqual(["Token revoked: it no longer works."]);
    expect((await call(new Request(`${ORIGIN}/v1/events?limit=1`, { headers: bearer(token!) }))).status).toBe(401);
    const after = await (await get("/dashboard/tokens", cookie)).text();
    const revokedRow = after.slice(after.indexOf(made.id), after.indexOf("</tr>", after.indexOf(made.id)));
    expect(text(revokedRow)).toContain("revoked");
    expect(revokedRow).not.toContain(revoke);
  });

  it("splits the grant's boxes at commas only: a uid holding a space is one uid, not two granted that nobody named", async () => {
    const cookie = await signIn();
    const p = pipeline();
    const key = uniqueKey();
    const name = `spaced ${key}`;
    const posted = await dashboardForm("/dashboard/tokens", cookie, [
      ["name", name],
      ["scopes", "events:read"],
      ["organizationUids", `org-${key}, org ${key} b`],
      ["locationUids", ` loc ${key} `],
    ]);
    expect(posted.status).toBe(303);
    const made = (await p.api("GET", "/v1/tokens?limit=100")).json.data.find((t: { name: string }) => t.name === name);
    expect(made).toMatchObject({ organizationUids: [`org-${key}`, `org ${key} b`], locationUids: [`loc ${key}`] });
  });

  it("keeps the new token, while it waits for its page, only sealed for the session: never in the clear in D1", async () => {
    const cookie = await signIn();
    const posted = await dashboardForm("/dashboard/tokens", cookie, [["name", `at rest ${uniqueKey()}`], ["scopes", "events:read"]]);
    expect(posted.status).toBe(303);
    // What D1 holds between the form and its page (a redirect not followed leaves it there until it expires).
    const sessionId = await sha256Hex(cookie.slice(cookie.indexOf("=") + 1));
    const kept = await env.DB.prepare("SELECT id, reveal FROM session_reveals WHERE session_id = ?").bind(sessionId).all<{ id: string; reveal: string }>();
    expect(kept.results).toHaveLength(1);
    const [row] = kept.results;
    expect(posted.headers.get("location")).toBe(`/dashboard/created/${row!.id}`);
    const token = /ehk_[A-Za-z0-9_-]+/.exec(await (await dashboardShown(posted, cookie)).text())?.[0];
    expect(token).toBeDefined();
    expect(row!.reveal).not.toContain(token!);
    expect(row!.reveal).not.toContain(token!.slice("ehk_".length));
    // Taken by its page: nothing waits any more.
    expect((await env.DB.prepare("SELECT count(*) AS n FROM session_reveals WHERE session_id = ?").bind(sessionId).first<{ n: number }>())?.n).toBe(0);
    // Another session cannot open it: a reveal is shown only to the session it was made in.
    const other = await signIn();
    await env.DB.prepare("INSERT INTO session_reveals (id, session_id, reveal, expires_at) VALUES (?, ?, ?, ?)")
      .bind(row!.id, await sha256Hex(other.slice(other.indexOf("=") + 1)), row!.reveal, Date.now() + 60_000)
      .run();
    expect(await (await get(posted.headers.get("location")!, other)).text()).not.toContain(token!);
  });

  it("keeps a refused new token's form as typed, with the API's error, and makes nothing", async () => {
    const cookie = await signIn();
    const p = pipeline();
    const name = `refused ${uniqueKey()}`;
    const posted = await dashboardForm("/dashboard/tokens", cookie, [
      ["name", name],
      ["scopes", "admin"],
      ["organizationUids", "org-x"],
    ]);
    expect(posted.status).toBe(400);
    const html = await posted.text();
    expect(banners(html, "alert")[0]).toContain("admin reaches every organization");
    expect(html).toContain(`value="${name}"`);
    expect(html).toMatch(/<input name="scopes" type="checkbox" value="admin" checked/);
    expect(html).toContain('value="org-x"');
    expect((await p.api("GET", "/v1/tokens?limit=100")).json.data.filter((t: { name: string }) => t.name === name)).toEqual([]);
    // A box that names no uid (",") is no limit left out: refused as an empty entry, never every organization.
    for (const [field, label] of [["organizationUids", "Organizations"], ["locationUids", "Locations"]]) {
      const blank = await dashboardForm("/dashboard/tokens", cookie, [["name", name], ["scopes", "events:read"], [field!, " , "]]);
      expect(blank.status, field).toBe(400);
      expect(banners(await blank.text(), "alert")[0], field).toContain(`${label}: entry 1 of 2 is empty`);
    }
    expect((await p.api("GET", "/v1/tokens?limit=100")).json.data.filter((t: { name: string }) => t.name === name)).toEqual([]);
    // No scope at all: refused too.
    const none = await dashboardForm("/dashboard/tokens", cookie, { name });
    expect(none.status).toBe(400);
    expect(banners(await none.text(), "alert")).toHaveLength(1);
  });

  it("is the admin's only: a scoped token's session has no Tokens or Dead letters entry, and their pages, confirm pages and posts are refused", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const scoped = (await p.api("POST", "/v1/tokens", { name: `viewer ${key}`, scopes: ["events:read", "webhooks:write", "sources:write"] })).json;
    const other = (await p.api("POST", "/v1/tokens", { name: `other ${key}`, scopes: ["events:read"] })).json;
    const cookie = await signIn(scoped.token);
    const overview = await (await get("/dashboard", cookie)).text();
    const nav = overview.slice(overview.indexOf("<nav"), overview.indexOf("</nav>"));
    expect(nav).not.toContain("/dashboard/tokens");
    expect(nav).not.toContain("/dashboard/dead-letters");
    for (const path of ["/dashboard/tokens", "/dashboard/dead-letters", `/dashboard/tokens/${other.id}/revoke`, "/dashboard/dead-letters/1/delete"]) {
      const res = await get(path, cookie);
      expect(res.status, path).toBe(403);
      expect(text(await res.text()), path).toContain('lacks the scope "admin"');
    }
    const create = await dashboardForm("/dashboard/tokens", cookie, [["name", `made ${key}`], ["scopes", "admin"]]);
    expect(create.status).toBe(403);
    const revoke = await dashboardForm(`/dashboard/tokens/${other.id}/revoke`, cookie, {});
    expect(new URL(revoke.headers.get("location")!, ORIGIN).searchParams.has("error")).toBe(true);
    const tokens = (await p.api("GET", "/v1/tokens?limit=100")).json.data;
    expect(tokens.filter((t: { name: string }) => t.name === `made ${key}`)).toEqual([]);
    expect(tokens.find((t: { id: string }) => t.id === other.id).revokedAt).toBeNull();
  });

  it("pages through more than 100 tokens", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const made = new Set<string>();
    for (let i = 0; i < 101; i++) made.add((await p.api("POST", "/v1/tokens", { name: `many ${key} ${i}`, scopes: ["events:read"] })).json.id);
    const cookie = await signIn();
    const seen: string[] = [];
    let path: string | undefined = "/dashboard/tokens";
    for (let pages = 0; path && pages < 10; pages++) {
      const html = await (await get(path, cookie)).text();
      seen.push(...[...html.matchAll(/\/dashboard\/tokens\/(tok_[0-9a-f]+)\/revoke/g)].map((m) => m[1]!).filter((id, i, all) => all.indexOf(id) === i));
      path = linkTo(html, "Older tokens →");
    }
    expect(path).toBeUndefined();
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((id) => made.has(id))).toHaveLength(101);
  });
});

describe("the Dead letters page", () => {
  it("lists a delivery that failed for good, links its event, and replays it from the page", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const { key, org } = await p.webhookOn("flaky?fails=1", { maxAttempts: 1 });
    const eventId = await p.ingest(podiumBody({ organizationUid: org }));
    await p.deliver();
    const letter = (await p.api("GET", "/v1/dead-letters?open=true")).json.data.find((d: { eventId: string }) => d.eventId === eventId);
    expect(letter).toBeDefined();
    const cookie = await signIn();

    const html = await (await get("/dashboard/dead-letters?open=true", cookie)).text();
    const start = html.indexOf(`<td class="mono">${letter.id}</td>`);
    expect(start).toBeGreaterThan(0);
    const row = html.slice(start, html.indexOf("</tr>", start));
    expect(row).toContain(`href="/dashboard/events/${eventId}"`);
    expect(text(row)).toContain("delivery failed for good");
    expect(text(row)).toContain("HTTP 503");
    expect(text(row)).toContain("open");
    expect(formsOf(row)).toEqual([
      { method: "post", action: `/dashboard/dead-letters/${letter.id}/replay`, asks: false },
      { method: "get", action: `/dashboard/dead-letters/${letter.id}/delete`, asks: true },
    ]);

    const replayed = await dashboardForm(`/dashboard/dead-letters/${letter.id}/replay`, cookie, {});
    expect(replayed.status).toBe(303);
    expect(banners(await (await get(replayed.headers.get("location")!, cookie)).text(), "status")).toEqual([
      `Dead letter ${letter.id} replayed: its delivery will be tried again.`,
    ]);
    await p.deliver();
    expect(await received(key)).toHaveLength(2);
    // Replayed, it is no longer open: the open list leaves it out, the whole list says when.
    expect(await (await get("/dashboard/dead-letters?open=true", cookie)).text()).not.toContain(`<td class="mono">${letter.id}</td>`);
    const all = await (await get("/dashboard/dead-letters", cookie)).text();
    const again = all.slice(all.indexOf(`<td class="mono">${letter.id}</td>`));
    const closed = again.slice(0, again.indexOf("</tr>"));
    // A replay is made once (a second answers 409): the closed letter offers no button that can only fail, and links its event, where its delivery is retried on purpose.
    expect(formsOf(closed)).toEqual([{ method: "get", action: `/dashboard/dead-letters/${letter.id}/delete`, asks: true }]);
    expect(closed).toContain(`href="/dashboard/events/${eventId}"`);
  });

  it("says a replayed delivery of a disabled webhook is held until the webhook is enabled, as the API's `held` does", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const { webhook, org } = await p.webhookOn("fail", { maxAttempts: 1 });
    const events = [await p.ingest(podiumBody({ organizationUid: org })), await p.ingest(podiumBody({ organizationUid: org }))];
    await p.deliver();
    const open = (await p.api("GET", "/v1/dead-letters?open=true")).json.data;
    const [first, second] = events.map((id) => open.find((d: { eventId: string }) => d.eventId === id));
    if (!first || !second) throw new Error("each failed delivery has an open dead letter");
    expect((await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { disabled: true })).status).toBe(200);
    const api = await p.api("POST", `/v1/dead-letters/${first.id}/replay`);
    expect([api.status, api.json.held]).toEqual([202, true]);
    const cookie = await signIn();
    const replayed = await dashboardForm(`/dashboard/dead-letters/${second.id}/replay`, cookie, {});
    expect(replayed.status).toBe(303);
    expect(banners(await (await get(replayed.headers.get("location")!, cookie)).text(), "status")).toEqual([
      `Dead letter ${second.id} replayed: its delivery is held while its webhook is disabled, and goes out once the webhook is enabled.`,
    ]);
    expect((await p.api("GET", `/v1/deliveries/${second.deliveryId}`)).json.status).toBe("held");
  });

  it("says why a replay was refused, and deletes a letter only once its confirm page is posted", async () => {
    const p = pipeline();
    const cookie = await signIn();
    const eventId = `evt_${uniqueKey().replace(/-/g, "")}`;
    // A delivery letter whose delivery is gone: nothing to replay.
    await recordDeadLetters(env.DB, [
      { queue: "edgehook-deliveries-dlq", messageId: `m-${eventId}`, eventId, deliveryId: `dlv_gone_${eventId}`, reason: "gone", body: "{}", attempts: 1, receivedAt: Date.now() },
    ]);
    const letter = (await p.api("GET", "/v1/dead-letters?limit=100")).json.data.find((d: { eventId: string }) => d.eventId === eventId);
    // Pressed on the list of open ones, a page on: back there, with the refusal and none of the banners that page showed.
    const pressedOn = `${ORIGIN}/dashboard/dead-letters?open=true&cursor=abc&notice=stale&sig=x`;
    const refused = await call(
      new Request(`${ORIGIN}/dashboard/dead-letters/${letter.id}/replay`, {
        method: "POST",
        headers: { cookie, origin: ORIGIN, referer: pressedOn, "content-type": "application/x-www-form-urlencoded" },
        body: "",
      }),
    );
    expect(refused.status).toBe(303);
    const to = new URL(refused.headers.get("location")!, ORIGIN);
    expect(to.pathname).toBe("/dashboard/dead-letters");
    expect(to.searchParams.get("open")).toBe("true");
    expect(to.searchParams.get("cursor")).toBe("abc");
    expect(to.searchParams.get("notice")).toBeNull();
    to.searchParams.delete("cursor");
    expect(banners(await (await get(`${to.pathname}${to.search}`, cookie)).text(), "alert")[0]).toContain("nothing to retry");

    const confirm = await get(`/dashboard/dead-letters/${letter.id}/delete`, cookie);
    expect(confirm.status).toBe(200);
    const confirmHtml = await confirm.text();
    expect(text(confirmHtml)).toContain(`Delete dead letter ${letter.id}?`);
    expect(formsOf(confirmHtml)).toContainEqual({ method: "post", action: `/dashboard/dead-letters/${letter.id}/delete`, asks: false });
    expect((await p.api("GET", "/v1/dead-letters?limit=100")).json.data.some((d: { id: number }) => d.id === letter.id)).toBe(true);
    const deleted = await dashboardForm(`/dashboard/dead-letters/${letter.id}/delete`, cookie, {});
    expect(banners(await (await get(deleted.headers.get("location")!, cookie)).text(), "status")).toEqual(["Dead letter deleted."]);
    expect((await p.api("GET", "/v1/dead-letters?limit=100")).json.data.some((d: { id: number }) => d.id === letter.id)).toBe(false);
  });

  it("words a refused replay for a reader of the page: what to do with its buttons, not the API's calls (DELETE, POST)", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const cookie = await signIn();
    const key = uniqueKey();
    // Its delivery gone: nothing to retry; naming no delivery: nothing to replay.
    await recordDeadLetters(env.DB, [
      { queue: "edgehook-deliveries-dlq", messageId: `m-gone-${key}`, eventId: `evt_gone${key}`, deliveryId: `dlv_gone_${key}`, reason: "gone", body: "{}", attempts: 1, receivedAt: Date.now() },
      { queue: "edgehook-deliveries-dlq", messageId: `m-none-${key}`, eventId: `evt_none${key}`, deliveryId: null, reason: "none", body: "{}", attempts: 1, receivedAt: Date.now() },
    ]);
    // Replayed already (in another tab): a replay is made once.
    const { org } = await p.webhookOn("flaky?fails=1", { maxAttempts: 1 });
    const failed = await p.ingest(podiumBody({ organizationUid: org }));
    await p.deliver();
    const letters = (await p.api("GET", "/v1/dead-letters?limit=100")).json.data as { id: number; eventId: string }[];
    const idOf = (eventId: string) => letters.find((l) => l.eventId === eventId)!.id;
    expect((await p.api("POST", `/v1/dead-letters/${idOf(failed)}/replay`)).status).toBe(202);

    const refusalOf = async (id: number) => {
      const pressed = await dashboardForm(`/dashboard/dead-letters/${id}/replay`, cookie, {});
      return banners(await (await get(pressed.headers.get("location")!, cookie)).text(), "alert");
    };
    const cases = [
      [idOf(`evt_gone${key}`), "nothing to retry. Once handled, delete this dead letter with its Delete button."],
      [idOf(`evt_none${key}`), "names nothing to replay. Once handled, delete it with its Delete button."],
      [idOf(failed), "To send it again on purpose, open its event and retry the delivery or replay the event there."],
    ] as const;
    for (const [id, says] of cases) {
      const shown = await refusalOf(id);
      expect(shown).toHaveLength(1);
      expect(shown[0]).toContain(says);
      expect(shown[0]).not.toMatch(/\b(DELETE|POST)\b|\/v1\//);
    }
    // The API's own answers keep saying which call to make.
    expect((await p.api("POST", `/v1/dead-letters/${idOf(`evt_gone${key}`)}/replay`)).json.error.message).toContain("DELETE the dead letter");
  });

  it("deletes without JavaScript back to the page it was pressed on: 'open only' and the cursor kept through the confirm page", async () => {
    const key = uniqueKey();
    const letters = Array.from({ length: 101 }, (_, i) => ({
      queue: "edgehook-ingest-dlq",
      messageId: `m-${key}-${i}`,
      eventId: `evt_${key}_${i}`,
      deliveryId: null,
      reason: "confirm paging",
      body: "{}",
      attempts: 1,
      receivedAt: Date.now(),
    }));
    await recordDeadLetters(env.DB, letters);
    const cookie = await signIn();
    const pageTwo = linkTo(await (await get("/dashboard/dead-letters?open=true", cookie)).text(), "Older dead letters →")!;
    expect(new URL(pageTwo, ORIGIN).searchParams.get("cursor")).toBeTruthy();
    const html = await (await get(pageTwo, cookie)).text();
    // The first Delete on page two, submitted as a browser submits a GET form: its action, its fields as the query.
    const at = html.indexOf('<form method="get" action="/dashboard/dead-letters/');
    expect(at).toBeGreaterThan(0);
    const form = html.slice(at, html.indexOf("</form>", at));
    const action = /action="([^"]+)"/.exec(form)![1]!;
    const fields = [...form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!.replaceAll("&amp;", "&")]);
    const confirmUrl = `${action}?${new URLSearchParams(fields)}`;
    const confirm = await get(confirmUrl, cookie);
    expect(confirm.status).toBe(200);
    const confirmHtml = await confirm.text();
    expect(linkTo(confirmHtml, "Cancel")).toBe(pageTwo);
    const posted = formsOf(confirmHtml).find((f) => f.method === "post" && f.action === action)!;
    const done = await call(
      new Request(`${ORIGIN}${posted.action}`, {
        method: "POST",
        headers: { cookie, origin: ORIGIN, referer: `${ORIGIN}${confirmUrl}`, "content-type": "application/x-www-form-urlencoded" },
        body: "",
      }),
    );
    expect(done.status).toBe(303);
    const to = new URL(done.headers.get("location")!, ORIGIN);
    expect(`${to.pathname}?${new URLSearchParams([...to.searchParams].filter(([n]) => n === "open" || n === "cursor"))}`).toBe(pageTwo);
    expect(banners(await (await get(`${to.pathname}${to.search}`, cookie)).text(), "status")).toEqual(["Dead letter deleted."]);
    // Out of the way of the paging test's count of open letters.
    await env.DB.prepare("DELETE FROM dead_letters WHERE reason = 'confirm paging'").run();
  });

  it("asks the API for its letters without their messages, which D1 is then not asked for (the API's default keeps them)", async () => {
    const p = pipeline();
    const eventId = `evt_${uniqueKey().replace(/-/g, "")}`;
    const message = { eventId, body: "x".repeat(1000) };
    await recordDeadLetters(env.DB, [
      { queue: "edgehook-ingest-dlq", messageId: `m-${eventId}`, eventId, deliveryId: null, reason: "no message", body: JSON.stringify(message), attempts: 1, receivedAt: Date.now() },
    ]);
    const mine = (answer: { json: { data: { eventId: string }[] } }) => answer.json.data.find((d) => d.eventId === eventId);
    // The default is as it was: each letter with its message.
    expect(mine(await p.api("GET", "/v1/dead-letters?limit=100"))).toMatchObject({ eventId, message });
    expect(mine(await p.api("GET", "/v1/dead-letters?limit=100&withMessage=true"))).toMatchObject({ eventId, message });
    const without = mine(await p.api("GET", "/v1/dead-letters?limit=100&withMessage=false"));
    expect(without).toMatchObject({ eventId, reason: "no message", attempts: 1 });
    expect(without).not.toHaveProperty("message");
    expect((await p.api("GET", "/v1/dead-letters?withMessage=no")).status).toBe(400);

    // The page's read of the letters: what D1 answered it has every column the page shows, and not the message.
    const columns: string[][] = [];
    const db = new Proxy(env.DB, {
      get(target, prop) {
        if (prop !== "prepare") return Reflect.get(target, prop, target);
        return (sql: string) => {
          const watch = (stmt: D1PreparedStatement): D1PreparedStatement =>
            new Proxy(stmt, {
              get(s, name) {
                if (name === "bind") return (...values: unknown[]) => watch(s.bind(...values));
                if (name === "all" && /FROM dead_letters/.test(sql)) {
                  return async () => {
                    const r = await s.all<Record<string, unknown>>();
                    columns.push(Object.keys(r.results[0] ?? {}));
                    return r;
                  };
                }
                const v = Reflect.get(s, name, s);
                return typeof v === "function" ? v.bind(s) : v;
              },
            });
          return watch(target.prepare(sql));
        };
      },
    });
    const html = await (await get("/dashboard/dead-letters", await signIn(), { DB: db })).text();
    expect(html).toContain(eventId);
    expect(columns).toHaveLength(1);
    expect(columns[0]).toEqual(expect.arrayContaining(["seq", "queue", "event_id", "delivery_id", "reason", "attempts", "received_at", "replayed_at"]));
    expect(columns[0]).not.toContain("body");
    await env.DB.prepare("DELETE FROM dead_letters WHERE message_id = ?").bind(`m-${eventId}`).run();
  });

  it("pages by cursor, keeping 'open only', each page a bounded read", async () => {
    const key = uniqueKey();
    const now = Date.now();
    const letters = Array.from({ length: 250 }, (_, i) => ({
      queue: "edgehook-ingest-dlq",
      messageId: `m-${key}-${i}`,
      eventId: `evt_${key}_${i}`,
      deliveryId: null,
      reason: "paging",
      body: JSON.stringify({ i }),
      attempts: 11,
      receivedAt: now,
    }));
    await recordDeadLetters(env.DB, letters);
    const cookie = await signIn();
    const meter = meteredD1(env.DB);
    const seen: string[] = [];
    let path: string | undefined = "/dashboard/dead-letters?open=true";
    let pages = 0;
    for (; path && pages < 20; pages++) {
      meter.reset();
      const res = await get(path, cookie, { DB: meter.db });
      expect(res.status).toBe(200);
      const html = await res.text();
      // A page of 100 letters, the session and its banners: not the table.
      expect(meter.usage.rowsRead, path).toBeLessThan(150);
      expect(html).toMatch(/<input type="checkbox" name="open" value="true" checked/);
      seen.push(...[...html.matchAll(new RegExp(`evt_${key}_\\d+`, "g"))].map((m) => m[0]));
      path = linkTo(html, "Older dead letters →");
      if (path) expect(new URL(path, ORIGIN).searchParams.get("open")).toBe("true");
    }
    expect(pages).toBe(3);
    expect(new Set(seen)).toEqual(new Set(letters.map((l) => l.eventId)));
    expect(seen).toHaveLength(250);
  });
});

describe("destructive buttons without JavaScript", () => {
  it("open a confirm page (a GET, changing nothing) whose button posts the action; none posts it straight away", async () => {
    const cookie = await signIn();
    const p = pipeline();
    const key = uniqueKey();
    const hook = await p.createWebhook({ url: `https://downstream.test/ok/${key}`, eventTypes: ["*"], organizationUid: `org-${key}` });
    const sourceId = `confirm-${key}`;
    expect((await p.api("POST", "/v1/sources", { id: sourceId, name: "confirm", provider: "stripe", secrets: ["a-confirm-secret"] })).status).toBe(201);
    const endpoint = (await p.api("POST", "/v1/notification-endpoints", { url: `https://ops.example.com/${key}`, alertTypes: ["webhook.failing"] })).json;
    const cases = [
      { page: `/dashboard/webhooks/${hook.uid}`, action: `/dashboard/webhooks/${hook.uid}/delete`, ask: `Delete webhook ${hook.uid}?`, back: `/dashboard/webhooks/${hook.uid}`, api: `/v1/webhooks/${hook.uid}` },
      { page: "/dashboard/sources", action: `/dashboard/sources/${sourceId}/delete`, ask: `Delete source ${sourceId}?`, back: "/dashboard/sources", api: `/v1/sources/${sourceId}` },
      { page: "/dashboard/alerts", action: `/dashboard/alerts/endpoints/${endpoint.uid}/delete`, ask: `Delete notification endpoint ${endpoint.uid}?`, back: "/dashboard/alerts", api: `/v1/notification-endpoints/${endpoint.uid}` },
    ];
    const stillThere = async (api: string) => (await call(new Request(`${ORIGIN}${api}`, { headers: ADMIN }))).status;
    for (const c of cases) {
      const html = await (await get(c.page, cookie)).text();
      const forms = formsOf(html).filter((f) => f.action === c.action);
      expect(forms, c.page).toEqual([{ method: "get", action: c.action, asks: true }]);
      // What the dialog asks (with JavaScript) is what the page asks (without).
      expect(html).toContain(`data-confirm="${c.ask}`);
      const confirm = await get(c.action, cookie);
      expect(confirm.status, c.action).toBe(200);
      const page = await confirm.text();
      expect(text(page)).toContain(c.ask);
      expect(formsOf(page)).toContainEqual({ method: "post", action: c.action, asks: false });
      expect(linkTo(page, "Cancel")).toBe(c.back);
      expect(await stillThere(c.api), c.api).toBe(200);
      const done = await dashboardForm(c.action, cookie, {});
      expect(done.status, c.action).toBe(303);
      expect(new URL(done.headers.get("location")!, ORIGIN).searchParams.has("error"), c.action).toBe(false);
      expect(await stillThere(c.api), c.api).toBe(404);
    }
    // No page posts a delete or a revoke from its own button: each goes through its confirm page.
    const t = (await p.api("POST", "/v1/tokens", { name: `confirm ${key}`, scopes: ["events:read"] })).json;
    for (const path of ["/dashboard/webhooks", "/dashboard/sources", "/dashboard/alerts", "/dashboard/tokens", "/dashboard/dead-letters"]) {
      const forms = formsOf(await (await get(path, cookie)).text());
      expect(forms.filter((f) => f.method === "post" && /\/(delete|revoke)$/.test(f.action)), path).toEqual([]);
    }
    expect(formsOf(await (await get("/dashboard/tokens", cookie)).text())).toContainEqual({ method: "get", action: `/dashboard/tokens/${t.id}/revoke`, asks: true });
  });

  it("ask nothing about an id no id could be: a crafted id adds neither markup nor text to the question", async () => {
    const cookie = await signIn();
    const res = await get(`/dashboard/sources/${encodeURIComponent('<b id="x">"')}/delete`, cookie);
    expect(res.status).toBe(404);
    const html = await res.text();
    expect(html).not.toContain('<b id="x">');
    expect(html).not.toContain("&lt;b id=&quot;x&quot;&gt;");
  });
});

describe("every page of the menu", () => {
  it("has one heading hierarchy: its title the one h1, no heading repeating it, no level skipped", async () => {
    const cookie = await signIn();
    const p = pipeline();
    const key = uniqueKey();
    // Something in each list (an endpoint puts the Alerts page's section and form on it).
    await p.api("POST", "/v1/notification-endpoints", { url: `https://ops.example.com/${key}`, alertTypes: ["webhook.failing"] });
    const pages = { "/dashboard": "Overview", "/dashboard/events": "Events", "/dashboard/webhooks": "Webhooks", "/dashboard/sources": "Sources", "/dashboard/alerts": "Alerts", "/dashboard/dead-letters": "Dead letters", "/dashboard/tokens": "Tokens" };
    for (const [path, title] of Object.entries(pages)) {
      const html = await (await get(path, cookie)).text();
      const headings = [...html.matchAll(/<h([1-6])[^>]*>([\s\S]*?)<\/h\1>/g)].map((m) => ({ level: Number(m[1]), text: text(m[2]!).trim() }));
      expect(headings[0], path).toEqual({ level: 1, text: title });
      expect(headings.filter((h) => h.level === 1), path).toHaveLength(1);
      expect(headings.filter((h) => h.text === title), path).toHaveLength(1);
      headings.slice(1).forEach((h, i) => expect(h.level, `${path}: ${h.text}`).toBeLessThanOrEqual(headings[i]!.level + 1));
    }
  });
});
