import type { DeadDelivery, DeliveryMessage, IngestMessage } from "./domain/types";
import type { ListenerHub } from "./listen/hub";

/** Bindings and settings of the Worker, as declared in wrangler.toml and .dev.vars. */
export interface Env {
  DB: D1Database;
  BODIES: R2Bucket;
  INGEST: Queue<IngestMessage>;
  DELIVERIES: Queue<DeliveryMessage>;
  DELIVERIES_DLQ: Queue<DeadDelivery>;
  /** Holds the WebSockets of `edgehook listen` and `edgehook tail` (src/listen/hub.ts). */
  LISTENERS: DurableObjectNamespace<ListenerHub>;
  /** Counts failed API authentications per client. */
  AUTH_FAILURES?: RateLimit;
  /** Counts rejected ingress signatures per source and client. */
  SIGNATURE_FAILURES?: RateLimit;

  ADMIN_TOKEN?: string;
  TOKEN_PEPPER?: string;
  PODIUM_WEBHOOK_SECRET?: string;
  STANDARD_WEBHOOKS_SECRET?: string;

  RETENTION_DAYS?: string;
  SIGNATURE_TOLERANCE_S?: string;
  DELIVERY_TIMEOUT_MS?: string;
  MAX_ATTEMPTS?: string;
  RETRY_BASE_SECONDS?: string;
  RETRY_CAP_SECONDS?: string;
  ALLOW_PRIVATE_DESTINATIONS?: string;
}

export type AppEnv = { Bindings: Env };
