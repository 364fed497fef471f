// The Cron Trigger fires every minute whether the last run has ended or not (a run catching up
// after an outage can take longer): runs that overlap must leave what one run would.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { eventIdFor } from "../../src/domain/ids";
import { DAY_MS, HOUR_MS } from "../../src/domain/time";
import type { IngestMessage } from "../../src/domain/types";
import { runMaintenance } from "../../src/maintenance/cron";
import { podiumBody } from "./helpers";
import { pipeline, uniqueKey } from "./pipeline";
import { emptyCounterRows, kept, recounted } from "./recount";

describe("maintenance runs at once", () => {
  it("purge each event once, and keep the counters and /v1/stats equal to a recount", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const orgs = [0, 1, 2].map((i) => `org-${key}-${i}`);
    const locs = [0, 1, 2, 3].map((i) => `loc-${key}-${i}`);
    await p.createWebhook({ url: `https://downstream.test/ok/${key}`, eventTypes: ["*"], organizationUid: orgs[0] });
    const failing = await p.createWebhook({ url: `https://downstream.test/fail/${key}`, eventTypes: ["*"], maxAttempts: 2 });
    const base = Date.now();
    let made = 0;
    // Events past the retention, at its edge and recent, over several hours; some owed to a disabled webhook (held).
    for (let round = 0; round < 8; round++) {
      const msgs: IngestMessage[] = [];
      for (let i = 0; i < 40; i++) {
        const eventUid = `${key}-${made++}`;
        const age = [11 * DAY_MS, 10 * DAY_MS + (i % 3) * HOUR_MS, (i % 5) * HOUR_MS, (i % 7) * HOUR_MS][i % 4]! + round * 420_000 + i;
        msgs.push({
          v: 1,
          eventId: await eventIdFor({ id: "podium", eventSalt: null }, { given: eventUid }),
          sourceId: "podium",
          dedupeKey: eventUid,
          eventType: i % 2 ? "message.received" : "review.created",
          locationUid: locs[i % 4]!,
          organizationUid: orgs[i % 3]!,
          receivedAt: base - age,
          headers: { "content-type": "application/json" },
          body: podiumBody({ type: "message.received", eventUid }),
        });
      }
      await p.runIngest(msgs);
      await p.deliver();
      if (round === 3) await p.api("PATCH", `/v1/webhooks/${failing.uid}`, { disabled: true });
    }
    const events = () => env.DB.prepare("SELECT COUNT(*) AS n FROM events").first<number>("n");
    let purged = 0;
    // Now, then days later (hours folded into the totals and taken out, held deliveries expiring,
    // and past their grace).
    for (const at of [base, base + 2 * DAY_MS, base + 2 * DAY_MS + 2 * HOUR_MS, base + 12 * DAY_MS, base + 14 * DAY_MS]) {
      const before = (await events())!;
      const reports = await Promise.all([runMaintenance(p.env, at), runMaintenance(p.env, at), runMaintenance(p.env, at + 30_000)]);
      for (const r of reports) expect(r.failed).toEqual([]);
      // Each event purged is reported by one run only.
      const after = (await events())!;
      expect(reports.reduce((n, r) => n + r.purged, 0)).toBe(before - after);
      purged += before - after;
      expect(await kept(env.DB)).toEqual(await recounted(env.DB));
      expect(await emptyCounterRows(env.DB)).toBe(0);
      expect((await p.api("GET", "/v1/stats")).json.events.total).toBe(after);
    }
    // (The retention did purge, at each end of the range.)
    expect(purged).toBeGreaterThan(0);
    expect(await events()).toBe(0);
  });
});
