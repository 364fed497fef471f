// A programmable downstream. Inside workerd, miniflare routes the Worker's
// outbound fetch to it (outboundService); end to end, a real HTTP server on
// 127.0.0.1 serves it. Behaviour is chosen by path: /{behaviour}/{key}?…;
// /__requests/{key} lists what arrived under a key (?count: how many).

export type Recorded = {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** Arrival time (epoch ms). */
  at: number;
  /** Requests under this key being answered when it arrived, itself included. */
  inFlight: number;
  /** The status it was answered with. */
  status: number;
  /** When its answer was sent (epoch ms); 0 while it is being answered. */
  answeredAt: number;
};

/** What the fake reads of a request: Node's Request and Miniflare's both have it. */
export interface Arrival {
  url: string;
  headers: Iterable<[string, string]>;
  text(): Promise<string>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function downstreamHandler() {
  const seen = new Map<string, Recorded[]>();
  const answering = new Map<string, number>();
  /** Answers held until a request arrives under a key (the `await` behaviour). */
  const awaiting = new Map<string, (() => void)[]>();
  /** Whether a request arrived under `key` (already, or within `ms`). */
  const arrival = (key: string, ms: number) =>
    (seen.get(key)?.length ?? 0) > 0
      ? Promise.resolve(true)
      : new Promise<boolean>((resolve) => {
          awaiting.set(key, [...(awaiting.get(key) ?? []), () => resolve(true)]);
          setTimeout(() => resolve(false), ms);
        });

  return async function handle(request: Arrival): Promise<Response> {
    const url = new URL(request.url);
    const [, behaviour = "", key = ""] = url.pathname.split("/");
    if (behaviour === "__requests") return Response.json(url.searchParams.has("count") ? (seen.get(key)?.length ?? 0) : (seen.get(key) ?? []));

    const list = seen.get(key) ?? [];
    const inFlight = (answering.get(key) ?? 0) + 1;
    answering.set(key, inFlight);
    const record: Recorded = { url: request.url, headers: Object.fromEntries(request.headers), body: "", at: Date.now(), inFlight, status: 0, answeredAt: 0 };
    list.push(record);
    seen.set(key, list);
    for (const release of awaiting.get(key) ?? []) release();
    awaiting.delete(key);
    try {
      record.body = await request.text();
      const res = await answer(behaviour, url, list.length, request, arrival);
      record.status = res.status;
      return res;
    } finally {
      record.answeredAt = Date.now();
      answering.set(key, (answering.get(key) ?? 1) - 1);
    }
  };
}

async function answer(behaviour: string, url: URL, n: number, request: Arrival, arrival: (key: string, ms: number) => Promise<boolean>): Promise<Response> {
  const param = (name: string) => Number(url.searchParams.get(name) ?? 0);

  switch (behaviour) {
    case "ok":
      return new Response("ok");
    case "fail":
      return new Response("downstream says no", { status: 500 });
    case "ok-then-fail": // answers the first `ok` requests, then fails every one
      return n <= param("ok") ? new Response("ok") : new Response("downstream says no now", { status: 500 });
    case "status": { // answers the status `code`, with no body where HTTP allows none
      const code = param("code");
      return new Response([204, 205, 304].includes(code) ? null : `answered ${code}`, { status: code });
    }
    case "flaky": // fails the first `fails` requests at once, answers the others after `ms`
      if (n <= param("fails")) return new Response("not yet", { status: 503 });
      await sleep(param("ms"));
      return new Response("ok");
    case "slow":
      await sleep(param("ms"));
      return new Response("late ok");
    case "await": // holds its answer until a request arrives under the key `for` (200), or `ms` pass first (504)
      return (await arrival(url.searchParams.get("for") ?? "", param("ms"))) ? new Response("ok, after it") : new Response("it never came", { status: 504 });
    case "slow-once": // slow the `nth` time only (the first by default)
      if (n === (param("nth") || 1)) await sleep(param("ms"));
      return new Response("ok");
    case "slow-except": // answers after `ms`, but the `from`-th to the `to`-th requests after `then`
      await sleep(n >= param("from") && n <= param("to") ? param("then") : param("ms"));
      return new Response("ok");
    case "chaos": // fails a share `fail` of requests, and answers a share `slow` after `ms`
      if (Math.random() < Number(url.searchParams.get("slow") ?? 0)) await sleep(param("ms"));
      return Math.random() < Number(url.searchParams.get("fail") ?? 0) ? new Response("chaos", { status: 503 }) : new Response("ok");
    case "retry-after":
      return new Response("busy", { status: 429, headers: { "retry-after": String(param("s")) } });
    case "retry-at": // answers after `ms`: 503 with Retry-After the HTTP date `s` seconds after the answer
      await sleep(param("ms"));
      return new Response("busy", { status: 503, headers: { "retry-after": new Date(Date.now() + param("s") * 1000).toUTCString() } });
    case "redirect":
      return new Response(null, { status: 302, headers: { location: "https://downstream.test/ok/redirected" } });
    case "echo": // answers 400 with the request's headers, as some gateways' error pages do
      return Response.json({ error: "bad request", headers: Object.fromEntries(request.headers) }, { status: 400 });
    case "huge":
      return new Response("x".repeat(2_000_000), { status: 500 });
    case "record": // answers after `ms` (with `for`: once a request arrives under that key, at most `ms`); the first `busy` requests get 429 (or `busyStatus`) with Retry-After `s`; then a share `fail` get 503
      if (url.searchParams.has("for")) await arrival(url.searchParams.get("for") ?? "", param("ms"));
      else await sleep(param("ms"));
      if (n <= param("busy")) return new Response("slow down", { status: param("busyStatus") || 429, headers: { "retry-after": String(param("s")) } });
      return Math.random() < param("fail") ? new Response("not now", { status: 503 }) : new Response("ok");
    default:
      return new Response("unknown behaviour", { status: 404 });
  }
}

const shared = downstreamHandler();

/** The outboundService of the workerd tests: only the fake host is reachable. */
export async function fakeDownstream(request: Arrival): Promise<Response> {
  if (new URL(request.url).hostname !== "downstream.test") {
    return new Response("outbound fetch outside the fake downstream is not allowed in tests", { status: 599 });
  }
  return shared(request);
}
