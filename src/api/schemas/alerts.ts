// Notification endpoints and alerts (docs/alerts.md).
import "@hono/zod-openapi"; // gives every zod schema .openapi()
import { z } from "../../domain/zod";
import { ALERT_TYPES } from "../../domain/alerts";
import { time, limit, cursor, strictQuery, distinct } from "./fields";
import { webhookFields, WebhookHealth } from "./webhooks";

const ALERT_FORMATS = ["standard-webhooks", "slack"] as const;

const notificationFields = {
  url: webhookFields.url.openapi({ example: "https://ops.example.com/edgehook-alerts" }),
  alertTypes: distinct(z.array(z.enum(ALERT_TYPES)).min(1, "subscribe to at least one alert type"))
    .openapi({ example: ["webhook.failing", "webhook.disabled", "webhook.recovered"] }),
  format: z.enum(ALERT_FORMATS).openapi({
    description: "`standard-webhooks` (default) or `slack` (`{\"text\": …}`), signed either way: docs/alerts.md.",
  }),
  disabled: z.boolean(),
};

export const NotificationEndpointSchema = z
  .object({
    uid: z.string(),
    url: z.string(),
    alertTypes: z.array(z.enum(ALERT_TYPES)),
    format: z.enum(ALERT_FORMATS),
    disabled: z.boolean(),
    createdAt: time,
    updatedAt: time,
    health: WebhookHealth.optional().openapi({
      description:
        "In `GET` and the list: how its alerts are going, as a webhook's health (docs/alerts.md). Its failures raise no alert.",
    }),
  })
  .openapi("NotificationEndpoint");

export const NotificationEndpointCreated = NotificationEndpointSchema.extend({
  secret: z.string().openapi({ description: "The signing secret (`whsec_…`), shown this once." }),
}).openapi("NotificationEndpointCreated");

export const NotificationEndpointCreate = z
  .strictObject({
    url: notificationFields.url,
    alertTypes: notificationFields.alertTypes,
    format: notificationFields.format.optional(),
    disabled: notificationFields.disabled.optional(),
  })
  .openapi("NotificationEndpointCreate", { example: { url: "https://ops.example.com/edgehook-alerts", alertTypes: ["webhook.failing", "webhook.disabled", "webhook.recovered"] } });

const NOTIFICATION_SECRET_FIXED =
  "a notification endpoint's secret cannot be changed: to rotate it, create a new endpoint with the same settings, give its secret to the receiver, then delete the old one";
// A `secret` sent to PATCH is refused with how to rotate it, not as an unknown key (alone: validate.ts gives
// each unknown key the issue's message, which beside another key would be said of that one too).
export const NotificationEndpointPatch = z
  .strictObject(NotificationEndpointCreate.partial().shape, {
    error: (issue) => (issue.code === "unrecognized_keys" && issue.keys.length === 1 && issue.keys[0] === "secret" ? NOTIFICATION_SECRET_FIXED : undefined),
  })
  .openapi("NotificationEndpointPatch", { example: { alertTypes: ["webhook.failing", "webhook.disabled", "webhook.recovered", "delivery.dead_lettered"] } });

export const AlertSchema = z
  .object({
    id: z.string(),
    type: z.enum(ALERT_TYPES).openapi({ description: "The condition; a `webhook.failing` episode closes with a `webhook.recovered` alert." }),
    subject: z.string().openapi({ description: "The webhook uid, the source id, or `ingest`." }),
    state: z.enum(["open", "closed"]),
    openedAt: time,
    lastAt: time.openapi({ description: "When the condition was last seen." }),
    closedAt: time.nullable(),
    count: z.number().int().openapi({ description: "How many times the condition was seen in this episode (failed attempts, dead letters, refused requests)." }),
    data: z
      .record(z.string(), z.unknown())
      .openapi({ description: "What the opening alert said; with `webhookDeleted: true` once deleting its webhook closed the episode (`sourceDeleted: true`, its source)." }),
    message: z.string(),
  })
  .openapi("Alert");

export const AlertListQuery = strictQuery({
  limit,
  cursor: cursor.openapi({ description: "The `nextCursor` of the previous page (newest first)." }),
});
