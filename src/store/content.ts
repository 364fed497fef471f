// Event bodies are stored a batch at a time: one `contents` row holds the headers
// and raw bodies of the events one ingest transaction stored, deflate-raw
// compressed (the platform's CompressionStream) as a whole, so what bodies share
// (their JSON keys, their common values) is stored once per batch rather than once
// per event. Its key is the `seq` of the batch's first event: an event's bodies are
// in the row with the greatest key not above its own seq, at its `part`.
//
// Uncompressed text: JSON.stringify of the UTF-16 lengths of every part but the
// last, a newline, then the parts; a part is the JSON of the headers, a newline,
// then the raw body. Rows migrated from the old layout hold that text as TEXT.
import { CREDENTIAL_NAMES, REDACTED } from "../domain/credential-headers";
import { arrayOf, isString, recordOf } from "../domain/guards";
import { fromUtf8, hexToBytes, utf8 } from "../domain/crypto";
import { storedJson } from "./stored-json";

export interface EventContent {
  headers: Record<string, string>;
  body: string;
}

/** A group stays under this many UTF-16 units (a D1 row holds 2 MB); a larger body is a group of its own. */
const MAX_GROUP_UNITS = 512 * 1024;

async function pipeThrough(bytes: Uint8Array, stream: CompressionStream | DecompressionStream): Promise<Uint8Array> {
  const out = new Response(new Blob([bytes]).stream().pipeThrough(stream));
  return new Uint8Array(await out.arrayBuffer());
}

const partOf = (c: EventContent) => `${JSON.stringify(c.headers)}\n${c.body}`;

/** The stored form of a group of parts, in order. */
export async function encodeGroup(parts: EventContent[]): Promise<Uint8Array> {
  const texts = parts.map(partOf);
  const text = `${JSON.stringify(texts.slice(0, -1).map((t) => t.length))}\n${texts.join("")}`;
  return pipeThrough(utf8(text), new CompressionStream("deflate-raw"));
}

/** Splits events into groups in order: at most `maxParts` each, and under MAX_GROUP_UNITS unless alone. */
export function groupsOf<T extends EventContent>(items: T[], maxParts = 100): T[][] {
  const groups: T[][] = [];
  let current: T[] = [];
  let units = 0;
  for (const item of items) {
    const size = item.body.length + 256;
    if (current.length > 0 && (current.length >= maxParts || units + size > MAX_GROUP_UNITS)) {
      groups.push(current);
      current = [];
      units = 0;
    }
    current.push(item);
    units += size;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

const isHeaders = recordOf(isString);
const isLengths = arrayOf((n): n is number => typeof n === "number" && Number.isInteger(n) && n >= 0);

/**
 * A stored part, every reader's (the API, filters, search, listeners). A browser's own credentials
 * (`cookie`, `authorization`) read as REDACTED: an hmac source's timestampHeader could name one
 * before that was refused, and keep a visitor's session with its events.
 */
function parsePart(text: string): EventContent {
  const nl = text.indexOf("\n"); // JSON.stringify never writes a raw newline: the first one ends the headers
  const headers = storedJson(text.slice(0, nl), isHeaders, "event content headers");
  for (const name of Object.keys(headers)) if (CREDENTIAL_NAMES.includes(name)) headers[name] = REDACTED;
  return { headers, body: text.slice(nl + 1) };
}

/**
 * A `contents` row's data as a read selects it (decodeRead): a BLOB as its hex, TEXT (a migrated
 * row) as is. D1 answers a BLOB as an array of numbers, an element a byte: ten groups of ~33 KB (a
 * search's thousand events) took ~20–30 ms to come back in the local runtime, their hex ~5 ms
 * decoded (measured in a test of the workers project). A BLOB of 1,000,000 bytes or more comes as
 * it is: its hex would be a string over D1's 2,000,000 bytes, which D1 refuses (the local runtime
 * does not), and a group of varied text compresses to that (test/worker/contents.test.ts).
 */
const HEX = "typeof(data) = 'blob' AND length(data) < 1000000";
export const DATA_READ_SQL = `CASE WHEN ${HEX} THEN hex(data) END AS data_hex, CASE WHEN ${HEX} THEN NULL ELSE data END AS data`;

/** A group as DATA_READ_SQL read it, decoded (decodeGroup): only the parts `wanted`, when given. */
export const decodeRead = (row: Record<string, unknown>, wanted?: ReadonlySet<number>): Promise<(EventContent | undefined)[]> =>
  decodeGroup(typeof row.data_hex === "string" ? bytesOfHex(row.data_hex) : row.data, wanted);

function bytesOfHex(hex: string): Uint8Array {
  const bytes = hexToBytes(hex);
  if (bytes === null) throw new Error("event content is not hex");
  return bytes;
}

/** Decodes a leading byte order mark as text: a body's own is kept, byte for byte (a plain TextDecoder drops it). */
const bomKeeper = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/**
 * A copy of `s` that does not refer to the string it was cut from: V8 answers a slice as a view of
 * the whole, so one event's body kept from a group would keep the group's whole text alive (~1 MB
 * as UTF-16; a page of 50 events of 50 groups, 50 MB of a 128 MB isolate).
 */
const detached = (s: string) => bomKeeper.decode(utf8(s)); // (lossless: the text was decoded from UTF-8)

/**
 * A stored group back, as its parts in order: a BLOB is inflated, TEXT (a migrated row) read as
 * is. Given `wanted`, only those parts are parsed and kept (the others undefined), each copied out
 * of the group's text, which is dropped once this returns.
 */
export async function decodeGroup(stored: unknown, wanted?: ReadonlySet<number>): Promise<(EventContent | undefined)[]> {
  let text: string;
  if (typeof stored === "string") text = stored;
  else {
    const bytes = stored instanceof ArrayBuffer ? new Uint8Array(stored) : Array.isArray(stored) ? Uint8Array.from(stored) : stored;
    if (!(bytes instanceof Uint8Array)) throw new Error("event content is neither text nor bytes");
    text = fromUtf8(await pipeThrough(bytes, new DecompressionStream("deflate-raw")));
  }
  const nl = text.indexOf("\n");
  const lengths = storedJson(text.slice(0, nl), isLengths, "event content lengths");
  const parts: (EventContent | undefined)[] = [];
  let at = nl + 1;
  for (let i = 0; i <= lengths.length; i++) {
    const end = i < lengths.length ? at + lengths[i]! : text.length;
    if (!wanted || wanted.has(i)) {
      const part = parsePart(text.slice(at, end));
      parts.push({ headers: part.headers, body: detached(part.body) });
    } else parts.push(undefined);
    at = end;
  }
  return parts;
}
