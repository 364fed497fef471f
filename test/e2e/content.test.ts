// Routing and reshaping by content through the real local stack: webhooks with filters and
// transformations, a real downstream, and exactly which events arrive and in what shape.
import { randomUUID } from "node:crypto";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import type { Downstream } from "./downstream";
import { sendPodium, timestampedHmac } from "./podium";
import { eventually, useLocalStack, type Stack } from "./stack";

let stack: Stack;
let down: Downstream;
useLocalStack({}, (s, d) => ((stack = s), (down = d)));

const api = <M extends string, P extends string>(method: M, path: P, body?: unknown) => stack.api(method, path, body);

function podiumMessage(org: string, channel: string, text: string) {
  return JSON.stringify({
    data: {
      uid: randomUUID(),
      body: text,
      conversation: { uid: randomUUID(), channel: { type: channel, identifier: "+18015550123" } },
      location: { uid: `loc-${org}`, organizationUid: org },
    },
    metadata: { eventType: "message.received", eventUid: randomUUID(), version: "2021.04.01" },
  });
}

async function sendToPodium(body: string): Promise<string> {
  const res = await sendPodium(`${stack.url}/webhooks/podium`, body, stack.vars.PODIUM_WEBHOOK_SECRET!.split(" ")[0]!);
  expect(res.status).toBe(202);
  return ((await res.json()) as { eventId: string }).eventId;
}

/** POSTs a body signed the way Stripe signs it (keyed by the whole whsec_ string). */
async function sendToStripe(source: string, secret: string, body: string): Promise<string> {
  const t = Math.floor(Date.now() / 1000);
  const v1 = timestampedHmac(secret, t, body);
  const res = await fetch(`${stack.url}/webhooks/${source}`, {
    method: "POST",
    headers: { "content-type": "application/json", "stripe-signature": `t=${t},v1=${v1}` },
    body,
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { eventId: string }).eventId;
}

async function subscribe(key: string, hook: Record<string, unknown>) {
  const res = await api("POST", "/v1/webhooks", { url: `${down.url}/ok/${key}`, ...hook });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json as { uid: string; secret: string };
}

/** The event once stored (the API answers 404 until then). */
const stored = (id: string) =>
  eventually(async () => {
    const res = await api("GET", `/v1/events/${id}`);
    return res.status === 200 ? res.json : null;
  }, 30_000, `event ${id} stored`);

describe("routing and reshaping by content, end to end", () => {
  it("delivers exactly the events each filter admits, in the shape its transformation makes, signed over those bytes", async () => {
    const key = randomUUID().slice(0, 8);
    const org = `org-${key}`;
    const account = `acct_${key}`;

    // Podium → Slack: text messages on SMS only, as {text}.
    const slack = await subscribe(`${key}-slack`, {
      eventTypes: ["message.*"],
      organizationUid: org,
      filter: { body: { "metadata.eventType": "message.received", "data.conversation.channel.type": "sms" } },
      transform: '{"text": "New SMS from " & data.conversation.channel.identifier & ": " & data.body}',
      transformHeaders: { "x-conversation": "data.conversation.uid" },
    });
    // Stripe: invoices over $500, summarised in dollars.
    const secret = `whsec_${Buffer.from(randomUUID() + randomUUID()).toString("base64")}`;
    const source = (await api("POST", "/v1/sources", { name: `stripe ${key}`, provider: "stripe", secrets: [secret] })).json.id as string;
    const invoices = await subscribe(`${key}-invoices`, {
      eventTypes: ["*"],
      organizationUid: account,
      filter: { body: { type: { $startsWith: "invoice." }, "data.object.amount_due": { $gt: 50000 } } },
      transform: '{"invoice": data.object.id, "amount": data.object.amount_due / 100, "currency": $uppercase(data.object.currency)}',
    });

    const sms = podiumMessage(org, "sms", "Is 2pm open?");
    const smsId = await sendToPodium(sms);
    const emailId = await sendToPodium(podiumMessage(org, "email", "Is 3pm open?"));
    const otherOrgId = await sendToPodium(podiumMessage(`${org}-other`, "sms", "Not yours"));
    const stripeEvent = (id: string, type: string, amount: number) =>
      JSON.stringify({ id, type, account, data: { object: { id: `in_${id}`, amount_due: amount, currency: "usd" } } });
    const bigId = await sendToStripe(source, secret, stripeEvent(`evt_big_${key}`, "invoice.paid", 75_000));
    const smallId = await sendToStripe(source, secret, stripeEvent(`evt_small_${key}`, "invoice.paid", 4_200));
    const chargeId = await sendToStripe(source, secret, stripeEvent(`evt_charge_${key}`, "charge.succeeded", 90_000));

    // What arrives, and its shape.
    const [toSlack] = await eventually(async () => {
      const r = await down.requests(`${key}-slack`);
      return r.length >= 1 ? r : null;
    }, 30_000, "the SMS at the Slack webhook");
    const [toInvoices] = await eventually(async () => {
      const r = await down.requests(`${key}-invoices`);
      return r.length >= 1 ? r : null;
    }, 30_000, "the large invoice");
    const smsConversation = JSON.parse(sms).data.conversation.uid;
    expect(toSlack!.body).toBe('{"text":"New SMS from +18015550123: Is 2pm open?"}');
    expect(toSlack!.headers["x-conversation"]).toBe(smsConversation);
    expect(toSlack!.headers["edgehook-event-id"]).toBe(smsId);
    expect(new StandardWebhook(slack.secret).verify(toSlack!.body, toSlack!.headers)).toEqual({ text: "New SMS from +18015550123: Is 2pm open?" });
    expect(toInvoices!.body).toBe(`{"invoice":"in_evt_big_${key}","amount":750,"currency":"USD"}`);
    expect(toInvoices!.headers["edgehook-event-id"]).toBe(bigId);
    expect(() => new StandardWebhook(invoices.secret).verify(toInvoices!.body, toInvoices!.headers)).not.toThrow();

    // What does not: the filter's decision is recorded with each event when it is stored.
    expect((await stored(emailId)).filteredOut).toEqual([slack.uid]);
    expect((await stored(smallId)).filteredOut).toEqual([invoices.uid]);
    expect((await stored(chargeId)).filteredOut).toEqual([invoices.uid]);
    const other = await stored(otherOrgId);
    expect([other.filteredOut, other.deliveries]).toEqual([[], []]); // not subscribed at all: nothing to filter
    for (const id of [emailId, smallId, chargeId]) expect((await stored(id)).deliveries).toEqual([]);
    // Every event is stored and decided, and the two admitted ones arrived: nothing else can come.
    expect((await down.requests(`${key}-slack`)).map((r) => r.headers["edgehook-event-id"])).toEqual([smsId]);
    expect((await down.requests(`${key}-invoices`)).map((r) => r.headers["edgehook-event-id"])).toEqual([bigId]);

    // "Test this webhook" explains the exclusion; search finds the event by a field.
    const test = await api("POST", `/v1/webhooks/${slack.uid}/test`, { eventId: emailId });
    expect(test.json.matched).toBe(false);
    expect(test.json.checks.find((c: { check: string }) => c.check === "filter").message).toBe('body.data.conversation.channel.type is "email", not "sms"');
    const found = await api("GET", `/v1/events?q=${encodeURIComponent(`data.conversation.uid=${smsConversation}`)}`);
    expect(found.json.data.map((e: { id: string }) => e.id)).toEqual([smsId]);
  });

  it("fails a delivery whose transformation errors once, for good, and sends nothing", async () => {
    const key = randomUUID().slice(0, 8);
    const org = `org-${key}`;
    await subscribe(key, { eventTypes: ["message.*"], organizationUid: org, transform: "data.body + 1" });
    const id = await sendToPodium(podiumMessage(org, "sms", "not a number"));
    const event = await eventually(async () => {
      const res = await api("GET", `/v1/events/${id}`);
      return res.json?.deliveries?.[0]?.status === "failed" ? res.json : null;
    }, 30_000, "the delivery to fail");
    const [d] = event.deliveries;
    expect(d.attemptCount).toBe(1);
    expect(d.attempts).toHaveLength(1);
    expect(d.attempts[0].error).toMatch(/^transformation failed, not retried: transform: JSONata error T2001 \(at position \d+\)/);
    expect(await down.requests(key)).toEqual([]);
  });
});
