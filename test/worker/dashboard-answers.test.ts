// What the dashboard shows of the API's answers: its warnings about what was saved, and its refusals.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, dashboardCookie, dashboardForm, dashboardShown, pageBanners as banners, pageText as text } from "./helpers";
import { pipeline, uniqueKey } from "./pipeline";
import { as, makeToken } from "./tokens";
import { WEBHOOK_LABELS } from "../../src/dashboard/field-labels";

const ORIGIN = "https://edgehook.test";
const get = (path: string, cookie: string) => call(new Request(`${ORIGIN}${path}`, { headers: { cookie } }));
/** Where a redirect leads, fetched in the session. */
const follow = (res: Response, cookie: string) => {
  expect(res.status).toBe(303);
  const to = new URL(res.headers.get("location")!, `${ORIGIN}/dashboard/`);
  return get(`${to.pathname}${to.search}`, cookie);
};
/** A page's warning banners: notices told apart from the others by their class. */
const warningsOn = (html: string) => [...html.matchAll(/<p class="notice warning" role="status"[^>]*>([\s\S]*?)<\/p>/g)].map((m) => text(m[1]!).trim());
/** How often `s` is said in the page's main part (banners and body). */
const timesSaid = (html: string, s: string) => text(/<main[\s\S]*<\/main>/.exec(html)![0]).split(s).length - 1;

describe("the API's warnings about what a form saved", () => {
  it("shows each, escaped and apart from errors, on the page a new webhook's secret is shown on and after saving an edit", async () => {
    const c = await dashboardCookie();
    const key = uniqueKey();
    const types = "message.*, mesage.sent";
    // What the API says of the same types, for a webhook of another organization.
    const direct = await pipeline().api("POST", "/v1/webhooks", { url: `https://downstream.test/ok/${key}-api`, eventTypes: ["message.*", "mesage.sent"], organizationUid: `org-${key}-api` });
    const said: string[] = direct.json.warnings.map((w: { message: string }) => w.message);
    expect(said).toHaveLength(1);
    expect(said[0]).toContain('did you mean "message.sent"?');

    const created = await dashboardShown(await dashboardForm("/dashboard/webhooks", c, { url: `https://downstream.test/ok/${key}`, eventTypes: types, organizationUid: `org-${key}` }), c);
    expect(created.status).toBe(200);
    const createdHtml = await created.text();
    expect(text(createdHtml)).toContain("it is shown this once");
    expect(warningsOn(createdHtml)).toEqual(said);
    expect(createdHtml).toContain("did you mean &quot;message.sent&quot;?");
    expect(banners(createdHtml, "alert")).toEqual([]);

    // Edited to the same types, from a webhook that had none of them: "Saved.", then the warning.
    const uid = /\/dashboard\/webhooks\/([0-9a-f-]{36})/.exec(createdHtml)![1]!;
    expect((await pipeline().api("PATCH", `/v1/webhooks/${uid}`, { eventTypes: ["message.*"] })).status).toBe(200);
    const saved = await (await follow(await dashboardForm(`/dashboard/webhooks/${uid}`, c, { url: `https://downstream.test/ok/${key}`, eventTypes: types }), c)).text();
    expect(banners(saved, "status")).toEqual(["Saved.", ...said]);
    expect(warningsOn(saved)).toEqual(said);
    expect(banners(saved, "alert")).toEqual([]);
    // A save the API has nothing to say about shows only that it saved.
    const plain = await (await follow(await dashboardForm(`/dashboard/webhooks/${uid}`, c, { url: `https://downstream.test/ok/${key}`, eventTypes: "message.*" }), c)).text();
    expect(banners(plain)).toEqual(["Saved."]);
  });

  it("shows ten of a save's many warnings, then how many more, so that the redirect stays short", async () => {
    const c = await dashboardCookie();
    const key = uniqueKey();
    const types = Array.from({ length: 14 }, (_, i) => `unheard${i}-${key}.thing`);
    const created = await dashboardShown(await dashboardForm("/dashboard/webhooks", c, { url: `https://downstream.test/ok/${key}`, eventTypes: types.join(","), organizationUid: `org-${key}` }), c);
    const shown = warningsOn(await created.text());
    expect(shown).toHaveLength(11);
    for (const [i, t] of types.slice(0, 10).entries()) expect(shown[i]).toContain(`"${t}"`);
    expect(shown[10]).toBe("And 4 more warnings like these.");
  });
});

describe("a page the API refuses to read", () => {
  it("answers a list's refused cursor with the API's 400, its message as the error banner, and a link back to the list's first page", async () => {
    const c = await dashboardCookie();
    for (const [path, list, label] of [
      ["/dashboard/webhooks?cursor=garbage", "/dashboard/webhooks", "the webhooks"],
      ["/dashboard/sources?cursor=garbage", "/dashboard/sources", "the sources"],
      ["/dashboard/alerts?alerts=garbage", "/dashboard/alerts", "the alerts"],
      ["/dashboard/alerts?endpoints=garbage", "/dashboard/alerts", "the alerts"],
    ]) {
      const res = await get(path!, c);
      expect(res.status, path).toBe(400);
      const html = await res.text();
      expect(banners(html, "alert"), path).toEqual(["The cursor is not one this API returned for this list: pass the cursor the same request's previous page answered (the same filters), or leave cursor out to start again from the first page."]);
      expect(html, path).toContain(`<a href="${list}">Back to ${label}</a>`);
      expect(html, path).toContain(`<a href="${list}" aria-current="page">`);
    }
    // The events list keeps its form for a refused filter or cursor, as before.
    const events = await get("/dashboard/events?cursor=garbage", c);
    expect(events.status).toBe(400);
    const eventsHtml = await events.text();
    expect(banners(eventsHtml, "alert")).toHaveLength(1);
    expect(eventsHtml).toContain('<form method="get" action="/dashboard/events" class="filters" aria-label="Filter events"');
  });

  it("refuses a list page's parameter it does not take (a misspelt filter) with 400 in the API's words, rather than the whole list as if it were filtered", async () => {
    const c = await dashboardCookie();
    const api = await pipeline().api("GET", "/v1/events?eventtype=contact.created");
    expect(api.json.error.message).toMatch(/^Invalid query: eventtype: not a parameter of this list, which takes /);
    const takes = "q, eventType, sourceId, locationUid, organizationUid, status, since, until, id, cursor";
    for (const [path, list, label, said] of [
      ["/dashboard/events?eventtype=contact.created", "/dashboard/events", "the events", `Invalid query: eventtype: not a parameter of this list, which takes ${takes}.`],
      ["/dashboard/events?eventType=contact.created&Status=failed", "/dashboard/events", "the events", `Invalid query: Status: not a parameter of this list, which takes ${takes}.`],
      ["/dashboard/dead-letters?opne=true", "/dashboard/dead-letters", "the dead letters", "Invalid query: opne: not a parameter of this list, which takes open, cursor."],
      // A name that is no parameter's is not shown: a crafted link's sentence is not put on the page.
      [`/dashboard/events?${encodeURIComponent("Session expired: sign in at evil.test")}=1`, "/dashboard/events", "the events", `Invalid query: not a parameter of this list, which takes ${takes}.`],
      // One with no name, as the API refuses it.
      ["/dashboard/events?=x", "/dashboard/events", "the events", `Invalid query: not a parameter of this list, which takes ${takes} (a parameter with no name, =…).`],
      ["/dashboard/dead-letters?open=true&=%ff", "/dashboard/dead-letters", "the dead letters", "Invalid query: not a parameter of this list, which takes open, cursor (a parameter with no name, =…)."],
      // A value the API refuses, no longer read as false.
      ["/dashboard/dead-letters?open=yes", "/dashboard/dead-letters", "the dead letters", expect.stringMatching(/^Invalid query: open: /)],
    ] as const) {
      const res = await get(path, c);
      expect(res.status, path).toBe(400);
      const html = await res.text();
      expect(banners(html, "alert"), path).toEqual([said]);
      expect(html, path).toContain(`<a href="${list}">Back to ${label}</a>`);
      expect(html, path).toContain(`<a href="${list}" aria-current="page">`);
      expect(html, path).not.toContain('<table');
    }
    // What the pages' forms, links and script give, and a redirect's banners, are taken as before.
    for (const path of [
      "/dashboard/events?q=&eventType=contact.created&sourceId=&locationUid=&organizationUid=&status=&since=&until=",
      "/dashboard/events?eventType=contact.created&partial=1",
      "/dashboard/events?notice=Saved.&sig=unsigned",
      "/dashboard/dead-letters?open=true",
      "/dashboard/dead-letters?open=false&notice=Saved.&warning=w&error=e&sig=unsigned",
    ]) {
      expect((await get(path, c)).status, path).toBe(200);
    }
    expect((await get("/dashboard/events?id=", c)).status).toBe(200);
  });

  it("refuses a query parameter given more than once with 400 in the API's words, rather than a page read by its first value", async () => {
    const c = await dashboardCookie();
    const hook = await pipeline().createWebhook({ url: `https://downstream.test/ok/${uniqueKey()}`, eventTypes: ["message.*"], organizationUid: `org-${uniqueKey()}` });
    const api = await pipeline().api("GET", "/v1/events?eventType=message.sent&eventType=contact.created");
    expect(api.status).toBe(400);
    expect(api.json.error.message).toBe("Invalid query: eventType is given 2 times; give it once.");
    for (const [path, name, times] of [
      ["/dashboard/events?eventType=message.sent&eventType=contact.created", "eventType", 2],
      ["/dashboard/events?status=failed&cursor=a&cursor=b&cursor=c", "cursor", 3],
      ["/dashboard/events?id=evt_1&id=evt_2", "id", 2],
      ["/dashboard/dead-letters?open=true&open=false", "open", 2],
      ["/dashboard/webhooks?cursor=a&cursor=b", "cursor", 2],
      ["/dashboard/sources?cursor=a&cursor=b", "cursor", 2],
      ["/dashboard/tokens?cursor=a&cursor=b", "cursor", 2],
      ["/dashboard/alerts?endpoints=a&endpoints=b", "endpoints", 2],
      ["/dashboard/alerts?alerts=a&alerts=b", "alerts", 2],
      [`/dashboard/webhooks/${hook.uid}?test=a&test=b`, "test", 2],
      [`/dashboard/webhooks/${hook.uid}/test?eventId=a&eventId=b`, "eventId", 2],
    ] as const) {
      const res = await get(path, c);
      expect(res.status, path).toBe(400);
      const html = await res.text();
      expect(banners(html, "alert"), path).toEqual([`Invalid query: ${name} is given ${times} times; give it once.`]);
      expect(html, path).not.toContain("<table");
      // A page's own parameter given twice is refused under its title and menu entry, with the way back to its list's first page.
      const list = /^\/dashboard\/([a-z-]+)/.exec(path)![1]!;
      expect(text(html), path).toContain(`Back to the ${list.replace("-", " ")}`);
      expect(html, path).toMatch(/<h1>(Events|Dead letters|Webhooks?|Sources|Tokens|Alerts|Test this webhook)<\/h1>/);
      expect(html, path).toContain(`href="/dashboard/${list}" aria-current="page"`);
    }
    // The sign-in page, without a session, too; a redirect's warnings, one a parameter each, are taken as before.
    const login = await call(new Request(`${ORIGIN}/dashboard/login?next=/dashboard/tokens&next=/dashboard/sources`));
    expect(login.status).toBe(400);
    expect(banners(await login.text(), "alert")).toEqual(["Invalid query: next is given 2 times; give it once."]);
    expect((await get("/dashboard/events?eventType=message.sent&warning=a&warning=b&sig=unsigned", c)).status).toBe(200);
  });

  it("tells a session without the list's scope that it lacks it (403, as the API does) before refusing a parameter the list does not take", async () => {
    const p = pipeline();
    const signIn = async (token: string) => (await dashboardForm("/dashboard/login", null, { token })).headers.get("set-cookie")!.split(";")[0]!;
    // Events but no admin: the dead letters need admin. Webhooks but no events:read: the events need it.
    const { token: readerToken } = await makeToken(p, ["events:read", "webhooks:read", "read_messages"]);
    const { token: noEventsToken } = await makeToken(p, ["webhooks:read", "read_messages"]);
    const reader = await signIn(readerToken);
    const noEvents = await signIn(noEventsToken);
    for (const [list, api, token, cookie, scope] of [
      ["/dashboard/dead-letters", "/v1/dead-letters", readerToken, reader, "admin"],
      ["/dashboard/events", "/v1/events", noEventsToken, noEvents, "events:read"],
    ] as const) {
      const said = [`This token lacks the scope "${scope}".`];
      expect((await as(p, token, "GET", `${api}?x=1`)).status, api).toBe(403);
      for (const path of [list, `${list}?x=1`, `${list}?opne=true&eventtype=a`, `${list}?cursor=c&x=1`, `${list}?cursor=a&cursor=b`, `${list}?id=evt_1&id=evt_2`]) {
        const res = await get(path, cookie);
        expect(res.status, path).toBe(403);
        expect(banners(await res.text(), "alert"), path).toEqual(said);
      }
    }
    // A session with the scope is still told of the parameter; the events' id still opens the event.
    expect((await get("/dashboard/events?x=1", reader)).status).toBe(400);
    expect((await get("/dashboard/events?id=evt_1&x=1", noEvents)).headers.get("location")).toBe("/dashboard/events/evt_1");
  });

  it("says once that what an action was pressed on is gone: a webhook deleted in another tab, an event that does not exist", async () => {
    const c = await dashboardCookie();
    const p = pipeline();
    const webhook = await p.createWebhook({ url: `https://downstream.test/ok/${uniqueKey()}`, eventTypes: ["*"], organizationUid: `org-${uniqueKey()}` });
    const page = `/dashboard/webhooks/${webhook.uid}`;
    expect((await p.api("DELETE", `/v1/webhooks/${webhook.uid}`)).status).toBe(204);
    // A deliveries list keeps a deleted webhook's uid and links to it: the page says why it is not found.
    const gone = `No webhook "${webhook.uid}" (deleted, or not one this token may see).`;
    for (const action of ["delete", "disable", "enable"]) {
      // Pressed on the webhook's page, opened before it was deleted.
      const pressed = await call(
        new Request(`${ORIGIN}${page}/${action}`, {
          method: "POST",
          headers: { cookie: c, origin: ORIGIN, referer: `${ORIGIN}${page}`, "content-type": "application/x-www-form-urlencoded" },
          body: "",
        }),
      );
      const shown = await follow(pressed, c);
      expect(shown.status, action).toBe(404);
      const html = await shown.text();
      expect(banners(html), action).toEqual([gone]);
      expect(timesSaid(html, gone), action).toBe(1);
      expect(html, action).toContain('<a href="/dashboard/webhooks">Back to the webhooks</a>');
    }

    const missing = `evt_${"0".repeat(31)}1`;
    const replayed = await follow(await dashboardForm(`/dashboard/events/${missing}/replay`, c, {}), c);
    expect(replayed.status).toBe(404);
    const html = await replayed.text();
    const said = `No event "${missing}" (mistyped, purged, not stored yet, or not one this token may see).`;
    expect(banners(html)).toEqual([said]);
    expect(timesSaid(html, said)).toBe(1);
    expect(html).toContain('<a href="/dashboard/events">Back to the events</a>');
  });
});

describe("a webhook form's number that is no number", () => {
  it("is refused, naming the field, never saved as none (a rate limit of 'five' lifted the limit)", async () => {
    const c = await dashboardCookie();
    const key = uniqueKey();
    const p = pipeline();
    const hook = (await p.api("POST", "/v1/webhooks", { url: `https://downstream.test/ok/${key}`, eventTypes: ["message.*"], organizationUid: `org-${key}`, rateLimit: 5, autoDisableAfterMinutes: 60 })).json;
    for (const [field, typed, label] of [["rateLimit", "five", "Rate limit"], ["autoDisableAfterMinutes", "an hour", "Disable after"], ["timeoutMs", "3s", "Timeout (ms)"]] as const) {
      const res = await dashboardForm(`/dashboard/webhooks/${hook.uid}`, c, { url: `https://downstream.test/ok/${key}`, eventTypes: "message.*", rateLimit: "5", autoDisableAfterMinutes: "60", [field]: typed });
      const html = await (res.status === 303 ? await follow(res, c) : res).text();
      expect(banners(html, "alert").join(" "), field).toContain(`${label}: `);
      expect(banners(html, "status"), field).not.toContain("Saved.");
      const stored = (await p.api("GET", `/v1/webhooks/${hook.uid}`)).json;
      expect({ rateLimit: stored.rateLimit, autoDisableAfterMinutes: stored.autoDisableAfterMinutes, timeoutMs: stored.timeoutMs }, field).toEqual({
        rateLimit: 5,
        autoDisableAfterMinutes: 60,
        timeoutMs: hook.timeoutMs,
      });
    }
  });
});

describe("a webhook form's number not written as the API takes one (decimal digits)", () => {
  // Each read by Number() as a number in the field's range, and stored: 0x14 as 20, 2e1 as 20.
  const typed = (n: number) => [`0x${n.toString(16)}`, `${n / 10}e1`, ` ${n}`, `${n} `, `${n}.0`, `+${n}`];
  const fields = [
    ["timeoutMs", 2000],
    ["maxAttempts", 20],
    ["rateLimit", 20],
    ["maxConcurrency", 20],
    ["failingAfterAttempts", 20],
    ["autoDisableAfterMinutes", 20],
  ] as const;

  it("is refused with a form error naming the field, before the API, and nothing stored changes; digits save", async () => {
    const c = await dashboardCookie();
    const key = uniqueKey();
    const p = pipeline();
    const hook = (await p.api("POST", "/v1/webhooks", { url: `https://downstream.test/ok/${key}`, eventTypes: ["message.*"], organizationUid: `org-${key}`, rateLimit: 5, autoDisableAfterMinutes: 60 })).json;
    const row = () => env.DB.prepare("SELECT * FROM webhooks WHERE uid = ?").bind(hook.uid).first();
    const before = await row();
    const form = { url: `https://downstream.test/ok/${key}`, eventTypes: "message.*", rateLimit: "5", autoDisableAfterMinutes: "60" };
    for (const [field, n] of fields) {
      for (const value of typed(n)) {
        const res = await dashboardForm(`/dashboard/webhooks/${hook.uid}`, c, { ...form, [field]: value });
        const what = `${field}=${JSON.stringify(value)}`;
        expect(res.status, what).toBe(400);
        expect(banners(await res.text(), "alert"), what).toEqual([`${WEBHOOK_LABELS[field]}: expected a whole number (decimal digits)`]);
        expect(await row(), what).toEqual(before);
      }
      // Out of the body's bounds: said in the API's words, by the API beside any other issue.
      const over = await dashboardForm(`/dashboard/webhooks/${hook.uid}`, c, { ...form, [field]: "99999999" });
      expect(over.status, field).toBe(400);
      const said = banners(await over.text(), "alert")[0] ?? "";
      expect(said.startsWith(`${WEBHOOK_LABELS[field]}: must be at most `), said).toBe(true);
      expect(said, field).toMatch(/ \d+ \(got 99999999\)\.$/);
      expect(await row(), field).toEqual(before);
    }
    // A new webhook's form is held to the same: none is made.
    const created = await dashboardForm("/dashboard/webhooks", c, { url: `https://downstream.test/ok/${key}-new`, eventTypes: "message.*", organizationUid: `org-${key}-new`, maxAttempts: "1e1" });
    expect(created.status).toBe(400);
    expect(banners(await created.text(), "alert")).toEqual(["Attempts: expected a whole number (decimal digits)"]);
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM webhooks WHERE organization_uid = ?").bind(`org-${key}-new`).first("n")).toBe(0);

    // Plain digits are taken, each as its number.
    const saved = await dashboardForm(`/dashboard/webhooks/${hook.uid}`, c, { ...form, ...Object.fromEntries(fields.map(([f, n]) => [f, String(n)])) });
    expect(saved.status).toBe(303);
    expect(banners(await (await follow(saved, c)).text(), "status")).toEqual(["Saved."]);
    const stored = (await p.api("GET", `/v1/webhooks/${hook.uid}`)).json;
    expect(Object.fromEntries(fields.map(([f]) => [f, stored[f]]))).toEqual(Object.fromEntries(fields));
  });
});

describe("a comma box with an empty entry", () => {
  it("is refused (400) naming the box by its label, with what was typed kept, rather than saved without the entry", async () => {
    const c = await dashboardCookie();
    const key = uniqueKey();
    const p = pipeline();
    const hook = await p.createWebhook({ url: `https://downstream.test/ok/${key}`, eventTypes: ["message.*"], organizationUid: `org-${key}` });
    const refusals: { path: string; fields: Record<string, string>; box: string; says: string }[] = [
      { path: "/dashboard/webhooks", fields: { url: `https://downstream.test/ok/${key}-new`, eventTypes: "message.*,,contact.*", organizationUid: `org-${key}` }, box: "eventTypes", says: "Event types: entry 2 of 3 is empty" },
      { path: `/dashboard/webhooks/${hook.uid}`, fields: { url: `https://downstream.test/ok/${key}`, eventTypes: "message.*," }, box: "eventTypes", says: "Event types: entry 2 of 2 is empty" },
      { path: "/dashboard/tokens", fields: { name: `t-${key}`, scopes: "events:read", organizationUids: `orgA-${key},,orgB-${key}` }, box: "organizationUids", says: "Organizations: entry 2 of 3 is empty" },
      { path: "/dashboard/tokens", fields: { name: `t-${key}`, scopes: "events:read", locationUids: `,loc-${key}` }, box: "locationUids", says: "Locations: entry 1 of 2 is empty" },
    ];
    for (const { path, fields, box, says } of refusals) {
      const res = await dashboardForm(path, c, fields);
      expect(res.status, says).toBe(400);
      const html = await res.text();
      expect(banners(html, "alert")[0], says).toContain(says);
      const typed = fields[box]!;
      expect(html, says).toMatch(new RegExp(`<input name="${box}"[^>]*value="${typed.replace(/[.*]/g, "\\$&")}"`));
    }
    // Nothing was saved.
    expect((await p.api("GET", `/v1/webhooks/${hook.uid}`)).json.eventTypes).toEqual(["message.*"]);
    const tokens = (await p.api("GET", "/v1/tokens?limit=100")).json.data as { name: string }[];
    expect(tokens.filter((t) => t.name === `t-${key}`)).toEqual([]);
  });
});

describe("a form's field the API refused", () => {
  it("is named by its label, not the API's path; a refused \"Replace secret\" answers the API's 400 with the page and that form marked", async () => {
    const c = await dashboardCookie();
    const key = uniqueKey();
    const p = pipeline();
    const sourceId = `rot-${key}`.slice(0, 40);
    expect((await p.api("POST", "/v1/sources", { id: sourceId, name: "Rotated", provider: "podium", secrets: ["secret-long-enough"] })).status).toBe(201);
    const rotate = await dashboardForm(`/dashboard/sources/${sourceId}/rotate`, c, { secret: "", previous: "" });
    expect(rotate.status).toBe(400);
    const html = await rotate.text();
    expect(banners(html, "alert")).toEqual(["New secret: must be at least 8 characters (got 0)."]);
    const rotateForm = new RegExp(`<form method="post" action="/dashboard/sources/${sourceId}/rotate"[\\s\\S]*?</form>`).exec(html)?.[0] ?? "";
    expect(rotateForm).toMatch(/<input name="secret"[^>]*aria-invalid="true"/);
    // The new-source form is not the one marked.
    expect(/<form method="post" action="\/dashboard\/sources"[\s\S]*?<\/form>/.exec(html)?.[0]).not.toContain("aria-invalid");
    // Its second box refused (`secrets.1`): that box is the one marked and focused, not "New secret".
    const still = await dashboardForm(`/dashboard/sources/${sourceId}/rotate`, c, { secret: "a-new-secret-long-enough", previous: "short" });
    expect(still.status).toBe(400);
    const stillHtml = await still.text();
    expect(banners(stillHtml, "alert")).toEqual(["Still accept: must be at least 8 characters (got 5)."]);
    const stillForm = new RegExp(`<form method="post" action="/dashboard/sources/${sourceId}/rotate"[\\s\\S]*?</form>`).exec(stillHtml)?.[0] ?? "";
    expect(stillForm).toMatch(/<input name="previous"[^>]*aria-invalid="true"[^>]*autofocus/);
    expect(stillForm).not.toMatch(/<input name="secret"[^>]*aria-invalid/);
    const kept = (await p.api("GET", `/v1/sources/${sourceId}`)).json;
    expect(kept.id).toBe(sourceId);
    // Each form's refusal names the box by its label.
    const refusals: { path: string; fields: Record<string, string>; says: RegExp }[] = [
      { path: "/dashboard/webhooks", fields: { url: `https://downstream.test/ok/${key}`, eventTypes: "message.*", organizationUid: `org-${key}`, transformHeaders: '{"x-a": "$$$("}' }, says: /^Extra headers, x-a: / },
      // Several issues (two headers): the message says the first, by its label, and no API path.
      { path: "/dashboard/webhooks", fields: { url: `https://downstream.test/ok/${key}`, eventTypes: "message.*", organizationUid: `org-${key}`, transformHeaders: '{"x-a": "$$$(", "x-b": "$$$("}' }, says: /^Extra headers, x-a: / },
      { path: "/dashboard/webhooks", fields: { url: `https://downstream.test/ok/${key}`, eventTypes: `message.*, ${"x".repeat(300)}`, organizationUid: `org-${key}` }, says: /^Event types, entry 2: / },
      { path: "/dashboard/tokens", fields: { name: `t-${key}`, scopes: "events:read", organizationUids: `org-${key}, ${"o".repeat(300)}` }, says: /^Organizations, entry 2: / },
      { path: "/dashboard/sources", fields: { id: `new-${key}`.slice(0, 40), name: "New", provider: "podium", secret: "short" }, says: /^Secret: must be at least 8 characters/ },
    ];
    for (const { path, fields, says } of refusals) {
      const res = await dashboardForm(path, c, fields);
      expect(res.status, path).toBe(400);
      const said = banners(await res.text(), "alert")[0];
      expect(said, path).toMatch(says);
      expect(said, path).not.toMatch(/Invalid body|transformHeaders|rateLimit|eventTypes|organizationUids/);
    }
    // The events filter too.
    expect(banners(await (await get("/dashboard/events?since=garbage", c)).text(), "alert")[0]).toMatch(/^Since \(UTC\): expected an ISO 8601 time/);
  });
});
