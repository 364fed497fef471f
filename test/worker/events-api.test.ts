import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getEvent, listEvents, storeEvents, type EventRow } from "../../src/store/events";
import { retentionStep } from "../../src/store/retention";
import { newDelivery } from "../../src/domain/delivery";
import { insertDeliveries } from "../../src/store/deliveries";
import { ADMIN, ADMIN_TOKEN, call, ingestMessage, meteredApiCall, podiumBody, type ApiAnswer, type Answered } from "./helpers";
import { pipeline } from "./pipeline";
import { meteredD1 } from "../../bench/d1-meter";
import { eventIdFor } from "../../src/domain/ids";
import { EVENT_RANGE_DELIVERIES, eventDeliveries, listDeliveries } from "../../src/store/delivery-reads";
import { EVENT_DELIVERIES_SHOWN } from "../../src/api/schemas/events";
import { as, makeToken } from "./tokens";

function row(i: number, tag: string): EventRow {
  return {
    eventId: `evt_${tag}_${i}`,
    sourceId: "podium",
    dedupeKey: `${tag}-${i}`,
    eventType: "message.received",
    locationUid: "loc-1",
    organizationUid: "org-1",
    receivedAt: Date.UTC(2026, 10, 1, 0, 0, i),
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ i }),
  };
}

async function get<P extends string>(path: P, headers: Record<string, string> = ADMIN): Promise<Answered<"GET", P>> {
  const res = await call(new Request(`https://edgehook.test${path}`, { headers }));
  return { status: res.status, json: await res.json() };
}

describe("GET /v1/events", () => {
  it("answers 401 unauthorized without the admin token, or with a wrong one", async () => {
    const attempts: Record<string, string>[] = [{}, { authorization: "Bearer nope" }, { authorization: ADMIN_TOKEN }];
    for (const headers of attempts) {
      const { status, json } = await get("/v1/events", headers);
      expect(status).toBe(401);
      expect(json.error.code).toBe("unauthorized");
    }
  });

  it("lists newest first and pages with an opaque cursor, skipping and repeating nothing while events arrive", async () => {
    const tag = crypto.randomUUID().slice(0, 8);
    await storeEvents(env.DB, [1, 2, 3, 4, 5].map((i) => row(i, tag)));
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const { status, json }: Answered<"GET", "/v1/events"> = await get(`/v1/events?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(status).toBe(200);
      expect(json.data.length).toBeLessThanOrEqual(2);
      seen.push(...json.data.map((e: { id: string }) => e.id));
      cursor = json.nextCursor;
      // New events arriving mid-walk must not shift the pages.
      if (pages++ === 0) await storeEvents(env.DB, [6, 7].map((i) => row(i, tag)));
    } while (cursor);
    const ours = seen.filter((id) => id.includes(tag));
    expect(ours).toEqual([5, 4, 3, 2, 1].map((i) => `evt_${tag}_${i}`));
    expect(new Set(seen).size).toBe(seen.length);
  });

  it("answers 400 invalid_request for a limit over 100 or a forged cursor", async () => {
    for (const q of ["limit=101", "limit=0", "limit=abc", "cursor=bm9wZQ"]) {
      const { status, json } = await get(`/v1/events?${q}`);
      expect(status).toBe(400);
      expect(json.error.code).toBe("invalid_request");
      expect(json.error.details.issues.length).toBeGreaterThan(0);
    }
  });

  it("answers a type whose data scope the token lacks with one empty page at once, not a walk of every stored event", async () => {
    const p = pipeline();
    const tag = crypto.randomUUID().slice(0, 8);
    await storeEvents(env.DB, [1, 2, 3].map((i) => ({ ...row(i, tag), eventType: "review.created" })));
    const { token } = await makeToken(p, ["events:read", "read_messages", "read_contacts", "read_payments"]);
    const meter = meteredD1(env.DB);
    const answer = await meteredApiCall(meter, "GET", `/v1/events?eventType=review.created&limit=100`, undefined, { authorization: `Bearer ${token}` });
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ data: [], nextCursor: null });
    expect(answer.rows).toBeLessThanOrEqual(2); // the token, read to authenticate it
    // In another case, a review still, it is refused as a typo (types match as written), walking nothing either.
    const other = await meteredApiCall(meter, "GET", `/v1/events?eventType=REVIEW.created&limit=100`, undefined, { authorization: `Bearer ${token}` });
    expect([other.status, other.json.error?.details.issues[0].closest]).toEqual([400, "review.created"]);
    expect(other.rows).toBeLessThanOrEqual(2);
    // With the scope, they are there.
    const { token: reader } = await makeToken(p, ["events:read", "read_reviews"]);
    const read = await as(p, reader, "GET", `/v1/events?eventType=review.created&limit=100`);
    expect(read.json.data.map((e: { id: string }) => e.id)).toEqual(expect.arrayContaining([1, 2, 3].map((i) => `evt_${tag}_${i}`)));
  });

  it("quotes a Podium type's typo whole only when it is shaped as a subscription's types are (a Shopify-like / too) and no longer than a typo may be, else its start", async () => {
    for (const [typo, quoted] of [
      ["message.recieved", "message.recieved"],
      ["message.recieved/x", "message.recieved/x"],
      ["message.re:cieved", "message.re:ciev…"],
      // Spelt as a type, but a sentence: longer than a typo of a Podium type may be.
      ["message.Your_session_expired--sign_in_at.evil.example/login", "message.Your_se…"],
    ]) {
      const { status, json } = await get(`/v1/events?eventType=${encodeURIComponent(typo!)}`);
      expect(status, typo).toBe(400);
      expect(json.error.details.issues[0].message, typo).toBe(`"${quoted}" is not a Podium event type; did you mean "message.received"?`);
    }
  });
});

describe("GET /v1/events/{id}", () => {
  it("answers the event with its raw body and ISO times", async () => {
    const tag = crypto.randomUUID().slice(0, 8);
    await storeEvents(env.DB, [row(1, tag)]);
    const { status, json } = await get(`/v1/events/evt_${tag}_1`);
    expect(status).toBe(200);
    expect(json).toEqual({
      id: `evt_${tag}_1`,
      sourceId: "podium",
      eventType: "message.received",
      locationUid: "loc-1",
      organizationUid: "org-1",
      dedupeKey: `${tag}-1`,
      receivedAt: "2026-11-01T00:00:01.000Z",
      headers: { "content-type": "application/json" },
      body: '{"i":1}',
      deliveries: [],
      deliveriesNextCursor: null,
      filteredOut: [],
    });
  });

  it("answers 404 not_found for an unknown id", async () => {
    const { status, json } = await get("/v1/events/evt_nope");
    expect(status).toBe(404);
    expect(json.error.code).toBe("not_found");
  });
});

describe("bodies are purged with their events", () => {
  it("drops a batch's contents row once its last event goes, and stores none for a batch redelivered whole", async () => {
    const old = Date.now() - 30 * 86_400_000;
    const row = (i: number): EventRow => ({
      eventId: `evt_purge_${i}_${old}`,
      sourceId: "podium",
      dedupeKey: `purge-${i}-${old}`,
      eventType: "message.received",
      locationUid: null,
      organizationUid: null,
      receivedAt: old + i,
      headers: {},
      body: `{"i":${i}}`,
    });
    const groups = async () => (await env.DB.prepare("SELECT COUNT(*) AS n FROM contents").first<{ n: number }>())!.n;
    const before = await groups();
    await storeEvents(env.DB, [row(1), row(2)]);
    await storeEvents(env.DB, [row(2), row(3)]); // a redelivery: 2 is stored already, 3 is new
    await storeEvents(env.DB, [row(1), row(3)]); // a redelivery of events all stored
    await storeEvents(env.DB, [row(4)]);
    expect(await groups()).toBe(before + 3);
    expect((await getEvent(env.DB, row(3).eventId))?.body).toBe('{"i":3}');
    // Purge 1–3 first (4 stays), then 4: every group goes with its last event.
    // From just before these events: the file's other events (received on a fixed day) are not this test's to purge.
    const purge = async (cutoff: number) => {
      let from = { receivedAt: old - 1, seq: Number.MAX_SAFE_INTEGER };
      for (;;) {
        const step = await retentionStep(env.DB, { cutoff, graceCutoff: Date.now() + 1, from, limit: 10, now: Date.now() });
        if (!step.next) break;
        from = step.next;
      }
    };
    await purge(old + 4);
    expect(await groups()).toBe(before + 1);
    expect((await getEvent(env.DB, row(4).eventId))?.body).toBe('{"i":4}');
    await purge(old + 5);
    expect(await groups()).toBe(before);
  });
});

describe("an event's deliveries", () => {
  it("are found in their id range beside those of events received in the same millisecond, replays included; a delivery given another receipt time is not made", async () => {
    const p = pipeline();
    const hook = await p.webhookOn("ok");
    const at = Date.now();
    const message = (receivedAt: number) => ingestMessage({ organizationUid: hook.org, receivedAt, body: podiumBody({ organizationUid: hook.org }) });
    const [a, b, c] = [message(at), message(at), message(at + 1)];
    await p.runIngest([a, b, c]);
    for (let i = 0; i < 2; i++) expect((await p.api("POST", `/v1/events/${a.eventId}/replay`, {})).status).toBe(202);
    const counts = async () =>
      Promise.all([a, b, c].map(async (m) => [(await p.api("GET", `/v1/events/${m.eventId}`)).json.deliveries.length, (await p.api("GET", `/v1/deliveries?eventId=${m.eventId}`)).json.data.length]));
    expect(await counts()).toEqual([[3, 3], [1, 1], [1, 1]]);
    // Its id would start with a time its event was not received at: where no reader looks for it.
    expect(await insertDeliveries(env.DB, [await newDelivery("replay", { id: a.eventId, receivedAt: at + 1 }, hook.webhook, Date.now())])).toEqual([]);
    expect(await counts()).toEqual([[3, 3], [1, 1], [1, 1]]);
  });

  it(`are the event detail's first page of /v1/deliveries?eventId= (at most ${EVENT_DELIVERIES_SHOWN}, its cursor continuing the list), read within a bound however often the event is replayed`, async () => {
    const p = pipeline();
    const hook = await p.webhookOn("ok");
    const id = await p.ingest(hook.event());
    const seq = (await env.DB.prepare("SELECT seq FROM events WHERE id = unhex(substr(?, 5))").bind(id).first<number>("seq"))!;
    const meter = meteredD1(env.DB);
    // The probe (EVENT_RANGE_DELIVERIES + 1 index entries), the walk (~3 rows a delivery up to
    // that bound, past it 4,000 deliveries at most), the page and its attempts (~10 a delivery)
    // and the event (~15): whatever the number of replays. Reading them all read ~10 a delivery.
    const DETAIL_ROWS = EVENT_RANGE_DELIVERIES + 1 + 4_000 + 10 * EVENT_DELIVERIES_SHOWN + 100;
    let made = 1;
    // Ten replays at a time: each is its own request and delivery, in no order the checks rely on.
    const replayUpTo = async (n: number) => {
      while (made < n) {
        const k = Math.min(10, n - made);
        const statuses = await Promise.all(Array.from({ length: k }, async () => (await p.api("POST", `/v1/events/${id}/replay`, {})).status));
        expect(statuses).toEqual(Array(k).fill(202));
        made += k;
      }
    };
    const check = async () => {
      const all = (await env.DB.prepare("SELECT 'dlv_' || lower(hex(id)) AS id FROM deliveries WHERE event = ? ORDER BY seq DESC").bind(seq).all<{ id: string }>()).results.map((r) => r.id);
      expect(all).toHaveLength(made);
      const detail = await meteredApiCall(meter, "GET", `/v1/events/${id}`);
      expect(detail.status).toBe(200);
      expect(detail.rows, JSON.stringify(meter.usage.bySql)).toBeLessThanOrEqual(DETAIL_ROWS);
      const shown: { id: string; attemptCount: number; attempts: unknown[] }[] = detail.json.deliveries;
      const first = await p.api("GET", `/v1/deliveries?eventId=${id}&limit=${EVENT_DELIVERIES_SHOWN}`);
      // Exactly the list's first page, in its order (newest first), each with its attempts.
      expect(shown.map((d) => d.id)).toEqual(first.json.data.map((d: { id: string }) => d.id));
      for (const d of shown) expect(d.attempts).toHaveLength(d.attemptCount);
      const ids = shown.map((d) => d.id);
      let cursor: string | null = detail.json.deliveriesNextCursor;
      for (let calls = 0; cursor !== null; calls++) {
        expect(calls).toBeLessThan(100);
        const next: Answered<"GET", "/v1/deliveries"> & { rows: number } = await meteredApiCall(meter, "GET", `/v1/deliveries?eventId=${id}&limit=${EVENT_DELIVERIES_SHOWN}&cursor=${encodeURIComponent(cursor)}`);
        expect(next.status).toBe(200);
        expect(next.rows).toBeLessThanOrEqual(DETAIL_ROWS);
        ids.push(...next.json.data.map((d: { id: string }) => d.id));
        cursor = next.json.nextCursor;
      }
      // The detail and the pages after it: every delivery once, newest first.
      expect(ids).toEqual(all);
      return { shown, cursor: detail.json.deliveriesNextCursor };
    };

    // Delivered: the event's first deliveries have an attempt each.
    await replayUpTo(150);
    await p.deliver();
    const some = await check();
    expect(some.shown).toHaveLength(EVENT_DELIVERIES_SHOWN);
    expect(some.cursor).toEqual(expect.any(String));
    expect(some.shown.every((d) => d.attempts.length === 1)).toBe(true);
    // Past the bound of those read along the event's id range, all at once.
    await replayUpTo(EVENT_RANGE_DELIVERIES + 100);
    const many = await check();
    expect(many.shown.length).toBeGreaterThan(0);
    expect(many.cursor).toEqual(expect.any(String));
    // An event of one delivery: the detail holds it, and no cursor.
    const alone = await p.ingest(hook.event());
    const one = (await p.api("GET", `/v1/events/${alone}`)).json;
    expect(one.deliveries).toHaveLength(1);
    expect(one.deliveriesNextCursor).toBeNull();
  }, 120_000);

  it("shown to a limited token are those to webhooks within its grant, on the detail's page and every page its cursor leads to, within the id range and past it", async () => {
    const p = pipeline();
    const mine = await p.webhookOn("ok");
    const theirs = await p.webhookOn("ok"); // another organization's: outside the token's grant
    const id = await p.ingest(mine.event());
    const receivedAt = Date.parse((await p.api("GET", `/v1/events/${id}`)).json.receivedAt);
    const t = await makeToken(p, ["events:read", "read_messages"], { organizationUids: [mine.org] });
    // Replays to both, interleaved (made by the store: a replay through the API goes only where the event matches).
    const replay = async (n: number) => {
      for (let i = 0; i < n; i += 100) {
        const made = await Promise.all(
          Array.from({ length: Math.min(100, n - i) }, (_, j) => newDelivery("replay", { id, receivedAt }, j % 2 ? theirs.webhook : mine.webhook, Date.now())),
        );
        expect(await insertDeliveries(env.DB, made)).toHaveLength(made.length);
      }
    };
    const everyPage = async (token: string | null) => {
      const get = <P extends string>(path: P) => (token === null ? p.api("GET", path) : as(p, token, "GET", path));
      const detail = await get(`/v1/events/${id}`);
      expect(detail.status).toBe(200);
      const ids: string[] = detail.json.deliveries.map((d: { id: string }) => d.id);
      const hooks = new Set<string>(detail.json.deliveries.map((d: { webhookUid: string }) => d.webhookUid));
      for (let cursor: string | null = detail.json.deliveriesNextCursor, calls = 0; cursor !== null; calls++) {
        expect(calls).toBeLessThan(100);
        const next: Answered<"GET", "/v1/deliveries"> = await get(`/v1/deliveries?eventId=${id}&limit=100&cursor=${encodeURIComponent(cursor)}`);
        expect(next.status).toBe(200);
        ids.push(...next.json.data.map((d: { id: string }) => d.id));
        for (const d of next.json.data) hooks.add(d.webhookUid);
        cursor = next.json.nextCursor;
      }
      return { ids, hooks: [...hooks] };
    };
    const ofHook = async (uid: string) =>
      (await env.DB.prepare("SELECT 'dlv_' || lower(hex(d.id)) AS id FROM deliveries d JOIN names n ON n.id = d.webhook WHERE n.name = ? AND d.event = (SELECT seq FROM events WHERE id = unhex(substr(?, 5))) ORDER BY d.seq DESC").bind(uid, id).all<{ id: string }>()).results.map((r) => r.id);
    for (const total of [300, EVENT_RANGE_DELIVERIES + 100]) {
      await replay(total - (await ofHook(mine.webhook.uid)).length - (await ofHook(theirs.webhook.uid)).length);
      const limited = await everyPage(t.token);
      expect(limited.hooks).toEqual([mine.webhook.uid]);
      expect(limited.ids).toEqual(await ofHook(mine.webhook.uid));
      const admin = await everyPage(null);
      expect(admin.hooks.sort()).toEqual([mine.webhook.uid, theirs.webhook.uid].sort());
      expect(admin.ids).toHaveLength(total);
    }
  }, 120_000);

  it("read an event's own deliveries, not those of every event received in the same millisecond (a burst)", async () => {
    const p = pipeline();
    const hook = await p.webhookOn("ok");
    const at = Date.now();
    // Ids as the ingress makes them (evt_ and 32 hex digits: stored as bytes).
    const burst = await Promise.all(
      Array.from({ length: 60 }, async () => {
        const key = crypto.randomUUID();
        return ingestMessage({ eventId: await eventIdFor({ id: "podium", eventSalt: null }, { given: key }), dedupeKey: key, organizationUid: hook.org, receivedAt: at, body: podiumBody({ organizationUid: hook.org }) });
      }),
    );
    await p.runIngest(burst);
    const meter = meteredD1(env.DB);
    const one = burst[30]!.eventId;
    const read = async (f: (db: D1Database) => Promise<unknown>) => {
      meter.reset();
      const out = await f(meter.db);
      return { out, rows: meter.usage.rowsRead };
    };
    // Its delivery, its attempts and what they join (~20 rows, two statements); the burst's 60 deliveries would add 60 to each.
    const page = await read((db) => eventDeliveries(db, one, null, { limit: 100 }));
    expect((page.out as { deliveries: unknown[] }).deliveries).toHaveLength(1);
    expect(page.rows).toBeLessThan(30);
    const listed = await read((db) => listDeliveries(db, { eventId: one }, { limit: 50 }));
    expect((listed.out as { deliveries: unknown[] }).deliveries).toHaveLength(1);
    expect(listed.rows).toBeLessThan(30);
    // Events by status probe each event's own range: about the walk's rows, not 60 more per event.
    const pending = await read((db) => listEvents(db, { limit: 100, filter: { status: "pending", organizationUid: hook.org } }));
    expect((pending.out as { events: unknown[] }).events).toHaveLength(60);
    expect(pending.rows).toBeLessThan(60 * 15); // ~9 an event; the burst's range would be 60 a probe
  });
});
