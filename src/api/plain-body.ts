import type { MiddlewareHandler } from "hono";
import { invalidField } from "../domain/errors";
import { encodedBody } from "../http/content-encoding";

/** The media types whose bodies the routes' validator parses as JSON (Hono's validator's own test). */
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * The body of a route that takes one (openapi.ts, apiRoute), as it may be read: not encoded (415),
 * a JSON one valid UTF-8, and present where the route requires one. The validator decodes a body
 * leniently, each bad byte read as U+FFFD, which was then stored in place of what was sent; and it
 * reads no body at all as `{}`, which a change answered as a change to nothing. The bytes checked
 * stay the request's (Hono keeps them), so the validator parses these.
 */
export const plainBody =
  (required: boolean): MiddlewareHandler =>
  async (c, next) => {
    const encoded = encodedBody(c.req.header("content-encoding") ?? null);
    if (encoded) throw encoded;
    const contentType = c.req.header("content-type");
    const mediaType = contentType?.split(";")[0]?.trim() ?? "";
    if (c.req.raw.body !== null && JSON_MEDIA_TYPE.test(mediaType)) {
      const bytes = await c.req.arrayBuffer();
      try {
        utf8.decode(bytes);
      } catch {
        throw invalidField("The body is not valid UTF-8.", { path: "", message: "not valid UTF-8" });
      }
    }
    // A body without a Content-Type is the validator's 415; none at all is refused here.
    if (required && !contentType && (c.req.raw.body === null || (await c.req.arrayBuffer()).byteLength === 0)) {
      throw invalidField("This operation takes a JSON body: send one, with the header Content-Type: application/json.", { path: "", message: "required" });
    }
    await next();
  };
