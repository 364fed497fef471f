// The dashboard at the retention's edge: an event past it is said to be, with no button that could
// only answer 409 past_retention, and a press whose count held deliveries past it says so.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DAY_MS } from "../../src/domain/time";
import { call, dashboardCookie, dashboardForm, ingestMessage, pageBanners, pageText, podiumBody } from "./helpers";
import { pipeline } from "./pipeline";
import { setEvent, setEventDeliveries } from "./rows";
import { DATA_SCOPES, makeToken } from "./tokens";

const ORIGIN = "https://edgehook.test";
const html = async (path: string, cookie: string) => (await call(new Request(new URL(path, ORIGIN), { headers: { cookie } }))).text();
/** A button's post, and the page it leads back to. */
async function press(path: string, cookie: string, fields: Record<string, string> = {}): Promise<string> {
  const res = await dashboardForm(path, cookie, fields);
  expect(res.status).toBe(303);
  return html(res.headers.get("location")!, cookie);
}

/** Past the deployment's RETENTION_DAYS (10 under test). */
const PAST = 11 * DAY_MS;
async function aged(eventId: string): Promise<void> {
  await setEvent(eventId, "received_at = received_at - ?1", PAST);
  await setEventDeliveries(eventId, "event_received_at = event_received_at - ?1", PAST);
}

/** A webhook failing every attempt, made a month ago (a late event is owed to the webhooks that existed when it was received). */
async function failing() {
  const p = pipeline();
  const made = await p.webhookOn("fail", { maxAttempts: 1 });
  await env.DB.prepare("UPDATE webhooks SET created_at = created_at - 30 * ?1 WHERE uid = ?2").bind(DAY_MS, made.webhook.uid).run();
  return { p, ...made };
}

describe("an event past the retention", () => {
  it("is said to be on its page, with no replay nor retry, and when it is purged once a delivery of it expired", async () => {
    const { p, org } = await failing();
    const cookie = await dashboardCookie();
    const id = await p.ingest(podiumBody({ organizationUid: org }));
    await p.deliver();
    const inTime = pageText(await html(`/dashboard/events/${id}`, cookie));
    expect(inTime).toContain("Replay to every matching webhook");
    expect(inTime).toContain("Retry this delivery");
    expect(inTime).not.toContain("Past the retention");

    // Not yet reached by the purge: its delivery failed, nothing expired.
    await aged(id);
    const past = pageText(await html(`/dashboard/events/${id}`, cookie));
    expect(past).toContain("Past the retention: received over 10 days ago, it is kept to be read, not sent again, so it cannot be replayed or retried.");
    expect(past).toContain("A maintenance run purges it soon");
    expect(past).not.toContain("Replay to every matching webhook");
    expect(past).not.toContain("Retry this delivery");

    // Stored past it (its delivery stored expired now): kept its grace day, then purged.
    const msg = ingestMessage({ body: podiumBody({ organizationUid: org }), organizationUid: org, receivedAt: Date.now() - PAST });
    expect((await p.runIngest([msg])).acked).toHaveLength(1);
    const graced = await html(`/dashboard/events/${msg.eventId}`, cookie);
    const notice = /<p class="notice warning" id="past-retention">([\s\S]*?)<\/p>/.exec(graced)?.[1] ?? "";
    expect(pageText(notice)).toContain("a day after a delivery of it expired");
    const purge = Date.parse(/datetime="([^"]+)"/.exec(notice)?.[1] ?? "");
    expect(Math.abs(purge - (Date.now() + DAY_MS))).toBeLessThan(60_000);
    expect(pageText(graced)).not.toContain("Replay to every matching webhook");

    // A token limited to the organization sees only its grant's deliveries: one it cannot see may have
    // expired later, so no purge time is stated, only the grace day.
    const limited = await makeToken(p, ["events:read", "webhooks:read", ...DATA_SCOPES], { organizationUids: [org] });
    const login = await dashboardForm("/dashboard/login", null, { token: limited.token });
    const seen = await html(`/dashboard/events/${msg.eventId}`, login.headers.get("set-cookie")!.split(";")[0]!);
    const said = /<p class="notice warning" id="past-retention">([\s\S]*?)<\/p>/.exec(seen)?.[1] ?? "";
    expect(pageText(said)).toContain("It is kept its grace day, a day after the last of its deliveries expired, then purged");
    expect(said).not.toContain("datetime=");
  });

  it("has its delivery's dead letter offer no Replay", async () => {
    const { p, org } = await failing();
    const cookie = await dashboardCookie();
    const [old, fresh] = [await p.ingest(podiumBody({ organizationUid: org })), await p.ingest(podiumBody({ organizationUid: org }))];
    await p.deliver();
    await aged(old);
    const letters = (await p.api("GET", "/v1/dead-letters?open=true&limit=100")).json.data;
    const [l1, l2] = [letters.find((d) => d.eventId === old)!, letters.find((d) => d.eventId === fresh)!];
    expect(Date.parse(l1.eventReceivedAt ?? "")).toBeLessThan(Date.now() - 10 * DAY_MS);
    const page = await html("/dashboard/dead-letters?open=true", cookie);
    expect(page).not.toContain(`/dashboard/dead-letters/${l1.id}/replay`);
    expect(page).toContain(`/dashboard/dead-letters/${l2.id}/replay`);
    expect(pageText(page)).toContain("Its event is past the retention: not sent again");
  });
});

describe("a webhook's counts holding deliveries past the retention", () => {
  it("retry failed says how many counted were not retried, and enabling says those past it expire unsent", async () => {
    const { p, org, webhook } = await failing();
    const cookie = await dashboardCookie();
    const old = await p.ingest(podiumBody({ organizationUid: org }));
    await p.ingest(podiumBody({ organizationUid: org }));
    await p.deliver();
    await aged(old);
    const shown = await html(`/dashboard/webhooks/${webhook.uid}`, cookie);
    expect(pageText(shown)).toContain("Retry 2 failed");
    const counted = /name="counted" value="(\d+)"/.exec(shown)?.[1] ?? "";
    const after = await press(`/dashboard/webhooks/${webhook.uid}/retry-failed`, cookie, { counted });
    expect(pageBanners(after, "status")).toEqual([
      "1 failed delivery will be tried again, oldest first. 1 of the 2 counted was not retried: past the retention (not sent again, counted until purged) or changed meanwhile.",
    ]);

    expect((await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { disabled: true })).status).toBe(200);
    const enabled = await press(`/dashboard/webhooks/${webhook.uid}/enable`, cookie);
    expect(pageBanners(enabled, "status")).toEqual(["Enabled: held deliveries are going out, oldest first; any whose event is past the retention expire unsent."]);
  });
});
