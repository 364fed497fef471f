// The dashboard's pages as a screen reader reads them, as served: each row's button and event link named for its row,
// titles that tell pages apart, required fields marked, and a refused form's error tied to its field.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { recordDeadLetters } from "../../src/store/dead-letters";
import { ADMIN_TOKEN, call, createSource, dashboardForm, podiumBody } from "./helpers";
import { pipeline, uniqueKey } from "./pipeline";
import { makeToken } from "./tokens";

const ORIGIN = "https://edgehook.test";
const get = async (path: string, cookie: string) => (await call(new Request(`${ORIGIN}${path}`, { headers: { cookie } }))).text();
const signIn = async () => (await dashboardForm("/dashboard/login", null, { token: ADMIN_TOKEN })).headers.get("set-cookie")!.split(";")[0]!;
const unescaped = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");

/** Each button's accessible name: its aria-label, else its text. */
const buttonNames = (html: string) =>
  [...html.matchAll(/<button([^>]*)>([\s\S]*?)<\/button>/g)].map((m) => {
    const label = /aria-label="([^"]*)"/.exec(m[1]!)?.[1];
    return unescaped(label ?? m[2]!.replace(/<[^>]+>/g, "")).replace(/\s+/g, " ").trim();
  });
/** Each button's aria-label that does not start with the label it shows (WCAG 2.5.3: a voice user says what they see). */
const labelNotInName = (html: string) =>
  [...html.matchAll(/<button([^>]*)>([\s\S]*?)<\/button>/g)].flatMap((m) => {
    const label = /aria-label="([^"]*)"/.exec(m[1]!)?.[1];
    const shown = unescaped(m[2]!.replace(/<[^>]+>/g, "")).replace(/\s+/g, " ").trim();
    return label === undefined || unescaped(label).startsWith(shown) ? [] : [unescaped(label)];
  });
/** The names given more than once. */
const repeated = (names: string[]) => names.filter((n, i) => names.indexOf(n) !== i);

describe("row buttons name their row", () => {
  it("dead letters' Replay and Delete, webhooks' Disable, an event's Retry this delivery and sources' Delete each say which", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const a = await p.webhookOn("flaky?fails=1", { maxAttempts: 1 });
    const b = await p.webhookOn("flaky?fails=1", { maxAttempts: 1 });
    const eventId = await p.ingest(podiumBody({ organizationUid: a.org }));
    await p.ingest(podiumBody({ organizationUid: b.org }));
    await p.deliver();
    const key = uniqueKey();
    await recordDeadLetters(env.DB, [
      { queue: "edgehook-deliveries-dlq", messageId: `m1-${key}`, eventId: `evt_a${key}`, deliveryId: null, reason: "a", body: "{}", attempts: 1, receivedAt: Date.now() },
      { queue: "edgehook-deliveries-dlq", messageId: `m2-${key}`, eventId: `evt_b${key}`, deliveryId: null, reason: "b", body: "{}", attempts: 1, receivedAt: Date.now() },
    ]);
    const letters = (await p.api("GET", "/v1/dead-letters?open=true&limit=100&withMessage=false")).json.data.filter((d: { messageId?: string; eventId: string }) =>
      [`evt_a${key}`, `evt_b${key}`].includes(d.eventId),
    );
    expect(letters).toHaveLength(2);
    const sourceIds = [await createSource({ id: `a11y-a-${key}`, secrets: ["secret-long-enough"] }), await createSource({ id: `a11y-b-${key}`, secrets: ["secret-long-enough"] })];
    const cookie = await signIn();

    const deadLetters = buttonNames(await get("/dashboard/dead-letters?open=true", cookie));
    for (const d of letters) {
      expect(deadLetters).toContain(`Replay dead letter ${d.id}`);
      expect(deadLetters).toContain(`Delete dead letter ${d.id}`);
    }
    expect(repeated(deadLetters)).toEqual([]);

    const webhooks = buttonNames(await get("/dashboard/webhooks", cookie));
    expect(webhooks).toContain(`Disable webhook ${a.webhook.url}`);
    expect(webhooks).toContain(`Disable webhook ${b.webhook.url}`);
    expect(repeated(webhooks)).toEqual([]);
    expect(buttonNames(await get(`/dashboard/webhooks/${a.webhook.uid}`, cookie))).toContain(`Disable webhook ${a.webhook.url}`);

    const delivery = (await p.api("GET", `/v1/events/${eventId}`)).json.deliveries[0];
    const eventPage = await get(`/dashboard/events/${eventId}`, cookie);
    expect(buttonNames(eventPage)).toContain(`Retry this delivery ${delivery.id} to webhook ${a.webhook.uid}`);
    // A webhook whose filter left an event out offers its test, named for it.
    const filtering = await p.webhookOn("ok", { filter: { body: { "no.such.field": "x" } } });
    const filteredOut = await p.ingest(podiumBody({ organizationUid: filtering.org }));
    const filteredPage = await get(`/dashboard/events/${filteredOut}`, cookie);
    expect(buttonNames(filteredPage)).toContain(`Why? Test this webhook ${filtering.webhook.uid}`);
    expect(labelNotInName(filteredPage)).toEqual([]);
    for (const page of [eventPage, await get("/dashboard/dead-letters?open=true", cookie), await get("/dashboard/webhooks", cookie), await get("/dashboard/sources", cookie), await get("/dashboard/tokens", cookie)]) {
      expect(labelNotInName(page)).toEqual([]);
    }

    const sources = buttonNames(await get("/dashboard/sources", cookie));
    for (const id of sourceIds) {
      expect(sources).toContain(`Delete source ${id}`);
      expect(sources).toContain(`Replace secret of source ${id}`);
    }
    expect(repeated(sources)).toEqual([]);
  });

  it("a webhook URL in a button's name is shown as the page shows it (legible) and cut short", async () => {
    const p = pipeline();
    const long = `https://downstream.test/ok/${uniqueKey()}/${"a".repeat(300)}`;
    const made = await p.api("POST", "/v1/webhooks", { url: long, eventTypes: ["*"], organizationUid: `org-${uniqueKey()}` });
    expect(made.status).toBe(201);
    const names = buttonNames(await get(`/dashboard/webhooks/${made.json.uid}`, await signIn()));
    const disable = names.find((n) => n.startsWith("Disable webhook "));
    expect(disable).toBe(`Disable webhook ${long.slice(0, 79)}…`);
  });

  it("a name cut short keeps whole characters: never half an emoji's surrogate pair", async () => {
    const name = `${"a".repeat(78)}😀😀 ${uniqueKey()}`;
    expect((await pipeline().api("POST", "/v1/tokens", { name, scopes: ["events:read"] })).status).toBe(201);
    const revoke = buttonNames(await get("/dashboard/tokens", await signIn())).find((n) => n.startsWith(`Revoke token ${"a".repeat(78)}`));
    expect(revoke).toMatch(new RegExp(`^Revoke token ${"a".repeat(78)}😀… tok_`));
    expect(revoke).not.toContain("\uFFFD");
  });
});

/** Each event row link's accessible name: its aria-label, else its text. */
const eventLinkNames = (html: string) =>
  [...html.matchAll(/<a href="\/dashboard\/events\/evt_[^"]*"([^>]*)>([\s\S]*?)<\/a>/g)].map((m) => {
    const label = /aria-label="([^"]*)"/.exec(m[1]!)?.[1];
    return unescaped(label ?? m[2]!.replace(/<[^>]+>/g, "")).replace(/\s+/g, " ").trim();
  });

describe("the events list's links name their row", () => {
  it("by its type (what it shows, first), id and time, on the page and in the live refresh alike", async () => {
    const p = pipeline();
    const org = `org-${uniqueKey()}`;
    const ids = [await p.ingest(podiumBody({ organizationUid: org })), await p.ingest(podiumBody({ organizationUid: org }))];
    const cookie = await signIn();
    const listed = (await p.api("GET", `/v1/events?organizationUid=${org}`)).json.data as { id: string; receivedAt: string }[];
    const expected = listed.map((e) => `message.received ${e.id} at ${e.receivedAt.replace("T", " ").replace(/\.\d+Z$/, "Z")}`);
    expect(listed.map((e) => e.id).sort()).toEqual([...ids].sort());
    for (const path of [`/dashboard/events?organizationUid=${org}`, `/dashboard/events?organizationUid=${org}&partial=1`]) {
      const names = eventLinkNames(await get(path, cookie));
      expect(names, path).toEqual(expected);
      expect(repeated(names), path).toEqual([]);
    }
  });
});

/** A page's title as the browser shows it. */
const titleOf = (html: string) => unescaped(/<title>([\s\S]*?)<\/title>/.exec(html)?.[1] ?? "");

describe("page titles tell pages apart", () => {
  it("names a webhook's page by its URL, an event's by its id too, and a refused page an error", async () => {
    const p = pipeline();
    const a = await p.webhookOn("ok");
    const b = await p.webhookOn("ok");
    const first = await p.ingest(podiumBody({ organizationUid: a.org }));
    const second = await p.ingest(podiumBody({ organizationUid: a.org }));
    const cookie = await signIn();
    expect(titleOf(await get(`/dashboard/webhooks/${a.webhook.uid}`, cookie))).toBe(`Webhook ${a.webhook.url} · Edgehook`);
    expect(titleOf(await get(`/dashboard/webhooks/${b.webhook.uid}`, cookie))).toBe(`Webhook ${b.webhook.url} · Edgehook`);
    expect(titleOf(await get(`/dashboard/events/${first}`, cookie))).toBe(`message.received ${first} · Edgehook`);
    expect(titleOf(await get(`/dashboard/events/${second}`, cookie))).toBe(`message.received ${second} · Edgehook`);
    // Their headings stay short: the URL and the id are on the page below.
    expect(await get(`/dashboard/webhooks/${a.webhook.uid}`, cookie)).toContain("<h1>Webhook</h1>");
    // Refused (400, 403, 404): the same page's title, said to be an error.
    expect(titleOf(await get(`/dashboard/webhooks/${crypto.randomUUID()}`, cookie))).toBe("Error: Webhook · Edgehook");
    expect(titleOf(await get("/dashboard/events/evt_00000000000000000000000000000000", cookie))).toBe("Error: Event · Edgehook");
    expect(titleOf(await get("/dashboard/events?nope=1", cookie))).toBe("Error: Events · Edgehook");
    expect(titleOf(await get("/dashboard/no-such-page", cookie))).toBe("Error: Not found · Edgehook");
    const viewer = (await p.api("POST", "/v1/tokens", { name: `a11y ${uniqueKey()}`, scopes: ["events:read"] })).json.token;
    const viewerCookie = (await dashboardForm("/dashboard/login", null, { token: viewer })).headers.get("set-cookie")!.split(";")[0]!;
    expect(titleOf(await get("/dashboard/tokens", viewerCookie))).toBe("Error: Tokens · Edgehook");
    // A page without an error is not one.
    expect(titleOf(await get("/dashboard/webhooks", cookie))).toBe("Webhooks · Edgehook");
  });
});

/** Each label holding a required field: the field's name, and whether the label's text marks it. */
const requiredMarks = (html: string) =>
  [...html.matchAll(/<label[^>]*>([\s\S]*?)<\/label>/g)].flatMap((m) => {
    const field = /<(?:input|textarea|select)[^>]*name="([^"]+)"[^>]*>/.exec(m[1]!);
    if (!field || !/\srequired(?:[\s=>/]|$)/.test(field[0])) return [];
    return [{ name: field[1]!, marked: m[1]!.slice(0, field.index).replace(/<[^>]+>/g, "").includes("(required)") }];
  });
/** A fieldset's legend, as text. */
const legendOf = (html: string, form: string) =>
  /<legend>([\s\S]*?)<\/legend>/.exec(html.slice(html.indexOf(`aria-label="${form}"`)))?.[1]?.replace(/<[^>]+>/g, "").replace(/\s+/g, " ").trim();

describe("required fields are marked", () => {
  it("marks every required field of the webhook, token, source and notification endpoint forms in its label, and says a scope is needed", async () => {
    const p = pipeline();
    const { webhook } = await p.webhookOn("ok");
    await createSource({ id: `a11y-req-${uniqueKey()}`, secrets: ["secret-long-enough"] });
    const cookie = await signIn();
    const pages = {
      webhooks: await get("/dashboard/webhooks", cookie),
      webhook: await get(`/dashboard/webhooks/${webhook.uid}`, cookie),
      tokens: await get("/dashboard/tokens", cookie),
      sources: await get("/dashboard/sources", cookie),
      alerts: await get("/dashboard/alerts", cookie),
    };
    const marks = Object.fromEntries(Object.entries(pages).map(([k, html]) => [k, requiredMarks(html)]));
    expect(marks.webhooks).toEqual([
      { name: "url", marked: true },
      { name: "eventTypes", marked: true },
    ]);
    expect(marks.webhook).toEqual(expect.arrayContaining([{ name: "url", marked: true }, { name: "eventTypes", marked: true }, { name: "eventId", marked: true }]));
    expect(marks.tokens).toEqual([{ name: "name", marked: true }]);
    expect(marks.sources).toEqual(expect.arrayContaining([{ name: "name", marked: true }, { name: "secret", marked: true }]));
    expect(marks.alerts).toEqual([{ name: "url", marked: true }]);
    for (const [page, found] of Object.entries(marks)) expect(found.filter((f) => !f.marked), page).toEqual([]);
    expect(legendOf(pages.tokens, "New token")).toBe("Scopes (required: choose at least one)");
    expect(legendOf(pages.alerts, "New notification endpoint")).toBe("Alerts (required: choose at least one)");
  });
});

/** The opening tags of the form fields named `name`. */
const fieldTags = (html: string, name: string) => [...html.matchAll(new RegExp(`<(?:input|textarea|select)[^>]*name="${name}"[^>]*>`, "g"))].map((m) => m[0]);
/** The tags that take the focus when the page loads. */
const autofocused = (html: string) => [...html.matchAll(/<[a-z]+\b[^>]*\sautofocus[^>]*>/g)].map((m) => m[0]);
const ERROR = /<p class="notice error" role="alert" id="page-error"( tabindex="-1" autofocus="")?>/;

describe("a refused form's error is tied to its field", () => {
  it("marks the webhook form's event types invalid, described by the error, and focuses them; the title says Error", async () => {
    const cookie = await signIn();
    const res = await dashboardForm("/dashboard/webhooks", cookie, { url: "https://downstream.test/ok/a11y", eventTypes: "message.recieved", organizationUid: `org-${uniqueKey()}` });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(titleOf(html)).toBe("Error: Webhooks · Edgehook");
    // The alert is the description, not the focus: the field has it.
    expect(ERROR.exec(html)?.[1]).toBeUndefined();
    const [types] = fieldTags(html, "eventTypes");
    expect(types).toMatch(/aria-invalid="true"/);
    expect(types).toMatch(/aria-describedby="page-error"/);
    expect(autofocused(html)).toEqual([types]);
    expect(fieldTags(html, "url")[0]).not.toMatch(/aria-invalid/);
    // What the dashboard refuses itself (a filter that is not JSON) marks its field too.
    const notJson = await (await dashboardForm("/dashboard/webhooks", cookie, { url: "https://downstream.test/ok/a11y", eventTypes: "*", filter: "{nope" })).text();
    expect(autofocused(notJson)).toEqual(fieldTags(notJson, "filter"));
    expect(fieldTags(notJson, "filter")[0]).toMatch(/aria-invalid="true" aria-describedby="page-error"/);
    // A number the browser lets through (1e3) that the dashboard refuses: every field a refusal can name is marked.
    const exponent = await (await dashboardForm("/dashboard/webhooks", cookie, { url: "https://downstream.test/ok/a11y", eventTypes: "*", autoDisableAfterMinutes: "1e3" })).text();
    expect(fieldTags(exponent, "autoDisableAfterMinutes")[0]).toMatch(/aria-invalid="true" aria-describedby="page-error"/);
    expect(autofocused(exponent)).toEqual(fieldTags(exponent, "autoDisableAfterMinutes"));
  });

  it("marks the token form's scopes when none is chosen, focusing the first", async () => {
    const cookie = await signIn();
    const res = await dashboardForm("/dashboard/tokens", cookie, { name: `a11y ${uniqueKey()}` });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(titleOf(html)).toBe("Error: Tokens · Edgehook");
    const scopes = fieldTags(html, "scopes");
    expect(scopes.length).toBeGreaterThan(1);
    for (const box of scopes) expect(box).toMatch(/aria-invalid="true" aria-describedby="page-error"/);
    expect(autofocused(html)).toEqual([scopes[0]]);
    expect(fieldTags(html, "name")[0]).not.toMatch(/aria-invalid/);
  });

  it("marks the events filter's field the API refused, and focuses it, not the error", async () => {
    const cookie = await signIn();
    for (const [query, field, status] of [
      ["since=yesterday", "since", 400],
      ["eventType=message.recieved&sourceId=podium", "eventType", 400],
      // A source that is none is the API's 404, not an error page that loses the form.
      [`sourceId=no-such-source-${uniqueKey()}`, "sourceId", 404],
    ] as const) {
      const res = await call(new Request(`${ORIGIN}/dashboard/events?${query}`, { headers: { cookie } }));
      expect(res.status, query).toBe(status);
      const html = await res.text();
      expect(ERROR.exec(html)?.[1], query).toBeUndefined();
      const [tag] = fieldTags(html, field);
      expect(tag, query).toMatch(/aria-invalid="true" aria-describedby="page-error"/);
      expect(autofocused(html), query).toEqual([tag]);
      expect(html.match(/aria-invalid/g), query).toHaveLength(1);
    }
  });

  it("marks the source form's id when it is taken (409), focusing it", async () => {
    const id = await createSource({ id: `a11y-taken-${uniqueKey()}`, secrets: ["secret-long-enough"] });
    const cookie = await signIn();
    const res = await dashboardForm("/dashboard/sources", cookie, { id, name: "again", provider: "podium", secret: "secret-long-enough" });
    expect(res.status).toBe(409);
    const html = await res.text();
    expect(titleOf(html)).toBe("Error: Sources · Edgehook");
    expect(fieldTags(html, "id")[0]).toMatch(/aria-invalid="true" aria-describedby="page-error"/);
    expect(autofocused(html)).toEqual(fieldTags(html, "id"));
  });

  it("focuses the error itself when it names no field of the form (a scope the token lacks)", async () => {
    const { token } = await makeToken(pipeline(), ["webhooks:read"]);
    const cookie = (await dashboardForm("/dashboard/login", null, { token })).headers.get("set-cookie")!.split(";")[0]!;
    const res = await dashboardForm("/dashboard/webhooks", cookie, { url: "https://downstream.test/ok/a11y", eventTypes: "*" });
    const html = await res.text();
    expect(res.status).toBe(403);
    expect(ERROR.exec(html)?.[1]).toBe(' tabindex="-1" autofocus=""');
    expect(autofocused(html)).toHaveLength(1);
    expect(html).not.toMatch(/aria-invalid/);
  });
});

describe("the page an action comes back to", () => {
  /** The page the press's redirect leads to. */
  const pressed = async (path: string, cookie: string) => {
    const res = await dashboardForm(path, cookie, {});
    expect(res.status, path).toBe(303);
    return get(res.headers.get("location")!, cookie);
  };
  const NOTICE = /<p class="notice" role="status" tabindex="-1" autofocus="">/;

  it("focuses its notice, or its error when the action was refused, so a screen reader says it", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const { webhook, event } = await p.webhookOn("flaky?fails=1", { maxAttempts: 1, eventTypes: ["contact.*"] });
    const uid = webhook.uid;
    const eventId = await p.ingest(event("contact.created"));
    await p.deliver();
    const delivery = (await p.api("GET", `/v1/deliveries?eventId=${eventId}`)).json.data[0].id;
    const messageId = `m-focus-${uniqueKey()}`;
    await recordDeadLetters(env.DB, [{ queue: "edgehook-deliveries-dlq", messageId, eventId, deliveryId: delivery, reason: "a", body: "{}", attempts: 1, receivedAt: Date.now() }]);
    const letter = (await p.api("GET", "/v1/dead-letters?open=true&limit=100&withMessage=false")).json.data.find((d: { eventId: string }) => d.eventId === eventId).id;
    const cookie = await signIn();
    // Nothing carried: nothing takes the focus.
    expect(autofocused(await get(`/dashboard/webhooks/${uid}`, cookie))).toEqual([]);
    // (The dead letter first: the delivery it names, retried, is not replayed again.)
    for (const action of [
      `/dashboard/dead-letters/${letter}/replay`,
      `/dashboard/webhooks/${uid}/disable`,
      `/dashboard/webhooks/${uid}/enable`,
      `/dashboard/webhooks/${uid}/retry-failed`,
      `/dashboard/events/${eventId}/replay`,
      `/dashboard/deliveries/${delivery}/retry`,
    ]) {
      const html = await pressed(action, cookie);
      expect(autofocused(html), action).toHaveLength(1);
      expect(autofocused(html)[0], action).toMatch(NOTICE);
    }
    // Refused (a token without the contacts' data scope): the error banner has it.
    const { token } = await makeToken(p, ["webhooks:read", "webhooks:write", "read_messages"]);
    const reader = (await dashboardForm("/dashboard/login", null, { token })).headers.get("set-cookie")!.split(";")[0]!;
    const refused = await pressed(`/dashboard/webhooks/${uid}/disable`, reader);
    expect(ERROR.exec(refused)?.[1]).toBe(' tabindex="-1" autofocus=""');
    expect(autofocused(refused)).toHaveLength(1);
  });
});
