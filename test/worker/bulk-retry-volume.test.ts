// What one bulk retry call reads, for each filter the API takes, against the deliveries
// it must pass over: those older than `since`, and those a token may not see.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { meteredD1 } from "../../bench/d1-meter";
import { BULK_RETRY_LIMIT } from "../../src/api/routes/deliveries";
import { ADMIN, meteredApiCall } from "./helpers";
import { pipeline } from "./pipeline";
import { failedDeliveries, failPending, setEventDeliveries, settledDeliveries, settlePending, webhookDeliveryRows } from "./rows";
import { makeToken } from "./tokens";

const meter = meteredD1(env.DB);
const DAY = 86_400_000;

/** Calls the bulk retry with the metered D1; answers what it said and the rows it read. */
const retry = (body: Record<string, unknown>, headers: Record<string, string> = ADMIN) => meteredApiCall(meter, "POST", "/v1/deliveries/retry", body, headers);

/** A webhook owed a page of failed deliveries and one more (the one ingested with BULK_RETRY_LIMIT made failed). */
async function aPageAndOneFailed() {
  const p = pipeline();
  const { webhook, event } = await p.webhookOn("ok");
  await failedDeliveries(await p.ingest(event("message.received")), webhook.uid, BULK_RETRY_LIMIT);
  return webhook;
}

describe("bulk retry at volume", () => {
  it("reads a page's worth a call for every filter, not the deliveries it passes over: no more with twice them stored", async () => {
    const p = pipeline();
    const { org, webhook, event } = await p.webhookOn("ok");
    const message = await p.ingest(event("message.received"));
    const contact = await p.ingest(event("contact.updated"));
    const now = Date.now();
    // Failed messages made two days ago: older than `since`, and hidden from a token without read_messages.
    const addOld = async (n: number) => {
      await failedDeliveries(message, webhook.uid, n);
      await setEventDeliveries(message, "created_at = ?1", now - 2 * DAY);
    };
    await addOld(1_499);
    await failedDeliveries(contact, webhook.uid, 3); // ...and 4 contacts made now (with the one ingested)
    const since = new Date(now - DAY).toISOString();
    const scopes = ["events:replay", "read_contacts", "read_payments", "read_reviews"] as const;
    const limited = (await makeToken(p, [...scopes], { organizationUids: [org] })).token;
    const unlimited = (await makeToken(p, [...scopes])).token;
    const calls: [string, Record<string, unknown>, string?][] = [
      ["status", { status: "failed" }],
      ["status, webhook", { status: "failed", webhookUid: webhook.uid }],
      ["status, since", { status: "failed", since }],
      ["status, webhook, since", { status: "failed", webhookUid: webhook.uid, since }],
      ["limited token", { status: "failed" }, limited],
      ["limited token, since", { status: "failed", since }, limited],
      ["limited token, webhook", { status: "failed", webhookUid: webhook.uid }, limited],
      ["token", { status: "failed" }, unlimited],
    ];
    const measure = async () => {
      const rows: Record<string, number> = {};
      for (const [name, body, token] of calls) {
        const r = await retry(body, token ? { authorization: `Bearer ${token}` } : ADMIN);
        expect(r.status, name).toBe(202);
        rows[name] = r.rows;
        await failPending(webhook.uid); // as it was
      }
      return rows;
    };
    const before = await measure();
    await addOld(1_500);
    const after = await measure();
    console.log("rows read per bulk retry call, 1,500 then 3,000 older hidden deliveries:", Object.fromEntries(calls.map(([name]) => [name, [before[name], after[name]]])));
    // A full page of failed ones reads ~18 rows a delivery it retries, most of them writing it
    // (another status, ~21: 3 more reading it from the row, which (webhook, seq) does not hold); passing over
    // deliveries that do not match reads a few each, at most a page of them.
    const webhooks = (await env.DB.prepare("SELECT COUNT(*) AS n FROM delivery_counts").first<number>("n"))!;
    const retryRows = 22 * BULK_RETRY_LIMIT + 10 * webhooks;
    for (const [name] of calls) {
      expect(after[name], name).toBeLessThanOrEqual(before[name]! * 1.1 + 20);
      expect(after[name], name).toBeLessThanOrEqual(retryRows);
    }

    // Paged through, each filter still retries exactly its matches: the 4 contacts, made now and seen by the token.
    const pageThrough = async (body: Record<string, unknown>, headers: Record<string, string>) => {
      let count = 0;
      let cursor: string | null = null;
      for (let calls = 1; calls <= 10; calls++) {
        const r = await retry({ ...body, ...(cursor ? { cursor } : {}) }, headers);
        expect(r.status).toBe(202);
        expect(r.rows).toBeLessThanOrEqual(retryRows);
        count += r.json.count;
        cursor = r.json.nextCursor;
        if (!cursor) return { count, calls };
      }
      throw new Error("more than 10 calls");
    };
    const statuses = async () => (await webhookDeliveryRows(webhook.uid)).map((r) => (r.event_id === contact ? `contact ${r.status}` : r.status));
    // (The ingested message, the ingested contact, 1,499 messages, 3 contacts, 1,500 messages.)
    const expected = ["failed", "contact pending", ...Array(1_499).fill("failed"), ...Array(3).fill("contact pending"), ...Array(1_500).fill("failed")];
    for (const [body, headers] of [
      [{ status: "failed", since }, ADMIN],
      [{ status: "failed", webhookUid: webhook.uid, since }, ADMIN],
      [{ status: "failed" }, { authorization: `Bearer ${limited}` }],
      [{ status: "failed", since }, { authorization: `Bearer ${unlimited}` }],
    ] as const) {
      const paged = await pageThrough(body, headers);
      expect(paged.count).toBe(4);
      expect(paged.calls).toBeGreaterThan(1); // 3,004 to pass over, a page's worth a call
      expect(await statuses()).toEqual(expected);
      await failPending(webhook.uid);
    }
  }, 120_000);

  it("finds a webhook's few failed deliveries behind thousands that succeeded: one call retries them, one page lists them", async () => {
    const p = pipeline();
    const { webhook, event } = await p.webhookOn("ok");
    const message = await p.ingest(event("message.received"));
    await settlePending(webhook.uid, "succeeded");
    await settledDeliveries(message, webhook.uid, 3_000, "succeeded");
    await failedDeliveries(message, webhook.uid, 5); // the newest, after 3,001 that succeeded
    const listed = await p.api("GET", `/v1/deliveries?status=failed&webhookUid=${webhook.uid}`);
    expect(listed.json.data.map((d: { status: string }) => d.status)).toEqual(Array(5).fill("failed"));
    expect(listed.json.nextCursor).toBeNull();
    const r = await retry({ status: "failed", webhookUid: webhook.uid });
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({ count: 5, nextCursor: null });
    expect(r.rows).toBeLessThanOrEqual(22 * 5 + 100);
  }, 60_000);

  it("continues with a cursor only the filter that gave it: another status, webhook or since answers 400", async () => {
    const webhook = await aPageAndOneFailed();
    const filter = { status: "failed", webhookUid: webhook.uid };
    const first = await retry(filter);
    expect(first.json).toMatchObject({ count: BULK_RETRY_LIMIT, nextCursor: expect.any(String) });
    const cursor = first.json.nextCursor;
    // Each would have passed over its own filter's deliveries before the cursor.
    for (const body of [
      { ...filter, status: "pending", cursor },
      { status: "failed", cursor },
      { ...filter, since: new Date(Date.now() - DAY).toISOString(), cursor },
    ]) {
      const r = await retry(body);
      expect(r.status).toBe(400);
      expect(r.json.error).toMatchObject({ code: "invalid_request", details: { issues: [{ path: "cursor" }] } });
    }
    expect((await retry({ ...filter, cursor })).json).toMatchObject({ count: 1, nextCursor: null });
  }, 60_000);

  it("takes its cursor back with the same filter however it is spelt: since with an offset, the fields in another order", async () => {
    const webhook = await aPageAndOneFailed();
    const since = new Date(Date.now() - DAY).toISOString();
    const first = await retry({ status: "failed", webhookUid: webhook.uid, since });
    expect(first.json).toMatchObject({ count: BULK_RETRY_LIMIT, nextCursor: expect.any(String) });
    // The same instant with an offset, to the microsecond (as Python's isoformat writes it), keys reordered.
    const again = { cursor: first.json.nextCursor, since: since.replace("Z", "000+00:00"), webhookUid: webhook.uid, status: "failed" };
    expect((await retry(again)).json).toMatchObject({ count: 1, nextCursor: null });
  }, 60_000);
});
