// A limited token may give one owner at most WEBHOOKS_PER_OWNER webhooks (docs/security.md): each is
// owed a row for every event of its owner's, written by the consumer that stores every tenant's
// batches, so webhooks without number would let one tenant slow every other's ingest.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { placeLocations } from "../../src/store/locations";
import { WEBHOOKS_PER_OWNER } from "../../src/store/webhooks";
import { pipeline, uniqueKey } from "./pipeline";
import { copyWebhook } from "./rows";
import { as, makeToken } from "./tokens";

const ownedBy = async (org: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM webhooks WHERE coalesce(organization_uid, grant_organization_uid) = ?").bind(org).first<{ n: number }>())!.n;

describe(`webhooks per owner (${WEBHOOKS_PER_OWNER} for a limited token)`, () => {
  it("refuses a limited token's webhook past the bound (400 on the owner it names), organization or location in it; the admin's are not bound; deleting one makes room", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const [org, other, loc] = [`org-${key}`, `org-${key}-other`, `loc-${key}`];
    await placeLocations(env.DB, [{ locationUid: loc, organizationUid: org }], Date.now() - 60_000).run();
    const first = await p.createWebhook({ url: `https://downstream.test/ok/${key}`, eventTypes: ["message.*"], organizationUid: org });
    await copyWebhook(first.uid, WEBHOOKS_PER_OWNER - 1);
    const { token } = await makeToken(p, ["webhooks:read", "webhooks:write", "read_messages"], { organizationUids: [org, other] });
    const body = (extra: object) => ({ url: `https://downstream.test/ok/${key}/${uniqueKey()}`, eventTypes: ["message.*"], disabled: true, ...extra });

    const last = await as(p, token, "POST", "/v1/webhooks", body({ organizationUid: org }));
    expect(last.status, JSON.stringify(last.json)).toBe(201);
    expect(await ownedBy(org)).toBe(WEBHOOKS_PER_OWNER);
    const said = `organization ${org} has ${WEBHOOKS_PER_OWNER} webhooks, the most a limited token may give one owner: delete one it no longer needs`;
    for (const [owner, path] of [[{ organizationUid: org }, "organizationUid"], [{ locationUid: loc }, "locationUid"]] as const) {
      const refused = await as(p, token, "POST", "/v1/webhooks", body(owner));
      expect(refused.status).toBe(400);
      expect(refused.json).toMatchObject({ error: { code: "invalid_request", details: { issues: [{ path, message: said }] } } });
    }
    expect(await ownedBy(org)).toBe(WEBHOOKS_PER_OWNER);
    // Another organization the token holds is its own owner; the admin is not bound.
    expect((await as(p, token, "POST", "/v1/webhooks", body({ organizationUid: other }))).status).toBe(201);
    expect((await p.api("POST", "/v1/webhooks", body({ organizationUid: org }))).status).toBe(201);
    expect(await ownedBy(org)).toBe(WEBHOOKS_PER_OWNER + 1);

    await p.api("DELETE", `/v1/webhooks/${first.uid}`);
    await p.api("DELETE", `/v1/webhooks/${last.json.uid}`);
    expect((await as(p, token, "POST", "/v1/webhooks", body({ locationUid: loc }))).status).toBe(201);
    expect((await as(p, token, "POST", "/v1/webhooks", body({ organizationUid: org }))).status).toBe(400);
  });

  it("holds the bound under creates at once: counted and written in one statement", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const org = `org-${key}`;
    const first = await p.createWebhook({ url: `https://downstream.test/ok/${key}`, eventTypes: ["message.*"], organizationUid: org });
    await copyWebhook(first.uid, WEBHOOKS_PER_OWNER - 3);
    const { token } = await makeToken(p, ["webhooks:write", "read_messages"], { organizationUids: [org] });
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => as(p, token, "POST", "/v1/webhooks", { url: `https://downstream.test/ok/${key}/${uniqueKey()}`, eventTypes: ["message.*"], organizationUid: org })),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([201, 201, 201, 400, 400, 400]);
    expect(await ownedBy(org)).toBe(WEBHOOKS_PER_OWNER);
  });
});
