import { concatBytes } from "../domain/crypto";

/**
 * Reads a request body, counting bytes as they stream in, and gives up as soon as
 * it passes `limit`: a chunked body with no Content-Length, or one that never
 * ends, costs at most the limit. Returns null when the body is too large.
 */
export async function readLimited(body: ReadableStream<Uint8Array> | null, limit: number): Promise<Uint8Array | null> {
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  return chunks.length === 1 ? chunks[0]! : concatBytes(chunks);
}
