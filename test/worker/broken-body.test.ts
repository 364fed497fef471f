// A request whose body breaks off mid-upload (the client disconnected, or its chunked encoding
// was cut): the ingress, the API and the dashboard answer a 400 and queue nothing; it is not a server error.
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

  it("is a 400 at the API", async () => {
    const res = await call(
      new Request("https://edgehook.test/v1/webhooks", {
        method: "POST",
        body: brokenBody('{"url":"https://exa'),
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      }),
    );
    const answer = (await res.json()) as { error: { code: string } };
    expect({ status: res.status, code: answer.error.code }).toEqual({ status: 400, code: "invalid_request" });
  });

  it("is a 400 at the dashboard", async () => {
    const res = await call(
      new Request("https://edgehook.test/dashboard/login", {
        method: "POST",
        body: brokenBody("token=abc"),
        headers: { origin: "https://edgehook.test", "content-type": "application/x-www-form-urlencoded" },
      }),
    );
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("The body broke off before its end");
  });
});
