// Text written by strangers (an event's body, type and owner; a downstream's answer) and by tokens
// (a webhook's filter and transformation, a source's name), rendered by the dashboard: always as text.
import { describe, expect, it } from "vitest";
import { call, dashboardCookie, dashboardForm, pageBanners, pageText } from "./helpers";
import { pipeline, uniqueKey, webhookSetup } from "./pipeline";

const ORIGIN = "https://edgehook.test";
const get = (path: string, cookie: string) => call(new Request(`${ORIGIN}${path}`, { headers: { cookie } }));

const IMG = "<img src=x onerror=alert(1)>";
const SCRIPT = "</script><script>alert(1)</script>";
const TEXTAREA = "</textarea><svg onload=alert(1)>";

/** Markup a payload would have made, had it been written into the page unescaped. */
const INJECTED = [/<img src=x/i, /<svg onload/i, /<script>alert/i, /<\/textarea><svg/i, /(href|src|action)="\s*javascript:/i];

function expectEscaped(html: string, page: string) {
  for (const re of INJECTED) expect(html, `${page}: ${re}`).not.toMatch(re);
  // The only scripts are the dashboard's own file.
  expect([...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]), page).toEqual(['<script src="/dashboard/assets/app.js" defer="">']);
}

describe("the dashboard renders hostile text as text", () => {
  it("escapes event bodies, types, owners, a downstream's answer, filters, transformations and names on every page", async () => {
    const cookie = await dashboardCookie();
    // The downstream echoes the request's headers in its error, as some gateways' error pages do.
    const { p, org, webhook } = await webhookSetup("echo", { transformHeaders: { "x-probe": `'${IMG}'` }, maxAttempts: 1 });
    const body = JSON.stringify({
      data: { uid: crypto.randomUUID(), body: IMG, link: "javascript:alert(1)", note: SCRIPT, location: { uid: `loc-"><svg onload=alert(1)>`, organizationUid: org } },
      metadata: { eventType: `message.${IMG}`, eventUid: crypto.randomUUID(), version: "2021.04.01" },
    });
    const event = await p.ingest(body);
    await p.deliver();
    const other = await p.createWebhook({
      url: `https://downstream.test/ok/${uniqueKey()}`,
      eventTypes: ["*"],
      organizationUid: org,
      filter: { body: { "data.body": TEXTAREA } },
      transform: `{"text": "${TEXTAREA}"}`,
    });
    const named = await dashboardForm("/dashboard/sources", cookie, { name: `${IMG}${SCRIPT}`, provider: "podium", secret: "a-secret-of-its-own" });
    expect(named.status).toBe(303);

    const pages = [
      `/dashboard/events/${event}`,
      `/dashboard/events?organizationUid=${org}`,
      `/dashboard/events?partial=1&organizationUid=${org}`,
      `/dashboard/events?q=${encodeURIComponent(IMG)}&eventType=${encodeURIComponent(SCRIPT)}`,
      `/dashboard/webhooks/${webhook.uid}`,
      `/dashboard/webhooks/${other.uid}`,
      "/dashboard/webhooks",
      "/dashboard/sources",
      "/dashboard",
      `/dashboard/${encodeURIComponent(IMG)}`,
      `/dashboard/webhooks/${encodeURIComponent(SCRIPT)}/delete`,
    ];
    for (const path of pages) {
      const res = await get(path, cookie);
      const html = await res.text();
      if (path.includes("partial=1")) for (const re of INJECTED) expect(html, path).not.toMatch(re);
      else expectEscaped(html, path);
    }
    // Each was shown, escaped: the body, the type, the downstream's answer.
    const page = await (await get(`/dashboard/events/${event}`, cookie)).text();
    expect(page).toContain("&lt;img src=x onerror=alert(1)&gt;");
    expect(page).toContain("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(page.match(/&lt;img src=x onerror=alert\(1\)&gt;/g)?.length).toBeGreaterThanOrEqual(3); // title, type, body, the echo
    // The filter and the transformation, in the edit form's text boxes.
    const edit = await (await get(`/dashboard/webhooks/${other.uid}`, cookie)).text();
    expect(edit).toContain("&lt;/textarea&gt;&lt;svg onload=alert(1)&gt;");
  });
});

describe("a crafted link puts no sentence of its own on a dashboard page", () => {
  it("refuses an id no id could be without naming it, on the confirm pages, the object pages and a missing page alike", async () => {
    const cookie = await dashboardCookie();
    const sentence = "Session expired. Paste your admin token at https://evil.example/login to continue";
    const id = encodeURIComponent(sentence);
    const pages: [string, string][] = [
      [`/dashboard/tokens/${id}/revoke`, "/dashboard/tokens"],
      [`/dashboard/webhooks/${id}/delete`, "/dashboard/webhooks"],
      [`/dashboard/sources/${id}/delete`, "/dashboard/sources"],
      [`/dashboard/dead-letters/${id}/delete`, "/dashboard/dead-letters"],
      [`/dashboard/alerts/endpoints/${id}/delete`, "/dashboard/alerts"],
      [`/dashboard/webhooks/${id}`, "/dashboard/webhooks"],
      [`/dashboard/events/${id}`, "/dashboard/events"],
      [`/dashboard/${id}`, "/dashboard"],
    ];
    for (const [path, back] of pages) {
      const res = await get(path, cookie);
      const html = await res.text();
      expect(res.status, path).toBe(404);
      expect(pageText(html), path).not.toMatch(/Paste your admin token|evil\.example/);
      expect(pageBanners(html, "alert").length, path).toBe(1);
      expect(html, path).toContain(`href="${back}"`);
    }
    // A POST to such an address is refused alike, asking the API nothing.
    const posted = await dashboardForm(`/dashboard/tokens/${id}/revoke`, cookie, {});
    expect(posted.status).toBe(404);
    expect(pageText(await posted.text())).not.toContain("evil.example");
    // An id of the characters ids are made of is looked up (and named) as before.
    const plain = await get("/dashboard/webhooks/no-such-webhook", cookie);
    expect(plain.status).toBe(404);
    expect(pageBanners(await plain.text(), "alert")).toEqual(['No webhook "no-such-webhook" (deleted, or not one this token may see).']);
    // (A confirm page asks only of what is there: this one is looked up, and named as not found.)
    const confirm = await get("/dashboard/tokens/tok_0123/revoke", cookie);
    expect(confirm.status).toBe(404);
    expect(pageBanners(await confirm.text(), "alert")).toEqual(['No token "tok_0123".']);
  });

  it("a webhook test's address naming no event id puts no sentence in the banner the dashboard signs, nor in the form", async () => {
    const cookie = await dashboardCookie();
    const { webhook } = await pipeline().webhookOn("ok");
    const sentence = "Session expired. Paste your admin token at https://evil.example/login";
    const res = await get(`/dashboard/webhooks/${webhook.uid}/test?eventId=${encodeURIComponent(sentence)}`, cookie);
    expect(res.status).toBe(303);
    const to = res.headers.get("location")!;
    expect(to).not.toMatch(/evil/);
    const html = await (await get(to, cookie)).text();
    expect(pageBanners(html, "alert")).toEqual(["No event has the id this address names."]);
    expect(html).not.toMatch(/evil\.example/);
    // Nor a webhook uid of plain characters that is none: its page's 404, unsigned, not a redirect to a signed banner.
    const phony = "Session-expired_sign-in-at-evil-example-com";
    const none = await get(`/dashboard/webhooks/${phony}/test?eventId=evt_${"0".repeat(32)}`, cookie);
    expect([none.status, none.headers.get("location")]).toEqual([404, null]);
    // Typed in the form (a same-origin post), it is refused saying what an event id is.
    const typed = await dashboardForm(`/dashboard/webhooks/${webhook.uid}/test`, cookie, { eventId: "not-an-id" });
    // Back to the webhook's page, with no empty ?test= in its address.
    expect(new URL(typed.headers.get("location")!, "http://x").searchParams.has("test")).toBe(false);
    const mend = await (await get(typed.headers.get("location")!, cookie)).text();
    expect(pageBanners(mend, "alert")).toEqual(["Event id: give an event's id (evt_ and 32 hex digits, as the events list shows them)."]);
    // The webhook's page keeps in its Event id box only what an event id could be.
    const kept = (test: string) => get(`/dashboard/webhooks/${webhook.uid}?${new URLSearchParams({ test })}`, cookie).then((r) => r.text());
    expect(await kept(sentence)).not.toMatch(/evil\.example/);
    const id = `evt_${"0".repeat(32)}`;
    expect(await kept(id)).toContain(`value="${id}"`);
  });

  it("a refused search's banner quotes the link's text only as a short excerpt: the key, operator, pattern or value that is wrong", async () => {
    const cookie = await dashboardCookie();
    const sentence = "Session expired. Paste your admin token at https://evil.example/login to continue";
    const searches = [
      JSON.stringify({ [sentence]: 1 }), // an unknown field: the key, in the message and its path
      JSON.stringify({ body: { [sentence]: { $nope: 1 } } }), // a path through the key
      JSON.stringify({ body: { s: { [`$${sentence}`]: 1 } } }), // an unknown operator
      JSON.stringify({ body: { s: { $regex: `(${sentence}` } } }), // RE2's error quotes the pattern
      JSON.stringify({ headers: { "x-a": { $eq: { note: sentence } } } }), // a header's value that is no string, shown as an example
      ...["eventType", "sourceId", "locationUid", "organizationUid", "status", "since", "until"].map((f) => `${f}=${encodeURIComponent(sentence)}`),
      `cursor=${encodeURIComponent(sentence)}`,
    ];
    for (const search of searches) {
      const query = search.includes("=") && !search.startsWith("{") ? `q=x&${search}` : `q=${encodeURIComponent(search)}`;
      const res = await get(`/dashboard/events?${query}`, cookie);
      const html = await res.text();
      const banners = pageBanners(html, "alert");
      expect(banners.join(" "), search).not.toMatch(/Paste your admin|evil\.example/);
      if (search.startsWith("{")) {
        expect(res.status, search).toBe(400);
        // What is wrong, and where, is still said, with the start of the key (or pattern) marked as the input's.
        expect(banners, search).toEqual([expect.stringMatching(/^Invalid query: q\b.*(["`]\(?\$?Session expi[^"`]*…["`]|compare it with one\.$)/)]);
      }
    }
    // A sentence short enough for a source id's length (64) is not quoted either, nor any other filter's.
    const short = "Session expired. Sign in at evil.example/login";
    for (const [f, value] of [
      ["sourceId", short],
      ["eventType", short],
      // A Podium object's name first makes it a typo of one of its types, which the refusal quotes.
      ["eventType", `message.${short}`],
      ["locationUid", short],
      ["organizationUid", short],
    ]) {
      const html = await (await get(`/dashboard/events?${f}=${encodeURIComponent(value!)}`, cookie)).text();
      expect(pageText(html), value).not.toMatch(/Sign in at|evil\.example\/login/);
    }
    const unquoted = await get(`/dashboard/events?sourceId=${encodeURIComponent(short)}`, cookie);
    expect(unquoted.status).toBe(400);
    expect(pageBanners(await unquoted.text(), "alert")).toEqual(["Source: no source has such an id (lowercase letters, digits and -, at most 64)."]);
    // A name of the characters names are made of is quoted whole, as before.
    const named = pageBanners(await (await get(`/dashboard/events?q=${encodeURIComponent('{"body": {"s": {"$regexp": "a"}}}')}`, cookie)).text(), "alert");
    expect(named).toEqual(["Invalid query: q.body.s.$regexp: unknown operator $regexp (did you mean $regex?)."]);
  });
});
