// How the CLI reads its arguments and where it connects.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { targetUrl } from "../../cli/src/commands/listen.js";
import { ingressUrl, SOURCE_ID } from "../../cli/src/commands/send.js";
import { connection } from "../../cli/src/config.js";
import { redirectOf, sameHostTarget } from "../../cli/src/redirect.js";
import { SOURCE_ID as WORKER_SOURCE_ID } from "../../src/domain/ids";

describe("listen's target", () => {
  it("is a port, a port and path, or an http(s) URL", () => {
    expect(targetUrl("3000")).toBe("http://127.0.0.1:3000/");
    expect(targetUrl("3000/webhooks/in")).toBe("http://127.0.0.1:3000/webhooks/in");
    expect(targetUrl("https://localhost:8443/hooks")).toBe("https://localhost:8443/hooks");
    expect(() => targetUrl("ftp://example.com")).toThrow(/not an http/);
    expect(() => targetUrl("nowhere")).toThrow(/neither a port nor a URL/);
    // Ports Node's fetch will not connect to: said at once, not as "bad port" on every forward.
    for (const bad of ["6000", "6666/hooks", "http://localhost:10080/"]) expect(() => targetUrl(bad), bad).toThrow(/fetch refuses to connect to .*run the local server on another port/);
    // Port 0 connects nowhere: every forward would fail and the saved position move past it.
    for (const zero of ["0", "0/hooks", "http://localhost:0/", "https://127.0.0.1:00/x"]) expect(() => targetUrl(zero), zero).toThrow(/port 0 is no port a server listens on/);
    // host:port without a scheme (a URL of scheme "localhost:" to the parser): says what to give.
    expect(() => targetUrl("localhost:3000")).toThrow('"localhost:3000" has no scheme: give http://localhost:3000 (or the port alone).');
    expect(() => targetUrl("127.0.0.1:3000/hooks")).toThrow("give http://127.0.0.1:3000/hooks");
    // A user name or password: fetch refuses such a URL, so every forward would fail; never quoted back.
    for (const withPassword of ["http://alice:s3cretpw@127.0.0.1:3000/cred", "//alice:s3cretpw@127.0.0.1:3000/", "ftp://alice:s3cretpw@host/"]) {
      const refused = (() => {
        try {
          targetUrl(withPassword);
        } catch (err) {
          return err;
        }
      })();
      expect(refused, withPassword).toMatchObject({ exitCode: 2, message: expect.stringMatching(/^the target URL holds a user name or password/) });
      expect(String(refused), withPassword).not.toContain("s3cretpw");
    }
  });
});

describe("send's ingress URL", () => {
  it("keeps npm run send's --url and --port, and builds one from an API base URL", () => {
    expect(ingressUrl({ url: "http://127.0.0.1:9000/webhooks/podium", source: "podium" })).toBe("http://127.0.0.1:9000/webhooks/podium");
    expect(ingressUrl({ port: 9001, source: "stripe" })).toBe("http://127.0.0.1:9001/webhooks/stripe");
    expect(ingressUrl({ url: "https://hooks.example.com/", source: "podium" })).toBe("https://hooks.example.com/webhooks/podium");
    expect(() => ingressUrl({ url: "notaurl", source: "podium" })).toThrow(/"notaurl" \(--url\) is not a URL/);
    expect(() => ingressUrl({ url: "ftp://127.0.0.1:8787", source: "podium" })).toThrow(/is not an http\(s\) URL/);
  });

  it("is an ingress URL when its path ends in /webhooks/<source> (under a base URL's path too), or /webhooks (the source appended)", () => {
    expect(ingressUrl({ url: "http://h.test/prefix/webhooks/podium", source: "podium" })).toBe("http://h.test/prefix/webhooks/podium");
    expect(ingressUrl({ url: "http://h.test/prefix/webhooks/mine", source: "podium" })).toBe("http://h.test/prefix/webhooks/mine");
    expect(ingressUrl({ url: "http://h.test/prefix", source: "podium" })).toBe("http://h.test/prefix/webhooks/podium");
    expect(ingressUrl({ url: "http://h.test/webhooks", source: "mine" })).toBe("http://h.test/webhooks/mine");
    expect(ingressUrl({ url: "http://h.test/p/webhooks/", source: "mine" })).toBe("http://h.test/p/webhooks/mine");
    // --source given with an ingress URL: the same source, or a usage error.
    expect(ingressUrl({ url: "http://h.test/webhooks/podium", source: "podium", sourceGiven: true })).toBe("http://h.test/webhooks/podium");
    expect(() => ingressUrl({ url: "http://h.test/webhooks/x", source: "podium", sourceGiven: true })).toThrow(expect.objectContaining({ exitCode: 2 }));
    // What the Worker would refuse (a slash after the source, no source id) or take as the API's route: usage errors.
    for (const [url, said] of [
      ["http://h.test/webhooks/podium/", /no slash after it/],
      ["http://h.test/v1/webhooks/wh_1", /leads to the API's webhooks/],
      ["http://h.test/v1/webhooks", /leads to the API's webhooks/],
      ["http://h.test/v1", /leads to the API's webhooks/],
      ["http://h.test/webhooks/Podium", /"Podium" is no source id/],
    ] as const) {
      expect(() => ingressUrl({ url, source: "podium" }), url).toThrow(expect.objectContaining({ exitCode: 2, message: expect.stringMatching(said) }));
    }
  });

  it("takes a --source of the Worker's source ids only (a copy of its rule: the CLI cannot import Worker code)", () => {
    expect(SOURCE_ID.source).toBe(WORKER_SOURCE_ID.source);
    expect(SOURCE_ID.flags).toBe(WORKER_SOURCE_ID.flags);
    for (const source of ["podium?x=1", "../v1/tokens", "a/b", ""]) expect(() => ingressUrl({ source }), source).toThrow(expect.objectContaining({ exitCode: 2 }));
  });

  it("is named by --url or --port, not both: one would be dropped unsaid (usage error)", () => {
    for (const url of ["https://hooks.example.com", "http://127.0.0.1:9000/webhooks/podium"]) {
      expect(() => ingressUrl({ url, port: 9001, source: "podium" })).toThrow(expect.objectContaining({ exitCode: 2, message: "--url and --port both name where to send: give one (--port N is http://127.0.0.1:N)." }));
    }
  });

  it("is the local stack's, or EDGEHOOK_URL's, never the URL the config file saves (a deployment's, after edgehook deploy)", () => {
    const dir = mkdtempSync(join(tmpdir(), "edgehook-send-"));
    const saved = { config: process.env.EDGEHOOK_CONFIG, url: process.env.EDGEHOOK_URL };
    try {
      process.env.EDGEHOOK_CONFIG = join(dir, "config.json");
      writeFileSync(process.env.EDGEHOOK_CONFIG, JSON.stringify({ url: "https://edgehook.example-sub.workers.dev", token: "deployed-token" }));
      delete process.env.EDGEHOOK_URL;
      expect(ingressUrl({ source: "podium" })).toBe("http://127.0.0.1:8787/webhooks/podium");
      process.env.EDGEHOOK_URL = "http://127.0.0.1:8788/";
      expect(ingressUrl({ source: "podium" })).toBe("http://127.0.0.1:8788/webhooks/podium");
      process.env.EDGEHOOK_URL = "127.0.0.1:8788";
      expect(() => ingressUrl({ source: "podium" })).toThrow('"127.0.0.1:8788" (EDGEHOOK_URL) is not a URL: give https://127.0.0.1:8788');
    } finally {
      for (const [k, v] of Object.entries({ EDGEHOOK_CONFIG: saved.config, EDGEHOOK_URL: saved.url })) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the connection", () => {
  let dir: string;
  const saved = { url: process.env.EDGEHOOK_URL, token: process.env.EDGEHOOK_TOKEN };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "edgehook-args-"));
    delete process.env.EDGEHOOK_URL;
    delete process.env.EDGEHOOK_TOKEN;
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    for (const [k, v] of Object.entries({ EDGEHOOK_URL: saved.url, EDGEHOOK_TOKEN: saved.token })) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it("comes from flags, then the environment, then the config file", () => {
    const config = join(dir, "config.json");
    writeFileSync(config, JSON.stringify({ url: "https://from-file.example", token: "file-token" }));
    expect(connection({ config })).toMatchObject({ url: "https://from-file.example", token: "file-token" });
    process.env.EDGEHOOK_URL = "https://from-env.example/";
    process.env.EDGEHOOK_TOKEN = "env-token";
    expect(connection({ config })).toMatchObject({ url: "https://from-env.example", token: "env-token" });
    expect(connection({ config, url: "https://flag.example", token: "flag-token" })).toMatchObject({ url: "https://flag.example", token: "flag-token" });
  });

  it("defaults to the local stack, and refuses what is not a URL", () => {
    expect(connection({ config: join(dir, "none.json") }).url).toBe("http://127.0.0.1:8787");
    expect(() => connection({ config: join(dir, "none.json"), url: "not a url" })).toThrow(/not a URL/);
  });

  it("says where a URL that is none came from (a flag, EDGEHOOK_URL, the config file) and the scheme it lacks", () => {
    const config = join(dir, "config.json");
    writeFileSync(config, JSON.stringify({ url: "edge.example:443" }));
    // One saved in the file is no usage error: the file is not the CLI's settings (exit 1), and its value is not quoted.
    expect(() => connection({ config })).toThrow(`${config} does not hold the CLI's settings: "url" is not an http(s) URL`);
    writeFileSync(config, "{}");
    process.env.EDGEHOOK_URL = "127.0.0.1:8734";
    expect(() => connection({ config })).toThrow('"127.0.0.1:8734" (EDGEHOOK_URL) is not a URL: give https://127.0.0.1:8734 or http://127.0.0.1:8734');
    expect(() => connection({ config, url: "localhost:8734" })).toThrow('"localhost:8734" (--url) is not an http(s) URL: give https://localhost:8734 or http://localhost:8734');
  });

  it("refuses a URL with a user name or password, which fetch would refuse, without echoing it", () => {
    const config = join(dir, "config.json");
    writeFileSync(config, "{}");
    for (const [flags, from] of [
      [{ url: "https://user:SECRETPW@edge.example" }, "--url"],
      [{}, "EDGEHOOK_URL"],
      // Nor when it is no http(s) URL, or none at all (the re-audit's).
      [{ url: "ftp://u:SECRETPW@x" }, "--url"],
      [{ url: "u:SECRETPW@127.0.0.1:8807" }, "--url"],
      [{ url: "http://u:SECRETPW@" }, "--url"],
      [{ url: "ws://u:SECRETPW@127.0.0.1:8807" }, "--url"],
      // Scheme-relative, or with a space before it: none is a URL, and each may hold a password.
      [{ url: "//u:SECRETPW@127.0.0.1:8807" }, "--url"],
      [{ url: "a b:SECRETPW@x" }, "--url"],
    ] as const) {
      process.env.EDGEHOOK_URL = "https://:SECRETPW@edge.example";
      let said = "";
      try {
        connection({ config, ...flags });
      } catch (e) {
        said = String(e);
        expect(e).toMatchObject({ exitCode: 2 });
      }
      expect(said).toContain(`the URL (${from}) holds a user name or password, which is never sent: give the API's base URL alone, and its token with --token or EDGEHOOK_TOKEN.`);
      expect(said).not.toContain("SECRETPW");
    }
  });
});

describe("a redirect", () => {
  it("is a 3xx with a Location: a 304 or a 300 without one is none", () => {
    expect(redirectOf(304, null, "http://h.test/v1/events")).toBeUndefined();
    expect(redirectOf(300, "", "http://h.test/v1/events")).toBeUndefined();
    expect(redirectOf(200, "/x", "http://h.test/v1/events")).toBeUndefined();
    expect(redirectOf(308, "/x?key=s", "http://h.test/v1/events")).toMatchObject({ status: 308, to: "http://h.test/x?…" });
  });

  it("points somewhere to suggest only on the same host, at another path than the one asked", () => {
    const asked = "http://h.test/v1/events?limit=20";
    const target = (location: string) => sameHostTarget(redirectOf(302, location, asked)!, asked)?.href;
    expect(target("https://h.test/v1/events")).toBe("https://h.test/v1/events");
    expect(target("/new/v1/events")).toBe("http://h.test/new/v1/events");
    expect(target("/v1/events?sig=1")).toBeUndefined();
    expect(target("http://h.test/v1/events")).toBeUndefined();
    expect(target("http://h.test:8080/new/v1/events")).toBeUndefined();
    expect(target("https://elsewhere.test/v1/events")).toBeUndefined();
  });
});
