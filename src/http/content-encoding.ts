import { AppError } from "../domain/errors";

/**
 * 415 `unsupported_media_type` for a request whose Content-Encoding is other than identity (a
 * gzip body, say), else null. Nothing decodes it on arrival, so its compressed bytes would be read
 * as the body: said to be "not valid JSON" or "not UTF-8", after a signature over them passed.
 */
export function encodedBody(contentEncoding: string | null): AppError | null {
  if (contentEncoding === null) return null;
  const codings = contentEncoding.split(",").map((c) => c.trim().toLowerCase());
  if (codings.every((c) => c === "" || c === "identity")) return null;
  const issue = { path: "content-encoding", message: "must be identity (or absent)" };
  return new AppError(
    "unsupported_media_type",
    `Content-Encoding ${JSON.stringify(contentEncoding.slice(0, 40))} is not supported: send the body uncompressed, without a Content-Encoding.`,
    { issues: [issue] },
  );
}
