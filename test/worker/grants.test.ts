// Grants: what a token limited to some organizations or locations may subscribe to,
// see, retry and replay; who owns a source; what a disabled webhook receives.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { learnLocations, locationOrganizations } from "../../src/store/locations";
import { meteredD1 } from "../../bench/d1-meter";
import { createSource, ingestMessage, meteredApiCall, podiumBody } from "./helpers";
import { pipeline, received, uniqueKey } from "./pipeline";
import { as, DATA_SCOPES, makeToken } from "./tokens";
import { deliveryRow } from "./rows";
import { newDelivery } from "../../src/domain/delivery";
import { insertDeliveries, insertDeliveriesStatements } from "../../src/store/deliveries";
import { EVENT_RANGE_DELIVERIES, eventDeliveries } from "../../src/store/delivery-reads";
import { STATS_WEBHOOKS } from "../../src/store/stats";
import type { Scope } from "../../src/domain/scopes";

type P = ReturnType<typeof pipeline>;

const ids = (list: { data: { uid?: string; id?: string }[] }) => list.data.map((x) => x.uid ?? x.id);

/** An admin-owned source with its own secret, so a test's events reach only the webhooks it names. */
async function adminSource(p: P) {
  const secret = `secret-${uniqueKey()}`;
  const res = await p.api("POST", "/v1/sources", { name: "admin source", provider: "podium", secrets: [secret] });
  expect(res.status).toBe(201);
  return { source: res.json.id as string, secret };
}

async function statusOf(deliveryId: string) {
  return (await deliveryRow(deliveryId))?.status;
}

async function deliveriesOf(p: P, eventId: string) {
  return (await p.api("GET", `/v1/events/${eventId}`)).json.deliveries as { id: string; webhookUid: string; status: string }[];
}

describe("a webhook belongs to exactly one location or organization", () => {
  it("a location-limited token cannot widen its webhook to a whole organization (the org-B/loc-A escape)", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const [orgB, locA, locB] = [`org-${k}-b`, `loc-${k}-a`, `loc-${k}-b`];
    const t = await makeToken(p, ["webhooks:write", "webhooks:read", "events:read", "read_messages"], { locationUids: [locA] });
    const url = `https://downstream.test/ok/${k}`;

    const both = await as(p, t.token, "POST", "/v1/webhooks", { url, eventTypes: ["message.*"], organizationUid: orgB, locationUid: locA });
    expect(both.status).toBe(400);
    expect(both.json.error.code).toBe("invalid_request");
    expect(both.json.error.message).toMatch(/exactly one of locationUid or organizationUid/);
    expect((await as(p, t.token, "POST", "/v1/webhooks", { url, eventTypes: ["message.*"], organizationUid: orgB })).status).toBe(403);
    expect((await as(p, t.token, "POST", "/v1/webhooks", { url, eventTypes: ["message.*"], locationUid: locA })).status).toBe(201);

    // An event of org-B at another location reaches none of the token's webhooks, and stays invisible to it.
    const eventId = await p.ingest(podiumBody({ organizationUid: orgB, locationUid: locB }));
    await p.deliver();
    expect(await received(k)).toHaveLength(0);
    expect((await as(p, t.token, "GET", `/v1/events/${eventId}`)).status).toBe(404);
  });

  it("answers 400 for both on create, PUT and PATCH; neither is a catch-all for unlimited tokens only, shown as such", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const url = `https://downstream.test/ok/${k}`;
    const both = await p.api("POST", "/v1/webhooks", { url, eventTypes: ["*"], organizationUid: `org-${k}`, locationUid: `loc-${k}` });
    expect(both.status).toBe(400);
    expect(both.json.error.message).toMatch(/exactly one of locationUid or organizationUid/);
    expect(both.json.error.details.issues.map((i: { path: string }) => i.path)).toContain("locationUid");

    const org = await p.createWebhook({ url, eventTypes: ["*"], organizationUid: `org-${k}` });
    expect(org.catchAll).toBe(false);
    // A catch-all limited to a source of its own, so it catches nothing else in this file.
    await createSource({ id: `nothing-${k}`, secrets: ["a-source-of-its-own"] });
    const catchAll = await p.createWebhook({ url, eventTypes: ["*"], sourceIds: [`nothing-${k}`] });
    expect(catchAll).toMatchObject({ organizationUid: null, locationUid: null, catchAll: true });
    expect((await p.api("GET", `/v1/webhooks/${catchAll.uid}`)).json.catchAll).toBe(true);
    const listed = (await p.api("GET", "/v1/webhooks?limit=100")).json.data.find((w: { uid: string }) => w.uid === catchAll.uid);
    expect(listed.catchAll).toBe(true);

    for (const method of ["PUT", "PATCH"]) {
      const res = await p.api(method, `/v1/webhooks/${org.uid}`, { url, eventTypes: ["*"], organizationUid: `other-org-${k}`, locationUid: `loc-${k}` });
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe("invalid_request");
      expect(res.json.error.message).toMatch(/cannot change/);
      expect(res.json.error.details.issues.map((i: { path: string }) => i.path).sort()).toEqual(["locationUid", "organizationUid"]);
    }

    // The 403 names the field a form offers: the organization for a token of organizations, the
    // location for a token of locations alone (its form has no organization field).
    const grants: [{ organizationUids?: string[]; locationUids?: string[] }, string][] = [
      [{ organizationUids: [`org-${k}`] }, "organizationUid"],
      [{ organizationUids: [`org-${k}`], locationUids: [`loc-${k}`] }, "organizationUid"],
      [{ locationUids: [`loc-${k}`] }, "locationUid"],
    ];
    for (const [grant, field] of grants) {
      const limited = await makeToken(p, ["webhooks:write", ...DATA_SCOPES], grant);
      const refused = await as(p, limited.token, "POST", "/v1/webhooks", { url, eventTypes: ["*"] });
      expect(refused.status).toBe(403);
      expect(refused.json.error.message).toMatch(/catch-all/);
      expect(refused.json.error.details.issues.map((i: { path: string }) => i.path), JSON.stringify(grant)).toEqual([field]);
    }
  });

  it("migration 0006 turns a webhook with both set into an organization webhook, as routing already treated it", async () => {
    const k = uniqueKey();
    const uid = `legacy-${k}`;
    await env.DB.prepare(
      `INSERT INTO webhooks (uid, url, event_types, location_uid, organization_uid, source_ids, secret, disabled, timeout_ms, max_attempts, created_at, updated_at)
       VALUES (?, 'https://downstream.test/ok/x', '["*"]', ?, ?, NULL, 'whsec_x', 0, 5000, 15, 0, 0)`,
    )
      .bind(uid, `loc-${k}`, `org-${k}`)
      .run();
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0006"));
    for (const q of migration!.queries.filter((q) => q.includes("UPDATE webhooks"))) await env.DB.prepare(q).run();
    const row = await env.DB.prepare("SELECT location_uid, organization_uid FROM webhooks WHERE uid = ?").bind(uid).first();
    expect(row).toEqual({ location_uid: null, organization_uid: `org-${k}` });
  });

  it("migration 0006 revokes a token that held `admin` with organization limits (it read every organization)", async () => {
    const k = uniqueKey();
    const insert = (id: string, scopes: string[], orgs: string[] | null) =>
      env.DB.prepare("INSERT INTO tokens (id, name, token_hash, scopes, organization_uids, location_uids, created_at) VALUES (?, ?, ?, ?, ?, NULL, 0)")
        .bind(id, id, `hash-${id}`, JSON.stringify(scopes), orgs && JSON.stringify(orgs))
        .run();
    await insert(`tok_a${k}`, ["admin"], [`org-${k}`]);
    await insert(`tok_b${k}`, ["events:read"], [`org-${k}`]);
    await insert(`tok_c${k}`, ["admin"], null);
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0006"));
    for (const q of migration!.queries.filter((q) => q.includes("UPDATE tokens"))) await env.DB.prepare(q).run();
    const { results } = await env.DB.prepare("SELECT id, revoked_at IS NOT NULL AS revoked FROM tokens WHERE id LIKE ? ORDER BY id")
      .bind(`tok_%${k}`)
      .all();
    expect(results).toEqual([
      { id: `tok_a${k}`, revoked: 1 },
      { id: `tok_b${k}`, revoked: 0 },
      { id: `tok_c${k}`, revoked: 0 },
    ]);
  });
});

describe("the location → organization map", () => {
  it("lets an organization-limited token subscribe to a location known to belong to its organization", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const [org, loc, otherOrg, otherLoc] = [`org-${k}`, `loc-${k}`, `org-${k}-x`, `loc-${k}-x`];
    const t = await makeToken(p, ["webhooks:write", "webhooks:read", "read_messages"], { organizationUids: [org] });
    const hook = { url: `https://downstream.test/ok/${k}`, eventTypes: ["message.*"], locationUid: loc };
    expect((await as(p, t.token, "POST", "/v1/webhooks", hook)).status).toBe(403); // unknown yet

    // Podium's own events (the configuration source) say where each location belongs.
    await p.ingest(podiumBody({ organizationUid: org, locationUid: loc }));
    await p.ingest(podiumBody({ organizationUid: otherOrg, locationUid: otherLoc }));
    const created = await as(p, t.token, "POST", "/v1/webhooks", hook);
    expect(created.status).toBe(201);
    expect((await as(p, t.token, "GET", `/v1/webhooks/${created.json.uid}`)).status).toBe(200);
    expect(ids((await as(p, t.token, "GET", "/v1/webhooks?limit=100")).json)).toContain(created.json.uid);
    expect((await as(p, t.token, "POST", "/v1/webhooks", { ...hook, locationUid: otherLoc })).status).toBe(403);
  });

  it("learns only from sources no tenant owns: a tenant's source, the admin's pinned one included, cannot claim someone else's location, and says it teaches nothing", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const [mine, theirs, theirLoc] = [`org-${k}-mine`, `org-${k}-theirs`, `loc-${k}-theirs`];
    const secret = `tenant-${k}`;
    const made = await p.api("POST", "/v1/sources", { name: "tenant", provider: "podium", secrets: [secret], organizationUid: mine });
    expect(made.json.teachesLocations).toBe(false);
    const source = made.json.id;
    await p.ingest(podiumBody({ organizationUid: mine, locationUid: theirLoc }), { source, secret });
    expect(await locationOrganizations(env.DB, [theirLoc])).toEqual(new Map());
    // Teaching nothing, its secret is its owner's to rotate: not the admin's alone.
    const owner = await makeToken(p, ["sources:write"], { organizationUids: [mine] });
    expect((await as(p, owner.token, "PATCH", `/v1/sources/${source}`, { secrets: [`rotated-${k}-long-enough`] })).status).toBe(200);
    expect((await p.api("GET", `/v1/sources/${source}`)).json.teachesLocations).toBe(false);

    await p.ingest(podiumBody({ organizationUid: theirs, locationUid: theirLoc }));
    expect(await locationOrganizations(env.DB, [theirLoc])).toEqual(new Map([[theirLoc, theirs]]));
    const t = await makeToken(p, ["webhooks:write", "read_messages"], { organizationUids: [mine] });
    const hook = { url: `https://downstream.test/ok/${k}`, eventTypes: ["message.*"], locationUid: theirLoc };
    expect((await as(p, t.token, "POST", "/v1/webhooks", hook)).status).toBe(403);
  });

  it("learns from an object naming a location and its organization: a Podium contact's own organization beside its data.location teaches nothing, and the review that follows keeps the location's organization", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const [org, other, loc] = [`org-${k}`, `org-${k}-other`, `loc-${k}`];
    const contact = (after: object) =>
      JSON.stringify({ data: { location: { uid: loc, organizationUid: org }, ...after }, metadata: { eventType: "contact.updated", eventUid: crypto.randomUUID() } });
    await p.ingest(podiumBody({ organizationUid: org, locationUid: loc }));
    // The contact belongs to another organization (stored so), which says nothing of where loc belongs.
    const moved = await p.ingest(contact({ after: { organization: { uid: other } } }));
    expect((await p.api("GET", `/v1/events/${moved}`)).json).toMatchObject({ locationUid: loc, organizationUid: other });
    expect(await locationOrganizations(env.DB, [loc])).toEqual(new Map([[loc, org]]));
    const review = JSON.stringify({ data: {}, metadata: { eventType: "review.created", eventUid: crypto.randomUUID(), locationUid: loc } });
    expect((await p.api("GET", `/v1/events/${await p.ingest(review)}`)).json.organizationUid).toBe(org);
    // A contact whose data.location names its organization says where loc belongs, as a message does.
    await p.ingest(contact({}).replace(`"organizationUid":"${org}"`, `"organizationUid":"${other}"`));
    expect(await locationOrganizations(env.DB, [loc])).toEqual(new Map([[loc, other]]));
    // So does metadata naming the location and its organization, beside a data.location (or a review's locations) naming no organization.
    const [third, fourth] = [`org-${k}-third`, `org-${k}-fourth`];
    const metadata = (data: object, type: string, organizationUid: string) =>
      JSON.stringify({ data, metadata: { eventType: type, eventUid: crypto.randomUUID(), locationUid: loc, organizationUid } });
    await p.ingest(metadata({ location: { uid: loc } }, "message.sent", third));
    expect(await locationOrganizations(env.DB, [loc])).toEqual(new Map([[loc, third]]));
    await p.ingest(metadata({ locations: [{ uid: loc }] }, "review.created", fourth));
    expect(await locationOrganizations(env.DB, [loc])).toEqual(new Map([[loc, fourth]]));
    // Metadata naming another location than the event's teaches nothing of either.
    await p.ingest(JSON.stringify({ data: { location: { uid: loc } }, metadata: { eventType: "message.sent", eventUid: crypto.randomUUID(), locationUid: `${loc}-x`, organizationUid: org } }));
    expect(await locationOrganizations(env.DB, [loc, `${loc}-x`])).toEqual(new Map([[loc, fourth]]));
  });

  it("learns from the admin's sources only: a token's ownerless source cannot move a location into an organization it holds", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const [victim, victimLoc, evil] = [`org-${k}-victim`, `loc-${k}-victim`, `org-${k}-evil`];
    await p.ingest(podiumBody({ organizationUid: victim, locationUid: victimLoc })); // Podium's own word
    // A token with no limits but no admin scope makes a source of its own, without an owner...
    const maker = await makeToken(p, ["sources:write"]);
    const secret = `sneaky-${k}`;
    const made = await as(p, maker.token, "POST", "/v1/sources", { name: "sneaky", provider: "podium", secrets: [secret] });
    expect(made.status).toBe(201);
    // ...whose events say the victim's location is the other organization's.
    await p.ingest(podiumBody({ organizationUid: evil, locationUid: victimLoc }), { source: made.json.id, secret });
    expect(await locationOrganizations(env.DB, [victimLoc])).toEqual(new Map([[victimLoc, victim]]));
    const t = await makeToken(p, ["webhooks:write", "read_messages"], { organizationUids: [evil] });
    const hook = { url: `https://downstream.test/ok/${k}`, eventTypes: ["message.*"], locationUid: victimLoc };
    expect((await as(p, t.token, "POST", "/v1/webhooks", hook)).status).toBe(403);

    expect(made.json.teachesLocations).toBe(false);

    // The admin's own source still teaches, and the token cannot make it verify with a secret of its own.
    const { source, secret: adminSecret } = await adminSource(p);
    expect((await p.api("GET", `/v1/sources/${source}`)).json.teachesLocations).toBe(true);
    const hijack = await as(p, maker.token, "PATCH", `/v1/sources/${source}`, { secrets: [`mine-${k}-long-enough`] });
    expect(hijack.status).toBe(403);
    expect(hijack.json.error.code).toBe("forbidden");
    expect((await as(p, maker.token, "PATCH", `/v1/sources/${source}`, { name: "renamed" })).status).toBe(200);
    // Nor turn its tolerance off (a signed event older than the retention would be stored, and teach, as new),
    // nor disable it, nor enable it once the admin has: each is refused, naming the field, and changes nothing.
    const shown = (await p.api("GET", `/v1/sources/${source}`)).json;
    for (const change of [{ toleranceSeconds: 0 }, { toleranceSeconds: null, disabled: true }]) {
      const refused = await as(p, maker.token, "PATCH", `/v1/sources/${source}`, change);
      expect(refused.status).toBe(403);
      expect(refused.json.error.message).toContain(Object.keys(change).at(-1));
    }
    expect((await p.api("GET", `/v1/sources/${source}`)).json).toMatchObject({ toleranceSeconds: shown.toleranceSeconds, disabled: false });
    // Writing back what it read changes nothing, so it passes.
    const same = { name: "renamed again", toleranceSeconds: shown.toleranceSeconds, disabled: false };
    expect((await as(p, maker.token, "PATCH", `/v1/sources/${source}`, same)).status).toBe(200);
    // ...nor pins the default it was shown: the source still follows SIGNATURE_TOLERANCE_S.
    expect(await env.DB.prepare("SELECT tolerance_seconds FROM sources WHERE id = ?").bind(source).first("tolerance_seconds")).toBeNull();
    expect((await p.api("PATCH", `/v1/sources/${source}`, { disabled: true })).status).toBe(200);
    expect((await as(p, maker.token, "PATCH", `/v1/sources/${source}`, { disabled: false })).status).toBe(403);
    expect((await p.api("PATCH", `/v1/sources/${source}`, { disabled: false })).status).toBe(200);
    // Nor delete it, to make it again under its id with a secret of its own.
    const deleted = await as(p, maker.token, "DELETE", `/v1/sources/${source}`);
    expect(deleted.status).toBe(403);
    expect((await p.api("GET", `/v1/sources/${source}`)).json.teachesLocations).toBe(true);
    expect((await as(p, maker.token, "PATCH", `/v1/sources/${made.json.id}`, { secrets: [`other-${k}-long-enough`] })).status).toBe(200);
    const newLoc = `loc-${k}-new`;
    await p.ingest(podiumBody({ organizationUid: evil, locationUid: newLoc }), { source, secret: adminSecret });
    expect(await locationOrganizations(env.DB, [newLoc])).toEqual(new Map([[newLoc, evil]]));
  });

  it("lets another token write back what it read of a source that teaches (verification, hmac, shopDomain), never its secrets, which it does not read", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const maker = await makeToken(p, ["sources:write"]);
    const change = (id: string, body: object) => as(p, maker.token, "PATCH", `/v1/sources/${id}`, body);
    const hmac = { header: "x-sig", algorithm: "SHA-256", encoding: "hex", prefix: "", timestampHeader: null, typePath: "type", dedupePath: null };
    const made = { hmac: await p.api("POST", "/v1/sources", { name: "h", provider: "hmac", secrets: [`hmac-${k}-secret`], hmac }) };
    const podium = await adminSource(p);
    const views = [made.hmac.json, (await p.api("GET", `/v1/sources/${podium.source}`)).json];
    for (const view of views) {
      expect(view.teachesLocations).toBe(true);
      for (const same of [{ verification: "signature" }, { shopDomain: null }, { hmac: view.hmac ?? undefined }, { name: "renamed", verification: view.verification, hmac: view.hmac ?? undefined, shopDomain: view.shopDomain }]) {
        const res = await change(view.id, same);
        expect(res.status).toBe(200);
      }
      expect((await p.api("GET", `/v1/sources/${view.id}`)).json).toMatchObject({ verification: "signature", hmac: view.hmac, shopDomain: null });
    }
    // A different value is still refused, naming it; the same secrets too (a 200 would confirm a guess).
    expect((await change(made.hmac.json.id, { hmac: { ...hmac, prefix: "sha256=" } })).json.error.message).toContain("change hmac of");
    expect((await change(podium.source, { verification: "none" })).status).toBe(403);
    expect((await change(podium.source, { secrets: [podium.secret] })).json.error.message).toContain("change secrets of");
    // Its hmac sent back with its keys in another order is no change either: taken, and nothing written (the version stays).
    const reordered = Object.fromEntries(Object.entries(hmac).reverse());
    const before = (await p.api("GET", `/v1/sources/${made.hmac.json.id}`)).json.updatedAt;
    expect((await change(made.hmac.json.id, { hmac: reordered })).json.updatedAt).toBe(before);
    // Nor is a source that verifies nothing, its verification sent back: nothing is turned off.
    const open = (await p.api("POST", "/v1/sources", { name: "o", provider: "podium", verification: "none" })).json;
    expect(open.teachesLocations).toBe(true);
    const written = await change(open.id, { verification: "none", name: "renamed" });
    expect([written.status, written.json.verification, written.json.name]).toEqual([200, "none", "renamed"]);
  });

  it("lets a source stored with a stored header as its signature's (before that was refused) be changed, its hmac sent back as read", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const hmac = { header: "x-sig", algorithm: "SHA-256", encoding: "hex", prefix: "", timestampHeader: null, typePath: "type", dedupePath: null };
    const made = (await p.api("POST", "/v1/sources", { name: "h", provider: "hmac", secrets: [`hmac-${k}-secret`], hmac })).json;
    await env.DB.prepare("UPDATE sources SET hmac = json_set(hmac, '$.header', 'user-agent') WHERE id = ?").bind(made.id).run();
    const read = (await p.api("GET", `/v1/sources/${made.id}`)).json;
    expect(read.hmac.header).toBe("user-agent");
    const res = await p.api("PATCH", `/v1/sources/${made.id}`, { name: "renamed", hmac: read.hmac });
    expect([res.status, res.json.name, res.json.hmac]).toEqual([200, "renamed", read.hmac]);
    // Changed, it meets the rule.
    expect((await p.api("PATCH", `/v1/sources/${made.id}`, { hmac: { ...read.hmac, prefix: "sha256=" } })).status).toBe(400);
  });

  it("learns nothing from a source that verifies nothing: anyone may post to it, the admin's own included", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const [victim, victimLoc, evil] = [`org-${k}-victim`, `loc-${k}-victim`, `org-${k}-evil`];
    await p.ingest(podiumBody({ organizationUid: victim, locationUid: victimLoc })); // Podium's own word
    const { source, secret } = await adminSource(p);
    expect((await p.api("PATCH", `/v1/sources/${source}`, { verification: "none" })).status).toBe(200);
    // Its view still says it teaches once verified, as the admin's lock on it reads: another token may
    // not turn verification on with a secret of its own, and is refused in the words the view uses.
    expect((await p.api("GET", `/v1/sources/${source}`)).json.teachesLocations).toBe(true);
    const maker = await makeToken(p, ["sources:write"]);
    const hijack = await as(p, maker.token, "PATCH", `/v1/sources/${source}`, { verification: "signature", secrets: [`attacker-${k}-secret`] });
    expect(hijack.status).toBe(403);
    expect(hijack.json.error.message).toBe(
      "Only the admin may change secrets, verification of a source that teaches which organization a location belongs to while it verifies signatures (teachesLocations).",
    );
    // Anyone's unsigned post naming the victim's location under another organization is stored...
    const stored = await p.ingest(podiumBody({ organizationUid: evil, locationUid: `${victimLoc}` }), { source, secret: `anything-${k}` });
    expect((await p.api("GET", `/v1/events/${stored}`)).status).toBe(200);
    // ...and teaches nothing: the location stays the victim's, and the other organization's token may not take it.
    expect(await locationOrganizations(env.DB, [victimLoc])).toEqual(new Map([[victimLoc, victim]]));
    const t = await makeToken(p, ["webhooks:write", "read_messages"], { organizationUids: [evil] });
    const hook = { url: `https://downstream.test/ok/${k}`, eventTypes: ["message.*"], locationUid: victimLoc };
    expect((await as(p, t.token, "POST", "/v1/webhooks", hook)).status).toBe(403);
    // Verifying again, it teaches again.
    expect((await p.api("PATCH", `/v1/sources/${source}`, { verification: "signature" })).status).toBe(200);
    expect((await p.api("GET", `/v1/sources/${source}`)).json.teachesLocations).toBe(true);
    const newLoc = `loc-${k}-new`;
    await p.ingest(podiumBody({ organizationUid: evil, locationUid: newLoc }), { source, secret });
    expect(await locationOrganizations(env.DB, [newLoc])).toEqual(new Map([[newLoc, evil]]));
  });

  it("keeps a location webhook made under an organization's grant within it when the location moves", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const [orgA, orgB, loc] = [`org-${k}-a`, `org-${k}-b`, `loc-${k}`];
    await p.ingest(podiumBody({ organizationUid: orgA, locationUid: loc }));
    const scopes: Scope[] = ["webhooks:write", "webhooks:read", "events:read", "read_messages"];
    const tA = await makeToken(p, scopes, { organizationUids: [orgA] });
    const tB = await makeToken(p, scopes, { organizationUids: [orgB] });
    const tLoc = await makeToken(p, scopes, { locationUids: [loc] });
    const hook = { url: `https://downstream.test/ok/${k}`, eventTypes: ["message.*"], locationUid: loc };
    const made = await as(p, tA.token, "POST", "/v1/webhooks", hook);
    expect(made.status).toBe(201);
    expect(made.json.grantOrganizationUid).toBe(orgA);
    // Neither a token holding the location itself nor the admin confines theirs.
    const byLoc = await as(p, tLoc.token, "POST", "/v1/webhooks", hook);
    expect(byLoc.json.grantOrganizationUid).toBeNull();
    // Nor one holding it both itself and through its organization.
    const tBoth = await makeToken(p, scopes, { organizationUids: [orgA], locationUids: [loc] });
    const byBoth = await as(p, tBoth.token, "POST", "/v1/webhooks", hook);
    expect(byBoth.json.grantOrganizationUid).toBeNull();
    const admins = await p.createWebhook(hook);
    expect(admins.grantOrganizationUid).toBeNull();

    const before = await p.ingest(podiumBody({ type: "message.received", organizationUid: orgA, locationUid: loc }));
    expect((await deliveriesOf(p, before)).map((d) => d.webhookUid).sort()).toEqual([made.json.uid, byLoc.json.uid, byBoth.json.uid, admins.uid].sort());

    // Podium's own events now place the location in the other organization.
    const after = await p.ingest(podiumBody({ type: "message.received", organizationUid: orgB, locationUid: loc }));
    expect(await locationOrganizations(env.DB, [loc])).toEqual(new Map([[loc, orgB]]));
    expect((await deliveriesOf(p, after)).map((d) => d.webhookUid).sort()).toEqual([byLoc.json.uid, byBoth.json.uid, admins.uid].sort());
    const test = await p.api("POST", `/v1/webhooks/${made.json.uid}/test`, { eventId: after });
    expect(test.json.matched).toBe(false);
    expect(test.json.checks.find((c: { check: string }) => c.check === "owner")).toEqual({
      check: "owner",
      passed: false,
      message: `the event's organization is ${orgB}, the webhook's ${orgA} (made within that organization's grant)`,
    });

    // It stays the first token's (to see, change and delete), and never becomes the other organization's,
    // through the list's SQL as through the grant check of one webhook.
    const sees = async (t: { token: string }, uid: string) => [
      (await as(p, t.token, "GET", `/v1/webhooks/${uid}`)).status === 200,
      ids((await as(p, t.token, "GET", "/v1/webhooks?limit=100")).json).includes(uid),
    ];
    expect(await sees(tA, made.json.uid)).toEqual([true, true]);
    expect(await sees(tB, made.json.uid)).toEqual([false, false]);
    expect(await sees(tB, admins.uid)).toEqual([true, true]);
    expect(await sees(tA, admins.uid)).toEqual([false, false]);
    expect((await as(p, tA.token, "PATCH", `/v1/webhooks/${made.json.uid}`, { eventTypes: ["message.received"] })).status).toBe(200);
    expect((await as(p, tA.token, "DELETE", `/v1/webhooks/${made.json.uid}`)).status).toBe(204);
  });

  it("is not moved back by a redelivered event, nor by one received before the move and stored after it", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const [loc, orgA, orgB] = [`loc-${k}`, `org-${k}-a`, `org-${k}-b`];
    const old = podiumBody({ organizationUid: orgA, locationUid: loc });
    const first = await p.ingest(old);
    await p.ingest(podiumBody({ organizationUid: orgB, locationUid: loc })); // the location moved
    // Podium sends the old event again (same eventUid): a duplicate, not stored again, says nothing new.
    expect(await p.ingest(old)).toBe(first);
    expect(await locationOrganizations(env.DB, [loc])).toEqual(new Map([[loc, orgB]]));

    // An event received before the next move, whose storing came after it (an ingest retry), is older news.
    await p.receive(podiumBody({ organizationUid: orgA, locationUid: loc }));
    // A second earlier than what follows: a receipt in the same millisecond would tell no order.
    const late = p.queues.ingest.sent.splice(0).map((m) => ({ ...m, receivedAt: m.receivedAt - 1000 }));
    await p.ingest(podiumBody({ organizationUid: `org-${k}-c`, locationUid: loc }));
    await p.runIngest(late);
    expect(await locationOrganizations(env.DB, [loc])).toEqual(new Map([[loc, `org-${k}-c`]]));

    // So the first organization's tokens gain nothing from either.
    const t = await makeToken(p, ["webhooks:write", "read_messages"], { organizationUids: [orgA] });
    const hook = { url: `https://downstream.test/ok/${k}`, eventTypes: ["message.*"], locationUid: loc };
    expect((await as(p, t.token, "POST", "/v1/webhooks", hook)).status).toBe(403);
  });

  it("gives a review the location's organization, not one a redelivered or late event in the same batch claims", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const [loc, orgA, orgB] = [`loc-${k}`, `org-${k}-a`, `org-${k}-b`];
    const review = (eventUid = crypto.randomUUID()) =>
      JSON.stringify({ data: { uid: crypto.randomUUID(), locations: [{ uid: loc }] }, metadata: { eventType: "review.created", eventUid, version: "2021.04.01" } });
    const old = podiumBody({ organizationUid: orgA, locationUid: loc });
    await p.ingest(old);
    await p.receive(podiumBody({ organizationUid: orgA, locationUid: loc }));
    // Received before the move (a second earlier: the same millisecond would tell no order), stored after it.
    const late = p.queues.ingest.sent.splice(0).map((m) => ({ ...m, receivedAt: m.receivedAt - 1000 }));
    await p.ingest(podiumBody({ organizationUid: orgB, locationUid: loc })); // the location moved

    // One batch: Podium sends the old event again, with a review of the location.
    await p.receive(old);
    const reviewed = await p.receive(review());
    await p.runIngest(p.queues.ingest.sent.splice(0));
    // Another: the late event, then a review.
    const reviewedAgain = await p.receive(review());
    await p.runIngest([...late, ...p.queues.ingest.sent.splice(0)]);
    for (const id of [reviewed, reviewedAgain]) expect((await p.api("GET", `/v1/events/${id}`)).json.organizationUid).toBe(orgB);
    expect(await locationOrganizations(env.DB, [loc])).toEqual(new Map([[loc, orgB]]));
  });

  it("writes a location's row only when its organization changed", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const [loc, org] = [`loc-${k}`, `org-${k}`];
    // Events of a source that teaches nothing, stored with their owners: the map is left to learnLocations here.
    const quiet = await createSource({ id: `quiet-${k}`, secrets: [`quiet-${k}`], teachesLocations: false });
    const claimOf = async (organizationUid: string) => {
      const eventId = await p.ingest(podiumBody({ organizationUid, locationUid: loc }), { source: quiet, secret: `quiet-${k}` });
      const receivedAt = Date.parse((await p.api("GET", `/v1/events/${eventId}`)).json.receivedAt);
      return { locationUid: loc, organizationUid, eventId, receivedAt };
    };
    const [a, b] = [await claimOf(org), await claimOf(org)];
    expect(await locationOrganizations(env.DB, [loc])).toEqual(new Map());
    const first = await learnLocations(env.DB, [a])!.run();
    expect(first.meta.rows_written).toBeGreaterThan(0);
    const again = await learnLocations(env.DB, [a, b])!.run();
    expect(again.meta.rows_written).toBe(0);
    const moved = await claimOf(`org-${k}-new`);
    expect((await learnLocations(env.DB, [moved])!.run()).meta.rows_written).toBeGreaterThan(0);
    const row = await env.DB.prepare("SELECT organization_uid, updated_at FROM locations WHERE location_uid = ?").bind(loc).first();
    expect(row).toEqual({ organization_uid: `org-${k}-new`, updated_at: moved.receivedAt });
  });

  it("gives the same answer through the list's SQL as through the grant check of one webhook", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const [orgA, orgB, locA, locB, locUnknown] = [`org-${k}-a`, `org-${k}-b`, `loc-${k}-a`, `loc-${k}-b`, `loc-${k}-u`];
    await p.ingest(podiumBody({ organizationUid: orgA, locationUid: locA }));
    await p.ingest(podiumBody({ organizationUid: orgB, locationUid: locB }));
    const url = `https://downstream.test/ok/${k}`;
    const scopes = [{ organizationUid: orgA }, { organizationUid: orgB }, { locationUid: locA }, { locationUid: locB }, { locationUid: locUnknown }, {}];
    const hooks = [];
    await createSource({ id: `none-${k}`, secrets: ["a-source-of-its-own"] });
    for (const s of scopes) hooks.push((await p.createWebhook({ url, eventTypes: ["*"], sourceIds: [`none-${k}`], ...s })).uid);
    // A legacy row with both set (before migration 0006) counts as its organization's.
    await env.DB.prepare(
      `INSERT INTO webhooks (uid, url, event_types, location_uid, organization_uid, source_ids, secret, disabled, timeout_ms, max_attempts, created_at, updated_at)
       VALUES (?, ?, '["*"]', ?, ?, ?, 'whsec_x', 0, 5000, 15, 0, 0)`,
    )
      .bind(`both-${k}`, url, locA, orgB, JSON.stringify([`none-${k}`]))
      .run();
    hooks.push(`both-${k}`);

    const grants = [{ organizationUids: [orgA] }, { locationUids: [locA] }, { locationUids: [locUnknown] }, { organizationUids: [orgB], locationUids: [locA] }];
    const expected = [
      [true, false, true, false, false, false, false],
      [false, false, true, false, false, false, false],
      [false, false, false, false, true, false, false],
      [false, true, true, true, false, false, true],
    ];
    for (const [i, grant] of grants.entries()) {
      const t = await makeToken(p, ["webhooks:read"], grant);
      const listed = new Set(ids((await as(p, t.token, "GET", "/v1/webhooks?limit=100")).json));
      const one = await Promise.all(hooks.map(async (uid) => (await as(p, t.token, "GET", `/v1/webhooks/${uid}`)).status === 200));
      expect(hooks.map((uid) => listed.has(uid))).toEqual(expected[i]);
      expect(one).toEqual(expected[i]);
    }
  });
});

describe("sources have an owner", () => {
  it("an organization-limited token cannot forge another organization's invoice (the audit's reproduction)", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const [orgA, orgB, locB] = [`org-${k}-a`, `org-${k}-b`, `loc-${k}-b`];
    await p.ingest(podiumBody({ organizationUid: orgB, locationUid: locB })); // Podium says loc-B is org-B's
    await p.createWebhook({ url: `https://downstream.test/ok/${k}-org`, eventTypes: ["invoice.*"], organizationUid: orgB });
    await p.createWebhook({ url: `https://downstream.test/ok/${k}-loc`, eventTypes: ["invoice.*"], locationUid: locB });
    const t = await makeToken(p, ["sources:write", "sources:read"], { organizationUids: [orgA] });

    const open = await as(p, t.token, "POST", "/v1/sources", { name: "open", provider: "podium", verification: "none" });
    expect(open.status).toBe(403);
    expect(open.json.error.details.missingScope).toBe("admin");
    const own = await as(p, t.token, "POST", "/v1/sources", { name: "mine", provider: "podium", secrets: [`tenant-${k}`] });
    expect(own.status).toBe(201);
    expect(own.json.organizationUid).toBe(orgA);

    const forged = podiumBody({ type: "invoice.payment_succeeded", organizationUid: orgB, locationUid: locB });
    const eventId = await p.ingest(forged, { source: own.json.id, secret: `tenant-${k}` });
    await p.deliver();
    const stored = (await p.api("GET", `/v1/events/${eventId}`)).json;
    expect(stored).toMatchObject({ organizationUid: orgA, locationUid: null, deliveries: [] });
    expect(await received(`${k}-org`)).toHaveLength(0);
    expect(await received(`${k}-loc`)).toHaveLength(0);
  });

  it("a limited token sees, changes and deletes only the sources its organizations own", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const org = `org-${k}`;
    const admin = (await p.api("POST", "/v1/sources", { name: "admin", provider: "podium", secrets: [`admin-${k}`] })).json.id;
    const t = await makeToken(p, ["sources:write", "sources:read"], { organizationUids: [org] });
    const mine = (await as(p, t.token, "POST", "/v1/sources", { name: "mine", provider: "podium", secrets: [`mine-${k}`] })).json.id;

    expect(ids((await as(p, t.token, "GET", "/v1/sources")).json)).toEqual([mine]);
    for (const id of [admin, "podium"]) {
      expect((await as(p, t.token, "GET", `/v1/sources/${id}`)).status).toBe(404);
      expect((await as(p, t.token, "PATCH", `/v1/sources/${id}`, { verification: "none" })).status).toBe(404);
      expect((await as(p, t.token, "PATCH", `/v1/sources/${id}`, { secrets: [`stolen-${k}`] })).status).toBe(404);
      expect((await as(p, t.token, "DELETE", `/v1/sources/${id}`)).status).toBe(404);
    }
    expect((await p.api("GET", `/v1/sources/${admin}`)).json).toMatchObject({ id: admin, organizationUid: null });

    const noneForMe = await as(p, t.token, "PATCH", `/v1/sources/${mine}`, { verification: "none" });
    expect(noneForMe.status).toBe(403);
    expect((await as(p, t.token, "PATCH", `/v1/sources/${mine}`, { name: "renamed" })).json).toMatchObject({ name: "renamed", organizationUid: org });
    expect((await as(p, t.token, "POST", "/v1/sources", { name: "x", provider: "podium", secrets: ["12345678"], organizationUid: `${org}-other` })).status).toBe(403);

    const byLocation = await makeToken(p, ["sources:write", "sources:read"], { locationUids: [`loc-${k}`] });
    const refused = await as(p, byLocation.token, "POST", "/v1/sources", { name: "x", provider: "podium", secrets: ["12345678"] });
    expect(refused.status).toBe(403);
    expect(refused.json.error.message).toMatch(/location/);
    // Its field named, as every new source's and webhook's 403 for an owner names it.
    expect(refused.json.error.details).toEqual({ issues: [{ path: "organizationUid", message: "a source belongs to an organization, and this token holds none" }] });
    expect((await as(p, byLocation.token, "GET", "/v1/sources")).json.data).toEqual([]);

    // Only the admin turns verification off, on create and on change; an unlimited token without `admin` may not.
    const writer = await makeToken(p, ["sources:write"]);
    expect((await as(p, writer.token, "POST", "/v1/sources", { name: "o", provider: "podium", verification: "none" })).status).toBe(403);
    expect((await as(p, writer.token, "PATCH", `/v1/sources/${admin}`, { verification: "none" })).status).toBe(403);
    expect((await p.api("PATCH", `/v1/sources/${admin}`, { verification: "none" })).status).toBe(200);
    expect((await as(p, t.token, "DELETE", `/v1/sources/${mine}`)).status).toBe(204);
  });

  it("pins an owned source's events to its organization, keeping a location only when the map ties it to the owner", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const [org, loc, elsewhere] = [`org-${k}`, `loc-${k}`, `loc-${k}-elsewhere`];
    await p.ingest(podiumBody({ organizationUid: org, locationUid: loc }));
    const secret = `tenant-${k}`;
    const source = (await p.api("POST", "/v1/sources", { name: "t", provider: "podium", secrets: [secret], organizationUid: org })).json;
    expect(source.organizationUid).toBe(org);
    const hook = await p.createWebhook({ url: `https://downstream.test/ok/${k}`, eventTypes: ["message.*"], locationUid: loc });

    const kept = await p.ingest(podiumBody({ organizationUid: `org-${k}-claimed`, locationUid: loc }), { source: source.id, secret });
    const dropped = await p.ingest(podiumBody({ organizationUid: org, locationUid: elsewhere }), { source: source.id, secret });
    expect((await p.api("GET", `/v1/events/${kept}`)).json).toMatchObject({ organizationUid: org, locationUid: loc });
    expect((await p.api("GET", `/v1/events/${dropped}`)).json).toMatchObject({ organizationUid: org, locationUid: null });
    expect((await deliveriesOf(p, kept)).map((d) => d.webhookUid)).toEqual([hook.uid]);
  });
});

describe("retries and replays reach only enabled webhooks inside the caller's grant", () => {
  async function setup() {
    const p = pipeline();
    const k = uniqueKey();
    const [org, loc] = [`org-${k}`, `loc-${k}`];
    const from = await adminSource(p);
    // A catch-all on this test's own source, and the organization's webhook.
    const global = await p.createWebhook({ url: `https://downstream.test/ok/${k}-global`, eventTypes: ["*"], sourceIds: [from.source] });
    const mine = await p.createWebhook({ url: `https://downstream.test/ok/${k}-mine`, eventTypes: ["*"], organizationUid: org });
    const eventId = await p.ingest(podiumBody({ organizationUid: org, locationUid: loc }), from);
    await p.deliver();
    const t = await makeToken(p, ["events:read", "events:replay", "webhooks:read", "read_messages"], { organizationUids: [org] });
    const byHook = new Map((await deliveriesOf(p, eventId)).map((d) => [d.webhookUid, d.id]));
    return { p, k, org, global, mine, eventId, t, globalDelivery: byHook.get(global.uid)!, myDelivery: byHook.get(mine.uid)! };
  }

  it("an organization token's bulk retry reaches neither a catch-all webhook nor a disabled one (the audit's reproduction)", async () => {
    const { p, k, mine, t, globalDelivery, myDelivery } = await setup();
    expect(await statusOf(globalDelivery)).toBe("succeeded");
    await p.api("PATCH", `/v1/webhooks/${mine.uid}`, { disabled: true });

    const res = await as(p, t.token, "POST", "/v1/deliveries/retry", { status: "succeeded" });
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ count: 1, held: 1, nextCursor: null });
    await p.deliver();
    expect(await received(`${k}-global`)).toHaveLength(1);
    expect(await received(`${k}-mine`)).toHaveLength(1);
    expect(await statusOf(globalDelivery)).toBe("succeeded");
    expect(await statusOf(myDelivery)).toBe("held");
    expect((await as(p, t.token, "POST", `/v1/deliveries/${globalDelivery}/retry`)).status).toBe(404);
  });

  it("retrying one delivery of a disabled webhook holds it; enabling the webhook sends it", async () => {
    const { p, k, mine, t, myDelivery } = await setup();
    await p.api("PATCH", `/v1/webhooks/${mine.uid}`, { disabled: true });
    const woken = p.woken.length;
    const res = await as(p, t.token, "POST", `/v1/deliveries/${myDelivery}/retry`);
    expect(res.status).toBe(202);
    expect(res.json.status).toBe("held");
    expect(p.woken).toHaveLength(woken); // nothing to send: no scheduler is woken
    await p.api("PATCH", `/v1/webhooks/${mine.uid}`, { disabled: false });
    await p.deliver();
    expect(await received(`${k}-mine`)).toHaveLength(2);
  });

  it("replays to the caller's granted webhooks only, held for a disabled one", async () => {
    const { p, k, global, mine, eventId, t } = await setup();
    await p.api("PATCH", `/v1/webhooks/${mine.uid}`, { disabled: true });
    const res = await as(p, t.token, "POST", `/v1/events/${eventId}/replay`, {});
    expect(res).toMatchObject({ status: 202, json: { deliveries: 1 } });
    expect((await as(p, t.token, "POST", `/v1/events/${eventId}/replay`, { webhookUid: global.uid })).status).toBe(404);
    await p.deliver();
    expect(await received(`${k}-global`)).toHaveLength(1);
    const replayed = (await deliveriesOf(p, eventId)).filter((d) => d.webhookUid === mine.uid);
    expect(replayed.map((d) => d.status).sort()).toEqual(["held", "succeeded"]);
  });

  it("the scheduler holds, and never posts, a delivery whose webhook was disabled after it was woken", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const hook = await p.createWebhook({ url: `https://downstream.test/ok/${k}`, eventTypes: ["*"], organizationUid: `org-${k}` });
    const eventId = await p.ingest(podiumBody({ organizationUid: `org-${k}` }));
    expect(p.woken).toEqual([hook.uid]);
    // Disabled between routing and the scheduler's run (the API would also hold it; this is the race it cannot see).
    await env.DB.prepare("UPDATE webhooks SET disabled = 1 WHERE uid = ?").bind(hook.uid).run();
    await p.deliver();
    const [d] = await deliveriesOf(p, eventId);
    expect(d!.status).toBe("held");
    await p.api("PATCH", `/v1/webhooks/${hook.uid}`, { disabled: false });
    await p.deliver();
    const got = await received(k);
    expect(got).toHaveLength(1); // only after it was enabled again
    expect(await statusOf(d!.id)).toBe("succeeded");
  });
});

describe("a limited token sees only the deliveries of webhooks inside its grant", () => {
  it("on an event's page and in the delivery list, attempts and responses included", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const org = `org-${k}`;
    const from = await adminSource(p);
    const other = await p.createWebhook({ url: `https://downstream.test/fail/${k}-other`, eventTypes: ["*"], sourceIds: [from.source], maxAttempts: 1 });
    const mine = await p.createWebhook({ url: `https://downstream.test/ok/${k}`, eventTypes: ["*"], organizationUid: org });
    const eventId = await p.ingest(podiumBody({ organizationUid: org }), from);
    await p.deliver();
    expect((await deliveriesOf(p, eventId)).map((d) => d.webhookUid).sort()).toEqual([other.uid, mine.uid].sort());

    const t = await makeToken(p, ["events:read", "read_messages"], { organizationUids: [org] });
    const page = await as(p, t.token, "GET", `/v1/events/${eventId}`);
    expect(page.json.deliveries.map((d: { webhookUid: string }) => d.webhookUid)).toEqual([mine.uid]);
    expect(JSON.stringify(page.json)).not.toContain("downstream says no");
    const list = await as(p, t.token, "GET", `/v1/deliveries?eventId=${eventId}`);
    expect(list.json.data.map((d: { webhookUid: string }) => d.webhookUid)).toEqual([mine.uid]);
    expect(await as(p, t.token, "GET", `/v1/deliveries?webhookUid=${other.uid}`)).toMatchObject({ status: 404, json: { error: { code: "not_found" } } });
    const stats = (await as(p, t.token, "GET", "/v1/stats")).json;
    expect(stats.deliveries.failed).toBe(0);
    // Nor does the events list's status filter tell of the delivery it cannot see.
    const ids = async (status: string) => (await as(p, t.token, "GET", `/v1/events?status=${status}&limit=100`)).json.data.map((e: { id: string }) => e.id);
    expect(await ids("failed")).not.toContain(eventId);
    expect(await ids("succeeded")).toContain(eventId);
    const admin = (await p.api("GET", `/v1/events?status=failed&organizationUid=${org}&limit=100`)).json.data.map((e: { id: string }) => e.id);
    expect(admin).toContain(eventId);
  });
});

describe("an event a token may not see", () => {
  it(`answers its deliveries as an unknown event's (404), whatever their number, past EVENT_RANGE_DELIVERIES too`, async () => {
    const p = pipeline();
    const k = uniqueKey();
    const [mine, theirs] = [`org-${k}-a`, `org-${k}-b`];
    await p.createWebhook({ url: `https://downstream.test/ok/${k}-a`, eventTypes: ["*"], organizationUid: mine });
    const hook = await p.createWebhook({ url: `https://downstream.test/ok/${k}-b`, eventTypes: ["*"], organizationUid: theirs });
    const id = await p.ingest(podiumBody({ organizationUid: theirs }));
    const receivedAt = Date.parse((await p.api("GET", `/v1/events/${id}`)).json.receivedAt);
    const unknown = `evt_${"0".repeat(31)}1`;
    const limited = await makeToken(p, ["events:read", ...DATA_SCOPES], { organizationUids: [mine] });
    // A token of every place without the event's data scope (its object hidden) may not see it either.
    const unscoped = await makeToken(p, ["events:read"]);
    const meter = meteredD1(env.DB);
    const check = async () => {
      for (const t of [limited, unscoped]) {
        const headers = { authorization: `Bearer ${t.token}` };
        for (const query of ["", "&limit=1", "&status=pending"]) {
          const [seen, none] = [
            await meteredApiCall(meter, "GET", `/v1/deliveries?eventId=${id}${query}`, undefined, headers),
            await meteredApiCall(meter, "GET", `/v1/deliveries?eventId=${unknown}${query}`, undefined, headers),
          ];
          // 404, as for an event nobody has: never an empty page that says it exists.
          expect([none.status, none.json.error.code], query).toEqual([404, "not_found"]);
          expect([seen.status, seen.json.error.code], query).toEqual([none.status, none.json.error.code]);
          // The event's reads (its range, then whether the token sees it), and no walk of its deliveries (past the bound, every delivery newest first: ~4,000 rows).
          expect(seen.rows, query).toBeLessThanOrEqual(none.rows + 10);
        }
        const [detail, nothing] = [await as(p, t.token, "GET", `/v1/events/${id}`), await as(p, t.token, "GET", `/v1/events/${unknown}`)];
        expect([detail.status, detail.json.error.code]).toEqual([nothing.status, nothing.json.error.code]);
        expect(detail.status).toBe(404);
      }
      // The event page's read itself, given the access (the route answers 404 before it).
      expect(await eventDeliveries(env.DB, id, { hiddenObjects: [], organizationUids: [mine], locationUids: null }, { limit: 20 })).toEqual({ deliveries: [], nextBefore: null });
    };
    await check();
    // Replays past the bound of those read along the event's id range, and past what a call walks of every delivery (4,000).
    for (let made = 1; made <= EVENT_RANGE_DELIVERIES + 4_000; made += 100) {
      const replays = await Promise.all(Array.from({ length: 100 }, () => newDelivery("replay", { id, receivedAt }, { uid: hook.uid }, Date.now())));
      expect(await insertDeliveries(env.DB, replays)).toHaveLength(100);
    }
    await check();
    // The admin still pages through them all.
    const first = await p.api("GET", `/v1/deliveries?eventId=${id}&limit=100`);
    expect(first.json.nextCursor).toEqual(expect.any(String));
  }, 120_000);
});

describe("a limited token's stats", () => {
  it("count what it can list: its organizations' events, its locations' under other organizations once, no hidden object", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const [a, b] = [`org-a-${k}`, `org-b-${k}`];
    const [l, m, n] = [`loc-l-${k}`, `loc-m-${k}`, `loc-n-${k}`];
    const hook = await p.createWebhook({ url: `https://downstream.test/ok/${k}`, eventTypes: ["*"], organizationUid: a });
    for (const e of [
      { organizationUid: a, locationUid: l },
      { organizationUid: a, locationUid: l, type: "review.created" },
      { organizationUid: b, locationUid: m },
      { organizationUid: b, locationUid: n },
    ]) {
      await p.ingest(podiumBody(e));
    }
    await p.deliver();
    const t = await makeToken(p, ["events:read", "webhooks:read", "read_messages"], { organizationUids: [a], locationUids: [m] });
    const listed = (await as(p, t.token, "GET", "/v1/events?limit=100")).json.data;
    expect(listed.map((e: { locationUid: string }) => e.locationUid).sort()).toEqual([l, m].sort());
    const delivered = (await as(p, t.token, "GET", `/v1/deliveries?webhookUid=${hook.uid}&limit=100`)).json.data;
    expect(delivered).toHaveLength(1);
    const stats = (await as(p, t.token, "GET", "/v1/stats")).json;
    expect(stats.events).toEqual({ total: listed.length, last24h: listed.length });
    expect(stats.deliveries).toMatchObject({ succeeded: delivered.length, pending: 0, failed: 0, held: 0 });
    expect(stats.webhooks.map((w: { uid: string }) => w.uid)).toEqual([hook.uid]);

    // Without webhooks:read, no webhook's URL or last error: the same counts, no list per webhook.
    const reader = await makeToken(p, ["events:read", "read_messages"], { organizationUids: [a], locationUids: [m] });
    const seen = await as(p, reader.token, "GET", "/v1/stats");
    expect(seen.json.webhooks).toEqual([]);
    expect(seen.json.deliveries).toEqual(stats.deliveries);
    expect(JSON.stringify(seen.json)).not.toContain(hook.url);
  });
});

describe("the per-webhook counts of /v1/stats", () => {
  it(`come ${STATS_WEBHOOKS} webhooks an answer, by uid, each page's cursor leading to the next: a limited token's from its list, the admin's along every webhook`, async () => {
    const p = pipeline();
    const k = uniqueKey();
    const org = `org-${k}`;
    const made = await Promise.all(
      Array.from({ length: STATS_WEBHOOKS + 5 }, (_, i) => p.createWebhook({ url: `https://downstream.test/ok/${k}-${i}`, eventTypes: ["*"], organizationUid: org })),
    );
    await p.ingest(podiumBody({ organizationUid: org }));
    const t = await makeToken(p, ["events:read", "webhooks:read", ...DATA_SCOPES], { organizationUids: [org] });
    const pages = async (token: string | null) => {
      const answers: { webhooks: { uid: string; pending: number }[]; webhooksNextCursor: string | null; deliveries: unknown }[] = [];
      for (let cursor: string | null | undefined; cursor !== null; ) {
        expect(answers.length).toBeLessThan(100);
        const path = `/v1/stats${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ""}`;
        const r = token === null ? await p.api("GET", path) : await as(p, token, "GET", path);
        expect(r.status).toBe(200);
        answers.push(r.json);
        cursor = r.json.webhooksNextCursor;
      }
      return answers;
    };
    const limited = await pages(t.token);
    expect(limited.map((a) => a.webhooks.length)).toEqual([STATS_WEBHOOKS, 5]);
    const uids = limited.flatMap((a) => a.webhooks.map((w) => w.uid));
    expect(uids).toEqual(made.map((w) => w.uid).sort());
    expect(limited.flatMap((a) => a.webhooks.map((w) => w.pending))).toEqual(Array(made.length).fill(1));
    // The totals on each page, exact: its webhooks' counters summed.
    for (const a of limited) expect(a.deliveries).toMatchObject({ pending: made.length });
    const all = (await env.DB.prepare("SELECT uid FROM webhooks WHERE kind = 'webhook' ORDER BY uid").all<{ uid: string }>()).results.map((r) => r.uid);
    const admin = await pages(null);
    expect(admin.flatMap((a) => a.webhooks.map((w) => w.uid)).sort()).toEqual(all);
    expect(admin.slice(0, -1).every((a) => a.webhooks.length === STATS_WEBHOOKS)).toBe(true);
    // A cursor of another list is refused.
    const other = limited[0]!.webhooksNextCursor!;
    expect((await p.api("GET", `/v1/events?cursor=${encodeURIComponent(other)}`)).status).toBe(400);

    // Named webhooks (the dashboard's page): theirs, wherever they fall by uid.
    const outside = await p.createWebhook({ url: `https://downstream.test/ok/${k}-outside`, eventTypes: ["*"], organizationUid: `${org}-other` });
    const last = made.map((w) => w.uid).sort().at(-1)!;
    const mine = await as(p, t.token, "GET", `/v1/stats?webhookUids=${last}`);
    expect(mine.json.webhooks.map((w: { uid: string; pending: number }) => [w.uid, w.pending])).toEqual([[last, 1]]);
    expect(mine.json.webhooksNextCursor).toBeNull();
    const theirs = await p.api("GET", `/v1/stats?webhookUids=${[last, outside.uid].join(",")}`);
    expect(theirs.json.webhooks.map((w: { uid: string }) => w.uid).sort()).toEqual([last, outside.uid].sort());
    // One outside the grant, or none, is refused by name (404) as GET /v1/webhooks/{uid} refuses it, in the
    // same words for either (the token learns nothing of the other organization's), not left out of the answer.
    const refused = await as(p, t.token, "GET", `/v1/stats?webhookUids=${[last, outside.uid, "no-such-webhook"].join(",")}`);
    expect(refused.status).toBe(404);
    expect(refused.json.error).toEqual({ ...(await as(p, t.token, "GET", `/v1/webhooks/${outside.uid}`)).json.error, details: { webhookUids: [outside.uid, "no-such-webhook"] } });
    const none = await as(p, t.token, "GET", "/v1/stats?webhookUids=no-such-webhook");
    expect([none.status, none.json.error.message]).toEqual([404, 'No webhook "no-such-webhook" (deleted, or not one this token may see).']);
    expect(refused.json.error.message).toBe(none.json.error.message.replace("no-such-webhook", outside.uid));
    // To the admin, one never made or deleted (its stats are no webhook's: its counts stay in the totals).
    expect((await p.api("GET", `/v1/stats?webhookUids=${last},no-such-webhook`)).json.error).toMatchObject({ code: "not_found", details: { webhookUids: ["no-such-webhook"] } });
    expect((await p.api("DELETE", `/v1/webhooks/${outside.uid}`)).status).toBe(204);
    expect((await p.api("GET", `/v1/stats?webhookUids=${outside.uid}`)).json.error).toMatchObject({ code: "not_found", message: `No webhook "${outside.uid}" (deleted, or not one this token may see).` });
    const both = await p.api("GET", `/v1/stats?webhookUids=${last}&cursor=${encodeURIComponent(admin[0]!.webhooksNextCursor!)}`);
    expect([both.status, both.json.error.code]).toEqual([400, "invalid_request"]);
  });
});

describe("a limited token's filters on places outside its grant", () => {
  it("walk nothing of another organization's: an empty page whose cursor says nothing of where its events lie", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const [orgA, orgB, locA, locB] = [`org-${k}-a`, `org-${k}-b`, `loc-${k}-a`, `loc-${k}-b`];
    await p.ingest(podiumBody({ organizationUid: orgA, locationUid: locA }));
    await p.ingest(podiumBody({ organizationUid: orgB, locationUid: locB }));
    const t = await makeToken(p, ["events:read", "read_messages"], { organizationUids: [orgA] });
    const meter = meteredD1(env.DB);
    const read = (path: string) => meteredApiCall(meter, "GET", path, undefined, { authorization: `Bearer ${t.token}` });
    const filters = [`organizationUid=${orgB}`, `locationUid=${locB}`];
    const rows: number[] = [];
    for (const filter of filters) rows.push((await read(`/v1/events?limit=1&${filter}`)).rows);
    // 300 more of the other organization's, in three batches: three places rows more to walk, none of its events.
    for (let i = 0; i < 3; i++) {
      await p.runIngest(Array.from({ length: 100 }, () => ingestMessage({ organizationUid: orgB, locationUid: locB, body: podiumBody({ organizationUid: orgB, locationUid: locB }) })));
    }
    for (const [i, filter] of filters.entries()) {
      const page = await read(`/v1/events?limit=1&${filter}`);
      expect(page.json).toEqual({ data: [], nextCursor: null });
      expect(page.rows - rows[i]!).toBeLessThanOrEqual(3);
    }
    // Its own organization's location is walked as before.
    const own = await read(`/v1/events?limit=1&locationUid=${locA}`);
    expect(own.json.data).toHaveLength(1);
  });

  it("answer a name no one has as they answer another tenant's, walking the same rows, so neither says which names exist", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const [orgA, orgB, locA, locB] = [`org-${k}-a`, `org-${k}-b`, `loc-${k}-a`, `loc-${k}-b`];
    await p.runIngest(Array.from({ length: 30 }, () => ingestMessage({ organizationUid: orgA, locationUid: locA, body: podiumBody({ organizationUid: orgA, locationUid: locA }) })));
    // Digits only, of one length: no catalog type has a digit, so both names are as far from each
    // type, and their typo's closest is the same (a random key's letters could make them differ).
    const [theirInvoice, nobodysInvoice] = ["1", "2"].map((d) => `invoice.${d}${String(Math.random()).slice(2, 12).padEnd(10, "0")}`);
    await p.ingest(podiumBody({ organizationUid: orgB, locationUid: locB, type: theirInvoice }));
    await p.ingest(podiumBody({ organizationUid: orgB, locationUid: locB, type: `thing.${k}` }));
    const t = await makeToken(p, ["events:read", "read_messages"], { organizationUids: [orgA] });
    const meter = meteredD1(env.DB);
    const read = (query: string) => meteredApiCall(meter, "GET", `/v1/events?limit=1&${query}`, undefined, { authorization: `Bearer ${t.token}` });
    // (Its use recorded first: the calls compared then write nothing, the first no more than the others.)
    expect((await as(p, t.token, "GET", "/v1/events?limit=1")).status).toBe(200);
    for (const [theirs, nobodys] of [
      [`locationUid=${locB}`, `locationUid=loc-${k}-none`],
      [`eventType=thing.${k}`, `eventType=thing.${k}-none`],
    ]) {
      const [a, b] = [await read(theirs!), await read(nobodys!)];
      expect(a.json, theirs).toEqual({ data: [], nextCursor: null });
      expect(b.json, nobodys).toEqual(a.json);
      // The walk over its own 30 events, for both (a name never stored answered at once before);
      // a stored location's owner is looked up by its key, a row or two more.
      expect(a.rows, theirs).toBeGreaterThanOrEqual(30);
      expect(b.rows, nobodys).toBeGreaterThanOrEqual(a.rows - 2);
    }
    // A Podium object's type outside the catalog is a typo to a limited token whether another
    // tenant's source received it or not (what sources received is not read for it): the same 400.
    const [theirs, nobodys] = [await read(`eventType=${theirInvoice}`), await read(`eventType=${nobodysInvoice}`)];
    expect(theirs.json.error.code).toBe("invalid_request");
    expect(nobodys.json).toEqual(JSON.parse(JSON.stringify(theirs.json).replaceAll(theirInvoice!, nobodysInvoice!)));
    expect(nobodys.rows).toBe(theirs.rows);
  });
});


describe("a location webhook a limited token changes stays within the organization it holds it through", () => {
  it("the admin's location webhook, re-pointed by an organization's token, never carries another organization's events (grant-model)", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const [orgA, orgB, loc] = [`org-${k}-a`, `org-${k}-b`, `loc-${k}`];
    await p.ingest(podiumBody({ organizationUid: orgA, locationUid: loc })); // Podium says the location is org-A's
    const hook = await p.createWebhook({ url: `https://downstream.test/ok/${k}-admin`, eventTypes: ["message.*"], locationUid: loc });
    const t = await makeToken(p, ["webhooks:write", "webhooks:read", "events:read", "read_messages"], { organizationUids: [orgA] });
    const changed = await as(p, t.token, "PATCH", `/v1/webhooks/${hook.uid}`, { url: `https://downstream.test/ok/${k}-mine` });
    expect(changed.status).toBe(200);
    expect(changed.json.grantOrganizationUid).toBe(orgA);

    // The location moves to org-B: its events are org-B's, which the token cannot read...
    const moved = await p.ingest(podiumBody({ organizationUid: orgB, locationUid: loc }));
    await p.deliver();
    expect((await as(p, t.token, "GET", `/v1/events/${moved}`)).status).toBe(404);
    // ...nor receive through the webhook it changed, which keeps to org-A as if the token had made it.
    expect(await received(`${k}-mine`)).toHaveLength(0);
    expect((await as(p, t.token, "GET", `/v1/webhooks/${hook.uid}`)).json.grantOrganizationUid).toBe(orgA);
    const mine = await p.ingest(podiumBody({ organizationUid: orgA, locationUid: loc }));
    await p.deliver();
    expect((await received(`${k}-mine`)).map((r) => JSON.parse(r.body).metadata.eventUid)).toHaveLength(1);
    expect((await as(p, t.token, "GET", `/v1/events/${mine}`)).json.deliveries.map((d: { webhookUid: string }) => d.webhookUid)).toEqual([hook.uid]);
  });
  it("what the webhook was owed of another organization's events expires when a token confines it, and never reaches the URL the token gives it", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const [orgA, orgB, loc] = [`org-${k}-a`, `org-${k}-b`, `loc-${k}`];
    await p.ingest(podiumBody({ organizationUid: orgB, locationUid: loc })); // the location is org-B's
    const hook = await p.createWebhook({ url: `https://downstream.test/ok/${k}-admin`, eventTypes: ["message.*"], locationUid: loc, disabled: true });
    const theirs = await p.ingest(podiumBody({ organizationUid: orgB, locationUid: loc }));
    const ours = await p.ingest(podiumBody({ organizationUid: orgA, locationUid: loc })); // now org-A's
    await p.deliver();
    const t = await makeToken(p, ["webhooks:write", "webhooks:read", "events:read", "read_messages"], { organizationUids: [orgA] });
    expect((await as(p, t.token, "GET", `/v1/events/${theirs}`)).status).toBe(404);
    // Enabling releases what it holds: only what it is owed within org-A now.
    const changed = await as(p, t.token, "PATCH", `/v1/webhooks/${hook.uid}`, { url: `https://downstream.test/ok/${k}-mine`, disabled: false });
    expect(changed.status).toBe(200);
    await p.deliver();
    const got = (await received(`${k}-mine`)).map((r) => JSON.parse(r.body).data.location.organizationUid);
    expect(got).toEqual([orgA]);
    expect((await deliveriesOf(p, theirs)).map((d) => d.status)).toEqual(["expired"]);
    expect((await deliveriesOf(p, ours)).map((d) => d.status)).toEqual(["succeeded"]);
    expect((await p.api("GET", `/v1/stats?webhookUids=${hook.uid}`)).json.webhooks.find((w: { uid: string }) => w.uid === hook.uid)).toMatchObject({ held: 0, pending: 0, succeeded: 1 });
  });
});

describe("a webhook confined while a write that read it earlier is under way (review of the confinement)", () => {
  const confine = async (p: P, k: string, locOrg: string, disabled = false) => {
    const loc = `loc-${k}`;
    await p.ingest(podiumBody({ organizationUid: locOrg, locationUid: loc })); // Podium says the location is locOrg's
    const hook = await p.createWebhook({ url: `https://downstream.test/fail/${k}-admin`, eventTypes: ["message.*"], locationUid: loc, maxAttempts: 1, disabled });
    return { loc, hook };
  };

  it("a delivery made from a webhook list read before a token confined it is not made for another organization's event", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const [orgA, orgB] = [`org-${k}-a`, `org-${k}-b`];
    const { loc, hook } = await confine(p, k, orgA);
    const t = await makeToken(p, ["webhooks:write", "webhooks:read", "events:read", "read_messages"], { organizationUids: [orgA] });
    expect((await as(p, t.token, "PATCH", `/v1/webhooks/${hook.uid}`, { url: `https://downstream.test/ok/${k}-mine` })).json.grantOrganizationUid).toBe(orgA);
    const theirs = await p.ingest(podiumBody({ organizationUid: orgB, locationUid: loc })); // the location moves to org-B
    await p.deliver();
    expect(await deliveriesOf(p, theirs)).toEqual([]);
    // A replay (or an ingest batch) that read the webhook before the change goes on to store its delivery.
    const event = (await p.api("GET", `/v1/events/${theirs}`)).json;
    const stale = await newDelivery("replay", { id: theirs, receivedAt: Date.parse(event.receivedAt) }, { uid: hook.uid }, Date.now());
    await env.DB.batch(insertDeliveriesStatements(env.DB, [stale]));
    expect((await deliveriesOf(p, theirs)).map((d) => d.id)).not.toContain(stale.id);
    // The same write for one of org-A's events is made.
    const ours = await p.ingest(podiumBody({ organizationUid: orgA, locationUid: loc }));
    await p.deliver();
    const mineEvent = (await p.api("GET", `/v1/events/${ours}`)).json;
    const made = await newDelivery("replay", { id: ours, receivedAt: Date.parse(mineEvent.receivedAt) }, { uid: hook.uid }, Date.now());
    await env.DB.batch(insertDeliveriesStatements(env.DB, [made]));
    expect((await deliveriesOf(p, ours)).map((d) => d.id)).toContain(made.id);
  });

  it("the admin's retries, bulk or by id, leave a confined webhook's deliveries of another organization's events alone", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const [orgA, orgB] = [`org-${k}-a`, `org-${k}-b`];
    const { loc, hook } = await confine(p, k, orgB);
    const theirs = await p.ingest(podiumBody({ organizationUid: orgB, locationUid: loc }));
    const ours = await p.ingest(podiumBody({ organizationUid: orgA, locationUid: loc })); // now org-A's
    await p.deliver();
    const [theirDelivery] = await deliveriesOf(p, theirs);
    expect(theirDelivery!.status).toBe("failed");
    expect((await deliveriesOf(p, ours)).map((d) => d.status)).toEqual(["failed"]);
    const t = await makeToken(p, ["webhooks:write", "webhooks:read", "events:read", "read_messages"], { organizationUids: [orgA] });
    expect((await as(p, t.token, "PATCH", `/v1/webhooks/${hook.uid}`, { url: `https://downstream.test/ok/${k}-mine` })).json.grantOrganizationUid).toBe(orgA);

    const one = await p.api("POST", `/v1/deliveries/${theirDelivery!.id}/retry`);
    expect(one.status).toBe(409);
    expect(one.json.error.message).toMatch(/confined to organization/);
    const bulk = await p.api("POST", "/v1/deliveries/retry", { status: "failed", webhookUid: hook.uid });
    expect(bulk.status).toBe(202);
    await p.deliver();
    expect((await deliveriesOf(p, theirs)).map((d) => d.status)).toEqual(["failed"]);
    expect((await deliveriesOf(p, ours)).map((d) => d.status)).toEqual(["succeeded"]);
    const got = (await received(`${k}-mine`)).map((r) => JSON.parse(r.body).data.location.organizationUid);
    expect(got).toEqual([orgA]);
  });
});
