// What `edgehook listen` keeps between runs: each listener's position and secret, safe from
// another listener running at once, and carried over from the file all listeners once shared.
import { createHash } from "node:crypto";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { listenState } from "../../cli/src/listen-state.js";
import { cleanUp, cliHome, fakeApi, onCleanUp } from "./fake-api";

// Runs `between` after a save has read what it needs and before it writes: how another
// process's save lands inside this one's when two listeners run at once.
const race = vi.hoisted(() => ({ between: null as null | (() => void) }));
vi.mock("../../cli/src/config.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../cli/src/config.js")>();
  return {
    ...real,
    writeJson(path: string, value: unknown) {
      const other = race.between;
      race.between = null;
      other?.();
      real.writeJson(path, value);
    },
  };
});

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function home() {
  const dir = mkdtempSync(join(tmpdir(), "edgehook-listen-state-"));
  dirs.push(dir);
  return dir;
}
const url = "http://127.0.0.1:8787";
const listen = { mode: "listen", sourceIds: undefined, eventTypes: "message.*", webhookUid: undefined };

describe("edgehook listen's saved state", () => {
  it("keeps both of two listeners' positions when their saves interleave", async () => {
    const dir = home();
    const configFile = join(dir, "config.json");
    const state = (token: string, query = listen) => listenState({ url, token, configFile }, query);
    const a = state("ehk_first");
    const b = state("ehk_second", { ...listen, eventTypes: "contact.*" });
    a.save({ secret: "whsec_a", position: 1 });
    b.save({ secret: "whsec_b", position: 1 });

    race.between = () => b.save({ position: 8 });
    a.save({ position: 5 });
    race.between = () => a.save({ position: 6 });
    b.save({ position: 9 });

    expect(state("ehk_first").read()).toEqual({ secret: "whsec_a", position: 6 });
    expect(state("ehk_second", { ...listen, eventTypes: "contact.*" }).read()).toEqual({ secret: "whsec_b", position: 9 });
    // Secrets at rest: each listener's file readable by its owner only.
    const files = readdirSync(join(dir, "listen-state"));
    expect(files).toHaveLength(2);
    for (const f of files) expect(statSync(join(dir, "listen-state", f)).mode & 0o777).toBe(0o600);
  });

  it("starts from the shared listen-state.json an earlier version wrote, and keeps its own state from then on", async () => {
    const dir = home();
    const configFile = join(dir, "config.json");
    // The earlier file: one entry per API, token (a hash of it) and filters.
    const entry = (token: string, eventTypes: string) =>
      [url, createHash("sha256").update(token).digest("hex").slice(0, 12), "listen", "*", eventTypes, "-"].join(" ");
    const legacy = join(dir, "listen-state.json");
    writeFileSync(
      legacy,
      JSON.stringify({ [entry("ehk_first", "message.*")]: { secret: "whsec_old", position: 41 }, [entry("ehk_first", "contact.*")]: { position: 7 } }),
    );

    const a = listenState({ url, token: "ehk_first", configFile }, listen);
    expect(a.read()).toEqual({ secret: "whsec_old", position: 41 });
    a.save({ position: 42 });
    // The shared file is read until the listener has its own, not after.
    writeFileSync(legacy, JSON.stringify({ [entry("ehk_first", "message.*")]: { secret: "whsec_old", position: 3 } }));
    expect(listenState({ url, token: "ehk_first", configFile }, listen).read()).toEqual({ secret: "whsec_old", position: 42 });
    // Another listener of the old file is not disturbed by this one.
    writeFileSync(legacy, JSON.stringify({ [entry("ehk_first", "contact.*")]: { position: 7 } }));
    expect(listenState({ url, token: "ehk_first", configFile }, { ...listen, eventTypes: "contact.*" }).read()).toEqual({ position: 7 });
  });

  it("takes from a saved state only a position that is one and a secret that is a string: another is as if not saved", async () => {
    const dir = home();
    const configFile = join(dir, "config.json");
    const entry = [url, createHash("sha256").update("ehk_first").digest("hex").slice(0, 12), "listen", "*", "message.*", "-"].join(" ");
    // The shared file of an earlier version, edited by hand.
    writeFileSync(join(dir, "listen-state.json"), JSON.stringify({ [entry]: { secret: 42, position: "41" } }));
    const a = listenState({ url, token: "ehk_first", configFile }, listen);
    const warned: string[] = [];
    expect(a.read((line) => warned.push(line))).toEqual({});
    const shared = `${join(dir, "listen-state.json")} for this listener`;
    expect(warned).toEqual([
      `warning: ignored the "position" saved in ${shared} (not a whole number from 0 to 2^53 − 1): read as if none were saved.`,
      `warning: ignored the "secret" saved in ${shared} (not a string): read as if none were saved.`,
    ]);
    // Its own file, likewise.
    a.save({ secret: "whsec_a", position: 5 });
    const [own] = readdirSync(join(dir, "listen-state"));
    for (const [saved, read] of [
      [{ secret: "whsec_a", position: -1 }, { secret: "whsec_a" }],
      [{ secret: ["whsec_a"], position: 1.5 }, {}],
      [{ secret: "whsec_a", position: 7 }, { secret: "whsec_a", position: 7 }],
    ]) {
      writeFileSync(join(dir, "listen-state", own!), JSON.stringify(saved));
      expect(a.read(), JSON.stringify(saved)).toEqual(read);
    }
    warned.length = 0;
    for (const saved of [{ position: "abc" }, [7], null, 0, "", { position: 2 ** 53 + 2 }]) {
      writeFileSync(join(dir, "listen-state", own!), JSON.stringify(saved));
      expect(a.read((line) => warned.push(line)), JSON.stringify(saved)).toEqual({});
    }
    const path = join(dir, "listen-state", own!);
    const notObject = `warning: ignored the state saved in ${path} (not a JSON object): read as if none were saved.`;
    const badPosition = `warning: ignored the "position" saved in ${path} (not a whole number from 0 to 2^53 − 1): read as if none were saved.`;
    expect(warned).toEqual([badPosition, notObject, notObject, notObject, notObject, badPosition]);
  });

  it("finds the shared file's entry saved under another spelling of the same URL", async () => {
    const dir = home();
    const configFile = join(dir, "config.json");
    const token = createHash("sha256").update("ehk_first").digest("hex").slice(0, 12);
    const spelled = (u: string) => [u, token, "listen", "*", "message.*", "-"].join(" ");
    writeFileSync(
      join(dir, "listen-state.json"),
      JSON.stringify({ [spelled("https://other.example")]: { position: 3 }, [spelled("HTTPS://Edge.Example.com:443/")]: { secret: "whsec_old", position: 41 } }),
    );
    expect(listenState({ url: "https://edge.example.com", token: "ehk_first", configFile }, listen).read()).toEqual({ secret: "whsec_old", position: 41 });
  });
});

describe("edgehook listen's secret", () => {
  afterEach(cleanUp);
  const query = { mode: "listen", sourceIds: undefined, eventTypes: undefined, webhookUid: undefined };
  const hello = (secret: string) => ({ type: "hello", listenerId: "l1", mode: "listen", position: 0, secret, webhookUid: null });

  it("refuses a --secret with surrounding spaces before connecting: the header would carry another secret", async () => {
    const a = await fakeApi({ listen: (ws) => ws.close(4401, "no") });
    const r = await cliHome().edgehook(["listen", "3000", "--url", a.url, "--token", "t", "--secret", " whsec_padded "]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--secret must be printable ASCII, not beginning or ending with spaces");
    expect(a.seen).toEqual([]);
  });

  it("refuses an empty --secret before connecting, rather than signing with one the server makes up", async () => {
    const a = await fakeApi({ listen: (ws) => ws.close(4401, "no") });
    const r = await cliHome().edgehook(["listen", "3000", "--url", a.url, "--token", "t", "--secret", ""]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--secret is empty");
    expect(a.seen).toEqual([]);
  });

  it("keeps a secret once the server has said hello with it, not before", async () => {
    const secret = `whsec_${"A".repeat(43)}=`;
    const closing = await fakeApi({ listen: (ws) => ws.close(4401, "refused") });
    const h = cliHome();
    const stateOf = (url: string) => listenState({ url, token: "t", configFile: h.config }, query).read();
    const refused = await h.edgehook(["listen", "3000", "--url", closing.url, "--token", "t", "--secret", secret]);
    expect(refused.code).toBe(1);
    expect(closing.seen.map((s) => s.method)).toEqual(["UPGRADE"]);
    expect(stateOf(closing.url).secret).toBeUndefined();

    const taking = await fakeApi({
      listen: (ws) => {
        ws.send(JSON.stringify(hello(secret)));
        ws.close(4401, "done");
      },
    });
    const taken = await h.edgehook(["listen", "3000", "--url", taking.url, "--token", "t", "--secret", secret]);
    expect(taken.stderr).toContain("Signing secret");
    expect(stateOf(taking.url).secret).toBe(secret);
  });

  it("says, once a run and without exiting, what of its saved state it ignored: the listener then starts as if none were saved", async () => {
    const h = cliHome();
    const api = await fakeApi({
      listen: (ws) => {
        ws.send(JSON.stringify({ type: "hello", listenerId: "l1", mode: "listen", position: 12, secret: "whsec_kept", webhookUid: null }));
        ws.close(4401, "done");
      },
    });
    const state = listenState({ url: api.url, token: "t", configFile: h.config }, query);
    state.save({ secret: "whsec_kept" });
    const [file] = readdirSync(join(h.dir, "listen-state"));
    const path = join(h.dir, "listen-state", file!);
    writeFileSync(path, JSON.stringify({ secret: "whsec_kept", position: "abc" }));
    const r = await h.edgehook(["listen", "3000", "--url", api.url, "--token", "t"]);
    expect(r.code).toBe(1); // the API's 4401, after it connected
    const warnings = r.stderr.split("\n").filter((l) => l.startsWith("warning:"));
    expect(warnings).toEqual([`warning: ignored the "position" saved in ${path} (not a whole number from 0 to 2^53 − 1): read as if none were saved.`]);
    expect(r.stderr).toContain("Signing secret: whsec_kept");
    expect(api.seen.map((s) => s.query)).toEqual(["?mode=listen&ack=true"]);
    expect(state.read()).toEqual({ secret: "whsec_kept", position: 12 });
  });

  it("names where a kept secret comes from when the API refuses it, and how to replace it", async () => {
    const h = cliHome();
    const refusing = await fakeApi({
      refuseListen: { status: 400, body: { error: { code: "invalid_request", message: "x-edgehook-listen-secret: a whsec_ secret must be base64 of at least 24 bytes." } } },
    });
    listenState({ url: refusing.url, token: "t", configFile: h.config }, query).save({ secret: "whsec_dGVzdDEyMw" });
    const r = await h.edgehook(["listen", "3000", "--url", refusing.url, "--token", "t"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("x-edgehook-listen-secret: a whsec_ secret must be base64");
    expect(r.stderr).toContain("That secret was kept from an earlier run: pass --secret whsec_… to replace it.");
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});

describe("edgehook listen run twice with one state", () => {
  afterEach(cleanUp);

  it("refuses a second listener of the same API, token and filters while the first runs (it would save over its position), and takes over from one killed", { timeout: 20_000 }, async () => {
    const api = await fakeApi({
      listen: (ws) => ws.send(JSON.stringify({ type: "hello", listenerId: "l", mode: "listen", position: 5, secret: "whsec_x", webhookUid: null })),
    });
    const h = cliHome();
    const args = ["listen", "3000", "--url", api.url, "--token", "t", "--types", "message.*"];
    const listening = (r: { stderr: () => string }) => vi.waitFor(() => expect(r.stderr()).toMatch(/Listening|Another/), { timeout: 10_000 });
    const first = h.start(args);
    await listening(first);
    expect(first.stderr()).toContain("Listening");

    const second = h.start(args);
    await listening(second);
    expect(second.stderr()).toContain("Another `edgehook listen` with the same API, token and filters runs");
    expect(await second.exited).toMatchObject({ code: 2 });
    expect(api.seen.filter((s) => s.method === "UPGRADE")).toHaveLength(1); // the second sent nothing

    // Other filters keep a state of their own: they run beside it.
    const other = h.start([...args.slice(0, -1), "contact.*"]);
    await listening(other);
    expect(other.stderr()).toContain("Listening");

    // Killed, the first leaves its claim behind: the next run of its state takes it over and resumes.
    first.child.kill("SIGKILL");
    await first.exited;
    const again = h.start(args);
    await listening(again);
    expect(again.stderr()).toContain("Listening");
    expect(again.stderr()).toContain("resuming after 5");
  });
});

describe("edgehook listen's claim on its state", () => {
  afterEach(cleanUp);

  it("is taken over from a listener killed but not yet reaped (a zombie still takes signals)", { timeout: 20_000 }, async () => {
    // A child that exits once its parent has exec'd into sleep, which never waits for it: a zombie while the sleep lasts.
    // (It outlives the shell's own moments: a child gone before the exec may be reaped by the shell itself.)
    const parent = spawn("sh", ["-c", "sleep 1 & echo $!; exec sleep 30"], { stdio: ["ignore", "pipe", "ignore"] });
    onCleanUp(() => void parent.kill("SIGKILL"));
    const zombie = Number(await new Promise<string>((r) => parent.stdout.once("data", (d) => r(String(d)))));
    await vi.waitFor(() => expect(readFileSync(`/proc/${zombie}/stat`, "utf8")).toMatch(/\) Z /), { timeout: 10_000 });

    const api = await fakeApi({
      listen: (ws) => ws.send(JSON.stringify({ type: "hello", listenerId: "l", mode: "listen", position: 5, secret: "whsec_x", webhookUid: null })),
    });
    const h = cliHome();
    const key = [api.url, createHash("sha256").update("t").digest("hex").slice(0, 12), "listen", "*", "message.*", "-"].join(" ");
    mkdirSync(join(h.dir, "listen-locks"));
    writeFileSync(join(h.dir, "listen-locks", `${createHash("sha256").update(key).digest("hex").slice(0, 16)}.pid`), String(zombie));

    const l = h.start(["listen", "3000", "--url", api.url, "--token", "t", "--types", "message.*"]);
    await vi.waitFor(() => expect(l.stderr()).toMatch(/Listening|Another/), { timeout: 10_000 });
    expect(l.stderr()).toContain("Listening");
  });
});
