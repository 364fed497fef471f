// Every Podium event type, in the shape Podium documents for its object, is stored
// with the organization (and location) that owns it.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { FIXTURE_LOCATION, FIXTURE_ORGANIZATION, PODIUM_OBJECTS, PODIUM_TYPES as CLI_PODIUM_TYPES, fixtureName, podiumSample } from "../../cli/src/samples/podium.js";
import { EVENT_TYPES } from "../../src/domain/event-types";
import type { IngestMessage } from "../../src/domain/types";
import { getEvent } from "../../src/store/events";
import contact from "../../cli/src/samples/contact.json?raw";
import invoice from "../../cli/src/samples/invoice.json?raw";
import message from "../../cli/src/samples/message.json?raw";
import review from "../../cli/src/samples/review.json?raw";
import reviewInvite from "../../cli/src/samples/review-invite.json?raw";
import { call, podiumHeaders, post, recordingQueue } from "./helpers";
import { pipeline, uniqueKey } from "./pipeline";

const fixtures: Record<string, Record<string, unknown>> = {
  message: JSON.parse(message),
  contact: JSON.parse(contact),
  invoice: JSON.parse(invoice),
  review: JSON.parse(review),
  "review-invite": JSON.parse(reviewInvite),
};
const PODIUM_TYPES = EVENT_TYPES.filter((t) => t.provider === "podium").map((t) => t.type);
/** Where each fixture's object documents a location: contacts belong to an organization only. */
const HAS_LOCATION: Record<string, boolean> = { message: true, invoice: true, review: true, "review-invite": true, contact: false };

/** Sends signed bodies through the ingress and returns the queued messages, in order. */
async function throughIngress(bodies: string[]): Promise<IngestMessage[]> {
  const queue = recordingQueue();
  for (const body of bodies) {
    const res = await call(post("/webhooks/podium", body, await podiumHeaders(body)), { INGEST: queue });
    expect(res.status).toBe(202);
  }
  return queue.sent;
}

function sample(type: string, locationUid: string, organizationUid: string) {
  return JSON.stringify(podiumSample(fixtures[fixtureName(type)]!, { type, eventUid: crypto.randomUUID(), locationUid, organizationUid }));
}

/** Every path to a leaf of a JSON value (array items as []), to compare shapes. */
function paths(value: unknown, prefix = ""): string[] {
  if (Array.isArray(value)) return value.length ? value.flatMap((v) => paths(v, `${prefix}[]`)) : [`${prefix}[]`];
  if (value !== null && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => paths(v, `${prefix}.${k}`));
  return [prefix];
}

describe("Podium objects and their owners", () => {
  it("has a fixture for each of the catalog's objects, which the samples keep the shape of", () => {
    expect(new Set(PODIUM_TYPES.map((t) => t.split(".")[0]))).toEqual(new Set(PODIUM_OBJECTS));
    expect(PODIUM_TYPES).toHaveLength(22);
    // The CLI's copy (`edgehook send` warns of a type not in it), in the catalog's order.
    expect(CLI_PODIUM_TYPES).toEqual(PODIUM_TYPES);
    for (const type of PODIUM_TYPES) {
      const body = JSON.parse(sample(type, "loc-x", "org-x"));
      expect(paths(body)).toEqual(paths(fixtures[fixtureName(type)]));
      expect(body.metadata.eventType).toBe(type);
      expect(JSON.stringify(body)).not.toContain(FIXTURE_LOCATION);
      expect(JSON.stringify(body)).not.toContain(FIXTURE_ORGANIZATION);
    }
  });

  it("stores each of the 22 types with its organization, and its location where the object has one", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const [loc, org] = [`loc-${k}`, `org-${k}`];
    const msgs = await throughIngress(PODIUM_TYPES.map((type) => sample(type, loc, org)));
    const { acked } = await p.runIngest(msgs);
    expect(acked).toHaveLength(22);
    for (const [i, type] of PODIUM_TYPES.entries()) {
      const stored = await getEvent(env.DB, msgs[i]!.eventId);
      expect({ type, eventType: stored?.eventType, organizationUid: stored?.organizationUid, locationUid: stored?.locationUid }).toEqual({
        type,
        eventType: type,
        organizationUid: org,
        locationUid: HAS_LOCATION[fixtureName(type)] ? loc : null,
      });
    }
  });

  it("samples the invite link types in the review invite object's shape, which names its organization: no other event need teach it", async () => {
    // Podium: "the invite link created and updated event types will be in the review invite object format".
    const invites = PODIUM_TYPES.filter((t) => t.startsWith("review.invite_link_"));
    expect(invites).toEqual(["review.invite_link_created", "review.invite_link_updated"]);
    const p = pipeline();
    const k = uniqueKey();
    const msgs = await throughIngress(invites.map((type) => sample(type, `loc-${k}`, `org-${k}`)));
    await p.runIngest(msgs);
    for (const msg of msgs) expect(await getEvent(env.DB, msg.eventId)).toMatchObject({ organizationUid: `org-${k}`, locationUid: `loc-${k}` });
  });

  it("reads an object's owner whatever its type's case: a Contact.Updated is a contact, a REVIEW.CREATED a review", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const respelt = (type: string, as: string) => {
      const body = JSON.parse(sample(type, `loc-${k}`, `org-${k}`));
      body.metadata.eventType = as;
      return JSON.stringify(body);
    };
    const msgs = await throughIngress([respelt("contact.updated", "Contact.Updated"), respelt("review.created", "REVIEW.CREATED")]);
    await p.runIngest(msgs);
    expect(await getEvent(env.DB, msgs[0]!.eventId)).toMatchObject({ eventType: "Contact.Updated", organizationUid: `org-${k}`, locationUid: null });
    expect(await getEvent(env.DB, msgs[1]!.eventId)).toMatchObject({ eventType: "REVIEW.CREATED", locationUid: `loc-${k}` });
  });

  it("reads a contact's organization from after, or before when it was deleted", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const deleted = JSON.parse(sample("contact.deleted", `loc-${k}`, `org-${k}`));
    deleted.data.after = null;
    const [msg] = await throughIngress([JSON.stringify(deleted)]);
    await p.runIngest([msg!]);
    expect(await getEvent(env.DB, msg!.eventId)).toMatchObject({ organizationUid: `org-${k}`, locationUid: null });
  });

  it("files a contact moved between organizations under its organization after the change, not before", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const moved = JSON.parse(sample("contact.updated", `loc-${k}`, `org-${k}-new`));
    moved.data.before.organization.uid = `org-${k}-old`;
    const [msg] = await throughIngress([JSON.stringify(moved)]);
    await p.runIngest([msg!]);
    expect(msg).toMatchObject({ organizationUid: `org-${k}-new` });
    expect(await getEvent(env.DB, msg!.eventId)).toMatchObject({ organizationUid: `org-${k}-new`, locationUid: null });
  });

  it("reads an invite link's owner from the review invite object, which names its location and organization", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const invite = {
      data: { uid: `invite-${k}`, link: "https://podium.link/x", location: { uid: `loc-${k}`, organizationUid: `org-${k}` } },
      metadata: { eventType: "review.invite_link_created", eventUid: crypto.randomUUID(), version: "v4" },
    };
    const [msg] = await throughIngress([JSON.stringify(invite)]);
    await p.runIngest([msg!]);
    expect(await getEvent(env.DB, msg!.eventId)).toMatchObject({ organizationUid: `org-${k}`, locationUid: `loc-${k}` });
  });

  it("gives a review the organization its location is known to belong to, and none while unknown", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const [early] = await throughIngress([sample("review.created", `loc-${k}`, `org-${k}`)]);
    await p.runIngest([early!]);
    expect(await getEvent(env.DB, early!.eventId)).toMatchObject({ organizationUid: null, locationUid: `loc-${k}` });

    await p.ingest(sample("message.received", `loc-${k}`, `org-${k}`)); // Podium tells where the location belongs
    const [later] = await throughIngress([sample("review.updated", `loc-${k}`, `org-${k}`)]);
    await p.runIngest([later!]);
    expect(await getEvent(env.DB, later!.eventId)).toMatchObject({ organizationUid: `org-${k}`, locationUid: `loc-${k}` });
  });
});
