import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
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
 * hono's bodyLimit, which reads a body sent without a Content-Length before the routes: one that
 * breaks off meanwhile is answered by `brokeOff` (the client's 400), not thrown as a 500.
 */
export function limitBody(options: Parameters<typeof bodyLimit>[0], brokeOff: (c: Context, err: BodyBrokeOff) => Response | Promise<Response>): MiddlewareHandler {
  const limit = bodyLimit(options);
  return async (c, next) => {
    let reading = true;
    try {
      return await limit(c, () => {
        reading = false;
        return next();
      });
    } catch (err) {
      if (reading) return brokeOff(c, new BodyBrokeOff());
      throw err;
    }
  };
}
