// What the ingress keeps as a type is what a webhook can name (isNameableType): a provider's type
// with a colon, a space, another script's letters or stray dots is stored as sent and subscribed to
// exactly; one no webhook can name (a comma, a `*`, a format character) stays `unknown`.
import { describe, expect, it } from "vitest";
import type { HmacConfig } from "../../src/domain/hmac-config";
import { hmacScheme } from "../../src/schemes/hmac";
import { call, createSource, recordingQueue } from "./helpers";
import { pipeline, received, uniqueKey } from "./pipeline";
import { eventsOfSource } from "./rows";

const hmac: HmacConfig = { header: "x-sig", algorithm: "SHA-256", encoding: "hex", prefix: "", timestampHeader: null, typePath: "type", dedupePath: "id" };
const SECRET = "nameable-secret";

/** Sends an event of `type` to the hmac source: its queue message. */
async function sendType(source: string, type: string) {
  const body = JSON.stringify({ type, id: `e-${uniqueKey()}` });
  const queue = recordingQueue();
  const res = await call(new Request(`https://edgehook.test/webhooks/${source}`, { method: "POST", body, headers: await hmacScheme(hmac).sign(SECRET, body) }), { INGEST: queue });
  expect(res.status).toBe(202);
  return queue.sent;
}

describe("a type a provider sends is one a webhook can name", () => {
  it.each([
    { type: "jira:issue_updated", header: "jira:issue_updated" },
    { type: "Push Hook", header: "Push Hook" },
    { type: "заказ.создан", header: encodeURIComponent("заказ.создан") },
    { type: ".", header: "." },
    { type: "a..b", header: "a..b" },
    { type: "push.", header: "push." },
  ])("$type: stored as sent, listed by it, subscribed to exactly, and delivered (edgehook-event-type $header)", async ({ type, header }) => {
    const source = await createSource({ provider: "hmac", secrets: [SECRET], hmac });
    const p = pipeline();
    await p.runIngest(await sendType(source, type));
    expect(await eventsOfSource(source)).toEqual([{ event_type: type, organization_uid: null }]);
    const listed = await p.api("GET", `/v1/events?eventType=${encodeURIComponent(type)}&sourceId=${source}`);
    expect(listed.json.data).toHaveLength(1);

    const key = uniqueKey();
    const created = await p.api("POST", "/v1/webhooks", { url: `https://downstream.test/ok/${key}`, eventTypes: [type], sourceIds: [source] });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    // The source has received it: no warning.
    expect(created.json.warnings ?? []).toEqual([]);

    await p.runIngest(await sendType(source, type));
    await p.deliver();
    const got = await received(key);
    expect(got).toHaveLength(1);
    expect(got[0]?.headers["edgehook-event-type"]).toBe(header);
    expect(decodeURIComponent(header)).toBe(type);
  });

  it.each([
    { type: "a,b", stored: "unknown" },
    { type: "jira:*", stored: "unknown" },
    { type: " push", stored: "unknown" },
    { type: "message.received\u200b", stored: "message.unknown" },
    // Shown as nothing, escaped in lists (`a\u034fb`): typed back as shown, they named another type.
    { type: "a\u034fb", stored: "unknown" },
    { type: "push\ufe0f", stored: "unknown" },
    { type: "\u3164", stored: "unknown" },
    { type: "a\u2800b", stored: "unknown" },
    { type: "x".repeat(201), stored: "unknown" },
  ])("$type stays $stored, and a webhook cannot name it", async ({ type, stored }) => {
    const source = await createSource({ provider: "hmac", secrets: [SECRET], hmac });
    const p = pipeline();
    await p.runIngest(await sendType(source, type));
    expect(await eventsOfSource(source)).toEqual([{ event_type: stored, organization_uid: null }]);
    const refused = await p.api("POST", "/v1/webhooks", { url: "https://downstream.test/ok/never", eventTypes: [type], sourceIds: [source] });
    expect(refused.status).toBe(400);
  });

  it("the wildcards keep their meaning: `jira:issue.*` takes the types under `jira:issue.`, `*` every one", async () => {
    const source = await createSource({ provider: "hmac", secrets: [SECRET], hmac });
    const p = pipeline();
    const [under, all] = [uniqueKey(), uniqueKey()];
    for (const [key, eventTypes] of [[under, ["jira:issue.*"]], [all, ["*"]]] as const) {
      expect((await p.api("POST", "/v1/webhooks", { url: `https://downstream.test/ok/${key}`, eventTypes, sourceIds: [source] })).status).toBe(201);
    }
    for (const type of ["jira:issue.created", "jira:issue", "jira:issues.x"]) await p.runIngest(await sendType(source, type));
    await p.deliver();
    expect((await received(under)).map((r) => r.headers["edgehook-event-type"])).toEqual(["jira:issue.created"]);
    expect(await received(all)).toHaveLength(3);
  });
});
