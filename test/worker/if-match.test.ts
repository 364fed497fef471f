// HTTP optimistic concurrency (api/if-match.ts): a versioned resource's answers carry its ETag, and
// a change or delete sent with If-Match applies only while the resource is still at that version.
import { PURGE_LIMITS } from "../../src/maintenance/cron";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { nextVersion } from "../../src/domain/version";
import { clearExpiredPreviousSecrets, deleteWebhook, getWebhook, updateWebhook } from "../../src/store/webhooks";
import { ADMIN, call } from "./helpers";
import { pipeline, uniqueKey } from "./pipeline";
import { racingDb } from "./racing";
import { deliveryRows } from "./rows";

interface Answer {
  status: number;
  json: any;
  etag: string | null;
}

/** An API call as the admin, with `headers` besides; its status, JSON and ETag. */
async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, DB?: D1Database): Promise<Answer> {
  const res = await call(
    new Request(`https://edgehook.test${path}`, {
      method,
      headers: { ...ADMIN, ...headers, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
    DB ? { DB } : {},
  );
  const text = await res.text();
  return { status: res.status, json: text === "" ? null : JSON.parse(text), etag: res.headers.get("etag") };
}

const hook = () => ({ url: `https://downstream.test/ok/${uniqueKey()}`, eventTypes: ["message.received"], organizationUid: `org-${uniqueKey()}` });

/** What a client that read `w` sends back as its PUT: its changeable fields. */
const fieldsOf = (w: any) => ({ url: w.url, eventTypes: w.eventTypes, timeoutMs: w.timeoutMs, disabled: w.disabled });

const expectPreconditionFailed = (a: Answer) => {
  expect(a.status).toBe(412);
  expect(a.json.error.code).toBe("precondition_failed");
  expect(a.json.error.message).toMatch(/read it again/);
};

describe("webhooks with If-Match", () => {
  it("a read-modify-PUT from a stale read answers 412 and keeps another client's disable; from the current ETag it is saved, with a new ETag", async () => {
    const created = await api("POST", "/v1/webhooks", hook());
    expect(created.status).toBe(201);
    const path = `/v1/webhooks/${created.json.uid}`;
    const read = await api("GET", path); // client A reads
    expect(read.etag).toMatch(/^"[^"]+"$/);
    expect(read.etag).toBe(created.etag);

    const disabled = await api("PATCH", path, { disabled: true }); // client B
    expect(disabled.status).toBe(200);
    expect(disabled.etag).not.toBe(read.etag);

    const stale = await api("PUT", path, fieldsOf(read.json), { "if-match": read.etag! });
    expectPreconditionFailed(stale);
    const after = await api("GET", path);
    expect(after.json.disabled).toBe(true);
    expect(after.etag).toBe(disabled.etag);

    // Read again: the change applies to what was read.
    const saved = await api("PUT", path, { ...fieldsOf(after.json), timeoutMs: 2000 }, { "if-match": after.etag! });
    expect(saved.status).toBe(200);
    expect(saved.json).toMatchObject({ disabled: true, timeoutMs: 2000 });
    expect(saved.etag).not.toBe(after.etag);
    expect((await api("GET", path)).etag).toBe(saved.etag);
  });

  it("a PATCH names its version among others (a weak tag never matches); * matches any; one to what it is keeps its ETag", async () => {
    const { json, etag } = await api("POST", "/v1/webhooks", hook());
    const path = `/v1/webhooks/${json.uid}`;
    const weak = await api("PATCH", path, { timeoutMs: 3000 }, { "if-match": `W/${etag}` });
    expectPreconditionFailed(weak);
    const listed = await api("PATCH", path, { timeoutMs: 3000 }, { "if-match": `"other", ${etag}` });
    expect(listed.status).toBe(200);
    const any = await api("PATCH", path, { timeoutMs: 4000 }, { "if-match": "*" });
    expect(any.status).toBe(200);
    expect(any.json.timeoutMs).toBe(4000);
    const same = await api("PATCH", path, { timeoutMs: 4000 }, { "if-match": any.etag! });
    expect(same.status).toBe(200);
    expect(same.etag).toBe(any.etag);
  });

  it("a malformed If-Match answers 400 and changes nothing", async () => {
    const { json, etag } = await api("POST", "/v1/webhooks", hook());
    const path = `/v1/webhooks/${json.uid}`;
    for (const bad of ["abc", etag!.slice(1), `${etag} ${etag}`, ","]) {
      const res = await api("PATCH", path, { disabled: true }, { "if-match": bad });
      expect(res.status, bad).toBe(400);
      expect(res.json.error.code).toBe("invalid_request");
      expect(res.json.error.details.issues[0].path).toBe("If-Match");
    }
    expect((await api("DELETE", path, undefined, { "if-match": "abc" })).status).toBe(400);
    const now = await api("GET", path);
    expect(now.json.disabled).toBe(false);
    expect(now.etag).toBe(etag);
  });

  it("a DELETE with a stale ETag answers 412 and deletes nothing, its deliveries still owed; with the current one it deletes", async () => {
    const p = pipeline();
    const { webhook, event } = await p.webhookOn("ok");
    const id = await p.ingest(event());
    const path = `/v1/webhooks/${webhook.uid}`;
    const read = await api("GET", path);
    expect((await api("PATCH", path, { timeoutMs: 2000 })).status).toBe(200);

    expectPreconditionFailed(await api("DELETE", path, undefined, { "if-match": read.etag! }));
    expect((await api("GET", path)).status).toBe(200);
    expect((await deliveryRows(id)).map((d) => d.status)).toEqual(["pending"]);

    const current = await api("GET", path);
    expect((await api("DELETE", path, undefined, { "if-match": current.etag! })).status).toBe(204);
    expect((await api("GET", path)).status).toBe(404);
    expect((await deliveryRows(id)).map((d) => d.status)).toEqual(["expired"]);
  });

  it("a delete at a version the row has left writes nothing with it: what it is owed stays owed", async () => {
    const p = pipeline();
    const { webhook, event } = await p.webhookOn("ok");
    const id = await p.ingest(event());
    const row = (await getWebhook(env.DB, webhook.uid))!;
    expect(await deleteWebhook(env.DB, webhook.uid, { version: row.updatedAt - 1 })).toBe("changed");
    expect(await getWebhook(env.DB, webhook.uid)).not.toBeNull();
    expect((await deliveryRows(id)).map((d) => d.status)).toEqual(["pending"]);
    expect(await deleteWebhook(env.DB, webhook.uid, { version: row.updatedAt })).toBe("saved");
    expect((await deliveryRows(id)).map((d) => d.status)).toEqual(["expired"]);
  });

  it("If-Match is compared with the version the write checks: a change landing between the read and the write answers 412, not 409", async () => {
    const { db, before, ran } = racingDb((statements) => statements.some((st) => st.sql.includes("UPDATE webhooks SET url")));
    const { json, etag } = await api("POST", "/v1/webhooks", hook());
    const path = `/v1/webhooks/${json.uid}`;
    before(() => api("PATCH", path, { disabled: true }));
    const res = await api("PATCH", path, { timeoutMs: 2000 }, { "if-match": etag! }, db);
    expect(ran()).toBe(true);
    expectPreconditionFailed(res);
    expect((await api("GET", path)).json).toMatchObject({ disabled: true, timeoutMs: 5000 });
  });

  it("If-Match: * holds while the webhook exists: a change racing it answers 409 as without If-Match, and a delete racing one deletes", async () => {
    const { db, before, ran } = racingDb((statements) => statements.some((st) => st.sql.includes("UPDATE webhooks SET url")));
    const { json } = await api("POST", "/v1/webhooks", hook());
    const path = `/v1/webhooks/${json.uid}`;
    before(() => api("PATCH", path, { disabled: true }));
    const res = await api("PATCH", path, { timeoutMs: 2000 }, { "if-match": "*" }, db);
    expect(ran()).toBe(true);
    expect(res.status).toBe(409);
    expect(res.json.error.code).toBe("conflict");
    expect((await api("GET", path)).json).toMatchObject({ disabled: true, timeoutMs: 5000 });

    const deleting = racingDb((statements) => statements.some((st) => st.sql.startsWith("DELETE FROM webhooks")));
    deleting.before(() => api("PATCH", path, { timeoutMs: 3000 }));
    expect((await api("DELETE", path, undefined, { "if-match": "*" }, deleting.db)).status).toBe(204);
    expect(deleting.ran()).toBe(true);
    expect((await api("GET", path)).status).toBe(404);
  });

  it("a write never writes back a previous secret past its window (read before the cleanup cleared it)", async () => {
    const { json } = await api("POST", "/v1/webhooks", hook());
    const rotated = await api("PATCH", `/v1/webhooks/${json.uid}`, { secret: "whsec_" + btoa("a new secret value, 24+ bytes"), previousSecretValidSeconds: 3600 });
    expect(rotated.status).toBe(200);
    // Its window ends (the version stays, as the cleanup's), and a change is computed from a read made then.
    await env.DB.prepare("UPDATE webhooks SET previous_secret_expires_at = ? WHERE uid = ?").bind(Date.now() - 1000, json.uid).run();
    const read = (await getWebhook(env.DB, json.uid))!;
    expect(read.previousSecret).not.toBeNull();
    await clearExpiredPreviousSecrets(env.DB, Date.now(), PURGE_LIMITS.previousSecrets);
    expect(await updateWebhook(env.DB, { ...read, timeoutMs: 2000, updatedAt: nextVersion(read.updatedAt) }, read)).toBe("saved");
    const row = await env.DB.prepare("SELECT previous_secret, previous_secret_expires_at, timeout_ms FROM webhooks WHERE uid = ?").bind(json.uid).first();
    expect(row).toEqual({ previous_secret: null, previous_secret_expires_at: null, timeout_ms: 2000 });
  });
});

describe("sources and notification endpoints with If-Match", () => {
  it("a source's PATCH or DELETE with a stale ETag answers 412 and changes nothing", async () => {
    const created = await api("POST", "/v1/sources", { name: "n", provider: "podium", secrets: ["s".repeat(24)] });
    expect(created.status).toBe(201);
    const path = `/v1/sources/${created.json.id}`;
    const read = await api("GET", path);
    expect(read.etag).toBe(created.etag);
    const renamed = await api("PATCH", path, { name: "renamed" }, { "if-match": read.etag! });
    expect(renamed.status).toBe(200);
    expect(renamed.etag).not.toBe(read.etag);

    expectPreconditionFailed(await api("PATCH", path, { disabled: true }, { "if-match": read.etag! }));
    expectPreconditionFailed(await api("DELETE", path, undefined, { "if-match": read.etag! }));
    const now = await api("GET", path);
    expect(now.json).toMatchObject({ name: "renamed", disabled: false });
    expect(now.etag).toBe(renamed.etag);
    expect((await api("DELETE", path, undefined, { "if-match": "*" })).status).toBe(204);
    expect((await api("GET", path)).status).toBe(404);
  });

  it("a notification endpoint's PATCH or DELETE with a stale ETag answers 412 and changes nothing", async () => {
    const created = await api("POST", "/v1/notification-endpoints", { url: `https://alerts.test/${uniqueKey()}`, alertTypes: ["webhook.disabled"] });
    expect(created.status).toBe(201);
    const path = `/v1/notification-endpoints/${created.json.uid}`;
    const changed = await api("PATCH", path, { disabled: true });
    expect(changed.etag).not.toBe(created.etag);

    expectPreconditionFailed(await api("PATCH", path, { disabled: false }, { "if-match": created.etag! }));
    expectPreconditionFailed(await api("DELETE", path, undefined, { "if-match": created.etag! }));
    const now = await api("GET", path);
    expect(now.json.disabled).toBe(true);
    expect(now.etag).toBe(changed.etag);
    expect((await api("DELETE", path, undefined, { "if-match": now.etag! })).status).toBe(204);
  });
});
