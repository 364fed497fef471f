import type { ProviderName, Source } from "../domain/types";

interface SourceRow {
  id: string;
  name: string;
  provider: string;
  verification: string;
  secrets: string;
  tolerance_seconds: number | null;
  disabled: number;
}

/** A source stored in D1, or null. `defaultTolerance` fills a row without its own. */
export async function getSource(db: D1Database, id: string, defaultTolerance: number): Promise<Source | null> {
  const row = await db.prepare("SELECT * FROM sources WHERE id = ?").bind(id).first<SourceRow>();
  if (!row) return null;
  return {
    id: row.id,
    name: row.name,
    provider: row.provider as ProviderName,
    verification: row.verification === "none" ? "none" : "signature",
    secrets: JSON.parse(row.secrets) as string[],
    toleranceSeconds: row.tolerance_seconds ?? defaultTolerance,
    disabled: row.disabled === 1,
    fromConfig: false,
  };
}

export interface NewSource {
  id: string;
  name: string;
  provider: ProviderName;
  verification: "signature" | "none";
  secrets: string[];
  toleranceSeconds: number | null;
  disabled: boolean;
}

export async function insertSource(db: D1Database, s: NewSource, now = Date.now()): Promise<void> {
  await db
    .prepare(
      `INSERT INTO sources (id, name, provider, verification, secrets, tolerance_seconds, disabled, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(s.id, s.name, s.provider, s.verification, JSON.stringify(s.secrets), s.toleranceSeconds, s.disabled ? 1 : 0, now, now)
    .run();
}
