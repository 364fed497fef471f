/** The queue names declared in wrangler.toml: the Worker's queue handler dispatches on them. */
export const QUEUES = {
  ingest: "edgehook-ingest",
  deliveries: "edgehook-deliveries",
  ingestDead: "edgehook-ingest-dlq",
  deliveriesDead: "edgehook-deliveries-dlq",
  rejections: "edgehook-rejections",
} as const;
