// The listener protocol of `GET /v1/listen`: what the route hands the hub, and
// what the hub sends each WebSocket (one JSON text message each). The CLI reads
// these types too, so the wire format has one definition.
import type { DeliveryStatus } from "../domain/delivery";

type ListenMode = "listen" | "tail";

/** Who connected and what they asked for; decided by the route, kept by the hub. */
export interface ListenerConfig {
  mode: ListenMode;
  principal: {
    tokenId: string | null;
    scopes: string[];
    organizationUids: string[] | null;
    locationUids: string[] | null;
    /** The admin's: the ADMIN_TOKEN's fingerprint when it connected (a changed one closes it). */
    adminKey?: string | null;
  };
  /** null: every source, every type. */
  sourceIds: string[] | null;
  eventTypes: string[] | null;
  /** Hear what this webhook is owed, signed with its secret. */
  webhookUid: string | null;
  /** Otherwise events are signed with this per-listener secret (listen mode). */
  secret: string | null;
  /** Resume after this position: everything stored since is sent first. */
  after: number | null;
  /** Or send the last N matching events first. */
  replay: number;
  /**
   * The client acks each run of events (the `position` that ends it) before it is sent the next, so
   * a slow client slows its catch-up instead of the hub pushing it all (tail's attempts, live only,
   * are sent as they come). Absent: none.
   */
  ack?: boolean;
}

/** What a client that asked for acks sends once it has handled everything up to a `position` message. */
export interface AckMessage {
  type: "ack";
  position: number;
}

/** An event as a listener hears it; `headers` and `body` only in listen mode. */
export interface EventNote {
  type: "event";
  /** The event's position in the store: resume after it. */
  position: number;
  id: string;
  eventType: string;
  sourceId: string;
  locationUid: string | null;
  organizationUid: string | null;
  receivedAt: string;
  headers?: Record<string, string>;
  body?: string;
  /** Listening as a webhook whose transformation failed on this event: nothing to forward (a delivery would fail too). */
  transformError?: string;
}

/** A delivery attempt as `tail` shows it. */
export interface AttemptNote {
  type: "attempt";
  deliveryId: string;
  eventId: string;
  eventType: string;
  webhookUid: string;
  number: number;
  status: Exclude<DeliveryStatus, "held" | "expired">;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  startedAt: string;
}

export type ListenMessage =
  | { type: "hello"; listenerId: string; mode: ListenMode; position: number; secret: string | null; webhookUid: string | null; acks?: true }
  | EventNote
  | AttemptNote
  /** Everything up to here was examined: a listener resumes after it even when it heard none of it. */
  | { type: "position"; position: number }
  | { type: "notice"; code: string; message: string };

/** WebSocket close codes the hub uses; a client does not reconnect after them. */
export const CLOSE_CODES = { tokenRevoked: 4401, webhookGone: 4404 } as const;

/** A header the route uses to hand the hub a listener's configuration (never sent by clients). */
export const CONFIG_HEADER = "x-edgehook-listener";
/** The header a client sends its own signing secret in (kept out of URLs and logs). */
export const SECRET_HEADER = "x-edgehook-listen-secret";
