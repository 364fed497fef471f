import { describe, expect, it, vi } from "vitest";
import type { Json, Webhook } from "../../src/domain/types";
import { newDelivery } from "../../src/domain/delivery";
import { RE2JS } from "re2js";
import { FILTER_LIMITS, validateFilter, WORK_SPENT } from "../../src/routing/filter";
import { FilterCache } from "../../src/routing/filter-cache";
import { programWeight } from "../../src/routing/regex-weight";
import {
  BUDGET_SPENT,
  FilterInput,
  filterRegexWeight,
  forgetCompiledFilters,
  matches,
  owedWebhooks,
  plannedFilterMismatch,
  replayPlan,
  replayTargets,
  routingOrder,
  typeMatches,
} from "../../src/routing/match";
import { aWebhook as webhook } from "./helpers";


const event: { eventType: string; locationUid: string | null; organizationUid: string | null; sourceId: string } = {
  eventType: "message.received",
  locationUid: "loc-1",
  organizationUid: "org-1",
  sourceId: "podium",
};

describe("event types", () => {
  it.each([
    ["*", "message.received", true],
    ["message.*", "message.received", true],
    ["message.*", "message", false],
    ["message.*", "messages.received", false],
    ["message.received", "message.received", true],
    ["message.received", "message.sent", false],
    ["contact.*", "message.received", false],
    ["invoice.payment_succeeded", "invoice.payment_succeeded", true],
  ])("%s matches %s: %s", (pattern, type, expected) => {
    expect(typeMatches(pattern, type)).toBe(expected);
  });
});

describe("routing table: types × location/organization × sources", () => {
  it.each<[string, Partial<Webhook>, Partial<typeof event>, boolean]>([
    ["all events, no scope", {}, {}, true],
    ["listed type", { eventTypes: ["contact.updated", "message.received"] }, {}, true],
    ["unlisted type", { eventTypes: ["contact.updated"] }, {}, false],
    ["object wildcard", { eventTypes: ["message.*"] }, {}, true],
    ["same location", { locationUid: "loc-1" }, {}, true],
    ["other location", { locationUid: "loc-2" }, {}, false],
    ["location set, event has none", { locationUid: "loc-1" }, { locationUid: null }, false],
    ["same organization", { organizationUid: "org-1" }, {}, true],
    ["other organization", { organizationUid: "org-2" }, {}, false],
    ["organization wins over a non-matching location", { organizationUid: "org-1", locationUid: "loc-9" }, {}, true],
    ["organization wins: its mismatch refuses a matching location", { organizationUid: "org-2", locationUid: "loc-1" }, {}, false],
    ["listed source", { sourceIds: ["podium", "other"] }, {}, true],
    ["unlisted source", { sourceIds: ["other"] }, {}, false],
    ["all three match", { eventTypes: ["message.*"], organizationUid: "org-1", sourceIds: ["podium"] }, {}, true],
    ["type matches, source does not", { eventTypes: ["message.*"], sourceIds: ["x"] }, {}, false],
  ])("%s", (_name, w, e, expected) => {
    expect(matches(webhook(w), { ...event, ...e })).toBe(expected);
  });
});

describe("routing and new deliveries", () => {
  it("owes an event to each matching webhook, a disabled one too; a routed delivery has a deterministic id", async () => {
    const hooks = [
      webhook({ uid: "a" }),
      webhook({ uid: "b", disabled: true }),
      webhook({ uid: "c", eventTypes: ["contact.*"] }),
    ];
    const e = { ...event, eventId: "evt_1", receivedAt: 2000, body: "{}", headers: {} };
    const { owed, filteredOut } = owedWebhooks(hooks, e);
    expect(filteredOut).toEqual([]);
    expect(owed.map((w) => w.uid)).toEqual(["a", "b"]);
    const made = (now: number) => Promise.all(owed.map((w) => newDelivery("routed", { id: "evt_1", receivedAt: 2000 }, w, now)));
    const out = await made(3000);
    expect(out.map((d) => [d.eventId, d.eventReceivedAt, d.webhookUid, d.createdAt])).toEqual([
      ["evt_1", 2000, "a", 3000],
      ["evt_1", 2000, "b", 3000],
    ]);
    expect(new Set(out.map((d) => d.id)).size).toBe(2);
    expect((await made(4000)).map((d) => d.id)).toEqual(out.map((d) => d.id));
  });

  it("gives a replayed delivery a new id each time", async () => {
    const w = webhook({ uid: "a" });
    const [x, y, routed] = await Promise.all([
      newDelivery("replay", { id: "evt_1", receivedAt: 0 }, w, 1),
      newDelivery("replay", { id: "evt_1", receivedAt: 0 }, w, 1),
      newDelivery("routed", { id: "evt_1", receivedAt: 0 }, w, 1),
    ]);
    expect(new Set([x.id, y.id, routed.id]).size).toBe(3);
  });

  it("starts a delivery id with its event's receipt time, routed or replayed, so an event's deliveries are one range of ids", async () => {
    const w = webhook({ uid: "a" });
    const ids = await Promise.all([
      newDelivery("routed", { id: "evt_2", receivedAt: 1_000 }, w, 9_000),
      newDelivery("routed", { id: "evt_1", receivedAt: 2_000 }, w, 1),
      newDelivery("replay", { id: "evt_1", receivedAt: 2_000 }, w, 9_000),
      newDelivery("replay", { id: "evt_1", receivedAt: 2_000 }, { uid: "b" }, 1),
      newDelivery("routed", { id: "evt_0", receivedAt: Date.UTC(2026, 10, 29) }, w, 1),
    ]).then((ds) => ds.map((d) => d.id));
    for (const id of ids) expect(id).toMatch(/^dlv_[0-9a-f]{32}$/);
    expect(ids.slice(0, 4).map((id) => id.slice(4, 16))).toEqual(["0000000003e8", "0000000007d0", "0000000007d0", "0000000007d0"]);
    // (Events received later: their deliveries' ids sort later.)
    expect([...ids].sort().at(-1)).toBe(ids[4]);
  });

  it("owes an event only to webhooks that existed when it was received", () => {
    const { owed } = owedWebhooks([webhook({ uid: "old", createdAt: 1000 }), webhook({ uid: "new", createdAt: 5000 })], {
      ...event,
      receivedAt: 2000,
      body: "{}",
      headers: {},
    });
    expect(owed.map((w) => w.uid)).toEqual(["old"]);
  });
});

describe("routing by content", () => {
  const sms = JSON.stringify({ metadata: { eventType: "message.received" }, data: { conversation: { channel: { type: "sms" } }, amount: 700 } });
  const email = JSON.stringify({ metadata: { eventType: "message.received" }, data: { conversation: { channel: { type: "email" } }, amount: 70 } });
  const at = (body: string, headers: Record<string, string> = {}) => ({ ...event, eventId: "evt_c", receivedAt: 2000, body, headers });

  it("owes an event to webhooks whose filter admits it, and names those whose filter excluded it", () => {
    const hooks = [
      webhook({ uid: "sms", filter: { body: { "data.conversation.channel.type": "sms" } } }),
      webhook({ uid: "big", filter: { body: { data: { amount: { $gt: 500 } } } } }),
      webhook({ uid: "plain" }),
      // Not owed by type: its filter is never consulted, and it is not "filtered out".
      webhook({ uid: "contacts", eventTypes: ["contact.*"], filter: { body: { nope: true } } }),
    ];
    const uids = (ws: Webhook[]) => ws.map((w) => w.uid);
    const forSms = owedWebhooks(hooks, at(sms));
    expect([uids(forSms.owed), uids(forSms.filteredOut)]).toEqual([["sms", "big", "plain"], []]);
    const forEmail = owedWebhooks(hooks, at(email));
    expect([uids(forEmail.owed), uids(forEmail.filteredOut)]).toEqual([["plain"], ["sms", "big"]]);
  });

  it("matches headers case-insensitively, and a body that is not JSON as one string", () => {
    const hooks = [
      webhook({ uid: "push", filter: { headers: { "X-GitHub-Event": "push" } } }),
      webhook({ uid: "text", filter: { body: { $startsWith: "plain " } } }),
    ];
    expect(owedWebhooks(hooks, at("{}", { "x-github-event": "push" })).owed.map((w) => w.uid)).toEqual(["push"]);
    expect(owedWebhooks(hooks, at("plain text body")).owed.map((w) => w.uid)).toEqual(["text"]);
  });

  it("parses the body once per event, however many webhooks have filters", () => {
    const hooks = Array.from({ length: 20 }, (_, i) => webhook({ uid: `f${i}`, filter: { body: { data: { amount: { $gt: i * 50 } } } } }));
    const parse = vi.spyOn(JSON, "parse");
    try {
      const { owed } = owedWebhooks(hooks, at(sms));
      expect(owed).toHaveLength(14); // 700 > 0, 50, …, 650
      expect(parse).toHaveBeenCalledTimes(1);
      parse.mockClear();
      owedWebhooks([webhook({ uid: "none" })], at(sms));
      expect(parse).not.toHaveBeenCalled(); // no filter: the body is not parsed at all
    } finally {
      parse.mockRestore();
    }
  });

  it("fails closed on a stored filter that no longer validates: excluded, and recorded as such", () => {
    const { owed, filteredOut } = owedWebhooks([webhook({ uid: "bad", filter: { body: { a: { $ne: 1 } } } })], at(sms));
    expect(owed).toEqual([]);
    expect(filteredOut.map((w) => w.uid)).toEqual(["bad"]);
    // Said in the API's notation, as a save's 400 says it (the webhook test's check shows it).
    const e = at(sms);
    expect(plannedFilterMismatch(replayPlan([], []), webhook({ uid: "bad", filter: { body: { "data.kind": { $ne: 1 } } } }), e, new FilterInput(e))).toBe(
      'the stored filter is invalid: filter.body["data.kind"].$ne: unknown operator $ne (did you mean $neq?)',
    );
  });

  it("routes by a stored filter a newer rule refuses as it did before that rule (the API refuses it given): {\"$and\": [{}, …]}, {\"$or\": [{}]}", () => {
    const and: Json = { $and: [{}, { body: { "data.amount": { $gt: 500 } } }] };
    const or = { $or: [{}] };
    const hooks = [webhook({ uid: "and", filter: and }), webhook({ uid: "or", filter: or })];
    expect(owedWebhooks(hooks, at(sms))).toMatchObject({ owed: [{ uid: "and" }, { uid: "or" }], filteredOut: [] });
    const { owed, filteredOut } = owedWebhooks(hooks, at(email));
    expect(owed.map((w) => w.uid)).toEqual(["or"]);
    expect(filteredOut.map((w) => w.uid)).toEqual(["and"]);
    const e = at(email);
    expect(plannedFilterMismatch(replayPlan([], []), webhook({ uid: "and", filter: and }), e, new FilterInput(e))).not.toMatch(/invalid/);
    // Given (a save, a search), each is refused: the empty filter says nothing there.
    expect(validateFilter(and)).toEqual({ ok: false, issues: [{ path: "$.$and[0]", message: expect.stringMatching(/an empty filter matches every event/) }] });
    expect(validateFilter(or)).toEqual({ ok: false, issues: [{ path: "$.$or[0]", message: expect.stringMatching(/an empty filter matches every event/) }] });
  });
});

describe("one $regex budget per event, shared by every webhook it is tested against", () => {
  // A pattern that keeps many threads alive (a long repetition), matching only the last string of
  // the event: a filter tests every string, and one pass costs over half the budget and within it.
  const costly = { body: { "data.items": { $regex: "b{200}" } } };
  const weight = filterRegexWeight(webhook({ filter: costly }));
  const length = 1000;
  const strings = Math.floor((0.75 * FILTER_LIMITS.regexWork) / (weight * length));
  const items = [...Array.from({ length: strings - 1 }, () => "a".repeat(length)), "b".repeat(length)];
  const onePass = strings * length * weight;
  const e = {
    ...event,
    eventId: "evt_budget",
    receivedAt: 10_000,
    body: JSON.stringify({ data: { items } }),
    headers: {},
  };

  /** The $regex work actually done while `run` runs: characters matched (by the matcher, never `test`'s DFA) × the pattern's weight. */
  function workOf<T>(run: () => T): { result: T; work: number } {
    let work = 0;
    const real = RE2JS.prototype.matcher;
    const spy = vi.spyOn(RE2JS.prototype, "matcher").mockImplementation(function (this: RE2JS, input) {
      work += (typeof input === "string" ? input.length : 0) * programWeight(this);
      return real.call(this, input);
    });
    try {
      return { result: run(), work };
    } finally {
      spy.mockRestore();
    }
  }

  it("costs one budget an event however many webhooks have costly filters (work counted, not timed)", () => {
    expect(onePass).toBeGreaterThan(FILTER_LIMITS.regexWork / 2);
    expect(onePass).toBeLessThanOrEqual(FILTER_LIMITS.regexWork);
    const hooks = Array.from({ length: 8 }, (_, i) => webhook({ uid: `t${i}`, organizationUid: "org-1", createdAt: 1000 + i, filter: costly }));
    // Alone, each filter tests the whole event and matches it.
    const alone = workOf(() => owedWebhooks([hooks[0]!], e));
    expect(alone.result.owed.map((w) => w.uid)).toEqual(["t0"]);
    expect(alone.work).toBe(onePass);
    // Together, they spend one budget: the first matches, the others find it spent.
    const together = workOf(() => owedWebhooks(hooks, e));
    expect(together.work).toBeLessThanOrEqual(FILTER_LIMITS.regexWork);
    expect(together.result.owed.map((w) => w.uid)).toEqual(["t0"]);
    expect(together.result.filteredOut.map((w) => w.uid)).toEqual(["t1", "t2", "t3", "t4", "t5", "t6", "t7"]);
  });

  it("tests the catch-alls first, then by creation: an organization's costly webhooks made before a catch-all never starve it", () => {
    const hooks = [
      webhook({ uid: "org-a", organizationUid: "org-1", createdAt: 1000, filter: costly }),
      webhook({ uid: "loc-a", locationUid: "loc-1", grantOrganizationUid: "org-1", createdAt: 1500, filter: costly }),
      webhook({ uid: "catch-all", createdAt: 5000, filter: costly }),
      webhook({ uid: "plain", organizationUid: "org-1", createdAt: 6000 }),
    ];
    const { owed, filteredOut } = owedWebhooks(hooks, e);
    expect(owed.map((w) => w.uid)).toEqual(["catch-all", "plain"]);
    expect(filteredOut.map((w) => w.uid)).toEqual(["org-a", "loc-a"]);
    expect(routingOrder(hooks).map((w) => w.uid)).toEqual(["catch-all", "org-a", "loc-a", "plain"]);
    // The order is the same whatever order the webhooks are read in: by creation, then uid.
    const twins = [webhook({ uid: "z", organizationUid: "org-1", filter: costly }), webhook({ uid: "y", organizationUid: "org-1", filter: costly })];
    expect(owedWebhooks(twins, e).owed.map((w) => w.uid)).toEqual(["y"]);
    expect(owedWebhooks([...twins].reverse(), e).owed.map((w) => w.uid)).toEqual(["y"]);
  });

  it("an event of another organization is not tested by them: its budget is its own", () => {
    const hooks = [
      webhook({ uid: "org-a", organizationUid: "org-1", createdAt: 1000, filter: costly }),
      webhook({ uid: "org-b", organizationUid: "org-2", createdAt: 2000, filter: costly }),
    ];
    const { result, work } = workOf(() => owedWebhooks(hooks, { ...e, organizationUid: "org-2", locationUid: "loc-2" }));
    expect(result.owed.map((w) => w.uid)).toEqual(["org-b"]);
    expect(work).toBe(onePass);
  });

  it("a replay owes a target what routing owed it, the webhooks tested before it spending the budget as at ingest", () => {
    const hooks = [
      webhook({ uid: "org-a", organizationUid: "org-1", createdAt: 1000, filter: costly }),
      webhook({ uid: "org-plain", organizationUid: "org-1", createdAt: 2000, filter: { body: { "data.items": { $exist: true } } } }),
      webhook({ uid: "loc-a", locationUid: "loc-1", grantOrganizationUid: "org-1", createdAt: 3000, filter: costly }),
      webhook({ uid: "catch-all", createdAt: 5000, filter: costly }),
      webhook({ uid: "org-b", organizationUid: "org-2", createdAt: 500, filter: costly }),
    ];
    const ingest = owedWebhooks(hooks, e).owed.map((w) => w.uid).sort();
    expect(ingest).toEqual(["catch-all", "org-plain"]);
    const replayed = { ...e, id: e.eventId, content: e };
    const replay = (targets: Webhook[]) => replayTargets(replayPlan(hooks, targets), replayed).map((w) => w.uid).sort();
    // Every webhook (the admin's replay), the organization's within its grant, one named: as at ingest.
    expect(replay(hooks)).toEqual(ingest);
    const organization = hooks.filter((w) => w.organizationUid === "org-1" || w.grantOrganizationUid === "org-1");
    expect(replay(organization)).toEqual(["org-plain"]);
    expect(replay([hooks[0]!])).toEqual([]);
    expect(replay([hooks[2]!])).toEqual([]);
    // The plan leaves out what cannot change a target's answer: another organization's webhook, those after the last target.
    expect(replayPlan(hooks, [hooks[0]!]).tested.map((w) => w.uid)).toEqual(["catch-all", "org-a"]);
    // Ingest and replay test the same filters: at most one budget of work an event.
    expect(workOf(() => replay(hooks)).work).toBeLessThanOrEqual(FILTER_LIMITS.regexWork);
  });
});

describe("one budget per event for every condition, not only $regex, shared by every webhook it is tested against", () => {
  const zeros = (n: number) => Array.from({ length: n }, () => 0);
  // Bodies near the 256 KiB ingest bound, each with a filter within the filter bounds that, before
  // the budget, cost each webhook seconds (`$in` of 4,000 values over 130,000 elements: 4.7 s) or more
  // than 100 ms: work that grew with the number of webhooks.
  const numbers = JSON.stringify({ a: Array.from({ length: 130_000 }, () => 1) });
  const objects = JSON.stringify({ a: Array.from({ length: 32_000 }, () => ({ y: 1 })) });
  const strings = JSON.stringify({ a: Array.from({ length: 64 }, () => "a".repeat(4000)) });
  const cases: [string, Json, string][] = [
    ["$in of 4,000 numbers over an array", { a: { $in: zeros(4000) } }, numbers],
    ["$in of objects, compared deeply with each element", { a: { $in: Array.from({ length: 1000 }, () => ({ x: 1 })) } }, objects],
    ["an array pattern: every pattern against every element", { a: zeros(120).map((_, i) => ({ $eq: i + 2 })) }, numbers],
    ["fields of the objects of an array", { $or: zeros(60).map((_, i) => ({ [`a.x${i}`]: 1 })) }, objects],
    ["$not and $or around fields over an array", { $not: { $or: zeros(60).map((_, i) => ({ [`a.x${i}`]: { $exist: true } })) } }, objects],
    ["$contains over every string of an array", { $or: zeros(60).map(() => ({ a: { $contains: `${"a".repeat(50)}b` } })) }, strings],
  ];

  /**
   * What filters read of the event while `run` runs: the parsed body is wrapped so that each read
   * of a value (a property, an element, a key listing, an own-property check) counts one and each
   * string read counts its characters. Past `cap` reads it throws (a filter then does not match), so
   * that unbounded work stops a test quickly instead of running for minutes.
   */
  function readsOf<T>(run: () => T, cap: number): { result: T; reads: number; chars: number } {
    let reads = 0;
    let chars = 0;
    const proxies = new WeakMap<object, object>();
    const wrap = (v: unknown): unknown => {
      if (typeof v === "string") chars += v.length;
      if (v === null || typeof v !== "object") return v;
      let p = proxies.get(v);
      if (p === undefined) {
        const count = () => {
          if (++reads > cap) throw new Error("over the cap");
        };
        p = new Proxy(v, {
          get: (t, k, r) => (count(), wrap(Reflect.get(t, k, r))),
          ownKeys: (t) => (count(), Reflect.ownKeys(t)),
          getOwnPropertyDescriptor: (t, k) => (count(), Reflect.getOwnPropertyDescriptor(t, k)),
          has: (t, k) => (count(), Reflect.has(t, k)),
        });
        proxies.set(v, p);
      }
      return p;
    };
    const real = JSON.parse;
    const spy = vi.spyOn(JSON, "parse").mockImplementation((text: string) => wrap(real(text)));
    try {
      return { result: run(), reads, chars };
    } finally {
      spy.mockRestore();
    }
  }

  const at = (body: string) => ({ ...event, receivedAt: 10_000, body, headers: {} });
  // What one budget reads at most (FILTER_LIMITS.work, 2 Mi units: an element walked is read once,
  // with the array's length, a key checked twice; 8 characters a unit), fixed so the cap holds whatever the code.
  const READS = 8 * 1024 * 1024;
  const CHARS = 32 * 1024 * 1024;

  it.each(cases)("%s: one budget of reads an event, however many webhooks (work counted, not timed)", (_, filter, body) => {
    const hooks = Array.from({ length: 200 }, (_, i) => webhook({ uid: `c${i}`, organizationUid: "org-1", createdAt: 1000 + i, filter: { body: filter } }));
    const { result, reads, chars } = readsOf(() => owedWebhooks(hooks, at(body)), READS);
    expect(reads).toBeLessThanOrEqual(READS);
    expect(chars).toBeLessThanOrEqual(CHARS);
    // Every webhook was tested and answered (the costly filters match nothing here but what $not negates).
    expect(result.owed.length + result.filteredOut.length).toBe(200);
    expect(4 * FILTER_LIMITS.work).toBeLessThanOrEqual(READS);
    expect(2 * FILTER_LIMITS.charsPerWork * FILTER_LIMITS.work).toBeLessThanOrEqual(CHARS);
  });

  it("typical filters still match a 256 KiB event, however many webhooks test it", () => {
    const items = Array.from({ length: 2500 }, (_, i) => ({ id: `item_${i}`, name: "a line of an invoice", amount: i }));
    const big = JSON.stringify({ type: "invoice.paid", data: { amount: 70_000, currency: "usd", customer: { email: "someone@example.com" }, items, note: "x".repeat(60_000) } });
    expect(big.length).toBeGreaterThan(200 * 1024);
    const typical: Json[] = [
      { body: { type: "invoice.paid", "data.amount": { $gt: 50_000 } } },
      { body: { type: { $in: ["invoice.paid", "invoice.created"] }, "data.currency": { $neq: "eur" } } },
      { body: { "data.customer.email": { $endsWith: "@example.com" }, "data.items.id": "item_2499" } },
      { body: { "data.note": { $contains: "xxx" }, "data.items": { name: { $startsWith: "a line" } } } },
    ];
    // About 5,000 units a webhook on average (walking 2,500 items, searching 60,000 characters): a quarter of the budget.
    const hooks = Array.from({ length: 100 }, (_, i) => webhook({ uid: `t${i}`, organizationUid: "org-1", createdAt: 1000 + i, filter: typical[i % typical.length]! }));
    const { owed, filteredOut } = owedWebhooks(hooks, at(big));
    expect(filteredOut).toEqual([]);
    expect(owed).toHaveLength(100);
  });

  it("a replay and the test of a webhook owe what routing owed, the costly filters tested before it spending the budget first", () => {
    // Each value but the last walks the 130,000 elements: alone, over half the budget and within it.
    const costly = { body: { a: { $in: [...zeros(5), 1] } } };
    const hooks = [
      webhook({ uid: "org-a", organizationUid: "org-1", createdAt: 1000, filter: costly }),
      webhook({ uid: "org-b", organizationUid: "org-1", createdAt: 2000, filter: costly }),
      webhook({ uid: "plain", organizationUid: "org-1", createdAt: 3000 }),
      webhook({ uid: "other-org", organizationUid: "org-2", createdAt: 500, filter: costly }),
    ];
    const e = at(numbers);
    // Alone, the filter matches the event (the 1s are at the end of the $in): the budget excluded org-b.
    expect(owedWebhooks([hooks[1]!], e).owed.map((w) => w.uid)).toEqual(["org-b"]);
    const ingest = owedWebhooks(hooks, e);
    expect(ingest.owed.map((w) => w.uid)).toEqual(["org-a", "plain"]);
    expect(ingest.filteredOut.map((w) => w.uid)).toEqual(["org-b"]);
    const replayed = { ...e, id: "evt", eventId: "evt", content: e };
    // Those without a $regex spend the budget too, so the plan tests them before the target.
    const plan = replayPlan(hooks, [hooks[1]!]);
    expect(plan.tested.map((w) => w.uid)).toEqual(["org-a", "org-b"]);
    expect(replayTargets(plan, replayed)).toEqual([]);
    expect(replayTargets(replayPlan(hooks, hooks), replayed).map((w) => w.uid).sort()).toEqual(["org-a", "plain"]);
    expect(plannedFilterMismatch(plan, hooks[1]!, e, new FilterInput(e))).toBe(BUDGET_SPENT);
    expect(plannedFilterMismatch(replayPlan(hooks, [hooks[0]!]), hooks[0]!, e, new FilterInput(e))).toBeNull();
  });

  it("an evaluation spends the same on a parsed event however often it was evaluated before (an object's keys paid for once per budget, not once ever)", () => {
    // A wide object whose keys cost 20,000 units to count, and an array that a costly $in walks: with both the filter
    // exceeds the budget before its last alternative, which alone would match.
    const d = Object.fromEntries(zeros(20_000).map((_, i) => [`k${i}`, 0]));
    const e = at(JSON.stringify({ d, ok: true, arr: zeros(10_000) }));
    const filter: Json = { $or: [{ "body.d": { $eq: { a: 1 } } }, { "body.arr": { $in: zeros(104).map((_, i) => i + 1) } }, { "body.ok": true }] };
    const hook = webhook({ uid: "wide", createdAt: 1000, filter });
    const input = new FilterInput(e);
    // Routing excludes it, and so does each later evaluation of the same parsed event: the test's, a replay's, its explanation.
    expect(owedWebhooks([hook], e).filteredOut.map((w) => w.uid)).toEqual(["wide"]);
    const plan = replayPlan([hook], [hook]);
    // Said as the budget, not as the last alternative failing: it failed only because the budget was spent.
    expect(plannedFilterMismatch(plan, hook, e, input)).toBe(WORK_SPENT);
    expect(plannedFilterMismatch(plan, hook, e, input)).toBe(WORK_SPENT);
  });

  it("the test of a webhook agrees with routing when the budget spent before it makes its $not match (a $not around a condition cut short)", () => {
    // An array of 100,000 elements that holds 1 only at the end: `$nin: [1]` walks it all to exclude the event.
    const e = at(JSON.stringify({ arr: [...zeros(100_000), 1] }));
    // Tested first: about 2 Mi - 100,000 units (ten values, each walking the array), leaving too little for the walk.
    const costly = webhook({ uid: "costly", createdAt: 1000, filter: { body: { arr: { $in: zeros(10).map((_, i) => i + 2) } } } });
    const tested = webhook({ uid: "tested", createdAt: 2000, filter: { body: { arr: { $nin: [1] } } } });
    // Alone its filter excludes the event; after the costly one, its $in is cut short and the $not around it matches.
    expect(owedWebhooks([tested], e).filteredOut.map((w) => w.uid)).toEqual(["tested"]);
    const ingest = owedWebhooks([costly, tested], e);
    expect(ingest.owed.map((w) => w.uid)).toEqual(["tested"]);
    const plan = replayPlan([costly, tested], [tested]);
    expect(replayTargets(plan, { ...e, id: "evt", content: e }).map((w) => w.uid)).toEqual(["tested"]);
    // So the test says it is owed, as routing and a replay do.
    expect(plannedFilterMismatch(plan, tested, e, new FilterInput(e))).toBeNull();
  });

  it("explains an exclusion by the condition that fails, not one that matches but that the explanation could not afford to test again", () => {
    // The array's walk matches (1 is last among the values sought) at about 1.2 Mi units; `ok` is what excludes the event.
    const e = at(JSON.stringify({ arr: [...zeros(100_000), 1], ok: false }));
    const hook = webhook({ uid: "two", createdAt: 1000, filter: { body: { arr: { $in: [2, 3, 4, 5, 6, 1] }, ok: true } } });
    expect(owedWebhooks([hook], e).filteredOut.map((w) => w.uid)).toEqual(["two"]);
    expect(plannedFilterMismatch(replayPlan([hook], [hook]), hook, e, new FilterInput(e))).toBe("body.ok is false, not true");
  });
});

describe("compiled filters across batches", () => {
  const compiled = (source: string) => {
    const r = validateFilter({ body: { s: { $regex: source } } }, { given: false });
    if (!r.ok) throw new Error("the filter is valid");
    return r.filter;
  };

  it("compiles a stored filter once for every batch that reads it (a fresh row object each time), and routes as before", () => {
    // Over the program bound (FILTER_LIMITS.regexProgram): stored by an older version.
    const filter = { body: { s: { $regex: "(?:p{1000}|q{1000})|^cached-once$" } } };
    const e = { ...event, eventId: "evt_cache", receivedAt: 10_000, body: JSON.stringify({ s: "cached-once" }), headers: {} };
    forgetCompiledFilters();
    const compiling = vi.spyOn(RE2JS, "compile");
    try {
      for (let batch = 0; batch < 3; batch++) {
        // As allWebhooks gives it: the row parsed again, the filter a new object of the same text.
        const hook = webhook({ uid: "cached", createdAt: 1000, filter: JSON.parse(JSON.stringify(filter)) });
        expect(owedWebhooks([hook], e).owed.map((w) => w.uid)).toEqual(["cached"]);
      }
      expect(compiling).toHaveBeenCalledTimes(1);
    } finally {
      compiling.mockRestore();
    }
  });

  it("compiles each of many distinct filters once across batches, more than the old cache's 256 entries (visited in one order each batch)", () => {
    const hooks = () =>
      Array.from({ length: 300 }, (_, i) =>
        webhook({ uid: `many${String(i).padStart(3, "0")}`, createdAt: 1000 + i, filter: { body: { s: { $regex: `^many-${i}$` } } } }),
      );
    const e = { ...event, eventId: "evt_many", receivedAt: 10_000, body: JSON.stringify({ s: "many-7" }), headers: {} };
    // Other files' filters (heavy ones among them) stay held for ten minutes, and could leave no room.
    forgetCompiledFilters();
    const compiling = vi.spyOn(RE2JS, "compile");
    try {
      for (let batch = 0; batch < 3; batch++) expect(owedWebhooks(hooks(), e).owed.map((w) => w.uid)).toEqual(["many007"]);
      // The old LRU of 256 missed every lookup of this cycle: 900 compiles.
      expect(compiling).toHaveBeenCalledTimes(300);
    } finally {
      compiling.mockRestore();
    }
  });

  it("keeps what it holds while it is used: past a bound a new filter is compiled without being kept, and takes only a stale one's room", () => {
    let now = 0;
    const cache = new FilterCache({ entries: 2, instructions: 300, chars: 1000, staleMs: 60_000 }, () => now);
    let compiles = 0;
    const get = (source: string) => cache.get(source, () => (compiles++, compiled(source)));
    get("a{100}");
    get("b{100}");
    expect([compiles, cache.usage]).toEqual([2, { entries: 2, instructions: 204, unkept: 0 }]);
    // A cycle of three over two entries: a and b stay, c is compiled each time (no thrash).
    for (let round = 0; round < 3; round++) ["a{100}", "b{100}", "c{10}"].forEach(get);
    expect([compiles, cache.usage]).toEqual([5, { entries: 2, instructions: 204, unkept: 3 }]);
    // a goes unused for a minute: stale, its room is c's.
    now = 30_000;
    get("b{100}");
    now = 60_000;
    get("c{10}");
    expect([compiles, cache.usage]).toEqual([6, { entries: 2, instructions: 114, unkept: 3 }]);
    // Heavier than the bound alone: compiled, never kept, nothing evicted for it.
    get("e{400}");
    get("e{400}");
    expect([compiles, cache.usage]).toEqual([8, { entries: 2, instructions: 114, unkept: 5 }]);
    // Why a stored filter no longer validates is held as well, weighing nothing (once b and c are stale).
    now = 200_000;
    expect(cache.get("not json", () => "the stored filter is invalid")).toBe("the stored filter is invalid");
    expect(cache.usage).toEqual({ entries: 2, instructions: 12, unkept: 5 });
  });
});
