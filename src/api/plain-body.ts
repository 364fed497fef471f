import type { MiddlewareHandler } from "hono";
import { invalidField } from "../domain/errors";
import { encodedBody } from "../http/content-encoding";

/** The media types whose bodies the routes' validator parses as JSON (Hono's validator's own test). */
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/** A request's media type, its parameters (`; charset=utf-8`) aside; "" when it names none. */
const mediaTypeOf = (contentType: string | undefined) => contentType?.split(";")[0]?.trim() ?? "";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * The body of a route that takes one (openapi.ts, apiRoute), as it may be read: not encoded (415),
 * a JSON one valid UTF-8, and present where the route requires one. The validator decodes a body
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
    if (c.req.raw.body !== null && JSON_MEDIA_TYPE.test(mediaTypeOf(contentType))) {
      const bytes = await c.req.arrayBuffer();
      try {
        utf8.decode(bytes);
      } catch {
        throw invalidField("The body is not valid UTF-8.", { path: "", message: "not valid UTF-8" });
      }
    }
    // A body without a Content-Type is the validator's 415; none at all is refused here.
    if (required && !contentType && (await empty())) {
      throw invalidField("This operation takes a JSON body: send one, with the header Content-Type: application/json.", { path: "", message: "required" });
    }
    await next();
  };

/** The request as sent with no body: its headers but the Content-Type. */
function withoutBody(request: Request): Request {
  const headers = new Headers(request.headers);
  headers.delete("content-type");
  return new Request(request.url, { method: request.method, headers });
}
