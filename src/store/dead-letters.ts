export interface DeadLetter {
  seq: number;
  queue: string;
  messageId: string;
  eventId: string | null;
  deliveryId: string | null;
  reason: string | null;
  body: string;
  attempts: number;
  receivedAt: number;
  replayedAt: number | null;
}

interface Row {
  seq: number;
  queue: string;
  message_id: string;
  event_id: string | null;
  delivery_id: string | null;
  reason: string | null;
  body: string;
  attempts: number;
  received_at: number;
  replayed_at: number | null;
}

const toDeadLetter = (r: Row): DeadLetter => ({
  seq: r.seq,
  queue: r.queue,
  messageId: r.message_id,
  eventId: r.event_id,
  deliveryId: r.delivery_id,
  reason: r.reason,
  body: r.body,
  attempts: r.attempts,
  receivedAt: r.received_at,
  replayedAt: r.replayed_at,
});

export type NewDeadLetter = Omit<DeadLetter, "seq" | "replayedAt">;

/** Records dead letters in one transaction; one already recorded (same message id) is left alone. */
export async function recordDeadLetters(db: D1Database, letters: NewDeadLetter[]): Promise<void> {
  if (letters.length === 0) return;
  await db.batch(
    letters.map((l) =>
      db
        .prepare(
          `INSERT INTO dead_letters (queue, message_id, event_id, delivery_id, reason, body, attempts, received_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING`,
        )
        .bind(l.queue, l.messageId, l.eventId, l.deliveryId, l.reason, l.body, l.attempts, l.receivedAt),
    ),
  );
}

export async function listDeadLetters(db: D1Database, opts: { limit: number; before?: number; open?: boolean }) {
  const { results } = await db
    .prepare(`SELECT * FROM dead_letters WHERE seq < ? ${opts.open ? "AND replayed_at IS NULL" : ""} ORDER BY seq DESC LIMIT ?`)
    .bind(opts.before ?? Number.MAX_SAFE_INTEGER, opts.limit + 1)
    .all<Row>();
  const page = results.slice(0, opts.limit).map(toDeadLetter);
  const last = page[page.length - 1];
  return { letters: page, nextBefore: results.length > opts.limit && last ? last.seq : null };
}

export async function getDeadLetter(db: D1Database, seq: number): Promise<DeadLetter | null> {
  const row = await db.prepare("SELECT * FROM dead_letters WHERE seq = ?").bind(seq).first<Row>();
  return row ? toDeadLetter(row) : null;
}

export async function markReplayed(db: D1Database, seq: number, now = Date.now()): Promise<void> {
  await db.prepare("UPDATE dead_letters SET replayed_at = ? WHERE seq = ?").bind(now, seq).run();
}
