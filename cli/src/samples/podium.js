// Sample Podium events in the shapes Podium documents, for `edgehook send` and the tests:
// each object's fixture (<object>.json beside this file) with its type, event uid,
// location and organization replaced, so both send exactly the documented shapes.

/** The location and organization uids the fixtures carry, replaced wherever they appear. */
export const FIXTURE_LOCATION = "0d4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7";
export const FIXTURE_ORGANIZATION = "8e9f0a1b-2c3d-4e5f-a6b7-c8d9e0f1a2b3";

/**
 * Podium's event types, as the API's catalog lists them (src/domain/event-types.ts; the CLI
 * cannot import the Worker's TypeScript): test/worker/podium-objects.test.ts holds the two equal.
 */
export const PODIUM_TYPES = [
  "contact.created",
  "contact.deleted",
  "contact.merged",
  "contact.unchanged",
  "contact.updated",
  "invoice.created",
  "invoice.disabled",
  "invoice.marked_as_paid",
  "invoice.payment_created",
  "invoice.payment_failed",
  "invoice.payment_succeeded",
  "invoice.refund_created",
  "invoice.refund_failed",
  "message.failed",
  "message.received",
  "message.sent",
  "review.created",
  "review.invite_link_created",
  "review.invite_link_updated",
  "review.response_created",
  "review.response_updated",
  "review.updated",
];

/** The Podium objects that have a fixture (the first part of their event types). */
export const PODIUM_OBJECTS = [...new Set(PODIUM_TYPES.map((t) => t.split(".")[0] ?? ""))];

/**
 * The fixture (<name>.json beside this file) of a type: its object's, but the review invite's for
 * the invite link types, which Podium sends "in the review invite object format" (naming its
 * location and organization, where a review names only its locations); a message's for a type of no Podium object.
 * @param {string} type
 */
export function fixtureName(type) {
  if (type.startsWith("review.invite_link_")) return "review-invite";
  const object = type.split(".")[0] ?? "";
  return PODIUM_OBJECTS.includes(object) ? object : "message";
}

/**
 * @param {unknown} value
 * @param {(s: string) => string} replace
 * @returns {unknown}
 */
function mapStrings(value, replace) {
  if (typeof value === "string") return replace(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, replace));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, replace)]));
  }
  return value;
}

/**
 * A sample event of `type` built from its object's fixture. A fixture without an
 * organization (a review names only its location) stays without one.
 * @param {Record<string, unknown>} fixture the object's fixture, parsed
 * @param {{ type: string, eventUid: string, locationUid: string, organizationUid: string }} o
 * @returns {Record<string, unknown>}
 */
export function podiumSample(fixture, o) {
  const body = /** @type {Record<string, unknown>} */ (
    mapStrings(fixture, (s) => (s === FIXTURE_LOCATION ? o.locationUid : s === FIXTURE_ORGANIZATION ? o.organizationUid : s))
  );
  const metadata = /** @type {Record<string, unknown>} */ (body.metadata ?? {});
  body.metadata = { ...metadata, eventType: o.type, eventUid: o.eventUid };
  return body;
}
