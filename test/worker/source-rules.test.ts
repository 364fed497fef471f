// What a source's provider needs to verify it (domain/source-rules.ts): the same rules, and the
// same answer, whether the source is being made (POST) or changed (PATCH: the source as the
// change would leave it); a refused change saves nothing.
import { describe, expect, it } from "vitest";
import { storedHeaderNames } from "../../src/ingress/providers";
import { pipeline } from "./pipeline";

const SECRETS = { path: "secrets", message: "a source with signature verification needs 1 to 5 secrets" };
const HMAC = { path: "hmac", message: "the hmac configuration is required for the hmac provider, and only for it" };
const SHOP = { path: "shopDomain", message: "only a shopify source has a shop domain" };

const refusal = (...issues: { path: string; message: string }[]) => ({
  error: { code: "invalid_request", message: `Invalid body: ${issues[0]!.path}: ${issues[0]!.message}.`, details: { issues } },
});

describe("a source's verification rules", () => {
  it("refuses to make a source its provider cannot verify, naming every field at fault", async () => {
    const p = pipeline();
    const cases = [
      [{ name: "a", provider: "podium" }, [SECRETS]],
      [{ name: "a", provider: "hmac", secrets: ["a-long-secret"] }, [HMAC]],
      [{ name: "a", provider: "github", secrets: ["a-long-secret"], hmac: { header: "x-sig" } }, [HMAC]],
      [{ name: "a", provider: "github", secrets: ["a-long-secret"], shopDomain: "acme.myshopify.com" }, [SHOP]],
      [{ name: "a", provider: "github", hmac: { header: "x-sig" }, shopDomain: "acme.myshopify.com" }, [SECRETS, HMAC, SHOP]],
    ] as const;
    for (const [body, issues] of cases) {
      const res = await p.api("POST", "/v1/sources", body);
      expect(res.status).toBe(400);
      expect(res.json).toEqual(refusal(...issues));
    }
  });

  it("refuses a change that would leave a source its provider cannot verify, with the same answer, and saves nothing", async () => {
    const p = pipeline();
    const github = (await p.api("POST", "/v1/sources", { name: "g", provider: "github", secrets: ["a-long-secret"] })).json;
    const open = (await p.api("POST", "/v1/sources", { name: "o", provider: "podium", verification: "none" })).json;
    const cases = [
      [github.id, { hmac: { header: "x-sig" } }, [HMAC]],
      [github.id, { name: "renamed", shopDomain: "acme.myshopify.com" }, [SHOP]],
      [open.id, { verification: "signature" }, [SECRETS]],
    ] as const;
    for (const [id, body, issues] of cases) {
      const res = await p.api("PATCH", `/v1/sources/${id}`, body);
      expect(res.status).toBe(400);
      expect(res.json).toEqual(refusal(...issues));
    }
    expect((await p.api("GET", `/v1/sources/${github.id}`)).json).toMatchObject({ name: "g", hmac: null, shopDomain: null, updatedAt: github.updatedAt });
    expect((await p.api("GET", `/v1/sources/${open.id}`)).json).toMatchObject({ verification: "none", updatedAt: open.updatedAt });
  });

  it("takes a change the provider can verify: no shop domain on a github source, secrets with signature verification", async () => {
    const p = pipeline();
    const github = (await p.api("POST", "/v1/sources", { name: "g", provider: "github", secrets: ["a-long-secret"] })).json;
    expect((await p.api("PATCH", `/v1/sources/${github.id}`, { shopDomain: null })).status).toBe(200);
    const open = (await p.api("POST", "/v1/sources", { name: "o", provider: "podium", verification: "none" })).json;
    const signed = await p.api("PATCH", `/v1/sources/${open.id}`, { verification: "signature", secrets: ["a-long-secret"] });
    expect(signed.status).toBe(200);
    expect(signed.json.verification).toBe("signature");
  });

  it("refuses an hmac signature header the ingress stores with every event (made or changed), saying which field, and saves nothing", async () => {
    const p = pipeline();
    const stored = (header: string) => ({ path: "hmac.header", message: `"${header}" is stored with every event, which keeps no signature: name another header` });
    for (const header of storedHeaderNames({ provider: "hmac", hmac: null })) {
      const res = await p.api("POST", "/v1/sources", { name: "a", provider: "hmac", secrets: ["hua-secret-1"], hmac: { header } });
      expect(res.status).toBe(400);
      expect(res.json).toEqual(refusal(stored(header)));
    }
    // In any case: header names are matched as the ingress reads them.
    expect((await p.api("POST", "/v1/sources", { name: "a", provider: "hmac", secrets: ["hua-secret-1"], hmac: { header: "User-Agent" } })).json).toEqual(
      refusal(stored("user-agent")),
    );
    const made = (await p.api("POST", "/v1/sources", { name: "h", provider: "hmac", secrets: ["hua-secret-1"], hmac: { header: "x-sig" } })).json;
    const res = await p.api("PATCH", `/v1/sources/${made.id}`, { hmac: { header: "content-type" } });
    expect(res.json).toEqual(refusal(stored("content-type")));
    expect((await p.api("GET", `/v1/sources/${made.id}`)).json).toMatchObject({ hmac: { header: "x-sig" }, updatedAt: made.updatedAt });
  });
});
