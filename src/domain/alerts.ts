/**
 * Alerts: what Edgehook tells an operator's notification endpoints, as pure rules.
 * A condition (an episode type) is open at most once per subject; a repeat only
 * counts, and its recovery closes it with one alert carrying the count.
 */
import type { FlowLimits } from "./flow";
import { isIndexable, isRecord, oneOf } from "./guards";
import { isoTime } from "./time";

export const ALERT_TYPES = [
  "webhook.failing",
  "webhook.disabled",
  "webhook.recovered",
  "delivery.dead_lettered",
  "ingest.dead_lettered",
  "source.rejecting",
] as const;
type AlertType = (typeof ALERT_TYPES)[number];

/** The conditions that open episodes; `webhook.recovered` is how a `webhook.failing` one closes. */
export type EpisodeType = Exclude<AlertType, "webhook.recovered">;

export const isAlertType = oneOf(ALERT_TYPES);

/** The alert types whose subject is a webhook's uid (the others': a source's id, or the ingest). */
const WEBHOOK_SUBJECT_TYPES: ReadonlySet<string> = new Set<AlertType>(["webhook.failing", "webhook.disabled", "webhook.recovered", "delivery.dead_lettered"]);
export const hasWebhookSubject = (type: string): boolean => WEBHOOK_SUBJECT_TYPES.has(type);
/** The episodes a webhook's delete closes: a source's id may spell a webhook's uid, and its episode is not the webhook's. */
export const WEBHOOK_EPISODE_TYPES: readonly EpisodeType[] = [...WEBHOOK_SUBJECT_TYPES].filter(isEpisodeType);

export function isEpisodeType(v: unknown): v is EpisodeType {
  return isAlertType(v) && v !== "webhook.recovered";
}

/** The reserved source alerts are stored under as events: no user source may take this id, and only notification endpoints get them. */
export const ALERT_SOURCE = "edgehook";

/** The subject of the ingest-wide condition. */
export const INGEST_SUBJECT = "ingest";

/** Refused requests on one source within one clock hour that make a spike. */
export const REJECTING_THRESHOLD = 50;
/** Ingest dead letters, rejection spikes and a webhook's dead letters (once it delivers again) close after this long without another. */
export const QUIET_CLOSE_MS = 3_600_000;
/**
 * After a webhook's `webhook.failing` episode closes (recovered), a failing streak within this long
 * opens no other at once: a downstream going down and up would page a failing and a recovered alert
 * a flip. One that lasts FAILING_LASTED_MS is opened by the maintenance run (openLastingFailures).
 */
export const REFAILING_COOLDOWN_MS = 3_600_000;
/** A failing streak passed over by the cool-down is announced once it has lasted this long. */
export const FAILING_LASTED_MS = 600_000;

/** The alert sent when an episode closes: `webhook.failing` recovers; the others resolve under their own type. */
export function closingType(t: EpisodeType): AlertType {
  return t === "webhook.failing" ? "webhook.recovered" : t;
}

export type AlertData = Record<string, string | number | boolean | null | Record<string, number>>;

/**
 * A webhook's URL as alerts show it: scheme and host, its path shown as `/…`. Userinfo, path, query
 * and fragment are where a downstream's token rides (`user:pass@`, a capability URL's path as
 * Zapier's, Make's or Slack's, `?token=`). Alerts reach further than the API's readers (a Slack
 * channel, a pager, their logs), and name the webhook by its uid; `GET /v1/webhooks/{uid}` shows its
 * URL whole to who may read it.
 */
export function alertUrl(url: string): string {
  // Every write parses a URL; one that does not (a row written by hand) loses the same parts by hand.
  if (!URL.canParse(url)) {
    const m = /^([^/]*\/\/)(?:[^/?#]*@)?([^/?#]*)(.*)$/s.exec(url);
    return m === null ? "…" : `${m[1]}${m[2]}${m[3] === "" ? "" : "/…"}`;
  }
  const u = new URL(url);
  return `${u.origin}${u.pathname === "/" ? "" : "/…"}`;
}

/** An episode's data as an alert or `GET /v1/alerts` shows it: applied when shown, so an episode stored by an earlier version (with the URL whole) is shown alike. */
export function shownAlertData(data: AlertData): AlertData {
  return typeof data.url === "string" ? { ...data, url: alertUrl(data.url) } : data;
}

/** A change of one episode, in the order they happen. */
export type EpisodeAction =
  | {
      kind: "open";
      type: EpisodeType;
      subject: string;
      /** Added to an open episode's count. */
      count: number;
      /** A new episode's count. */
      initialCount: number;
      data: AlertData;
      /** When it happened, if not when it is raised: an attempt's end, so it compares with the webhook's last success. */
      at?: number;
      /** Only counts in an open episode, opening none (a re-failure within REFAILING_COOLDOWN_MS). */
      countOnly?: boolean;
    }
  | {
      kind: "close";
      type: EpisodeType;
      subject: string;
      /** Occurrences to count in before it closes (failures recorded in the batch before the success that ends the streak). */
      count: number;
      at?: number;
    };

/** What one recorded attempt says, for alerting. */
interface AttemptFact {
  ok: boolean;
  deadLettered: boolean;
  error: string | null;
  deliveryId: string;
  /** When the attempt ended (epoch ms), as the webhook's health records its last success. */
  endedAt: number;
}

/** A webhook's failing streak, as a `webhook.failing` episode's data says it. */
export function failingData(
  w: { uid: string; url: string },
  streak: { consecutiveFailures: number; failingSince: number | null; lastError: string | null },
): AlertData {
  return { webhookUid: w.uid, url: w.url, consecutiveFailures: streak.consecutiveFailures, failingSince: isoTime(streak.failingSince), lastError: streak.lastError };
}

/**
 * The episode changes after a webhook's batch of attempts (in the order made):
 * a success closes `webhook.failing`; a dead letter opens (or counts in)
 * `delivery.dead_lettered` (which the maintenance run closes: closeQuietAlerts);
 * being at failingAfterAttempts failures in a row or more opens (or counts in)
 * `webhook.failing`, but only counts in one within REFAILING_COOLDOWN_MS of the
 * last one's close (`failingClosedAt`, or this batch's close at `now`).
 */
export function attemptEpisodes(
  w: { uid: string; url: string; failingAfterAttempts: number },
  attempts: readonly AttemptFact[],
  after: { consecutiveFailures: number; failingSince: number | null; open: readonly string[]; failingClosedAt: number | null },
  now: number,
): EpisodeAction[] {
  const open = new Set(after.open);
  const actions: EpisodeAction[] = [];
  let failedSinceSuccess = 0;
  let lastFailedAt = 0;
  let closedAt = after.failingClosedAt;
  for (const a of attempts) {
    if (a.ok) {
      // The failures this batch recorded before the success belong to the episode it closes.
      if (open.delete("webhook.failing")) {
        actions.push({ kind: "close", type: "webhook.failing", subject: w.uid, count: failedSinceSuccess, at: lastFailedAt });
        closedAt = now;
      }
      failedSinceSuccess = 0;
      continue;
    }
    failedSinceSuccess++;
    lastFailedAt = a.endedAt;
    if (a.deadLettered) {
      actions.push({
        kind: "open",
        type: "delivery.dead_lettered",
        subject: w.uid,
        count: 1,
        initialCount: 1,
        data: { webhookUid: w.uid, url: w.url, deliveryId: a.deliveryId, lastError: a.error },
        at: a.endedAt,
      });
    }
  }
  if (after.consecutiveFailures >= w.failingAfterAttempts && failedSinceSuccess > 0) {
    actions.push({
      kind: "open",
      type: "webhook.failing",
      subject: w.uid,
      count: failedSinceSuccess,
      initialCount: after.consecutiveFailures,
      data: failingData(w, { ...after, lastError: attempts.at(-1)?.error ?? null }),
      // Read as closed, it may be open all the same (another batch's, just opened): counted in there.
      ...(closedAt !== null && now - closedAt < REFAILING_COOLDOWN_MS && !open.has("webhook.failing") ? { countOnly: true } : {}),
    });
  }
  return actions;
}

/** `text` ended as a sentence: an error quoted at the end often has its own full stop ("…connection lost."). */
export function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/** `n` things, in the singular for one ("1 failed attempt"). */
function counted(n: number | string, one: string, many: string): string {
  return `${n} ${Number(n) === 1 ? one : many}`;
}

/** A line a person reads (Slack's text, the dashboard). */
export function alertMessage(type: AlertType, subject: string, data: AlertData, count: number, closing: boolean): string {
  const s = (k: string) => {
    const v = data[k];
    return typeof v === "string" || typeof v === "number" ? String(v) : "";
  };
  // Closed by the deletion of its webhook (store/alerts.ts), with nothing sent: it did not recover.
  if (closing && data.webhookDeleted === true) {
    switch (type) {
      case "webhook.recovered":
        return `Webhook ${subject} (${s("url")}) was deleted while failing, after ${counted(count, "failed attempt", "failed attempts")}.`;
      case "delivery.dead_lettered":
        return `Webhook ${subject} (${s("url")}) was deleted; ${count} of its deliveries ${count === 1 ? "was" : "were"} dead-lettered.`;
      case "webhook.disabled":
        return `Webhook ${subject} (${s("url")}) was deleted while disabled.`;
      default:
        return `Webhook ${subject} (${s("url")}) was deleted while ${type} was open (${count}).`;
    }
  }
  // Closed by the deletion of its source (store/alerts.ts), with nothing sent.
  if (closing && data.sourceDeleted === true) {
    return `Source ${subject} was deleted while rejecting requests; ${counted(count, "was", "were")} refused.`;
  }
  if (closing) {
    switch (type) {
      case "webhook.recovered":
        return `Webhook ${subject} (${s("url")}) recovered after ${counted(count, "failed attempt", "failed attempts")}.`;
      case "delivery.dead_lettered":
        return `Webhook ${subject} (${s("url")}) delivers again and no delivery to it has failed for good for an hour; ${counted(count, "was", "were")} dead-lettered.`;
      case "ingest.dead_lettered":
        return `No event failed to be stored for an hour; ${counted(count, "was", "were")} dead-lettered.`;
      case "source.rejecting":
        return `Source ${subject} has not had a spike of refused requests for an hour; ${counted(count, "was", "were")} refused.`;
      case "webhook.disabled":
        return `Webhook ${subject} (${s("url")}) was enabled again.`;
      default:
        return `${type} on ${subject} resolved (${count}).`;
    }
  }
  switch (type) {
    case "webhook.failing":
      return sentence(`Webhook ${subject} (${s("url")}) is failing: ${counted(s("consecutiveFailures"), "attempt", "attempts")} in a row failed, the last with: ${s("lastError")}`);
    case "webhook.disabled":
      return `${sentence(`Webhook ${subject} (${s("url")}) was disabled: ${s("reason")}`)} Its events are held until it is enabled again.`;
    case "delivery.dead_lettered":
      return sentence(`A delivery to webhook ${subject} (${s("url")}) failed for good: ${s("lastError")}`);
    case "ingest.dead_lettered":
      return `Events could not be stored and were dead-lettered (${s("reason")}).`;
    case "source.rejecting": {
      const reasons = data.reasons;
      const breakdown =
        isIndexable(reasons) ? Object.entries(reasons).map(([r, n]) => `${r} ×${n}`).join(", ") : "";
      return `Source ${subject} refused ${counted(s("thisHour"), "request", "requests")} this hour: ${breakdown}.`;
    }
    default:
      return `${type} on ${subject}.`;
  }
}

/**
 * A notification endpoint's ordering, fixed: FIFO, so that an alert whose attempts fail holds back
 * those raised after it (a webhook.failing its webhook.recovered) until it succeeds or fails for
 * good, and a receiver keeping state ends with the last one raised (migration 0052; not after an
 * old alert is retried or replayed by hand: docs/alerts.md).
 */
export const NOTIFICATION_ORDERING: FlowLimits["ordering"] = "fifo";

/** The built-in transformation of a Slack-format notification endpoint: Slack's incoming webhooks take `{"text": …}`. */
export const SLACK_TRANSFORM = '{"text": data.message}';

/**
 * An alert's body as a Slack-format endpoint's transformation reads it: its message with `&`, `<`
 * and `>` escaped, as Slack's text requires. Slack reads a raw `<…>` as a mention or a link
 * (`<!channel>`, `<https://…|label>`), and the message quotes what others wrote (a downstream's
 * failure, a disable's reason). Escaped here, where the one transformation is run, not in the stored
 * event: other endpoints get the message as written, and the transformation stored in D1 is unchanged.
 * A body that is no alert's (not JSON, no string `data.message`) is left as it is.
 */
export function slackAlertInput(body: string): string {
  let alert: unknown;
  try {
    alert = JSON.parse(body);
  } catch {
    return body;
  }
  if (!isRecord(alert) || !isRecord(alert.data) || typeof alert.data.message !== "string") return body;
  const message = alert.data.message.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  return JSON.stringify({ ...alert, data: { ...alert.data, message } });
}
