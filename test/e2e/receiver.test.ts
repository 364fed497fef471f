import { execFile } from "node:child_process";
import { request } from "node:http";
import { promisify } from "node:util";
import { compileErrors, validate } from "@readme/openapi-parser";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { podiumEvent, sendPodium } from "./podium";
import { eventually, startStack, type Stack } from "./stack";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const admin = () => ({ authorization: `Bearer ${stack.vars.ADMIN_TOKEN}` });
const podiumSecret = () => stack.vars.PODIUM_WEBHOOK_SECRET!.split(" ")[0]!;

async function getEvent(id: string) {
  const res = await fetch(`${stack.url}/v1/events/${id}`, { headers: admin() });
  return res.status === 200 ? ((await res.json()) as { id: string; body: string; eventType: string; deliveries: unknown[] }) : null;
}

async function listAll(): Promise<{ id: string }[]> {
  const out: { id: string }[] = [];
  let cursor: string | null = null;
  do {
    const res = await fetch(`${stack.url}/v1/events?limit=100${cursor ? `&cursor=${cursor}` : ""}`, { headers: admin() });
    const page = (await res.json()) as { data: { id: string }[]; nextCursor: string | null };
    out.push(...page.data);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

/** An OpenAPI 3 document, as the validator takes one. */
type OpenApi3 = Extract<Exclude<Parameters<typeof validate>[0], string>, { openapi: string }>;

/** Whether a value is an OpenAPI 3 document at its top (its version, info and paths); the validator checks the rest. */
function isOpenApi3(v: unknown): v is OpenApi3 {
  return (
    typeof v === "object" &&
    v !== null &&
    "openapi" in v &&
    typeof v.openapi === "string" &&
    "info" in v &&
    typeof v.info === "object" &&
    v.info !== null &&
    "paths" in v &&
    typeof v.paths === "object" &&
    v.paths !== null
  );
}

describe("the local stack (wrangler dev)", () => {
  it("receives signed Podium events, stores each once, and serves them through /v1/events", async () => {
    const eventUid = `dup-${Date.now()}`;
    const bodies = [podiumEvent({ type: "message.received" }), podiumEvent({ type: "contact.updated", eventUid })];
    const ids: string[] = [];
    for (const body of bodies) {
      const res = await sendPodium(`${stack.url}/webhooks/podium`, body, podiumSecret());
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { eventId: string }).eventId);
    }
    // The same event again (a provider retry), signed with the older secret of the rotation.
    const again = await sendPodium(`${stack.url}/webhooks/podium`, bodies[1]!, "e2e-podium-old");
    expect(((await again.json()) as { eventId: string }).eventId).toBe(ids[1]);

    for (const [i, id] of ids.entries()) {
      const event = await eventually(() => getEvent(id), 20_000, `event ${id}`);
      expect(event.body).toBe(bodies[i]);
      expect(event.deliveries).toEqual([]);
    }
    // A later event: once it is stored, the duplicate queued ahead of it was consumed too. Then count.
    const sentinel = await sendPodium(`${stack.url}/webhooks/podium`, podiumEvent({ type: "message.sent" }), podiumSecret());
    const { eventId: sentinelId } = (await sentinel.json()) as { eventId: string };
    await eventually(() => getEvent(sentinelId), 20_000, "the later event");
    const listed = await listAll();
    expect(listed.filter((e) => e.id === ids[1])).toHaveLength(1);
  });

  it("carries a 200 KiB body through R2 and stores it byte for byte", async () => {
    const body = podiumEvent({ pad: "ü".repeat(100 * 1024) });
    expect(Buffer.byteLength(body)).toBeGreaterThan(200 * 1024);
    const res = await sendPodium(`${stack.url}/webhooks/podium`, body, podiumSecret());
    expect(res.status).toBe(202);
    const { eventId } = (await res.json()) as { eventId: string };
    const event = await eventually(() => getEvent(eventId), 20_000, "the large event");
    expect(event.body).toBe(body);
  });

  it("receives Standard Webhooks requests signed by the standardwebhooks package", async () => {
    const body = JSON.stringify({ type: "invoice.paid", data: { id: 42 } });
    const id = `msg_${Date.now()}`;
    const now = new Date();
    const res = await fetch(`${stack.url}/webhooks/standard-webhooks`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "webhook-id": id,
        "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
        "webhook-signature": new Webhook(stack.vars.STANDARD_WEBHOOKS_SECRET!).sign(id, now, body),
      },
      body,
    });
    expect(res.status).toBe(202);
    const { eventId } = (await res.json()) as { eventId: string };
    const event = await eventually(() => getEvent(eventId), 20_000, "the Standard Webhooks event");
    expect(event.eventType).toBe("invoice.paid");
  });

  it("refuses what it cannot verify, with the contract's error codes", async () => {
    const body = podiumEvent();
    const forged = await sendPodium(`${stack.url}/webhooks/podium`, body, "not-the-secret");
    expect(forged.status).toBe(401);
    expect(((await forged.json()) as { error: { code: string } }).error.code).toBe("invalid_signature");
    const unknown = await sendPodium(`${stack.url}/webhooks/nobody`, body, podiumSecret());
    expect(unknown.status).toBe(404);
    const unauth = await fetch(`${stack.url}/v1/events`);
    expect(unauth.status).toBe(401);

    // Both refusals reach the rejection log (tallied, sent after the answer, recorded by its consumer).
    type Log = { summary: { reason: string; lastDay: number }[]; recent: { requested: string; headerNames: string[] }[] };
    const log = (id: string) =>
      eventually(async () => {
        const res = await fetch(`${stack.url}/v1/sources/${id}/rejections`, { headers: admin() });
        const json = (await res.json()) as Log;
        return json.summary.length > 0 ? json : null;
      }, 30_000, `the rejection log of ${id}`);
    const podium = await log("podium");
    expect(podium.summary).toContainEqual(expect.objectContaining({ reason: "invalid_signature" }));
    expect(podium.recent[0]!.headerNames).toContain("podium-signature");
    expect((await log("(unknown)")).recent.map((r) => r.requested)).toContain("nobody");
  });

  it("answers 413 to a chunked body while it is still being sent, past 256 KiB", async () => {
    // Twice the limit is sent, then the body is left open: only a server that answers before a
    // body ends answers now. (One that waits for the end is given it 30 s on, so that its late
    // answer fails the test instead of its timeout.)
    const limit = 256 * 1024;
    const chunk = Buffer.alloc(16 * 1024, 0x20);
    const target = new URL(`${stack.url}/webhooks/podium`);
    const send = () =>
      new Promise<{ status: number; sent: number; endedFirst: boolean } | "reset">((resolve) => {
        let sent = 0;
        let ended = false;
        let answered = false;
        const req = request(
          { host: target.hostname, port: target.port, path: target.pathname, method: "POST", headers: { "content-type": "application/json" } },
          (res) => {
            answered = true;
            clearTimeout(giveUp);
            resolve({ status: res.statusCode ?? 0, sent, endedFirst: ended });
            res.resume();
            req.destroy();
          },
        );
        req.on("error", () => (answered ? undefined : (clearTimeout(giveUp), resolve("reset"))));
        const giveUp = setTimeout(() => {
          ended = true;
          req.end();
        }, 30_000);
        while (sent < 2 * limit) {
          req.write(chunk);
          sent += chunk.byteLength;
        }
      });
    // The server closes a connection whose body it did not read; the reset that follows its
    // answer can reach the client first, and the client's kernel then drops the answer. Such a
    // try shows nothing either way, so it is tried again; a server that never answers fails.
    let outcome = await send();
    for (let tries = 1; outcome === "reset" && tries < 4; tries++) outcome = await send();
    if (outcome === "reset") throw new Error("every try ended in a reset without an answer");
    expect(outcome.status).toBe(413);
    expect(outcome.endedFirst, "answered only once the body ended").toBe(false);
  });

  it("`npm run send` delivers a signed sample event that is then stored", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["scripts/send.mjs", "--url", `${stack.url}/webhooks/podium`, "--secret", podiumSecret(), "--type", "review.created"],
      { cwd: new URL("../..", import.meta.url).pathname },
    );
    expect(stdout).toMatch(/→ 202/);
    const eventId = /"eventId":"(evt_[0-9a-f]+)"/.exec(stdout)?.[1];
    expect(eventId).toBeDefined();
    const event = await eventually(() => getEvent(eventId!), 20_000, "the sent event");
    expect(event.eventType).toBe("review.created");
  });

  it("publishes a valid OpenAPI 3.1 document listing every route, and the /docs page", async () => {
    const doc: unknown = await (await fetch(`${stack.url}/openapi.json`)).json();
    if (!isOpenApi3(doc)) throw new Error(`not an OpenAPI 3 document: ${JSON.stringify(doc).slice(0, 200)}`);
    expect(doc.openapi).toBe("3.1.0");
    const result = await validate(structuredClone(doc));
    if (!result.valid) throw new Error(compileErrors(result));
    const routes: [string, string][] = [
      ["/webhooks/{sourceId}", "post"],
      ["/healthz", "get"],
      ["/v1/events", "get"],
      ["/v1/events/{id}", "get"],
      ["/v1/events/{id}/replay", "post"],
      ["/v1/webhooks", "get"],
      ["/v1/webhooks", "post"],
      ["/v1/webhooks/{uid}", "get"],
      ["/v1/webhooks/{uid}", "patch"],
      ["/v1/webhooks/{uid}", "put"],
      ["/v1/webhooks/{uid}", "delete"],
      ["/v1/deliveries", "get"],
      ["/v1/deliveries/{id}/retry", "post"],
      ["/v1/deliveries/retry", "post"],
      ["/v1/sources", "get"],
      ["/v1/sources", "post"],
      ["/v1/sources/{id}", "get"],
      ["/v1/sources/{id}", "patch"],
      ["/v1/sources/{id}", "delete"],
      ["/v1/tokens", "get"],
      ["/v1/tokens", "post"],
      ["/v1/tokens/{id}", "delete"],
      ["/v1/event-types", "get"],
      ["/v1/stats", "get"],
    ];
    for (const [path, method] of routes) expect(doc.paths?.[path], `${method} ${path}`).toHaveProperty(method);
    const docs = await fetch(`${stack.url}/docs`);
    expect(docs.status).toBe(200);
    expect(docs.headers.get("content-type")).toMatch(/html/);
  });
});
