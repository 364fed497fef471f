// D1 committing a transaction whose answer is lost, on the paths faults.test.ts does not take:
// the caller fails or retries, and each step must leave what it would have left once.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DAY_MS } from "../../src/domain/time";
import { EXPIRED_GRACE_MS } from "../../src/domain/delivery";
import { runMaintenance } from "../../src/maintenance/cron";
import { d1Double } from "./d1-double";
import { ingestMessage, podiumBody } from "./helpers";
import { pipeline, received } from "./pipeline";
import { deliveryRows } from "./rows";
import { kept, recounted } from "./recount";

const statuses = async (eventId: string) => (await deliveryRows(eventId)).map((r) => r.status);

/** The test D1 losing the answer of the first `n` batches that `matches` picks out, once committed. */
function losing(n: number, matches: (sql: string) => boolean) {
  let lost = 0;
  const { db } = d1Double({ loseAnswer: (stmts) => lost < n && stmts.some((s) => matches(s.sql)) && ++lost > 0 });
  return { db, lost: () => lost };
}

describe("a D1 commit whose answer is lost", () => {
  it("in the ingest consumer's batch and then each one-by-one store: the retry stores nothing twice, each event delivered and counted once", async () => {
    const setup = pipeline();
    const { key, event } = await setup.webhookOn("ok");
    const ids = [await setup.receive(event()), await setup.receive(event())];
    const messages = setup.queues.ingest.sent.splice(0);
    const fault = losing(3, (sql) => /INSERT INTO events/.test(sql));
    const p = pipeline({ DB: fault.db });
    const first = await p.runIngest(messages);
    expect(fault.lost()).toBe(3);
    expect(first.acked).toHaveLength(0);
    expect(first.retried).toHaveLength(2);
    const again = await p.runIngest(messages);
    expect(again.acked).toHaveLength(2);
    await p.deliver();
    for (const id of ids) expect(await statuses(id)).toEqual(["succeeded"]);
    expect(await received(key)).toHaveLength(2);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
  });

  it("in a retry by hand: retried again, the delivery is sent once more, its dead letter closed, the counts equal to a recount", async () => {
    const setup = pipeline();
    const { key, event } = await setup.webhookOn("fail", { maxAttempts: 1 });
    const eventId = await setup.ingest(event());
    await setup.deliver();
    expect(await statuses(eventId)).toEqual(["failed"]);
    const [delivery] = await deliveryRows(eventId);
    const fault = losing(1, (sql) => /UPDATE dead_letters SET replayed_at/.test(sql));
    const p = pipeline({ DB: fault.db });
    const lostRetry = await p.api("POST", `/v1/deliveries/${delivery!.id}/retry`);
    expect(fault.lost()).toBe(1);
    expect(lostRetry.status).toBe(500);
    const retried = await p.api("POST", `/v1/deliveries/${delivery!.id}/retry`);
    expect(retried.status).toBe(202);
    await p.deliver();
    expect(await received(key)).toHaveLength(2);
    expect(await statuses(eventId)).toEqual(["failed"]);
    const letters = (await p.api("GET", "/v1/dead-letters?limit=100")).json.data.filter((l: { eventId: string }) => l.eventId === eventId);
    expect(letters).toHaveLength(1);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
  });

  it("in the release of an enabled webhook's held deliveries: the enable is answered, and each goes out once", async () => {
    const setup = pipeline();
    const { key, webhook, event } = await setup.webhookOn("ok", { disabled: true });
    const ids = [await setup.ingest(event()), await setup.ingest(event()), await setup.ingest(event())];
    for (const id of ids) expect(await statuses(id)).toEqual(["held"]);
    // The enable's release (all three at once) commits and loses its answer: its scheduler finds nothing held.
    const fault = losing(1, (sql) => /next_attempt_at = min\(\?3, ifnull\(event_received_at, \?3\)\)/.test(sql));
    const p = pipeline({ DB: fault.db });
    const enabled = await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { disabled: false });
    expect(enabled.status).toBe(200);
    expect(fault.lost()).toBe(1);
    await p.deliver();
    for (const id of ids) expect(await statuses(id)).toEqual(["succeeded"]);
    expect(await received(key)).toHaveLength(3);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
  });

  it("in a retention chunk, expiring then purging: the next run goes on, nothing is expired or purged twice, the counts equal to a recount", async () => {
    const setup = pipeline({ RETENTION_DAYS: "2" });
    const { key, org, webhook } = await setup.webhookOn("ok");
    const base = Date.now();
    const messages = [0, 1].map((i) => ingestMessage({ organizationUid: org, receivedAt: base + i, body: podiumBody({ organizationUid: org }) }));
    expect((await setup.runIngest(messages)).acked).toHaveLength(2);
    const ids = messages.map((m) => m.eventId);
    for (const id of ids) expect(await statuses(id)).toEqual(["pending"]);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));

    // Two days and an hour later, the retention expires them: its chunk commits and its answer is lost.
    const fault = losing(1, (sql) => /retention_marks/.test(sql));
    const p = pipeline({ RETENTION_DAYS: "2", DB: fault.db });
    const now = base + 2 * DAY_MS + 60 * 60_000;
    const first = await runMaintenance(p.env, now);
    expect(fault.lost()).toBe(1);
    expect(first.failed).toContain("retention");
    for (const id of ids) expect(await statuses(id)).toEqual(["expired"]);
    await runMaintenance(p.env, now);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
    setup.woken.push(webhook.uid);
    await setup.deliver();
    expect(await received(key)).toHaveLength(0);

    const purging = losing(1, (sql) => /DELETE FROM events/.test(sql));
    const q = pipeline({ RETENTION_DAYS: "2", DB: purging.db });
    const later = now + EXPIRED_GRACE_MS + 60_000;
    const failed = await runMaintenance(q.env, later);
    expect(purging.lost()).toBe(1);
    expect(failed.failed).toContain("retention");
    await runMaintenance(q.env, later);
    for (const id of ids) expect((await q.api("GET", `/v1/events/${id}`)).status).toBe(404);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
  });
});
