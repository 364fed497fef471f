/** The providers Edgehook can verify. One module each in src/ingress/providers/. */
export type ProviderName = "podium" | "standard-webhooks";

/** An inbound endpoint for one provider account. */
export interface Source {
  id: string;
  name: string;
  provider: ProviderName;
  verification: "signature" | "none";
  /** Accepted secrets, current first (rotation). Never leaves the Worker. */
  secrets: string[];
  /** Timestamp tolerance in seconds; 0 turns the check off. */
  toleranceSeconds: number;
  disabled: boolean;
  /** Declared by configuration (env secrets) rather than stored in D1. */
  fromConfig: boolean;
}

/** What a provider reads out of a verified request. */
export interface EventFacts {
  dedupeKey: string;
  eventType: string;
  locationUid: string | null;
  organizationUid: string | null;
}

/** The message the ack path puts on the ingest queue. */
export interface IngestMessage extends EventFacts {
  v: 1;
  eventId: string;
  sourceId: string;
  /** Epoch milliseconds at the edge. */
  receivedAt: number;
  headers: Record<string, string>;
  /** The raw body, unless it went to R2 (claim check). */
  body?: string;
  bodyKey?: string;
}

/** A stored event, as the store returns it. */
export interface StoredEvent extends EventFacts {
  seq: number;
  id: string;
  sourceId: string;
  receivedAt: number;
  headers: Record<string, string>;
  body: string;
}
