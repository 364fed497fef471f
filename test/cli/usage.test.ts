// What the CLI answers to input it cannot use: a usage error exits 2 with one line, never a
// stack trace, and nothing is sent.
import { copyFileSync, existsSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { accepted, apiEvent, apiWebhook, cleanUp, cliHome, fakeApi, Status } from "./fake-api";

afterEach(cleanUp);

/** A Node stack trace's frame lines. */
const STACK = /^\s+at /m;

describe("usage errors", () => {
  it("exit 2 for what commander refuses (unknown option or command, missing argument, conflicting flags); help and version exit 0", async () => {
    const h = cliHome();
    for (const args of [["webhooks", "list", "--bogus"], ["webhooks", "get"], ["frobnicate"], ["webhooks", "update", "wh_1", "--enable", "--disable"]]) {
      const r = await h.edgehook(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).not.toMatch(STACK);
    }
    expect((await h.edgehook(["--help"])).code).toBe(0);
    expect((await h.edgehook(["--version"])).code).toBe(0);
  });

  it("an unknown --option=value is named without its value (a mistyped --token's is a secret), with the closest option suggested", async () => {
    const h = cliHome();
    for (const [args, suggested] of [
      [["events", "list", "--tokn=ehk_SECRETVALUE123"], "--token"],
      [["webhooks", "update", "wh_1", "--secrte=whsec_SECRETVALUE123"], "--secret"],
      [["--tokn=ehk_SECRETVALUE123", "events", "list"], null],
    ] as const) {
      const r = await h.edgehook([...args]);
      const said = args.join(" ");
      expect(r.code, said).toBe(2);
      expect(r.stderr, said).not.toContain("SECRETVALUE");
      expect(r.stderr.split("\n")[0], said).toBe(`error: unknown option '${args.find((a) => a.includes("="))?.split("=")[0]}'`);
      if (suggested) expect(r.stderr, said).toContain(`(Did you mean ${suggested}?)`);
    }
  });

  it("a single-value option given more than once is a usage error (exit 2) naming it and how many times, never the last one kept; nothing is sent", async () => {
    const a = await fakeApi({ routes: {} });
    const h = cliHome();
    for (const [args, said] of [
      [["tokens", "create", "--name", "rep", "--scopes", "events:read", "--scopes", "read_messages"], "option '--scopes <scopes>' is given 2 times; give it once (comma-separated for several)"],
      [["webhooks", "create", "--endpoint", "https://r.test/h", "--types", "message.sent", "--types=contact.created"], "option '--types <types>' is given 2 times; give it once (comma-separated for several)"],
      [["events", "list", "--type", "message.sent", "--type", "message.received", "--type=contact.created"], "option '--type <type>' is given 3 times; give it once"],
      [["webhooks", "update", "wh_1", "--filter", "{}", "--filter", '{"a":1}'], "option '--filter <json|@file>' is given 2 times; give it once"],
      [["events", "list", "--url", a.url], "option '--url <url>' is given 2 times; give it once"],
    ] as const) {
      const r = await h.edgehook([...args, "--url", a.url, "--token", "t"]);
      const given = args.join(" ");
      expect(r.code, given).toBe(2);
      expect(r.stderr.trimEnd().split("\n"), given).toEqual([`error: ${said}`, "(add --help for usage)"]);
    }
    expect(a.seen).toEqual([]);
  });

  it("a variadic option (sources' --secret) may be given more than once, and an option with a default (send --type) once", async () => {
    const source = { id: "s", name: "s", provider: "podium", disabled: false, ingressUrl: "https://e.test/webhooks/s" };
    const a = await fakeApi({ routes: { "POST /v1/sources": new Status(201, source), "POST /webhooks/podium": accepted() } });
    const h = cliHome();
    const created = await h.edgehook(["sources", "create", "--name", "s", "--provider", "podium", "--secret", "whsec_a", "--secret", "whsec_b", "--url", a.url, "--token", "t"]);
    expect(created.code, created.stderr).toBe(0);
    const sent = await h.edgehook(["send", "--type", "message.sent", "--url", a.url, "--secret", "s"]);
    expect(sent.code, sent.stderr).toBe(0);
    expect(a.seen.map((s) => s.body)).toEqual([expect.objectContaining({ secrets: ["whsec_a", "whsec_b"] }), expect.objectContaining({ metadata: expect.objectContaining({ eventType: "message.sent" }) })]);
  });

  it("the CLI's own usage errors are said as commander's are: `error: …`, then the usage hint, one form for every exit 2", async () => {
    const a = await fakeApi({ routes: {} });
    const h = cliHome();
    const conn = ["--url", a.url, "--token", "t"];
    for (const [args, said] of [
      [["webhooks", "create", "--endpoint", "https://d.example/h", "--types", ",", ...conn], "--types names no event type; give at least one (comma-separated)."],
      [["webhooks", "update", "wh_1", "--filter", "[1]", ...conn], "option '--filter <json|@file>' is invalid: not a JSON object."],
      [["webhooks", "update", "wh_1", ...conn], "Nothing to change: give at least one option."],
      [["send", "--secret", "s", "--port", "99999"], `option '--port <port>' argument '99999' is invalid. "99999" is out of range (too large): give 1..65535.`],
      [["deliveries", "retry", ...conn], "Give a delivery id, or --status for a bulk retry."],
    ] as const) {
      const r = await h.edgehook([...args]);
      expect(r.code, said).toBe(2);
      expect(r.stderr, said).toBe(`error: ${said}\n(add --help for usage)\n`);
    }
    expect(a.seen).toEqual([]);
  });

  it("a replay or retry given neither an id nor a range is a missing argument: exit 2, with the usage hint commander adds", async () => {
    const a = await fakeApi({ routes: {} });
    const h = cliHome();
    for (const args of [["events", "replay"], ["events", "replay", "--since", "2026-01-01T00:00:00Z"], ["deliveries", "retry"]]) {
      const r = await h.edgehook([...args, "--url", a.url, "--token", "t"]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr.trimEnd().split("\n"), args.join(" ")).toEqual([expect.stringMatching(/^error: Give an? (event|delivery) id, or --/), "(add --help for usage)"]);
    }
    expect(a.seen).toEqual([]);
  });

  it("listen --replay with --from-now (two places to start) is a usage error (exit 2) before connecting, not one of them ignored", async () => {
    const a = await fakeApi({ routes: {} });
    const r = await cliHome().edgehook(["listen", "3000", "--replay", "5", "--from-now", "--url", a.url, "--token", "t"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: option '--replay <n>' cannot be used with option '--from-now'");
    expect(a.seen).toEqual([]);
  });

  it("listen to a URL with a password is a usage error (exit 2) that does not print it; plain http to another host is said, not refused, whatever --insecure", async () => {
    const a = await fakeApi({ refuseListen: { status: 401, body: { error: { code: "unauthorized", message: "Bad token." } } } });
    const h = cliHome();
    const withPassword = await h.edgehook(["listen", "http://alice:s3cretpw@127.0.0.1:3000/cred", "--url", a.url, "--token", "t"]);
    expect(withPassword.code).toBe(2);
    expect(withPassword.stderr).toContain("error: the target URL holds a user name or password");
    expect(withPassword.stderr).not.toContain("s3cretpw");
    expect(a.seen).toEqual([]);
    const warning = /^warning: events go to 10\.1\.2\.3:3000 over plain http: .*unencrypted \(give its https:\/\/ URL where you can\)\.$/m;
    // --insecure does not silence it: that flag would also let the API token go in cleartext.
    for (const loud of [[], ["--insecure"]]) {
      const remote = await h.edgehook(["listen", "http://10.1.2.3:3000/", ...loud, "--url", a.url, "--token", "t"]);
      expect(remote.code).toBe(1); // the fake API's 401: the warning came first
      expect(remote.stderr).toMatch(warning);
    }
    for (const quiet of [["https://10.1.2.3:3000/"], ["3000"], ["http://localhost:3000/"], ["http://[::ffff:127.0.0.1]:3000/"]]) {
      const r = await h.edgehook(["listen", ...quiet, "--url", a.url, "--token", "t"]);
      expect(r.code, quiet.join(" ")).toBe(1);
      expect(r.stderr, quiet.join(" ")).toContain("401");
      expect(r.stderr, quiet.join(" ")).not.toContain("warning");
    }
  });

  it("listen --replay past the API's 100 is a usage error (exit 2) before connecting, not the API's 400", async () => {
    const a = await fakeApi({ routes: {} });
    const r = await cliHome().edgehook(["listen", "3000", "--replay", "101", "--url", a.url, "--token", "t"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`option '--replay <n>' argument '101' is invalid. "101" is out of range (too large): give 0..100.`);
    expect(a.seen).toEqual([]);
  });

  it("a numeric option out of its range, at either end, is a usage error (exit 2) saying the range (the API's, from its OpenAPI document) and what was given, never sent for the API's 400", async () => {
    const a = await fakeApi({ routes: {} });
    const h = cliHome();
    const conn = ["--url", a.url, "--token", "t"];
    const webhook = ["webhooks", "create", "--endpoint", "https://d.example/h", "--types", "message.*"];
    const cases = [
      [["events", "list", "--limit"], "0", "too small", "1..100"],
      [["events", "list", "--limit"], "101", "too large", "1..100"],
      [["webhooks", "list", "--limit"], "101", "too large", "1..100"],
      [["deliveries", "list", "--limit"], "0", "too small", "1..100"],
      [["dead-letters", "list", "--limit"], "101", "too large", "1..100"],
      [["alerts", "list", "--limit"], "101", "too large", "1..100"],
      [["sources", "rejections", "podium", "--limit"], "201", "too large", "1..200"],
      [[...webhook, "--auto-disable-after-minutes"], "0", "too small", "1..43200, or never to not disable it automatically"],
      [[...webhook, "--auto-disable-after-minutes"], "43201", "too large", "1..43200, or never to not disable it automatically"],
      [["webhooks", "update", "wh_1", "--rate-limit"], "0", "too small", "1..1000, or none for no limit"],
      [["webhooks", "update", "wh_1", "--rate-limit"], "1001", "too large", "1..1000, or none for no limit"],
      [[...webhook, "--failing-after-attempts"], "0", "too small", "1..1000"],
      [["webhooks", "update", "wh_1", "--failing-after-attempts"], "1001", "too large", "1..1000"],
      [[...webhook, "--timeout-ms"], "99", "too small", "100..30000"],
      [["webhooks", "update", "wh_1", "--max-attempts"], "51", "too large", "1..50"],
      [[...webhook, "--max-concurrency"], "101", "too large", "1..100"],
      [["webhooks", "update", "wh_1", "--previous-secret-valid-seconds"], "604801", "too large", "0..604800"],
      [["sources", "create", "--name", "n", "--provider", "stripe", "--tolerance"], "86401", "too large", "0..86400"],
      [["sources", "update", "stripe", "--tolerance"], "86401", "too large", "0..86400"],
      [["dead-letters", "delete"], "0", "too small", "1 or more"],
      [["send", "--secret", "s", "--count"], "0", "too small", "1 or more"],
      [["send", "--secret", "s", "--count"], "99999999999999999999", "too large", "1..9007199254740991"],
      [["dead-letters", "delete"], "9007199254740992", "too large", "1..9007199254740991"],
    ] as const;
    for (const [args, given, which, range] of cases) {
      // The value is the last option's (dead-letters delete's id, its argument); send takes no token.
      const r = await h.edgehook([...args, given, ...(args[0] === "send" ? ["--url", a.url] : conn)]);
      const said = [...args, given].join(" ");
      expect(r.code, said).toBe(2);
      expect(r.stderr, said).toContain(`"${given}" is out of range (${which}): give ${range}.`);
      expect(r.stderr, said).not.toMatch(STACK);
    }
    expect(a.seen).toEqual([]);
  });

  it("send with no secret outside the project says which folder's .dev.vars it reads, by its absolute path: exit 2, before sending", async () => {
    const h = cliHome();
    const dir = realpathSync(h.dir);
    const r = await h.edgehook(["send", "--port", "9"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `No secret: pass --secret, or run it in the Edgehook project folder. It looked for PODIUM_WEBHOOK_SECRET in ${join(dir, ".dev.vars")} (else ${join(dir, ".dev.vars.example")}), of the folder it ran in, and found none.`,
    );
    // A .dev.vars without it is no better, and said the same way.
    writeFileSync(join(h.dir, ".dev.vars"), "ADMIN_TOKEN=x\n");
    expect((await h.edgehook(["send", "--port", "9"])).stderr).toContain(`It looked for PODIUM_WEBHOOK_SECRET in ${join(dir, ".dev.vars")} (else`);
    // An empty --secret is said to be one: the folder's settings were not read.
    const empty = await h.edgehook(["send", "--port", "9", "--secret", ""]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain("--secret: empty; give the source's signing secret.");
  });

  it("--help says the config file used by default ($XDG_CONFIG_HOME's when set) and that --url falls back on the URL saved there", async () => {
    const h = cliHome();
    const xdg = join(h.dir, "xdg");
    for (const args of [["events", "list", "--help"], ["config", "--help"]]) {
      const r = await h.edgehook(args, { XDG_CONFIG_HOME: xdg });
      expect(r.stdout.replace(/\s+/g, " "), args[0]).toContain(`default ${join(xdg, "edgehook", "config.json")})`);
    }
    const url = await h.edgehook(["events", "list", "--help"]);
    expect(url.stdout.replace(/\s+/g, " ")).toContain("--url <url> the API's base URL (env EDGEHOOK_URL; else the one saved in the config file; default http://127.0.0.1:8787)");
  });

  it("EDGEHOOK_URL set to nothing is read as unset, as EDGEHOOK_CONFIG and EDGEHOOK_TIMEOUT are: the saved URL is used", async () => {
    const a = await fakeApi({ routes: { "GET /v1/events": { data: [], nextCursor: null } } });
    const h = cliHome();
    expect((await h.edgehook(["config", "--url", a.url, "--token", "saved-token"])).code).toBe(0);
    const r = await h.edgehook(["events", "list"], { EDGEHOOK_URL: "" });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(a.seen.map((s) => s.authorization)).toEqual(["Bearer saved-token"]);
    const shown = await h.edgehook(["config"], { EDGEHOOK_URL: "" });
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).not.toContain("EDGEHOOK_URL");
  });

  it("tail's --help says --json prints its attempts too, not only events", async () => {
    const r = await cliHome().edgehook(["tail", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout.replace(/\s+/g, " ")).toContain("--json one JSON line per event or attempt");
  });

  it("a token or listen secret no HTTP header can carry is refused in one line, before anything is sent", async () => {
    const a = await fakeApi({ routes: { "GET /v1/events": { data: [], nextCursor: null } }, listen: (ws) => ws.close(4401, "no") });
    const h = cliHome();
    for (const args of [
      ["events", "list", "--url", a.url, "--token", "Ωmega-token"],
      ["tail", "--url", a.url, "--token", "bad\ntoken"],
      ["listen", "3000", "--url", a.url, "--token", "good-token", "--secret", "sécretvalue123"],
      ["listen", "3000", "--url", a.url, "--token", "good-token", "--secret", "abc\u0001defghij"],
    ]) {
      const r = await h.edgehook(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).toMatch(/printable ASCII/);
      expect(r.stderr, args.join(" ")).not.toMatch(STACK);
    }
    expect(a.seen).toEqual([]);
    // A space inside is printable ASCII, which a header carries: such a token is sent as it is.
    expect((await h.edgehook(["events", "list", "--url", a.url, "--token", "token with spaces inside"])).code).toBe(0);
    expect(a.seen.map((s) => s.authorization)).toEqual(["Bearer token with spaces inside"]);
  });

  it("config refuses to save a token no HTTP header can carry (or none), which every command after would refuse", async () => {
    const h = cliHome();
    for (const token of ["Ωmega-token", "pasted-token\n", " token", ""]) {
      const r = await h.edgehook(["config", "--url", "http://127.0.0.1:8931", "--token", token]);
      expect(r.code, JSON.stringify(token)).toBe(2);
      expect(r.stderr, JSON.stringify(token)).toMatch(/^error: The API token (given with --token is empty|holds a character no HTTP header can carry)/);
      expect(r.stderr, JSON.stringify(token)).not.toMatch(STACK);
    }
    expect(existsSync(h.config)).toBe(false);
  });

  it("a config file that cannot be written (a file where its folder should be) is said in one line, by config and by listen", async () => {
    const h = cliHome();
    const blocked = join(h.dir, "not-a-folder");
    writeFileSync(blocked, "");
    const config = join(blocked, "config.json");
    const saved = await h.edgehook(["config", "--config", config, "--url", "http://127.0.0.1:8931", "--token", "a-token"]);
    expect(saved.code).toBe(1);
    expect(saved.stderr).toMatch(/^error Cannot write .*config\.json \(\w+\): give a config file in a folder you can write/);
    expect(saved.stderr).not.toMatch(STACK);
    // Under /proc mkdir answers ENOENT for a folder whose parent exists, where Node's recursive mkdir never returned.
    const underProc = await h.edgehook(["config", "--config", "/proc/edgehook-none/x/config.json", "--url", "http://127.0.0.1:8931", "--token", "a-token"]);
    expect(underProc.code).toBe(1);
    expect(underProc.stderr).toMatch(/^error Cannot write \/proc\/edgehook-none\/x\/config\.json \(ENOENT\)/);
    // listen keeps its position (and its claim on it, listen-locks/) beside the config file: it stops before forwarding anything.
    const a = await fakeApi({ listen: (ws) => ws.send(JSON.stringify({ type: "hello", listenerId: "l", mode: "listen", position: 3, secret: "whsec_x", webhookUid: null })) });
    const listened = await h.edgehook(["listen", "3000", "--url", a.url, "--token", "a-token"], { EDGEHOOK_CONFIG: config });
    expect(listened.code).toBe(1);
    expect(listened.stderr).toMatch(/^error Cannot write .*listen-(state|locks)/m);
    expect(listened.stderr).not.toMatch(STACK);
  });

  it("send: --count 0 is refused rather than sending nothing, and --json escapes what a terminal would act on", async () => {
    const h = cliHome();
    const none = await h.edgehook(["send", "--count", "0", "--secret", "s", "--port", "9"]);
    expect(none.code).toBe(2);
    const a = await fakeApi({ routes: { "POST /webhooks/podium": accepted("evt_\u202eevil") } });
    const sent = await h.edgehook(["send", "--url", `${a.url}/webhooks/podium`, "--secret", "s", "--json"]);
    expect(sent.code).toBe(0);
    expect(sent.stdout).toContain("evt_\\u202eevil");
    expect(sent.stdout).not.toContain("\u202e");
    // The human line too: the type as given is escaped, not written to the terminal.
    const typed = await h.edgehook(["send", "--url", `${a.url}/webhooks/podium`, "--secret", "s", "--type", "message.sent\u200b\u001b[31m"]);
    expect(typed.stdout).toContain("POST ");
    expect(typed.stdout).not.toMatch(/[\u200b\u001b\u202e]/);
  });

  it("webhooks update: a --types or --sources that names nothing is refused as such, not as 'nothing to change'", async () => {
    const a = await fakeApi({ routes: { "PATCH /v1/webhooks/wh_1": {} } });
    const h = cliHome();
    for (const [flag, what] of [["--types", "event type"], ["--sources", "source"]] as const) {
      const r = await h.edgehook(["webhooks", "update", "wh_1", flag, ",", "--url", a.url, "--token", "t"]);
      expect(r.code, flag).toBe(2);
      expect(r.stderr, flag).toContain(`${flag} names no ${what}`);
    }
    expect(a.seen).toEqual([]);
  });

  it("a limit or subscription given empty (an unset shell variable) is refused, never sent as no limit: tokens create, webhooks create", async () => {
    const a = await fakeApi({ routes: { "POST /v1/tokens": {}, "POST /v1/webhooks": {} } });
    const h = cliHome();
    const conn = ["--url", a.url, "--token", "t"];
    for (const [flag, what] of [["--organizations", "organization"], ["--locations", "location"]] as const) {
      for (const given of ["", ",", " "]) {
        const r = await h.edgehook(["tokens", "create", "--name", "n", "--scopes", "events:read", flag, given, ...conn]);
        expect(r.code, `${flag} "${given}"`).toBe(2);
        expect(r.stderr).toContain(`${flag} names no ${what}`);
      }
    }
    for (const [flag, what] of [["--sources", "source"], ["--types", "event type"]] as const) {
      const args = { "--types": "message.received", "--sources": "podium", [flag]: "" };
      const r = await h.edgehook(["webhooks", "create", "--endpoint", "https://example.com/h", "--organization", "o", ...Object.entries(args).flat(), ...conn]);
      expect(r.code, flag).toBe(2);
      expect(r.stderr).toContain(`${flag} names no ${what}`);
    }
    expect(a.seen).toEqual([]);
  });

  it("send: a refused signature says what to do: another provider's source, or a source with a secret of its own", async () => {
    const refusal = (code: string) => new Status(401, { error: { code, message: "…" } });
    const a = await fakeApi({ routes: { "POST /webhooks/standard-webhooks": refusal("missing_signature"), "POST /webhooks/mine": refusal("invalid_signature") } });
    const h = cliHome();
    const other = await h.edgehook(["send", "--url", a.url, "--secret", "s", "--source", "standard-webhooks"]);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('`edgehook send` signs as Podium does (podium-timestamp, podium-signature); the source "standard-webhooks" checks another provider\'s signature');
    const secret = await h.edgehook(["send", "--url", `${a.url}/webhooks/mine`, "--secret", "s", "--json"]);
    expect(secret.code).toBe(1);
    expect(JSON.parse(secret.stdout).status).toBe(401); // --json's stdout stays JSON lines
    expect(secret.stderr).toContain('Signed with the secret given with --secret, not a secret of the source "mine": pass one of its secrets with --secret.');
    expect(secret.stderr).not.toContain("restart"); // a secret given is not the folder's settings
    // Once a run, however many are refused, and for the 429 that follows 20 refusals a minute (its details say what it refused).
    const limited = await fakeApi({ routes: { "POST /webhooks/mine": new Status(429, { error: { code: "rate_limited", message: "…", details: { reason: "invalid_signature" } } }) } });
    for (const api of [a, limited]) {
      const again = await h.edgehook(["send", "--url", `${api.url}/webhooks/mine`, "--secret", "s", "--count", "3"]);
      expect(again.stderr.split("Signed with the secret given with --secret").length - 1).toBe(1);
    }
    // Read from the folder's settings: the file it came from, by its absolute path.
    writeFileSync(join(h.dir, ".dev.vars.example"), "PODIUM_WEBHOOK_SECRET=example-secret\n");
    const local = await h.edgehook(["send", "--url", `${a.url}/webhooks/mine`]);
    expect(local.stderr).toContain(`Signed with the first PODIUM_WEBHOOK_SECRET of ${join(realpathSync(h.dir), ".dev.vars.example")}, not a secret of the source "mine"`);
    // A secret rotated in .dev.vars while `npm run dev` runs is refused until it restarts: said so, at this machine.
    expect(local.stderr).toContain("If you changed that file since `npm run dev` started, restart it: wrangler reads .dev.vars only when it starts.");
  });

  it("send: a --port outside 1..65535 is a usage error naming the flag, not an unreachable 'Invalid URL'", async () => {
    const h = cliHome();
    for (const [port, why] of [["0", "out of range (too small): give 1..65535"], ["99999", "out of range (too large): give 1..65535"], ["abc", "not a whole number: give 1..65535"]]) {
      const r = await h.edgehook(["send", "--secret", "s", "--port", port!]);
      expect(r.code, port).toBe(2);
      expect(r.stderr, port).toContain(`option '--port <port>' argument '${port}' is invalid. "${port}" is ${why}.`);
    }
  });

  it("send: a --location or --organization the type's body does not name (a review names only its location, a contact its organization) is refused, not dropped", async () => {
    const a = await fakeApi({ routes: { "POST /webhooks/podium": accepted() } });
    const h = cliHome();
    for (const [type, flag] of [["review.created", "--organization"], ["contact.created", "--location"]]) {
      const refused = await h.edgehook(["send", "--url", a.url, "--secret", "s", "--type", type!, flag!, "x-1"]);
      expect(refused.code, type).toBe(2);
      expect(refused.stderr, type).toContain(flag);
      expect(refused.stderr, type).not.toMatch(STACK);
    }
    expect(a.seen).toEqual([]);
    // Without it, or for a type whose body names its organization, it is sent.
    expect((await h.edgehook(["send", "--url", a.url, "--secret", "s", "--type", "review.created", "--location", "loc-r"])).code).toBe(0);
    expect((await h.edgehook(["send", "--url", a.url, "--secret", "s", "--type", "invoice.paid", "--organization", "org-r"])).code).toBe(0);
    expect(a.seen).toHaveLength(2);
  });

  it("options that would be ignored are refused: an empty update, bulk filters beside an id, a secret beside --webhook", async () => {
    const a = await fakeApi({ listen: (ws) => ws.close(4401, "no") });
    const h = cliHome();
    for (const args of [
      ["webhooks", "update", "wh_1"],
      ["sources", "update", "src-1"],
      ["deliveries", "retry", "dlv_1", "--status", "failed"],
      ["listen", "3000", "--webhook", "wh_1", "--secret", "whsec_abc"],
    ]) {
      const r = await h.edgehook([...args, "--url", a.url, "--token", "t"]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).not.toMatch(STACK);
    }
    expect(a.seen).toEqual([]);
  });

  it("config mends a saved URL that is not one, and says where a bad one comes from", async () => {
    const h = cliHome();
    writeFileSync(h.config, JSON.stringify({ url: "garbage", token: "saved-token" }));
    // A file not of the CLI's settings (exit 1), said by its member: the value may be a token pasted there.
    const shown = await h.edgehook(["config"]);
    expect(shown.code).toBe(1);
    expect(shown.stderr).toBe(`error ${h.config} does not hold the CLI's settings: "url" is not an http(s) URL (\`edgehook config --url …\` saves the right one); fix or delete it.\n`);
    expect((await h.edgehook(["config", "--token", "t"])).code).toBe(1);
    const mended = await h.edgehook(["config", "--url", "http://127.0.0.1:8931"]);
    expect(mended.code).toBe(0);
    expect(mended.stdout).toContain("url:   http://127.0.0.1:8931");
  });

  it("a URL that answers but is not the API is said to be so, not unreachable", async () => {
    const server = createServer((_req, res) => res.end("ok"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const { port } = server.address() as AddressInfo;
      const r = await cliHome().edgehook(["events", "list", "--url", `http://127.0.0.1:${port}`, "--token", "t"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("The URL answered 200, but not as the Edgehook API does");
    } finally {
      server.close();
    }
  });

  it("an error status without the API's JSON error (a web page's 404, a proxy's 502) is said to be no answer of the API's, not `HTTP 404`", async () => {
    const server = createServer((req, res) => res.writeHead(req.url?.startsWith("/v1/events") ? 404 : 502, { "content-type": "text/html" }).end("<html>Not here</html>"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const { port } = server.address() as AddressInfo;
      const h = cliHome();
      for (const [args, status] of [
        [["events", "list"], 404],
        [["webhooks", "list"], 502],
      ] as const) {
        const r = await h.edgehook([...args, "--url", `http://127.0.0.1:${port}`, "--token", "t"]);
        expect(r.code, args[0]).toBe(1);
        expect(r.stderr, args[0]).toContain(`The URL answered ${status}, but not as the Edgehook API does`);
        expect(r.stderr.trimEnd().split("\n"), args[0]).toHaveLength(1);
      }
    } finally {
      server.close();
    }
  });

  it("listen and tail at a URL that answers but is not the API say so, not the bare status", async () => {
    // A web server on the port: its page (a 200, a 404 of its own) is no refusal of the API's.
    const server = createServer((req, res) => res.writeHead(req.headers.authorization === "Bearer t404" ? 404 : 200).end("<html>hello</html>"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const { port } = server.address() as AddressInfo;
      const h = cliHome();
      for (const [args, status] of [
        [["listen", "3000", "--token", "t"], 200],
        [["tail", "--token", "t404"], 404],
      ] as const) {
        const r = await h.edgehook([...args, "--url", `http://127.0.0.1:${port}`]);
        expect(r.code, args[0]).toBe(1);
        expect(r.stderr, args[0]).toContain(`The URL answered ${status}, but not as the Edgehook API does`);
        expect(r.stderr.trimEnd().split("\n"), args[0]).toHaveLength(1);
      }
    } finally {
      server.close();
    }
  });

  it("listen and tail whose first connection a proxy answers 502 (not the API's JSON) exit 1 saying so, as the API commands do; once the stream was up, it is retried but not called the API's", { timeout: 30_000 }, async () => {
    const page = { status: 502, body: "<html>502 Bad Gateway</html>" };
    const h = cliHome();
    const proxy = await fakeApi({ refuseListen: page });
    for (const args of [["tail"], ["listen", "3000"]]) {
      const t = h.start([...args, "--url", proxy.url, "--token", "t"]);
      // Main retried for ever: either outcome ends the wait, and the run is read once it is over.
      await vi.waitFor(() => expect(t.child.exitCode !== null || t.stderr().includes("reconnecting")).toBe(true), { timeout: 10_000 });
      t.child.kill("SIGINT");
      const r = await t.exited;
      expect(r.stderr, args[0]).toBe("error The URL answered 502, but not as the Edgehook API does (not its JSON): is it the Worker's base URL?\n");
      expect(r.code, args[0]).toBe(1);
    }
    // Up once, then the proxy's page (the API behind it restarting): retried, in its own words.
    const restarting = await fakeApi({
      refuseListen: (n) => (n === 1 ? undefined : page),
      listen: (ws) => {
        ws.send(JSON.stringify({ type: "hello", listenerId: "l", mode: "tail", position: 3, secret: null, webhookUid: null }));
        setTimeout(() => ws.close(1011), 50);
      },
    });
    const t = h.start(["tail", "--url", restarting.url, "--token", "t"]);
    await vi.waitFor(() => expect(t.stderr()).toContain("the URL answered 502, not as the Edgehook API does; reconnecting in 2 s"), { timeout: 10_000 });
    t.child.kill("SIGINT");
    const r = await t.exited;
    expect(r.stderr).not.toContain("the API answered");
    expect(r.code).toBe(0);
  });

  it("a listener told its token was revoked ends on the notice, as on the close (4401) it announces, without waiting for that close", { timeout: 30_000 }, async () => {
    // The close never comes here (under the local runtime it came ~10 s after the notice).
    const a = await fakeApi({
      listen: (ws, q) => {
        ws.send(JSON.stringify({ type: "hello", listenerId: "l", mode: q.get("mode"), position: 3, secret: null, webhookUid: null }));
        ws.send(JSON.stringify({ type: "notice", code: "token_revoked", message: "The token this listener connected with was revoked or changed." }));
      },
    });
    const h = cliHome();
    for (const args of [["tail"], ["listen", "3000"]]) {
      const t = h.start([...args, "--url", a.url, "--token", "t"]);
      await vi.waitFor(() => expect(t.child.exitCode).not.toBeNull(), { timeout: 5_000 });
      const r = await t.exited;
      expect(r.code, args[0]).toBe(1);
      expect(r.stderr, args[0]).toContain("The token this listener connected with was revoked or changed.\n");
      expect(r.stderr.trimEnd().split("\n").at(-1), args[0]).toBe(
        "error The API closed the listener: its token was revoked or changed (4401): the token given with --token is not one this API takes: pass the API's ADMIN_TOKEN or a scoped token it made (not revoked).",
      );
    }
  });

  it("a listener the API closes for good says why, as the API closes it: by code alone", async () => {
    const h = cliHome();
    for (const [code, why] of [
      [4401, "its token was revoked or changed (4401): the token given with --token is not one this API takes: pass the API's ADMIN_TOKEN or a scoped token it made (not revoked)"],
      [4404, "its webhook was deleted (4404)"],
      [1008, "it sent a message the API does not take (1008)"],
    ] as const) {
      const a = await fakeApi({ listen: (ws) => ws.close(code) });
      const r = await h.edgehook(["tail", "--url", a.url, "--token", "t"]);
      expect(r.code, String(code)).toBe(1);
      expect(r.stderr, String(code)).toContain(`error The API closed the listener: ${why}.`);
    }
  });

  it("a URL that answers 2xx with no JSON object (empty, null, a list) is said not to be the API, in one line, not a stack trace", async () => {
    const answers: Record<string, [number, string]> = { "/empty": [200, ""], "/null": [200, "null"], "/list": [200, "[]"], "/accepted": [202, ""] };
    const server = createServer((req, res) => {
      const [status, body] = answers[(req.url ?? "").replace(/\/v1\/.*/, "")] ?? [404, ""];
      res.writeHead(status, { "content-type": "application/json" }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const { port } = server.address() as AddressInfo;
      const h = cliHome();
      for (const [path, args] of [
        ["/empty", ["events", "list"]],
        ["/null", ["stats"]],
        ["/list", ["webhooks", "get", "wh_1"]],
        ["/accepted", ["events", "replay", "evt_1"]],
      ] as const) {
        const r = await h.edgehook([...args, "--url", `http://127.0.0.1:${port}${path}`, "--token", "t"]);
        expect(r.stderr, path).toContain(`The URL answered ${path === "/accepted" ? 202 : 200}, but not as the Edgehook API does`);
        expect(r.stderr, path).not.toMatch(STACK);
        expect(r.code, path).toBe(1);
      }
    } finally {
      server.close();
    }
  });

  it("a URL that answers JSON other than the API's (`{\"status\":\"ok\"}`) is said not to be the API, by what its answer lacks, in one line; nothing printed as the API's", async () => {
    // What a health check or another program on the port answers, to every method and path.
    const server = createServer((req, res) => {
      const wrongType = req.url?.startsWith("/typed/");
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(wrongType ? { data: "rows", nextCursor: null } : { status: "ok" }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const { port } = server.address() as AddressInfo;
      const h = cliHome();
      for (const [args, lacks] of [
        [["events", "list"], 'its JSON has no "data"'],
        [["stats"], 'its JSON has no "events"'],
        [["events", "show", "x"], 'its JSON has no "id"'],
        [["events", "show", "x", "--json"], 'its JSON has no "id"'],
        [["webhooks", "get", "x"], 'its JSON has no "uid"'],
        [["webhooks", "update", "x", "--disable"], 'its JSON has no "uid"'],
        [["sources", "list"], 'its JSON has no "data"'],
        // A status the API does not answer there (a 200 to a create, a retry or a delete) is none of its answers either.
        [["deliveries", "retry", "--status", "failed"], "the API answers 202 there"],
        [["tokens", "create", "--name", "n", "--scopes", "events:read"], "the API answers 201 there"],
        [["webhooks", "delete", "x"], "the API answers 204 there"],
      ] as const) {
        const r = await h.edgehook([...args, "--url", `http://127.0.0.1:${port}`, "--token", "t"]);
        const said = `${args.join(" ")}: ${r.stderr}`;
        expect(r.code, said).toBe(1);
        expect(r.stderr, said).toBe(`error The URL answered 200, but not as the Edgehook API does (${lacks}): is it the Worker's base URL?\n`);
        expect(r.stdout, said).toBe("");
      }
      // A member of the API's answer, of another type than the API's.
      const r = await h.edgehook(["events", "list", "--url", `http://127.0.0.1:${port}/typed`, "--token", "t"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('(its "data" is not of type array)');
    } finally {
      server.close();
    }
  });

  it("an answer lacking some of the API's members (a deployment older than this CLI) is read as far as it goes", async () => {
    const { previousSecretExpiresAt: _, ...older } = apiWebhook;
    const a = await fakeApi({ routes: { "GET /v1/webhooks/wh_1": older } });
    const r = await cliHome().edgehook(["webhooks", "get", "wh_1", "--url", a.url, "--token", "t", "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ uid: apiWebhook.uid, url: apiWebhook.url });
  });

  it("an error the CLI did not foresee (an answer wrong below its top level) is one line and exit 1, never a stack trace", async () => {
    const a = await fakeApi({ routes: { "GET /v1/events/evt_1": { ...apiEvent, deliveries: [{ id: "dlv_1", attempts: null }] } } });
    const r = await cliHome().edgehook(["events", "show", "evt_1", "--url", a.url, "--token", "t"]);
    expect(r.stderr).not.toMatch(STACK);
    expect(r.stderr).toMatch(/^error TypeError: .+ \(unexpected: a bug of the CLI, please report it with the command that ran\)\n$/);
    expect(r.code).toBe(1);
  });

  it("an https URL on a port that speaks http is said unreachable in one line (the TLS error's line break dropped)", async () => {
    const a = await fakeApi({ routes: { "GET /v1/events": { data: [], nextCursor: null } } });
    const r = await cliHome().edgehook(["events", "list", "--url", `https://127.0.0.1:${a.port}`, "--token", "t"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error Cannot reach the API: .+\. Is the URL right/);
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    const sent = await cliHome().edgehook(["send", "--url", `https://127.0.0.1:${a.port}/webhooks/podium`, "--secret", "s"]);
    expect(sent.code).toBe(1);
    expect(sent.stderr).toMatch(/^error POST https:.+ failed: .+\. Is/);
    expect(sent.stderr.trimEnd().split("\n")).toHaveLength(1);
  });

  it("send: an unreachable URL is said so with a hint for where it points: npm run dev for this machine only", async () => {
    const h = cliHome();
    // Port 9 (discard) has no listener here; 0.0.0.0 reaches this machine but is no loopback name, as a deployment's host is not.
    const local = await h.edgehook(["send", "--url", "http://127.0.0.1:9", "--secret", "s"]);
    expect(local.code).toBe(1);
    expect(local.stderr).toMatch(/^error POST http:\/\/127\.0\.0\.1:9\/webhooks\/podium failed: .+\. Is `npm run dev` running/);
    const remote = await h.edgehook(["send", "--url", "http://0.0.0.0:9/webhooks/podium", "--secret", "s"]);
    expect(remote.code).toBe(1);
    expect(remote.stderr).toMatch(/^error POST http:\/\/0\.0\.0\.0:9\/webhooks\/podium failed: .+\. Is the URL right/);
    expect(remote.stderr).not.toContain("npm run dev");
  });

  it("send: a --url with a user name or password is a usage error (exit 2) as the API commands' is, never repeating it, nothing sent", async () => {
    const a = await fakeApi({ routes: { "POST /webhooks/podium": accepted() } });
    const h = cliHome();
    for (const url of [`http://user:hunter2pw@127.0.0.1:${a.port}/webhooks/podium`, `user:hunter2pw@127.0.0.1:${a.port}`]) {
      const r = await h.edgehook(["send", "--url", url, "--secret", "s"]);
      expect(r.code, url).toBe(2);
      expect(r.stderr, url).toBe("error: the URL (--url) holds a user name or password, which is never sent: give the API's base URL alone, and its token with --token or EDGEHOOK_TOKEN.\n(add --help for usage)\n");
      expect(r.stdout + r.stderr, url).not.toContain("hunter2pw");
    }
    const bogus = await h.edgehook(["send", "--url", "ftp://a.example/webhooks/podium", "--secret", "s"]);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toContain('"ftp://a.example/webhooks/podium" (--url) is not an http(s) URL');
    expect(a.seen).toEqual([]);
  });

  it("a reader that stops early (| head) ends it quietly, not with a stack trace", async () => {
    const rows = Array.from({ length: 2000 }, (_, i) => ({ id: `evt_${i}`, eventType: "message.received", sourceId: "podium", locationUid: null, organizationUid: null, receivedAt: new Date(0).toISOString() }));
    const a = await fakeApi({ routes: { "GET /v1/events": { data: rows, nextCursor: null } } });
    const h = cliHome();
    const child = spawn(process.execPath, [resolve(import.meta.dirname, "../../cli/bin/edgehook.js"), "events", "list", "--url", a.url, "--token", "t"], {
      cwd: h.dir,
      env: { ...process.env, NO_COLOR: "1", EDGEHOOK_CONFIG: h.config },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.stdout.once("data", () => child.stdout.destroy()); // as head does after its lines
    const code = await new Promise<number | null>((done) => child.on("close", done));
    expect(stderr).not.toMatch(STACK);
    expect(stderr).not.toContain("EPIPE");
    expect(code).toBe(0);
  });

  it("setup without a wrangler to run says so in one line", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edgehook-no-wrangler-"));
    copyFileSync(resolve(import.meta.dirname, "../../wrangler.toml"), join(dir, "wrangler.toml"));
    try {
      const r = await cliHome().edgehook(["setup", "--dir", dir], { PATH: "/nonexistent" });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("cannot run wrangler");
      expect(r.stderr).not.toMatch(STACK);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
