// Filters and transformations on webhooks, through the API, routing and delivery.
import { Webhook as StandardWebhook } from "standardwebhooks";
import { RE2JS } from "re2js";
import { describe, expect, it, vi } from "vitest";
import { env } from "cloudflare:workers";
import { meteredD1 } from "../../bench/d1-meter";
import { ALERT_SOURCE } from "../../src/domain/alerts";
import { REDACTED } from "../../src/domain/credential-headers";
import { utf8 } from "../../src/domain/crypto";
import { storeEvents } from "../../src/store/events";
import { FILTER_LIMITS, filterBudget, matchesFilter, regexWeight, validateFilter } from "../../src/routing/filter";
import { BUDGET_SPENT } from "../../src/routing/match";
import { podium } from "../../src/schemes/podium";
import { pipeline, received, uniqueKey } from "./pipeline";
import { attemptCount, deliveryRows } from "./rows";
import { as, DATA_SCOPES, makeToken } from "./tokens";
import readme from "../../README.md?raw";
import guaranteesDoc from "../../docs/guarantees.md?raw";
import forwardingDoc from "../../docs/forwarding.md?raw";

/** A Podium message.received in the documented shape, for one organization. */
function message(org: string, opts: { channel?: string; conversation?: string; text?: string } = {}) {
  return JSON.stringify({
    data: {
      uid: crypto.randomUUID(),
      body: opts.text ?? "Is the 2pm appointment still open?",
      conversation: { uid: opts.conversation ?? crypto.randomUUID(), channel: { type: opts.channel ?? "sms", identifier: "+18015550123" } },
      contact: { name: "Ada", phone: "+18015550123", email: "ada@example.com" },
      location: { uid: `loc-${org}`, organizationUid: org },
    },
    metadata: { eventType: "message.received", eventUid: crypto.randomUUID(), version: "2021.04.01" },
  });
}

async function setup() {
  const p = pipeline({ RETRY_BASE_SECONDS: "0" });
  const key = uniqueKey();
  return { p, key, org: `org-${key}` };
}

/** A webhook for `message.*` of an organization, posting to the fake downstream under `key`. */
function subscribe(p: ReturnType<typeof pipeline>, key: string, org: string, extra: Record<string, unknown> = {}) {
  return p.createWebhook({ url: `https://downstream.test/ok/${key}`, eventTypes: ["message.*"], organizationUid: org, ...extra });
}

const SMS_ONLY = { body: { "metadata.eventType": "message.received", "data.conversation.channel.type": "sms" } };

describe("webhook filter and transform fields in the API", () => {
  it("saves filter, transform and transformHeaders, shows them, and PATCH null or PUT without them clears them", async () => {
    const { p, key, org } = await setup();
    const created = await subscribe(p, key, org, {
      filter: SMS_ONLY,
      transform: '{"text": data.body}',
      transformHeaders: { "X-Conversation": "data.conversation.uid" },
    });
    expect(created).toMatchObject({ filter: SMS_ONLY, transform: '{"text": data.body}', transformHeaders: { "x-conversation": "data.conversation.uid" } });
    expect((await p.api("GET", `/v1/webhooks/${created.uid}`)).json).toMatchObject({ filter: SMS_ONLY, transform: '{"text": data.body}' });

    const patched = await p.api("PATCH", `/v1/webhooks/${created.uid}`, { filter: null });
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({ filter: null, transform: '{"text": data.body}', transformHeaders: { "x-conversation": "data.conversation.uid" } });

    const put = await p.api("PUT", `/v1/webhooks/${created.uid}`, { url: `https://downstream.test/ok/${key}`, eventTypes: ["message.*"] });
    expect(put.status).toBe(200);
    expect(put.json).toMatchObject({ filter: null, transform: null, transformHeaders: null });
  });

  it("refuses a bad filter, transform or header with 400 invalid_request naming the path and the reason, and stores nothing", async () => {
    const { p, key, org } = await setup();
    const base = { url: `https://downstream.test/ok/${key}`, eventTypes: ["*"], organizationUid: org };
    const cases: [Record<string, unknown>, { path: string; message: RegExp }][] = [
      [{ filter: { body: { data: { amount: { $gt: true } } } } }, { path: "filter.body.data.amount.$gt", message: /\$gt takes a number or a string/ }],
      [{ filter: { body: { status: { $ne: "void" } } } }, { path: "filter.body.status.$ne", message: /unknown operator \$ne \(did you mean \$neq\?\)/ }],
      [{ filter: { body: { s: { $regex: "(a)\\1" } } } }, { path: "filter.body.s.$regex", message: /RE2 syntax/ }],
      [{ filter: { type: "x" } }, { path: "filter.type", message: /a filter matches \{"body": …, "headers": …\}/ }],
      // Filters that could never match, or would match every event.
      [{ filter: { headers: { $regex: "x" } } }, { path: "filter.headers.$regex", message: /on the headers themselves: the headers are an object of names and values/ }],
      [{ filter: { $or: [{}] } }, { path: "filter.$or[0]", message: /an empty filter matches every event/ }],
      [{ filter: { headers: { "User-Agent": "node", "user-agent": "nope" } } }, { path: 'filter.headers["user-agent"]', message: /given twice/ }],
      [{ transform: '{"text": data.body' }, { path: "transform", message: /Expected "}" before end of expression \(at position \d+\)/ }],
      [{ transformHeaders: { "webhook-signature": "'x'" } }, { path: "transformHeaders.webhook-signature", message: /set by Edgehook/ }],
      [{ transformHeaders: { "x-ok": "(" } }, { path: "transformHeaders.x-ok", message: /position/ }],
    ];
    for (const [extra, expected] of cases) {
      const res = await p.api("POST", "/v1/webhooks", { ...base, ...extra });
      expect(res.status, JSON.stringify(extra)).toBe(400);
      expect(res.json.error.code).toBe("invalid_request");
      const issue = res.json.error.details.issues.find((i: { path: string }) => i.path === expected.path);
      expect(issue, JSON.stringify(res.json.error.details.issues)).toBeDefined();
      expect(issue.message).toMatch(expected.message);
      expect(res.json.error.message).toContain(expected.path);
    }
    const ok = await p.createWebhook(base);
    const patched = await p.api("PATCH", `/v1/webhooks/${ok.uid}`, { filter: { body: { a: { $in: "x" } } } });
    expect(patched.status).toBe(400);
    expect(patched.json.error.details.issues[0]).toMatchObject({ path: "filter.body.a.$in" });
    expect((await p.api("GET", `/v1/webhooks/${ok.uid}`)).json.filter).toBeNull();
  });

  it("names a bad condition's place in a webhook's filter as a search's q does, a key that is no name quoted", async () => {
    // The webhook's answer split the place into its keys and joined them by dots (filter.body.data.object.x-y.$gt),
    // the search's kept the filter's own (q.body["data.object"]["x-y"].$gt): two notations for one filter.
    const { p, key, org } = await setup();
    const base = { url: `https://downstream.test/ok/${key}`, eventTypes: ["*"], organizationUid: org };
    const cases: [Record<string, unknown>, string][] = [
      [{ body: { "data.object": { "x-y": { $gt: true } } } }, '.body["data.object"]["x-y"].$gt'],
      [{ $and: [{ body: { "a b": { c: { $ne: 1 } } } }] }, '.$and[0].body["a b"].c.$ne'],
      [{ body: { a: { b: { $in: "x" } } } }, ".body.a.b.$in"],
    ];
    const since = new Date(Date.now() - 3600_000).toISOString();
    for (const [filter, place] of cases) {
      const webhook = await p.api("POST", "/v1/webhooks", { ...base, filter });
      expect(webhook.status, place).toBe(400);
      expect(webhook.json.error.details.issues.map((i: { path: string }) => i.path), place).toEqual([`filter${place}`]);
      expect(webhook.json.error.message, place).toContain(`filter${place}: `);
      const search = await p.api("GET", `/v1/events?${new URLSearchParams({ q: JSON.stringify(filter), since })}`);
      expect(search.status, place).toBe(400);
      expect(search.json.error.details.issues.map((i: { path: string }) => i.path), place).toEqual([`q${place}`]);
      expect(search.json.error.details.issues[0].message).toBe(webhook.json.error.details.issues[0].message);
    }
  });

  it("documents the fields in OpenAPI with Podium, Stripe and GitHub examples", async () => {
    const { p } = await setup();
    const res = await p.api("GET", "/openapi.json");
    const schemas = res.json.components.schemas;
    const create = schemas.WebhookCreate.properties;
    expect(create.filter.examples.map((e: object) => JSON.stringify(e)).join(" ")).toMatch(/metadata\.eventType.*amount_due.*x-github-event/);
    expect(create.transform.examples.join(" ")).toMatch(/data\.conversation.*amount_due.*repository\.full_name/);
    expect(create.transformHeaders.description).toContain("JSONata");
    expect(res.json.paths["/v1/webhooks/{uid}/test"].post).toBeDefined();
    expect(res.json.paths["/v1/events"].get.parameters.find((x: { name: string }) => x.name === "q").description).toMatch(/examines a bounded number of events.*docs\/filters-and-transforms\.md#search/);
  });
});

describe("filters at storage", () => {
  it("creates no delivery for a webhook whose filter excludes the event, and the event's timeline says so", async () => {
    const { p, key, org } = await setup();
    const smsOnly = await subscribe(p, `${key}-sms`, org, { filter: SMS_ONLY });
    const all = await subscribe(p, `${key}-all`, org);

    const emailId = await p.ingest(message(org, { channel: "email" }));
    const smsId = await p.ingest(message(org, { channel: "sms" }));
    await p.deliver();

    expect((await received(`${key}-sms`)).map((r) => JSON.parse(r.body).data.conversation.channel.type)).toEqual(["sms"]);
    expect(await received(`${key}-all`)).toHaveLength(2);

    const email = (await p.api("GET", `/v1/events/${emailId}`)).json;
    expect(email.deliveries.map((d: { webhookUid: string }) => d.webhookUid)).toEqual([all.uid]);
    expect(email.filteredOut).toEqual([smsOnly.uid]);
    const sms = (await p.api("GET", `/v1/events/${smsId}`)).json;
    expect(sms.deliveries.map((d: { webhookUid: string }) => d.webhookUid).sort()).toEqual([all.uid, smsOnly.uid].sort());
    expect(sms.filteredOut).toEqual([]);

    // The exclusion is a field of the event's own row: no delivery row (or any other) stands for it.
    expect(await deliveryRows(emailId)).toHaveLength(1);
  });

  it("refuses a $regex over the program bound (400, its place and size), and routes by one stored before it, compiled once across batches", async () => {
    const { p, key, org } = await setup();
    // 2,003 instructions: refused now, as 26 such alternatives (26,027) are, 55 ms a compile.
    const costly = `(?:x{1000}|y{1000})|^${key}$`;
    const hook = { url: `https://downstream.test/ok/${key}`, eventTypes: ["message.*"], organizationUid: org };
    const refused = await p.api("POST", "/v1/webhooks", { ...hook, filter: { body: { marker: { $regex: costly } } } });
    expect(refused.status).toBe(400);
    expect(refused.json.error.details.issues).toEqual([
      {
        path: "filter.body.marker.$regex",
        message: expect.stringMatching(new RegExp(`^the pattern compiles to up to 20\\d\\d RE2 instructions.*; the limit is ${FILTER_LIMITS.regexProgram}$`)),
      },
    ]);

    // Saved by an older version, before the bound: it routes as it did.
    const older = await subscribe(p, `${key}-older`, org, { filter: { body: { marker: "placeholder" } } });
    await env.DB.prepare("UPDATE webhooks SET filter = ? WHERE uid = ?").bind(JSON.stringify({ body: { marker: { $regex: costly } } }), older.uid).run();
    const meter = meteredD1(env.DB);
    const metered = pipeline({ RETRY_BASE_SECONDS: "0", DB: meter.db });
    const compiling = vi.spyOn(RE2JS, "compile");
    try {
      const matched = await metered.ingest(JSON.stringify({ ...JSON.parse(message(org)), marker: key }));
      const other = await metered.ingest(JSON.stringify({ ...JSON.parse(message(org)), marker: "other" }));
      expect((await p.api("GET", `/v1/events/${matched}`)).json.deliveries.map((d: { webhookUid: string }) => d.webhookUid)).toEqual([older.uid]);
      expect((await p.api("GET", `/v1/events/${other}`)).json.filteredOut).toEqual([older.uid]);
      // Each batch reads the webhooks afresh; the isolate compiled the stored pattern once, not once a batch.
      // (Compiled after `(?:\b|\B)`, as a pattern that may begin the text is: routing/regex-weight.ts.)
      expect(compiling.mock.calls.filter(([source]) => source === `(?:\\b|\\B)(?:${costly})`)).toHaveLength(1);
    } finally {
      compiling.mockRestore();
    }
    // And read no more rows for it: the webhooks once a batch, as before.
    expect(meter.usage.bySql["SELECT * FROM webhooks ORDER BY created_at, uid"]?.runs).toBe(2);
  });

  it("shows a limited token only the exclusions of webhooks within its grant", async () => {
    const { p, key, org } = await setup();
    const own = await subscribe(p, `${key}-own`, org, { filter: SMS_ONLY });
    const catchAll = await p.createWebhook({ url: `https://downstream.test/ok/${key}-any`, eventTypes: ["message.*"], filter: { body: { never: true } } });
    try {
      const id = await p.ingest(message(org, { channel: "email" }));
      expect((await p.api("GET", `/v1/events/${id}`)).json.filteredOut.sort()).toEqual([own.uid, catchAll.uid].sort());
      const { token } = await makeToken(p, ["events:read", ...DATA_SCOPES], { organizationUids: [org] });
      const limited = await as(p, token, "GET", `/v1/events/${id}`);
      expect(limited.status).toBe(200);
      expect(limited.json.filteredOut).toEqual([own.uid]);
    } finally {
      await p.api("DELETE", `/v1/webhooks/${catchAll.uid}`); // a catch-all would see the other tests' events
    }
  });

  it("replays only to webhooks whose filter admits the event; naming one that excludes it is a 409 saying so", async () => {
    const { p, key, org } = await setup();
    const smsOnly = await subscribe(p, key, org, { filter: SMS_ONLY });
    const id = await p.ingest(message(org, { channel: "email" }));
    const named = await p.api("POST", `/v1/events/${id}/replay`, { webhookUid: smsOnly.uid });
    expect(named.status).toBe(409);
    expect(named.json.error.message).toContain("filter");
    expect(named.json.error.details).toEqual({ reason: "filtered_out" });
    expect((await p.api("POST", `/v1/events/${id}/replay`, {})).json).toEqual({ deliveries: 0 });
    const range = await p.api("POST", "/v1/events/replay", {
      since: new Date(Date.now() - 60_000).toISOString(),
      until: new Date(Date.now() + 60_000).toISOString(),
      webhookUid: smsOnly.uid,
    });
    expect(range.status).toBe(202);
    expect(range.json.deliveries).toBe(0);
    // filteredOut is routing's at storage: a webhook made since, whose filter excludes the event, is not added by a replay.
    const later = await subscribe(p, key, org, { filter: SMS_ONLY });
    expect((await p.api("POST", `/v1/events/${id}/replay`, {})).json).toEqual({ deliveries: 0 });
    expect((await p.api("GET", `/v1/events/${id}`)).json.filteredOut).toEqual([smsOnly.uid]);
    expect((await p.api("DELETE", `/v1/webhooks/${later.uid}`)).status).toBe(204);
    const smsId = await p.ingest(message(org, { channel: "sms" }));
    p.woken.splice(0);
    expect((await p.api("POST", `/v1/events/${smsId}/replay`, { webhookUid: smsOnly.uid })).json).toEqual({ deliveries: 1 });
  });
});

/**
 * An organization's webhook with a costly filter (`costly`, made first), one without a filter, and a
 * catch-all with the same costly filter (made last, tested first): the event `bodyOf` makes is owed
 * the catch-all and the plain one, the budget excludes the costly one, and the webhook test and the
 * replays (named, unnamed by the organization's token, a range's dry run) say the same as ingest.
 */
async function budgetSpentFirstByTheCatchAll(costly: Record<string, unknown>, bodyOf: (org: string, key: string) => string) {
  const { p, key, org } = await setup();
  const body = bodyOf(org, key);
  const organizations = await subscribe(p, `${key}-costly`, org, { filter: { body: costly } });
  const plain = await subscribe(p, `${key}-plain`, org);
  // The marker first: other tests' events never reach the costly condition.
  const catchAll = await p.createWebhook({ url: `https://downstream.test/ok/${key}-any`, eventTypes: ["message.*"], filter: { body: { marker: key, ...costly } } });
  try {
    const id = await p.ingest(body);
    const stored = (await p.api("GET", `/v1/events/${id}`)).json;
    // (Another test's catch-all without a filter may be owed it too.)
    const owed = stored.deliveries.map((d: { webhookUid: string }) => d.webhookUid);
    expect(owed).toEqual(expect.arrayContaining([catchAll.uid, plain.uid]));
    expect(owed).not.toContain(organizations.uid);
    expect(stored.filteredOut).toEqual([organizations.uid]);

    // The test says why: alone its filter admits the event.
    const tested = await p.api("POST", `/v1/webhooks/${organizations.uid}/test`, { eventId: id });
    expect(tested.json.matched).toBe(false);
    expect(tested.json.checks.find((c: { check: string }) => c.check === "filter")).toMatchObject({ passed: false, message: BUDGET_SPENT });
    expect((await p.api("POST", `/v1/webhooks/${catchAll.uid}/test`, { eventId: id })).json.matched).toBe(true);

    // A replay owes what ingest owed, to the organization's token too, which does not hold the catch-all.
    const named = await p.api("POST", `/v1/events/${id}/replay`, { webhookUid: organizations.uid });
    expect(named.status).toBe(409);
    expect(named.json.error.message).toContain(BUDGET_SPENT);
    const { token } = await makeToken(p, ["events:replay", ...DATA_SCOPES], { organizationUids: [org] });
    expect((await as(p, token, "POST", `/v1/events/${id}/replay`, {})).json).toEqual({ deliveries: 1 });
    const range = { since: new Date(Date.now() - 60_000).toISOString(), until: new Date(Date.now() + 60_000).toISOString(), dryRun: true };
    expect((await as(p, token, "POST", "/v1/events/replay", range)).json).toMatchObject({ events: 1, deliveries: 1 });
    return body;
  } finally {
    await p.api("DELETE", `/v1/webhooks/${catchAll.uid}`); // a catch-all would see the other tests' events
  }
}

/** A message of `org` marked with `key`, carrying `items` in its data. */
const withItems = (org: string, key: string, items: unknown[]) =>
  JSON.stringify({ ...JSON.parse(message(org)), marker: key, data: { ...JSON.parse(message(org)).data, items } });

describe("one budget per event, shared by its webhooks, the catch-alls' filters tested first", () => {
  it("$regex: an organization's costly filter made earlier is what the budget excludes; the test and a replay say the same", async () => {
    // Matches only the last string, so a filter tests them all: one pass costs over half the budget.
    const costly = { "data.items": { $regex: "b{200}" } };
    const v = validateFilter({ body: costly });
    if (!v.ok) throw new Error("the filter is valid");
    const length = 1000;
    const strings = Math.floor((0.75 * FILTER_LIMITS.regexWork) / (regexWeight(v.filter) * length));
    await budgetSpentFirstByTheCatchAll(costly, (org, key) =>
      withItems(org, key, [...Array.from({ length: strings - 1 }, () => "a".repeat(length)), "b".repeat(length)]),
    );
  });

  it("a filter without $regex spends it too: the catch-all's first; the test and a replay say the same as ingest", async () => {
    // Each 0 walks the 100,000 items, and the 1 matches the first: alone, over half the work budget and within it.
    const costly = { "data.items": { $in: [0, 0, 0, 0, 0, 0, 1] } };
    const body = await budgetSpentFirstByTheCatchAll(costly, (org, key) => withItems(org, key, Array.from({ length: 100_000 }, () => 1)));

    // What the numbers above rest on: one pass costs over half the budget and fits within it.
    const v = validateFilter({ body: costly });
    if (!v.ok) throw new Error("the filter is valid");
    const budget = filterBudget();
    expect(matchesFilter(v.filter, { body: JSON.parse(body), headers: {} }, budget)).toBe(true);
    expect(FILTER_LIMITS.work - budget.work).toBeGreaterThan(FILTER_LIMITS.work / 2);
  });
});

describe("transformations at delivery", () => {
  it("sends the transformation's output with its headers, signed over exactly the bytes sent", async () => {
    const { p, key, org } = await setup();
    const webhook = await subscribe(p, key, org, {
      transform: '{"text": "New " & data.conversation.channel.type & " message: " & data.body, "conversation": data.conversation.uid}',
      transformHeaders: { "x-podium-event": "metadata.eventType", "x-missing": "data.nothing" },
    });
    const id = await p.ingest(message(org, { channel: "sms", conversation: "conv-1", text: "hello there" }));
    await p.deliver();

    const [req] = await received(key);
    expect(req!.body).toBe('{"text":"New sms message: hello there","conversation":"conv-1"}');
    expect(req!.headers["x-podium-event"]).toBe("message.received");
    expect(req!.headers["x-missing"]).toBeUndefined(); // nothing found: the header is left out
    expect(req!.headers["content-type"]).toBe("application/json");
    expect(req!.headers["edgehook-event-id"]).toBe(id);
    // The standardwebhooks package verifies the received bytes as they are; the original body does not verify.
    expect(new StandardWebhook(webhook.secret).verify(req!.body, req!.headers)).toEqual({ text: "New sms message: hello there", conversation: "conv-1" });
    const stored = (await p.api("GET", `/v1/events/${id}`)).json;
    expect(() => new StandardWebhook(webhook.secret).verify(stored.body, req!.headers)).toThrow();
    // So does Podium-style verification.
    const asReceived = { headers: new Headers(req!.headers), raw: utf8(req!.body), now: Date.now() };
    await expect(podium.verify(asReceived, [webhook.secret], 300)).resolves.toBeUndefined();
    // The event itself is stored unchanged.
    expect(JSON.parse(stored.body).data.body).toBe("hello there");
    // And where the docs promise bodies byte for byte, they say a transform is the exception.
    expect(readme).toContain("forwarded as received (unless a webhook reshapes them with a `transform`)");
    expect(guaranteesDoc).toContain("except to a webhook with a `transform`");
    expect(forwardingDoc).toContain("for a webhook with a `transform`, that\ntransformation's output instead");
  });

  it("fails a delivery whose transformation errors at once, for good, with the reason in its attempt, sending nothing", async () => {
    const { p, key, org } = await setup();
    // JSONata's message for this one quotes the value it met: the review's text.
    const webhook = await subscribe(p, key, org, {
      maxAttempts: 15,
      transform: "$number(data.body)",
    });
    const id = await p.ingest(message(org, { text: "not a number, and private" }));
    await p.deliver();

    const event = (await p.api("GET", `/v1/events/${id}`)).json;
    const [d] = event.deliveries;
    expect(d).toMatchObject({ status: "failed", attemptCount: 1, nextAttemptAt: null });
    expect(d.attempts).toHaveLength(1);
    expect(d.attempts[0]).toMatchObject({ statusCode: null });
    // Recorded without the value, where the webhook's health repeats it to tokens that may not read the event.
    expect(d.attempts[0].error).toBe(
      "transformation failed, not retried: transform: JSONata error D3030 (at position 8); POST /v1/webhooks/{uid}/test shows its message (up to 4,096 characters)",
    );
    const hook = (await p.api("GET", `/v1/webhooks/${webhook.uid}`)).json;
    expect(hook.health.lastFailure.error).toBe(d.attempts[0].error);
    const counted = (await p.api("GET", `/v1/stats?webhookUids=${webhook.uid}`)).json.webhooks.find((w: { uid: string }) => w.uid === webhook.uid);
    expect(counted.lastError).toBe(d.attempts[0].error);
    // The webhook's test, for a token that reads the event, shows it whole.
    const tried = (await p.api("POST", `/v1/webhooks/${webhook.uid}/test`, { eventId: id })).json;
    expect(JSON.stringify(tried)).toContain("not a number, and private");
    const letters = await p.api("GET", `/v1/dead-letters?limit=100`);
    expect(letters.json.data.filter((l: { deliveryId: string | null }) => l.deliveryId === d.id)).toHaveLength(1);
    expect(await received(key)).toHaveLength(0);

    // Fixed, and retried by hand, it goes out.
    expect((await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { transform: '{"n": $length(data.body)}' })).status).toBe(200);
    expect((await p.api("POST", `/v1/deliveries/${d.id}/retry`)).status).toBe(202);
    await p.deliver();
    expect((await received(key)).map((r) => r.body)).toEqual(['{"n":25}']);
  });
});

describe("white space around a header's value, which HTTP drops", () => {
  const DROPS = /which HTTP drops from around a header's value/;

  it("refuses a header whose every value would start or end with it (400 invalid_request naming the header), on create and on change", async () => {
    const { p, key, org } = await setup();
    const base = { url: `https://downstream.test/ok/${key}`, eventTypes: ["*"], organizationUid: org };
    const cases: [Record<string, string>, string, RegExp][] = [
      // The path names the header as given; the message, as it is sent.
      [{ "X-Tenant": "' acme'" }, "X-Tenant", /^x-tenant's value starts with white space, which HTTP drops/],
      [{ "x-tenant": '"acme\t"' }, "x-tenant", /^x-tenant's value ends with white space/],
      [{ "x-tenant": "' '" }, "x-tenant", /^x-tenant's value starts and ends with white space/],
      [{ "x-conv": "'conv ' & data.conversation.uid & ' '" }, "x-conv", /^x-conv's value ends with white space/],
      // A credential header's value is write-only: named, never quoted.
      [{ authorization: "' Bearer sk_live_padded'" }, "authorization", /^authorization's value starts with white space/],
    ];
    for (const [transformHeaders, name, message] of cases) {
      const res = await p.api("POST", "/v1/webhooks", { ...base, transformHeaders });
      expect(res.status, JSON.stringify(transformHeaders)).toBe(400);
      expect(res.json.error.code).toBe("invalid_request");
      expect(res.json.error.details.issues).toEqual([{ path: `transformHeaders.${name}`, message: expect.stringMatching(message) }]);
      expect(res.json.error.message).toMatch(DROPS);
      expect(JSON.stringify(res.json)).not.toContain("sk_live_padded");
    }
    const made = await p.createWebhook({ ...base, transformHeaders: { "x-tenant": "'acme'" } });
    const patched = await p.api("PATCH", `/v1/webhooks/${made.uid}`, { transformHeaders: { "x-tenant": "'acme '" } });
    expect(patched.status).toBe(400);
    expect(patched.json.error.details.issues).toEqual([{ path: "transformHeaders.x-tenant", message: expect.stringMatching(DROPS) }]);
    expect((await p.api("GET", `/v1/webhooks/${made.uid}`)).json.transformHeaders).toEqual({ "x-tenant": "'acme'" });
    // White space inside a value, or where the event's data decides, is no reason to refuse.
    const inside = await p.api("POST", "/v1/webhooks", { ...base, transformHeaders: { "x-a": "'Bearer x'", "x-b": "'Bearer ' & data.uid", "x-c": "data.body" } });
    expect(inside.status).toBe(201);
  });

  it("sends a value trimmed as fetch sends it, and the test shows the same; one stored before the check keeps delivering", async () => {
    const { p, key, org } = await setup();
    const webhook = await subscribe(p, key, org, { transformHeaders: { "x-text": "data.body" } });
    // Written before such values were refused.
    const headers = { "x-text": "data.body", "x-tenant": "' acme\t'", authorization: "'Bearer sk_live_padded '" };
    await env.DB.prepare("UPDATE webhooks SET transform_headers = ? WHERE uid = ?").bind(JSON.stringify(headers), webhook.uid).run();
    const id = await p.ingest(message(org, { text: "  padded by the sender " }));

    const tested = await p.api("POST", `/v1/webhooks/${webhook.uid}/test`, { eventId: id });
    expect(tested.status).toBe(200);
    expect(tested.json.transformError).toBeNull();
    expect(tested.json.request.headers).toMatchObject({ "x-text": "padded by the sender", "x-tenant": "acme", authorization: REDACTED });

    await p.deliver();
    const [req] = await received(key);
    expect(req!.headers).toMatchObject({ "x-text": "padded by the sender", "x-tenant": "acme", authorization: "Bearer sk_live_padded" });
    // What the test showed is what arrived.
    for (const name of ["x-text", "x-tenant"]) expect(req!.headers[name]).toBe(tested.json.request.headers[name]);
  });
});

describe("a header's literal no header value may carry", () => {
  it("is refused when written (400 naming the header and the character), on create and on change, rather than saved to fail every delivery", async () => {
    const { p, key, org } = await setup();
    const base = { url: `https://downstream.test/ok/${key}`, eventTypes: ["*"], organizationUid: org };
    const cases: [Record<string, string>, string, string][] = [
      [{ "x-tenant": '"café"' }, "x-tenant", "U+00E9"],
      [{ "X-Nul": '"a\\u0000b"' }, "X-Nul", "U+0000"],
      [{ "x-line": "'a\nb'" }, "x-line", "U+000A"],
      // A part of a concatenation is in every value; a credential's literal is named by its character, never quoted.
      [{ authorization: "'Bearer sk_live_ü' & data.uid" }, "authorization", "U+00FC"],
      // A parenthesised block stands for its last expression.
      [{ "x-paren": "('café')" }, "x-paren", "U+00E9"],
      [{ "x-nested": "data.uid & ('a'; ('é' & data.uid))" }, "x-nested", "U+00E9"],
    ];
    for (const [transformHeaders, name, character] of cases) {
      const res = await p.api("POST", "/v1/webhooks", { ...base, transformHeaders });
      expect(res.status, JSON.stringify(transformHeaders)).toBe(400);
      expect(res.json.error.code).toBe("invalid_request");
      const message = `${name.toLowerCase()}'s value always holds ${character}, which no header value may carry (printable ASCII, a tab allowed): every delivery would fail`;
      expect(res.json.error.details.issues, name).toEqual([{ path: `transformHeaders.${name}`, message }]);
      expect(JSON.stringify(res.json)).not.toContain("sk_live");
    }
    const made = await p.createWebhook({ ...base, transformHeaders: { "x-tenant": "'acme'" } });
    const patched = await p.api("PATCH", `/v1/webhooks/${made.uid}`, { transformHeaders: { "x-tenant": '"café"' } });
    expect(patched.status).toBe(400);
    expect((await p.api("GET", `/v1/webhooks/${made.uid}`)).json.transformHeaders).toEqual({ "x-tenant": "'acme'" });
    // Nor one padded inside parentheses, nor one always longer than a header value may be.
    const padded = await p.api("POST", "/v1/webhooks", { ...base, transformHeaders: { "x-pad": "(' x')" } });
    expect(padded.json.error.details.issues).toEqual([expect.objectContaining({ path: "transformHeaders.x-pad", message: expect.stringContaining("starts with white space") })]);
    for (const long of [`'${"a".repeat(4097)}'`, `'${"a".repeat(3000)}' & data.uid & ('${"b".repeat(3000)}')`]) {
      const res = await p.api("POST", "/v1/webhooks", { ...base, transformHeaders: { "x-long": long } });
      expect(res.status).toBe(400);
      expect(res.json.error.details.issues).toEqual([expect.objectContaining({ path: "transformHeaders.x-long", message: expect.stringMatching(/always has at least (4097|6000) characters, past a header value's 4096/) })]);
    }
    // Where the event's data decides, or a tab inside, it is no reason to refuse.
    const fine = await p.api("POST", "/v1/webhooks", { ...base, transformHeaders: { "x-a": "'a\tb'", "x-b": "data.body", "x-c": "data.x ? 'é' : 'e'", "x-d": `('${"a".repeat(4096)}')`, "x-e": "('a ' & data.uid & ' b')", "x-f": "('é')[false]", "x-g": "' x'[data.x]" } });
    expect(fine.status).toBe(201);
  });
});

describe("test this webhook", () => {
  it("answers what would be sent for a matching event, and sends and records nothing", async () => {
    const { p, key, org } = await setup();
    const webhook = await subscribe(p, key, org, {
      filter: SMS_ONLY,
      transform: '{"text": data.body}',
      transformHeaders: { "x-conversation": "data.conversation.uid" },
      disabled: true, // routing holds its delivery: nothing is sent while we test
    });
    const id = await p.ingest(message(org, { channel: "sms", conversation: "conv-9", text: "hi" }));
    const before = (await deliveryRows(id)).length;

    const res = await p.api("POST", `/v1/webhooks/${webhook.uid}/test`, { eventId: id });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ eventId: id, webhookUid: webhook.uid, matched: true, transformError: null });
    expect(res.json.checks.map((c: { check: string; passed: boolean }) => [c.check, c.passed])).toEqual([
      ["eventTypes", true],
      ["owner", true],
      ["sources", true],
      ["filter", true],
    ]);
    expect(res.json.request.url).toBe(`https://downstream.test/ok/${key}`);
    expect(res.json.request.body).toBe('{"text":"hi"}');
    expect(res.json.request.headers).toMatchObject({ "x-conversation": "conv-9", "content-type": "application/json", "edgehook-event-id": id });
    expect(res.json.request.headers["webhook-signature"]).toBeUndefined();

    expect(await received(key)).toHaveLength(0);
    expect(await deliveryRows(id)).toHaveLength(before);
    expect(await attemptCount(id)).toBe(0);
  });

  it("says an alert is not a webhook's, whatever its types: routing sends alerts to notification endpoints only", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const eventId = `evt_alert_${key}`;
    await storeEvents(env.DB, [
      {
        eventId,
        sourceId: ALERT_SOURCE,
        dedupeKey: key,
        eventType: "webhook.failing",
        locationUid: null,
        organizationUid: null,
        receivedAt: Date.now(),
        headers: {},
        body: JSON.stringify({ type: "webhook.failing", data: {} }),
      },
    ]);
    const webhook = await p.createWebhook({ url: `https://downstream.test/ok/${key}`, eventTypes: ["*"] });
    const res = await p.api("POST", `/v1/webhooks/${webhook.uid}/test`, { eventId });
    expect(res.status).toBe(200);
    expect(res.json.matched).toBe(false);
    expect(res.json.checks[0]).toEqual({
      check: "eventTypes",
      passed: false,
      message: "webhook.failing is an alert (source edgehook), which goes to notification endpoints only",
    });
  });

  it("runs the transformation within one step budget for the body and all its headers, as a delivery attempt does", async () => {
    const { p, key, org } = await setup();
    // Each header alone takes about 30,000 steps of the 50,000 a run may.
    const heavy = "$string($sum([1..7500].($ * 2)))";
    const webhook = await subscribe(p, key, org, { transformHeaders: { "x-a": heavy, "x-b": heavy }, disabled: true });
    const id = await p.ingest(message(org));
    const res = await p.api("POST", `/v1/webhooks/${webhook.uid}/test`, { eventId: id });
    expect(res.status).toBe(200);
    expect(res.json.transformError).toMatch(/^transformHeaders\["x-b"\]: stopped after 50000 evaluation steps, [1-9]\d+ of them by the expressions before this one \(an endless or too costly expression\)$/);
    expect((await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { transformHeaders: { "x-a": heavy } })).status).toBe(200);
    const one = await p.api("POST", `/v1/webhooks/${webhook.uid}/test`, { eventId: id });
    expect(one.json).toMatchObject({ transformError: null, request: { headers: { "x-a": "56257500" } } });
  });

  it("says which check fails and why, with the event's value, and reports a transformation error", async () => {
    const { p, key, org } = await setup();
    const webhook = await p.createWebhook({
      url: `https://downstream.test/ok/${key}`,
      eventTypes: ["message.sent", "contact.*"],
      organizationUid: org,
      filter: SMS_ONLY,
      transform: "data.body + 1",
    });
    const id = await p.ingest(message(org, { channel: "email" }));
    const res = await p.api("POST", `/v1/webhooks/${webhook.uid}/test`, { eventId: id });
    expect(res.status).toBe(200);
    expect(res.json.matched).toBe(false);
    const checks = Object.fromEntries(res.json.checks.map((c) => [c.check, c]));
    expect(checks.eventTypes).toMatchObject({ passed: false, message: "message.received is not among message.sent, contact.*" });
    expect(checks.owner).toMatchObject({ passed: true });
    expect(checks.filter).toMatchObject({ passed: false, message: 'body.data.conversation.channel.type is "email", not "sms"' });
    expect(res.json.transformError).toMatch(/T2001/);
    expect(res.json.request).toBeNull();
  });

  it("needs events:read, and both the webhook and the event within the token's grant", async () => {
    const { p, key, org } = await setup();
    const webhook = await subscribe(p, key, org);
    const id = await p.ingest(message(org));
    const other = await p.ingest(message(`${org}-other`));
    const noEvents = await makeToken(p, ["webhooks:read", ...DATA_SCOPES], { organizationUids: [org] });
    const forbidden = await as(p, noEvents.token, "POST", `/v1/webhooks/${webhook.uid}/test`, { eventId: id });
    expect(forbidden.status).toBe(403);
    expect(forbidden.json.error.details.missingScope).toBe("events:read");
    const limited = await makeToken(p, ["webhooks:read", "events:read", ...DATA_SCOPES], { organizationUids: [org] });
    expect((await as(p, limited.token, "POST", `/v1/webhooks/${webhook.uid}/test`, { eventId: id })).status).toBe(200);
    const hidden = await as(p, limited.token, "POST", `/v1/webhooks/${webhook.uid}/test`, { eventId: other });
    expect(hidden.status).toBe(404);
    expect(hidden.json.error.code).toBe("not_found");
  });
});
