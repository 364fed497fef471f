// The dashboard's side of filters, transformations, "test this webhook" and search.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ALERT_SOURCE } from "../../src/domain/alerts";
import { newDelivery } from "../../src/domain/delivery";
import { storeEvents } from "../../src/store/events";
import { recordAttempts } from "../../src/store/deliveries";
import { openEpisodeStatement } from "../../src/store/alerts";
import { meteredD1 } from "../../bench/d1-meter";
import { as, DATA_SCOPES, makeToken } from "./tokens";
import { ADMIN, apiCall, call, createSource, dashboardForm, dashboardCookie, dashboardShown, pageBanners, pageText as text, podiumBody } from "./helpers";
import { pipeline, uniqueKey, webhookSetup } from "./pipeline";
import { deliveryRows } from "./rows";

const url = (path: string) => `https://edgehook.test${path}`;

const cookie = dashboardCookie;
const get = async (path: string, c: string) => call(new Request(url(path), { headers: { cookie: c } }));
const form = (path: string, c: string, fields: Record<string, string>) => dashboardForm(path, c, fields);

function message(org: string, channel: string, conversation = crypto.randomUUID()) {
  return JSON.stringify({
    data: { body: "Hello from the test", conversation: { uid: conversation, channel: { type: channel } }, location: { uid: `loc-${org}`, organizationUid: org } },
    metadata: { eventType: "message.received", eventUid: crypto.randomUUID() },
  });
}

/** HTML text with tags removed and entities decoded enough to compare. */

describe("dashboard: a webhook's page", () => {
  it("says which sources it hears, and shows no held count to a token that may not read all its types", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const some = await p.createWebhook({ url: `https://downstream.test/ok/${key}`, eventTypes: ["*"], organizationUid: `org-${key}`, sourceIds: ["podium"] });
    const every = await p.createWebhook({ url: `https://downstream.test/ok/${key}-all`, eventTypes: ["*"], organizationUid: `org-${key}` });
    const admin = await cookie();
    expect(text(await (await get(`/dashboard/webhooks/${some.uid}`, admin)).text())).toContain("enabled · 0 held · from source podium");
    expect(text(await (await get(`/dashboard/webhooks/${every.uid}`, admin)).text())).toContain("enabled · 0 held · from every source");
    const { token } = await makeToken(p, ["webhooks:read", "read_messages"]);
    const login = await dashboardForm("/dashboard/login", null, { token });
    const limited = login.headers.get("set-cookie")!.split(";")[0]!;
    const seen = text(await (await get(`/dashboard/webhooks/${every.uid}`, limited)).text());
    expect(seen).toContain("enabled · from every source");
    expect(seen).not.toContain("held ·");
    // Its health's state, not "Last failure: none" as if known; and no button the API would refuse.
    expect(seen).not.toContain("Last failure");
    expect(seen).not.toContain("Disable");
    const { token: writer } = await makeToken(p, ["webhooks:read", "webhooks:write", "read_messages"]);
    const writing = (await dashboardForm("/dashboard/login", null, { token: writer })).headers.get("set-cookie")!.split(";")[0]!;
    const page = await (await get(`/dashboard/webhooks/${every.uid}`, writing)).text();
    expect(page).not.toContain(`/dashboard/webhooks/${every.uid}/disable`);
    expect(page).not.toContain("Delete webhook");
    expect(await (await get("/dashboard/webhooks", writing)).text()).not.toContain(`/dashboard/webhooks/${every.uid}/disable`);
    expect(await (await get("/dashboard/webhooks", admin)).text()).toContain(`/dashboard/webhooks/${every.uid}/disable`);
  });
});

describe("dashboard: a webhook's empty values", () => {
  it("read '—' as every other empty value of the dashboard: its last failure before any, and, read only, its filter or transformation when none", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const w = await p.createWebhook({ url: `https://downstream.test/ok/${key}`, eventTypes: ["message.*"], organizationUid: `org-${key}`, transform: '{"text": data.body}' });
    /** What a definition list of the page says for `term`. */
    const said = (html: string, term: string) => text(new RegExp(`<dt class="muted">${term}</dt><dd>([\\s\\S]*?)</dd>`).exec(html)?.[1] ?? "(absent)").trim();
    const admin = await (await get(`/dashboard/webhooks/${w.uid}`, await cookie())).text();
    expect(said(admin, "Last success")).toBe("—");
    expect(said(admin, "Last failure")).toBe("—");
    const { token } = await makeToken(p, ["webhooks:read", "events:read", "read_messages"]);
    const reader = (await dashboardForm("/dashboard/login", null, { token })).headers.get("set-cookie")!.split(";")[0]!;
    const readOnly = await (await get(`/dashboard/webhooks/${w.uid}`, reader)).text();
    expect(said(readOnly, "Filter")).toBe("—");
    expect(said(readOnly, "Transformation")).toBe('{"text": data.body}');
  });
});

describe("dashboard: a webhook's secret rotation", () => {
  it("says until when the previous secret still signs deliveries after a rotation, and nothing once none does", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const w = await p.createWebhook({ url: `https://downstream.test/ok/${key}`, eventTypes: ["*"], organizationUid: `org-${key}` });
    const admin = await cookie();
    const before = text(await (await get(`/dashboard/webhooks/${w.uid}`, admin)).text());
    expect(before).not.toContain("previous secret");

    const secret = "whsec_" + btoa(`rotated ${key}, a secret of 24+ bytes`);
    const rotated = await p.api("PATCH", `/v1/webhooks/${w.uid}`, { secret, previousSecretValidSeconds: 3600 });
    expect(rotated.status).toBe(200);
    const until = rotated.json.previousSecretExpiresAt as string;
    const shown = until.replace("T", " ").replace(/\.\d+Z$/, "Z");
    expect(text(await (await get(`/dashboard/webhooks/${w.uid}`, admin)).text())).toContain(`The previous secret still signs deliveries, beside the current one, until ${shown}`);

    // Ended at once (a leaked secret): the API answers null, and the page says nothing of it.
    const leaked = await p.api("PATCH", `/v1/webhooks/${w.uid}`, { secret: "whsec_" + btoa(`again ${key}, a secret of 24+ bytes`), previousSecretValidSeconds: 0 });
    expect(leaked.json.previousSecretExpiresAt).toBeNull();
    expect(text(await (await get(`/dashboard/webhooks/${w.uid}`, admin)).text())).not.toContain("previous secret");
  });
});

describe("dashboard: ending a webhook's previous secret early", () => {
  it("offers it beside the previous secret's end to a token that may change the webhook, asks first, and ends it", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const w = await p.createWebhook({ url: `https://downstream.test/ok/${key}`, eventTypes: ["*"], organizationUid: `org-${key}` });
    const secret = "whsec_" + btoa(`rotated ${key}, a secret of 24+ bytes`);
    expect((await p.api("PATCH", `/v1/webhooks/${w.uid}`, { secret, previousSecretValidSeconds: 3600 })).status).toBe(200);
    const page = `/dashboard/webhooks/${w.uid}`;
    const action = `${page}/end-previous-secret`;
    const admin = await cookie();
    // A button that asks first (with JavaScript a dialog, without it the confirm page): a receiver still on the old secret breaks.
    expect(await (await get(page, admin)).text()).toMatch(new RegExp(`<form method="get" action="${action}" class="inline" data-confirm="End the previous secret of webhook ${w.uid} now\\?`));
    // A reader is neither offered it nor asked.
    const { token } = await makeToken(p, ["webhooks:read", "read_messages"]);
    const reader = (await dashboardForm("/dashboard/login", null, { token })).headers.get("set-cookie")!.split(";")[0]!;
    const read = await (await get(page, reader)).text();
    expect(text(read)).toContain("The previous secret still signs deliveries");
    expect(read).not.toContain(action);
    expect((await get(action, reader)).status).toBe(403);

    const confirm = await get(action, admin);
    expect(confirm.status).toBe(200);
    const asked = await confirm.text();
    expect(text(asked)).toContain("Deliveries are signed with the current secret alone from then on");
    expect(asked).toContain(`<form method="post" action="${action}"`);
    // Asking changed nothing.
    expect((await p.api("GET", `/v1/webhooks/${w.uid}`)).json.previousSecretExpiresAt).not.toBeNull();

    const done = await form(action, admin, {});
    expect(done.status).toBe(303);
    const after = await (await get(done.headers.get("location")!, admin)).text();
    expect(pageBanners(after, "status")).toEqual(["The previous secret no longer signs: deliveries carry the current secret's signature alone."]);
    expect(text(after)).not.toContain("The previous secret still signs");
    expect(after).not.toContain(action);
    expect((await p.api("GET", `/v1/webhooks/${w.uid}`)).json.previousSecretExpiresAt).toBeNull();
  });
});

describe("dashboard: a list with nothing to show", () => {
  it("says so, in the webhooks and sources lists and the overview; and to a token without webhooks:read, why the overview lists no webhook", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const signIn = async (token: string) => (await dashboardForm("/dashboard/login", null, { token })).headers.get("set-cookie")!.split(";")[0]!;
    const page = async (path: string, c: string) => text(await (await get(path, c)).text());
    // A token of an organization with no webhook and no source yet (limited: none it may see, dashboard-display.test.ts).
    const { token } = await makeToken(p, ["events:read", "webhooks:read", "sources:read", ...DATA_SCOPES], { organizationUids: [`org-${key}`] });
    const mine = await signIn(token);
    expect(await page("/dashboard/webhooks", mine)).toContain("No webhooks this token may see.");
    expect(await page("/dashboard/sources", mine)).toContain("No sources this token may see.");
    expect(await page("/dashboard", mine)).toContain("No webhooks this token may see.");
    await p.createWebhook({ url: `https://downstream.test/ok/${key}`, eventTypes: ["message.*"], organizationUid: `org-${key}` });
    expect(await page("/dashboard/webhooks", mine)).not.toContain("No webhooks this token may see.");
    expect(await page("/dashboard", mine)).not.toContain("No webhooks this token may see.");

    // The API lists no webhook to a token without webhooks:read: the overview says why, not "none".
    const { token: reader } = await makeToken(p, ["events:read", ...DATA_SCOPES]);
    const overview = await page("/dashboard", await signIn(reader));
    expect(overview).toContain("Each webhook's counts need the webhooks:read scope, which this token does not hold.");
    expect(overview).not.toContain("No webhooks yet.");
    expect(overview).not.toContain("Deliveries succeeded");
  });
});

describe("dashboard: success rates", () => {
  it("labels the overview's per-webhook rate as deliveries succeeded and a webhook's page's as attempts succeeded: a delivery that succeeded when retried is 100% of one, and 50% of two", async () => {
    const p = pipeline();
    const { org, webhook, event } = await p.webhookOn("flaky?fails=1", { maxAttempts: 1 });
    const eventId = await p.ingest(event());
    await p.deliver();
    const [delivery] = (await p.api("GET", `/v1/events/${eventId}`)).json.deliveries;
    expect(delivery).toMatchObject({ status: "failed", attemptCount: 1 });
    expect((await p.api("POST", `/v1/deliveries/${delivery.id}/retry`)).status).toBe(202);
    await p.deliver();
    expect((await p.api("GET", `/v1/events/${eventId}`)).json.deliveries[0]).toMatchObject({ status: "succeeded", attemptCount: 2 });

    // A token of this organization alone: the overview's table holds this webhook alone.
    const { token } = await makeToken(p, ["events:read", "webhooks:read", ...DATA_SCOPES], { organizationUids: [org] });
    const c = (await dashboardForm("/dashboard/login", null, { token })).headers.get("set-cookie")!.split(";")[0]!;
    const overview = await (await get("/dashboard", c)).text();
    // The webhooks' table (the charts' tables come before it).
    const from = overview.indexOf('aria-label="Webhooks, failures first"');
    const table = overview.slice(from, overview.indexOf("</table>", from));
    const cells = (tag: "th" | "td") => [...table.matchAll(new RegExp(`<${tag}[^>]*>([\\s\\S]*?)</${tag}>`, "g"))].map((m) => text(m[1]!).trim());
    const row = Object.fromEntries(cells("th").map((h, i) => [h, cells("td")[i]]));
    expect(row).toMatchObject({ Failed: "0", Succeeded: "1", "Deliveries succeeded": "100%" });
    expect(text(overview)).toContain("Attempts succeeded");
    expect(text(overview)).not.toMatch(/Success rate|success rate/);

    const health = (await p.api("GET", `/v1/webhooks/${webhook.uid}`)).json.health;
    expect(health.successRate.lastDay).toBe(0.5);
    const lastHour = `${Math.round(health.successRate.lastHour * 1000) / 10}%`; // (estimated from hourly counts: an hour may have turned between the two)
    expect(text(await (await get(`/dashboard/webhooks/${webhook.uid}`, c)).text())).toContain(`Attempts succeeded ${lastHour} last hour · 50% last day`);
  });
});

describe("dashboard: more webhooks than a page of /v1/stats (100)", () => {
  it("the overview lists the first 100 by uid and says so, and the webhooks list shows the held count of one past them", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const [org, few] = [`org-${key}`, `org-${key}-few`];
    const made = await Promise.all(
      Array.from({ length: 101 }, (_, i) => p.createWebhook({ url: `https://downstream.test/ok/${key}-${i}`, eventTypes: ["*"], organizationUid: org })),
    );
    await Promise.all(Array.from({ length: 3 }, (_, i) => p.createWebhook({ url: `https://downstream.test/ok/${key}-few-${i}`, eventTypes: ["*"], organizationUid: few })));
    // The last by uid (past the stats' first page), made the newest (first on the list's page) and disabled: it holds.
    const last = made.map((w) => w.uid).sort().at(-1)!;
    await env.DB.prepare("UPDATE webhooks SET created_at = (SELECT max(created_at) + 1 FROM webhooks) WHERE uid = ?").bind(last).run();
    expect((await p.api("PATCH", `/v1/webhooks/${last}`, { disabled: true })).status).toBe(200);
    await p.ingest(podiumBody({ organizationUid: org }));
    const login = async (orgs: string[]) => {
      const { token } = await makeToken(p, ["events:read", "webhooks:read", ...DATA_SCOPES], { organizationUids: orgs });
      return (await dashboardForm("/dashboard/login", null, { token })).headers.get("set-cookie")!.split(";")[0]!;
    };
    const many = await login([org]);
    const overview = await (await get("/dashboard", many)).text();
    expect(text(overview)).toContain("The first 100 webhooks by uid");
    const linked = (html: string) => new Set([...html.matchAll(/href="\/dashboard\/webhooks\/([0-9a-f-]{36})"/g)].map((m) => m[1]));
    expect([...linked(overview)].filter((u) => made.some((w) => w.uid === u))).toHaveLength(100);
    expect(linked(overview).has(last)).toBe(false);
    const list = text(await (await get("/dashboard/webhooks", many)).text());
    // (Its counts asked by uid: the stats' first page holds the 100 before it.)
    expect(list).toContain("· 1 held");
    // A few webhooks: all of them, no such note.
    const small = await (await get("/dashboard", await login([few]))).text();
    expect(text(small)).not.toContain("webhooks by uid");
    expect(linked(small).size).toBe(3);
  }, 120_000);
});

/** `n` copies of a webhook, made in SQL (uids `<its uid>-<i>`, after it by uid): webhooks enough for a few pages, quickly. */
async function copiesOf(uid: string, n: number, from = 1) {
  const columns = (await env.DB.prepare("SELECT name FROM pragma_table_info('webhooks')").all<{ name: string }>()).results.map((r) => r.name);
  const copied = columns.map((c) => (c === "uid" ? "w.uid || '-' || n.i" : `w.${c}`));
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT ${Math.trunc(from)} UNION ALL SELECT i + 1 FROM n WHERE i < ${Math.trunc(from + n - 1)})
     INSERT INTO webhooks (${columns.join(", ")}) SELECT ${copied.join(", ")} FROM webhooks w, n WHERE w.uid = ?`,
  )
    .bind(uid)
    .run();
}

describe("dashboard: a failing webhook past the first 100 by uid", () => {
  /**
   * What a token's overview reads at most here: its session, a page of 100 webhooks by uid and up to 100 failing, a few rows
   * each, and its grant's webhooks listed and their counters summed (~2.5 rows a webhook, up to 500: 542 rows measured
   * at 151 webhooks, 1,142 at 451).
   */
  const TENANT_ROWS = 1_500;

  it("is listed first on the overview, whose reads do not grow with the webhooks (the admin's) or stay within its grant's (a token's)", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const org = `org-${key}`;
    const first = await p.createWebhook({ url: `https://downstream.test/ok/${key}`, eventTypes: ["contact.created"], organizationUid: org });
    await copiesOf(first.uid, 150);
    const byUid = async () => (await env.DB.prepare("SELECT uid FROM webhooks WHERE organization_uid = ? ORDER BY uid").bind(org).all<{ uid: string }>()).results.map((r) => r.uid);
    const last = (await byUid()).at(-1)!;
    // It fails: owed the event, and its downstream answers 500.
    expect((await p.api("PATCH", `/v1/webhooks/${last}`, { url: `https://downstream.test/fail/${key}`, eventTypes: ["*"] })).status).toBe(200);
    await p.ingest(podiumBody({ organizationUid: org }));
    await p.deliver();
    expect((await p.api("GET", `/v1/webhooks/${last}`)).json.health.consecutiveFailures).toBeGreaterThan(0);

    const meter = meteredD1(env.DB);
    const overview = async (c: string) => {
      meter.reset();
      const html = await (await call(new Request(url("/dashboard"), { headers: { cookie: c } }), { DB: meter.db })).text();
      const shown = [...html.matchAll(/href="\/dashboard\/webhooks\/([^"/?]+)"/g)].map((m) => m[1]!);
      return { html, shown, rows: meter.usage.rowsRead };
    };
    const { token } = await makeToken(p, ["events:read", "webhooks:read", ...DATA_SCOPES], { organizationUids: [org] });
    const tenant = (await dashboardForm("/dashboard/login", null, { token })).headers.get("set-cookie")!.split(";")[0]!;
    const admin = await cookie();
    let adminRows = Infinity;
    for (const more of [0, 300]) {
      if (more) await copiesOf(first.uid, more, 1_000);
      const mine = await overview(tenant);
      // First, then the first 100 by uid (it is the last by uid: none of them).
      expect(mine.shown[0], `${more} more`).toBe(last);
      expect(mine.shown.slice(1)).toEqual((await byUid()).slice(0, 100));
      expect(text(mine.html)).toContain("The first 100 webhooks by uid");
      expect(mine.rows).toBeLessThanOrEqual(TENANT_ROWS);
      const everyone = await overview(admin);
      expect(everyone.shown).toContain(last);
      // (332 rows measured, with 151 webhooks and with 451.)
      expect(everyone.rows, `${more} more`).toBeLessThanOrEqual(adminRows);
      adminRows = everyone.rows;
    }
    // Failing first is the first page's: not with a cursor, nor with named webhooks.
    for (const query of ["failingFirst=true&cursor=abc", `failingFirst=true&webhookUids=${last}`]) {
      const r = await p.api("GET", `/v1/stats?${query}`);
      expect(r.status, query).toBe(400);
      expect(r.json.error).toMatchObject({ code: "invalid_request", details: { issues: [{ path: "failingFirst" }] } });
    }
  }, 120_000);
});

describe("/v1/stats?failingFirst=true with more than 100 webhooks failing", () => {
  it("lists one that began failing now, however many disabled long ago still hold their streak, the longest failing first", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const org = `org-${key}`;
    const first = await p.createWebhook({ url: `https://downstream.test/ok/${key}`, eventTypes: ["contact.created"], organizationUid: org });
    await copiesOf(first.uid, 150);
    const uids = (await env.DB.prepare("SELECT uid FROM webhooks WHERE organization_uid = ? ORDER BY uid").bind(org).all<{ uid: string }>()).results.map((r) => r.uid);
    const last = uids.at(-1)!;
    // Every other one disabled (auto-disabled, say) days ago, its streak kept while disabled; the last by uid failing since now.
    const since = Date.now();
    await env.DB.prepare("UPDATE webhooks SET disabled = 1 WHERE organization_uid = ?1 AND uid <> ?2").bind(org, last).run();
    await env.DB.prepare(
      `INSERT INTO webhook_health (webhook_uid, consecutive_failures, failing_since, last_failure_at, last_error)
       SELECT uid, 3, CASE WHEN uid = ?1 THEN ?3 ELSE ?3 - 5 * 86400000 END, ?3, 'HTTP 500' FROM webhooks WHERE organization_uid = ?2`,
    )
      .bind(last, org, since)
      .run();
    const { token } = await makeToken(p, ["events:read", "webhooks:read", ...DATA_SCOPES], { organizationUids: [org] });
    for (const [who, headers] of Object.entries({ admin: ADMIN, token: { authorization: `Bearer ${token}` } })) {
      const r = await apiCall(p.env, "GET", "/v1/stats?failingFirst=true", undefined, headers);
      expect(r.status, who).toBe(200);
      const shown: string[] = r.json.webhooks.map((w: { uid: string }) => w.uid);
      expect(shown, who).toContain(last);
      // Failing, the longest first: it is the newest, so the last of those failing (the first 100 by uid, failing too, follow).
      expect(shown.indexOf(last), who).toBe(99);
    }
  }, 120_000);
});

describe("dashboard: filters, transformations and tests", () => {
  it("creates and edits a webhook's filter and transformation from the form, refusing what is not JSON or not valid", async () => {
    const c = await cookie();
    const key = uniqueKey();
    const fields = {
      url: `https://downstream.test/ok/${key}`,
      eventTypes: "message.*",
      organizationUid: `org-${key}`,
      filter: '{"body": {"data.conversation.channel.type": "sms"}}',
      transform: '{"text": data.body}',
      transformHeaders: '{"X-Conversation": "data.conversation.uid"}',
    };
    const created = await form("/dashboard/webhooks", c, fields);
    const createdPage = await dashboardShown(created, c);
    expect(createdPage.status).toBe(200);
    const uid = /\/dashboard\/webhooks\/([0-9a-f-]{36})/.exec(await createdPage.text())![1]!;
    const pageText = text(await (await get(`/dashboard/webhooks/${uid}`, c)).text());
    expect(pageText).toContain('"data.conversation.channel.type": "sms"');
    expect(pageText).toContain('{"text": data.body}');
    expect(pageText).toContain('"x-conversation": "data.conversation.uid"');

    // A refused form comes back with the error and everything typed in it; nothing is stored.
    const edited = { ...fields, url: `https://downstream.test/ok/${key}/edited`, transform: '{"edited": data.body}' };
    const notJson = await form(`/dashboard/webhooks/${uid}`, c, { ...edited, filter: "{body:" });
    expect(notJson.status).toBe(400);
    const notJsonHtml = await notJson.text();
    expect(text(notJsonHtml)).toContain("Filter is not valid JSON");
    for (const typed of ["{body:", edited.transform]) expect(text(notJsonHtml)).toContain(typed); // the boxes
    expect(/<input[^>]*name="url"[^>]*>/.exec(notJsonHtml)?.[0]).toContain(`value="${edited.url}"`);
    // 1e400 parses as Infinity, which the API's JSON would carry as null (matching events whose data.n is null): refused here.
    const far = await form(`/dashboard/webhooks/${uid}`, c, { ...edited, filter: '{"body": {"data.n": {"$in": [1e400, 7]}}}' });
    expect(far.status).toBe(400);
    expect(text(await far.text())).toContain('Filter, body["data.n"].$in[0]: not a JSON value (a number out of range: beyond ±1.8e308)');
    const farHeader = await form(`/dashboard/webhooks/${uid}`, c, { ...edited, transformHeaders: '{"x-n": -1e999}' });
    expect(text(await farHeader.text())).toContain('Extra headers, ["x-n"]: not a JSON value (a number out of range');
    const invalid = await form(`/dashboard/webhooks/${uid}`, c, { ...edited, filter: '{"body": {"a": {"$ne": 1}}}', timeoutMs: "1234" });
    expect(invalid.status).toBe(400);
    const invalidHtml = await invalid.text();
    expect(text(invalidHtml)).toContain("Filter, body.a.$ne: unknown operator $ne (did you mean $neq?)");
    expect(invalidHtml).toMatch(/<input[^>]*name="timeoutMs"[^>]*value="1234"/);
    expect(text(invalidHtml)).toContain('{"body": {"a": {"$ne": 1}}}');
    const kept = (await pipeline().api("GET", `/v1/webhooks/${uid}`)).json;
    expect(kept).toMatchObject({ url: fields.url, transform: fields.transform, filter: JSON.parse(fields.filter) });
    const refusedCreate = await form("/dashboard/webhooks", c, { ...fields, organizationUid: `org-${key}-2`, transformHeaders: "{x" });
    expect(refusedCreate.status).toBe(400);
    const refusedHtml = await refusedCreate.text();
    expect(text(refusedHtml)).toContain("Extra headers is not valid JSON");
    expect(refusedHtml).toMatch(new RegExp(`<input[^>]*name="organizationUid"[^>]*value="org-${key}-2"`));

    // A line break typed in a box comes as a browser sends it, CRLF, and is stored as typed: LF (a
    // transformation's string would otherwise be delivered with a carriage return).
    const multiline = '{"text": "line1\r\nline2"}';
    expect((await form(`/dashboard/webhooks/${uid}`, c, { ...fields, transform: multiline, filter: '{\r\n"body": {"a": "b"}}' })).status).toBe(303);
    expect((await pipeline().api("GET", `/v1/webhooks/${uid}`)).json).toMatchObject({ transform: '{"text": "line1\nline2"}', filter: { body: { a: "b" } } });

    // Emptied boxes clear the fields.
    const cleared = await form(`/dashboard/webhooks/${uid}`, c, { ...fields, filter: "", transform: "", transformHeaders: "" });
    expect(cleared.headers.get("location")).toContain("notice=");
    const p = pipeline();
    expect((await p.api("GET", `/v1/webhooks/${uid}`)).json).toMatchObject({ filter: null, transform: null, transformHeaders: null });

    // The edit form as a browser sends it: every field as the page shows it, the box only if ticked.
    const pageForm = async () => {
      const html = await (await get(`/dashboard/webhooks/${uid}`, c)).text();
      const raw = /<input[^>]*name="shown"[^>]*value="([^"]*)"/.exec(html)?.[1] ?? "";
      const shownText = raw.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
      const { disabled, ...rest } = JSON.parse(shownText) as Record<string, string>;
      return { ...rest, ...(disabled === "on" ? { disabled: "on" } : {}), shown: shownText };
    };
    const stored = async () => (await p.api("GET", `/v1/webhooks/${uid}`)).json;

    // Changed elsewhere meanwhile (disabled as the maintenance run does, attempts through the API),
    // the page's save of another field keeps those changes: it sends only what was changed on it.
    const opened = await pageForm();
    expect((await p.api("PATCH", `/v1/webhooks/${uid}`, { disabled: true, maxAttempts: 9 })).status).toBe(200);
    await form(`/dashboard/webhooks/${uid}`, c, { ...opened, timeoutMs: "2500", eventTypes: "message.*,review.*" });
    expect(await stored()).toMatchObject({ disabled: true, maxAttempts: 9, timeoutMs: 2500, eventTypes: ["message.*", "review.*"] });
    // Unticking or ticking the box changes it.
    const { disabled: _ticked, ...unticked } = await pageForm();
    await form(`/dashboard/webhooks/${uid}`, c, unticked);
    expect((await stored()).disabled).toBe(false);
    await form(`/dashboard/webhooks/${uid}`, c, { ...(await pageForm()), disabled: "on" });
    expect((await stored()).disabled).toBe(true);
    // Saved as shown, nothing is written.
    const before = await stored();
    const same = await form(`/dashboard/webhooks/${uid}`, c, await pageForm());
    expect(new URL(same.headers.get("location") ?? "", "https://edgehook.test").searchParams.get("notice")).toBe("Nothing was changed.");
    expect((await stored()).updatedAt).toBe(before.updatedAt);
  });

  it("refuses an event type given twice in the webhook form, creating or editing, as the API does, keeping what was typed", async () => {
    const c = await cookie();
    const key = uniqueKey();
    const p = pipeline();
    const fields = { url: `https://downstream.test/ok/${key}`, eventTypes: "message.received, contact.*, message.received", organizationUid: `org-${key}` };
    const refusedCreate = await form("/dashboard/webhooks", c, fields);
    expect(refusedCreate.status).toBe(400);
    const createHtml = await refusedCreate.text();
    expect(pageBanners(createHtml, "alert")).toEqual(['Event types, entry 3: "message.received" is given twice.']);
    expect(/<input[^>]*name="eventTypes"[^>]*>/.exec(createHtml)?.[0]).toContain(`value="${fields.eventTypes}"`);

    const created = await form("/dashboard/webhooks", c, { ...fields, eventTypes: "message.received, contact.*" });
    const createdPage = await dashboardShown(created, c);
    expect(createdPage.status).toBe(200);
    const uid = /\/dashboard\/webhooks\/([0-9a-f-]{36})/.exec(await createdPage.text())![1]!;
    const refusedEdit = await form(`/dashboard/webhooks/${uid}`, c, { url: fields.url, eventTypes: "contact.*,contact.*" });
    expect(refusedEdit.status).toBe(400);
    expect(pageBanners(await refusedEdit.text(), "alert")).toEqual(['Event types, entry 2: "contact.*" is given twice.']);
    expect((await p.api("GET", `/v1/webhooks/${uid}`)).json.eventTypes).toEqual(["message.received", "contact.*"]);
  });

  it("shows every mistake the API found in a form at once, each by its field's label, not the first alone", async () => {
    const c = await cookie();
    const key = uniqueKey();
    const fields = { url: `https://downstream.test/ok/${key}`, eventTypes: "message.received, message.received", organizationUid: `org-${key}`, filter: '{"body":{"n":{"$gt":true}}}', transform: "(" };
    const refused = await form("/dashboard/webhooks", c, fields);
    expect(refused.status).toBe(400);
    expect(pageBanners(await refused.text(), "alert")).toEqual([
      'Event types, entry 2: "message.received" is given twice.',
      "Filter, body.n.$gt: $gt takes a number or a string.",
      'Transformation: S0203: Expected ")" before end of expression (at position 1).',
    ]);
    expect((await pipeline().api("GET", "/v1/webhooks?limit=100")).json.data.some((w: { url: string }) => w.url === fields.url)).toBe(false);
    // Many: the first, five more, and how many it leaves out.
    const many = await form("/dashboard/webhooks", c, { ...fields, eventTypes: Array(8).fill("message.received").join(","), filter: "", transform: "" });
    const said = pageBanners(await many.text(), "alert");
    expect(said).toHaveLength(7);
    expect(said[5]).toBe('Event types, entry 7: "message.received" is given twice.');
    expect(said[6]).toBe("And 1 more issue.");
    // More than the API lists (100): the rest it counts in its message are counted here too, said once.
    const filter = JSON.stringify({ body: Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`k${i}`, { $gt: true }])) });
    const past = pageBanners(await (await form("/dashboard/webhooks", c, { ...fields, eventTypes: "message.received", filter, transform: "" })).text(), "alert");
    expect(past).toHaveLength(7);
    expect(past[0]).toBe("Filter, body.k0.$gt: $gt takes a number or a string.");
    expect(past[6]).toBe("And 114 more issues.");
  });

  it("shows what the form cannot read (Attempts not whole, Filter not JSON) beside every issue the API finds in the rest, creating and editing, saving nothing", async () => {
    const c = await cookie();
    const key = uniqueKey();
    const fields = { url: `https://user:pw@downstream.test/ok/${key}`, eventTypes: "", organizationUid: `org-${key}`, maxAttempts: "7.5", filter: "{" };
    const refused = await form("/dashboard/webhooks", c, fields);
    expect(refused.status).toBe(400);
    const all = [
      "Attempts: expected a whole number (decimal digits)",
      "Filter is not valid JSON: Expected property name or '}' in JSON at position 1 (line 1 column 2)",
      "Event types: subscribe to at least one event type",
      "URL: must not carry credentials.",
    ];
    expect(pageBanners(await refused.text(), "alert")).toEqual(all);
    expect((await pipeline().api("GET", "/v1/webhooks?limit=100")).json.data.some((w: { url: string }) => w.url.includes(key))).toBe(false);
    const made = await pipeline().createWebhook({ url: `https://downstream.test/ok/${key}`, eventTypes: ["message.*"], organizationUid: fields.organizationUid });
    const edited = await form(`/dashboard/webhooks/${made.uid}`, c, { url: fields.url, eventTypes: "", maxAttempts: "abc", filter: "{" });
    expect(edited.status).toBe(400);
    expect(pageBanners(await edited.text(), "alert")).toEqual(all);
    expect((await pipeline().api("GET", `/v1/webhooks/${made.uid}`)).json).toMatchObject({ url: `https://downstream.test/ok/${key}`, filter: null });
    await pipeline().api("DELETE", `/v1/webhooks/${made.uid}`);
  });

  it("shows its other refusals (an empty event type entry, a number out of range, a key given twice) beside the API's issues too, creating and editing, saving nothing", async () => {
    const c = await cookie();
    const key = uniqueKey();
    const fields = {
      url: `https://user:pw@downstream.test/ok/${key}`,
      eventTypes: "message.*,,contact.*",
      organizationUid: `org-${key}`,
      filter: '{"body": {"data.n": 1e400}}',
      transformHeaders: '{"x-a": "data.uid", "x-a": "data.type"}',
    };
    const all = [
      "Event types: entry 2 of 3 is empty (two commas together, or one at either end).",
      'Filter, body["data.n"]: not a JSON value (a number out of range: beyond ±1.8e308)',
      'Extra headers, ["x-a"]: this key is given twice in one object (JSON would keep only the last): give it once',
      "URL: must not carry credentials",
    ];
    const refused = await form("/dashboard/webhooks", c, fields);
    expect(refused.status).toBe(400);
    expect(pageBanners(await refused.text(), "alert")).toEqual(all);
    expect((await pipeline().api("GET", "/v1/webhooks?limit=100")).json.data.some((w: { url: string }) => w.url.includes(key))).toBe(false);
    const made = await pipeline().createWebhook({ url: `https://downstream.test/ok/${key}`, eventTypes: ["message.*"], organizationUid: fields.organizationUid });
    const { organizationUid: _, ...edit } = fields;
    const edited = await form(`/dashboard/webhooks/${made.uid}`, c, edit);
    expect(edited.status).toBe(400);
    expect(pageBanners(await edited.text(), "alert")).toEqual(all);
    expect((await pipeline().api("GET", `/v1/webhooks/${made.uid}`)).json).toMatchObject({ url: `https://downstream.test/ok/${key}`, eventTypes: ["message.*"], filter: null, transformHeaders: null });
    await pipeline().api("DELETE", `/v1/webhooks/${made.uid}`);
  });

  it("creates a webhook left at what the form shows with this deployment's DELIVERY_TIMEOUT_MS and MAX_ATTEMPTS, not constants", async () => {
    const deployment = { DELIVERY_TIMEOUT_MS: "2500", MAX_ATTEMPTS: "8" };
    const c = await cookie();
    const key = uniqueKey();
    const listHtml = await (await call(new Request(url("/dashboard/webhooks"), { headers: { cookie: c } }), deployment)).text();
    const shown = (name: string) => new RegExp(`<input[^>]*name="${name}"[^>]*value="([^"]*)"`).exec(listHtml)?.[1];
    // The form as a browser sends it: the typed fields, and the others as the page shows them.
    const fields = { url: `https://downstream.test/ok/${key}`, eventTypes: "message.*", organizationUid: `org-${key}`, timeoutMs: shown("timeoutMs")!, maxAttempts: shown("maxAttempts")! };
    const created = await dashboardForm("/dashboard/webhooks", c, fields, deployment);
    const uid = /\/dashboard\/webhooks\/([0-9a-f-]{36})/.exec(await (await dashboardShown(created, c)).text())![1]!;
    expect((await pipeline().api("GET", `/v1/webhooks/${uid}`)).json).toMatchObject({ timeoutMs: 2500, maxAttempts: 8 });
  });

  it("keeps what was typed in a refused new source, but its secret, with the error", async () => {
    const c = await cookie();
    const name = `A name ${uniqueKey()}`;
    // "podium" is declared by configuration: the id is taken.
    const refused = await form("/dashboard/sources", c, { id: "podium", name, provider: "stripe", secret: "whsec-typed-secret-1234" });
    expect(refused.status).toBe(409);
    const html = await refused.text();
    expect(pageBanners(html, "alert")).toHaveLength(1);
    expect(/<input[^>]*name="id"[^>]*>/.exec(html)?.[0]).toContain('value="podium"');
    expect(/<input[^>]*name="name"[^>]*>/.exec(html)?.[0]).toContain(`value="${name}"`);
    expect(html).toMatch(/<option value="stripe" selected/);
    expect(html).not.toContain("whsec-typed-secret-1234");
  });

  it("keeps what was typed in a refused new notification endpoint, with the error", async () => {
    const c = await cookie();
    // The ingress of this Edgehook is no destination: refused.
    const url = "https://edgehook.test/webhooks/podium";
    const refused = await dashboardForm("/dashboard/alerts/endpoints", c, [["url", url], ["alertTypes", "webhook.failing"], ["format", "slack"]]);
    expect(refused.status).toBe(400);
    const html = await refused.text();
    expect(pageBanners(html, "alert")).toHaveLength(1);
    expect(/<input[^>]*name="url"[^>]*>/.exec(html)?.[0]).toContain(`value="${url}"`);
    const boxes = [...html.matchAll(/<input[^>]*name="alertTypes"[^>]*>/g)].map((m) => m[0]);
    expect(boxes.filter((b) => / checked/.test(b)).map((b) => /value="([^"]+)"/.exec(b)![1])).toEqual(["webhook.failing"]);
    expect(html).toMatch(/<option value="slack" selected/);
  });

  it("answers a form the API refused with the API's status (403 a grant or scope, 409 a conflict), as a page it refused to read, keeping what was typed; 400 for what the dashboard refused itself", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const org = `org-${key}`;
    const { token } = await makeToken(p, ["webhooks:read", "webhooks:write", "read_messages"], { organizationUids: [org] });
    const limited = (await dashboardForm("/dashboard/login", null, { token })).headers.get("set-cookie")!.split(";")[0]!;
    const fields = { url: `https://downstream.test/ok/${key}`, eventTypes: "message.*", organizationUid: org };
    const refusedWith = async (res: Response, status: number, field: string, value: string) => {
      expect(res.status).toBe(status);
      const html = await res.text();
      expect(new RegExp(`<input[^>]*name="${field}"[^>]*>`).exec(html)?.[0]).toContain(`value="${value}"`);
      const errors = pageBanners(html, "alert");
      expect(errors).toHaveLength(1);
      return errors[0]!;
    };

    // An organization outside the token's grant, and a type whose data scope it lacks: 403, creating or editing.
    // (Its organization is a choice among the token's: one outside them, posted, is not kept as an option.)
    const outside = await form("/dashboard/webhooks", limited, { ...fields, organizationUid: `${org}-other` });
    expect(await refusedWith(outside, 403, "url", fields.url)).toMatch(/organization/i);
    const unscoped = await form("/dashboard/webhooks", limited, { ...fields, eventTypes: "contact.*" });
    expect(await refusedWith(unscoped, 403, "eventTypes", "contact.*")).toContain("read_contacts");
    const made = await p.createWebhook({ ...fields, eventTypes: ["message.*"] });
    const edited = await form(`/dashboard/webhooks/${made.uid}`, limited, { url: fields.url, eventTypes: "message.*,contact.*" });
    expect(await refusedWith(edited, 403, "eventTypes", "message.*,contact.*")).toContain("read_contacts");
    expect((await p.api("GET", `/v1/webhooks/${made.uid}`)).json.eventTypes).toEqual(["message.*"]);
    // What the dashboard refuses before asking the API: 400.
    expect(await refusedWith(await form("/dashboard/webhooks", limited, { ...fields, filter: "{" }), 400, "url", fields.url)).toContain("Filter is not valid JSON");
    expect((await p.api("GET", `/v1/webhooks?limit=100`)).json.data.filter((w: { organizationUid: string }) => w.organizationUid?.startsWith(org))).toHaveLength(1);
    // What the dashboard refuses itself beside a refusal without issues (a scope's 403): both said at once.
    const { token: reader } = await makeToken(p, ["webhooks:read", "read_messages"], { organizationUids: [org] });
    const readOnly = (await dashboardForm("/dashboard/login", null, { token: reader })).headers.get("set-cookie")!.split(";")[0]!;
    const both = await form("/dashboard/webhooks", readOnly, { ...fields, filter: "{" });
    expect(both.status).toBe(400);
    const said = pageBanners(await both.text(), "alert");
    expect(said).toHaveLength(2);
    expect(said[0]).toContain("Filter is not valid JSON");
    expect(said[1]).toContain("webhooks:write");

    // A source id taken (by configuration): 409.
    const taken = await form("/dashboard/sources", await cookie(), { id: "podium", name: `A name ${key}`, provider: "stripe", secret: "whsec-typed-secret-1234" });
    expect(await refusedWith(taken, 409, "id", "podium")).toMatch(/podium/);
  });

  it("names an event's webhooks without linking to pages a token without webhooks:read is refused (403, not 404)", async () => {
    const { p, webhook, event, org } = await webhookSetup("ok");
    const eventId = await p.ingest(event());
    const { token } = await makeToken(p, ["events:read", "read_messages"], { organizationUids: [org] });
    const login = await dashboardForm("/dashboard/login", null, { token });
    const c = login.headers.get("set-cookie")!.split(";")[0]!;
    const html = await (await get(`/dashboard/events/${eventId}`, c)).text();
    expect(text(html)).toContain(`webhook ${webhook.uid}`);
    expect(html).not.toContain(`href="/dashboard/webhooks/${webhook.uid}"`);
    expect((await get(`/dashboard/webhooks/${webhook.uid}`, c)).status).toBe(403);
    // With the scope, the same name is a link to a page that answers.
    const admin = await cookie();
    expect(await (await get(`/dashboard/events/${eventId}`, admin)).text()).toContain(`href="/dashboard/webhooks/${webhook.uid}"`);
  });

  it("shows a filtered-out webhook on the event's page, and tests the webhook on that event without sending anything", async () => {
    const p = pipeline();
    const c = await cookie();
    const { org, webhook: w } = await p.webhookOn("ok", { eventTypes: ["message.*"], filter: { body: { "data.conversation.channel.type": "sms" } }, transform: '{"text": data.body}' });
    const id = await p.ingest(message(org, "email"));
    const eventPage = await (await get(`/dashboard/events/${id}`, c)).text();
    expect(text(eventPage)).toContain(`filtered out by webhook ${w.uid} : its filter excluded this event`);
    expect(eventPage).toContain(`action="/dashboard/webhooks/${w.uid}/test"`);

    // Post/redirect/get: the result at an address naming the event alone, which Back or a reload reads again, for the admin and a limited token alike.
    const { token } = await makeToken(p, ["events:read", "webhooks:read", "read_messages"], { organizationUids: [org] });
    const limited = (await dashboardForm("/dashboard/login", null, { token })).headers.get("set-cookie")!.split(";")[0]!;
    for (const session of [c, limited]) {
      const result = await form(`/dashboard/webhooks/${w.uid}/test`, session, { eventId: id });
      expect(result.status).toBe(303);
      const at = new URL(result.headers.get("location")!, "https://x");
      expect([at.pathname, [...at.searchParams]]).toEqual([`/dashboard/webhooks/${w.uid}/test`, [["eventId", id]]]);
      for (const visit of [1, 2]) {
        const res = await get(`${at.pathname}${at.search}`, session);
        expect(res.status, `visit ${visit}`).toBe(200);
        const shown = text(await res.text());
        expect(shown).toContain("Not owed: no delivery would be made.");
        expect(shown).toContain('✗ filter : body.data.conversation.channel.type is "email", not "sms"');
        expect(shown).toContain('"text": "Hello from the test"');
      }
    }
    expect(p.woken).toHaveLength(0);
    // Its address with no event (a sign-in sent back there): the webhook's page, whose form asks for one.
    expect((await get(`/dashboard/webhooks/${w.uid}/test`, c)).headers.get("location")).toBe(`/dashboard/webhooks/${w.uid}`);

    // The API's test runs once per submit, at the result's address (its POST only redirects): a
    // submit and its result read the event as often as the API's test alone does.
    const meter = meteredD1(env.DB, { record: true });
    const readsOfEvent = () => meter.calls.splice(0).flatMap((r) => r.statements).filter((st) => st.binds.includes(id)).length;
    const direct = await call(
      new Request(url(`/v1/webhooks/${w.uid}/test`), { method: "POST", headers: { ...ADMIN, "content-type": "application/json" }, body: JSON.stringify({ eventId: id }) }),
      { DB: meter.db },
    );
    expect(direct.status).toBe(200);
    const once = readsOfEvent();
    expect(once).toBeGreaterThan(0);
    const submitted = await dashboardForm(`/dashboard/webhooks/${w.uid}/test`, c, { eventId: id }, { DB: meter.db });
    expect(submitted.status).toBe(303);
    expect((await call(new Request(url(submitted.headers.get("location")!), { headers: { cookie: c } }), { DB: meter.db })).status).toBe(200);
    expect(readsOfEvent()).toBe(once);

    // Refused (an event that is none): back to the webhook's page from the result's address, saying why, the id typed kept.
    const nope = `evt_${"0".repeat(32)}`;
    const unknown = await form(`/dashboard/webhooks/${w.uid}/test`, c, { eventId: nope });
    expect(unknown.status).toBe(303);
    const refusedAt = await get(unknown.headers.get("location")!, c);
    expect(refusedAt.status).toBe(303);
    const back = new URL(refusedAt.headers.get("location")!, "https://x");
    expect([back.pathname, back.searchParams.get("test")]).toEqual([`/dashboard/webhooks/${w.uid}`, nope]);
    const webhookPage = await (await get(`${back.pathname}${back.search}`, c)).text();
    expect(pageBanners(webhookPage, "alert").join(" ")).toContain("No event");
    expect(/<input name="eventId"[^>]*value="([^"]*)"/.exec(webhookPage)?.[1]).toBe(nope);
    // No id, or one no event has (one too long for the result's address among them): refused by the POST itself.
    for (const eventId of [" ", "x".repeat(129), "evt_nope"]) {
      const refused = new URL((await form(`/dashboard/webhooks/${w.uid}/test`, c, { eventId })).headers.get("location")!, "https://x");
      expect(refused.pathname).toBe(`/dashboard/webhooks/${w.uid}`);
      expect(refused.searchParams.get("error")).toMatch(/^Event id: give an event's id/);
    }
 
    // Its filter cleared and the event replayed to it: the page no longer says nothing was sent.
    expect(text(eventPage)).toContain("when it was stored, so nothing was sent to it.");
    expect((await p.api("PATCH", `/v1/webhooks/${w.uid}`, { filter: null })).status).toBe(200);
    expect((await p.api("POST", `/v1/events/${id}/replay`, { webhookUid: w.uid })).json).toEqual({ deliveries: 1 });
    const replayed = text(await (await get(`/dashboard/events/${id}`, c)).text());
    expect(replayed).toContain(`filtered out by webhook ${w.uid} : its filter excluded this event when it was stored; a replay has made a delivery to it since (below).`);
    expect(replayed).not.toContain("so nothing was sent to it");
  });

  it("leaves a webhook deleted since out of an event's filtered-out list: no link to, nor test of, a page that would answer 404", async () => {
    const p = pipeline();
    const c = await cookie();
    const smsOnly = { eventTypes: ["message.*"], filter: { body: { "data.conversation.channel.type": "sms" } } };
    const { org, webhook: gone } = await p.webhookOn("ok", smsOnly);
    const kept = await p.createWebhook({ url: `https://downstream.test/ok/${uniqueKey()}`, organizationUid: org, ...smsOnly });
    const id = await p.ingest(message(org, "email"));
    expect((await p.api("GET", `/v1/events/${id}`)).json.filteredOut.sort()).toEqual([gone.uid, kept.uid].sort());
    expect((await p.api("DELETE", `/v1/webhooks/${gone.uid}`)).status).toBe(204);

    // The API answers the ones that still exist (as a limited token's always were: within its grant), the page names them alone.
    expect((await p.api("GET", `/v1/events/${id}`)).json.filteredOut).toEqual([kept.uid]);
    const html = await (await get(`/dashboard/events/${id}`, c)).text();
    expect(html).toContain(`action="/dashboard/webhooks/${kept.uid}/test"`);
    expect(html).not.toContain(gone.uid);
    expect((await get(`/dashboard/webhooks/${gone.uid}`, c)).status).toBe(404);

    // None left: the page says no webhook was owed the event, as for one never filtered.
    expect((await p.api("DELETE", `/v1/webhooks/${kept.uid}`)).status).toBe(204);
    const none = text(await (await get(`/dashboard/events/${id}`, c)).text());
    expect(none).toContain("No webhook was owed this event.");
    expect(none).not.toContain("filtered out");
  });

  it("names a delivery's webhook deleted since as deleted, without a link to its page (a 404), in a read that does not grow with the replays", async () => {
    const { p, webhook: gone, event, org } = await webhookSetup("ok");
    const kept = await p.createWebhook({ url: `https://downstream.test/ok/${uniqueKey()}`, eventTypes: ["*"], organizationUid: org });
    const id = await p.ingest(event());
    await p.deliver();
    expect((await p.api("DELETE", `/v1/webhooks/${gone.uid}`)).status).toBe(204);

    const answer = (await p.api("GET", `/v1/events/${id}`)).json as { deliveries: { id: string; webhookUid: string; webhookDeleted: boolean }[] };
    expect(answer.deliveries.map((d) => [d.webhookUid, d.webhookDeleted]).sort()).toEqual([[gone.uid, true], [kept.uid, false]].sort());
    const c = await cookie();
    const html = await (await get(`/dashboard/events/${id}`, c)).text();
    expect(html).not.toContain(`href="/dashboard/webhooks/${gone.uid}"`);
    expect(text(html)).toContain(`to webhook ${gone.uid} (deleted)`);
    expect((await get(`/dashboard/webhooks/${gone.uid}`, c)).status).toBe(404);
    // Nor a retry, which has nowhere to send it (the API answers 409); the other delivery keeps its button.
    const retryOf = (webhookUid: string) => `action="/dashboard/deliveries/${answer.deliveries.find((d) => d.webhookUid === webhookUid)!.id}/retry"`;
    expect(html).not.toContain(retryOf(gone.uid));
    expect(html).toContain(retryOf(kept.uid));
    // The one that exists is still a link.
    expect(html).toContain(`href="/dashboard/webhooks/${kept.uid}"`);
    expect(text(html)).not.toContain(`webhook ${kept.uid} (deleted)`);

    // Telling them apart reads each webhook of the page once, however many deliveries go to it.
    const meter = meteredD1(env.DB);
    const rowsOfWebhooks = async () => {
      meter.reset();
      expect((await call(new Request(url(`/v1/events/${id}`), { headers: ADMIN }), { DB: meter.db })).status).toBe(200);
      return Object.entries(meter.usage.bySql).filter(([sql]) => /FROM webhooks WHERE uid IN/.test(sql)).reduce((n, [, u]) => n + u.rowsRead, 0);
    };
    const before = await rowsOfWebhooks();
    // (A few rows for each of its two webhooks: the uid asked for, and its row.)
    expect(before).toBeLessThanOrEqual(6);
    for (let i = 0; i < 5; i++) expect((await p.api("POST", `/v1/events/${id}/replay`, {})).status).toBe(202);
    expect(await rowsOfWebhooks()).toBe(before);
  });

  it("reads no webhook for an event with no delivery and none filtered out", async () => {
    const key = uniqueKey();
    const eventId = `evt_alone_${key}`;
    // Stored without routing: no delivery, whatever webhooks the other tests made.
    await storeEvents(env.DB, [
      { eventId, sourceId: "podium", dedupeKey: key, eventType: "message.received", locationUid: null, organizationUid: `org-${key}`, receivedAt: Date.now(), headers: {}, body: "{}" },
    ]);
    const meter = meteredD1(env.DB);
    const res = await call(new Request(url(`/v1/events/${eventId}`), { headers: ADMIN }), { DB: meter.db });
    expect(await res.json()).toMatchObject({ id: eventId, deliveries: [], filteredOut: [] });
    expect(Object.keys(meter.usage.bySql).filter((sql) => /FROM webhooks\b/.test(sql))).toEqual([]);
  });

  it("searches events from the events page: matches only, and not live", async () => {
    const p = pipeline();
    const c = await cookie();
    const key = uniqueKey();
    const conversation = `conv-${key}`;
    const hit = await p.ingest(message(`org-${key}`, "sms", conversation));
    const miss = await p.ingest(message(`org-${key}`, "sms"));
    const html = await (await get(`/dashboard/events?q=${encodeURIComponent(`data.conversation.uid=${conversation}`)}`, c)).text();
    expect(html).toContain(`/dashboard/events/${hit}`);
    expect(html).not.toContain(`/dashboard/events/${miss}`);
    expect(html).toContain('data-live="0"');
    expect(html).toMatch(/<input name="q" value="data\.conversation\.uid=conv-/);
  });

  it("claims the list is live only from the script that refreshes it: as served (a browser without JavaScript) it says to reload", async () => {
    const c = await cookie();
    const html = await (await get("/dashboard/events", c)).text();
    expect(html).toContain('data-live="1"');
    const status = text(/<p[^>]*id="live-status"[^>]*>[\s\S]*?<\/p>/.exec(html)![0]);
    expect(status).not.toContain("Live");
    expect(status).toContain("reload the page for new events");
    expect(await (await get("/dashboard/assets/app.js", c)).text()).toContain("Live: new events appear every 5 seconds.");
  });
});

describe("the new-source form's owner", () => {
  /** A session of a new token with the sources' scopes, limited as given. */
  const signedIn = async (p: ReturnType<typeof pipeline>, limits: { organizationUids?: string[]; locationUids?: string[] }) => {
    const { token } = await makeToken(p, ["sources:read", "sources:write"], limits);
    return (await dashboardForm("/dashboard/login", null, { token })).headers.get("set-cookie")!.split(";")[0]!;
  };
  const ownerField = (html: string) => /<(select|input)[^>]*name="organizationUid"[^>]*>/.exec(html)?.[0];
  const owner = async (p: ReturnType<typeof pipeline>, id: string) => {
    const res = await p.api("GET", `/v1/sources/${id}`);
    return res.status === 200 ? (res.json as { organizationUid: string | null }).organizationUid : `(${res.status})`;
  };
  const newSource = (id: string) => ({ id, name: `Owned ${id}`, provider: "podium", secret: "a-secret-long-enough" });

  it("asks a token limited to several organizations to choose one, makes the source theirs, and refuses one outside its grant in the API's words", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const [a, b] = [`org-${key}-a`, `org-${key}-b`];
    const c = await signedIn(p, { organizationUids: [a, b] });
    const html = await (await get("/dashboard/sources", c)).text();
    expect(ownerField(html)).toMatch(/^<select[^>]* required/);
    const options = [.../<select[^>]*name="organizationUid"[^>]*>([\s\S]*?)<\/select>/.exec(html)![1]!.matchAll(/<option value="([^"]*)"/g)].map((m) => m[1]);
    expect(options).toEqual(["", a, b]);

    // The one chosen owns it.
    const made = await form("/dashboard/sources", c, { ...newSource(`own-${key}-b`), organizationUid: b });
    expect(made.status).toBe(303);
    expect(await owner(p, `own-${key}-b`)).toBe(b);

    // None chosen: the API's 400, the field marked; one outside the grant: its 403, the choice not kept as an option.
    const none = await form("/dashboard/sources", c, newSource(`own-${key}-none`));
    expect(none.status).toBe(400);
    const noneHtml = await none.text();
    expect(pageBanners(noneHtml, "alert")).toEqual([expect.stringContaining("Give the source an organizationUid: one of this token's organizations.")]);
    expect(ownerField(noneHtml)).toContain('aria-invalid="true"');
    const outside = await form("/dashboard/sources", c, { ...newSource(`own-${key}-c`), organizationUid: `org-${key}-c` });
    expect(outside.status).toBe(403);
    const outsideHtml = await outside.text();
    expect(pageBanners(outsideHtml, "alert")).toEqual([`This token cannot create sources for the organization "org-${key}-c".`]);
    expect(ownerField(outsideHtml)).toContain('aria-invalid="true"');
    expect([await owner(p, `own-${key}-none`), await owner(p, `own-${key}-c`)]).toEqual(["(404)", "(404)"]);
  });

  it("lets the admin make a source of an organization, or of none", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const c = await cookie();
    expect(ownerField(await (await get("/dashboard/sources", c)).text())).toMatch(/^<input(?![^>]*required)/);
    expect((await form("/dashboard/sources", c, { ...newSource(`own-${key}-x`), organizationUid: `org-${key}-x` })).status).toBe(303);
    expect((await form("/dashboard/sources", c, { ...newSource(`own-${key}-none`), organizationUid: "" })).status).toBe(303);
    expect([await owner(p, `own-${key}-x`), await owner(p, `own-${key}-none`)]).toEqual([`org-${key}-x`, null]);
  });

  it("gives a token of one organization that one, and a token limited to locations no form, refusing its post in the API's words", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const one = await signedIn(p, { organizationUids: [`org-${key}`] });
    const options = [...(await (await get("/dashboard/sources", one)).text()).matchAll(/<option value="(org-[^"]*)"( selected)?/g)].map((m) => m[1]);
    expect(options).toEqual([`org-${key}`]);
    // Left out, as before the field: its only organization, as the API implies it.
    expect((await form("/dashboard/sources", one, newSource(`own-${key}-one`))).status).toBe(303);
    expect(await owner(p, `own-${key}-one`)).toBe(`org-${key}`);

    const located = await signedIn(p, { locationUids: [`loc-${key}`] });
    const page = await (await get("/dashboard/sources", located)).text();
    expect(page).not.toContain('action="/dashboard/sources"');
    expect(text(page)).toContain("A token limited to locations cannot create sources: a source belongs to an organization.");
    const refused = await form("/dashboard/sources", located, { ...newSource(`own-${key}-loc`), organizationUid: `org-${key}` });
    expect(refused.status).toBe(403);
    expect(pageBanners(await refused.text(), "alert")).toEqual(["A token limited to locations cannot create sources: a source belongs to an organization."]);
    expect(await owner(p, `own-${key}-loc`)).toBe("(404)");
  });
});

describe("the new-webhook form's event types", () => {
  it("marks and focuses them when the token lacks the data scope of one (the API's 403 names it as an issue)", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const { token } = await makeToken(p, ["webhooks:read", "webhooks:write", "read_messages"]);
    const api = await as(p, token, "POST", "/v1/webhooks", { url: `https://downstream.test/ok/${key}`, eventTypes: ["message.received", "review.created"] });
    expect(api.status).toBe(403);
    expect(api.json.error.details).toEqual({ missingScope: "read_reviews", issues: [{ path: "eventTypes.1", message: 'needs the scope "read_reviews"' }] });
    const c = (await dashboardForm("/dashboard/login", null, { token })).headers.get("set-cookie")!.split(";")[0]!;
    const refused = await form("/dashboard/webhooks", c, { url: `https://downstream.test/ok/${key}`, eventTypes: "message.received, review.created" });
    expect(refused.status).toBe(403);
    const types = /<(?:input|textarea)[^>]*name="eventTypes"[^>]*>/.exec(await refused.text())?.[0];
    expect(types).toContain('aria-invalid="true"');
    expect(types).toContain("autofocus");
  });
});

describe("the new-webhook form's organization", () => {
  const orgField = (html: string) => /<(select|input)[^>]*name="organizationUid"[^>]*>/.exec(html)?.[0];
  const orgOptions = (html: string) =>
    [.../<select[^>]*name="organizationUid"[^>]*>([\s\S]*?)<\/select>/.exec(html)![1]!.matchAll(/<option value="([^"]*)"( selected)?/g)].map((m) => `${m[1]}${m[2] ?? ""}`);
  const hint = (html: string) => text(/<form[^>]*aria-label="New webhook"[\s\S]*?<\/form>/.exec(html)![0]);

  it("offers a token of one organization that one, without a catch-all; refuses none or another, marking the field", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const org = `org-${key}`;
    const { token } = await makeToken(p, ["events:read", "webhooks:read", "webhooks:write", "read_messages"], { organizationUids: [org] });
    const c = (await dashboardForm("/dashboard/login", null, { token })).headers.get("set-cookie")!.split(";")[0]!;
    const html = await (await get("/dashboard/webhooks", c)).text();
    expect(orgField(html)).toMatch(/^<select/);
    // Not preselected: none is the default, for a location webhook (the API takes exactly one of them).
    expect(orgOptions(html)).toEqual(["", org]);
    expect(hint(html)).not.toMatch(/catch-all/);

    // Sent as shown: the webhook is the organization's.
    const fields = { url: `https://downstream.test/ok/${key}`, eventTypes: "message.*" };
    expect((await form("/dashboard/webhooks", c, { ...fields, organizationUid: org })).status).toBe(303);
    const mine = (await p.api("GET", "/v1/webhooks?limit=100")).json.data.filter((w: { url: string }) => w.url === fields.url);
    expect(mine.map((w: { organizationUid: string | null }) => w.organizationUid)).toEqual([org]);

    // None (and no location), or another organization posted: the API's 403, the field marked and focused.
    for (const organizationUid of ["", "other-org"]) {
      const refused = await form("/dashboard/webhooks", c, { ...fields, url: `${fields.url}/${organizationUid}`, organizationUid });
      expect(refused.status).toBe(403);
      const page = await refused.text();
      expect(orgField(page)).toContain('aria-invalid="true"');
      expect(orgField(page)).toContain("autofocus");
      expect(orgOptions(page)).toEqual(["", org]);
    }
  });

  it("makes a token of one organization a webhook of a location typed alone, the organization left as shown", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const org = `org-${key}`;
    // A location known to belong to the organization (an event of it seen).
    await p.ingest(message(org, "sms"));
    const { token } = await makeToken(p, ["events:read", "webhooks:read", "webhooks:write", "read_messages"], { organizationUids: [org] });
    const c = (await dashboardForm("/dashboard/login", null, { token })).headers.get("set-cookie")!.split(";")[0]!;
    const html = await (await get("/dashboard/webhooks", c)).text();
    // What a browser sends for the choice as shown: its selected option, else its first.
    const shown = orgOptions(html);
    const organizationUid = (shown.find((o) => o.endsWith(" selected")) ?? shown[0]!).replace(/ selected$/, "");
    const fields = { url: `https://downstream.test/ok/${key}-loc`, eventTypes: "message.*", organizationUid, locationUid: `loc-${org}` };
    const res = await form("/dashboard/webhooks", c, fields);
    expect(res.status, pageBanners(await res.text(), "alert").join(" ")).toBe(303);
    const mine = (await p.api("GET", "/v1/webhooks?limit=100")).json.data.filter((w: { url: string }) => w.url === fields.url);
    expect(mine.map((w: { organizationUid: string | null; locationUid: string | null }) => [w.organizationUid, w.locationUid])).toEqual([[null, `loc-${org}`]]);
  });

  it("lets the admin type one, or leave it empty for a catch-all", async () => {
    const html = await (await get("/dashboard/webhooks", await cookie())).text();
    expect(orgField(html)).toMatch(/^<input/);
    expect(hint(html)).toMatch(/catch-all/);
  });
});

describe("an alert event's page", () => {
  it("names where its deliveries went as notification endpoints, linked to the Alerts page, not as webhooks (whose page has none of them)", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const endpoint = (await p.api("POST", "/v1/notification-endpoints", { url: `https://downstream.test/ok/${key}`, alertTypes: ["webhook.failing"] })).json;
    const receivedAt = Date.now();
    const eventId = `evt_alert_${key}`;
    await storeEvents(
      env.DB,
      [{ eventId, sourceId: ALERT_SOURCE, dedupeKey: key, eventType: "webhook.failing", locationUid: null, organizationUid: null, receivedAt, headers: {}, body: "{}" }],
      [await newDelivery("routed", { id: eventId, receivedAt }, { uid: endpoint.uid }, receivedAt)],
    );
    const html = await (await get(`/dashboard/events/${eventId}`, await cookie())).text();
    expect(html).toContain(`<a href="/dashboard/alerts">notification endpoint ${endpoint.uid}</a>`);
    expect(html).not.toContain(`/dashboard/webhooks/${endpoint.uid}`);
    // Its replay button says where a replay of it goes.
    expect(html).toContain("Send again to its notification endpoints");
    expect(html).not.toContain("Replay to every matching webhook");
  });
});

describe("text a sender or a token chose", () => {
  it("shows a bidirectional override or a control character as its escape, so a type or a name reads as what it is", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const type = `message.\u202edeviecer${key}`; // shown raw, it reads "message.received…"
    const eventId = `evt_bidi_${key}`;
    await storeEvents(env.DB, [
      { eventId, sourceId: "podium", dedupeKey: key, eventType: type, locationUid: `loc-${key}`, organizationUid: `org-${key}`, receivedAt: Date.now(), headers: {}, body: "{}" },
    ]);
    // The API refuses such a name now (strict-input.test.ts); one stored before that still reads as it is.
    const sourceName = `Acme \u202eevil\u202c ${key}`;
    expect((await p.api("POST", "/v1/sources", { name: sourceName, provider: "podium", secrets: [`secret-${key}-long-enough`] })).status).toBe(400);
    await createSource({ name: sourceName, provider: "podium", secrets: [`secret-${key}-long-enough`] });
    const c = await cookie();
    const pages = {
      list: await (await get(`/dashboard/events?organizationUid=org-${key}`, c)).text(),
      event: await (await get(`/dashboard/events/${eventId}`, c)).text(),
      sources: await (await get("/dashboard/sources", c)).text(),
    };
    for (const [name, html] of Object.entries(pages)) expect(html, name).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);
    expect(pages.list).toContain(`message.<wbr/>\\u202edeviecer${key}`);
    expect(pages.list).toContain(`org-${key} / loc-${key}`);
    expect(pages.event).toContain(`<h1>message.\\u202edeviecer${key}</h1>`);
    expect(pages.sources).toContain(`Acme \\u202eevil\\u202c ${key}`);
  });

  /** What a sender, a downstream or a token may write: a bidi override, a screen clear (ESC), a bell, a zero-width space. */
  const HOSTILE = "\u202eevil\u001b[2J\u0007\u200b!";
  const SHOWN = "\\u202eevil\\u001b[2J\\u0007\\u200b!";
  const raw = /[\u202e\u001b\u0007\u200b]/;

  it("shows an event's header values, a downstream's answer and error, and a webhook's last failure, disable reason and alert, each escaped", async () => {
    const { p, webhook, org, event } = await webhookSetup("fail");
    const eventId = await p.ingest(event());
    // An event stored with such headers (a sender chose them).
    const headerEvent = `evt_hdr_${uniqueKey()}`;
    await storeEvents(env.DB, [
      { eventId: headerEvent, sourceId: "podium", dedupeKey: headerEvent, eventType: "message.received", locationUid: null, organizationUid: org, receivedAt: Date.now(), headers: { "user-agent": `CRM ${HOSTILE}`, "webhook-id": `id ${HOSTILE}` }, body: `{"text": "${HOSTILE}"}` },
    ]);
    const delivery = (await deliveryRows(eventId)).find((d) => d.webhook_uid === webhook.uid)!;
    const startedAt = Date.now();
    await recordAttempts(env.DB, webhook.uid, [
      { attempt: { deliveryId: delivery.id, number: 1, startedAt, durationMs: 5, statusCode: 500, error: `HTTP 500 ${HOSTILE}`, responseSnippet: `line one ${HOSTILE}\nline two` }, status: "pending", nextAttemptAt: startedAt + 60_000, deadLetter: null },
    ]);
    await env.DB.prepare("UPDATE webhooks SET disabled = 1, disabled_reason = ?, disabled_at = ? WHERE uid = ?").bind(`failing: ${HOSTILE}`, startedAt, webhook.uid).run();
    const alertId = `alrt_${uniqueKey()}`;
    await openEpisodeStatement(env.DB, { id: alertId, type: "webhook.failing", subject: webhook.uid, openedAt: startedAt, lastAt: startedAt, count: 1, data: { url: webhook.url, consecutiveFailures: 1, lastError: `HTTP 500 ${HOSTILE}` } }).run();
    try {
      const c = await cookie();
      const pages = {
        headers: await (await get(`/dashboard/events/${headerEvent}`, c)).text(),
        event: await (await get(`/dashboard/events/${eventId}`, c)).text(),
        webhook: await (await get(`/dashboard/webhooks/${webhook.uid}`, c)).text(),
        alerts: await (await get("/dashboard/alerts", c)).text(),
        overview: await (await get("/dashboard", c)).text(),
      };
      for (const [name, html] of Object.entries(pages)) expect(html, name).not.toMatch(raw);
      expect(pages.headers).toContain(`<td class="mono">CRM ${SHOWN}</td>`);
      expect(pages.headers).toContain(`<td class="mono">id ${SHOWN}</td>`);
      expect(pages.headers).toContain(`&quot;text&quot;: &quot;${SHOWN}&quot;`); // its body
      expect(pages.event).toContain(`HTTP 500 ${SHOWN}`);
      // A text block keeps its lines.
      expect(pages.event).toContain(`<pre class="snippet">line one ${SHOWN}\nline two</pre>`);
      expect(pages.webhook).toContain(`failing: ${SHOWN} Its events are held`); // disabledReason
      expect(pages.webhook).toContain(`</time> HTTP 500 ${SHOWN}`); // its last failure
      expect(pages.alerts).toContain(`the last with: HTTP 500 ${SHOWN}`);
      expect(pages.overview).toContain(`<span class="muted">HTTP 500 ${SHOWN}</span>`); // its last error
    } finally {
      await env.DB.prepare("DELETE FROM alerts WHERE id = ?").bind(alertId).run();
      await p.api("DELETE", `/v1/webhooks/${webhook.uid}`);
    }
  });

  it("shows 'Test this webhook''s transformation error escaped, and keeps the edit form's text as stored, to post back unchanged", async () => {
    // JSONata's own escapes: the transformation holds no raw control, the error it raises does; the filter holds a raw zero-width space.
    const transform = '$error("bad \\u202eevil\\u001b[2J\\u0007\\u200b!")';
    const filter = { body: { "metadata.eventType": "message.received", "data.body": "a\u200bb" } };
    const { p, webhook, event } = await webhookSetup("ok", { transform });
    const eventId = await p.ingest(event());
    try {
      const c = await cookie();
      const tested = await (await dashboardShown(await form(`/dashboard/webhooks/${webhook.uid}/test`, c, { eventId }), c)).text();
      expect(tested).not.toMatch(raw);
      expect(tested).toContain(`The transformation fails on this event: `);
      expect(tested).toContain(`bad ${SHOWN}`);
      // The edit form's fields are posted back: they hold what is stored, not its escapes.
      expect((await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { filter })).status).toBe(200);
      const page = await (await get(`/dashboard/webhooks/${webhook.uid}`, c)).text();
      expect(page).toContain(`&quot;data.body&quot;: &quot;a\u200bb&quot;`);
      expect(page).not.toContain("a\\u200bb");
      // A refused form: the error banner quotes what was typed (JSON.parse's message), escaped; the field keeps it as typed, to mend.
      const refused = await (await form(`/dashboard/webhooks/${webhook.uid}`, c, { url: webhook.url, eventTypes: "*", filter: HOSTILE, shown: "{}" })).text();
      const [banner] = pageBanners(refused, "alert");
      expect(banner).toContain("Filter is not valid JSON");
      expect(banner).toContain("\\u202eevil\\u001b[2J\\u0007\\u200b");
      expect(banner).not.toMatch(raw);
      expect(refused).toMatch(new RegExp(`<textarea name="filter"[^>]*>${HOSTILE.replace("[", "\\[")}</textarea>`));
    } finally {
      await p.api("DELETE", `/v1/webhooks/${webhook.uid}`);
    }
  });

  it("shows an owner's uid with a zero-width space inside (which the API takes), escaped: in a webhook, a token's grant, a source", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const org = `org\u200b${key}`;
    const webhook = await p.createWebhook({ url: `https://downstream.test/ok/${key}`, eventTypes: ["message.*"], organizationUid: org });
    const token = await makeToken(p, ["events:read"], { organizationUids: [org] });
    const source = await createSource({ secrets: [`secret-${key}-long-enough`], organizationUid: org });
    try {
      const c = await cookie();
      const pages = {
        webhooks: await (await get("/dashboard/webhooks", c)).text(),
        webhook: await (await get(`/dashboard/webhooks/${webhook.uid}`, c)).text(),
        tokens: await (await get("/dashboard/tokens", c)).text(),
        sources: await (await get("/dashboard/sources", c)).text(),
      };
      for (const [name, html] of Object.entries(pages)) {
        expect(html, name).toContain(`org\\u200b${key}`);
        expect(html, name).not.toContain(org);
      }
    } finally {
      await p.api("DELETE", `/v1/webhooks/${webhook.uid}`);
      await p.api("DELETE", `/v1/tokens/${token.id}`);
      await p.api("DELETE", `/v1/sources/${source}`);
    }
  });

  it("shows a zero-width or other format character in an event type as its escape: message\\u200b.received is not message.received", async () => {
    const key = uniqueKey();
    const eventId = `evt_zw_${key}`;
    // A short tail: escaped, a word past 32 characters is wrapped to break anywhere (Words), which is not what this shows.
    const tail = key.slice(0, 8);
    const type = `message\u200b.received\u{e0001}${tail}`;
    await storeEvents(env.DB, [
      { eventId, sourceId: "podium", dedupeKey: key, eventType: type, locationUid: null, organizationUid: `org-${key}`, receivedAt: Date.now(), headers: {}, body: "{}" },
    ]);
    const c = await cookie();
    const list = await (await get(`/dashboard/events?organizationUid=org-${key}`, c)).text();
    const page = await (await get(`/dashboard/events/${eventId}`, c)).text();
    expect(list).toContain(`message\\u200b.<wbr/>received\\u{e0001}${tail}`);
    expect(page).toContain(`<h1>message\\u200b.received\\u{e0001}${tail}</h1>`);
    for (const html of [list, page]) expect(html).not.toMatch(/\u200b|\u{e0001}/u);
  });
});

describe("events a token does not see for want of a data scope", () => {
  it("are said on the overview and the events list, so 0 events and 'No events yet.' do not read as none", async () => {
    const p = pipeline();
    const { token } = await makeToken(p, ["events:read", "read_messages"]);
    const reader = (await dashboardForm("/dashboard/login", null, { token })).headers.get("set-cookie")!.split(";")[0]!;
    const note = "This token sees no contact.*, invoice.*, review.* events: they need read_contacts, read_payments, read_reviews, which it does not hold.";
    expect(text(await (await get("/dashboard", reader)).text())).toContain(note);
    expect(text(await (await get("/dashboard/events", reader)).text())).toContain(note);
    // The admin holds every scope: nothing to say.
    expect(await (await get("/dashboard/events", await cookie())).text()).not.toContain('id="hidden-events"');
  });
});

describe("dotted names in the lists", () => {
  it("offer a break at each dot of a webhook's event types and a notification endpoint's alert types, not inside a part (a real name's longest too)", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const hook = await p.api("POST", "/v1/webhooks", { url: `https://downstream.test/ok/${key}`, eventTypes: ["message.received", "contact.*", "github.repository_vulnerability_alert"], organizationUid: `org-${key}` });
    expect(hook.status).toBe(201);
    const endpoint = await p.api("POST", "/v1/notification-endpoints", { url: `https://downstream.test/ok/${key}-alerts`, alertTypes: ["webhook.failing", "delivery.dead_lettered"] });
    expect(endpoint.status).toBe(201);
    try {
      const c = await cookie();
      // Joined as plain text, a squeezed column broke "message.receiv ed" at 1280 px.
      expect(await (await get("/dashboard/webhooks", c)).text()).toContain("message.<wbr/>received, contact.<wbr/>*, github.<wbr/>repository_vulnerability_alert");
      expect(await (await get("/dashboard/alerts", c)).text()).toContain("webhook.<wbr/>failing, delivery.<wbr/>dead_lettered");
    } finally {
      await p.api("DELETE", `/v1/notification-endpoints/${endpoint.json.uid}`);
      await p.api("DELETE", `/v1/webhooks/${hook.json.uid}`);
    }
  });
});

describe("the events list's filters", () => {
  it("refused by the API (a time that is none), come back in the form as typed with why, to mend", async () => {
    const res = await get(`/dashboard/events?since=garbage&eventType=message.received`, await cookie());
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(pageBanners(html, "alert").join(" ")).toMatch(/^Since \(UTC\): /);
    expect(html).toMatch(/<input[^>]*name="eventType"[^>]*value="message.received"/);
    expect(html).toMatch(/<input[^>]*name="since"[^>]*value="garbage"/);
    // Nothing was looked through: not an "older page", nor "no match", nor search results.
    expect(text(html)).toContain("The filter was refused (why is above): mend it and filter again.");
    expect(text(html)).toContain("Nothing listed.");
    expect(text(html)).not.toMatch(/older page|No match/);
    const search = await (await get(`/dashboard/events?q=Thursday&since=garbage`, await cookie())).text();
    expect(text(search)).not.toContain("Search results");
  });
});

describe("the events list's time filters", () => {
  it("take a time with Z or an offset, as a copied link or the API's example writes it, and show it in the field (UTC, as the page says)", async () => {
    const c = await cookie();
    for (const [since, shown] of [
      ["2026-12-06T15:00:00Z", "2026-12-06T15:00"],
      ["2026-12-06T17:00:00%2B02:00", "2026-12-06T15:00"],
      ["2026-12-06T15:00:30.250Z", "2026-12-06T15:00:30.250"],
    ] as const) {
      const res = await get(`/dashboard/events?since=${since}&until=2026-12-06T16:00`, c);
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(pageBanners(html, "alert")).toEqual([]);
      expect(html).toMatch(new RegExp(`<input[^>]*name="since"[^>]*value="${shown}"`));
      expect(html).toMatch(/<input[^>]*name="until"[^>]*value="2026-12-06T16:00"/);
    }
    // A + read as a space is still the API's 400 saying so, the value kept as typed.
    const spaced = await get("/dashboard/events?since=2026-12-06T17:00:00+02:00", c);
    expect(spaced.status).toBe(400);
    expect(pageBanners(await spaced.text(), "alert").join(" ")).toMatch(/%2B/);
  });
});

describe("a webhook's buttons", () => {
  it("bring one back to the page they were pressed on: the webhook's own, or the list", async () => {
    const c = await cookie();
    const { webhook } = await webhookSetup("ok");
    const own = `/dashboard/webhooks/${webhook.uid}`;
    const press = (action: string, referer: string) =>
      call(new Request(url(`${own}/${action}`), { method: "POST", headers: { cookie: c, origin: url(""), referer: url(referer), "content-type": "application/x-www-form-urlencoded" } }));
    const at = (res: Response) => new URL(res.headers.get("location") ?? "", url("/")).pathname;
    expect(at(await press("disable", own))).toBe(own);
    expect(at(await press("enable", "/dashboard/webhooks"))).toBe("/dashboard/webhooks");
    expect(at(await press("disable", `${own}?test=evt_x`))).toBe(own);
  });
});

describe("the webhooks list's Actions column", () => {
  it("is left out for a token that may change none of the webhooks listed (it stood empty), and shown to one that may", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const hook = await p.createWebhook({ url: `https://downstream.test/ok/${key}`, eventTypes: ["message.*"], organizationUid: `org-${key}` });
    const headings = (html: string) => [...html.matchAll(/<th scope="col"[^>]*>([\s\S]*?)<\/th>/g)].map((m) => text(m[1]!).trim());
    /** How many cells each row of the list has. */
    const cells = (html: string) => [.../<tbody>([\s\S]*?)<\/tbody>/.exec(html)![1]!.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => m[1]!.match(/<td/g)?.length ?? 0);
    try {
      const { token } = await makeToken(p, ["webhooks:read", "read_messages"]);
      const reader = (await dashboardForm("/dashboard/login", null, { token })).headers.get("set-cookie")!.split(";")[0]!;
      const read = await (await get("/dashboard/webhooks", reader)).text();
      expect(headings(read)).toEqual(["URL", "Event types", "For", "State"]);
      expect(new Set(cells(read))).toEqual(new Set([4]));
      const admin = await (await get("/dashboard/webhooks", await cookie())).text();
      expect(headings(admin)).toEqual(["URL", "Event types", "For", "State", "Actions"]);
      expect(new Set(cells(admin))).toEqual(new Set([5]));
    } finally {
      await p.api("DELETE", `/v1/webhooks/${hook.uid}`);
    }
  });
});

describe("the alerts list", () => {
  it("links the webhook an alert names to its page, but not one deleted since (its page would answer 404)", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const live = await p.createWebhook({ url: `https://downstream.test/ok/${key}`, eventTypes: ["message.*"], organizationUid: `org-${key}` });
    const gone = await p.createWebhook({ url: `https://downstream.test/ok/${key}-gone`, eventTypes: ["message.*"], organizationUid: `org-${key}` });
    await p.api("DELETE", `/v1/webhooks/${gone.uid}`);
    const now = Date.now();
    const failing = (w: { uid: string }, url: string) =>
      openEpisodeStatement(env.DB, { id: `alrt_${uniqueKey()}`, type: "webhook.failing", subject: w.uid, openedAt: now, lastAt: now, count: 3, data: { url, consecutiveFailures: 3, lastError: "HTTP 500" } });
    await env.DB.batch([failing(live, `https://downstream.test/ok/${key}`), failing(gone, `https://downstream.test/ok/${key}-gone`)]);
    try {
      const html = await (await get("/dashboard/alerts", await cookie())).text();
      expect(html).toContain(`Webhook <a href="/dashboard/webhooks/${live.uid}">${live.uid}</a> (https://downstream.test/…) is failing`);
      expect(html).toContain(`Webhook ${gone.uid} (https://downstream.test/…) is failing`);
      expect(html).not.toContain(`/dashboard/webhooks/${gone.uid}`);
    } finally {
      await env.DB.prepare("DELETE FROM alerts WHERE subject IN (?, ?)").bind(live.uid, gone.uid).run();
      await p.api("DELETE", `/v1/webhooks/${live.uid}`);
    }
  });
});

describe("dashboard: a source's secret", () => {
  it("rotates with the current secret still accepted, replaces it alone, and offers no secret to a source that checks none", async () => {
    const c = await cookie();
    const p = pipeline();
    const id = `rot-${uniqueKey()}`;
    expect((await p.api("POST", "/v1/sources", { id, name: "rot", provider: "stripe", secrets: ["first-secret-1"] })).status).toBe(201);
    const secretsOf = async () => (await env.DB.prepare("SELECT secrets FROM sources WHERE id = ?").bind(id).first<{ secrets: string }>())?.secrets;
    const rotated = await form(`/dashboard/sources/${id}/rotate`, c, { secret: "second-secret-2", previous: "first-secret-1" });
    expect(rotated.status).toBe(303);
    expect(JSON.parse((await secretsOf())!)).toEqual(["second-secret-2", "first-secret-1"]);
    expect(new URL(rotated.headers.get("location")!, url("/")).searchParams.get("notice")).toContain("both verify");
    expect((await form(`/dashboard/sources/${id}/rotate`, c, { secret: "second-secret-2", previous: "" })).status).toBe(303);
    expect(JSON.parse((await secretsOf())!)).toEqual(["second-secret-2"]);
    // verification "none": no secret form, but why.
    const open = `open-${uniqueKey()}`;
    expect((await p.api("POST", "/v1/sources", { id: open, name: "open", provider: "podium", verification: "none" })).status).toBe(201);
    const html = await (await get("/dashboard/sources?limit=100", c)).text();
    const row = html.slice(html.indexOf(`${open}</`), html.indexOf("</tr>", html.indexOf(`${open}</`)));
    expect(text(row)).toContain("unsigned requests accepted (verification: none)");
    expect(row).not.toContain(`/dashboard/sources/${open}/rotate`);
    expect(html).toContain(`/dashboard/sources/${id}/rotate`);
  });

  it("warns of a secret stored before its provider's rule (a short whsec_ key of the first release) until a rotation drops it", async () => {
    const c = await cookie();
    const short = "whsec_c3ctc2VjcmV0LXN3LXNlY3JldA==";
    const id = await createSource({ id: `short-${uniqueKey()}`, provider: "standard-webhooks", secrets: [short] });
    const row = async () => {
      const html = await (await get("/dashboard/sources?limit=100", c)).text();
      return text(html.slice(html.indexOf(`${id}</`), html.indexOf("</tr>", html.indexOf(`${id}</`))));
    };
    const warning = "a secret below its provider's rule";
    expect(await row()).toContain(warning);
    const strong = `whsec_${btoa("a key of thirty-two bytes, fine.")}`;
    const rotated = await form(`/dashboard/sources/${id}/rotate`, c, { secret: strong, previous: short });
    expect(new URL(rotated.headers.get("location")!, url("/")).searchParams.get("notice")).toContain("both verify");
    expect(await row()).toContain(warning);
    expect((await form(`/dashboard/sources/${id}/rotate`, c, { secret: strong, previous: "" })).status).toBe(303);
    expect(await row()).not.toContain(warning);
  });
});
