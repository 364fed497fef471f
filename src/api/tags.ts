/**
 * The groups of /openapi.json's operations (top-level `tags`, in the order the /docs page shows
 * them, every group open (docs-page.ts): the data's way from the ingress on), and which
 * group an API operation is in, by the resource its path names under /v1: so client generators
 * name an API class per resource and /docs groups them.
 */
export const TAGS = {
  Ingress: "Where providers POST their webhooks (signed by the provider, not a token).",
  Events: "Events received from providers: list, search and read them, replay them to webhooks, and stream them live (listen).",
  Deliveries: "Deliveries of events to webhooks, with their attempts: list them and retry them.",
  Webhooks: "Webhooks (forwarding subscriptions): where events are delivered, which ones, and how; test one on a stored event.",
  Sources: "Sources (inbound endpoints, one a provider signs for) and the requests the ingress refused for each.",
  "Event types": "The catalog of event types, with the data scope each needs.",
  Stats: "Counts of events and deliveries, in all and per webhook.",
  "Dead letters": "What reached a dead-letter queue: list, replay or delete it.",
  "Notification endpoints": "Where alerts are sent.",
  Alerts: "Alert episodes: webhooks failing or disabled, dead letters, sources whose requests are refused.",
  Tokens: "Scoped API tokens.",
  Health: "Liveness.",
} as const;

export type Tag = keyof typeof TAGS;

/** The tag of each resource an API path starts with (`/v1/{resource}…`). */
const RESOURCE_TAGS = {
  events: "Events",
  listen: "Events",
  deliveries: "Deliveries",
  webhooks: "Webhooks",
  sources: "Sources",
  "event-types": "Event types",
  stats: "Stats",
  "dead-letters": "Dead letters",
  "notification-endpoints": "Notification endpoints",
  alerts: "Alerts",
  tokens: "Tokens",
} as const satisfies Record<string, Tag>;

type Resource = keyof typeof RESOURCE_TAGS;

/** A path under a router mounted at /v1: `/{resource}` or deeper. */
export type ResourcePath = `/${Resource}` | `/${Resource}/${string}`;

const isResource = (s: string): s is Resource => Object.hasOwn(RESOURCE_TAGS, s);

/** The tag of an API operation at `path`. */
export function tagOf(path: ResourcePath): Tag {
  const resource = path.split("/")[1] ?? "";
  // The type admits only a known resource; this says which path slipped past it (a cast, say).
  if (!isResource(resource)) throw new Error(`No tag for the API path ${path}: add its resource to RESOURCE_TAGS.`);
  return RESOURCE_TAGS[resource];
}
