import { AppError } from "../domain/errors";

/** The compressions HTTP names (RFC 9110's registry); another token (`utf-8`, `none`: a sender's slip) changes no byte. */
const COMPRESSIONS = new Set(["gzip", "x-gzip", "deflate", "br", "zstd", "compress", "x-compress", "dcb", "dcz"]);

/**
 * 415 `unsupported_media_type` for a request whose body is compressed (Content-Encoding gzip,
 * say), else null. Nothing decodes it on arrival, so its compressed bytes would be read as the
 * body: said to be "not valid JSON" or "not UTF-8", after a signature over them passed.
 */
export function encodedBody(contentEncoding: string | null): AppError | null {
  if (contentEncoding === null) return null;
  const codings = contentEncoding.split(",").map((c) => c.trim().toLowerCase());
  if (!codings.some((c) => COMPRESSIONS.has(c))) return null;
  const issue = { path: "content-encoding", message: "must not compress the body" };
  return new AppError(
    "unsupported_media_type",
    `Content-Encoding ${JSON.stringify(contentEncoding.slice(0, 40))} is not supported: send the body uncompressed, without a Content-Encoding.`,
    { issues: [issue] },
  );
}
