import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AppError } from "../../src/domain/errors";
import type { IngestMessage } from "../../src/domain/types";
import { enqueue, MAX_INLINE_MESSAGE_BYTES } from "../../src/ingress/enqueue";
import { recordingQueue } from "./helpers";

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
