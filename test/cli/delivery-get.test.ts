// `deliveries get <id>`: the delivery a request's edgehook-delivery-id names, with its attempts.
import { afterEach, describe, expect, it } from "vitest";
import { cleanUp, cliHome, fakeApi, Status } from "./fake-api";

afterEach(cleanUp);

const attempt = (number: number, statusCode: number | null, error: string | null) => ({ number, startedAt: `2026-11-01T00:0${number}:00.000Z`, durationMs: 40 + number, statusCode, error, responseSnippet: null });
const delivery = {
  id: "dlv_1",
  eventId: "evt_1",
  webhookUid: "wh_1",
  status: "failed",
  attemptCount: 2,
  nextAttemptAt: null,
  createdAt: "2026-11-01T00:00:00.000Z",
  updatedAt: "2026-11-01T00:02:00.000Z",
  webhookDeleted: false,
  attempts: [attempt(1, 500, null), attempt(2, null, "timeout after 10000 ms")],
};

describe("deliveries get", () => {
  it("prints the delivery, then a row an attempt; --json the API's answer as it came", async () => {
    const api = await fakeApi({ routes: { "GET /v1/deliveries/dlv_1": delivery } });
    const h = cliHome();
    const args = ["deliveries", "get", "dlv_1", "--url", api.url, "--token", "t"];
    const text = await h.edgehook(args);
    expect(text.code, text.stderr).toBe(0);
    expect(api.seen.map((s) => `${s.method} ${s.path}`)).toEqual(["GET /v1/deliveries/dlv_1"]);
    expect(text.stdout).toContain('"eventId": "evt_1"');
    expect(text.stdout).not.toContain('"attempts"');
    const rows = text.stdout.split("\n").filter((l) => /^\d /.test(l));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/^1\s+500\s+41\s+—\s+2026-11-01T00:01:00.000Z$/);
    expect(rows[1]).toMatch(/^2\s+—\s+42\s+timeout after 10000 ms\s+2026-11-01T00:02:00.000Z$/);
    expect(JSON.parse((await h.edgehook([...args, "--json"])).stdout)).toEqual(delivery);
  });

  it("exits 1 with the API's 404 for a delivery it does not know", async () => {
    const api = await fakeApi({ routes: { "GET /v1/deliveries/dlv_2": new Status(404, { error: { code: "not_found", message: 'No delivery "dlv_2".' } }) } });
    const r = await cliHome().edgehook(["deliveries", "get", "dlv_2", "--url", api.url, "--token", "t"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('No delivery "dlv_2".');
  });
});
