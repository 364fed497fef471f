/**
 * The event that announces an alert episode opening or closing, made ready to be
 * written in the transaction of the change it announces (pipeline/commands.ts
 * writeAnnounced). An alert is an event of the reserved source `edgehook`, owed only
 * to the notification endpoints subscribed to its type.
 */
import { ALERT_SOURCE, alertMessage, closingType, shownAlertData } from "../domain/alerts";
import { eventIdFor } from "../domain/ids";
import { iso } from "../domain/time";
import type { Webhook } from "../domain/types";
import type { NewEpisode } from "../store/alerts";
import type { EventRow } from "../store/events";

/** An alert ready to store: its event, and the endpoints it is owed to. */
export interface Announcement {
  row: EventRow;
  endpoints: Webhook[];
}

/** A new episode's id. */
export const newEpisodeId = (): string => `alr_${crypto.randomUUID().replace(/-/g, "")}`;

/** The `webhook.disabled` episode of a webhook the maintenance run disables, opening at `now`. */
export function disabledEpisode(w: Pick<Webhook, "uid" | "url">, reason: string, now: number): NewEpisode {
  return {
    id: newEpisodeId(),
    type: "webhook.disabled",
    subject: w.uid,
    openedAt: now,
    lastAt: now,
    count: 1,
    data: { webhookUid: w.uid, url: w.url, reason },
  };
}

/**
 * The body a notification endpoint receives (before a Slack endpoint's transformation), stamped
 * with the episode's own time: when it opened, or `closedAt` (of a closing), as its row says.
 */
function alertBody(e: NewEpisode, closedAt: number | null): { type: string; body: string } {
  const closing = closedAt !== null;
  const type = closing ? closingType(e.type) : e.type;
  const shown = shownAlertData(e.data);
  const data = {
    alertId: e.id,
    subject: e.subject,
    ...shown,
    state: closing ? "resolved" : "open",
    count: e.count,
    openedAt: iso(e.openedAt),
    ...(closing ? { closedAt: iso(closedAt) } : {}),
    message: alertMessage(type, e.subject, shown, e.count, closing),
  };
  return { type, body: JSON.stringify({ type, timestamp: iso(closedAt ?? e.openedAt), data }) };
}

/**
 * The alert of an episode's opening (`closedAt` null) or closing at `closedAt`, owed to those of
 * `endpoints` subscribed to its type; null when none is (an alert nobody subscribes to is not stored).
 */
export async function announcement(endpoints: Webhook[], e: NewEpisode, closedAt: number | null): Promise<Announcement | null> {
  const closing = closedAt !== null;
  const { type, body } = alertBody(e, closedAt);
  if (!endpoints.some((w) => w.eventTypes.includes(type))) return null;
  const dedupeKey = `${e.id}:${closing ? "closed" : "opened"}`;
  return {
    row: {
      eventId: await eventIdFor({ id: ALERT_SOURCE, eventSalt: null }, { given: dedupeKey }),
      sourceId: ALERT_SOURCE,
      dedupeKey,
      eventType: type,
      locationUid: null,
      organizationUid: null,
      // The episode's times are the caller's; the alert is stored, and due, by the clock.
      receivedAt: Date.now(),
      headers: { "content-type": "application/json" },
      body,
    },
    endpoints,
  };
}
