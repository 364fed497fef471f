import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { describe, expect, it, vi } from "vitest";
import { utf8 } from "../../src/domain/crypto";
import { eventIdFor } from "../../src/domain/ids";
import { podium } from "../../src/schemes/podium";
import vectors from "../fixtures/signature-vectors.json";
import docsExample from "../fixtures/docs-example.json?raw";
import messageReceived from "../fixtures/message.received.json?raw";
import contactUpdated from "../fixtures/contact.updated.json?raw";
import {
  call,
  createSource,
  podiumBody,
  podiumHeaders,
  post,
  recordingQueue,
} from "./helpers";
import { clockFrom } from "./clock";
import { d1Double } from "./d1-double";
import { findSource, SOURCE_CACHE_BOUNDS } from "../../src/ingress/sources";

const fixtures: Record<string, string> = {
  "docs-example.json": docsExample,
  "message.received.json": messageReceived,
  "contact.updated.json": contactUpdated,
};

async function sendPodium(body: string, headers: Record<string, string>, path = "/webhooks/podium") {
  const queue = recordingQueue();
  const res = await call(post(path, body, headers), { INGEST: queue });
  return { res, queue, json: (await res.json()) as { eventId?: string; error?: { code: string; message: string } } };
}

describe("Podium signatures", () => {
  it("reproduces the shared signature vectors", async () => {
    for (const v of vectors) {
      const body = fixtures[v.file]!;
      const signed = await podium.sign(v.secret, body, { timestamp: v.timestamp });
      expect(signed).toEqual({ "podium-timestamp": v.timestamp, "podium-signature": v.signatureHex });
      const request = { headers: new Headers(signed), raw: utf8(body), now: Date.now() };
      await expect(podium.verify(request, [v.secret], 0)).resolves.toBeUndefined();
      await expect(podium.verify(request, ["another-secret"], 0)).rejects.toMatchObject({ code: "invalid_signature" });
    }
  });

  it("accepts the vectors' requests on a source with their secret and the tolerance off", async () => {
    const source = await createSource({ secrets: [vectors[0]!.secret], toleranceSeconds: 0 });
    for (const v of vectors) {
      const body = fixtures[v.file]!;
      const { res, queue } = await sendPodium(
        body,
        { "podium-timestamp": v.timestamp, "podium-signature": v.signatureHex },
        `/webhooks/${source}`,
      );
      expect(res.status).toBe(202);
      expect(queue.sent[0]?.body).toBe(body);
    }
  });

  it("answers 202 with a deterministic eventId and queues the event's facts", async () => {
    const eventUid = crypto.randomUUID();
    const body = podiumBody({ type: "contact.updated", eventUid, locationUid: "loc-9", organizationUid: "org-9" });
    const { res, queue, json } = await sendPodium(body, await podiumHeaders(body));
    expect(res.status).toBe(202);
    expect(json.eventId).toBe(await eventIdFor({ id: "podium", eventSalt: null }, { given: eventUid }));
    expect(json.eventId).toMatch(/^evt_[0-9a-f]{32}$/);
    expect(queue.sent).toHaveLength(1);
    expect(queue.sent[0]).toMatchObject({
      eventId: json.eventId,
      sourceId: "podium",
      dedupeKey: eventUid,
      eventType: "contact.updated",
      locationUid: "loc-9",
      organizationUid: "org-9",
      body,
    });
  });

  it("gives a redelivered event the same id", async () => {
    const body = podiumBody();
    const first = await sendPodium(body, await podiumHeaders(body));
    const again = await sendPodium(body, await podiumHeaders(body, "podium-current", String(Date.now() + 1000)));
    expect(again.json.eventId).toBe(first.json.eventId);
  });

  it("accepts upper-case hex and a sha256= prefix", async () => {
    const body = podiumBody();
    const h = await podiumHeaders(body);
    for (const sig of [h["podium-signature"].toUpperCase(), `sha256=${h["podium-signature"]}`]) {
      const { res } = await sendPodium(body, { ...h, "podium-signature": sig });
      expect(res.status).toBe(202);
    }
  });

  it("accepts timestamps in seconds as well as milliseconds", async () => {
    const body = podiumBody();
    const { res } = await sendPodium(body, await podiumHeaders(body, "podium-current", String(Math.floor(Date.now() / 1000))));
    expect(res.status).toBe(202);
  });

  it("accepts a signature under any secret of a rotation, and no other", async () => {
    const body = podiumBody();
    expect((await sendPodium(body, await podiumHeaders(body, "podium-previous"))).res.status).toBe(202);
    const bad = await sendPodium(body, await podiumHeaders(body, "some-other-secret"));
    expect(bad.res.status).toBe(401);
    expect(bad.json.error?.code).toBe("invalid_signature");
    expect(bad.queue.sent).toHaveLength(0);
  });

  it("takes every secret a configuration variable lists, past the five an API source holds (docs/providers.md)", async () => {
    const secrets = ["cfg-one", "cfg-two", "cfg-three", "cfg-four", "cfg-five", "cfg-six"];
    const body = podiumBody();
    const res = await call(post("/webhooks/podium", body, await podiumHeaders(body, "cfg-six")), { PODIUM_WEBHOOK_SECRET: secrets.join(" ") });
    expect(res.status).toBe(202);
  });

  it("refuses a body changed after signing", async () => {
    const body = podiumBody();
    const { res, json, queue } = await sendPodium(body.replace("hello", "hellO"), await podiumHeaders(body));
    expect(res.status).toBe(401);
    expect(json.error?.code).toBe("invalid_signature");
    expect(queue.sent).toHaveLength(0);
  });

  it("answers 401 missing_signature without the headers, naming those missing, and queues nothing", async () => {
    const body = podiumBody();
    const h = await podiumHeaders(body);
    const cases = [[["podium-signature"], "The request has no podium-signature header;"], [["podium-timestamp"], "The request has no podium-timestamp header;"], [["podium-signature", "podium-timestamp"], "The request has no podium-timestamp or podium-signature headers;"]] as const;
    for (const [drop, said] of cases) {
      const headers: Record<string, string> = { ...h };
      for (const d of drop) delete headers[d];
      const { res, json, queue } = await sendPodium(body, headers);
      expect(res.status).toBe(401);
      expect(json.error?.code).toBe("missing_signature");
      expect(json.error?.message).toContain(said);
      expect(queue.sent).toHaveLength(0);
    }
  });

  it("holds the 300 s tolerance at its edges, in the past and the future", async () => {
    const body = podiumBody();
    const at = async (offsetMs: number) =>
      sendPodium(body, await podiumHeaders(body, "podium-current", String(Date.now() + offsetMs)));
    expect((await at(-295_000)).res.status).toBe(202);
    expect((await at(295_000)).res.status).toBe(202);
    for (const off of [-305_000, 305_000]) {
      const { res, json, queue } = await at(off);
      expect(res.status).toBe(401);
      expect(json.error?.code).toBe("timestamp_out_of_tolerance");
      expect(queue.sent).toHaveLength(0);
    }
  });

  it("uses a stored source's own tolerance", async () => {
    const source = await createSource({ secrets: ["s3cret"], toleranceSeconds: 10 });
    const body = podiumBody();
    const stale = await sendPodium(body, await podiumHeaders(body, "s3cret", String(Date.now() - 20_000)), `/webhooks/${source}`);
    expect(stale.json.error?.code).toBe("timestamp_out_of_tolerance");
    const fresh = await sendPodium(body, await podiumHeaders(body, "s3cret", String(Date.now() - 5_000)), `/webhooks/${source}`);
    expect(fresh.res.status).toBe(202);
  });

  it("answers 400 malformed_payload for a signed body that is not a JSON object", async () => {
    for (const body of ["[1,2,3]", "not json", "null", '"text"']) {
      const { res, json, queue } = await sendPodium(body, await podiumHeaders(body));
      expect(res.status).toBe(400);
      expect(json.error?.code).toBe("malformed_payload");
      expect(queue.sent).toHaveLength(0);
    }
  });

  it("reads the type from metadata.event_type, and says unknown without one", async () => {
    const snake = JSON.stringify({ data: {}, metadata: { event_type: "review.created", eventUid: "u1" } });
    const a = await sendPodium(snake, await podiumHeaders(snake));
    expect(a.queue.sent[0]).toMatchObject({ eventType: "review.created", locationUid: null, organizationUid: null });
    const bare = JSON.stringify({ data: {}, metadata: { locationUid: "L", organizationUid: "O" } });
    const b = await sendPodium(bare, await podiumHeaders(bare));
    expect(b.queue.sent[0]).toMatchObject({ eventType: "unknown", locationUid: "L", organizationUid: "O" });
    // Without an eventUid, the dedupe key is the SHA-256 of the raw body.
    const digest = [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(bare)))]
      .map((x) => x.toString(16).padStart(2, "0"))
      .join("");
    expect(b.queue.sent[0]?.dedupeKey).toBe(digest);
  });

  it("never stores signature headers or credentials with the event", async () => {
    const body = podiumBody();
    const { queue } = await sendPodium(body, { ...(await podiumHeaders(body)), authorization: "Bearer x", cookie: "a=b", "x-trace": "t1" });
    const stored = queue.sent[0]!.headers;
    expect(stored["x-trace"]).toBeUndefined(); // an allowlist: unknown headers are not kept
    expect(stored["podium-timestamp"]).toBeDefined();
    expect(Object.keys(stored)).not.toEqual(expect.arrayContaining(["podium-signature"]));
    expect(stored.authorization).toBeUndefined();
    expect(stored.cookie).toBeUndefined();
  });
});

describe("Standard Webhooks signatures", () => {
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const sw = (s = secret) => new Webhook(s);

  function swRequest(body: string, id: string, at: Date, signer = sw()) {
    return {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
      "webhook-signature": signer.sign(id, at, body),
    };
  }

  it("accepts a request signed by the standardwebhooks package, deduped by webhook-id", async () => {
    const body = JSON.stringify({ type: "invoice.paid", timestamp: new Date().toISOString(), data: { id: 1 } });
    const id = `msg_${crypto.randomUUID()}`;
    const { res, json, queue } = await sendPodium(body, swRequest(body, id, new Date()), "/webhooks/standard-webhooks");
    expect(res.status).toBe(202);
    expect(json.eventId).toBe(await eventIdFor({ id: "standard-webhooks", eventSalt: null }, { given: id }));
    expect(queue.sent[0]).toMatchObject({ eventType: "invoice.paid", dedupeKey: id, body });
  });

  it("accepts any matching v1 entry among several", async () => {
    const body = JSON.stringify({ type: "a.b", data: {} });
    const h = swRequest(body, "msg_1", new Date());
    const other = swRequest(body, "msg_1", new Date(), sw("whsec_" + btoa("another key")))["webhook-signature"];
    const { res } = await sendPodium(body, { ...h, "webhook-signature": `${other} ${h["webhook-signature"]}` }, "/webhooks/standard-webhooks");
    expect(res.status).toBe(202);
  });

  it("refuses a wrong key, a missing header and a stale timestamp", async () => {
    const body = JSON.stringify({ type: "a.b", data: {} });
    const wrong = await sendPodium(body, swRequest(body, "m1", new Date(), sw("whsec_" + btoa("wrong"))), "/webhooks/standard-webhooks");
    expect(wrong.json.error?.code).toBe("invalid_signature");
    const h: Record<string, string> = swRequest(body, "m1", new Date());
    delete h["webhook-id"];
    const missing = await sendPodium(body, h, "/webhooks/standard-webhooks");
    expect(missing.json.error?.code).toBe("missing_signature");
    const stale = await sendPodium(body, swRequest(body, "m1", new Date(Date.now() - 600_000)), "/webhooks/standard-webhooks");
    expect(stale.res.status).toBe(401);
    expect(stale.json.error?.code).toBe("timestamp_out_of_tolerance");
    for (const r of [wrong, missing, stale]) expect(r.queue.sent).toHaveLength(0);
  });
});

describe("sources", () => {
  it("answers 404 unknown_source for a missing, disabled or ill-formed source", async () => {
    const disabled = await createSource({ secrets: ["x"], disabled: true });
    for (const path of ["/webhooks/no-such-source", `/webhooks/${disabled}`, "/webhooks/..%2Fetc", "/webhooks/UPPER"]) {
      const body = podiumBody();
      const { res, json, queue } = await sendPodium(body, await podiumHeaders(body, "x"), path);
      expect(res.status).toBe(404);
      expect(json.error?.code).toBe("unknown_source");
      expect(queue.sent).toHaveLength(0);
    }
    // A well-formed id (a typo, most often) is told where the sources are listed.
    const body = podiumBody();
    const typo = await sendPodium(body, await podiumHeaders(body, "x"), "/webhooks/podum");
    expect(typo.json.error?.message).toBe('No enabled source is called "podum". GET /v1/sources (`npx edgehook sources list`) lists the sources and which are enabled.');
  });

  it("accepts unsigned requests only on a source created with verification none", async () => {
    const open = await createSource({ secrets: ["unused"], verification: "none" });
    const body = podiumBody();
    const { res } = await sendPodium(body, { "content-type": "application/json" }, `/webhooks/${open}`);
    expect(res.status).toBe(202);
    // The same unsigned request to a source made without saying so (verification is "signature"): refused.
    const signed = await createSource({ secrets: ["unused"] });
    const refused = await sendPodium(body, { "content-type": "application/json" }, `/webhooks/${signed}`);
    expect(refused.res.status).toBe(401);
  });

  it("makes no D1 write on the ack path, and no D1 read once the isolate's cache is warm", async () => {
    const source = await createSource({ secrets: ["warm"] });
    const { db, calls: counter } = d1Double();
    const send = async (path: string, secret: string) => {
      const body = podiumBody();
      const res = await call(post(path, body, await podiumHeaders(body, secret)), { DB: db, INGEST: recordingQueue() });
      expect(res.status).toBe(202);
    };
    await send(`/webhooks/${source}`, "warm");
    expect(counter.prepared).toBe(1); // the cold read of the source
    await send(`/webhooks/${source}`, "warm");
    await send("/webhooks/podium", "podium-current");
    expect(counter.prepared).toBe(1);
    expect(counter.batches).toEqual([]);
  });

  it("keeps the sources it serves in its cache however many unknown ids are posted to", async () => {
    const known = await createSource({ secrets: ["kept"] });
    const { db, calls } = d1Double();
    const counted = { ...env, DB: db };
    expect((await findSource(counted, known))?.id).toBe(known);
    expect(calls.prepared).toBe(1);
    // Anyone can post to random ids: more of them than the isolate keeps of either kind (each
    // looked up in a D1 that finds nothing at once, as the real one would find none of them).
    const nothing = new Proxy(env.DB, {
      get: (target, prop) => (prop === "prepare" ? () => ({ bind: () => ({ first: async () => null }) }) : Reflect.get(target, prop)),
    });
    const ids = Array.from({ length: SOURCE_CACHE_BOUNDS.found }, (_, i) => `nobody-${i}`);
    const found = await Promise.all(ids.map((id) => findSource({ ...env, DB: nothing }, id)));
    expect(found.every((s) => s === null)).toBe(true);
    // The known source is still served from memory (no D1 read), and so is the last unknown id.
    expect((await findSource(counted, known))?.id).toBe(known);
    expect(await findSource(counted, ids.at(-1)!)).toBeNull();
    expect(calls.prepared).toBe(1);
  });
});

describe("answers", () => {
  it("answers 503 queue_unavailable with Retry-After when the enqueue fails (the provider retries)", async () => {
    const body = podiumBody();
    const res = await call(post("/webhooks/podium", body, await podiumHeaders(body)), { INGEST: recordingQueue(true) });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("queue_unavailable");
  });

  it("answers 503 queue_unavailable, queueing nothing, when a body too large for a message cannot be written to R2", async () => {
    const body = podiumBody().replace('"body":"hello"', `"body":"${"x".repeat(150_000)}"`);
    const failingPut = new Proxy(env.BODIES, {
      get(target, prop) {
        if (prop === "put") return async () => Promise.reject(new Error("R2 put failed (test)"));
        const v = Reflect.get(target, prop);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    const queue = recordingQueue();
    const res = await call(post("/webhooks/podium", body, await podiumHeaders(body)), { INGEST: queue, BODIES: failingPut });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("queue_unavailable");
    expect(queue.sent).toEqual([]);
    // With R2 writing, the same body is taken, its message pointing at the body it wrote.
    const taken = recordingQueue();
    expect((await call(post("/webhooks/podium", body, await podiumHeaders(body)), { INGEST: taken })).status).toBe(202);
    expect(await (await env.BODIES.get(taken.sent[0]!.bodyKey!))?.text()).toBe(body);
  });

  it("goes on accepting a source it read through a D1 outage, and answers 503 with Retry-After (never a 500) for one it never read", async () => {
    const known = await createSource({ secrets: ["known"] });
    const unseen = await createSource({ secrets: ["unseen"] });
    const send = async (source: string, secret: string, db: D1Database) => {
      const body = podiumBody();
      const queue = recordingQueue();
      const res = await call(post(`/webhooks/${source}`, body, await podiumHeaders(body, secret)), { DB: db, INGEST: queue });
      return { res, queue, json: (await res.json()) as { error?: { code: string } } };
    };
    expect((await send(known, "known", env.DB)).res.status).toBe(202);
    // D1 goes down, and stays down past the isolate's 15 s trust in what it read.
    const { db: down } = d1Double({ down: true });
    const later = clockFrom(Date.now() + 60_000);
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const kept = await send(known, "known", down);
      expect(kept.res.status).toBe(202);
      expect(kept.queue.sent).toHaveLength(1);
      // A wrong signature is still refused: the source is verified as it was last read.
      expect((await send(known, "a-wrong-secret", down)).res.status).toBe(401);

      const refused = await send(unseen, "unseen", down);
      expect(refused.res.status).toBe(503);
      expect(refused.res.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(refused.json.error?.code).toBe("queue_unavailable");
      expect(refused.queue.sent).toHaveLength(0);
      // D1 was asked again for the known source once, not on every request of the outage.
      expect(errors.mock.calls.filter(([line]) => String(line).startsWith("source lookup failed")).length).toBe(1);
    } finally {
      errors.mockRestore();
      later();
    }
  });

  it("answers 413 payload_too_large over 256 KiB, and accepts exactly 256 KiB", async () => {
    const pad = (n: number) => {
      const shell = podiumBody();
      const filler = "x".repeat(n - shell.length - 9);
      return shell.replace('"body":"hello"', `"body":"hello","pad":"${filler}"`);
    };
    const max = pad(256 * 1024);
    expect(new TextEncoder().encode(max).byteLength).toBe(256 * 1024);
    const ok = await sendPodium(max, await podiumHeaders(max));
    expect(ok.res.status).toBe(202);
    // Too large for one queue message: the body waits in R2 and the message carries its key.
    const msg = ok.queue.sent[0]!;
    expect(msg.body).toBeUndefined();
    expect(await (await env.BODIES.get(msg.bodyKey!))?.text()).toBe(max);
    const over = max.replace("hello", "hello!");
    const big = await sendPodium(over, await podiumHeaders(over));
    expect(big.res.status).toBe(413);
    expect(big.json.error?.code).toBe("payload_too_large");
    expect(big.queue.sent).toHaveLength(0);
  });

  it("answers 405 to other methods on a webhook URL and JSON 404 elsewhere", async () => {
    const get = await call(new Request("https://edgehook.test/webhooks/podium"));
    expect(get.status).toBe(405);
    expect(((await get.json()) as { error: { code: string } }).error.code).toBe("method_not_allowed");
    // POST alone: no GET is served here, so no HEAD either.
    expect(get.headers.get("allow")).toBe("POST");
    const head = await call(new Request("https://edgehook.test/webhooks/podium", { method: "HEAD" }));
    expect(head.status).toBe(405);
    expect(head.headers.get("allow")).toBe("POST");
    const nowhere = await call(new Request("https://edgehook.test/nowhere"));
    expect(nowhere.status).toBe(404);
    expect(((await nowhere.json()) as { error: { code: string } }).error.code).toBe("not_found");
  });

  it("points an API call made without its /v1 to it, rather than to the ingress's POST", async () => {
    const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;
    const uid = "783c85ab-3f17-4fb0-b2fe-260f1ec01bf6";
    // GET /webhooks/{uid} is the ingress's path: its 405 alone said "use POST".
    expect(await errorOf(await call(new Request(`https://edgehook.test/webhooks/${uid}`)))).toEqual({
      code: "method_not_allowed",
      message: `GET is not served here; use POST. The API is under /v1: GET /v1/webhooks/${uid}.`,
    });
    expect(await errorOf(await call(new Request(`https://edgehook.test/webhooks/${uid}`, { method: "DELETE" })))).toEqual({
      code: "method_not_allowed",
      message: `DELETE is not served here; use POST. The API is under /v1: DELETE /v1/webhooks/${uid}.`,
    });
    expect(await errorOf(await call(new Request("https://edgehook.test/events")))).toEqual({
      code: "not_found",
      message: "No route for GET /events: GET /openapi.json lists the API's routes. The API is under /v1: GET /v1/events.",
    });
    // A source's ingress URL (opened in a browser) is pointed to its source, not to a webhook of its id.
    expect((await errorOf(await call(new Request("https://edgehook.test/webhooks/podium")))).message).toBe(
      "GET is not served here; use POST. This URL receives a source's webhooks; the API serves GET /v1/sources/podium.",
    );
    expect((await errorOf(await call(new Request("https://edgehook.test/webhooks/podium", { method: "PUT" })))).message).toBe("PUT is not served here; use POST.");
    // An id no source can have names no webhook either: not pointed to /v1/webhooks/{it} (an unrelated route).
    for (const id of ["%", "Acme", "a.b", "a_b"]) {
      expect((await errorOf(await call(new Request(`https://edgehook.test/webhooks/${id}`)))).message, id).toBe("GET is not served here; use POST.");
    }
    // A path the ingress takes no source id from (empty, or deeper) is no route, whatever the method: its POST
    // is the ingress's 404 unknown_source, so a 405 saying "use POST" would send the caller there.
    for (const [method, path, hint] of [
      ["GET", "/webhooks/", ""],
      ["GET", "/webhooks/podium/extra", ""],
      ["GET", `/webhooks/${uid}/test`, ` The API is under /v1, which serves POST /v1/webhooks/${uid}/test.`],
      ["DELETE", `/webhooks/${uid}/test`, ` The API is under /v1, which serves POST /v1/webhooks/${uid}/test.`],
    ]) {
      const res = await call(new Request(`https://edgehook.test${path}`, { method }));
      expect([res.status, res.headers.get("allow")], `${method} ${path}`).toEqual([404, null]);
      expect(await errorOf(res), `${method} ${path}`).toEqual({ code: "not_found", message: `No route for ${method} ${path}: GET /openapi.json lists the API's routes.${hint}` });
    }
    expect((await errorOf(await call(post(`/webhooks/${uid}/test`, "{}", {})))).code).toBe("unknown_source");
    expect((await errorOf(await call(new Request("https://edgehook.test/nowhere")))).message).toBe("No route for GET /nowhere: GET /openapi.json lists the API's routes.");
  });

  it("answers healthz", async () => {
    const res = await call(new Request("https://edgehook.test/healthz"));
    expect(res.status).toBe(200);
  });
});
