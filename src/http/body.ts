import type { Context, MiddlewareHandler } from "hono";
import { concatBytes } from "../domain/crypto";

/**
 * The request's body broke off before its end: the client went away mid-upload, or its chunked
 * encoding was cut. The client's doing, so its 400, never a 500 (the ingress and the API).
 */
export class BodyBrokeOff extends Error {
  constructor() {
    super("The body broke off before its end (the connection was lost mid-upload): send the request again.");
  }
}

/**
 * Reads a request body, counting bytes as they stream in, and gives up as soon as
 * it passes `limit`: a chunked body with no Content-Length, or one that never
 * ends, costs at most the limit. Returns null when the body is too large; throws
 * BodyBrokeOff when the stream fails before its end.
 */
export async function readLimited(body: ReadableStream<Uint8Array> | null, limit: number): Promise<Uint8Array | null> {
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch {
      throw new BodyBrokeOff();
    }
    const { done, value } = chunk;
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

/**
 * A body limit for the API and the dashboard: a body over `maxSize` is answered by `onError`
 * (its Content-Length says so, or it passes the limit while read), one that breaks off before its
 * end by `brokeOff` (the client's 400, not a 500). The body is read here, before the routes (it
 * is small), so no route meets a broken stream.
 */
export function limitBody(
  options: { maxSize: number; onError: (c: Context) => Response | Promise<Response> },
  brokeOff: (c: Context, err: BodyBrokeOff) => Response | Promise<Response>,
): MiddlewareHandler {
  return async (c, next) => {
    const body = c.req.raw.body;
    if (!body) return next();
    // A GET or HEAD is held to the limit too (the 413 is "whatever the route"): a client may send
    // one a body, which the runtime passes on.
    if (Number(c.req.header("content-length") ?? 0) > options.maxSize) return options.onError(c);
    let raw: Uint8Array | null;
    try {
      raw = await readLimited(body, options.maxSize);
    } catch (err) {
      if (err instanceof BodyBrokeOff) return brokeOff(c, err);
      throw err;
    }
    if (!raw) return options.onError(c);
    // No route reads a GET's or HEAD's body, and a request of either may carry none: it is read
    // (counted) and dropped, where any other is rebuilt around the bytes read.
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    c.req.raw = new Request(c.req.raw, { body: raw });
    return next();
  };
}
