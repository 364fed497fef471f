const encoder = new TextEncoder();

export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let out = "";
  for (const b of view) out += b.toString(16).padStart(2, "0");
  return out;
}

export async function sha256Hex(data: string | BufferSource): Promise<string> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  return toHex(await crypto.subtle.digest("SHA-256", bytes));
}

/**
 * The event id is a hash of the source and the dedupe key, so a provider's
 * redelivery, or the queue's, lands on the same id and the same row.
 */
export async function eventIdFor(sourceId: string, dedupeKey: string): Promise<string> {
  const hex = await sha256Hex(`${sourceId}\n${dedupeKey}`);
  return `evt_${hex.slice(0, 32)}`;
}

/** True for what eventIdFor makes: `evt_` and 32 lower-case hex digits. */
export function isEventId(id: string): boolean {
  return /^evt_[0-9a-f]{32}$/.test(id);
}
