// The confirm pages of the dashboard's destructive buttons, as served (no JavaScript).
import { describe, expect, it } from "vitest";
import { ADMIN, ADMIN_TOKEN, call, dashboardForm, pageText as text } from "./helpers";
import { pipeline, uniqueKey } from "./pipeline";

const ORIGIN = "https://edgehook.test";
const get = (path: string, cookie: string) => call(new Request(`${ORIGIN}${path}`, { headers: { cookie } }));
const signIn = async (token = ADMIN_TOKEN) => (await dashboardForm("/dashboard/login", null, { token })).headers.get("set-cookie")!.split(";")[0]!;
/** The href of the link labelled `label`, decoded as a browser reads it. */
const linkTo = (html: string, label: string) => new RegExp(`href="([^"]+)"[^>]*>${label}`).exec(html)?.[1]?.replaceAll("&amp;", "&");
/** The forms of a page: method, action and whether it asks first (data-confirm). */
const formsOf = (html: string) =>
  [...html.matchAll(/<form method="(get|post)" action="([^"]+)"([^>]*)>/g)].map((m) => ({ method: m[1]!, action: m[2]!.replaceAll("&amp;", "&"), asks: m[3]!.includes("data-confirm") }));

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
    // No page posts a delete from its own button: each goes through its confirm page.
    for (const path of ["/dashboard/webhooks", "/dashboard/sources", "/dashboard/alerts"]) {
      const forms = formsOf(await (await get(path, cookie)).text());
      expect(forms.filter((f) => f.method === "post" && /\/delete$/.test(f.action)), path).toEqual([]);
    }
  });

  it("show what they name as text: a crafted id cannot add markup to the question", async () => {
    const cookie = await signIn();
    const res = await get(`/dashboard/sources/${encodeURIComponent('<b id="x">"')}/delete`, cookie);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).not.toContain('<b id="x">');
    expect(html).toContain("&lt;b id=&quot;x&quot;&gt;");
  });
});
