// `edgehook setup` and `edgehook deploy`: the Cloudflare resources wrangler.toml
// names, created with wrangler when missing and reused when present. Its spinner, TOML parser,
// prompt and node:crypto are imported where used: every other command starts without loading them.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import pc from "picocolors";
import { configFile, makeFolders, saveDeployed, saveUnpaired } from "../config.js";
import { isObject } from "../guards.js";
import { CliError } from "../errors.js";
import { printable } from "../output.js";
import { jsonOutput, labelledBlocks, queueNames, wranglerRunner, wranglerSaid } from "../wrangler.js";

/** Secrets the Worker reads; the first two are generated when not given (TOKEN_PEPPER only on a Worker with no ADMIN_TOKEN yet). */
const GENERATED = ["TOKEN_PEPPER", "ADMIN_TOKEN"];
const OPTIONAL = ["PODIUM_WEBHOOK_SECRET", "STANDARD_WEBHOOKS_SECRET"];
/**
 * Migrations run again right after the deploy that follows them: until it, the old Worker writes
 * rows they should have listed (docs/operations.md, migrations 0034, 0036 and 0038). Applying one leaves a
 * mark in the project's .wrangler/ (setup may apply it, a deploy may fail), which the first deploy
 * whose re-run succeeded removes: not every deploy, as a re-run reads every stored delivery (0034).
 */
const RERUN_AFTER_DEPLOY = ["0034_deliveries_by_id_range", "0036_event_places", "0038_delivery_webhooks"];
const rerunMark = (/** @type {string} */ dir, /** @type {string} */ name) => join(dir, ".wrangler", `edgehook-rerun-${name}`);
/**
 * The lifecycle rule that expires claim-check bodies left behind (docs/operations.md, "R2: orphaned
 * claim-check bodies"): only under ingest/ (src/store/bodies.ts), as the same bucket keeps parked
 * dead letters under dead-letters/ (src/store/parked.ts) until the maintenance run takes them.
 */
const ORPHANS = { name: "ingest-orphans", prefix: "ingest/", expireDays: 30 };
const PARKED = "dead-letters/";

/**
 * Runs the project's scripts/docs-assets.mjs; a failure is the project's (an install missing or
 * broken), said in one line with the script's own error, never its stack.
 * @param {string} dir @param {string} script
 */
function copyDocsAssets(dir, script) {
  try {
    execFileSync(process.execPath, [script], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  } catch (err) {
    const stderr = isObject(err) && err.stderr ? String(err.stderr) : "";
    const cause = /^\w*Error\b.*$/m.exec(stderr)?.[0];
    throw new CliError(`node scripts/docs-assets.mjs failed${cause ? ` (${printable(cause)})` : ""}: run \`npm install\` in ${dir}, then deploy again`);
  }
}

/** An entry of `wrangler secret list --format json`. @param {unknown} s @returns {s is { name: string }} */
const isNamed = (s) => isObject(s) && typeof s.name === "string";

/** The tables of an array of tables ([[name]]); anything else in its place (a lone [name] table) is none. @param {unknown} v */
const tablesOf = (v) => (Array.isArray(v) ? v.filter(isObject) : []);

/**
 * What wrangler.toml asks for: the D1 database, R2 buckets (the claim-check one is bound as
 * BODIES) and every queue (producers, consumers and their dead-letter queues).
 * @param {string} text @param {string} path the file it was read from, for an error
 */
async function resourcesOf(text, path) {
  const t = await tomlOf(text, path);
  const [db] = Array.isArray(t.d1_databases) ? t.d1_databases : [];
  if (!isObject(db) || !db.database_name) throw new CliError("wrangler.toml declares no [[d1_databases]] with a database_name.");
  const buckets = tablesOf(t.r2_buckets);
  const bodies = buckets.find((b) => b.binding === "BODIES");
  if (!bodies?.bucket_name) throw new CliError("wrangler.toml declares no [[r2_buckets]] with binding BODIES (the claim-check bucket).");
  const declared = isObject(t.queues) ? t.queues : {};
  const queues = new Set();
  for (const p of tablesOf(declared.producers)) queues.add(p.queue);
  for (const c of tablesOf(declared.consumers)) {
    queues.add(c.queue);
    if (c.dead_letter_queue) queues.add(c.dead_letter_queue);
  }
  return {
    worker: String(t.name ?? ""),
    database: { binding: String(db.binding ?? "DB"), name: String(db.database_name), id: String(db.database_id ?? "") },
    buckets: buckets.map((b) => String(b.bucket_name)),
    claimChecks: String(bodies.bucket_name),
    queues: [...queues].map(String),
  };
}

/** The TOML document of a file; one that is not TOML is said by where it fails, as a config file that is not JSON is. @param {string} text @param {string} path */
async function tomlOf(text, path) {
  const { parse, TomlError } = await import("smol-toml");
  try {
    return parse(text);
  } catch (err) {
    if (!(err instanceof TomlError)) throw err;
    // Its message goes on with the lines round the error: the first line says what, without its prefix.
    const what = err.message.split("\n")[0]?.replace(/^Invalid TOML document: /, "");
    throw new CliError(printable(`${path} is not valid TOML at line ${err.line} column ${err.column}${what ? ` (${what})` : ""}; fix it.`));
  }
}

/**
 * wrangler.toml with the database's id written in, comments and layout kept: in a [[d1_databases]]
 * table whose name is a basic ("…") or literal ('…') string. Any other form (an inline table, a
 * name with escapes) is said with the id to paste; the database stays, and a rerun reuses it.
 * @param {string} text @param {string} name @param {string} id @param {string} path
 */
async function withDatabaseId(text, name, id, path) {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const quoted = `(["'])${escaped}\\1`;
  const blocks = text.split(/(?=^\[)/m);
  const out = blocks
    .map((b) => {
      if (!b.startsWith("[[d1_databases]]") || !new RegExp(`^database_name\\s*=\\s*${quoted}`, "m").test(b)) return b;
      return /^database_id\s*=/m.test(b)
        ? b.replace(/^(database_id\s*=\s*)(["'])[^"'\n]*\2/m, `$1"${id}"`)
        : b.replace(/^(database_name\s*=.*)$/m, `$1\ndatabase_id = "${id}"`);
    })
    .join("");
  if ((await resourcesOf(out, path)).database.id !== id) {
    throw new CliError(printable(`Could not write the database id into ${path}: set database_id = "${id}" in its d1_databases entry for ${name} by hand, then run this again (it reuses the database).`));
  }
  return out;
}

/**
 * Refuses an --admin-token the Worker would ignore (docs/security.md#credentials): shorter than 32
 * characters it authenticates nothing, and the published example's only at localhost. Set, it would
 * replace a working one and lock the admin out. The value is never repeated (a CI log).
 * @param {string} token
 */
function checkAdminToken(token) {
  const why =
    token.trim() !== token || !/^[\x20-\x7e]+$/.test(token)
      ? "holds a character no HTTP header carries as it is (printable ASCII only, no spaces round it)"
      : token.length < 32
        ? `is ${token.length} characters, and the Worker ignores an ADMIN_TOKEN shorter than 32`
        : token === "dev-admin-token-for-local-use-only"
          ? "is the published example's, which the Worker takes only at localhost"
          : null;
  if (why) throw new CliError(`--admin-token ${why}: give a random one (\`openssl rand -base64 32\`), or leave it out for a generated one.`, { exitCode: 2 });
}

/** The published example secrets the Worker takes only at localhost (src/domain/secrets.ts): .dev.vars.example's and the API reference's. */
export const EXAMPLE_SECRETS = ["dev-podium-secret", "whsec_ZGV2LXN0YW5kYXJkLXdlYmhvb2tzLXNlY3JldA==", "whsec_replace-with-your-endpoint-signing-secret"];

/**
 * The HMAC keys a secret may give, as the Worker finds them (src/domain/secrets.ts keysOf): its
 * UTF-8, and a `whsec_` one's base64, each without trailing zero bytes (HMAC pads a short key with them).
 * @param {string} secret
 */
const keysOf = (secret) =>
  [Buffer.from(secret), ...(secret.startsWith("whsec_") ? [Buffer.from(secret.slice(6), "base64")] : [])].map((b) => b.toString("latin1").replace(/\0+$/, ""));
const EXAMPLE_KEYS = new Set(EXAMPLE_SECRETS.flatMap(keysOf));

/** Whether a secret gives a published example's key however spelt (unpadded, URL-safe, the key's own text): the Worker takes it only at localhost. @param {string} secret */
export const isExampleSecret = (secret) => keysOf(secret).some((key) => EXAMPLE_KEYS.has(key));

/**
 * Refuses a provider secret from the environment that the deployed Worker would not verify with
 * (docs/providers.md): a published example's, or, in STANDARD_WEBHOOKS_SECRET, a first `whsec_`
 * key that is not base64 of 24 bytes or more (the API's rule for a new secret; a shorter one is
 * ignored or flagged; `atob`'s base64, which leaves no lone character at the end). Never repeats
 * the value.
 * @param {string} name @param {string} value @param {boolean} dryRun
 */
function checkProviderSecret(name, value, dryRun) {
  const given = value.split(/\s+/).filter(Boolean);
  const first = given[0] ?? "";
  const key = first.startsWith("whsec_") ? first.slice(6) : null;
  const bytes = key !== null && /^[A-Za-z0-9+/_-]*={0,2}$/.test(key) && key.replace(/=+$/, "").length % 4 !== 1 ? Buffer.from(key, "base64").length : -1;
  const why = given.some(isExampleSecret)
    ? "holds a published example's (.dev.vars.example, the API reference), which the Worker takes only at localhost"
    : name === "STANDARD_WEBHOOKS_SECRET" && key !== null && bytes < 24
      ? `begins with a whsec_ key that is ${bytes < 0 ? "not base64" : `${bytes} bytes`}: a whsec_ secret must be base64 of at least 24 bytes after the prefix`
      : null;
  if (!why) return;
  const other = name === "STANDARD_WEBHOOKS_SECRET" ? "another (`echo whsec_$(openssl rand -base64 32)`, given to the sender too)" : "the one your Podium webhook settings show";
  // A dry run did none of the steps above: nothing is there to reuse.
  const again = dryRun ? "then run setup again (this dry run ran nothing)." : "then run setup again: the steps above are done, and it reuses them.";
  throw new CliError(`${name} in the environment ${why}; it was not set. Give ${other}, ${again}`, { exitCode: 2 });
}

/**
 * @param {{ dir: string, dryRun: boolean, adminToken?: string, config?: string }} o
 * @returns {Promise<{ adminToken: string | null, worker: string, binding: string }>}
 */
async function setup(o) {
  if (o.adminToken !== undefined) checkAdminToken(o.adminToken);
  const tomlPath = join(o.dir, "wrangler.toml");
  let text;
  try {
    text = readFileSync(tomlPath, "utf8");
  } catch {
    throw new CliError(`No wrangler.toml in ${o.dir}: run this in the Edgehook clone (or pass --dir).`);
  }
  const want = await resourcesOf(text, tomlPath);
  const log = (/** @type {string} */ line) => process.stderr.write(`${line}\n`);
  const wrangler = wranglerRunner({ dir: o.dir, dryRun: o.dryRun, log });
  if (o.dryRun) log(pc.dim("Dry run: the wrangler commands setup runs, none of them run now."));

  /**
   * One step with a spinner; a failed wrangler call stops setup with its output. What needs the
   * terminal (a prompt, an interactive wrangler) runs through `aside`, the spinner stopped: running,
   * it would redraw its line over them.
   * @param {string} what @param {(aside: Aside) => Promise<string | undefined>} work
   */
  async function step(what, work) {
    if (o.dryRun) return void (await work((fn) => fn()));
    const { createSpinner } = await import("nanospinner");
    const spinner = createSpinner(what).start();
    /** @type {Aside} */
    const aside = async (fn) => {
      spinner.stop();
      try {
        return await fn();
      } finally {
        spinner.start();
      }
    };
    try {
      spinner.success({ text: `${what}: ${await work(aside)}` });
    } catch (err) {
      spinner.error({ text: what });
      throw err;
    }
  }
  /** @param {string[]} args @param {{ input?: string, note?: string }} [opts] */
  async function must(args, opts) {
    const r = await wrangler(args, opts);
    if (r.code !== 0) {
      const hint = /login|auth|token/i.test(r.stderr + r.stdout) ? " (not logged in? run `npx wrangler login`)" : "";
      throw new CliError(`wrangler ${args.slice(0, 3).join(" ")} failed${hint}:\n${wranglerSaid(r)}`);
    }
    return r;
  }

  await step(`D1 database ${want.database.name}`, async () => {
    const find = async () => {
      const list = jsonOutput((await must(["d1", "list", "--json"])).stdout);
      const found = (Array.isArray(list) ? list : []).find((d) => isObject(d) && d.name === want.database.name);
      const uuid = isObject(found) ? found.uuid : undefined;
      return typeof uuid === "string" ? uuid : undefined;
    };
    let id = await find();
    let how = "reused";
    if (!id) {
      await must(["d1", "create", want.database.name], { note: "unless it exists" });
      // (Listed again to learn its id; a dry run, which made nothing, would print the list twice.)
      if (!o.dryRun) id = await find();
      how = "created";
    }
    if (o.dryRun) return void log(pc.dim(`  (its database_id is written into wrangler.toml)`));
    if (!id) throw new CliError(`wrangler d1 create ${want.database.name} ran, but the database is not listed.`);
    if (id !== want.database.id) {
      writeFileSync(tomlPath, await withDatabaseId(readFileSync(tomlPath, "utf8"), want.database.name, id, tomlPath));
      how += ", id written into wrangler.toml";
    }
    return `${how} (${id})`;
  });

  await step(`R2 bucket${want.buckets.length === 1 ? "" : "s"} ${want.buckets.join(", ")}`, async () => {
    const have = new Set(labelledBlocks((await must(["r2", "bucket", "list"])).stdout).map((b) => b.name));
    /** @type {string[]} */
    const created = [];
    for (const b of want.buckets) {
      if (have.has(b)) continue;
      await must(["r2", "bucket", "create", b], { note: "unless it exists" });
      created.push(b);
    }
    return created.length ? `created ${created.join(", ")}` : "reused";
  });

  await step(`R2 bucket ${want.claimChecks}, lifecycle rule ${ORPHANS.name}`, async () => {
    const rules = labelledBlocks((await must(["r2", "bucket", "lifecycle", "list", want.claimChecks])).stdout);
    // Rules already there stay as they are (wrangler's add appends, whatever the names listed).
    const there = rules.some((r) => r.name === ORPHANS.name);
    if (!there) {
      const add = ["r2", "bucket", "lifecycle", "add", want.claimChecks, ORPHANS.name, ORPHANS.prefix, "--expire-days", String(ORPHANS.expireDays)];
      await must(add, { note: "unless a rule of that name is there" });
    }
    const parked = rules
      .filter((r) => /Expire objects/.test(r.action ?? "") && (r.prefix === "(all prefixes)" || PARKED.startsWith(r.prefix ?? "") || r.prefix?.startsWith(PARKED)))
      .map((r) => pc.yellow(` (rule ${r.name} expires objects under ${PARKED} too, where parked dead letters wait: docs/operations.md)`));
    return `${there ? "there, kept as it is" : `added: objects under ${ORPHANS.prefix} expire after ${ORPHANS.expireDays} days`}${parked.join("")}`;
  });

  await step(`Queues ${want.queues.join(", ")}`, async () => {
    const have = new Set(queueNames((await must(["queues", "list"])).stdout));
    /** @type {string[]} */
    const created = [];
    for (const q of want.queues) {
      if (have.has(q)) continue;
      const r = await wrangler(["queues", "create", q], { note: "unless it exists" });
      // A queue past the first page of the list is found here, by its name being taken.
      if (r.code !== 0 && !/already (exists|taken)/i.test(r.stderr + r.stdout)) {
        throw new CliError(`wrangler queues create ${q} failed:\n${wranglerSaid(r)}`);
      }
      if (r.code === 0) created.push(q);
    }
    return created.length ? `created ${created.join(", ")}` : "reused";
  });

  await step("Migrations", async () => {
    // A database migrated at a commit whose migrations were renamed or edited since: the project's own
    // repairs (scripts/migration-renames.mjs; none on any other database) go first.
    const renames = join(o.dir, "scripts", "migration-renames.mjs");
    if (existsSync(renames)) {
      const { repairWith, rowsOf } = await import(pathToFileURL(renames).href);
      // The project's own file, of whatever commit it is at: one without these functions is no repair to run.
      if (typeof repairWith !== "function" || typeof rowsOf !== "function") {
        throw new CliError(`${renames} exports no repairWith and rowsOf functions: this CLI cannot repair the migrations' names with it; update the project (git pull) or the CLI`);
      }
      await repairWith(async (/** @type {string} */ sql) => rowsOf(jsonOutput((await must(["d1", "execute", want.database.binding, "--remote", "--json", "--command", sql])).stdout)));
      // What the script runs next depends on rows a dry run did not read.
      if (o.dryRun) log(pc.dim(`  (then, as that read answers: the migrations table read, and the repairs if any)`));
    }
    const applied = (await must(["d1", "migrations", "apply", want.database.binding, "--remote"])).stdout;
    for (const name of RERUN_AFTER_DEPLOY.filter((n) => applied.includes(n))) {
      makeFolders(join(o.dir, ".wrangler"));
      writeFileSync(rerunMark(o.dir, name), "run again after the next deploy (docs/operations.md)\n");
    }
    return "applied (those already applied are skipped)";
  });

  let adminToken = null;
  let pepperUnset = false;
  try {
    await step("Secrets", async (aside) => {
      const listed = await wrangler(["secret", "list", "--format", "json"]);
      const secrets = jsonOutput(listed.stdout);
      // A Worker not deployed yet has none (code 10007); any other failure must not be read as
      // none, or TOKEN_PEPPER would be made anew, ending every token and session.
      const notYet = listed.code !== 0 && /\b10007\b/.test(listed.stdout + listed.stderr);
      // A list of anything but named secrets is no list either: read as one, it would name none.
      const listedNames = Array.isArray(secrets) && secrets.every(isNamed) ? secrets.map((s) => s.name) : null;
      if (!o.dryRun && !notYet && (listed.code !== 0 || listedNames === null)) {
        throw new CliError(
          `could not list the Worker's secrets (wrangler secret list: ${wranglerSaid(listed).split("\n").pop()}), so no secret was set or changed; ` +
            "the steps above are done, and running setup again is safe: it reuses what they made",
        );
      }
      const names = new Set(listedNames ?? []);
      const { randomBytes } = await import("node:crypto");
      /** @type {string[]} */
      const put = [];
      for (const name of GENERATED) {
        if (names.has(name) && !(name === "ADMIN_TOKEN" && o.adminToken)) continue;
        // A Worker with an ADMIN_TOKEN but no TOKEN_PEPPER runs on the built-in one: setting one now is a
        // rotation, which ends every scoped token, admin session and list cursor (docs/operations.md).
        // Without an ADMIN_TOKEN no token or session was ever made (a provider secret set by hand first).
        if (name === "TOKEN_PEPPER" && names.has("ADMIN_TOKEN")) {
          pepperUnset = true;
          continue;
        }
        const value = name === "ADMIN_TOKEN" ? (o.adminToken ?? randomBytes(32).toString("base64url")) : randomBytes(32).toString("base64url");
        const note = name === "TOKEN_PEPPER" ? "only when the Worker has no ADMIN_TOKEN yet (a first setup); the value goes on stdin" : "unless set; the value goes on stdin";
        await must(["secret", "put", name], { input: value, note });
        if (name === "ADMIN_TOKEN") adminToken = value;
        put.push(name);
      }
      for (const name of OPTIONAL) {
        if (names.has(name)) continue;
        const value = process.env[name];
        if (value) {
          checkProviderSecret(name, value, o.dryRun);
          await must(["secret", "put", name], { input: value, note: `if ${name} is set in the environment` });
          put.push(name);
        } else if (o.dryRun) {
          log(`$ wrangler secret put ${name}    # if ${name} is set in the environment (or answered at the prompt)`);
        } else if (process.stdin.isTTY) {
          // wrangler asks for the value itself, hidden.
          const r = await aside(async () => ((await ask(`Set ${name} now? [y/N] `)) ? wrangler(["secret", "put", name], { interactive: true }) : undefined));
          if (r && r.code !== 0) {
            const before = put.length ? ` (${put.join(", ")} set before it)` : "";
            throw new CliError(`wrangler secret put ${name} failed, its output above${before}: ${name} is not set; set it with \`npx wrangler secret put ${name}\`, or run setup again`);
          }
          if (r) put.push(name);
        }
      }
      const missing = OPTIONAL.filter((n) => !names.has(n) && !put.includes(n));
      return `${put.length ? `set ${put.join(", ")}` : "already set"}${missing.length === OPTIONAL.length ? pc.yellow(` (no provider secret yet: ${OPTIONAL.join(" or ")})`) : ""}`;
    });
  } finally {
    if (pepperUnset) {
      log(
        pc.yellow(
          "TOKEN_PEPPER is not set: this Worker, which has an ADMIN_TOKEN, runs on the built-in pepper, and setup leaves it so. " +
            "Setting one now would end every scoped token, the admin dashboard sessions and list cursors; " +
            "to set it, follow docs/operations.md#rotating-token_pepper (`npx wrangler secret put TOKEN_PEPPER`, then make the tokens again).",
        ),
      );
    }
    // Shown and kept even when a secret after it failed: the Worker has it now.
    if (adminToken && !o.dryRun) {
      // The Worker's URL is not known here: the token is kept unpaired, sent nowhere, until
      // deploy pairs it with the URL (never with the URL saved before, another deployment's maybe).
      const path = configFile(o.config);
      // One given with --admin-token is known already, and not echoed into a terminal or a CI log.
      // A generated one is shown before it is saved: the Worker has it now, and a config file that
      // cannot be written must not leave it known to nobody (a next setup keeps the one set).
      const shown = o.adminToken ? "set to the one --admin-token gave" : `${pc.bold(adminToken)}  (shown this once)`;
      log(`ADMIN_TOKEN: ${shown}; kept in ${path} until \`edgehook deploy\` saves it with the Worker's URL`);
      saveUnpaired(path, { dir: o.dir, worker: want.worker, token: adminToken });
    }
  }
  return { adminToken, worker: want.worker, binding: want.database.binding };
}

/**
 * What to do when wrangler deploy stopped for want of a workers.dev subdomain, which it registers
 * only when asked on a terminal (a deploy here runs with CI=true); else "".
 * @param {string} output
 */
function noSubdomain(output) {
  if (!/register a workers\.dev subdomain/i.test(output)) return "";
  const link = /https:\/\/dash\.cloudflare\.com\/\S*workers\/onboarding/.exec(output)?.[0];
  return (
    `: this Cloudflare account has no workers.dev subdomain yet, and the Worker is served on one. ` +
    `Register one in the Cloudflare dashboard (Workers & Pages${link ? `: ${link}` : ""}), then run \`edgehook deploy\` again ` +
    `(what setup made is kept)`
  );
}

/** @typedef {<T>(fn: () => Promise<T>) => Promise<T>} Aside */

/** A yes/no question on the terminal. @param {string} question */
async function ask(question) {
  const { createInterface } = await import("node:readline/promises");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/** @param {import("commander").Command} program */
export function registerSetup(program) {
  const common = (/** @type {import("commander").Command} */ cmd) =>
    cmd
      .option("--dry-run", "print every wrangler command instead of running it")
      .option("--dir <dir>", "the Edgehook project (where wrangler.toml is)", ".")
      .option("--admin-token <token>", "ADMIN_TOKEN to set (default: generated once, printed, and saved by deploy with the Worker's URL)")
      .option("--config <file>", "the CLI's config file, where the token and URL are saved");
  common(program.command("setup"))
    .description("create (or reuse) the D1 database, R2 bucket, its lifecycle rule and queues, write the database id, migrate, set secrets")
    .addHelpText(
      "after",
      `
Needs \`npx wrangler login\` once. Safe to run again: what exists is reused, secrets already set
are kept. TOKEN_PEPPER is generated only on a Worker with no ADMIN_TOKEN yet (set later, it would end every
scoped token: docs/operations.md#rotating-token_pepper). PODIUM_WEBHOOK_SECRET and STANDARD_WEBHOOKS_SECRET are taken from the environment when
set there, else asked for on a terminal.`,
    )
    .action(async (o) => {
      await setup({ dir: resolve(o.dir), dryRun: !!o.dryRun, adminToken: o.adminToken, config: o.config });
      if (!o.dryRun) process.stderr.write(`${pc.green("Ready.")} Deploy with \`edgehook deploy\`.\n`);
    });
  common(program.command("deploy"))
    .description("setup (what is missing), then wrangler deploy; saves the Worker's URL, with the admin token setup made, to the config file")
    .action(async (o) => {
      const dir = resolve(o.dir);
      // The /docs reference bundle is a static asset copied from node_modules, not committed (npm run deploy does the same):
      // copied first, so that a folder never installed, or an install broken, is said before setup sets any secret.
      const assets = join(dir, "scripts/docs-assets.mjs");
      if (existsSync(assets) && !existsSync(join(dir, "node_modules"))) throw new CliError(`${dir} has no node_modules: run \`npm install\` there, then deploy again`);
      if (existsSync(assets)) {
        if (o.dryRun) process.stderr.write(`$ node scripts/docs-assets.mjs\n`);
        else copyDocsAssets(dir, assets);
      }
      const { worker, binding } = await setup({ dir, dryRun: !!o.dryRun, adminToken: o.adminToken, config: o.config });
      const rerun = RERUN_AFTER_DEPLOY.filter((name) => (o.dryRun || existsSync(rerunMark(dir, name))) && existsSync(join(dir, "migrations", `${name}.sql`)));
      const wrangler = wranglerRunner({ dir, dryRun: !!o.dryRun, log: (l) => process.stderr.write(`${l}\n`) });
      const r = await wrangler(["deploy"]);
      const again = (/** @type {string} */ name) => ["d1", "execute", binding, "--remote", "--file", `migrations/${name}.sql`];
      if (o.dryRun) {
        for (const name of rerun) await wrangler(again(name), { note: "if setup applied it: lists what the old Worker made meanwhile" });
        return;
      }
      process.stderr.write(r.stdout);
      if (r.code !== 0) throw new CliError(`wrangler deploy failed${noSubdomain(r.stdout + r.stderr)}:\n${wranglerSaid(r)}`);
      for (const name of rerun) {
        const ran = await wrangler(again(name));
        if (ran.code === 0) rmSync(rerunMark(dir, name), { force: true });
        else {
          process.stderr.write(pc.yellow(`Running ${name} again failed; run it by hand (docs/operations.md): npx wrangler ${again(name).join(" ")}\n${wranglerSaid(ran)}\n`));
        }
      }
      const url = /https:\/\/[^\s]+\.workers\.dev/.exec(r.stdout)?.[0];
      const path = configFile(o.config);
      if (!url) {
        process.stderr.write(`${pc.green("Deployed")} (wrangler printed no workers.dev URL: save yours with \`edgehook config --url <it> --token …\`)\n`);
        return;
      }
      const token = saveDeployed(path, url, { dir, worker });
      process.stderr.write(
        `${pc.green("Deployed")} ${url}  (saved to ${path}` +
          (token ? `; try \`edgehook events list\`)\n` : `; no token is saved for it: \`edgehook config --token <its ADMIN_TOKEN>\`)\n`),
      );
    });
}
