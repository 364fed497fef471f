// Headers no request brings or sends as written, for rules on both sides: what a provider's
// request can bring in, and what a delivery's request can send out.

/**
 * Headers of the connection, not of the message (RFC 9110 §7.6.1), and those framing its body: a
 * runtime sets, drops or consumes them itself, so none arrives or leaves as a sender wrote it.
 */
export const CONNECTION_HEADERS: ReadonlySet<string> = new Set(["host", "content-length", "transfer-encoding", "connection", "keep-alive", "te", "trailer", "upgrade", "proxy-connection"]);

