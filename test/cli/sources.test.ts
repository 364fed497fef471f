// `sources create` names the source's owner (a token limited to several organizations must), and
// `sources update` changes how it verifies: the fields the API's POST and PATCH take, sent as given.
import { afterEach, describe, expect, it } from "vitest";
import { cleanUp, cliHome, fakeApi, Status } from "./fake-api";

afterEach(cleanUp);

const source = { id: "m", name: "m", provider: "podium", disabled: false, ingressUrl: "https://e.test/webhooks/m" };

async function run(args: string[]) {
  const api = await fakeApi({ routes: { "POST /v1/sources": new Status(201, source), "PATCH /v1/sources/m": source } });
  const r = await cliHome().edgehook([...args, "--url", api.url, "--token", "t"]);
  return { ...r, bodies: api.seen.map((s) => s.body) };
}

describe("sources create --organization", () => {
  it("sends the owner as organizationUid", async () => {
    const r = await run(["sources", "create", "--name", "m", "--provider", "podium", "--secret", "abcdefghijk", "--organization", "orgA"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.bodies).toEqual([{ name: "m", provider: "podium", secrets: ["abcdefghijk"], verification: "signature", organizationUid: "orgA" }]);
  });

  it("sends no owner when none is given (the API picks a token's only organization)", async () => {
    const r = await run(["sources", "create", "--name", "m", "--provider", "podium", "--secret", "abcdefghijk"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.bodies[0]).not.toHaveProperty("organizationUid");
  });

  it("says --organization in its help", async () => {
    const r = await cliHome().edgehook(["sources", "create", "--help"]);
    expect(r.stdout).toContain("--organization <uid>");
  });
});

describe("sources update: how it verifies", () => {
  const update = (...options: string[]) => run(["sources", "update", "m", ...options]);

  it("sends a new hmac configuration and shop domain", async () => {
    const hmac = { header: "x-signature", algorithm: "SHA-256", encoding: "base64" };
    const r = await update("--hmac", JSON.stringify(hmac), "--shop-domain", "acme.myshopify.com");
    expect(r.code, r.stderr).toBe(0);
    expect(r.bodies).toEqual([{ hmac, shopDomain: "acme.myshopify.com" }]);
  });

  it("unpins the shop with --no-shop-domain (null)", async () => {
    const r = await update("--no-shop-domain");
    expect(r.code, r.stderr).toBe(0);
    expect(r.bodies).toEqual([{ shopDomain: null }]);
  });

  it("turns verification off with --no-verification and on again with --verification", async () => {
    const off = await update("--no-verification");
    expect(off.code, off.stderr).toBe(0);
    expect(off.bodies).toEqual([{ verification: "none" }]);
    const on = await update("--verification");
    expect(on.code, on.stderr).toBe(0);
    expect(on.bodies).toEqual([{ verification: "signature" }]);
  });

  it("leaves verification as it is when neither is given", async () => {
    const r = await update("--name", "n");
    expect(r.code, r.stderr).toBe(0);
    expect(r.bodies).toEqual([{ name: "n" }]);
  });

  it("refuses an --hmac that is not a JSON object (exit 2), sending nothing", async () => {
    const r = await update("--hmac", "[1]");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("not a JSON object");
    expect(r.bodies).toEqual([]);
  });

  it("refuses an --hmac with a number out of range (sent again it would be null), sending nothing", async () => {
    const r = await update("--hmac", '{"header":"x-signature","toleranceSeconds":1e400}');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("toleranceSeconds: not a JSON value (a number out of range");
    expect(r.bodies).toEqual([]);
  });

  it("says an --hmac's error as --filter's, naming the option and never repeating the value, on create and update alike", async () => {
    const value = '{"header":"x-signature","n":"sekrit","n":1}';
    for (const args of [["sources", "update", "m"], ["sources", "create", "--name", "m", "--provider", "hmac"]]) {
      const r = await run([...args, "--hmac", value]);
      expect(r.code, args[1]).toBe(2);
      expect(r.stderr, args[1]).toBe("error: option '--hmac <json>' is invalid: n: this key is given twice in one object (JSON would keep only the last): give it once.\n(add --help for usage)\n");
      expect(r.bodies).toEqual([]);
    }
  });
});
