// A programmable downstream for tests inside workerd: miniflare routes the
// Worker's outbound fetch here (outboundService), so deliveries reach Node.
// Behaviour is chosen by path: /{behaviour}/{key}; /__requests/{key} lists
// what arrived under a key.

interface Recorded {
  url: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}

const seen = new Map<string, Recorded[]>();

export async function fakeDownstream(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.hostname !== "downstream.test") {
    return new Response("outbound fetch outside the fake downstream is not allowed in tests", { status: 599 });
  }
  const [, behaviour = "", key = ""] = url.pathname.split("/");
  if (behaviour === "__requests") return Response.json(seen.get(key) ?? []);

  const list = seen.get(key) ?? [];
  list.push({
    url: request.url,
    headers: Object.fromEntries(request.headers),
    body: await request.text(),
    at: Date.now(),
  });
  seen.set(key, list);
  const n = list.length;
  const param = (name: string) => Number(url.searchParams.get(name) ?? 0);

  switch (behaviour) {
    case "ok":
      return new Response("ok", { status: 200 });
    case "fail":
      return new Response("downstream says no", { status: 500 });
    case "flaky":
      return n <= param("fails") ? new Response("not yet", { status: 503 }) : new Response("ok");
    case "slow":
      await new Promise((r) => setTimeout(r, param("ms")));
      return new Response("late ok");
    case "retry-after":
      return new Response("busy", { status: 429, headers: { "retry-after": String(param("s")) } });
    case "redirect":
      return new Response(null, { status: 302, headers: { location: "https://downstream.test/ok/redirected" } });
    case "huge":
      return new Response("x".repeat(2_000_000), { status: 500 });
    default:
      return new Response("unknown behaviour", { status: 404 });
  }
}
