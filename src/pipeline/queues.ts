/** The queue names declared in wrangler.toml: the Worker's queue handler dispatches on them. */
export const QUEUES = {
  ingest: "edgehook-ingest",
  ingestDead: "edgehook-ingest-dlq",
  rejections: "edgehook-rejections",
} as const;
