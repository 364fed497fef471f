// `edgehook setup` and `deploy` against a fake `wrangler` on PATH that records every call.
import { execFile, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { promisify, stripVTControlCharacters } from "node:util";
import { parse } from "smol-toml";
import { afterEach, describe, expect, it } from "vitest";
import { connection } from "../../cli/src/config.js";
import { isString } from "../../src/domain/guards";
import { at } from "../support/json-at";
import { EXAMPLE_SECRETS, isExampleSecret as cliIsExample } from "../../cli/src/commands/setup.js";
import { EXAMPLE_SOURCE_SECRETS, isExampleSecret } from "../../src/domain/secrets";

const root = resolve(import.meta.dirname, "../..");
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

type Call = { args: string[]; stdin: string };
/** A bucket's lifecycle rule as the fake wrangler keeps it (no prefix: every object). */
type Rule = { name: string; prefix?: string; expireDays?: number; abortMultipartDays?: number };
type Account = {
  d1: { name: string; uuid: string }[];
  buckets: string[];
  /** Lifecycle rules by bucket. */
  lifecycle: Record<string, Rule[]>;
  queues: string[];
  secrets: string[];
  migrated: boolean;
  deployed: boolean;
  /** Migrations not applied yet, by name, which wrangler lists as it applies them. */
  pending: string[];
  /** false: the account has no workers.dev subdomain, and a first deploy stops. */
  subdomain: boolean;
  /** The names in the database's migrations table; absent, it has none. */
  applied: string[];
};

/** A project directory with the repository's wrangler.toml, and an account the fake wrangler serves. */
function project(account: Partial<Account> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "edgehook-setup-"));
  dirs.push(dir);
  copyFileSync(join(root, "wrangler.toml"), join(dir, "wrangler.toml"));
  const state = join(dir, "account.json");
  writeFileSync(state, JSON.stringify({ d1: [], buckets: [], queues: [], secrets: [], migrated: false, deployed: false, ...account }));
  const log = join(dir, "calls.jsonl");
  writeFileSync(log, "");
  const argv = (args: string[]) => [join(root, "cli/bin/edgehook.js"), ...args, "--dir", dir, ...(args.includes("--config") ? [] : ["--config", join(dir, "config.json")])];
  const envOf = (env: Record<string, string> = {}) => ({
    ...process.env,
    PATH: [join(root, "test/cli/fake-wrangler"), process.env.PATH].join(delimiter),
    FAKE_WRANGLER_STATE: state,
    FAKE_WRANGLER_LOG: log,
    PODIUM_WEBHOOK_SECRET: "",
    STANDARD_WEBHOOKS_SECRET: "",
    NO_COLOR: "1",
    ...env,
  });
  async function edgehook(args: string[], env: Record<string, string> = {}) {
    const run = await promisify(execFile)(process.execPath, argv(args), { cwd: dir, env: envOf(env) });
    return { output: run.stdout + run.stderr };
  }
  /**
   * The command on a terminal (a pseudo-terminal `script` makes, 100 columns), typing each answer
   * once its prompt shows, in turn; its output as the terminal got it, escapes and all.
   */
  function onTerminal(args: string[], answers: [prompt: string, typed: string][]) {
    const quote = (a: string) => `'${a.replace(/'/g, "'\\''")}'`;
    const env: Record<string, string | undefined> = { ...envOf(), TERM: "xterm" };
    // The spinner draws only where CI is not set.
    delete env.CI;
    const child = spawn("script", ["-q", "-e", "-c", `stty cols 100 rows 40; exec ${[process.execPath, ...argv(args)].map(quote).join(" ")}`, "/dev/null"], { cwd: dir, env });
    let output = "";
    let next = 0;
    let from = 0;
    child.stdout.on("data", (d: Buffer) => {
      output += d.toString("utf8");
      const answer = answers[next];
      const at = answer ? output.indexOf(answer[0], from) : -1;
      if (answer && at >= 0) {
        from = at + answer[0].length;
        next++;
        child.stdin.write(answer[1]);
      }
    });
    return new Promise<{ code: number | null; output: string }>((done) => child.on("close", (code) => done({ code, output })));
  }
  return {
    dir,
    edgehook,
    onTerminal,
    calls: (): Call[] => readFileSync(log, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)),
    account: (): Account => JSON.parse(readFileSync(state, "utf8")),
    toml: () => readFileSync(join(dir, "wrangler.toml"), "utf8"),
    configFile: join(dir, "config.json"),
    /** Where the CLI would now connect, and with which token (to the saved URL, or to `url`). */
    connection: (url?: string) => connection({ config: join(dir, "config.json"), url }),
  };
}

const original = readFileSync(join(root, "wrangler.toml"), "utf8");
const declared: unknown = parse(original);
/** The tables of wrangler.toml's array at `path` (`[[queues.consumers]]`; none where it has none). */
const tables = (...path: string[]): unknown[] => {
  const v = at(declared, ...path);
  return Array.isArray(v) ? v : [];
};
/** Every queue wrangler.toml names: producers, consumers and dead-letter queues. */
const QUEUES = [
  ...new Set<string>(
    [...tables("queues", "producers").map((p) => [at(p, "queue")]), ...tables("queues", "consumers").map((c) => [at(c, "queue"), at(c, "dead_letter_queue")])]
      .flat()
      .filter(isString),
  ),
];

/** The rule that expires claim-check bodies left behind (docs/operations.md), under ingest/ only. */
const ORPHANS: Rule = { name: "ingest-orphans", prefix: "ingest/", expireDays: 30 };
const ADD_ORPHANS = "r2 bucket lifecycle add edgehook-bodies ingest-orphans ingest/ --expire-days 30";

/** What setup runs on an account with nothing yet, before any provider secret. */
const FRESH_ACCOUNT = [
  "d1 list --json",
  "d1 create edgehook",
  "d1 list --json",
  "r2 bucket list",
  "r2 bucket create edgehook-bodies",
  "r2 bucket lifecycle list edgehook-bodies",
  ADD_ORPHANS,
  "queues list",
  ...QUEUES.map((q) => `queues create ${q}`),
  "d1 migrations apply DB --remote",
  "secret list --format json",
  "secret put TOKEN_PEPPER",
  "secret put ADMIN_TOKEN",
];

describe("edgehook setup", () => {
  it("creates what is missing, writes the database id, migrates remotely and sets secrets through stdin", async () => {
    const p = project();
    const { output } = await p.edgehook(["setup"], { PODIUM_WEBHOOK_SECRET: "podium-secret-from-env" });
    const calls = p.calls();
    expect(calls.map((c) => c.args.join(" "))).toEqual([...FRESH_ACCOUNT, "secret put PODIUM_WEBHOOK_SECRET"]);
    expect(QUEUES).toEqual(expect.arrayContaining(["edgehook-ingest", "edgehook-ingest-dlq"]));

    const account = p.account();
    expect(account.queues.sort()).toEqual([...QUEUES].sort());
    expect(account.buckets).toEqual(["edgehook-bodies"]);
    expect(account.lifecycle).toEqual({ "edgehook-bodies": [ORPHANS] });
    expect(account.migrated).toBe(true);
    // The new database's id is in wrangler.toml, and nothing else there changed.
    const id = account.d1[0]!.uuid;
    expect(at(parse(p.toml()), "d1_databases", "0", "database_id")).toBe(id);
    expect(p.toml()).toBe(original.replace(/database_id = "[^"]*"/, `database_id = "${id}"`));

    // Secret values travel on stdin only; the generated admin token is printed (deploy pairs it with the URL).
    const put = Object.fromEntries(calls.filter((c) => c.args[1] === "put").map((c) => [c.args[2], c.stdin]));
    expect(put.PODIUM_WEBHOOK_SECRET).toBe("podium-secret-from-env");
    expect(output).toContain(`ADMIN_TOKEN: ${put.ADMIN_TOKEN}`);
    expect(put.TOKEN_PEPPER!.length).toBeGreaterThanOrEqual(32);
    for (const value of Object.values(put)) expect(calls.some((c) => c.args.includes(value!))).toBe(false);
  });

  it("says a wrangler that failed printing nothing did so, with its exit code, not an empty quote", async () => {
    const p = project();
    const failed = await p.edgehook(["setup"], { FAKE_WRANGLER_SILENT: "r2 bucket lifecycle" }).then(
      () => null,
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain("error wrangler r2 bucket lifecycle failed:\nwrangler printed nothing (exit code 7)\n");
  });

  it.each([
    ["the list fails", { FAKE_WRANGLER_FAIL: "secret list" }],
    ["the list is not of named secrets", { FAKE_WRANGLER_SECRET_NAMES: "1" }],
  ])("changes no secret when %s: a list it cannot read is not an empty one", async (_, broken) => {
    const p = project();
    await p.edgehook(["setup"]);
    const first = p.calls().length;
    const saved = readFileSync(p.configFile, "utf8");
    const failed = await p.edgehook(["setup"], broken).then(
      () => null,
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(`${failed?.stdout}${failed?.stderr}`).toContain("could not list the Worker's secrets");
    // What the steps before it did stays done: it says so, not that nothing changed.
    expect(`${failed?.stdout}${failed?.stderr}`).toContain("so no secret was set or changed; the steps above are done, and running setup again is safe");
    expect(p.calls().slice(first).filter((c) => c.args[0] === "secret" && c.args[1] === "put")).toEqual([]);
    expect(readFileSync(p.configFile, "utf8")).toBe(saved);
  });

  it("sets no TOKEN_PEPPER on a Worker that has an ADMIN_TOKEN but none (it runs on the built-in one), and says what setting it would end", async () => {
    const p = project({ d1: [{ name: "edgehook", uuid: "11111111-2222-3333-4444-555555555555" }], secrets: ["ADMIN_TOKEN", "PODIUM_WEBHOOK_SECRET"], deployed: true });
    for (const command of ["setup", "deploy"]) {
      const { output } = await p.edgehook([command]);
      expect(p.calls().filter((c) => c.args[0] === "secret" && c.args[1] === "put")).toEqual([]);
      expect(p.account().secrets).toEqual(["ADMIN_TOKEN", "PODIUM_WEBHOOK_SECRET"]);
      expect(output).toContain("Secrets: already set");
      expect(output).toMatch(/TOKEN_PEPPER is not set: .*leaves it so\. Setting one now would end every scoped token, the admin dashboard sessions and list cursors; .*docs\/operations\.md#rotating-token_pepper/);
    }
    // A dry run, which lists nothing, says when it would set one.
    const { output } = await p.edgehook(["setup", "--dry-run"]);
    expect(output).toContain("$ wrangler secret put TOKEN_PEPPER    # only when the Worker has no ADMIN_TOKEN yet (a first setup)");
  });

  it("sets TOKEN_PEPPER on a Worker whose only secret is a provider's set by hand: no token or session was made without an ADMIN_TOKEN", async () => {
    const p = project({ d1: [{ name: "edgehook", uuid: "11111111-2222-3333-4444-555555555555" }], secrets: ["PODIUM_WEBHOOK_SECRET"], deployed: true });
    const { output } = await p.edgehook(["setup"]);
    expect(p.calls().filter((c) => c.args[0] === "secret" && c.args[1] === "put").map((c) => c.args[2])).toEqual(["TOKEN_PEPPER", "ADMIN_TOKEN"]);
    expect(output).not.toContain("TOKEN_PEPPER is not set");
  });

  it("on a terminal, stops its spinner for its prompt and wrangler's own, and stops, exit 1, when wrangler secret put fails there", async () => {
    const p = project();
    const ask = (name: string) => `Set ${name} now? [y/N] `;
    const wranglerAsks = "? Enter a secret value: ";
    const { code, output } = await p.onTerminal(
      ["setup"],
      [
        [ask("PODIUM_WEBHOOK_SECRET"), "y\r"],
        [wranglerAsks, "typed-podium-secret\r"],
        [ask("STANDARD_WEBHOOKS_SECRET"), "y\r"],
        // Nothing typed: wrangler fails.
        [wranglerAsks, "\r"],
      ],
    );
    expect(code).toBe(1);
    const puts = p.calls().filter((c) => c.args[1] === "put");
    expect(puts.map((c) => c.args[2])).toEqual(["TOKEN_PEPPER", "ADMIN_TOKEN", "PODIUM_WEBHOOK_SECRET", "STANDARD_WEBHOOKS_SECRET"]);
    expect(puts[2]!.stdin).toBe("typed-podium-secret");
    expect(p.account().secrets).toEqual(["TOKEN_PEPPER", "ADMIN_TOKEN", "PODIUM_WEBHOOK_SECRET"]);
    const text = stripVTControlCharacters(output);
    expect(text).toContain("✖ Secrets");
    expect(text).toContain("wrangler secret put STANDARD_WEBHOOKS_SECRET failed, its output above (TOKEN_PEPPER, ADMIN_TOKEN, PODIUM_WEBHOOK_SECRET set before it): STANDARD_WEBHOOKS_SECRET is not set");
    // The admin token it made is shown and kept all the same.
    expect(text).toContain(`ADMIN_TOKEN: ${puts[1]!.stdin}`);
    const frames = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/;
    for (const name of ["PODIUM_WEBHOOK_SECRET", "STANDARD_WEBHOOKS_SECRET"]) {
      // The spinner stopped after its last frame before each prompt: its line cleared, and the cursor it hides shown again...
      const before = output.slice(0, output.indexOf(ask(name)));
      const stopped = before.slice(Math.max(...[...before.matchAll(new RegExp(frames, "g"))].map((m) => m.index)));
      expect(stopped).toContain("\x1b[2K");
      expect(stopped).toContain("\x1b[?25h");
      // ...and the spinner draws nothing until wrangler is done.
      const during = output.slice(output.indexOf(ask(name)), output.indexOf(name === "PODIUM_WEBHOOK_SECRET" ? "Uploaded secret PODIUM_WEBHOOK_SECRET" : "no value on stdin"));
      expect(during).toContain(wranglerAsks);
      expect(during).not.toMatch(frames);
    }
  });

  it("is idempotent: a second run reuses everything and changes nothing", async () => {
    const p = project();
    await p.edgehook(["setup"]);
    const toml = p.toml();
    const first = p.calls().length;
    const { output } = await p.edgehook(["setup"]);
    const again = p.calls().slice(first).map((c) => c.args.join(" "));
    expect(again).toEqual(["d1 list --json", "r2 bucket list", "r2 bucket lifecycle list edgehook-bodies", "queues list", "d1 migrations apply DB --remote", "secret list --format json"]);
    expect(p.account().lifecycle).toEqual({ "edgehook-bodies": [ORPHANS] });
    expect(p.toml()).toBe(toml);
    expect(output).toMatch(/reused/);
  });

  it("reuses an existing database, bucket and queue, and creates only the rest", async () => {
    const uuid = "11111111-2222-3333-4444-555555555555";
    const p = project({ d1: [{ name: "edgehook", uuid }], buckets: ["edgehook-bodies"], queues: ["edgehook-ingest"], secrets: ["TOKEN_PEPPER", "ADMIN_TOKEN"], deployed: true });
    await p.edgehook(["setup"]);
    const created = p.calls().map((c) => c.args.join(" ")).filter((a) => /create|put/.test(a));
    expect(created).toEqual(QUEUES.filter((q) => q !== "edgehook-ingest").map((q) => `queues create ${q}`));
    expect(at(parse(p.toml()), "d1_databases", "0", "database_id")).toBe(uuid);
  });

  it("keeps a bucket's lifecycle rule named ingest-orphans as the operator set it, and adds nothing beside it", async () => {
    const theirs: Rule[] = [
      { name: "multipart", abortMultipartDays: 7 },
      { name: "ingest-orphans", prefix: "ingest/", expireDays: 60 },
    ];
    const p = project({ buckets: ["edgehook-bodies"], lifecycle: { "edgehook-bodies": theirs } });
    const { output } = await p.edgehook(["setup"]);
    expect(p.calls().map((c) => c.args.join(" ")).filter((a) => a.startsWith("r2 bucket lifecycle"))).toEqual(["r2 bucket lifecycle list edgehook-bodies"]);
    expect(p.account().lifecycle).toEqual({ "edgehook-bodies": theirs });
    expect(output).toContain("ingest-orphans: there");
    expect(output).not.toContain("dead-letters/");
  });

  it("adds the rule beside the operator's other rules, changing none of them", async () => {
    const theirs: Rule[] = [{ name: "multipart", abortMultipartDays: 7 }, { name: "old-ingest", prefix: "ingest/old/", expireDays: 2 }];
    const p = project({ buckets: ["edgehook-bodies"], lifecycle: { "edgehook-bodies": theirs } });
    await p.edgehook(["setup"]);
    expect(p.calls().map((c) => c.args.join(" ")).filter((a) => a.startsWith("r2 bucket lifecycle"))).toEqual(["r2 bucket lifecycle list edgehook-bodies", ADD_ORPHANS]);
    expect(p.account().lifecycle).toEqual({ "edgehook-bodies": [...theirs, ORPHANS] });
  });

  it("says so when a rule there expires parked dead letters, and keeps it", async () => {
    const theirs: Rule[] = [{ name: "everything", expireDays: 7 }];
    const p = project({ buckets: ["edgehook-bodies"], lifecycle: { "edgehook-bodies": theirs } });
    const { output } = await p.edgehook(["setup"]);
    expect(p.account().lifecycle).toEqual({ "edgehook-bodies": [...theirs, ORPHANS] });
    expect(output).toMatch(/rule everything .*dead-letters\//);
  });

  it("puts the rule on the bucket bound as BODIES, by the name wrangler.toml gives it", async () => {
    const p = project();
    const toml = original.replace('bucket_name = "edgehook-bodies"', 'bucket_name = "acme-claim-checks"');
    writeFileSync(join(p.dir, "wrangler.toml"), `[[r2_buckets]]\nbinding = "ARCHIVE"\nbucket_name = "acme-archive"\n\n${toml}`);
    await p.edgehook(["setup"]);
    expect(p.account().buckets.sort()).toEqual(["acme-archive", "acme-claim-checks"]);
    expect(p.account().lifecycle).toEqual({ "acme-claim-checks": [ORPHANS] });
  });

  it("says what wrangler.toml lacks when its buckets are one [r2_buckets] table, not an array of them, and runs no wrangler command", async () => {
    const p = project();
    writeFileSync(join(p.dir, "wrangler.toml"), original.replace("[[r2_buckets]]", "[r2_buckets]"));
    const failed = await p.edgehook(["setup"]).then(
      () => null,
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(`${failed?.stdout}${failed?.stderr}`).toContain("wrangler.toml declares no [[r2_buckets]] with binding BODIES");
    expect(p.calls()).toEqual([]);
  });

  it("says where wrangler.toml is not TOML (file, line, column) in one line, exit 1, and runs no wrangler command", async () => {
    const p = project();
    writeFileSync(join(p.dir, "wrangler.toml"), 'name = "x"\n[[d1_databases]\n');
    const failed = await p.edgehook(["setup", "--dry-run"]).then(
      () => null,
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toBe(`error ${join(p.dir, "wrangler.toml")} is not valid TOML at line 2 column 16 (expected end of table array declaration); fix it.\n`);
    expect(p.calls()).toEqual([]);
  });

  it.each([
    ["with an id", original.replace('database_name = "edgehook"', "database_name = 'edgehook'").replace(/database_id = "[^"]*"/, "database_id = ''")],
    ["without an id", original.replace('database_name = "edgehook"', "database_name = 'edgehook'").replace(/database_id = "[^"]*"\n/, "")],
  ])("writes the database id beside a database_name in single quotes (a TOML literal string), %s", async (_, toml) => {
    const p = project();
    writeFileSync(join(p.dir, "wrangler.toml"), toml);
    await p.edgehook(["setup"]);
    const id = p.account().d1[0]!.uuid;
    expect(at(parse(p.toml()), "d1_databases", "0", "database_id")).toBe(id);
    expect(p.toml()).toContain(`database_name = 'edgehook'\n`);
  });

  it("says the id to paste when wrangler.toml's database is in a form it does not edit (an inline table), and a rerun reuses the database", async () => {
    const p = project();
    const block = /\[\[d1_databases\]\]\n(?:[a-z_]+ = .*\n)+/.exec(original)![0];
    writeFileSync(join(p.dir, "wrangler.toml"), `d1_databases = [{ binding = "DB", database_name = "edgehook", migrations_dir = "migrations" }]\n${original.replace(block, "")}`);
    const fails = () =>
      p.edgehook(["setup"]).then(
        () => null,
        (err: { code: number; stdout: string; stderr: string }) => err,
      );
    const first = await fails();
    const id = p.account().d1[0]!.uuid;
    const says = `set database_id = "${id}" in its d1_databases entry for edgehook by hand, then run this again (it reuses the database)`;
    expect(first?.code).toBe(1);
    expect(first?.stderr).toContain(says);
    const again = await fails();
    expect(again?.stderr).toContain(says);
    expect(p.calls().filter((c) => c.args.join(" ") === "d1 create edgehook")).toHaveLength(1);
    // Pasted, the rerun goes on.
    writeFileSync(join(p.dir, "wrangler.toml"), p.toml().replace('database_name = "edgehook"', `database_name = "edgehook", database_id = "${id}"`));
    const { output } = await p.edgehook(["setup"]);
    expect(output).toContain(`D1 database edgehook: reused (${id})`);
  });

  it("keeps the admin token it makes away from the URL already saved, which is another deployment's", async () => {
    const p = project();
    writeFileSync(p.configFile, JSON.stringify({ url: "https://staging.example", token: "staging-token" }));
    await p.edgehook(["setup"]);
    const adminToken = p.calls().find((c) => c.args.join(" ") === "secret put ADMIN_TOKEN")!.stdin;
    expect(adminToken).toBeTruthy();
    expect(p.connection()).toMatchObject({ url: "https://staging.example", token: "staging-token" });
  });

  it("sets the admin token --admin-token gives, through stdin, keeps it for deploy and never prints it", async () => {
    const p = project({ secrets: ["TOKEN_PEPPER", "ADMIN_TOKEN"] });
    const given = "given-admin-token-0123456789abcdefghijklmnop";
    const { output } = await p.edgehook(["setup", "--admin-token", given]);
    const put = p.calls().filter((c) => c.args[1] === "put");
    expect(put).toEqual([{ args: ["secret", "put", "ADMIN_TOKEN"], stdin: given }]);
    expect(output).toContain("ADMIN_TOKEN: set to the one --admin-token gave");
    expect(output).not.toContain(given);
    await p.edgehook(["deploy"]);
    expect(p.connection()).toMatchObject({ url: "https://edgehook.example-sub.workers.dev", token: given });
  });

  it("refuses an --admin-token the Worker would not take (short, the published example's, unsendable), before running wrangler", async () => {
    for (const given of ["short-admin-token", "dev-admin-token-for-local-use-only", " given-admin-token-0123456789abcdefghijklmnop"]) {
      const p = project({ secrets: ["TOKEN_PEPPER", "ADMIN_TOKEN"] });
      const failed = await p.edgehook(["setup", "--admin-token", given]).then(
        () => null,
        (err: { code: number; stdout: string; stderr: string }) => err,
      );
      expect(failed?.code).toBe(2);
      expect(failed?.stderr).toMatch(/^error: --admin-token .*: (give|leave it out)/m);
      expect(failed?.stderr).not.toContain(given.trim());
      expect(p.calls()).toEqual([]);
      expect(existsSync(p.configFile)).toBe(false);
    }
  });

  it("knows the published example secrets the Worker takes only at localhost, all of them (a copy: the CLI cannot import the Worker's code)", () => {
    expect([...EXAMPLE_SECRETS].sort()).toEqual([...EXAMPLE_SOURCE_SECRETS].sort());
  });

  it("knows an example secret however spelt as the Worker does (its copy of the Worker's derivation of keys)", () => {
    const key = "dev-standard-webhooks-secret";
    const b64 = Buffer.from(key).toString("base64");
    const spellings = [
      ...EXAMPLE_SOURCE_SECRETS,
      `whsec_${b64.replace(/=+$/, "")}`,
      `whsec_${Buffer.from(key).toString("base64url")}`,
      key,
      `whsec_${Buffer.from(`${key}\0\0`).toString("base64")}`,
      `dev-podium-secret\0`,
      `whsec_${Buffer.from("dev-podium-secret").toString("base64")}`,
      "replace-with-your-endpoint-signing-secret",
      "dev-podium-secreT",
      `whsec_${Buffer.from(`${key}!`).toString("base64")}`,
      `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64")}`,
      "a-secret-of-its-own",
    ];
    const cli = spellings.map((s) => [s, cliIsExample(s)]);
    expect(cli).toEqual(spellings.map((s) => [s, isExampleSecret(s)]));
    // Both ways seen: the spellings test the derivation, not a constant answer.
    expect(new Set(cli.map(([, is]) => is))).toEqual(new Set([true, false]));
  });

  // One test a case: each runs setup once (a second or two, many under a loaded machine).
  const refusedSecrets: [string, string, RegExp][] = [
    ["STANDARD_WEBHOOKS_SECRET", "whsec_AAAAAAAAAAAAAAAAAAAAAA==", /begins with a whsec_ key that is 16 bytes: a whsec_ secret must be base64 of at least 24 bytes/],
    ["STANDARD_WEBHOOKS_SECRET", "whsec_not*base64 whsec_ZGV2", /begins with a whsec_ key that is not base64/],
    ["STANDARD_WEBHOOKS_SECRET", "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /begins with a whsec_ key that is not base64/],
    ["STANDARD_WEBHOOKS_SECRET", "whsec_ZGV2LXN0YW5kYXJkLXdlYmhvb2tzLXNlY3JldA==", /holds a published example's/],
    ["STANDARD_WEBHOOKS_SECRET", "whsec_replace-with-your-endpoint-signing-secret", /holds a published example's .*the API reference/],
    ["STANDARD_WEBHOOKS_SECRET", `whsec_${Buffer.alloc(32, 3).toString("base64")} whsec_ZGV2LXN0YW5kYXJkLXdlYmhvb2tzLXNlY3JldA==`, /holds a published example's/],
    ["PODIUM_WEBHOOK_SECRET", "dev-podium-secret", /holds a published example's.*Give the one your Podium webhook settings show/],
    // The example's key spelt otherwise (unpadded; its own text): the Worker knows it by its key too.
    ["STANDARD_WEBHOOKS_SECRET", "whsec_ZGV2LXN0YW5kYXJkLXdlYmhvb2tzLXNlY3JldA", /holds a published example's/],
    ["STANDARD_WEBHOOKS_SECRET", "dev-standard-webhooks-secret", /holds a published example's/],
  ];
  it.each(refusedSecrets)("refuses a provider secret from the environment the deployed Worker would not verify with (%s, case %#), setting none and showing no value", async (name, value, says) => {
    const p = project({ secrets: ["TOKEN_PEPPER", "ADMIN_TOKEN"] });
    const failed = await p.edgehook(["setup"], { [name]: value }).then(
      () => null,
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    expect(failed?.code, value).toBe(2);
    expect(failed?.stderr).toMatch(says);
    expect(failed?.stderr).toContain(`${name} in the environment`);
    for (const part of value.split(" ")) expect(`${failed?.stdout}${failed?.stderr}`).not.toContain(part);
    expect(p.calls().filter((c) => c.args[0] === "secret" && c.args[1] === "put")).toEqual([]);
  });

  // 24 bytes, URL-safe (the Worker verifies with it), and a rotation's old short one behind a new one: set.
  it.each([`whsec_${Buffer.alloc(24, 7).toString("base64url")}`, `whsec_${Buffer.alloc(32, 9).toString("base64")} whsec_AAAAAAAAAAAAAAAAAAAAAA==`])(
    "sets a STANDARD_WEBHOOKS_SECRET the Worker verifies with (case %#)",
    async (value) => {
      const p = project({ secrets: ["TOKEN_PEPPER", "ADMIN_TOKEN"] });
      await p.edgehook(["setup"], { STANDARD_WEBHOOKS_SECRET: value });
      expect(p.calls().filter((c) => c.args[1] === "put")).toEqual([{ args: ["secret", "put", "STANDARD_WEBHOOKS_SECRET"], stdin: value }]);
    },
  );

  it("shows the admin token it set even when the config file cannot be written, which it says in one line", async () => {
    const p = project();
    const blocked = join(p.dir, "not-a-folder");
    writeFileSync(blocked, "");
    const failed = await p.edgehook(["setup", "--config", join(blocked, "config.json")]).then(
      () => null,
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    const adminToken = p.calls().find((c) => c.args.join(" ") === "secret put ADMIN_TOKEN")!.stdin;
    expect(failed?.code).toBe(1);
    expect(`${failed?.stdout}${failed?.stderr}`).toContain(`ADMIN_TOKEN: ${adminToken}`);
    expect(failed?.stderr).toMatch(/^error Cannot write .*config\.json/m);
    expect(failed?.stderr).not.toMatch(/^\s+at /m);
  });

  it("--dry-run refusing a provider secret from the environment does not say the steps above are done: it ran none", async () => {
    const p = project();
    const failed = await p.edgehook(["setup", "--dry-run"], { PODIUM_WEBHOOK_SECRET: "dev-podium-secret" }).then(
      () => null,
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    expect(failed?.code).toBe(2);
    expect(p.calls()).toEqual([]);
    expect(failed?.stderr).toContain("PODIUM_WEBHOOK_SECRET in the environment holds a published example's");
    expect(failed?.stderr).toContain("then run setup again (this dry run ran nothing).");
    expect(failed?.stderr).not.toContain("the steps above are done");
  });

  it("--dry-run prints every wrangler command and runs none", async () => {
    const p = project();
    const { output } = await p.edgehook(["setup", "--dry-run"]);
    expect(p.calls()).toEqual([]);
    expect(p.toml()).toBe(original);
    const printed = [...output.matchAll(/^\$ wrangler (.+?)(?:\s{4}#.*)?$/gm)].map((m) => m[1]);
    // Each once: the database is not listed again after its create, which a dry run did not run.
    const once = FRESH_ACCOUNT.filter((c, i) => FRESH_ACCOUNT.indexOf(c) === i);
    expect(printed).toEqual([...once, "secret put PODIUM_WEBHOOK_SECRET", "secret put STANDARD_WEBHOOKS_SECRET"]);
  });
});

describe("edgehook deploy", () => {
  it("sets up what is missing, copies the /docs bundle, runs wrangler deploy and saves the Worker's URL", async () => {
    const p = project();
    // The clone's own asset script runs before wrangler deploy (here a stand-in that leaves a mark).
    mkdirSync(join(p.dir, "scripts"));
    mkdirSync(join(p.dir, "node_modules"));
    writeFileSync(join(p.dir, "scripts/docs-assets.mjs"), 'import { writeFileSync } from "node:fs"; writeFileSync("assets-copied", "");');
    await p.edgehook(["deploy"]);
    expect(existsSync(join(p.dir, "assets-copied"))).toBe(true);
    const calls = p.calls().map((c) => c.args.join(" "));
    expect(calls.filter((c) => c.startsWith("queues create"))).toHaveLength(QUEUES.length);
    expect(calls.at(-1)).toBe("deploy");
    const adminToken = p.calls().find((c) => c.args.join(" ") === "secret put ADMIN_TOKEN")!.stdin;
    expect(p.connection()).toMatchObject({ url: "https://edgehook.example-sub.workers.dev", token: adminToken });
  });

  it("stops, exit 1, before setting any secret, in a folder without node_modules (never installed), saying to run npm install", async () => {
    const p = project();
    mkdirSync(join(p.dir, "scripts"));
    copyFileSync(join(root, "scripts/docs-assets.mjs"), join(p.dir, "scripts/docs-assets.mjs"));
    for (const args of [["deploy"], ["deploy", "--dry-run"]]) {
      const failed = await p.edgehook(args).then(
        () => null,
        (err: { code: number; stderr: string }) => err,
      );
      expect(failed?.code).toBe(1);
      expect(failed?.stderr).toBe(`error ${p.dir} has no node_modules: run \`npm install\` there, then deploy again\n`);
    }
    expect(p.calls()).toEqual([]);
  });

  it("says in one line, exit 1, without the script's stack, that the project's docs-assets script failed and to run npm install, before any setup", async () => {
    const p = project();
    mkdirSync(join(p.dir, "scripts"));
    mkdirSync(join(p.dir, "node_modules"));
    // The repository's script where @scalar/api-reference is not installed: ENOENT.
    copyFileSync(join(root, "scripts/docs-assets.mjs"), join(p.dir, "scripts/docs-assets.mjs"));
    const failed = await p.edgehook(["deploy"]).then(
      () => null,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed?.code).toBe(1);
    const lines = failed!.stderr.trimEnd().split("\n");
    expect(lines.at(-1)).toMatch(/^error node scripts\/docs-assets\.mjs failed \(Error: ENOENT: .*standalone\.js'\): run `npm install` in .+, then deploy again$/);
    expect(failed?.stderr).not.toMatch(/^\s+at /m);
    expect(failed?.stderr).not.toContain("bug of the CLI");
    // The copy runs before setup: a broken install sets no secret, makes nothing.
    expect(p.calls()).toEqual([]);
  });

  it("pairs the admin token an earlier setup made with the URL it deploys to", async () => {
    const p = project();
    await p.edgehook(["setup"]);
    const adminToken = p.calls().find((c) => c.args.join(" ") === "secret put ADMIN_TOKEN")!.stdin;
    const { output } = await p.edgehook(["deploy"]);
    expect(p.connection()).toMatchObject({ url: "https://edgehook.example-sub.workers.dev", token: adminToken });
    expect(output).toContain("Deployed https://edgehook.example-sub.workers.dev");
  });

  it("never pairs the URL it deploys to with a token saved for another deployment", async () => {
    // Secrets set long ago: this deploy makes no admin token, and the one saved is staging's.
    const p = project({ secrets: ["TOKEN_PEPPER", "ADMIN_TOKEN"], deployed: true });
    writeFileSync(p.configFile, JSON.stringify({ url: "https://staging.example", token: "staging-token" }));
    const { output } = await p.edgehook(["deploy"]);
    expect(p.connection()).toMatchObject({ url: "https://edgehook.example-sub.workers.dev", token: undefined });
    expect(p.connection("https://staging.example").token).toBe("staging-token");
    expect(output).toContain("no token is saved for it");
  });

  it("drops a saved token whose URL holds a password as it saves the Worker's URL, as config --url does (such a token was never sent)", async () => {
    const p = project({ secrets: ["TOKEN_PEPPER", "ADMIN_TOKEN"], deployed: true });
    writeFileSync(p.configFile, JSON.stringify({ url: "https://staging.example", tokens: { "https://staging.example": "staging-token", "https://u:SECRETPW@old.example": "old-token" } }));
    expect((await p.edgehook(["deploy"])).output).toContain("Deployed https://edgehook.example-sub.workers.dev");
    const file = readFileSync(p.configFile, "utf8");
    expect(JSON.parse(file).tokens).toEqual({ "https://staging.example": "staging-token" });
    expect(file).not.toContain("SECRETPW");
  });

  it("never pairs a token setup made for another project", async () => {
    const other = project();
    await other.edgehook(["setup"]);
    const p = project({ secrets: ["TOKEN_PEPPER", "ADMIN_TOKEN"], deployed: true });
    // Both projects share one config file, as they would in ~/.config/edgehook.
    await p.edgehook(["deploy", "--config", other.configFile]);
    expect(connection({ config: other.configFile })).toMatchObject({ url: "https://edgehook.example-sub.workers.dev", token: undefined });
  });

  it("runs migration 0034 again after the deploy that follows it, to list what the old Worker made meanwhile, setup having applied it", async () => {
    const p = project({ pending: ["0033_fresh_deliveries", "0034_deliveries_by_id_range", "0035_session_reveal"] });
    mkdirSync(join(p.dir, "migrations"));
    writeFileSync(join(p.dir, "migrations/0034_deliveries_by_id_range.sql"), "SELECT 1;");
    const rerun = "d1 execute DB --remote --file migrations/0034_deliveries_by_id_range.sql";
    // setup applies the migrations; the deploy after it, which applies none, still runs 0034 again.
    await p.edgehook(["setup"]);
    await p.edgehook(["deploy"]);
    const calls = p.calls().map((c) => c.args.join(" "));
    expect(calls.filter((c) => c.startsWith("d1 migrations apply"))).toHaveLength(2);
    expect(calls.slice(-2)).toEqual(["deploy", rerun]);
    // Once it ran, the next deploy does not read every delivery again.
    await p.edgehook(["deploy"]);
    expect(p.calls().map((c) => c.args.join(" ")).slice(calls.length).at(-1)).toBe("deploy");
    const { output } = await p.edgehook(["deploy", "--dry-run"]);
    expect(output.trimEnd().split("\n").slice(-2)).toEqual(["$ wrangler deploy", `$ wrangler ${rerun}    # if setup applied it: lists what the old Worker made meanwhile`]);
  });

  it("records, before applying the migrations, those renamed since the database was migrated (the project's scripts/migration-renames.mjs), and nothing on another database", async () => {
    const withRenames = (account: Partial<Account>) => {
      const p = project(account);
      mkdirSync(join(p.dir, "scripts"));
      copyFileSync(join(root, "scripts/migration-renames.mjs"), join(p.dir, "scripts/migration-renames.mjs"));
      return p;
    };
    const read = ["SELECT type, name, sql FROM sqlite_master", "SELECT name FROM d1_migrations"].map((sql) => `d1 execute DB --remote --json --command ${sql}`);
    const old = withRenames({ applied: ["0042_session_reveals.sql", "0042_rejection_hours.sql"], migrated: true });
    await old.edgehook(["setup"]);
    const calls = old.calls().map((c) => c.args.join(" "));
    const at = calls.indexOf("d1 migrations apply DB --remote");
    expect(calls.slice(at - 3, at)).toEqual([...read, "d1 execute DB --remote --json --command INSERT INTO d1_migrations (name) VALUES ('0044_rejection_hours.sql')"]);

    const current = withRenames({ applied: ["0042_session_reveals.sql", "0044_rejection_hours.sql"], migrated: true });
    await current.edgehook(["setup"]);
    const none = current.calls().map((c) => c.args.join(" "));
    expect(none.slice(none.indexOf("d1 migrations apply DB --remote") - 2).slice(0, 3)).toEqual([...read, "d1 migrations apply DB --remote"]);
  });

  it("--dry-run prints each wrangler argument as a shell reads it back (an SQL command quoted), and that the repairs' later commands hang on the first read", async () => {
    const p = project({ applied: ["0042_session_reveals.sql"], migrated: true });
    mkdirSync(join(p.dir, "scripts"));
    copyFileSync(join(root, "scripts/migration-renames.mjs"), join(p.dir, "scripts/migration-renames.mjs"));
    const { output } = await p.edgehook(["setup", "--dry-run"]);
    expect(output).toContain("$ wrangler d1 execute DB --remote --json --command 'SELECT type, name, sql FROM sqlite_master'\n");
    expect(output).toContain("$ wrangler d1 migrations apply DB --remote\n");
    // The commands that hang on that read's rows, which a dry run does not read, are said to follow, conditionally.
    const lines = output.split("\n");
    const read = lines.indexOf("$ wrangler d1 execute DB --remote --json --command 'SELECT type, name, sql FROM sqlite_master'");
    expect(lines.slice(read + 1, read + 3)).toEqual(["  (then, as that read answers: the migrations table read, and the repairs if any)", "$ wrangler d1 migrations apply DB --remote"]);
  });

  it("stops, exit 1, before applying the migrations, where the project's scripts/migration-renames.mjs exports no repairWith and rowsOf functions", async () => {
    const p = project({ applied: ["0042_rejection_hours.sql"], migrated: true });
    mkdirSync(join(p.dir, "scripts"));
    writeFileSync(join(p.dir, "scripts/migration-renames.mjs"), "export const repairWith = 1;\n");
    const failed = await p.edgehook(["setup"]).then(
      () => null,
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(`${failed?.stdout}${failed?.stderr}`).toContain("exports no repairWith and rowsOf functions");
    expect(`${failed?.stdout}${failed?.stderr}`).not.toMatch(/\n\s+at /);
    expect(p.calls().filter((c) => c.args[0] === "d1" && c.args[1] !== "list" && c.args[1] !== "create")).toEqual([]);
  });

  it.each([
    { name: "0036_event_places", before: "0035_session_reveal", what: "the insert groups' places" },
    { name: "0038_delivery_webhooks", before: "0037_pending_cells", what: "the deliveries' webhooks" },
  ])("runs migration $name again after the deploy that follows it, to pack $what the old Worker stored meanwhile", async ({ name, before }) => {
    const p = project({ pending: [before, name] });
    mkdirSync(join(p.dir, "migrations"));
    writeFileSync(join(p.dir, `migrations/${name}.sql`), "SELECT 1;");
    await p.edgehook(["deploy"]);
    const calls = p.calls().map((c) => c.args.join(" "));
    expect(calls.slice(-2)).toEqual(["deploy", `d1 execute DB --remote --file migrations/${name}.sql`]);
  });

  it("stops on an account without a workers.dev subdomain, saying to register one and deploy again", async () => {
    const p = project({ subdomain: false });
    const failed = await p.edgehook(["deploy"]).then(
      () => null,
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    expect(failed?.code).toBe(1);
    const output = `${failed?.stdout}${failed?.stderr}`;
    expect(output).toContain("no workers.dev subdomain");
    expect(output).toContain("Workers & Pages");
    expect(output).toContain("then run `edgehook deploy` again");
    // The link wrangler gave, with the account in it.
    expect(output).toContain("https://dash.cloudflare.com/0123456789abcdef/workers/onboarding");
    expect(p.account().deployed).toBe(false);
    expect(p.connection().url).not.toBe("https://edgehook.example-sub.workers.dev");
  });

  it("--dry-run prints wrangler deploy after the setup commands", async () => {
    const p = project();
    const { output } = await p.edgehook(["deploy", "--dry-run"]);
    expect(p.calls()).toEqual([]);
    expect(output.trimEnd().split("\n").at(-1)).toBe("$ wrangler deploy");
  });
});
