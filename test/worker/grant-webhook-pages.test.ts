// A limited token's /v1/webhooks, paged along each owner's index (store/access.ts grantParts): each
// owner's page is taken among the webhooks its part grants, so webhooks outside the grant at the
// same owner (here, newer ones confined to another organization at a location that has since
// moved) never push a granted one off the page, nor end the paging early.
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { placeLocations } from "../../src/store/locations";
import { pipeline, uniqueKey } from "./pipeline";
import { as, DATA_SCOPES, makeToken } from "./tokens";
import type { Answered } from "./helpers";

it("a token limited to an organization pages through every webhook within its grant, whatever the page size, however many others share their owner", async () => {
  const p = pipeline();
  const k = uniqueKey();
  const [P, O, X] = [`${k}-P`, `${k}-O`, `${k}-X`];
  await placeLocations(env.DB, [{ locationUid: X, organizationUid: P }], 1).run();
  // B: at X, made by the admin (not confined): the oldest.
  const b = await p.createWebhook({ url: `https://downstream.test/ok/${k}-b`, eventTypes: ["*"], locationUid: X });
  // Three confined to P (made by P's token while X belonged to P), newer than B.
  const pTok = await makeToken(p, ["webhooks:write", ...DATA_SCOPES], { organizationUids: [P] });
  const confined: string[] = [];
  for (let i = 0; i < 3; i++) {
    while (Date.now() <= Date.parse(b.createdAt)) await env.DB.prepare("SELECT 1").run();
    const made = await as(p, pTok.token, "POST", "/v1/webhooks", { url: `https://downstream.test/ok/${k}-c${i}`, eventTypes: ["*"], locationUid: X });
    expect(made.status).toBe(201);
    expect(made.json.grantOrganizationUid).toBe(P);
    expect(Date.parse(made.json.createdAt)).toBeGreaterThan(Date.parse(b.createdAt));
    confined.push(made.json.uid);
  }
  // X moves to O.
  await placeLocations(env.DB, [{ locationUid: X, organizationUid: O }], 2).run();
  const oTok = await makeToken(p, ["webhooks:read", "events:read", ...DATA_SCOPES], { organizationUids: [O] });
  // B is within O's grant (its location belongs to O, and it is confined to none); the confined ones are not.
  expect((await as(p, oTok.token, "GET", `/v1/webhooks/${b.uid}`)).status).toBe(200);
  for (const uid of confined) expect((await as(p, oTok.token, "GET", `/v1/webhooks/${uid}`)).status).toBe(404);
  const stats = (await as(p, oTok.token, "GET", "/v1/stats")).json;
  expect(stats.webhooks.map((w: { uid: string }) => w.uid)).toEqual([b.uid]);
  const got: Record<number, string[]> = {};
  for (const limit of [1, 2, 3, 50]) {
    const listed: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 20; i++) {
      const res: Answered<"GET", "/v1/webhooks"> = await as(p, oTok.token, "GET", `/v1/webhooks?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      expect(res.status).toBe(200);
      listed.push(...res.json.data.map((w: { uid: string }) => w.uid));
      cursor = res.json.nextCursor;
      if (cursor === null) break;
    }
    got[limit] = listed;
  }
  expect(got).toEqual({ 1: [b.uid], 2: [b.uid], 3: [b.uid], 50: [b.uid] });
});
