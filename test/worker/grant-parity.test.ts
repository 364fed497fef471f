// What a limited token is answered about another organization's objects, route by route: the same
// status, code and words as for an id nobody has (docs/security.md, "What a limited token learns").
import { describe, expect, it } from "vitest";
import { apiCall, podiumBody } from "./helpers";
import { pipeline, uniqueKey } from "./pipeline";
import { as, DATA_SCOPES, makeToken } from "./tokens";
import type { Scope } from "../../src/domain/scopes";

type P = ReturnType<typeof pipeline>;

const ALL: Scope[] = ["events:read", "events:replay", "webhooks:read", "webhooks:write", "sources:read", "sources:write", ...DATA_SCOPES];

/** An answer with the ids named in it replaced, so that two answers about two ids compare. */
const shape = (res: { status: number; json: unknown }, ids: string[]) => {
  let text = JSON.stringify(res.json);
  for (const id of ids) text = text.split(id).join("<id>");
  return { status: res.status, json: JSON.parse(text) };
};

/** Another organization's webhook, event, delivery and source, beside ids of the same shape nobody has. */
async function world(p: P) {
  const k = uniqueKey();
  const [orgA, orgB] = [`org-${k}-a`, `org-${k}-b`];
  const mine = await p.createWebhook({ url: `https://downstream.test/ok/${k}-a`, eventTypes: ["*"], organizationUid: orgA });
  const theirs = await p.createWebhook({ url: `https://downstream.test/fail/${k}-b`, eventTypes: ["*"], organizationUid: orgB, maxAttempts: 1 });
  const myEvent = await p.ingest(podiumBody({ organizationUid: orgA }));
  const theirEvent = await p.ingest(podiumBody({ organizationUid: orgB }));
  await p.deliver();
  const theirDelivery = (await p.api("GET", `/v1/deliveries?eventId=${theirEvent}`)).json.data[0].id as string;
  const theirSource = (await p.api("POST", "/v1/sources", { id: `src-${k}-b`, name: "b", provider: "podium", secrets: ["b-secret-1234"], organizationUid: orgB, disabled: true })).json.id as string;
  const t = await makeToken(p, ALL, { organizationUids: [orgA] });
  return {
    k,
    t,
    mine: mine.uid,
    myEvent,
    theirs: { webhook: theirs.uid, event: theirEvent, delivery: theirDelivery, source: theirSource },
    nobody: {
      webhook: theirs.uid.replace(/.{6}$/, "000000"),
      event: theirEvent.replace(/.{6}$/, "000000"),
      delivery: theirDelivery.replace(/.{6}$/, "000000"),
      source: `src-${k}-z`,
    },
  };
}

describe("a limited token is told of another organization's objects what it is told of ids nobody has", () => {
  it("every route that takes a webhook, event, delivery or source id", async () => {
    const p = pipeline();
    const w = await world(p);
    const since = new Date(Date.now() - 3600_000).toISOString();
    const until = new Date(Date.now() + 60_000).toISOString();
    type Ids = { webhook: string; event: string; delivery: string; source: string };
    const calls: [string, (ids: Ids) => [string, string, unknown?]][] = [
      ["get webhook", (i) => ["GET", `/v1/webhooks/${i.webhook}`]],
      ["patch webhook", (i) => ["PATCH", `/v1/webhooks/${i.webhook}`, { disabled: true }]],
      ["put webhook", (i) => ["PUT", `/v1/webhooks/${i.webhook}`, { url: "https://downstream.test/ok/x", eventTypes: ["*"] }]],
      ["delete webhook", (i) => ["DELETE", `/v1/webhooks/${i.webhook}`]],
      ["test webhook", (i) => ["POST", `/v1/webhooks/${i.webhook}/test`, { eventId: w.myEvent }]],
      ["test on event", (i) => ["POST", `/v1/webhooks/${w.mine}/test`, { eventId: i.event }]],
      ["deliveries of webhook", (i) => ["GET", `/v1/deliveries?webhookUid=${i.webhook}`]],
      ["deliveries of event", (i) => ["GET", `/v1/deliveries?eventId=${i.event}`]],
      ["failed deliveries of webhook", (i) => ["GET", `/v1/deliveries?status=failed&webhookUid=${i.webhook}`]],
      ["bulk retry", (i) => ["POST", "/v1/deliveries/retry", { status: "failed", webhookUid: i.webhook }]],
      ["get delivery", (i) => ["GET", `/v1/deliveries/${i.delivery}`]],
      ["retry", (i) => ["POST", `/v1/deliveries/${i.delivery}/retry`]],
      ["get event", (i) => ["GET", `/v1/events/${i.event}`]],
      ["replay event", (i) => ["POST", `/v1/events/${i.event}/replay`, {}]],
      ["replay to webhook", (i) => ["POST", `/v1/events/${w.myEvent}/replay`, { webhookUid: i.webhook }]],
      ["range replay to webhook", (i) => ["POST", "/v1/events/replay", { since, until, webhookUid: i.webhook, dryRun: true }]],
      ["stats of webhook", (i) => ["GET", `/v1/stats?webhookUids=${i.webhook}`]],
      ["get source", (i) => ["GET", `/v1/sources/${i.source}`]],
      ["patch source", (i) => ["PATCH", `/v1/sources/${i.source}`, { name: "x" }]],
      ["delete source", (i) => ["DELETE", `/v1/sources/${i.source}`]],
      ["rejections", (i) => ["GET", `/v1/sources/${i.source}/rejections`]],
      ["webhook naming source", (i) => ["POST", "/v1/webhooks", { url: "https://downstream.test/ok/y", eventTypes: ["*"], organizationUid: `org-${w.k}-a`, sourceIds: [i.source] }]],
    ];
    for (const [name, call] of calls) {
      const ask = (ids: Ids) => {
        const [method, path, body] = call(ids);
        return as(p, w.t.token, method, path, body);
      };
      const [theirs, nobodys] = [await ask(w.theirs), await ask(w.nobody)];
      const strip = (res: typeof theirs, ids: Ids) => {
        const s = shape(res, Object.values(ids));
        // Times move between the two calls (stats' series, its buckets).
        if (name === "stats of webhook") return { status: s.status, webhooks: s.json.webhooks };
        return s;
      };
      expect({ name, ...strip(theirs, w.theirs) }).toEqual({ name, ...strip(nobodys, w.nobody) });
    }
  });

  it("listening as another organization's webhook", async () => {
    const p = pipeline();
    const w = await world(p);
    const listen = (uid: string, mode: string) =>
      apiCall(p.env, "GET", `/v1/listen?mode=${mode}&webhookUid=${uid}`, undefined, { authorization: `Bearer ${w.t.token}`, upgrade: "websocket" });
    for (const mode of ["listen", "tail"]) {
      const [theirs, nobodys] = [await listen(w.theirs.webhook, mode), await listen(w.nobody.webhook, mode)];
      expect(shape(theirs, [w.theirs.webhook])).toEqual(shape(nobodys, [w.nobody.webhook]));
      expect(theirs.status).toBe(404);
    }
  });

  it("listening to another organization's source", async () => {
    const p = pipeline();
    const w = await world(p);
    const listen = (source: string, mode: string) =>
      apiCall(p.env, "GET", `/v1/listen?mode=${mode}&sourceIds=${source}`, undefined, { authorization: `Bearer ${w.t.token}`, upgrade: "websocket" });
    for (const mode of ["listen", "tail"]) {
      const [theirs, nobodys] = [await listen(w.theirs.source, mode), await listen(w.nobody.source, mode)];
      expect(shape(theirs, [w.theirs.source])).toEqual(shape(nobodys, [w.nobody.source]));
      expect(theirs.status).toBe(400);
    }
  });

  it("an unlimited token is told of a notification endpoint what it is told of an id nobody has", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const endpoint = (await p.api("POST", "/v1/notification-endpoints", { url: `https://downstream.test/ok/${k}-n`, alertTypes: ["webhook.failing"] })).json.uid as string;
    const nobody = endpoint.replace(/.{6}$/, "000000");
    const t = await makeToken(p, ALL);
    const own = await p.createWebhook({ url: `https://downstream.test/ok/${k}`, eventTypes: ["*"], organizationUid: `org-${k}` });
    const event = await p.ingest(podiumBody({ organizationUid: `org-${k}` }));
    const since = new Date(Date.now() - 3600_000).toISOString();
    const until = new Date(Date.now() + 60_000).toISOString();
    const calls: ((uid: string) => [string, string, unknown?])[] = [
      (u) => ["GET", `/v1/webhooks/${u}`],
      (u) => ["PATCH", `/v1/webhooks/${u}`, { disabled: true }],
      (u) => ["DELETE", `/v1/webhooks/${u}`],
      (u) => ["POST", `/v1/webhooks/${u}/test`, { eventId: event }],
      (u) => ["POST", "/v1/deliveries/retry", { status: "failed", webhookUid: u }],
      (u) => ["POST", `/v1/events/${event}/replay`, { webhookUid: u }],
      (u) => ["POST", "/v1/events/replay", { since, until, webhookUid: u, dryRun: true }],
      (u) => ["GET", `/v1/deliveries?webhookUid=${u}`],
    ];
    for (const call of calls) {
      const ask = (uid: string) => {
        const [method, path, body] = call(uid);
        return as(p, t.token, method, path, body);
      };
      expect(shape(await ask(endpoint), [endpoint])).toEqual(shape(await ask(nobody), [nobody]));
    }
    const stats = (await as(p, t.token, "GET", `/v1/stats?webhookUids=${own.uid}`)).json;
    expect(stats.webhooks.map((x: { uid: string }) => x.uid)).toEqual([own.uid]);
    // Named in stats, an endpoint is refused as none is (404, in the same words).
    const askStats = (uid: string) => as(p, t.token, "GET", `/v1/stats?webhookUids=${uid},${own.uid}`);
    expect(shape(await askStats(endpoint), [endpoint])).toEqual(shape(await askStats(nobody), [nobody]));
    expect((await askStats(endpoint)).status).toBe(404);
  });
});

describe("what a limited token knowingly learns of another organization's source", () => {
  it("an id taken by another organization's source, even a disabled one, is refused 409 on create, as any taken id (docs/security.md)", async () => {
    const p = pipeline();
    const w = await world(p);
    const made = (id: string) => as(p, w.t.token, "POST", "/v1/sources", { id, name: "mine", provider: "podium", secrets: ["a-secret-1234"] });
    const taken = await made(w.theirs.source);
    expect(taken.status).toBe(409);
    expect(taken.json.error.message).toBe(`A source "${w.theirs.source}" exists already.`);
    expect(taken.json.error.details).toEqual({ issues: [{ path: "id", message: "taken" }] });
    expect((await made(w.nobody.source)).status).toBe(201);
  });

  it("an id configuration declares is refused as any taken id: not said to be configuration's (docs/providers.md)", async () => {
    const p = pipeline();
    const w = await world(p);
    const made = (id: string) => as(p, w.t.token, "POST", "/v1/sources", { id, name: "mine", provider: "podium", secrets: ["a-secret-1234"] });
    const declared = await made("podium");
    expect(declared.status).toBe(409);
    expect(shape(declared, ["podium"])).toEqual(shape(await made(w.theirs.source), [w.theirs.source]));
    expect(declared.json.error.details).toEqual({ issues: [{ path: "id", message: "taken" }] });
    // The admin, who sees it, is told where to change it.
    expect((await p.api("POST", "/v1/sources", { id: "podium", name: "x", provider: "podium", secrets: ["a-secret-1234"] })).json.error.message).toContain("declared by configuration");
  });
});

describe("a token lacking a data scope is told of an event of that type what it is told of an id nobody has", () => {
  it("every route that takes an event or delivery id, for an unlimited and a limited token", async () => {
    const p = pipeline();
    const org = `org-${uniqueKey()}`;
    const webhook = await p.createWebhook({ url: `https://downstream.test/fail/${org}`, eventTypes: ["contact.*", "message.*"], organizationUid: org, maxAttempts: 1 });
    const event = await p.ingest(podiumBody({ organizationUid: org, type: "message.received" }));
    await p.deliver();
    const delivery = (await p.api("GET", `/v1/deliveries?eventId=${event}`)).json.data[0].id as string;
    const hidden = { event, delivery };
    const nobody = { event: event.replace(/.{6}$/, "000000"), delivery: delivery.replace(/.{6}$/, "000000") };
    const calls: [string, (i: typeof hidden) => [string, string, unknown?]][] = [
      ["get event", (i) => ["GET", `/v1/events/${i.event}`]],
      ["deliveries of event", (i) => ["GET", `/v1/deliveries?eventId=${i.event}`]],
      ["get delivery", (i) => ["GET", `/v1/deliveries/${i.delivery}`]],
      ["retry", (i) => ["POST", `/v1/deliveries/${i.delivery}/retry`]],
      ["replay", (i) => ["POST", `/v1/events/${i.event}/replay`, {}]],
      ["replay to webhook", (i) => ["POST", `/v1/events/${i.event}/replay`, { webhookUid: webhook.uid }]],
      ["test webhook on event", (i) => ["POST", `/v1/webhooks/${webhook.uid}/test`, { eventId: i.event }]],
    ];
    const scopes: Scope[] = ["events:read", "events:replay", "webhooks:read", "webhooks:write", "read_contacts"];
    for (const limits of [{}, { organizationUids: [org] }]) {
      const t = await makeToken(p, scopes, limits);
      for (const [name, call] of calls) {
        const ask = (ids: typeof hidden) => {
          const [method, path, body] = call(ids);
          return as(p, t.token, method, path, body);
        };
        const [theirs, nobodys] = [shape(await ask(hidden), Object.values(hidden)), shape(await ask(nobody), Object.values(nobody))];
        expect({ name, limits, ...theirs }).toEqual({ name, limits, ...nobodys });
      }
    }
  });
});
