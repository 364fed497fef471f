// `deliveries retry` says what the API did: a delivery of a disabled webhook is held (it goes out
// when the webhook is enabled), not retried now, and the CLI must not claim otherwise.
import { afterEach, describe, expect, it } from "vitest";
import { cleanUp, cliHome, fakeApi, Status } from "./fake-api";

afterEach(cleanUp);

/** The API's 202 to a retry: the delivery as it is now. */
const delivery = (status: string) =>
  new Status(202, { id: "dlv_1", eventId: "evt_1", webhookUid: "wh_1", status, attemptCount: 1, nextAttemptAt: null, createdAt: "2026-01-01T00:00:00.000Z", updatedAt: "2026-01-01T00:00:00.000Z" });

describe("deliveries retry", () => {
  it("says a single retry was held when the API held it, and retrying when it did not", async () => {
    const held = await fakeApi({ routes: { "POST /v1/deliveries/dlv_1/retry": delivery("held") } });
    const h = cliHome();
    const args = (url: string) => ["deliveries", "retry", "dlv_1", "--url", url, "--token", "t"];

    const text = await h.edgehook(args(held.url));
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain("held dlv_1");
    expect(text.stdout).not.toContain("retrying");
    const json = await h.edgehook([...args(held.url), "--json"]);
    expect(JSON.parse(json.stdout)).toEqual({ retried: "dlv_1", status: "held" });

    const pending = await fakeApi({ routes: { "POST /v1/deliveries/dlv_1/retry": delivery("pending") } });
    const sent = await h.edgehook(args(pending.url));
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout).toContain("retrying dlv_1");
    expect(JSON.parse((await h.edgehook([...args(pending.url), "--json"])).stdout)).toEqual({ retried: "dlv_1", status: "pending" });
  });

  it("says how many of a bulk retry were held", async () => {
    const api = await fakeApi({ routes: { "POST /v1/deliveries/retry": new Status(202, { count: 3, held: 2, nextCursor: null }) } });
    const h = cliHome();
    const r = await h.edgehook(["deliveries", "retry", "--status", "failed", "--url", api.url, "--token", "t"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("retrying 3 deliveries (2 of them held");
  });
});
