import type { MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { invalidField } from "../domain/errors";
import { encodedBody } from "../http/content-encoding";
import { NoFields } from "./schemas";
import { invalidRequest } from "./validate";

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
 */
export const plainBody =
  (required: boolean): MiddlewareHandler =>
  async (c, next) => {
    const encoded = encodedBody(c.req.header("content-encoding") ?? null);
    if (encoded) throw encoded;
    const contentType = c.req.header("content-type");
    if (c.req.raw.body !== null && JSON_MEDIA_TYPE.test(mediaTypeOf(contentType))) {
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

/**
 * The body of an operation that takes none (a retry, a dead letter's replay), after plainBody: none,
 * or `{}`. A field is refused by name (`{"url":…}` on a retry was answered 202, as if taken). Not
 * zod's validator, which reads no body sent with a JSON Content-Type (the dashboard's) as bad JSON.
 * A body not JSON, or not sent as JSON, is refused as the validator refuses it (http/errors.ts).
 */
export const noFields: MiddlewareHandler = async (c, next) => {
  if (c.req.raw.body !== null && (await c.req.arrayBuffer()).byteLength > 0) {
    if (!JSON_MEDIA_TYPE.test(mediaTypeOf(c.req.header("content-type")))) throw new HTTPException(415);
    let given: unknown;
    try {
      given = JSON.parse(await c.req.text());
    } catch {
      throw new HTTPException(400, { message: "Malformed JSON in request body" });
    }
    const taken = NoFields.safeParse(given);
    if (!taken.success) throw invalidRequest(taken.error, "body");
  }
  await next();
};
