// A JSON or enumerated column is read back through a guard: a row that holds what
// the code never writes (by hand, or from an older schema) raises an error naming
// the row and column, never flows on as a token or source of the wrong shape.
import { REJECTING_THRESHOLD } from "../../src/domain/alerts";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { RejectionSample } from "../../src/domain/types";
import { latestRejections, recordRejections } from "../../src/store/rejections";
import { getStoredSource, listStoredSources } from "../../src/store/sources";
import { insertToken, tokenByHash } from "../../src/store/tokens";
import { getWebhook, insertWebhook } from "../../src/store/webhooks";
import { aWebhook, createSource } from "./helpers";
import { uniqueKey } from "./pipeline";

const hmac = { header: "x-sig", algorithm: "SHA-256", encoding: "hex", prefix: "", timestampHeader: null, typePath: null, dedupePath: null } as const;

async function setSource(id: string, column: "provider" | "secrets" | "hmac", value: string) {
  await env.DB.prepare(`UPDATE sources SET ${column} = ? WHERE id = ?`).bind(value, id).run();
}

describe("a stored source", () => {
  it("reads back as written", async () => {
    const id = await createSource({ provider: "hmac", secrets: ["a-long-secret"], hmac });
    expect(await getStoredSource(env.DB, id)).toMatchObject({ id, provider: "hmac", secrets: ["a-long-secret"], hmac });
  });

  it("of a provider this Worker does not know raises an error naming it", async () => {
    const id = await createSource({ secrets: ["a-long-secret"] });
    await setSource(id, "provider", "carrier-pigeon");
    await expect(getStoredSource(env.DB, id)).rejects.toThrow(`source ${id} provider: "carrier-pigeon" is no provider this Worker knows`);
    await expect(listStoredSources(env.DB, { limit: 100 })).rejects.toThrow(`source ${id} provider`);
    await env.DB.prepare("DELETE FROM sources WHERE id = ?").bind(id).run();
  });

  it("whose HMAC configuration is not one raises an error naming the row and column", async () => {
    const id = await createSource({ provider: "hmac", secrets: ["a-long-secret"], hmac });
    for (const bad of [{ ...hmac, algorithm: "MD5" }, { ...hmac, header: undefined }, { ...hmac, typePath: 7 }, "x-sig", null]) {
      await setSource(id, "hmac", JSON.stringify(bad));
      await expect(getStoredSource(env.DB, id), JSON.stringify(bad)).rejects.toThrow(`source ${id} hmac: the stored value is not of its column's shape`);
    }
    await env.DB.prepare("DELETE FROM sources WHERE id = ?").bind(id).run();
  });

  it("whose secrets are not a list of strings raises an error that does not show them", async () => {
    const id = await createSource({ secrets: ["a-long-secret"] });
    // JSON of another shape, and no JSON at all (JSON.parse's own error quotes the text).
    for (const stored of [JSON.stringify({ current: "the-secret-itself" }), "the-secret-itself"]) {
      await setSource(id, "secrets", stored);
      const error = await getStoredSource(env.DB, id).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect(String(error)).toContain(`source ${id} secrets`);
      expect(String(error)).not.toContain("the-secret-itself");
    }
    await env.DB.prepare("DELETE FROM sources WHERE id = ?").bind(id).run();
  });
});

describe("a stored token", () => {
  async function token(scopes: string) {
    const id = `tok_${uniqueKey()}`;
    const hash = `hash-${id}`;
    await insertToken(env.DB, { id, name: id, scopes: ["events:read"], organizationUids: null, locationUids: null, createdAt: 0, lastUsedAt: null, revokedAt: null }, hash);
    await env.DB.prepare("UPDATE tokens SET scopes = ? WHERE id = ?").bind(scopes, id).run();
    return { id, hash };
  }

  it("reads back with its scopes", async () => {
    const t = await token(JSON.stringify(["events:read", "read_messages"]));
    expect(await tokenByHash(env.DB, t.hash)).toMatchObject({ id: t.id, scopes: ["events:read", "read_messages"] });
  });

  it("holding a scope that does not exist raises an error, not a token with a scope no check knows", async () => {
    for (const scopes of [["events:read", "root"], "admin", [null]]) {
      const t = await token(JSON.stringify(scopes));
      await expect(tokenByHash(env.DB, t.hash), JSON.stringify(scopes)).rejects.toThrow(`token ${t.id} scopes: the stored value is not of its column's shape`);
      await env.DB.prepare("UPDATE tokens SET revoked_at = 0 WHERE id = ?").bind(t.id).run();
    }
  });
});

describe("a stored webhook", () => {
  async function webhook() {
    const uid = `wh_${uniqueKey()}`;
    await insertWebhook(env.DB, aWebhook({ uid, eventTypes: ["invoice.paid"], sourceIds: ["podium"], filter: { body: { amount: 5 } } }));
    return uid;
  }
  async function set(uid: string, column: "event_types" | "source_ids" | "filter" | "transform_headers", value: string) {
    await env.DB.prepare(`UPDATE webhooks SET ${column} = ? WHERE uid = ?`).bind(value, uid).run();
  }
  const remove = (uid: string) => env.DB.prepare("DELETE FROM webhooks WHERE uid = ?").bind(uid).run();

  it("reads back with its event types, sources and filter", async () => {
    const uid = await webhook();
    expect(await getWebhook(env.DB, uid)).toMatchObject({ uid, eventTypes: ["invoice.paid"], sourceIds: ["podium"], filter: { body: { amount: 5 } } });
    await remove(uid);
  });

  it("stored with a source id twice (before repeats were refused) reads back with it once", async () => {
    const uid = await webhook();
    await set(uid, "source_ids", JSON.stringify(["podium", "podium"]));
    expect((await getWebhook(env.DB, uid))?.sourceIds).toEqual(["podium"]);
    await remove(uid);
  });

  it("stored with an event type twice (before repeats were refused) reads back with it once", async () => {
    const uid = await webhook();
    await set(uid, "event_types", JSON.stringify(["invoice.paid", "charge.*", "invoice.paid"]));
    expect((await getWebhook(env.DB, uid))?.eventTypes).toEqual(["invoice.paid", "charge.*"]);
    await remove(uid);
  });

  it("whose event types or source ids are not a list of strings raises an error naming the row and column", async () => {
    const uid = await webhook();
    for (const column of ["event_types", "source_ids"] as const) {
      for (const bad of [["invoice.paid", 7], { 0: "invoice.paid" }, "invoice.paid", [null]]) {
        await set(uid, column, JSON.stringify(bad));
        await expect(getWebhook(env.DB, uid), `${column} ${JSON.stringify(bad)}`).rejects.toThrow(
          `webhook ${uid} ${column}: the stored value is not of its column's shape`,
        );
      }
      await set(uid, column, "[not json");
      await expect(getWebhook(env.DB, uid)).rejects.toThrow(`webhook ${uid} ${column}: the stored value is not JSON`);
      await set(uid, column, JSON.stringify(["podium"]));
    }
    await remove(uid);
  });

  it("whose transform headers are not JSON raises an error naming the row and column, never quoting the stored credentials", async () => {
    const uid = await webhook();
    await set(uid, "transform_headers", '{"authorization": "Bearer sk_live_secret"');
    const err = await getWebhook(env.DB, uid).catch((e: unknown) => e);
    expect(String(err)).toContain(`webhook ${uid} transform_headers: the stored value is not JSON`);
    expect(String(err)).not.toContain("sk_live_secret");
    await set(uid, "transform_headers", '{"authorization": 7}');
    await expect(getWebhook(env.DB, uid)).rejects.toThrow(`webhook ${uid} transform_headers: the stored value is not of its column's shape`);
    await remove(uid);
  });

  it("whose filter is not JSON data raises an error naming the row and column", async () => {
    const uid = await webhook();
    // JSON.parse reads 1e400 as Infinity, which no JSON document holds.
    await set(uid, "filter", '{"body": {"amount": 1e400}}');
    await expect(getWebhook(env.DB, uid)).rejects.toThrow(`webhook ${uid} filter: the stored value is not of its column's shape`);
    await set(uid, "filter", "{not json");
    await expect(getWebhook(env.DB, uid)).rejects.toThrow(`webhook ${uid} filter: the stored value is not JSON`);
    await remove(uid);
  });
});

describe("a stored rejection", () => {
  it("whose header names are not a list of strings raises an error naming the row and column", async () => {
    const sourceId = `src-${uniqueKey()}`;
    const sample: RejectionSample = { sourceId, requested: sourceId, reason: "invalid_signature", at: 1, client: "::1", userAgent: null, headerNames: ["content-type"] };
    await recordRejections(env.DB, [{ v: 1, counts: [{ sourceId, reason: "invalid_signature", count: 1, lastAt: 1 }], samples: [sample] }], REJECTING_THRESHOLD);
    expect(await latestRejections(env.DB, sourceId, 10)).toEqual([sample]);
    const row = await env.DB.prepare("SELECT seq FROM rejections WHERE source_id = ?").bind(sourceId).first<{ seq: number }>();
    for (const bad of [{ 0: "content-type" }, ["content-type", 1], "content-type"]) {
      await env.DB.prepare("UPDATE rejections SET header_names = ? WHERE source_id = ?").bind(JSON.stringify(bad), sourceId).run();
      await expect(latestRejections(env.DB, sourceId, 10), JSON.stringify(bad)).rejects.toThrow(
        `rejection ${row?.seq} header_names: the stored value is not of its column's shape`,
      );
    }
  });
});
