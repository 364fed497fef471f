import type { MiddlewareHandler } from "hono";
import { invalidField } from "../domain/errors";
import { encodedBody } from "../http/content-encoding";
import { unsupportedMediaType } from "../http/errors";
import { isJsonMediaType, JSON_CONTENT_TYPE } from "../http/media-type";
import { repeatedBodyKey } from "./validate";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * The body of a route that takes one (openapi.ts, apiRoute), as it may be read: not encoded (415),
 * a JSON one valid UTF-8 with no key given twice in an object, and present where the route requires one. The validator decodes a body
 * leniently, each bad byte read as U+FFFD, which was then stored in place of what was sent; and it
 * reads no body at all as `{}`, which a change answered as a change to nothing. The bytes checked
 * stay the request's (Hono keeps them), so the validator parses these.
 *
 * Where the body is optional, an empty one is none, whatever its Content-Type: the validator reads
 * none as `{}` only without one, and the dashboard (like `curl -H 'Content-Type: application/json'`)
 * sends one with no body, which was answered "not valid JSON".
 */
export const plainBody =
  (required: boolean): MiddlewareHandler =>
  async (c, next) => {
    const encoded = encodedBody(c.req.header("content-encoding") ?? null);
    if (encoded) throw encoded;
    const contentType = c.req.header("content-type");
    const empty = async () => c.req.raw.body === null || (await c.req.arrayBuffer()).byteLength === 0;
    if (!required && contentType && (await empty())) {
      c.req.raw = withoutBody(c.req.raw);
      return next();
    }
    if (contentType) {
      // JSON is what media-type.ts says it is (RFC 9110's grammar); anything else is the 415 here.
      if (!isJsonMediaType(contentType)) throw unsupportedMediaType();
      const bytes = c.req.raw.body === null ? null : await c.req.arrayBuffer();
      if (bytes) {
        let text: string;
        try {
          text = utf8.decode(bytes);
        } catch {
          throw invalidField("The body is not valid UTF-8.", { path: "", message: "not valid UTF-8" });
        }
        // Without the byte order mark (kept by ignoreBOM), which the validator's parse passes over.
        const repeated = repeatedBodyKey(text.replace(/^\uFEFF/, ""));
        if (repeated) throw repeated;
      }
      // The validators after this test the header their own, stricter ways (`application/json;`
      // and `application/json ; charset=utf-8` were their 415): they are given JSON's one spelling.
      if (contentType !== JSON_CONTENT_TYPE) c.req.raw = withContentType(c.req.raw, bytes);
    }
    // A body without a Content-Type is the validator's 415; none at all is refused here.
    if (required && !contentType && (await empty())) {
      throw invalidField("This operation takes a JSON body: send one, with the header Content-Type: application/json.", { path: "", message: "required" });
    }
    await next();
  };

/** The request with `bytes` (its body, as read) and a Content-Type of JSON's one spelling. */
function withContentType(request: Request, bytes: ArrayBuffer | null): Request {
  const headers = new Headers(request.headers);
  headers.set("content-type", JSON_CONTENT_TYPE);
  return new Request(request.url, { method: request.method, headers, body: bytes });
}

/** The request as sent with no body: its headers but the Content-Type. */
function withoutBody(request: Request): Request {
  const headers = new Headers(request.headers);
  headers.delete("content-type");
  return new Request(request.url, { method: request.method, headers });
}
