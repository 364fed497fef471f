// Where the config file is and how it is rewritten: an empty path never puts the settings (or
// listen's signing secrets) in the current folder, a rewrite keeps what the CLI does not read and a
// symbolic link, and an EDGEHOOK_URL that is no URL is said by `config` as the commands say it.
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanUp, cliHome, fakeApi, onCleanUp } from "./fake-api";

afterEach(cleanUp);

describe("an empty config path", () => {
  it("EDGEHOOK_CONFIG set to nothing is the default file, and listen keeps its state beside it, not in the current folder", async () => {
    const h = cliHome();
    const xdg = join(h.dir, "xdg");
    const env = { EDGEHOOK_CONFIG: "", XDG_CONFIG_HOME: xdg };
    const file = join(xdg, "edgehook", "config.json");
    const a = await fakeApi({
      listen: (ws) => ws.send(JSON.stringify({ type: "hello", listenerId: "l", mode: "listen", position: 3, secret: "whsec_x", webhookUid: null })),
    });
    const saved = await h.edgehook(["config", "--url", a.url, "--token", "t"], env);
    expect(saved.code, saved.stderr).toBe(0);
    expect(saved.stdout.split("\n")[0]).toBe(file);
    expect(JSON.parse(readFileSync(file, "utf8"))).toMatchObject({ url: a.url, tokens: { [a.url]: "t" } });

    const target = createServer((req, res) => res.end("ok"));
    await new Promise<void>((r) => target.listen(0, "127.0.0.1", r));
    onCleanUp(() => new Promise<void>((r) => target.close(() => r())));
    const l = h.start(["listen", String((target.address() as AddressInfo).port)], env);
    await vi.waitFor(() => expect(l.stderr()).toContain("Listening on"), { timeout: 10_000 });
    l.child.kill("SIGINT");
    expect((await l.exited).code).toBe(0);
    expect(existsSync(join(xdg, "edgehook", "listen-state"))).toBe(true);
    for (const stray of ["listen-state", "listen-locks", "config.json"]) expect(existsSync(join(h.dir, stray)), stray).toBe(false);
  });

  it("--config '' is a usage error saying it is empty, before anything is read, written or run", async () => {
    const h = cliHome();
    // (send has no --config: it never reads the config file.)
    for (const args of [["config"], ["config", "--url", "http://127.0.0.1:8787", "--token", "t"], ["events", "list"], ["listen", "3000"], ["tail"], ["setup"], ["deploy"]]) {
      const r = await h.edgehook([...args, "--config", ""], { PATH: "/nonexistent" });
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).toBe("error: --config: empty; give the config file's path, or leave it out for the default.\n(add --help for usage)\n");
    }
    expect(readdirSync(h.dir)).toEqual([]);
  });
});

describe("a config file written again", () => {
  it("keeps the members the CLI does not read (a later version's, the user's)", async () => {
    const h = cliHome();
    writeFileSync(h.config, JSON.stringify({ url: "https://a.example", tokens: {}, defaultFormat: "json", later: { x: [1] } }));
    expect((await h.edgehook(["config", "--token", "X"])).code).toBe(0);
    expect(JSON.parse(readFileSync(h.config, "utf8"))).toEqual({ url: "https://a.example", tokens: { "https://a.example": "X" }, defaultFormat: "json", later: { x: [1] } });
    expect((await h.edgehook(["config", "--url", "https://b.example"])).code).toBe(0);
    expect(JSON.parse(readFileSync(h.config, "utf8"))).toMatchObject({ url: "https://b.example", defaultFormat: "json", later: { x: [1] } });
  });

  it("is written through a symbolic link to its target (a dotfiles folder), the link kept", async () => {
    const h = cliHome();
    const dotfiles = join(h.dir, "dotfiles");
    mkdirSync(dotfiles);
    writeFileSync(join(dotfiles, "edgehook.json"), JSON.stringify({ url: "https://a.example", tokens: {} }));
    const link = join(h.dir, "link.json");
    symlinkSync(join("dotfiles", "edgehook.json"), link);
    expect((await h.edgehook(["config", "--token", "X"], { EDGEHOOK_CONFIG: link })).code).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(join("dotfiles", "edgehook.json"));
    expect(JSON.parse(readFileSync(join(dotfiles, "edgehook.json"), "utf8"))).toMatchObject({ tokens: { "https://a.example": "X" } });
    expect(lstatSync(join(dotfiles, "edgehook.json")).mode & 0o777).toBe(0o600);
    // A link to a file not made yet: the file is made there.
    const dangling = join(h.dir, "dangling.json");
    symlinkSync(join(dotfiles, "new.json"), dangling);
    expect((await h.edgehook(["config", "--url", "https://b.example"], { EDGEHOOK_CONFIG: dangling })).code).toBe(0);
    expect(lstatSync(dangling).isSymbolicLink()).toBe(true);
    expect(JSON.parse(readFileSync(join(dotfiles, "new.json"), "utf8"))).toMatchObject({ url: "https://b.example" });
    // A link's `..` is taken from its real folder, as the system reads it: the file read is the file written.
    mkdirSync(join(h.dir, "real", "deep"), { recursive: true });
    writeFileSync(join(h.dir, "real", "x.json"), JSON.stringify({ url: "https://c.example", tokens: {} }));
    symlinkSync(join("..", "x.json"), join(h.dir, "real", "deep", "config.json"));
    symlinkSync(join(h.dir, "real", "deep"), join(h.dir, "cfg"));
    expect((await h.edgehook(["config", "--token", "Y"], { EDGEHOOK_CONFIG: join(h.dir, "cfg", "config.json") })).code).toBe(0);
    expect(JSON.parse(readFileSync(join(h.dir, "real", "x.json"), "utf8"))).toMatchObject({ tokens: { "https://c.example": "Y" } });
    expect(existsSync(join(h.dir, "x.json"))).toBe(false);
    // A chain of links to a file not made yet: made at the chain's end, every link kept; a loop is refused.
    symlinkSync("b", join(h.dir, "a.json"));
    symlinkSync("c", join(h.dir, "b"));
    expect((await h.edgehook(["config", "--url", "https://d.example"], { EDGEHOOK_CONFIG: join(h.dir, "a.json") })).code).toBe(0);
    expect([lstatSync(join(h.dir, "a.json")).isSymbolicLink(), lstatSync(join(h.dir, "b")).isSymbolicLink()]).toEqual([true, true]);
    expect(JSON.parse(readFileSync(join(h.dir, "c"), "utf8"))).toMatchObject({ url: "https://d.example" });
    symlinkSync("l2", join(h.dir, "l1"));
    symlinkSync("l1", join(h.dir, "l2"));
    const loop = await h.edgehook(["config", "--url", "https://e.example"], { EDGEHOOK_CONFIG: join(h.dir, "l1") });
    expect(loop.code).toBe(1);
    expect(loop.stderr).toContain("too many symbolic links (a loop of links?)");
    expect([lstatSync(join(h.dir, "l1")).isSymbolicLink(), lstatSync(join(h.dir, "l2")).isSymbolicLink()]).toEqual([true, true]);
  });
});

describe("`config` with an EDGEHOOK_URL that is no http(s) URL", () => {
  it("says so as the commands do (exit 2), not that commands use it", async () => {
    const h = cliHome();
    for (const args of [["config"], ["events", "list", "--token", "t"]]) {
      const r = await h.edgehook(args, { EDGEHOOK_URL: "bogus" });
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).toContain('"bogus" (EDGEHOOK_URL) is not a URL: give the API\'s base URL');
      expect(r.stdout, args.join(" ")).not.toContain("commands use bogus");
    }
    // A save of --url, which does not read it, is not blocked: it is said after.
    const repair = await h.edgehook(["config", "--url", "http://127.0.0.1:8787", "--token", "t"], { EDGEHOOK_URL: "bogus" });
    expect(repair.code).toBe(0);
    expect(repair.stdout).toContain("note: EDGEHOOK_URL is set to a URL commands refuse (exit 2, `edgehook config` without --url says why): mend or unset it");
    expect(repair.stdout).not.toContain("bogus");
    const password = await h.edgehook(["config"], { EDGEHOOK_URL: "https://u:SECRETPW@a.example" });
    expect(password.code).toBe(2);
    expect(password.stderr).toContain("the URL (EDGEHOOK_URL) holds a user name or password");
    expect(password.stdout + password.stderr).not.toContain("SECRETPW");
  });
});
