// The labels of the dashboard's form fields, by the API's name of the field each sends: what a
// refusal of the form names (refusal.tsx), so its words match the form's, not the API's body.

/** A form's labels: by the API field (its path's first part), or by a whole path where one field is two boxes. */
export type FieldLabels = Readonly<Record<string, string>>;

export const WEBHOOK_LABELS = {
  url: "URL",
  eventTypes: "Event types",
  organizationUid: "Organization",
  locationUid: "Location uid",
  timeoutMs: "Timeout (ms)",
  maxAttempts: "Attempts",
  rateLimit: "Rate limit",
  maxConcurrency: "Requests at once",
  ordering: "Order",
  disabled: "Disabled",
  failingAfterAttempts: "Failing after",
  autoDisableAfterMinutes: "Disable after",
  filter: "Filter",
  transform: "Transformation",
  transformHeaders: "Extra headers",
} satisfies FieldLabels;

export const TOKEN_LABELS = { name: "Name", scopes: "Scopes", organizationUids: "Organizations", locationUids: "Locations" } satisfies FieldLabels;

export const SOURCE_LABELS = { id: "Id", name: "Name", provider: "Provider", organizationUid: "Owner organization", "secrets.0": "Secret", secrets: "Secret" } satisfies FieldLabels;

/** A source's "Replace secret" form: its secrets are the new one, then the one still accepted. */
export const SOURCE_ROTATE_LABELS = { "secrets.0": "New secret", "secrets.1": "Still accept", secrets: "New secret" } satisfies FieldLabels;

export const ENDPOINT_LABELS = { url: "URL", alertTypes: "Alerts", format: "Format" } satisfies FieldLabels;

/**
 * The events filter's boxes but its search, whose refusal names a place within the search's own
 * language (`q.body["x"].$op`, api/schemas/events.ts) and is kept as the API says it.
 */
export const EVENT_FILTER_LABELS = {
  eventType: "Type",
  sourceId: "Source",
  locationUid: "Location",
  organizationUid: "Organization",
  status: "Delivery status",
  since: "Since (UTC)",
  until: "Until (UTC)",
} satisfies FieldLabels;
