// Where the CLI sends its token: a saved token only to the URL it was saved with, a given one
// as given, and never in cleartext to a host other than this machine unless told to.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { connection, isLoopback, requireToken } from "../../cli/src/config.js";
import { cleanUp, cliHome, fakeApi, Status, type FakeApi } from "./fake-api";

afterEach(cleanUp);
const page = { data: [], nextCursor: null };
const api = () => fakeApi({ routes: { "GET /v1/events": page }, listen: (ws) => ws.close(4401, "bye") });
const bearers = (a: FakeApi) => a.seen.map((s) => s.authorization);

describe("a saved token", () => {
  it("is sent only to the URL it was saved with; another --url or EDGEHOOK_URL needs its own token", async () => {
    const [a, b] = [await api(), await api()];
    const h = cliHome();
    expect((await h.edgehook(["config", "--url", a.url, "--token", "token-of-a"])).code).toBe(0);
    expect((await h.edgehook(["events", "list"])).code).toBe(0);
    expect(bearers(a)).toEqual(["Bearer token-of-a"]);

    for (const [args, env] of [
      [["events", "list", "--url", b.url], {}],
      [["events", "list"], { EDGEHOOK_URL: b.url }],
      [["tail", "--url", b.url], {}],
    ] as const) {
      const refused = await h.edgehook([...args], env);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(`No API token for ${b.url}`);
      expect(refused.stderr).toContain(`the token saved in ${h.config} belongs to ${a.url}`);
      expect(refused.stderr).toMatch(/--token.*EDGEHOOK_TOKEN/);
      // b is on loopback: the local stack, whose token the project's .dev.vars gives.
      expect(refused.stderr).toContain("whose .dev.vars gives the local stack's ADMIN_TOKEN");
    }
    expect(b.seen).toEqual([]);

    // A token given on the command line or in the environment is used as given.
    expect((await h.edgehook(["events", "list", "--url", b.url, "--token", "token-of-b"])).code).toBe(0);
    expect((await h.edgehook(["events", "list"], { EDGEHOOK_URL: b.url, EDGEHOOK_TOKEN: "env-token-of-b" })).code).toBe(0);
    expect(bearers(b)).toEqual(["Bearer token-of-b", "Bearer env-token-of-b"]);
    // The saved URL, spelt another way, is still the URL the token was saved with.
    expect((await h.edgehook(["events", "list", "--url", `${a.url.replace("http", "HTTP")}/`])).code).toBe(0);
    expect(bearers(a)).toEqual(["Bearer token-of-a", "Bearer token-of-a"]);
  });

  it("`config --token` with EDGEHOOK_URL naming another URL than the saved one is refused, not saved for the saved one", async () => {
    const [a, b] = [await api(), await api()];
    const h = cliHome();
    await h.edgehook(["config", "--url", a.url, "--token", "token-of-a"]);
    const refused = await h.edgehook(["config", "--token", "token-of-b"], { EDGEHOOK_URL: b.url });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`EDGEHOOK_URL names ${b.url}`);
    // The token of a is kept, and token-of-b is sent nowhere.
    expect((await h.edgehook(["events", "list"])).code).toBe(0);
    expect(bearers(a)).toEqual(["Bearer token-of-a"]);
    // With no URL saved, --token alone is the default URL's: EDGEHOOK_URL elsewhere is refused the same way.
    const fresh = cliHome();
    expect((await fresh.edgehook(["config", "--token", "token-of-b"], { EDGEHOOK_URL: b.url })).code).toBe(2);
    // The URL named both ways, or given with --url, saves it.
    expect((await h.edgehook(["config", "--url", b.url, "--token", "token-of-b"], { EDGEHOOK_URL: b.url })).code).toBe(0);
    expect((await h.edgehook(["config", "--token", "token-of-b2"], { EDGEHOOK_URL: b.url })).code).toBe(0);
    expect((await h.edgehook(["events", "list"])).code).toBe(0);
    expect(bearers(b)).toEqual(["Bearer token-of-b2"]);
  });

  it("stays with its URL when `config --url` points elsewhere, which says so", async () => {
    const [a, b] = [await api(), await api()];
    const h = cliHome();
    await h.edgehook(["config", "--url", a.url, "--token", "token-of-a"]);
    const moved = await h.edgehook(["config", "--url", b.url]);
    expect(moved.code).toBe(0);
    expect(moved.stdout).toContain(`url:   ${b.url}\ntoken: (none for this URL)`);
    expect(moved.stdout).toContain(`the token saved for ${a.url} stays with it and is not sent to ${b.url}`);

    const refused = await h.edgehook(["events", "list"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`No API token for ${b.url}`);
    expect(b.seen).toEqual([]);

    await h.edgehook(["config", "--token", "token-of-b"]);
    expect((await h.edgehook(["events", "list"])).code).toBe(0);
    expect(bearers(b)).toEqual(["Bearer token-of-b"]);
    // Back to the first URL: its own token again.
    const back = await h.edgehook(["config", "--url", a.url]);
    // A short one by its length alone: a prefix would be most of it.
    expect(back.stdout).toContain("token: … (10 characters)\n");
    expect((await h.edgehook(["config", "--token", "x"])).stdout).toContain("token: … (1 character)\n");
    expect((await h.edgehook(["config", "--token", "sixteen-chars-ok"])).stdout).toContain("token: sixt… (16 characters)\n");
    // A long one (a scoped token: ehk_ and 43 more) shows its last four too, which tell saved tokens apart.
    const long = `ehk_${"x".repeat(39)}WXYZ`;
    expect((await h.edgehook(["config", "--token", long])).stdout).toContain("token: ehk_…WXYZ (47 characters)");
    await h.edgehook(["config", "--token", "token-of-a"]);
    expect((await h.edgehook(["events", "list"])).code).toBe(0);
    expect(bearers(a)).toEqual(["Bearer token-of-a"]);
  });

  it("of a config file written by earlier versions (url and token side by side) belongs to that url", async () => {
    const [a, b] = [await api(), await api()];
    const h = cliHome();
    writeFileSync(h.config, JSON.stringify({ url: a.url, token: "old-token" }));
    expect((await h.edgehook(["events", "list"])).code).toBe(0);
    expect((await h.edgehook(["events", "list", "--url", b.url])).code).toBe(2);
    expect(bearers(a)).toEqual(["Bearer old-token"]);
    expect(b.seen).toEqual([]);
    // Saving another token rewrites the file in its new shape; the earlier pair is kept.
    await h.edgehook(["config", "--url", b.url, "--token", "new-token"]);
    expect(connection({ config: h.config })).toMatchObject({ url: b.url, token: "new-token" });
    expect(connection({ config: h.config, url: a.url })).toMatchObject({ url: a.url, token: "old-token" });
  });

  it("saved without a URL by an earlier version is sent nowhere, and `config` says how to pair it", async () => {
    const h = cliHome();
    writeFileSync(h.config, JSON.stringify({ token: "orphan-token" }));
    expect(connection({ config: h.config, url: "https://api.example" }).token).toBeUndefined();
    expect(connection({ config: h.config }).token).not.toBe("orphan-token");
    const shown = await h.edgehook(["config"]);
    expect(shown.stdout).toMatch(/a token saved without its URL .*: edgehook config --url <its URL> --token/);
    expect(shown.stdout).not.toContain("orphan-token");
    // Paired as it says, it is that URL's, and no longer listed as waiting for one.
    const paired = await h.edgehook(["config", "--url", "https://api.example", "--token", "orphan-token"]);
    expect(paired.code).toBe(0);
    expect(paired.stdout).not.toContain("a token saved without its URL");
    expect(connection({ config: h.config }).token).toBe("orphan-token");
  });
});

describe("a URL with a path", () => {
  it("is kept by listen and tail as by the API commands: each request goes under it", async () => {
    const a = await fakeApi({ routes: { "GET /prefix/v1/events": page }, listen: (ws) => ws.close(4401, "bye") });
    const h = cliHome();
    for (const args of [["events", "list"], ["tail"], ["listen", "3000"]]) {
      const r = await h.edgehook([...args, "--url", `${a.url}/prefix/`, "--token", "t"]);
      expect(r.code, args.join(" ")).toBe(args[0] === "events" ? 0 : 1); // the listener closed for good (4401)
    }
    expect(a.seen.map((s) => `${s.method} ${s.path}`)).toEqual(["GET /prefix/v1/events", "UPGRADE /prefix/v1/listen", "UPGRADE /prefix/v1/listen"]);
  });
});

describe("a URL that redirects", () => {
  it("is said as a redirect (status, Location without its query), exit 1, never followed: the token would go along", async () => {
    const a = await fakeApi({ routes: { "GET /new/v1/events": page, "GET /login": page } });
    const moved = (location: string) => fakeApi({ routes: { "GET /v1/events": new Status(301, undefined, { location }) } });
    const h = cliHome();
    // The path asked kept after another base on the same host: that is the API's base URL, most likely.
    const based = await moved("/new/v1/events?limit=20&key=sekrit");
    const r = await h.edgehook(["events", "list", "--url", based.url, "--token", "t"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error The URL answered 301, a redirect to ${based.url}/new/v1/events?… (not followed: the token would go along): the API's base URL is probably ${based.url}/new.\n`);
    // The same path on another host (another port too) is not suggested: the token would go there.
    const away = await moved(`${a.url}/new/v1/events`);
    const elsewhere = await h.edgehook(["events", "list", "--url", away.url, "--token", "t"]);
    expect(elsewhere.stderr).toBe(`error The URL answered 301, a redirect to ${a.url}/new/v1/events (not followed: the token would go along): is it the Worker's base URL?\n`);
    // Elsewhere (a sign-in page): no base URL to guess.
    const login = await moved("/login");
    const other = await h.edgehook(["events", "list", "--url", login.url, "--token", "t"]);
    expect(other.code).toBe(1);
    expect(other.stderr).toBe(`error The URL answered 301, a redirect to ${login.url}/login (not followed: the token would go along): is it the Worker's base URL?\n`);
    expect(r.stderr + other.stderr).not.toContain("sekrit");
    // tail's socket (ws follows none) says it the same way, not as an answer of another program.
    const ws = await fakeApi({ refuseListen: { status: 302, body: {}, headers: { location: "/new/v1/listen?key=sekrit" } } });
    const tail = await h.edgehook(["tail", "--url", ws.url, "--token", "t"]);
    expect(tail.code).toBe(1);
    expect(tail.stderr).toContain(`The URL answered 302, a redirect to ${ws.url}/new/v1/listen?… (not followed: the token would go along): the API's base URL is probably ${ws.url}/new.`);
    expect(tail.stderr).not.toContain("sekrit");
    expect(a.seen).toEqual([]);
  });
});

describe("a URL with a query or fragment", () => {
  it("is no API base URL: a usage error (exit 2) wherever --url is taken, never saved nor sent to, its query not quoted back", async () => {
    const a = await fakeApi({ routes: { "GET /v1/events": page }, listen: (ws) => ws.close(4401, "bye") });
    const h = cliHome();
    for (const suffix of ["/?key=SECRETQUERY", "#SECRETFRAGMENT", "/v?", "/#", "/SECRETPATH/?x=1"]) {
      for (const args of [["config"], ["events", "list"], ["tail"], ["listen", "3000"], ["send", "--secret", "s"]]) {
        const r = await h.edgehook([...args, "--url", `${a.url}${suffix}`, ...(args[0] === "send" ? [] : ["--token", "t"])]);
        expect(r.code, `${args.join(" ")} ${suffix}`).toBe(2);
        // Its origin alone: a path may hold a secret too.
        expect(r.stderr, `${args.join(" ")} ${suffix}`).toBe(
          `error: the URL (--url) has a query or fragment (?… or #…), which an API base URL has not: give the API's base URL alone, e.g. ${a.url} (with its path, if any).\n(add --help for usage)\n`,
        );
      }
    }
    // From EDGEHOOK_URL, it is named.
    expect((await h.edgehook(["events", "list"], { EDGEHOOK_URL: `${a.url}/?x=1`, EDGEHOOK_TOKEN: "t" })).stderr).toMatch(/^error: the URL \(EDGEHOOK_URL\) has a query/);
    expect(existsSync(h.config)).toBe(false);
    expect(a.seen).toEqual([]);
    // Saved by an earlier version: refused by name until `config --url` replaces it (and drops the token kept under it).
    writeFileSync(h.config, JSON.stringify({ url: `${a.url}/?x=1`, tokens: { [`${a.url}/?x=1`]: "old" } }));
    const refused = await h.edgehook(["events", "list", "--token", "t"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`does not hold the CLI's settings: "url" has a query or fragment`);
    expect((await h.edgehook(["config", "--url", a.url, "--token", "t"])).code).toBe(0);
    expect(JSON.parse(readFileSync(h.config, "utf8"))).toEqual({ url: a.url, tokens: { [a.url]: "t" } });
    expect((await h.edgehook(["events", "list"])).code).toBe(0);
  });
});

describe("an empty token", () => {
  it("given with --token or EDGEHOOK_TOKEN is used as given, and said to be empty (exit 2), not to be missing; nothing is sent", async () => {
    const a = await api();
    const h = cliHome();
    // A token saved for this URL is not taken instead: the one given is always used as given.
    await h.edgehook(["config", "--url", a.url, "--token", "saved-token"]);
    for (const [args, env, said] of [
      [["events", "list", "--url", a.url, "--token", ""], {}, "given with --token"],
      [["events", "list", "--url", a.url], { EDGEHOOK_TOKEN: "" }, "in EDGEHOOK_TOKEN"],
      [["tail", "--url", a.url, "--token", ""], {}, "given with --token"],
      // Saving one: refused in the same words (docs/cli.md).
      [["config", "--url", a.url, "--token", ""], {}, "given with --token"],
    ] as const) {
      const r = await h.edgehook([...args], env);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).toBe(`error: The API token ${said} is empty.\n(add --help for usage)\n`);
    }
    expect(a.seen).toEqual([]);
  });
});

describe("a config file that is not JSON", () => {
  it("is said in one line, by where it fails, never quoting it: it holds tokens", async () => {
    const h = cliHome();
    const token = "ehk_SAVEDTOKENVALUE1234567890abcdef";
    for (const [text, where] of [
      [`{"url": "https://a.example", "tokens": {"https://a.example": '${token}'}}`, " at line 1 column 62"],
      [`{"url": "https://a.example", "tokens": {"https://a.example": "${token}"}, "x": True}\n`, " at line 1 column 107"],
      [`{\n  "tokens": {"https://a.example": "${token}"}\n}x\n`, " at line 3 column 2"],
      // Broken off: just past its last character, not its last newline.
      [`{\n  "tokens": {"https://a.example": "${token}"}\n`, " at line 2 column 73 (it ends too soon)"],
    ]) {
      writeFileSync(h.config, text!);
      for (const args of [["config"], ["events", "list", "--url", "https://a.example"]]) {
        const r = await h.edgehook(args);
        expect(r.code, text).toBe(1);
        expect(r.stderr, text).toBe(`error ${h.config} is not valid JSON${where}; fix or delete it.\n`);
      }
    }
  });
});

describe("a config file of JSON that is not the CLI's settings", () => {
  it("is refused in one line saying what is wrong, never quoting it, rather than used as no settings at all", async () => {
    const h = cliHome();
    const token = "ehk_SAVEDTOKENVALUE1234567890abcdef";
    const a = await api();
    // A saved URL may hold a password or a token (in its userinfo, path or query), or be a token pasted in its place.
    const secretUrl = "http://127.0.0.1:8807/SECRETPATH?key=SECRETQUERY";
    const passwordUrl = "http://user:SECRETPW@127.0.0.1:8807/";
    const wrongShapes = [
      [[], "it is an array, not an object"],
      [null, "it is null, not an object"],
      [`${token}`, "it is a string, not an object"],
      [{ url: 5555 }, '"url" is a number, not a string'],
      [{ url: "SECRET-TOKEN-IN-URL" }, '"url" is not an http(s) URL (`edgehook config --url …` saves the right one)'],
      [{ url: "ftp://user:SECRETPW@a.example", tokens: { [a.url]: token } }, '"url" holds a user name or password, which is never sent (`edgehook config --url …` saves the right one)'],
      [{ url: passwordUrl, tokens: { [a.url]: token } }, '"url" holds a user name or password, which is never sent (`edgehook config --url …` saves the right one)'],
      [{ url: a.url, tokens: { [a.url]: token, [passwordUrl]: token } }, 'the URL of "tokens" entry 2 holds a user name or password, which is never sent: delete that entry (`edgehook config --url …` drops it)'],
      [{ url: a.url, token: 1234567890 }, '"token" is a number, not a string'],
      [{ url: a.url, tokens: [token] }, '"tokens" is an array, not an object of tokens by URL'],
      [{ url: a.url, tokens: { [a.url]: 1234567890 } }, 'the token of "tokens" entry 1 is a number, not a string'],
      [{ url: a.url, tokens: { [a.url]: token, [secretUrl.replace(/\?.*/, "")]: 8807 } }, 'the token of "tokens" entry 2 is a number, not a string'],
      [{ url: a.url, tokens: { [secretUrl]: token } }, 'the URL of "tokens" entry 1 has a query or fragment (?… or #…), which an API base URL has not: delete that entry (`edgehook config --url …` drops it)'],
      [{ url: a.url, tokens: { [token]: token } }, 'the URL of "tokens" entry 1 is not an http(s) URL (each token is saved by the URL it is sent to)'],
      [{ url: a.url, tokens: { "ftp://user:SECRETPW@a.example": token } }, 'the URL of "tokens" entry 1 holds a user name or password, which is never sent: delete that entry (`edgehook config --url …` drops it)'],
      [{ url: a.url, unpaired: { token } }, '"unpaired" is an object, not an array'],
      [{ url: a.url, unpaired: [{ token, dir: "/SECRETDIR", worker: "SECRETWORKER" }, { token: 5555 }] }, '"unpaired" entry 2 is not a saved token (an object with a string "token", and "dir" and "worker" strings if any)'],
    ] as const;
    for (const [value, wrong] of wrongShapes) {
      writeFileSync(h.config, JSON.stringify(value));
      for (const args of [["config"], ["events", "list", "--token", "t", "--url", a.url]]) {
        const r = await h.edgehook([...args]);
        const at = `${JSON.stringify(value)}: ${args.join(" ")}`;
        expect(r.code, at).toBe(1);
        expect(r.stderr, at).toBe(`error ${h.config} does not hold the CLI's settings: ${wrong}; fix or delete it.\n`);
        // No value of the file's, its keys under "tokens" included (the file's own path aside, named as it should be).
        const said = (r.stdout + r.stderr).replaceAll(h.config, "");
        for (const secret of ["SECRET", token, "1234567890", "5555", "8807", "ftp:"]) expect(said, `${at}: ${secret}`).not.toContain(secret);
      }
    }
    expect(a.seen).toEqual([]);
    // Its shapes, this version's and earlier ones', and members it does not know (a later version's), are read.
    writeFileSync(h.config, "{}");
    expect((await h.edgehook(["config"])).code).toBe(0);
    for (const value of [{ url: a.url, token: "old-token" }, { url: a.url, tokens: { [a.url]: "new-token" }, unpaired: [{ token }], later: [1] }]) {
      writeFileSync(h.config, JSON.stringify(value));
      expect((await h.edgehook(["events", "list"])).code, JSON.stringify(value)).toBe(0);
    }
    expect(bearers(a)).toEqual(["Bearer old-token", "Bearer new-token"]);
    // A url, or a tokens key, holding a password (an earlier version saved one) is mended by `config --url`: the key dropped, never sent, never said.
    writeFileSync(h.config, JSON.stringify({ url: passwordUrl, tokens: { [passwordUrl]: token, [a.url]: "kept-token" } }));
    const mended = await h.edgehook(["config", "--url", a.url]);
    expect(mended.code, mended.stderr).toBe(0);
    expect(mended.stdout + mended.stderr).not.toContain("SECRETPW");
    expect(JSON.parse(readFileSync(h.config, "utf8"))).toMatchObject({ url: a.url, tokens: { [a.url]: "kept-token" } });
    expect(readFileSync(h.config, "utf8")).not.toContain("SECRETPW");
  });
});

describe("cleartext", () => {
  // 0.0.0.0 reaches this machine's own server but is not a loopback name: it stands for any host.
  const remote = (a: FakeApi) => `http://0.0.0.0:${a.port}`;

  it("an http URL of another host gets no token without --insecure (usage error, exit 2)", async () => {
    const a = await api();
    const h = cliHome();
    for (const args of [["events", "list"], ["tail"], ["listen", "3000"]]) {
      const refused = await h.edgehook([...args, "--url", remote(a), "--token", "secret-token"]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(`Refusing to send the API token in cleartext to ${remote(a)}`);
      expect(refused.stderr).toMatch(/https.*--insecure/);
    }
    expect(a.seen).toEqual([]);
    expect(existsSync(join(h.dir, "listen-state"))).toBe(false); // listen stopped before keeping any state

    expect((await h.edgehook(["events", "list", "--url", remote(a), "--token", "secret-token", "--insecure"])).code).toBe(0);
    expect((await h.edgehook(["events", "list", "--url", remote(a), "--token", "secret-token"], { EDGEHOOK_INSECURE: "1" })).code).toBe(0);
    expect(bearers(a)).toEqual(["Bearer secret-token", "Bearer secret-token"]);
  });

  it("against a loopback URL is .dev.vars' ADMIN_TOKEN as wrangler reads it: quotes and a comment after it are no part of it", async () => {
    const a = await api();
    const h = cliHome();
    const token = "dev-admin-token-with-quotes-0123456789";
    for (const line of [`ADMIN_TOKEN='${token}'`, `ADMIN_TOKEN="${token}" # the local one`, `ADMIN_TOKEN=${token} # the local one`, `ADMIN_TOKEN=${token}`]) {
      writeFileSync(join(h.dir, ".dev.vars"), `# local values\nTOKEN_PEPPER=p\n${line}\nPODIUM_WEBHOOK_SECRET=s\n`);
      expect((await h.edgehook(["events", "list", "--url", a.url])).code, line).toBe(0);
    }
    expect(bearers(a)).toEqual(Array(4).fill(`Bearer ${token}`));
  });

  it("`config` tells where the local stack's token comes from (.dev.vars of this folder) without showing it, as the commands use it", async () => {
    const a = await api();
    const h = cliHome();
    const token = "dev-admin-token-not-to-be-shown-0123456789";
    // Nothing saved: the commands go to the local stack with .dev.vars' token.
    const bare = await h.edgehook(["config"]);
    expect(bare.stdout).toContain("url:   (none saved; commands use http://127.0.0.1:8787, the local stack's)\ntoken: (none)\n");
    expect(bare.stdout).toMatch(/commands against a local URL send ADMIN_TOKEN of \.dev\.vars .* this one has none: .*edgehook config --token/);
    writeFileSync(join(h.dir, ".dev.vars.example"), `ADMIN_TOKEN=example-token-0123456789\n`);
    expect((await h.edgehook(["config"])).stdout).toContain("token: from .dev.vars.example in this folder (its ADMIN_TOKEN, the local stack's; not shown)\n");
    writeFileSync(join(h.dir, ".dev.vars"), `ADMIN_TOKEN='${token}'\n`);
    const local = await h.edgehook(["config"]);
    expect(local.stdout).toContain("token: from .dev.vars in this folder (its ADMIN_TOKEN, the local stack's; not shown)\n");
    expect(local.stdout).not.toMatch(/this one has none/);

    // A local URL saved without a token: the same token, which the commands send.
    const saved = await h.edgehook(["config", "--url", a.url]);
    expect(saved.stdout).toContain(`url:   ${a.url}\ntoken: from .dev.vars in this folder`);
    expect((await h.edgehook(["events", "list"])).code).toBe(0);
    expect(bearers(a)).toEqual([`Bearer ${token}`]);
    for (const run of [bare, local, saved]) expect(run.stdout + run.stderr).not.toContain(token.slice(0, 8));
    // One saved for the URL comes first, as in the commands.
    expect((await h.edgehook(["config", "--token", "saved-token"])).stdout).toContain("token: … (11 characters)\n");

    // A remote URL never gets the local token.
    expect((await h.edgehook(["config", "--url", "https://edge.example.com"])).stdout).toContain("token: (none for this URL)");
    // What the environment gives first is said.
    const env = await h.edgehook(["config"], { EDGEHOOK_URL: a.url, EDGEHOOK_TOKEN: "env-token" });
    expect(env.stdout).toContain(`note: EDGEHOOK_URL is set: commands use ${a.url}, not the URL above`);
    expect(env.stdout).toContain("note: EDGEHOOK_TOKEN is set: commands send it, not the token above");
  });

  it("loopback http and any https URL are allowed", () => {
    for (const url of ["http://127.0.0.1:8787", "http://127.0.0.2:1", "http://localhost:8787", "http://[::1]:8787", "http://[::ffff:127.0.0.1]:8787"]) {
      expect(isLoopback(url)).toBe(true);
      expect(requireToken({ url, token: "t", configFile: "", insecure: false })).toBe("t");
    }
    for (const url of ["http://0.0.0.0:8787", "http://10.0.0.1", "http://127.0.0.1.example.com", "http://[::ffff:10.0.0.1]:8787", "http://localhost.:8787"]) {
      expect(isLoopback(url)).toBe(false);
      expect(() => requireToken({ url, token: "t", configFile: "", insecure: false })).toThrow(/cleartext/);
    }
    expect(requireToken({ url: "https://hooks.example.com", token: "t", configFile: "", insecure: false })).toBe("t");
  });

  it("only http and https URLs are API URLs", () => {
    expect(() => connection({ config: "/nonexistent/config.json", url: "ftp://hooks.example.com" })).toThrow(/not an http\(s\) URL/);
  });
});

describe("a token the API refuses (401)", () => {
  it("is said with where it came from and how to give the right one, not as the API's words about a header the user never wrote", async () => {
    const unauthorized = new Status(401, { error: { code: "unauthorized", message: "Send a valid API token as `Authorization: Bearer <token>`." } });
    const a = await fakeApi({ routes: { "GET /v1/events": unauthorized }, refuseListen: { status: 401, body: unauthorized.body } });
    const h = cliHome();
    const said = async (args: string[], env: Record<string, string> = {}) => {
      const run = await h.edgehook(args, env);
      expect(run.code, args.join(" ")).toBe(1);
      expect(run.stderr, args.join(" ")).toMatch(/^error 401 unauthorized: /);
      expect(run.stderr, args.join(" ")).not.toContain("Authorization: Bearer");
      return run.stderr;
    };
    expect(await said(["events", "list", "--url", a.url, "--token", "wrong"])).toContain("the token given with --token is not one this API takes: pass the API's ADMIN_TOKEN");
    expect(await said(["tail", "--url", a.url, "--token", "wrong"])).toContain("the token given with --token is not one this API takes");
    expect(await said(["events", "list", "--url", a.url], { EDGEHOOK_TOKEN: "wrong" })).toContain("the token in EDGEHOOK_TOKEN is not one this API takes");
    // The local stack's token from this folder: most often the stack runs from another folder, or since before .dev.vars changed.
    writeFileSync(join(h.dir, ".dev.vars"), "ADMIN_TOKEN=another-stacks-token-0123456789abcdef\n");
    expect(await said(["events", "list", "--url", a.url])).toContain(`the ADMIN_TOKEN of ./.dev.vars is not the one the stack at ${a.url} runs with: run this in the folder \`npm run dev\` runs in`);
    await h.edgehook(["config", "--url", a.url, "--token", "saved-wrong"]);
    expect(await said(["events", "list"])).toContain(`the token saved for ${a.url} in ${h.config} is not one this API takes: save the API's ADMIN_TOKEN or a scoped token it made (not revoked) with \`edgehook config --url ${a.url} --token …\``);
  });
});
