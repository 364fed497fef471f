import { describe, expect, it } from "vitest";
import type { Webhook } from "../../src/domain/types";
import { deliveryIdFor, matches, route, typeMatches } from "../../src/routing/match";

function webhook(over: Partial<Webhook> = {}): Webhook {
  return {
    uid: "wh-1",
    url: "https://downstream.test/ok/x",
    eventTypes: ["*"],
    locationUid: null,
    organizationUid: null,
    sourceIds: null,
    secret: "whsec_x",
    disabled: false,
    timeoutMs: 5000,
    maxAttempts: 15,
    createdAt: 1000,
    updatedAt: 1000,
    ...over,
  };
}

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

describe("route", () => {
  it("creates one delivery per owed webhook, held while disabled, with deterministic ids", async () => {
    const hooks = [
      webhook({ uid: "a" }),
      webhook({ uid: "b", disabled: true }),
      webhook({ uid: "c", eventTypes: ["contact.*"] }),
    ];
    const e = { ...event, eventId: "evt_1", receivedAt: 2000 };
    const out = await route(hooks, e, 3000);
    expect(out).toEqual([
      { id: await deliveryIdFor("evt_1", "a"), eventId: "evt_1", webhookUid: "a", status: "pending", createdAt: 3000 },
      { id: await deliveryIdFor("evt_1", "b"), eventId: "evt_1", webhookUid: "b", status: "held", createdAt: 3000 },
    ]);
    expect(await route(hooks, e, 4000)).toEqual(out.map((d) => ({ ...d, createdAt: 4000 })));
  });

  it("owes an event only to webhooks that existed when it was received", async () => {
    const out = await route([webhook({ uid: "old", createdAt: 1000 }), webhook({ uid: "new", createdAt: 5000 })], {
      ...event,
      eventId: "evt_2",
      receivedAt: 2000,
    });
    expect(out.map((d) => d.webhookUid)).toEqual(["old"]);
  });
});
