// A request whose body breaks off mid-upload (the client disconnected, or its chunked encoding
// was cut): the ingress, the API and the dashboard answer a 400 and queue nothing; it is not a server error.
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, call, podiumHeaders, recordingQueue } from "./helpers";

/** A body that delivers its first bytes, then fails as a lost connection does. */
function brokenBody(first: string): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent) return controller.error(new Error("Network connection lost."));
      sent = true;
      controller.enqueue(new TextEncoder().encode(first));
    },
  });
}

/** Sent without a Content-Length (read by the body limit) and with one. */
const LENGTHS: Record<string, string>[] = [{}, { "content-length": "40" }];

describe("a body that breaks off mid-upload", () => {
  it("is a 400 at the ingress, nothing queued", async () => {
    const body = '{"metadata":{"eventType":"message.received","eventUid":"broken-1"},"data":{}}';
    const queue = recordingQueue();
    const res = await call(
      new Request("https://edgehook.test/webhooks/podium", { method: "POST", body: brokenBody(body.slice(0, 20)), headers: await podiumHeaders(body) }),
      { INGEST: queue },
    );
    const answer = (await res.json()) as { error: { code: string } };
    expect({ status: res.status, code: answer.error.code }).toEqual({ status: 400, code: "malformed_payload" });
    expect(queue.sent).toEqual([]);
  });

  // With a Content-Length or without, the body limit reads the body before routing (hono's let a route meet one with).
  for (const length of LENGTHS) {
    for (const [method, path] of [["POST", "/v1/webhooks"], ["POST", "/v1/deliveries/dlv_none/retry"], ["PATCH", "/v1/sources/none"]] as const) {
      it(`is a 400 at the API: ${method} ${path} ${JSON.stringify(length)}`, async () => {
        const res = await call(
          new Request(`https://edgehook.test${path}`, {
            method,
            body: brokenBody('{"url":"https://exa'),
            headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json", ...length },
          }),
        );
        const answer = (await res.json()) as { error: { code: string } };
        expect({ status: res.status, code: answer.error.code }).toEqual({ status: 400, code: "invalid_request" });
      });
    }
  }

  for (const length of LENGTHS) {
    it(`is a 400 at the dashboard ${JSON.stringify(length)}`, async () => {
      const res = await call(
        new Request("https://edgehook.test/dashboard/login", {
          method: "POST",
          body: brokenBody("token=abc"),
          headers: { origin: "https://edgehook.test", "content-type": "application/x-www-form-urlencoded", ...length },
        }),
      );
      expect(res.status).toBe(400);
      expect(await res.text()).toContain("The body broke off before its end");
    });
  }

  // Over the wire (SELF), a GET or HEAD saying `content-length: 0`, as some clients always do, or
  // `transfer-encoding: chunked` has a body stream, which the body limit must not carry into a rebuilt request.
  it("lets a GET or HEAD with a Content-Length or Transfer-Encoding through to its route", async () => {
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, "cf-connecting-ip": "198.51.100.7" };
    for (const [method, path, headers] of [
      ["GET", "/v1/webhooks", { ...auth, "content-length": "0" }],
      ["HEAD", "/v1/webhooks", { ...auth, "content-length": "0" }],
      ["GET", "/v1/webhooks", { ...auth, "transfer-encoding": "chunked" }],
      ["GET", "/dashboard/login", { "content-length": "0" }],
    ] as const) {
      const res = await SELF.fetch(`https://edgehook.test${path}`, { method, headers });
      await res.arrayBuffer();
      expect(res.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(200);
    }
  });
});
