import { AppError } from "../domain/errors";

/**
 * The codings of HTTP's content coding registry (RFC 9110) but `identity`: each changes the bytes
 * (compressed, or `aes128gcm` encrypted). Another token (`utf-8`, `none`: a sender's slip) changes no byte.
 */
const CODINGS = new Set(["gzip", "x-gzip", "deflate", "br", "zstd", "compress", "x-compress", "dcb", "dcz", "exi", "pack200-gzip", "aes128gcm"]);

/**
 * 415 `unsupported_media_type` for a request whose body is encoded (Content-Encoding gzip,
 * say), else null. Nothing decodes it on arrival, so its encoded bytes would be read as the
 * body: said to be "not valid JSON" or "not UTF-8", after a signature over them passed.
 */
export function encodedBody(contentEncoding: string | null): AppError | null {
  if (contentEncoding === null) return null;
  const codings = contentEncoding.split(",").map((c) => c.trim().toLowerCase());
  if (!codings.some((c) => CODINGS.has(c))) return null;
  const issue = { path: "content-encoding", message: "must not compress or encrypt the body" };
  return new AppError(
    "unsupported_media_type",
    `Content-Encoding ${JSON.stringify(contentEncoding.slice(0, 40))} is not supported: send the body as it is, neither compressed nor encrypted, without a Content-Encoding.`,
    { issues: [issue] },
  );
}
