// A WebSocket peer over a bare TCP socket that answers nothing on its own: unlike a runtime's
// client, it never replies to a close, as a buggy or hostile listener may not.
import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";

export interface RawPeer {
  /** The upgrade's HTTP status (101 when accepted). */
  status: number;
  /** Opcodes of the frames received so far (1 text, 8 close). */
  opcodes(): number[];
  /** Sends one masked text frame (under 126 bytes). */
  sendText(text: string): void;
  destroy(): void;
}

export function openRawPeer(url: string, path: string, headers: Record<string, string>): Promise<RawPeer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s: Socket = connect(Number(port), hostname);
    let buf = Buffer.alloc(0);
    let status = 0;
    s.on("error", reject);
    s.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (status) return;
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      status = Number(buf.subarray(0, end).toString().split(" ")[1]);
      buf = buf.subarray(end + 4);
      resolve({
        status,
        opcodes: () => frames(buf),
        sendText(text) {
          const payload = Buffer.from(text);
          const mask = randomBytes(4);
          s.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, payload.map((b, i) => b ^ mask[i % 4]!)]));
        },
        destroy: () => s.destroy(),
      });
    });
    const lines = Object.entries({
      host: `${hostname}:${port}`,
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-key": randomBytes(16).toString("base64"),
      "sec-websocket-version": "13",
      ...headers,
    }).map(([k, v]) => `${k}: ${v}\r\n`);
    s.write(`GET ${path} HTTP/1.1\r\n${lines.join("")}\r\n`);
  });
}

/** The opcodes of the whole frames in a server's stream (servers do not mask). */
function frames(buf: Buffer): number[] {
  const out: number[] = [];
  let i = 0;
  while (i + 2 <= buf.length) {
    let len = buf[i + 1]! & 0x7f;
    let head = 2;
    if (len === 126) [len, head] = [buf.readUInt16BE(i + 2), 4];
    else if (len === 127) [len, head] = [Number(buf.readBigUInt64BE(i + 2)), 10];
    if (i + head + len > buf.length) break;
    out.push(buf[i]! & 0x0f);
    i += head + len;
  }
  return out;
}
