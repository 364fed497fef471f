// Requests the ingress refuses are counted and kept in sight, without a D1 write or an
// await on the ack path, and a flood of them costs a bounded number of queue messages.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { RejectionsMessage } from "../../src/domain/types";
import worker from "../../src/index";
import { MAX_HEADER_NAME_CHARS, MAX_SAMPLES } from "../../src/ingress/rejection-log";
import { UNREAD_TALLY_DELIVERIES } from "../../src/pipeline/rejections";
import { PURGE_LIMITS, runMaintenance } from "../../src/maintenance/cron";
import { purgeRejectionCounts, rejectionSummaries, SAMPLES_KEPT } from "../../src/store/rejections";
import { deleteSource, insertSource } from "../../src/store/sources";
import { forgetSource } from "../../src/ingress/sources";
import { meteredD1 } from "../../bench/d1-meter";
import { clockFrom, midHour } from "./clock";
import { d1Double } from "./d1-double";
import { consumerSetting } from "./wrangler-config";
import { ADMIN, call, clientAddress, createSource, dashboardCookie, podiumBody, podiumHeaders, post, recordingQueue } from "./helpers";
import { pipeline, uniqueKey } from "./pipeline";
import { as, makeToken } from "./tokens";

const HOUR_MS = 3_600_000;

/** Sends one request through the worker with a recording rejections queue; returns the answer and what was sent. */
async function refused(request: Request) {
  const rejections = recordingQueue<RejectionsMessage>();
  const res = await call(request, { REJECTIONS: rejections });
  return { res, sent: rejections.sent };
}

async function record(p: ReturnType<typeof pipeline>, messages: RejectionsMessage[]) {
  const r = await p.runQueue<RejectionsMessage>("edgehook-rejections", messages);
  expect(r.acked).toHaveLength(messages.length);
}

describe("the rejection log", () => {
  // Counts are kept per clock hour (thisHour): each test starts half an hour from either end of one.
  let realClock = () => {};
  beforeEach(() => void (realClock = clockFrom(midHour())));
  afterEach(() => realClock());

  it("counts a refused request per source and reason, and keeps its header names but never its body, signature or secret", async () => {
    const p = pipeline();
    const secret = `right-${uniqueKey()}`;
    const source = await createSource({ secrets: [secret] });
    const body = podiumBody({ organizationUid: `org-${uniqueKey()}` });
    const headers = { ...(await podiumHeaders(body, "a-wrong-secret")), "user-agent": "Podium-Webhooks/1.0", "x-api-key": "k-123" };
    const { res, sent } = await refused(post(`/webhooks/${source}`, body, headers));
    expect(res.status).toBe(401);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.counts).toEqual([{ sourceId: source, reason: "invalid_signature", count: 1, lastAt: expect.any(Number), sourceCreatedAt: expect.any(Number) }]);
    await record(p, sent);

    const answer = await p.api("GET", `/v1/sources/${source}/rejections`);
    expect(answer.status).toBe(200);
    expect(answer.json.summary).toEqual([{ reason: "invalid_signature", thisHour: 1, lastDay: 1, lastAt: expect.any(String) }]);
    expect(answer.json.recent).toHaveLength(1);
    expect(answer.json.recent[0]).toMatchObject({ reason: "invalid_signature", requested: source, userAgent: "Podium-Webhooks/1.0" });
    expect(answer.json.recent[0].headerNames).toEqual(expect.arrayContaining(["podium-signature", "podium-timestamp", "x-api-key"]));
    const text = JSON.stringify(answer.json);
    for (const secretValue of [headers["podium-signature"], body, "k-123", secret]) expect(text).not.toContain(secretValue);
    // The source's own answer carries the summary, for the dashboard.
    const view = await p.api("GET", `/v1/sources/${source}`);
    expect(view.json.rejections).toEqual(answer.json.summary);
  });

  it("records a batch's tallies, retries alone one that is no tally the ingress sends, and on its last delivery drops it, logging only its shape", async () => {
    const p = pipeline();
    const source = await createSource({ secrets: [`right-${uniqueKey()}`] });
    const tally = (reason: string, count: number) => ({ v: 1, counts: [{ sourceId: source, reason, count, lastAt: Date.now() }], samples: [] });
    // An error code this Worker does not know, as from another version during a rollout, and a stray body.
    const odd = tally("no_such_code", 5);
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const r = await p.runQueue("edgehook-rejections", [tally("invalid_signature", 3), odd, tally("invalid_signature", 4), tally("missing_signature", 2), "stray"]);
    expect(r.acked).toHaveLength(3);
    expect(r.retried).toEqual([odd, "stray"]);
    // Dropped here on the delivery the queue itself would not retry again.
    expect(UNREAD_TALLY_DELIVERIES).toBe(consumerSetting("edgehook-rejections", "max_retries")! + 1);
    const beforeLast = await p.runQueue("edgehook-rejections", [odd], UNREAD_TALLY_DELIVERIES - 1);
    expect(beforeLast.retried).toEqual([odd]);
    expect(r.retryDelays).toEqual([30, 30]);
    expect(errors).not.toHaveBeenCalled();
    // Still unread on its last delivery: dropped, not retried again.
    const last = await p.runQueue("edgehook-rejections", [odd, "stray"], UNREAD_TALLY_DELIVERIES);
    const logged = errors.mock.calls.map((c) => JSON.stringify(c));
    errors.mockRestore();
    expect(last.acked).toEqual([odd, "stray"]);
    expect(last.retried).toEqual([]);
    expect(logged).toHaveLength(2);
    for (const line of logged) expect(line).not.toContain(source);
    expect(logged.join()).toContain("{v,counts,samples}");
    const summary = (await p.api("GET", `/v1/sources/${source}/rejections`)).json.summary;
    expect(summary).toHaveLength(2);
    expect(summary).toEqual(
      expect.arrayContaining([
        { reason: "invalid_signature", thisHour: 7, lastDay: 7, lastAt: expect.any(String) },
        { reason: "missing_signature", thisHour: 2, lastDay: 2, lastAt: expect.any(String) },
      ]),
    );
  });

  it("retries a batch's tallies when D1 refuses them, and records them on the retry", async () => {
    const p = pipeline({ DB: d1Double({ failBatch: () => true }).db });
    const source = await createSource({ secrets: [`right-${uniqueKey()}`] });
    const tally: RejectionsMessage = { v: 1, counts: [{ sourceId: source, reason: "invalid_signature", count: 3, lastAt: Date.now() }], samples: [] };
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const r = await p.runQueue("edgehook-rejections", [tally, { ...tally, v: 2 }, tally]);
    errors.mockRestore();
    // The unreadable one is retried on its own account, the tallies for D1's.
    expect(r.retried).toHaveLength(3);
    expect(r.retried).toEqual(expect.arrayContaining([tally, { ...tally, v: 2 }]));
    expect(r.retryDelays).toEqual([30, 30, 30]);
    expect(r.acked).toEqual([]);
    const healthy = pipeline();
    expect((await healthy.api("GET", `/v1/sources/${source}/rejections`)).json.summary).toEqual([]);

    await record(healthy, [tally, tally]);
    expect((await healthy.api("GET", `/v1/sources/${source}/rejections`)).json.summary).toEqual([
      { reason: "invalid_signature", thisHour: 6, lastDay: 6, lastAt: expect.any(String) },
    ]);
  });

  it("answers an accepted request without a word to the rejection log", async () => {
    const body = podiumBody();
    const { res, sent } = await refused(post("/webhooks/podium", body, await podiumHeaders(body)));
    expect(res.status).toBe(202);
    expect(sent).toEqual([]);
  });

  it("reads back only refusals whose reason is an error code: a row with another is left out, not passed on as one", async () => {
    const p = pipeline();
    const source = await createSource({ secrets: [`right-${uniqueKey()}`] });
    const body = podiumBody();
    const { sent } = await refused(post(`/webhooks/${source}`, body, await podiumHeaders(body, "a-wrong-secret")));
    await record(p, sent);
    // Rows no ingress writes: a reason that is no code (one an object's prototype has, too).
    const now = Date.now();
    for (const reason of ["constructor", "no_such_code"]) {
      await env.DB.prepare("INSERT INTO rejection_counts (source_id, reason, hour, count, last_at) VALUES (?, ?, ?, 1, ?)")
        .bind(source, reason, Math.floor(now / HOUR_MS) * HOUR_MS, now + 1)
        .run();
      await env.DB.prepare("INSERT INTO rejections (source_id, requested, at, reason, client, header_names) VALUES (?, ?, ?, ?, 'x', '[]')")
        .bind(source, source, now + 1, reason)
        .run();
    }
    const answer = await p.api("GET", `/v1/sources/${source}/rejections`);
    expect(answer.status).toBe(200);
    expect(answer.json.summary.map((s: { reason: string }) => s.reason)).toEqual(["invalid_signature"]);
    expect(answer.json.recent.map((s: { reason: string }) => s.reason)).toEqual(["invalid_signature"]);
    expect((await p.api("GET", `/v1/sources/${source}`)).json.rejections.map((s: { reason: string }) => s.reason)).toEqual(["invalid_signature"]);
  });

  it("forgets a deleted source's rejections: a source made again under its id, by anyone, starts with none", async () => {
    const p = pipeline();
    const source = await createSource({ secrets: [`right-${uniqueKey()}`] });
    const body = podiumBody();
    const { sent } = await refused(post(`/webhooks/${source}`, body, { ...(await podiumHeaders(body, "a-wrong-secret")), "user-agent": "Their-CRM/1.0" }));
    await record(p, sent);
    expect((await p.api("GET", `/v1/sources/${source}/rejections`)).json.recent).toHaveLength(1);
    // One more refused just before the delete, its tally still on the queue.
    const late = await refused(post(`/webhooks/${source}`, body, { ...(await podiumHeaders(body, "a-wrong-secret")), "user-agent": "Their-CRM/1.0" }));
    expect((await p.api("DELETE", `/v1/sources/${source}`)).status).toBe(204);
    const made = await p.api("POST", "/v1/sources", { id: source, name: "again", provider: "podium", secrets: [`again-${uniqueKey()}`] });
    expect(made.status, JSON.stringify(made.json)).toBe(201);
    await record(p, late.sent);
    const again = (await p.api("GET", `/v1/sources/${source}/rejections`)).json;
    expect([again.summary, again.recent]).toEqual([[], []]);
    // Its hours' totals towards source.rejecting went with it too, and the late refusal (made before the new source) adds none.
    const hours = await env.DB.prepare("SELECT total FROM rejection_hours WHERE source_id = ?").bind(source).all<{ total: number }>();
    expect(hours.results.map((h) => h.total)).toEqual([]);
  });

  it("records none of a deleted source's refusals for one made again under its id, though an isolate refused with the old one after the new was made", async () => {
    const p = pipeline();
    const source = await createSource({ secrets: [`right-${uniqueKey()}`] });
    const body = podiumBody();
    const wrong = async () => refused(post(`/webhooks/${source}`, body, { ...(await podiumHeaders(body, "a-wrong-secret")), "user-agent": "Their-CRM/1.0" }));
    await wrong(); // this isolate now knows the source, for SOURCE_CACHE_TTL_MS
    // Deleted and made again (a second ago) through another isolate's API, which does not tell this one.
    expect(await deleteSource(env.DB, source)).toBe("saved");
    const again = { id: source, name: "again", provider: "podium" as const, verification: "signature" as const, secrets: [`again-${uniqueKey()}`] };
    await insertSource(env.DB, { ...again, toleranceSeconds: null, disabled: false, hmac: null, shopDomain: null, organizationUid: null, teachesLocations: true }, Date.now() - 1000);
    // Refused by the old source as this isolate still knows it, after the new one was made.
    const stale = await wrong();
    expect(stale.res.status).toBe(401);
    await record(p, stale.sent);
    const view = (await p.api("GET", `/v1/sources/${source}/rejections`)).json;
    expect([view.summary, view.recent]).toEqual([[], []]);
    const hours = await env.DB.prepare("SELECT total FROM rejection_hours WHERE source_id = ?").bind(source).all<{ total: number }>();
    expect(hours.results).toEqual([]);
    // Once this isolate reads the new source (its cache's time is up), the new one's refusals count as its own.
    forgetSource(source);
    const fresh = await wrong();
    await record(p, fresh.sent);
    const after = (await p.api("GET", `/v1/sources/${source}/rejections`)).json;
    expect(after.summary).toEqual([{ reason: "invalid_signature", thisHour: 1, lastDay: 1, lastAt: expect.any(String) }]);
    expect(after.recent).toHaveLength(1);
  });

  it("counts requests to ids that name no source together, saying which id each asked for; only the admin reads them", async () => {
    const p = pipeline();
    const wrong = `typo-${uniqueKey()}`;
    const { res, sent } = await refused(post(`/webhooks/${wrong}`, "{}", { "content-type": "application/json" }));
    expect(res.status).toBe(404);
    expect(sent[0]!.counts).toEqual([expect.objectContaining({ sourceId: "(unknown)", reason: "unknown_source", count: 1 })]);
    await record(p, sent);
    const admin = await p.api("GET", "/v1/sources/(unknown)/rejections");
    expect(admin.json.recent.map((r: { requested: string }) => r.requested)).toContain(wrong);
    expect((await p.api("GET", "/v1/sources/(invalid)/rejections")).status).toBe(200);
    // The id asked for is no source, so it has no log of its own: 404, not an empty one that reads as "nothing refused".
    const typo = await p.api("GET", `/v1/sources/${wrong}/rejections`);
    expect([typo.status, typo.json.error.code]).toEqual([404, "not_found"]);

    const { token } = await makeToken(p, ["sources:read"], { organizationUids: [`org-${uniqueKey()}`] });
    expect((await as(p, token, "GET", "/v1/sources/(unknown)/rejections")).status).toBe(404);
  });

  it("counts requests to a disabled source under (unknown), as to one that does not exist, and none in the source's own log", async () => {
    const p = pipeline();
    const source = `dis-${uniqueKey()}`;
    const made = await p.api("POST", "/v1/sources", { id: source, name: "disabled", provider: "podium", secrets: [`s-${uniqueKey()}`] });
    expect(made.status, JSON.stringify(made.json)).toBe(201);
    expect((await p.api("PATCH", `/v1/sources/${source}`, { disabled: true })).status).toBe(200);
    const unknownThisHour = async () => {
      const summary = (await p.api("GET", "/v1/sources/(unknown)/rejections")).json.summary as { reason: string; thisHour: number }[];
      return summary.find((s) => s.reason === "unknown_source")?.thisHour ?? 0;
    };
    const before = await unknownThisHour();
    const sent: RejectionsMessage[] = [];
    for (let i = 0; i < 3; i++) {
      const refusal = await refused(post(`/webhooks/${source}`, "{}", { "content-type": "application/json", "user-agent": "Their-CRM/1.0" }));
      expect([refusal.res.status, (await refusal.res.json<{ error: { code: string } }>()).error.code]).toEqual([404, "unknown_source"]);
      sent.push(...refusal.sent);
    }
    await record(p, sent);
    expect(await unknownThisHour()).toBe(before + 3);
    const admin = (await p.api("GET", "/v1/sources/(unknown)/rejections")).json;
    expect(admin.recent.filter((r: { requested: string }) => r.requested === source)).toHaveLength(3);
    const own = (await p.api("GET", `/v1/sources/${source}/rejections`)).json;
    expect([own.summary, own.recent]).toEqual([[], []]);
    expect((await p.api("DELETE", `/v1/sources/${source}`)).status).toBe(204);
  });

  it("counts a URL with a trailing slash (or any path that names no source id) under (invalid), saying what it asked for", async () => {
    const p = pipeline();
    const source = await createSource({ secrets: [`s-${uniqueKey()}`] });
    const { res, sent } = await refused(post(`/webhooks/${source}/`, "{}", { "content-type": "application/json" }));
    expect(res.status).toBe(404);
    expect(sent[0]?.counts).toEqual([expect.objectContaining({ sourceId: "(invalid)", reason: "unknown_source", count: 1 })]);
    await record(p, sent);
    const admin = await p.api("GET", "/v1/sources/(invalid)/rejections");
    expect(admin.json.recent.map((r: { requested: string }) => r.requested)).toContain(`${source}/`);
    // The admin's sources page says so too: a wrong URL given to a provider, with what it asked for.
    const page = await (await call(new Request("https://edgehook.test/dashboard/sources", { headers: { cookie: await dashboardCookie() } }))).text();
    expect(page).toMatch(new RegExp(`Requests to paths that are no source id [^<]*: <span>last refused: \\d+ s ago, <b>unknown_<wbr/>source</b>[^]*?\\(latest asked for <code>${source}/</code>\\)`));
  });

  it("shows a path asked for, which anyone may send unsigned, with its controls and bidi characters escaped on the sources page", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const sourcesPage = async () => (await call(new Request("https://edgehook.test/dashboard/sources", { headers: { cookie: await dashboardCookie() } }))).text();
    // Shown raw, U+202E reverses the rest: "your-source.google.com"; ESC [2J and BEL act on a terminal the page is copied to.
    for (const [path, shown] of [
      [`%E2%80%AEmoc.elgoog.ecruos-ruoy-${key}/x`, `\\u202emoc.elgoog.ecruos-ruoy-${key}/x`],
      [`%1B%5B2J${key}%07X/y`, `\\u001b[2J${key}\\u0007X/y`],
    ]) {
      const { res, sent } = await refused(post(`/webhooks/${path}`, "{}", { "content-type": "application/json" }));
      expect(res.status).toBe(404);
      await record(p, sent);
      const page = await sourcesPage();
      expect(page).toContain(`(latest asked for <code>${shown}</code>)`);
      expect(page).not.toMatch(/[\u202e\u001b\u0007]/);
    }
  });

  it("samples the latest refusals of each source, so a flood on one leaves room for a wrong id asked for meanwhile", async () => {
    const p = pipeline();
    const source = await createSource({ secrets: [`s-${uniqueKey()}`] });
    const wrong = `typo-${uniqueKey()}`;
    const rejections = recordingQueue<RejectionsMessage>();
    const window = { ...p.env, REJECTIONS: rejections, REJECTIONS_FLUSH_MS: "2000" };
    const ctx = createExecutionContext();
    const send = async (path: string, userAgent: string) =>
      (await worker.fetch(new Request(`https://edgehook.test${path}`, { method: "POST", body: "{}", headers: { "user-agent": userAgent, "cf-connecting-ip": clientAddress() } }), window, ctx)).status;
    for (let i = 0; i < 25; i++) expect(await send(`/webhooks/${source}`, `flood-${i}`)).toBe(401);
    expect(await send(`/webhooks/${wrong}`, "the-typo")).toBe(404);
    await waitOnExecutionContext(ctx);
    const samples = rejections.sent.flatMap((m) => m.samples);
    expect(samples.filter((s) => s.sourceId === "(unknown)").map((s) => [s.requested, s.userAgent])).toEqual([[wrong, "the-typo"]]);
    const mine = samples.filter((s) => s.sourceId === source).map((s) => s.userAgent);
    // One window (two seconds) holds all 26: the source's latest four.
    expect(rejections.sent).toHaveLength(1);
    expect(mine).toEqual(["flood-21", "flood-22", "flood-23", "flood-24"]);
    expect(rejections.sent.flatMap((m) => m.counts).filter((c) => c.sourceId === source).reduce((n, c) => n + c.count, 0)).toBe(25);
  });

  it("still sends the window's tally when refused requests carry very long header names: another sender's refusal is not lost with them", async () => {
    const p = pipeline();
    const source = await createSource({ secrets: [`s-${uniqueKey()}`] });
    const rejections = recordingQueue<RejectionsMessage>();
    const window = { ...p.env, REJECTIONS: rejections, REJECTIONS_FLUSH_MS: "2000" };
    const ctx = createExecutionContext();
    const send = async (headers: Record<string, string>) =>
      (await worker.fetch(new Request(`https://edgehook.test/webhooks/${source}`, { method: "POST", body: "{}", headers: { "cf-connecting-ip": clientAddress(), ...headers } }), window, ctx)).status;
    // A sender whose secret is wrong, then requests whose header names are 30,000 characters long
    // (one header line may be; the whole request's headers less than the platform's 128 KB).
    expect(await send({ "user-agent": "the-honest-one", "podium-signature": "00", "podium-timestamp": String(Date.now()) })).toBe(401);
    const long = Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`x-${i}-${"n".repeat(30_000)}`, "1"]));
    for (let i = 0; i < 3; i++) expect(await send({ ...long, "user-agent": `long-${i}` })).toBe(401);
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    await waitOnExecutionContext(ctx);
    const logged = errors.mock.calls.map((c) => JSON.stringify(c));
    errors.mockRestore();
    expect(logged).toEqual([]);
    expect(rejections.sent.flatMap((m) => m.counts).reduce((n, c) => n + c.count, 0)).toBe(4);
    const samples = rejections.sent.flatMap((m) => m.samples);
    expect(samples.map((s) => s.userAgent)).toContain("the-honest-one");
    for (const name of samples.flatMap((s) => s.headerNames)) expect(name.length).toBeLessThanOrEqual(MAX_HEADER_NAME_CHARS);
    await record(p, rejections.sent);
    const summary = (await p.api("GET", `/v1/sources/${source}/rejections`)).json.summary;
    expect(summary).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ reason: "invalid_signature", lastDay: 1 }),
        expect.objectContaining({ reason: "missing_signature", lastDay: 3 }),
      ]),
    );
  });

  it("holds a flood of 10,000 refused requests to a few messages, counts every one, and keeps a bounded sample", async () => {
    const p = pipeline();
    const rejections = recordingQueue<RejectionsMessage>();
    const flood = { ...p.env, REJECTIONS: rejections, REJECTIONS_FLUSH_MS: "200" };
    const ctx = createExecutionContext();
    const n = 10_000;
    for (let i = 0; i < n; i++) {
      const res = await worker.fetch(
        new Request(`https://edgehook.test/webhooks/flood-${i % 500}`, { method: "POST", body: "{}", headers: { "cf-connecting-ip": clientAddress() } }),
        flood,
        ctx,
      );
      expect(res.status).toBe(404);
    }
    await waitOnExecutionContext(ctx);
    const messages = rejections.sent;
    // One message per flush window while the flood lasted, not one per request.
    expect(messages.length).toBeGreaterThan(0);
    expect(messages.length).toBeLessThan(n / 100);
    expect(messages.flatMap((m) => m.counts).reduce((sum, c) => sum + c.count, 0)).toBe(n);
    for (const m of messages) {
      expect(m.samples.length).toBeLessThanOrEqual(MAX_SAMPLES);
      expect(m.counts.length).toBe(1); // 500 ids, one key: nothing a flood of ids can multiply
    }

    await record(p, messages);
    const kept = await env.DB.prepare("SELECT COUNT(*) AS n FROM rejections WHERE source_id = '(unknown)'").first<{ n: number }>();
    expect(kept!.n).toBeLessThanOrEqual(SAMPLES_KEPT);
    const counted = await p.api("GET", "/v1/sources/(unknown)/rejections");
    expect(counted.json.summary[0].lastDay).toBeGreaterThanOrEqual(n);
  }, 120_000); // ten thousand requests through workerd: slow on a busy machine, not a measure of anything

  it("lets a limited token read its own sources' refusals only, and the maintenance run drops counts past the retention", async () => {
    const p = pipeline();
    const org = `org-${uniqueKey()}`;
    const own = await createSource({ secrets: [`s-${uniqueKey()}`], organizationUid: org });
    const admins = await createSource({ secrets: [`s-${uniqueKey()}`] });
    const { token } = await makeToken(p, ["sources:read"], { organizationUids: [org] });
    expect((await as(p, token, "GET", `/v1/sources/${own}/rejections`)).status).toBe(200);
    expect((await as(p, token, "GET", `/v1/sources/${admins}/rejections`)).status).toBe(404);

    // (Under an id no source has: one made now counts no refusal of 11 days ago towards its alerts.)
    const old = Date.now() - 11 * 24 * HOUR_MS;
    const asked = `gone-${uniqueKey()}`;
    await record(p, [{ v: 1, counts: [{ sourceId: asked, reason: "missing_signature", count: 3, lastAt: old }], samples: [] }]);
    const rows = async () =>
      env.DB.prepare("SELECT (SELECT COUNT(*) FROM rejection_counts WHERE source_id = ?1) AS counts, (SELECT COUNT(*) FROM rejection_hours WHERE source_id = ?1) AS hours")
        .bind(asked)
        .first<{ counts: number; hours: number }>();
    expect(await rows()).toEqual({ counts: 1, hours: 1 });
    await runMaintenance(p.env);
    expect(await rows()).toEqual({ counts: 0, hours: 0 });
  });

  it("reads a source's last day of refusals in as many rows whatever number of hours the retention keeps", async () => {
    /** A source with `hours` hours of two reasons, one refusal an hour: its summary, and the rows that read. */
    const summaryOver = async (hours: number) => {
      const source = await createSource({ secrets: [`s-${uniqueKey()}`] });
      const now = Date.now();
      const hour = Math.floor(now / HOUR_MS) * HOUR_MS;
      await env.DB.prepare(
        `INSERT INTO rejection_counts (source_id, reason, hour, count, last_at)
         SELECT ?1, r.value, ?2 - h.value * ?3, 1, ?4 FROM json_each(?5) AS h, json_each('["invalid_signature","missing_signature"]') AS r`,
      )
        .bind(source, hour, HOUR_MS, now, JSON.stringify(Array.from({ length: hours }, (_, i) => i)))
        .run();
      const meter = meteredD1(env.DB);
      const summary = (await rejectionSummaries(meter.db, [source], now)).get(source)!;
      return { summary: summary.map((s) => [s.reason, s.thisHour, s.lastDay]).sort(), rowsRead: meter.usage.rowsRead };
    };
    const day = await summaryOver(24);
    const retained = await summaryOver(240); // the retention's ten days
    const expected = [
      ["invalid_signature", 1, 24],
      ["missing_signature", 1, 24],
    ];
    expect([day.summary, retained.summary]).toEqual([expected, expected]);
    expect(day.rowsRead).toBeGreaterThan(0);
    // Each reason's seek may land on the row before its last day, no more (531 rows against 98 before the reasons were named).
    expect(retained.rowsRead).toBeLessThanOrEqual(day.rowsRead + 2);
  });


  it("drops counts past the retention at the maintenance run reading those, not every count the retention keeps", async () => {
    const cutoff = Date.now() - 10 * 24 * HOUR_MS;
    const hour = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
    /** `hours` hours of two reasons for a new source, all within the retention. */
    const retained = async (hours: number) => {
      const source = await createSource({ secrets: [`s-${uniqueKey()}`] });
      await env.DB.prepare(
        `INSERT INTO rejection_counts (source_id, reason, hour, count, last_at)
         SELECT ?1, r.value, ?2 - h.value * ?3, 1, ?2 FROM json_each(?4) AS h, json_each('["invalid_signature","missing_signature"]') AS r`,
      )
        .bind(source, hour, HOUR_MS, JSON.stringify(Array.from({ length: hours }, (_, i) => i)))
        .run();
    };
    const purgeReads = async () => {
      const meter = meteredD1(env.DB);
      await purgeRejectionCounts(meter.db, cutoff, PURGE_LIMITS.rejectionCounts);
      return meter.usage.rowsRead;
    };
    await retained(24);
    await purgeReads(); // (whatever other tests left past the retention goes first)
    const before = await purgeReads();
    await retained(239); // a source refused every hour of the ten days: 478 rows kept
    // Nothing is past the retention either time: the purge reads as much (was a walk of every count: +478).
    expect(await purgeReads()).toBe(before);
    expect(before).toBeLessThan(10);
  });
  it("forgets samples older than the retention at the maintenance run, however few a source has", async () => {
    const p = pipeline();
    const source = await createSource({ secrets: [`s-${uniqueKey()}`] });
    const sample = (at: number, client: string) => ({
      sourceId: source, requested: source, reason: "invalid_signature" as const, at, client, userAgent: null, headerNames: [],
    });
    const old = Date.now() - 11 * 24 * HOUR_MS;
    // As the ingress sends them, oldest first: an old one (a tally from before the retention) and a fresh one.
    await record(p, [{ v: 1, counts: [{ sourceId: source, reason: "invalid_signature", count: 2, lastAt: Date.now() }], samples: [sample(old, "198.51.100.7"), sample(Date.now(), "198.51.100.8")] }]);
    const clients = async () =>
      (await env.DB.prepare("SELECT client FROM rejections WHERE source_id = ? ORDER BY seq").bind(source).all<{ client: string }>()).results.map((r) => r.client);
    expect(await clients()).toEqual(["198.51.100.7", "198.51.100.8"]);
    await runMaintenance(p.env);
    expect(await clients()).toEqual(["198.51.100.8"]);
  });

  it("shows the last refusal and what to check on the dashboard's sources page", async () => {
    const p = pipeline();
    const source = await createSource({ secrets: [`s-${uniqueKey()}`] });
    const body = podiumBody();
    const { sent } = await refused(post(`/webhooks/${source}`, body, await podiumHeaders(body, "not-the-secret")));
    await record(p, sent);
    const login = await call(
      new Request("https://edgehook.test/dashboard/login", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", origin: "https://edgehook.test" },
        body: `token=${encodeURIComponent(ADMIN.authorization.slice("Bearer ".length))}`,
      }),
    );
    const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
    const page = await (await call(new Request("https://edgehook.test/dashboard/sources", { headers: { cookie } }))).text();
    const row = page.slice(page.indexOf(source));
    expect(row.slice(0, row.indexOf("</tr>"))).toMatch(/last refused: \d+ s ago, <b>invalid_<wbr\/>signature<\/b> ×1 — check the secret/);
    // The URL to give the provider is at the host the dashboard is served from.
    expect(row.slice(0, row.indexOf("</tr>"))).toContain(`https://edgehook.test/webhooks/${source}`);
  });

  it("tallies a compressed body as unsupported_media_type, and the sources page says what to turn off", async () => {
    const p = pipeline();
    const source = await createSource({ secrets: [`s-${uniqueKey()}`] });
    const { res, sent } = await refused(post(`/webhooks/${source}`, "\u001f\u008b", { "content-type": "application/json", "content-encoding": "gzip" }));
    expect(res.status).toBe(415);
    expect(sent[0]!.counts).toEqual([{ sourceId: source, reason: "unsupported_media_type", count: 1, lastAt: expect.any(Number), sourceCreatedAt: expect.any(Number) }]);
    await record(p, sent);
    const cookie = await dashboardCookie();
    const page = await (await call(new Request("https://edgehook.test/dashboard/sources", { headers: { cookie } }))).text();
    const row = page.slice(page.indexOf(source));
    expect(row.slice(0, row.indexOf("</tr>"))).toMatch(/<b>unsupported_<wbr\/>media_<wbr\/>type<\/b> ×1 — the sender compresses its bodies \(Content-Encoding\): turn that off/);
  });
});
