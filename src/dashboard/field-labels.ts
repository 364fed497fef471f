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
