// A real HTTP downstream on 127.0.0.1, serving the same programmable behaviours as the workerd tests.
import { createServer, type Server } from "node:http";
import { downstreamHandler, type Recorded } from "../support/fake-downstream";

export interface Downstream {
  url: string;
  requests(key: string): Promise<Recorded[]>;
  close(): Promise<void>;
}

export async function startDownstream(port = 0): Promise<Downstream> {
  const handle = downstreamHandler();
  const resets = new Map<string, number>();
  const server: Server = createServer(async (req, res) => {
    // /reset/{key}?times=N: drop the connection without an answer, the first N times.
    const reset = /^\/reset\/([^/?]+)(?:\?times=(\d+))?/.exec(req.url ?? "");
    if (reset) {
      const n = (resets.get(reset[1]!) ?? 0) + 1;
      resets.set(reset[1]!, n);
      if (n <= Number(reset[2] ?? 1)) return req.socket.destroy();
      return res.end("ok after reset");
    }
    // /trickle/{key}?status=N: answer N (200) and "partial", then hold the body open until the client lets go.
    const trickle = /^\/trickle\/[^/?]+(?:\?status=(\d+))?/.exec(req.url ?? "");
    if (trickle) {
      res.writeHead(Number(trickle[1] ?? 200), { "content-type": "text/plain" });
      return void res.write("partial");
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
    const request = new Request(`http://127.0.0.1${req.url}`, {
      method: req.method,
      headers,
      body: req.method === "GET" || req.method === "HEAD" ? undefined : Buffer.concat(chunks),
    });
    const answer = await handle(request);
    res.writeHead(answer.status, Object.fromEntries(answer.headers));
    res.end(Buffer.from(await answer.arrayBuffer()));
  });
  await new Promise<void>((ok) => server.listen(port, "127.0.0.1", ok));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  return {
    url,
    requests: async (key) => (await (await fetch(`${url}/__requests/${key}`)).json()) as Recorded[],
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}
