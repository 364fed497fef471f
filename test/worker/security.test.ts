import { afterEach, describe, expect, it, vi } from "vitest";
import { ADMIN, ADMIN_TOKEN, bodiedRequest, call, clientAddress, dashboardCookie, failUntilLimited, podiumBody, podiumHeaders, post, recordingQueue } from "./helpers";
import { COOKIE, LOCAL_COOKIE } from "../../src/dashboard/session";
import { EXAMPLE_ADMIN_TOKEN } from "../../src/domain/tokens";
import { EXAMPLE_SOURCE_SECRETS } from "../../src/domain/secrets";
import { standardWebhooks } from "../../src/schemes/standard-webhooks";
import { storeEvents } from "../../src/store/events";
import { REDACTED } from "../../src/domain/credential-headers";
import { env } from "cloudflare:workers";
import { d1Double } from "./d1-double";
import { pipeline, uniqueKey } from "./pipeline";

const v1 = (path: string, init: RequestInit = {}) => new Request(`https://edgehook.test/v1${path}`, init);
const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

describe("API hardening", () => {
  it("once an address is over the failed-authentication limit, refuses even the right token, before evaluating it", async () => {
    const client = clientAddress();
    await failUntilLimited(401, (i) => call(v1("/events", { headers: { authorization: `Bearer guess-${i}`, "cf-connecting-ip": client } })));

    const { db, calls: counter } = d1Double();
    const right = await call(v1("/events", { headers: { ...ADMIN, "cf-connecting-ip": client } }), { DB: db });
    expect(right.status).toBe(429);
    expect(await errorCode(right)).toBe("rate_limited");
    const wait = Number(right.headers.get("retry-after"));
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(60);
    const scoped = await call(v1("/events", { headers: { authorization: "Bearer ehk_anything", "cf-connecting-ip": client } }), { DB: db });
    expect(scoped.status).toBe(429);
    expect(counter.prepared).toBe(0); // nothing was looked up

    const other = await call(v1("/events", { headers: { ...ADMIN, "cf-connecting-ip": clientAddress() } }));
    expect(other.status).toBe(200);
  });

  it("counts an IPv6 client by its /64: a host given a whole prefix cannot guess on past the limit from its next address", async () => {
    // One host (a server, a home line) is routed a whole /64: 2^64 addresses to take the next one from.
    const prefix = `2001:db8:${crypto.getRandomValues(new Uint16Array(1))[0]!.toString(16)}:${crypto.getRandomValues(new Uint16Array(1))[0]!.toString(16)}`;
    await failUntilLimited(401, (i) => call(v1("/events", { headers: { authorization: `Bearer guess-${i}`, "cf-connecting-ip": `${prefix}::${i.toString(16)}` } })));
    // Written out in full, another address of the prefix is the same client.
    const [, , third = "0", fourth = "0"] = prefix.split(":");
    const spelled = `2001:0db8:${third.padStart(4, "0")}:${fourth.padStart(4, "0")}:1:2:3:4`;
    expect((await call(v1("/events", { headers: { ...ADMIN, "cf-connecting-ip": spelled } }))).status).toBe(429);
    // Another /64 is another client.
    expect((await call(v1("/events", { headers: { ...ADMIN, "cf-connecting-ip": clientAddress() } }))).status).toBe(200);
  });

  it("counts failed dashboard sign-ins, then refuses the right token at sign-in too", async () => {
    const client = clientAddress();
    const signIn = (token: string) =>
      call(
        new Request("https://edgehook.test/dashboard/login", {
          method: "POST",
          headers: { origin: "https://edgehook.test", "content-type": "application/x-www-form-urlencoded", "cf-connecting-ip": client },
          body: new URLSearchParams({ token }),
        }),
      );
    // A refused sign-in goes back to the sign-in page (303).
    await failUntilLimited(303, (i) => signIn(`guess-${i}`));
    const right = await signIn(ADMIN_TOKEN);
    expect(right.status).toBe(429);
    expect(right.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(right.headers.get("set-cookie")).toBeNull();
    // The block holds for the API as well.
    expect((await call(v1("/events", { headers: { ...ADMIN, "cf-connecting-ip": client } }))).status).toBe(429);
  });

  it("counts unknown session cookies as failures, then refuses a valid session from that address", async () => {
    const client = clientAddress();
    const login = await call(
      new Request("https://edgehook.test/dashboard/login", {
        method: "POST",
        headers: { origin: "https://edgehook.test", "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token: ADMIN_TOKEN }),
      }),
    );
    const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
    const visit = (c: string) => call(new Request("https://edgehook.test/dashboard/events", { headers: { cookie: c, "cf-connecting-ip": client } }));
    expect((await visit(cookie)).status).toBe(200);
    // An unknown session is sent to sign in.
    await failUntilLimited(303, (i) => visit(`${COOKIE}=${btoa(`guess-${i}-`.padEnd(32, "x")).replace(/=+$/, "")}`));
    const refused = await visit(cookie);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
  });

  it("counts no request that presents no credential: a web page's <img>s or CORS preflights cannot block the operator", async () => {
    const client = clientAddress();
    const cookie = await dashboardCookie();
    // What any page can make a browser send here: a GET without a credential (an <img>), and the
    // preflight of a fetch that would send one (no CORS is offered: 401, as without a token).
    for (let i = 1; i <= 25; i++) {
      const res = await call(v1(`/webhooks?i=${i}`, { headers: { "cf-connecting-ip": client } }));
      expect(res.status).toBe(401);
      expect(await errorCode(res)).toBe("unauthorized");
    }
    for (let i = 1; i <= 25; i++) {
      const preflight = v1("/webhooks", {
        method: "OPTIONS",
        headers: { origin: "http://evil.example", "access-control-request-method": "POST", "access-control-request-headers": "authorization", "cf-connecting-ip": client },
      });
      const res = await call(preflight);
      expect(res.status).toBe(401);
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
    }
    // Nor is a header that carries no bearer token.
    for (const authorization of ["", "Bearer", "Basic dXNlcjpwYXNz"]) {
      expect((await call(v1("/webhooks", { headers: { authorization, "cf-connecting-ip": client } }))).status).toBe(401);
    }
    expect((await call(v1("/webhooks", { headers: { ...ADMIN, "cf-connecting-ip": client } }))).status).toBe(200);
    expect((await call(new Request("https://edgehook.test/dashboard/events", { headers: { cookie, "cf-connecting-ip": client } }))).status).toBe(200);
    // A wrong token is still a guess, counted from the first: the 21st is refused.
    await failUntilLimited(401, (i) => call(v1("/webhooks", { headers: { authorization: `Bearer guess-${i}`, "cf-connecting-ip": client } })));
  });

  it("counts no sign-in that presents no token, nor a sign-in posted from another origin: refused before its token is looked at", async () => {
    const client = clientAddress();
    const signIn = (token: string, headers: Record<string, string>) =>
      call(
        new Request("https://edgehook.test/dashboard/login", {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", "cf-connecting-ip": client, ...headers },
          body: new URLSearchParams({ token }),
        }),
      );
    const here = { origin: "https://edgehook.test" };
    // A hostile page's form posting wrong tokens: the browser says where it comes from.
    for (let i = 1; i <= 25; i++) expect((await signIn(`guess-${i}`, { origin: "http://evil.example", "sec-fetch-site": "cross-site" })).status).toBe(403);
    for (let i = 1; i <= 25; i++) {
      const empty = await signIn("", here);
      expect(empty.status).toBe(303);
      expect(empty.headers.get("location")).toBe("/dashboard/login?error=invalid-token");
    }
    const right = await signIn(ADMIN_TOKEN, here);
    expect(right.status).toBe(303);
    expect(right.headers.get("set-cookie")).toMatch(new RegExp(`^${COOKIE}=[^;]+;`));
    // A wrong token from this origin is still a guess, counted from the first.
    await failUntilLimited(303, (i) => signIn(`guess-${i}`, here));
  });

  it("refuses an ADMIN_TOKEN shorter than 32 characters: it authenticates nothing, and says so once in the log", async () => {
    const lines: string[] = [];
    for (const level of ["log", "info", "warn", "error"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
    }
    const short = "short-admin-token-31-characters";
    expect(short.length).toBe(31);
    for (let i = 0; i < 2; i++) {
      const res = await call(v1("/events", { headers: { authorization: `Bearer ${short}` } }), { ADMIN_TOKEN: short });
      expect(res.status).toBe(401);
    }
    const login = await call(
      new Request("https://edgehook.test/dashboard/login", {
        method: "POST",
        headers: { origin: "https://edgehook.test", "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token: short }),
      }),
      { ADMIN_TOKEN: short },
    );
    expect(login.headers.get("set-cookie")).toBeNull();
    const said = lines.filter((l) => l.includes("ADMIN_TOKEN"));
    expect(said).toHaveLength(1);
    expect(said[0]).toContain("32");
    expect(lines.join("\n")).not.toContain(short);
    vi.restoreAllMocks();
    // 32 characters are enough.
    const long = `${short}x`;
    expect((await call(v1("/events", { headers: { authorization: `Bearer ${long}` } }), { ADMIN_TOKEN: long })).status).toBe(200);
  });

  it("takes the example's published ADMIN_TOKEN only at a loopback host: a page rebinding its name to 127.0.0.1 cannot use it", async () => {
    const lines: string[] = [];
    vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
    // The token every local setup has (.dev.vars.example), not a test's own.
    const example = { ADMIN_TOKEN: EXAMPLE_ADMIN_TOKEN };
    const bearer = { authorization: `Bearer ${EXAMPLE_ADMIN_TOKEN}` };
    const at = (origin: string) => call(new Request(`${origin}/v1/events`, { headers: bearer }), example);
    for (const origin of ["http://127.0.0.1:8787", "http://localhost:8787", "http://[::1]:8787", "http://127.0.0.2", "http://app.localhost:8787"]) {
      expect({ origin, status: (await at(origin)).status }).toEqual({ origin, status: 200 });
    }
    for (const origin of ["http://attacker.example:8787", "https://edgehook.example.workers.dev", "http://192.168.1.10:8787", "http://127.0.0.1.attacker.example"]) {
      const res = await at(origin);
      expect({ origin, status: res.status }).toEqual({ origin, status: 401 });
    }
    // The dashboard's sign-in too: no session.
    const signIn = (origin: string) =>
      call(
        new Request(`${origin}/dashboard/login`, {
          method: "POST",
          headers: { origin, "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ token: EXAMPLE_ADMIN_TOKEN }),
        }),
        example,
      );
    expect((await signIn("http://attacker.example:8787")).headers.get("set-cookie")).toBeNull();
    expect((await signIn("http://127.0.0.1:8787")).headers.get("set-cookie")).toContain(LOCAL_COOKIE);
    // Said once, why, without the token.
    const said = lines.filter((l) => l.includes("ADMIN_TOKEN"));
    expect(said).toHaveLength(1);
    expect(said[0]).toContain("localhost");
    vi.restoreAllMocks();
    // Any other token of 32+ characters is taken at any host.
    expect((await call(v1("/events", { headers: ADMIN }))).status).toBe(200);
    expect(new URL(v1("/events").url).hostname).toBe("edgehook.test");
  });

  it("takes the example's published source secrets only at a loopback host: a page rebinding its name to 127.0.0.1 cannot sign events with them", async () => {
    const lines: string[] = [];
    vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
    // The secrets every local setup has (.dev.vars.example), which declare the sources podium and standard-webhooks.
    const [podiumSecret, standardSecret] = EXAMPLE_SOURCE_SECRETS;
    const example = { PODIUM_WEBHOOK_SECRET: podiumSecret, STANDARD_WEBHOOKS_SECRET: standardSecret };
    const send = async (origin: string) => {
      const podiumEvent = podiumBody();
      const standardEvent = JSON.stringify({ type: "invoice.paid", data: { id: uniqueKey() } });
      const [viaPodium, viaStandard] = await Promise.all([
        call(new Request(`${origin}/webhooks/podium`, { method: "POST", body: podiumEvent, headers: await podiumHeaders(podiumEvent, podiumSecret) }), example),
        call(
          new Request(`${origin}/webhooks/standard-webhooks`, {
            method: "POST",
            body: standardEvent,
            headers: { "content-type": "application/json", ...(await standardWebhooks.sign(standardSecret!, standardEvent)) },
          }),
          example,
        ),
      ]);
      return { origin, podium: viaPodium.status, standard: viaStandard.status };
    };
    for (const origin of ["http://127.0.0.1:8787", "http://localhost:8787", "http://[::1]:8787", "http://app.localhost:8787"]) {
      expect(await send(origin)).toEqual({ origin, podium: 202, standard: 202 });
    }
    for (const origin of ["http://attacker.example:8787", "https://edgehook.example.workers.dev", "http://192.168.1.10:8787"]) {
      expect(await send(origin)).toEqual({ origin, podium: 401, standard: 401 });
    }
    // Said once, why, without the secrets.
    const said = lines.filter((l) => l.includes("published"));
    expect(said).toHaveLength(1);
    expect(said[0]).toContain("localhost");
    for (const secret of EXAMPLE_SOURCE_SECRETS) expect(lines.join("\n")).not.toContain(secret);
    vi.restoreAllMocks();
    // A source's own secret beside an example one (a rotation away from it) verifies at any host.
    const rotated = { PODIUM_WEBHOOK_SECRET: `podium-own-secret ${podiumSecret}` };
    const body = podiumBody();
    const own = await call(new Request("https://edgehook.example.workers.dev/webhooks/podium", { method: "POST", body, headers: await podiumHeaders(body, "podium-own-secret") }), rotated);
    expect(own.status).toBe(202);
    // The sender is told why (a tunnel to `npm run dev` signing with the example's secret), not only "does not match".
    const tunnelled = podiumBody();
    const refused = await call(
      new Request("https://dev-box.tunnel.example/webhooks/podium", { method: "POST", body: tunnelled, headers: await podiumHeaders(tunnelled, podiumSecret) }),
      example,
    );
    expect(refused.status).toBe(401);
    const { error } = (await refused.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe("invalid_signature");
    expect(error.message).toContain("published example's (.dev.vars.example, the API reference), which verifies only requests to localhost or 127.0.0.1, not to dev-box.tunnel.example");
    // Only a request the example secret signed is told so: one signed with another secret (or not
    // signed as the scheme says) was not refused for the host, and says nothing of the example.
    for (const headers of [await podiumHeaders(tunnelled, "not-the-example"), { ...(await podiumHeaders(tunnelled, podiumSecret)), "podium-signature": "v1=zz" }]) {
      const wrong = await call(new Request("https://dev-box.tunnel.example/webhooks/podium", { method: "POST", body: tunnelled, headers }), example);
      const refusal = ((await wrong.json()) as { error: { code: string; message: string } }).error;
      expect(refusal.code).toBe("invalid_signature");
      expect(refusal.message).not.toContain("example");
    }
    // A source with no example secret is refused as before, saying nothing of one.
    const other = await call(new Request("https://edgehook.example.workers.dev/webhooks/podium", { method: "POST", body, headers: await podiumHeaders(body, "wrong-secret") }), {
      PODIUM_WEBHOOK_SECRET: "podium-own-secret",
    });
    expect(((await other.json()) as { error: { message: string } }).error.message).not.toContain("example");
  });

  it("takes a published example's key spelt otherwise (whsec_ unpadded, the key's text, zero-padded) only at a loopback host too", async () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const [podiumSecret = "", standardSecret = "", referenceSecret = ""] = EXAMPLE_SOURCE_SECRETS;
    const whsec = (key: string) => `whsec_${btoa(key)}`;
    // Each source's secret gives the key its signer (the published spelling) signs with; HMAC pads a short key with zero bytes.
    const respelt: [string, string][] = [
      [standardSecret.replace(/=+$/, ""), standardSecret],
      ["dev-standard-webhooks-secret", standardSecret],
      [whsec("dev-standard-webhooks-secret\0\0\0\0"), standardSecret],
      [whsec(`${podiumSecret}\0\0\0\0\0\0\0`), podiumSecret],
      [whsec(referenceSecret), referenceSecret],
      // Not an example's key: verifies at any host.
      [whsec("dev-standard-webhooks-secreT"), whsec("dev-standard-webhooks-secreT")],
    ];
    const statuses = [];
    for (const [secret, signer] of respelt) {
      const id = `sw-${uniqueKey().slice(0, 12)}`;
      const made = await call(v1("/sources", { method: "POST", headers: { ...ADMIN, "content-type": "application/json" }, body: JSON.stringify({ id, name: id, provider: "standard-webhooks", secrets: [secret] }) }));
      expect(made.status, secret).toBe(201);
      const send = async (origin: string) => {
        const body = JSON.stringify({ type: "invoice.paid", data: { id: uniqueKey() } });
        const headers = { "content-type": "application/json", ...(await standardWebhooks.sign(signer, body)) };
        return (await call(new Request(`${origin}/webhooks/${id}`, { method: "POST", body, headers }))).status;
      };
      statuses.push([await send("http://127.0.0.1:8787"), await send("https://evil.example.com")]);
    }
    expect(statuses).toEqual([[202, 401], [202, 401], [202, 401], [202, 401], [202, 401], [202, 202]]);
    vi.restoreAllMocks();
  });

  it("refuses API bodies over 64 KiB with 413 payload_too_large", async () => {
    const res = await call(
      v1("/webhooks", {
        method: "POST",
        headers: { ...ADMIN, "content-type": "application/json" },
        body: JSON.stringify({ url: "https://downstream.test/ok/x", eventTypes: ["*"], pad: "x".repeat(70_000) }),
      }),
    );
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("payload_too_large");
  });

  it("refuses a GET's or HEAD's body over 64 KiB with 413 too, by its Content-Length or as it streams in", async () => {
    const big = "x".repeat(70_000);
    const stream = () => new Blob([big]).stream();
    const answers = [
      await call(bodiedRequest("GET", "https://edgehook.test/v1/tokens?limit=1", { ...ADMIN, "content-length": String(big.length) }, big)),
      await call(bodiedRequest("GET", "https://edgehook.test/v1/tokens?limit=1", ADMIN, stream())),
      await call(bodiedRequest("HEAD", "https://edgehook.test/v1/events", ADMIN, stream())),
      await call(bodiedRequest("GET", "https://edgehook.test/v1/events/evt_00000000000000000000000000000000", ADMIN, stream())),
    ];
    expect(answers.map((r) => r.status)).toEqual([413, 413, 413, 413]);
    expect(((await answers[0]!.json()) as { error: { code: string } }).error.code).toBe("payload_too_large");
    // An empty one, with `content-length: 0` as some clients always send, is answered as before.
    const empty = await call(bodiedRequest("GET", "https://edgehook.test/v1/tokens?limit=1", { ...ADMIN, "content-length": "0" }, ""));
    expect(empty.status).toBe(200);
  });

  it("answers nothing a browser or proxy may keep: a secret shown once, a list, an error", async () => {
    const json = { ...ADMIN, "content-type": "application/json" };
    const answers = [
      await call(v1("/tokens", { method: "POST", headers: json, body: JSON.stringify({ name: `t-${uniqueKey()}`, scopes: ["read_messages"] }) })),
      await call(v1("/webhooks", { method: "POST", headers: json, body: JSON.stringify({ url: "https://downstream.test/ok/cache", eventTypes: ["*"] }) })),
      await call(v1("/events", { headers: ADMIN })),
      await call(v1("/events/evt_00000000000000000000000000000000", { headers: ADMIN })),
      await call(v1("/events")),
      await call(v1("/webhooks", { method: "POST", headers: json, body: JSON.stringify({ url: "https://downstream.test/ok/cache", eventTypes: ["*"], pad: "x".repeat(70_000) }) })),
    ];
    expect(answers.map((r) => r.status)).toEqual([201, 201, 200, 404, 401, 413]);
    for (const res of answers) expect(res.headers.get("cache-control")).toBe("no-store");
  });

  it("answers nothing a browser may sniff into another type: a success, an error, a 404, the OpenAPI document and reference", async () => {
    const answers = {
      success: await call(v1("/events", { headers: ADMIN })),
      error: await call(v1("/events/evt_00000000000000000000000000000000", { headers: ADMIN })),
      unauthenticated: await call(v1("/events")),
      noRoute: await call(v1("/no-such-route", { headers: ADMIN })),
      wrongMethod: await call(v1("/events", { method: "PUT", headers: ADMIN })),
      openapi: await call(new Request("https://edgehook.test/openapi.json")),
      docs: await call(new Request("https://edgehook.test/docs")),
    };
    expect(Object.fromEntries(Object.entries(answers).map(([what, r]) => [what, r.status]))).toEqual({
      success: 200,
      error: 404,
      unauthenticated: 401,
      noRoute: 404,
      wrongMethod: 405,
      openapi: 200,
      docs: 200,
    });
    for (const [what, res] of Object.entries(answers)) expect(res.headers.get("x-content-type-options"), what).toBe("nosniff");
    expect(((await answers.noRoute.json()) as { error: { code: string } }).error.code).toBe("not_found");
  });
});

describe("secrets are compared in constant time", () => {
  afterEach(() => vi.restoreAllMocks());

  it("decides a provider's signature and the ADMIN_TOKEN by crypto.subtle.timingSafeEqual, comparing digests and MACs of equal length", async () => {
    const compared: [number, number][] = [];
    const real = crypto.subtle.timingSafeEqual.bind(crypto.subtle);
    let answer: boolean | null = null;
    vi.spyOn(crypto.subtle, "timingSafeEqual").mockImplementation((a, b) => {
      compared.push([a.byteLength, b.byteLength]);
      return answer ?? real(a, b);
    });
    const signed = async () => {
      const body = podiumBody();
      return call(post("/webhooks/podium", body, await podiumHeaders(body)), { INGEST: recordingQueue() });
    };
    const admin = () => call(v1("/events", { headers: { ...ADMIN, "cf-connecting-ip": clientAddress() } }));
    expect((await signed()).status).toBe(202);
    expect(compared).toContainEqual([32, 32]); // the HMAC-SHA-256 against the candidate
    compared.length = 0;
    expect((await admin()).status).toBe(200);
    expect(compared).toContainEqual([32, 32]); // the two SHA-256 digests
    // Were either decided by another comparison, a right signature or token would still pass.
    answer = false;
    expect((await signed()).status).toBe(401);
    expect((await admin()).status).toBe(401);
  });
});

describe("credentials are never kept with an event", () => {
  it("refuses a browser's credential as an hmac source's timestamp header, stores none for one made before, and shows none stored before to any reader", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const make = (id: string, timestampHeader: string) =>
      p.api("POST", "/v1/sources", { id, name: "t", provider: "hmac", secrets: [`hmac-${k}-secret`], hmac: { header: "x-sig", timestampHeader } });
    const refused = await make(`ts-${k}-c`, "cookie");
    expect(refused.status).toBe(400);
    expect(refused.json.error.details.issues).toEqual([{ path: "hmac.timestampHeader", message: expect.stringContaining("a browser's credentials") }]);
    // One made before the rule (stored so), verifying nothing (the admin's choice), and one naming a public timestamp header.
    const [cookie, plain] = [`ts-${k}-cookie`, `ts-${k}-plain`];
    expect((await make(cookie, "x-ts")).status).toBe(201);
    expect((await make(plain, "x-signature-timestamp")).status).toBe(201);
    await env.DB.prepare("UPDATE sources SET hmac = json_set(hmac, '$.timestampHeader', 'cookie') WHERE id = ?").bind(cookie).run();
    for (const id of [cookie, plain]) expect((await p.api("PATCH", `/v1/sources/${id}`, { verification: "none" })).status).toBe(200);
    const queue = recordingQueue();
    const headers = { "content-type": "application/json", cookie: "__Host-edgehook_session=the-admins-session", "x-signature-timestamp": "1700000000" };
    for (const id of [cookie, plain]) expect((await call(post(`/webhooks/${id}`, JSON.stringify({ type: "t", k }), headers), { INGEST: queue })).status).toBe(202);
    expect(queue.sent.map((m) => m.headers)).toEqual([{ "content-type": "application/json" }, { "content-type": "application/json", "x-signature-timestamp": "1700000000" }]);
    // One kept before: every reader sees it redacted, a search by its value too.
    const id = `evt_${k.replaceAll("-", "")}cookie`.slice(0, 36);
    await storeEvents(env.DB, [{ eventId: id, sourceId: cookie, dedupeKey: id, eventType: "t", locationUid: null, organizationUid: null, receivedAt: Date.now(), headers: { cookie: "__Host-edgehook_session=kept-before", "x-ts": "1" }, body: "{}" }]);
    expect((await p.api("GET", `/v1/events/${id}`)).json.headers).toEqual({ cookie: REDACTED, "x-ts": "1" });
    const q = encodeURIComponent(JSON.stringify({ headers: { cookie: { $regex: "^__Host-edgehook_session=k" } } }));
    const searched = await p.api("GET", `/v1/events?q=${q}&sourceId=${cookie}`);
    expect(searched.status).toBe(200);
    expect(searched.json.data).toEqual([]);
  });
});

describe("secrets never reach the logs", () => {
  afterEach(() => vi.restoreAllMocks());

  it("logs neither tokens, webhook secrets, source secrets nor signatures, on success or failure", async () => {
    const lines: string[] = [];
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        lines.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
      });
    }
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const webhookSecret = `whsec_${btoa(`never-log-this-secret-${uniqueKey()}`)}`;
    const sourceSecret = `source-secret-${uniqueKey()}`;
    const token = (await p.api("POST", "/v1/tokens", { name: "t", scopes: ["events:read"] })).json.token as string;
    const org = `org-${uniqueKey()}`;
    await p.createWebhook({ url: "https://downstream.test/fail/logs", eventTypes: ["*"], organizationUid: org, secret: webhookSecret, maxAttempts: 1 });
    const source = (await p.api("POST", "/v1/sources", { name: "s", provider: "podium", secrets: [sourceSecret] })).json.id;

    const body = podiumBody({ organizationUid: org });
    const headers = await podiumHeaders(body, sourceSecret);
    await call(post(`/webhooks/${source}`, body, headers));
    await call(post(`/webhooks/${source}`, body, await podiumHeaders(body, "wrong-secret"))); // a refusal
    await call(post("/webhooks/podium", body, await podiumHeaders(body)), { INGEST: recordingQueue(true) });
    await p.ingest(body);
    await p.deliver(); // a failed delivery, dead-lettered
    await call(v1("/events", { headers: { authorization: `Bearer ${token}x` } }));
    await call(v1("/events", { headers: { authorization: `Bearer ${token}` } }));

    const all = lines.join("\n");
    expect(lines.length).toBeGreaterThan(0); // something was logged, and none of it is secret
    for (const secret of [webhookSecret, sourceSecret, token, ADMIN_TOKEN, "podium-current", headers["podium-signature"]]) {
      expect(all).not.toContain(secret);
    }
  });
});
