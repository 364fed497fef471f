// An event's dedupe key, headers and raw body are stored together in one column:
// deflate-raw (the platform's CompressionStream) of the JSON [dedupeKey, headers],
// a newline, then the body. A Podium body repeats its dedupe key (metadata.eventUid),
// so keeping them in one stream stores it once. Rows migrated from the old layout
// hold the same text uncompressed (TEXT rather than BLOB).

export interface EventContent {
  dedupeKey: string;
  headers: Record<string, string>;
  body: string;
}

async function pipeThrough(bytes: Uint8Array, stream: CompressionStream | DecompressionStream): Promise<Uint8Array> {
  const out = new Response(new Blob([bytes]).stream().pipeThrough(stream));
  return new Uint8Array(await out.arrayBuffer());
}

export async function encodeContent(c: EventContent): Promise<Uint8Array> {
  const text = `${JSON.stringify([c.dedupeKey, c.headers])}\n${c.body}`;
  return pipeThrough(new TextEncoder().encode(text), new CompressionStream("deflate-raw"));
}

function isHeaders(v: unknown): v is Record<string, string> {
  return v !== null && typeof v === "object" && !Array.isArray(v) && Object.values(v).every((x) => typeof x === "string");
}

function parse(text: string): EventContent {
  const nl = text.indexOf("\n"); // JSON.stringify never writes a raw newline: the first one ends the prefix
  const prefix: unknown = JSON.parse(text.slice(0, nl));
  if (!Array.isArray(prefix) || typeof prefix[0] !== "string" || !isHeaders(prefix[1])) throw new Error("malformed event content");
  return { dedupeKey: prefix[0], headers: prefix[1], body: text.slice(nl + 1) };
}

const utf8 = new TextDecoder("utf-8");

/** The stored column back: a BLOB is inflated, TEXT (a migrated row) read as is. */
export async function decodeContent(stored: unknown): Promise<EventContent> {
  if (typeof stored === "string") return parse(stored);
  const bytes = stored instanceof ArrayBuffer ? new Uint8Array(stored) : Array.isArray(stored) ? Uint8Array.from(stored) : stored;
  if (!(bytes instanceof Uint8Array)) throw new Error("event content is neither text nor bytes");
  return parse(utf8.decode(await pipeThrough(bytes, new DecompressionStream("deflate-raw"))));
}

/** Lower-case hex of bytes, and back (ids are kept as the bytes behind their hex). */
export function hexOf(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}
