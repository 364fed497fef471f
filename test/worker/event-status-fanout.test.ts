// A status list (`GET /v1/events?status=…`) checks each event it examines against its deliveries:
// the more deliveries each event has, the fewer events a call examines (store/scan.ts,
// rowsBoundedScan), so that a call reads under the bound as each event is owed to more webhooks.
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { meteredD1 } from "../../bench/d1-meter";
import { eventIdFor } from "../../src/domain/ids";
import { ADMIN, ingestMessage, pagedList, podiumBody } from "./helpers";
import { pipeline, uniqueKey } from "./pipeline";
import { makeToken } from "./tokens";

/** The most D1 rows any operator read may read. */
const MAX_ROWS = 10_000;

it("examine fewer events a call as each has more deliveries: five webhooks owed every event, each call under the bound, paged to the one match", async () => {
  const p = pipeline();
  const key = uniqueKey();
  const org = `org-${key}`;
  // The oldest event is held for a disabled webhook: the one match, behind every other event.
  await p.createWebhook({ url: `https://example.com/${key}/held`, eventTypes: ["message.sent"], organizationUid: org, disabled: true });
  const sent = { ...ingestMessage({ eventType: "message.sent", organizationUid: org, body: podiumBody({ organizationUid: org }) }), eventId: await eventIdFor("podium", `${key}-sent`), dedupeKey: `${key}-sent` };
  await p.runIngest([sent]);
  for (let i = 0; i < 5; i++) await p.createWebhook({ url: `https://example.com/${key}/${i}`, eventTypes: ["message.received"] });
  // Ids as the ingress makes them (a hash: each event's deliveries a narrow range of their own).
  const message = async (i: number) => ({
    ...ingestMessage({ organizationUid: org, body: podiumBody({ organizationUid: org }) }),
    eventId: await eventIdFor("podium", `${key}-${i}`),
    dedupeKey: `${key}-${i}`,
  });
  for (let b = 0; b < 20; b++) await p.runIngest(await Promise.all(Array.from({ length: 100 }, (_, i) => message(b * 100 + i))));
  const orgToken = (await makeToken(p, ["events:read", "read_messages"], { organizationUids: [org] })).token;

  // The admin's walk along the events, and a limited token's along the places rows.
  for (const headers of [ADMIN, { authorization: `Bearer ${orgToken}` }]) {
    const { data } = await pagedList<{ id: string }>(meteredD1(env.DB), "/v1/events?status=held&limit=50", { maxRows: MAX_ROWS, maxCalls: 20, headers });
    expect(data.map((e) => e.id)).toEqual([sent.eventId]);
  }
}, 120_000);

it("size each step by the costliest rate seen, at most half the rows left and twice what was examined: the newest events cheap (no deliveries), the older owed to five webhooks, each call under the bound", async () => {
  const p = pipeline();
  const key = uniqueKey();
  const org = `org-${key}`;
  for (let i = 0; i < 5; i++) await p.createWebhook({ url: `https://example.com/${key}/${i}`, eventTypes: ["message.received"], organizationUid: org });
  const message = async (i: number, eventType: string) => ({
    ...ingestMessage({ eventType, organizationUid: org, body: podiumBody({ organizationUid: org }) }),
    eventId: await eventIdFor("podium", `${key}-${i}`),
    dedupeKey: `${key}-${i}`,
  });
  // 1,800 events with five deliveries each, then 300 newer ones no webhook is owed: a first step
  // of those alone once priced the next 1,800 events at a few rows each (over 21,000 rows in one call here).
  for (let b = 0; b < 18; b++) await p.runIngest(await Promise.all(Array.from({ length: 100 }, (_, i) => message(b * 100 + i, "message.received"))));
  for (let b = 18; b < 21; b++) await p.runIngest(await Promise.all(Array.from({ length: 100 }, (_, i) => message(b * 100 + i, "message.sent"))));
  const orgToken = (await makeToken(p, ["events:read", "read_messages"], { organizationUids: [org] })).token;

  for (const headers of [ADMIN, { authorization: `Bearer ${orgToken}` }]) {
    await pagedList(meteredD1(env.DB), "/v1/events?status=held&limit=50", { maxRows: MAX_ROWS, maxCalls: 20, headers });
  }
}, 120_000);
