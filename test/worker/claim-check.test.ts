import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AppError } from "../../src/domain/errors";
import type { IngestMessage } from "../../src/domain/types";
import { enqueue, MAX_INLINE_MESSAGE_BYTES } from "../../src/ingress/enqueue";
import { d1Double } from "./d1-double";
import { recordingQueue } from "./helpers";
import { pipeline } from "./pipeline";
import { eventStored } from "./rows";

const jsonBytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).byteLength;

function message(body: string, headers: Record<string, string> = { "content-type": "application/json" }): IngestMessage {
  return {
    v: 1,
    eventId: `evt_${crypto.randomUUID().replaceAll("-", "")}`,
    sourceId: "podium",
    receivedAt: Date.now(),
    headers,
    dedupeKey: crypto.randomUUID(),
    eventType: "message.received",
    locationUid: "loc-1",
    organizationUid: null,
    body,
  };
}

/** Enqueues `msg` and says where its body went. */
async function place(msg: IngestMessage): Promise<"inline" | "r2"> {
  const queue = recordingQueue();
  await enqueue({ ...env, INGEST: queue }, msg);
  const sent = queue.sent[0]!;
  if (sent.body !== undefined) {
    expect(sent.body).toBe(msg.body);
    return "inline";
  }
  expect(await (await env.BODIES.get(sent.bodyKey!))?.text()).toBe(msg.body);
  return "r2";
}

describe("the claim check", () => {
  it("keeps a body inline exactly when the message's JSON fits in one queue message", async () => {
    // Characters JSON writes as 1 (a), 2 (é, \"), 3 (€), 4 per pair (😀) and 6 (\u0001) bytes.
    const run = fc.tuple(fc.constantFrom("a", "é", '"', "€", "😀", "\u0001"), fc.nat({ max: 45_000 }));
    await fc.assert(
      fc.asyncProperty(fc.array(run, { minLength: 1, maxLength: 3 }), async (runs) => {
        const msg = message(runs.map(([c, n]) => c.repeat(n)).join(""));
        expect(await place(msg)).toBe(jsonBytes(msg) <= MAX_INLINE_MESSAGE_BYTES ? "inline" : "r2");
      }),
      { numRuns: 60 },
    );
  });

  it("measures bodies whose characters escape or encode to several bytes", async () => {
    expect(await place(message("a".repeat(100_000)))).toBe("inline");
    expect(await place(message("\u0001".repeat(25_000)))).toBe("r2"); // 25,000 bytes raw, 150,000 as JSON
    expect(await place(message("€".repeat(41_000)))).toBe("r2"); // 41,000 characters, 123,000 bytes
    expect(await place(message("€".repeat(39_000)))).toBe("inline");
    const headers = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`x-h${i}`, "\u0001".repeat(1024)]));
    expect(await place(message("a".repeat(60_000), headers))).toBe("r2"); // the headers are 61,000 bytes, the body 60,000
  });

  it("refuses with payload_too_large, writing nothing, a message that would not fit even without its body", async () => {
    const queue = recordingQueue();
    const withQueue = { ...env, INGEST: queue };
    const headers = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`x-h${i}`, "\u0001".repeat(1024)])); // 245,000 bytes
    const tooLarge = [
      message("a".repeat(1_000), headers),
      { ...message("a".repeat(200_000)), eventType: "x".repeat(MAX_INLINE_MESSAGE_BYTES) },
      { ...message("a"), dedupeKey: "\u0001".repeat(MAX_INLINE_MESSAGE_BYTES / 6) },
    ];
    for (const msg of tooLarge) {
      const refused = await enqueue(withQueue, msg).then(() => null, (err: unknown) => err);
      expect(refused).toBeInstanceOf(AppError);
      expect(refused).toMatchObject({ code: "payload_too_large", message: expect.stringMatching(/headers and the fields read from its body/) });
      expect((await env.BODIES.list({ prefix: `ingest/${msg.eventId}/` })).objects).toEqual([]);
    }
    expect(queue.sent).toEqual([]);
  });
});

/** The test bucket, its get() or delete() failing while `broken` says so (R2 failing for a while). */
function flakyBucket(broken: { get?: boolean; delete?: boolean }): R2Bucket {
  return new Proxy(env.BODIES, {
    get(target, prop) {
      if ((prop === "get" && broken.get) || (prop === "delete" && broken.delete)) {
        return async () => Promise.reject(new Error(`R2 ${prop} failed (test)`));
      }
      const v = Reflect.get(target, prop);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/** A message whose body waits in R2, as the ack path sends it. */
async function claimChecked(): Promise<IngestMessage & { bodyKey: string }> {
  const p = pipeline();
  await enqueue(p.env, message("a".repeat(200_000)));
  const sent = p.queues.ingest.sent[0]!;
  const { bodyKey } = sent;
  if (bodyKey === undefined) throw new Error("the body went inline");
  return { ...sent, bodyKey };
}

const inR2 = async (key: string) => (await env.BODIES.head(key)) !== null;

describe("the claim-checked body of a redelivered message", () => {
  it("is deleted when R2 fails to read it for an event already stored, and the message acked", async () => {
    const msg = await claimChecked();
    // The first delivery stores the event and loses its cleanup (as when cut short after the store).
    const first = await pipeline({ BODIES: flakyBucket({ delete: true }) }).runIngest([msg]);
    expect(first.acked).toHaveLength(1);
    expect(await eventStored(msg.eventId)).toBe(true);
    expect(await inR2(msg.bodyKey)).toBe(true);

    // The queue delivers it again, and R2 fails to read the body this time.
    const again = await pipeline({ BODIES: flakyBucket({ get: true }) }).runIngest([msg]);
    expect(again.acked).toHaveLength(1);
    expect(await inR2(msg.bodyKey)).toBe(false);
  });

  it("is kept, the message retried, when its delete fails too; the next delivery deletes it", async () => {
    const msg = await claimChecked();
    await pipeline({ BODIES: flakyBucket({ delete: true }) }).runIngest([msg]);
    expect(await eventStored(msg.eventId)).toBe(true);

    const failing = await pipeline({ BODIES: flakyBucket({ get: true, delete: true }) }).runIngest([msg]);
    expect(failing.acked).toEqual([]);
    expect(failing.retried).toHaveLength(1);
    expect(failing.retryDelays[0]).toBeGreaterThan(0);
    expect(await inR2(msg.bodyKey)).toBe(true);

    const next = await pipeline().runIngest([msg]);
    expect(next.acked).toHaveLength(1);
    expect(await inR2(msg.bodyKey)).toBe(false);
  });

  it("is never deleted while its event is not stored: R2 failing to read it, or D1 to say whether it is stored, retries the message", async () => {
    const msg = await claimChecked();
    const unread = await pipeline({ BODIES: flakyBucket({ get: true }) }).runIngest([msg]);
    expect(unread.retried).toHaveLength(1);
    const unknown = await pipeline({ BODIES: flakyBucket({ get: true }), DB: d1Double({ down: true }).db }).runIngest([msg]);
    expect(unknown.retried).toHaveLength(1);
    expect(await eventStored(msg.eventId)).toBe(false);
    expect(await inR2(msg.bodyKey)).toBe(true);

    // R2 reads it again: stored, byte for byte, then deleted.
    const stored = await pipeline().runIngest([msg]);
    expect(stored.acked).toHaveLength(1);
    expect((await pipeline().api("GET", `/v1/events/${msg.eventId}`)).json.body).toBe("a".repeat(200_000));
    expect(await inR2(msg.bodyKey)).toBe(false);
  });
});
