// What the request examples of /openapi.json (shown and sent by /docs) name. Without an example,
// the reference fills each string with "" and each array with [""], which the API refuses (400).
// The examples name one another's objects: the webhook is for the location of the event the
// ingress example carries, so each is one a caller could send as shown, once the ids are theirs.

/** The ids the examples share. */
export const EXAMPLE_IDS = {
  organizationUid: "8e9f0a1b-2c3d-4e5f-a6b7-c8d9e0f1a2b3",
  locationUid: "0d4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7",
  webhookUid: "3f2a9c1e-6b7d-4e8f-9a0b-1c2d3e4f5a6b",
  eventId: "evt_528e218bd5c051bf5503ef78c46b97e3",
} as const;

/** A webhook's url in the examples, on example.com. */
export const EXAMPLE_WEBHOOK_URL = "https://api.example.com/podium-events";

/** An hour the range examples cover (a range replay of it, a bulk retry since its start). */
export const EXAMPLE_HOUR = { since: "2026-11-28T17:00:00Z", until: "2026-11-28T18:00:00Z" } as const;

/** A Podium message.received event, as Podium posts it to the ingress. */
export const PODIUM_EVENT_EXAMPLE = {
  data: {
    uid: "9f1c2e7a-5b7d-4f7e-9a51-0c1d2e3f4a5b",
    body: "Hi! Is the 2pm appointment still open?",
    direction: "inbound",
    createdAt: "2026-11-28T17:59:31.123Z",
    conversation: { uid: "c0a8d1e2-3f40-4b5c-8d6e-7f8091a2b3c4", channel: { type: "phone", identifier: "+18015550123" } },
    location: { uid: EXAMPLE_IDS.locationUid, organizationUid: EXAMPLE_IDS.organizationUid },
  },
  metadata: { eventType: "message.received", eventUid: "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e", version: "2021.04.01" },
};
