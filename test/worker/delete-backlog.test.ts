// A deleted webhook's backlog expires a chunk at a time: with the delete, then in the
// maintenance run, never all in one statement (D1 stops one after 30 s), the counts kept.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { runMaintenance } from "../../src/maintenance/cron";
import { expireDeletedOwed } from "../../src/pipeline/commands";
import { deletedWithOwed } from "../../src/store/deliveries";
import { deleteWebhook } from "../../src/store/webhooks";
import { webhookSetup } from "./pipeline";
import { kept, recounted } from "./recount";
import { webhookDeliveryRows } from "./rows";

describe("a webhook deleted while owed a backlog", () => {
  it("expires a chunk with the delete and the rest a chunk a run, oldest first, the counts equal to a recount", async () => {
    const { p, webhook, event } = await webhookSetup("ok", { disabled: true });
    for (let i = 0; i < 25; i++) await p.ingest(event());
    const owed = await webhookDeliveryRows(webhook.uid, "owed");
    expect(owed.map((d) => d.status)).toEqual(Array(25).fill("held"));
    const statuses = async () => new Map((await webhookDeliveryRows(webhook.uid)).map((d) => [d.id, d.status]));
    const expiredOf = async () => {
      const now = await statuses();
      return owed.map((d) => now.get(d.id) === "expired");
    };
    const oldestFirst = (n: number) => owed.map((_, i) => i < n);

    const now = Date.now();
    expect(await deleteWebhook(env.DB, webhook.uid, { now, chunk: 10 })).toBe("saved");
    expect(await expiredOf()).toEqual(oldestFirst(10));
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
    expect(await deletedWithOwed(env.DB, 10)).toEqual([{ uid: webhook.uid, owed: 15 }]);

    // One chunk a run at most here: ten more.
    expect(await expireDeletedOwed(p.env, now, { chunk: 10, chunks: 1 })).toBe(10);
    expect(await expiredOf()).toEqual(oldestFirst(20));
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));

    // The maintenance run's step takes the rest (its chunk is larger), and then has nothing to do.
    const report = await runMaintenance(p.env, now);
    expect(report.failed).toEqual([]);
    expect(await expiredOf()).toEqual(oldestFirst(25));
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
    expect(await deletedWithOwed(env.DB, 10)).toEqual([]);
    expect(await expireDeletedOwed(p.env, now, { chunk: 10, chunks: 5 })).toBe(0);
  });

  it("stops after the run's chunks, however many deleted webhooks are owed, and goes on at the next run", async () => {
    const a = await webhookSetup("ok", { disabled: true });
    const b = await a.p.webhookOn("ok", { disabled: true });
    for (let i = 0; i < 6; i++) {
      await a.p.ingest(a.event());
      await a.p.ingest(b.event());
    }
    const now = Date.now();
    await deleteWebhook(env.DB, a.webhook.uid, { now, chunk: 2 });
    await deleteWebhook(env.DB, b.webhook.uid, { now, chunk: 2 });
    const heldOf = async (uid: string) => (await webhookDeliveryRows(uid)).filter((d) => d.status === "held").length;
    expect([await heldOf(a.webhook.uid), await heldOf(b.webhook.uid)]).toEqual([4, 4]);

    // Three chunks of two: one webhook's four, then one chunk of the other's.
    expect(await expireDeletedOwed(a.p.env, now, { chunk: 2, chunks: 3 })).toBe(6);
    expect([await heldOf(a.webhook.uid), await heldOf(b.webhook.uid)].sort()).toEqual([0, 2]);
    expect(await expireDeletedOwed(a.p.env, now, { chunk: 2, chunks: 3 })).toBe(2);
    expect([await heldOf(a.webhook.uid), await heldOf(b.webhook.uid)]).toEqual([0, 0]);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
  });
});
