// `edgehook send` (and its alias `npm run send`): a correctly signed sample Podium event.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { answerMisfit } from "../answer-shape.js";
import { notTheApi } from "../client.js";
import { apiUrl, DEFAULT_URL, DEV_VARS_FILES, devVarFrom, isLoopback, timeoutMs, timeoutSignal, urlFromEnv } from "../config.js";
import { CliError } from "../errors.js";
import { isObject } from "../guards.js";
import { rangeText } from "../openapi.js";
import { printable, printJsonLine } from "../output.js";
import { NOT_FOLLOWED, redirectOf, sameHostTarget } from "../redirect.js";
import { FIXTURE_LOCATION, FIXTURE_ORGANIZATION, PODIUM_TYPES, fixtureName, podiumSample } from "../samples/podium.js";
import { wholeIn } from "./common.js";

/** --count: at least one (none would send nothing and say nothing); no API field bounds it. */
const COUNT = { min: 1, max: Number.MAX_SAFE_INTEGER };
/** --port: a TCP port a local stack listens on. */
const PORT = { min: 1, max: 65535 };
/** A source id: the Worker's SOURCE_ID (src/domain/ids.ts), copied (the CLI cannot import Worker code) and held equal by test/cli/args.test.ts. */
export const SOURCE_ID = /^[a-z0-9-]{1,64}$/;
/** An ingress path, `…/webhooks/<source>` (the API's base URL may have a path of its own), and the source it names. */
const INGRESS_PATH = /\/webhooks\/([^/]+)\/?$/;
/** What each option that takes a value from the body is, for an empty one's refusal. */
const BODY_VALUES = /** @type {const} */ ([["type", "type", "an event type"], ["location", "location", "a location uid"], ["organization", "organization", "an organization uid"], ["event-uid", "eventUid", "an event uid"]]);

/**
 * A body in the shape Podium documents for the type's object (`samples/*.json`),
 * with its type, event uid, location and organization filled in.
 * @param {string} type @param {string} locationUid @param {string} organizationUid @param {string} [eventUid]
 */
function sampleEvent(type, locationUid, organizationUid, eventUid = crypto.randomUUID()) {
  return podiumSample(JSON.parse(fixtureOf(type)), { type, eventUid, locationUid, organizationUid });
}

/** The text of the type's fixture (samples/podium.js fixtureName). @param {string} type */
function fixtureOf(type) {
  return readFileSync(new URL(`../samples/${fixtureName(type)}.json`, import.meta.url), "utf8");
}

/** How many single-character edits turn `a` into `b` (Levenshtein), a row at a time. @param {string} a @param {string} b */
function edits(a, b) {
  const bs = [...b];
  let row = bs.map((_, j) => j + 1);
  for (const [i, ca] of [...a].entries()) {
    let diagonal = i;
    row = row.reduce((next, above, j) => {
      next.push(Math.min(above + 1, (next[j - 1] ?? i + 1) + 1, diagonal + (ca === bs[j] ? 0 : 1)));
      diagonal = above;
      return next;
    }, /** @type {number[]} */ ([]));
  }
  return row[bs.length - 1] ?? [...a].length;
}

/**
 * What to say of a type Podium does not send (a typo, most likely: `message.recieved`), naming the
 * nearest one it does, or undefined: the event is sent all the same (the ingress takes any type).
 * @param {string} type
 */
function unknownTypeWarning(type) {
  if (PODIUM_TYPES.includes(type)) return undefined;
  // (The first of equals: the catalog's order.)
  const closest = PODIUM_TYPES.map((t) => ({ t, d: edits(type, t) })).reduce((best, c) => (c.d < best.d ? c : best)).t;
  return `warning: "${printable(type)}" is not a Podium event type; the closest is "${closest}". Sending it as given.`;
}

/**
 * The ingress URL: `--url` as given when its path ends in /webhooks/<source>, `--url` + /{source}
 * when it ends in /webhooks (an ingress URL missing its source), else the API base (`--url`,
 * `--port`, EDGEHOOK_URL, else the local stack's) + /webhooks/{source}. Not the URL the config
 * file saves: after `edgehook deploy` that is the deployment's, and the README's tour (`npm run
 * send`) would post its samples there.
 * @param {{ url?: string, port?: number, source: string, sourceGiven?: boolean }} o (port: a whole number in PORT, as its option parses it; sourceGiven: --source was on the command line)
 */
export function ingressUrl(o) {
  // The API's webhooks route, however reached (…/v1/webhooks/x, …/v1/webhooks, or …/v1 as a base): a signed event is no request there.
  const apiRoute = (/** @type {string} */ u) => URL.canParse(u) && /\/v1\/webhooks(\/|$)/.test(new URL(u).pathname);
  const url = o.url !== undefined && apiRoute(o.url) ? o.url : ingressTarget(o);
  if (apiRoute(url)) throw new CliError("--url leads to the API's webhooks (/v1/webhooks/…), not an ingress: give …/webhooks/<source>, or the API's base URL.", { exitCode: 2 });
  return url;
}

/** ingressUrl's URL, before its check. @param {Parameters<typeof ingressUrl>[0]} o */
function ingressTarget(o) {
  // A path (../v1/tokens) or query in it would post elsewhere than a source's ingress.
  if (!SOURCE_ID.test(o.source)) throw new CliError(`--source: "${printable(o.source)}" is no source id (lowercase letters, digits and -, at most 64).`, { exitCode: 2 });
  // The API commands' rule (a URL with a password is refused without quoting it); the ingress URL is sent as given.
  if (o.url !== undefined) apiUrl(o.url, "--url");
  // Both name the target: one would be dropped unsaid (--port, a local stack's, while --url sends elsewhere).
  if (o.url !== undefined && o.port !== undefined) throw new CliError("--url and --port both name where to send: give one (--port N is http://127.0.0.1:N).", { exitCode: 2 });
  const path = o.url ? new URL(o.url).pathname : "";
  const named = path.match(INGRESS_PATH)?.[1];
  if (o.url && named !== undefined) {
    // What the Worker would refuse or take for another route, said before a signed event goes there.
    if (path.endsWith("/")) throw new CliError(`--url: an ingress URL ends with its source, no slash after it (…/webhooks/${printable(named)}).`, { exitCode: 2 });
    if (!SOURCE_ID.test(named)) throw new CliError(`--url: "${printable(named)}" is no source id (lowercase letters, digits and -, at most 64).`, { exitCode: 2 });
    // So do these: one would be dropped unsaid.
    if (o.sourceGiven && named !== o.source) throw new CliError(`--url names the source "${printable(named)}" and --source "${o.source}": give one (an ingress URL names its source).`, { exitCode: 2 });
    return o.url;
  }
  if (o.url && /\/webhooks\/?$/.test(path)) return `${o.url.replace(/\/+$/, "")}/${o.source}`;
  const env = urlFromEnv();
  const base = o.url ?? (o.port ? `http://127.0.0.1:${o.port}` : env !== undefined ? apiUrl(env, "EDGEHOOK_URL") : DEFAULT_URL);
  return `${base.replace(/\/+$/, "")}/webhooks/${o.source}`;
}

/** @param {import("commander").Command} program */
export function registerSend(program) {
  program
    .command("send")
    .description("send a correctly signed sample Podium event to the ingress and print the answer")
    .option("--type <type>", "event type", "message.received")
    .option("--location <uid>", "location uid", "0d4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7")
    .option("--organization <uid>", "organization uid", "8e9f0a1b-2c3d-4e5f-a6b7-c8d9e0f1a2b3")
    .option("--event-uid <uid>", "metadata.eventUid (the dedupe key); random by default")
    .option("--source <id>", "source id", "podium")
    .option("--url <url>", "the ingress URL, or the API's base URL (env EDGEHOOK_URL)")
    .option("--port <port>", "a local stack's port, when no --url (default: EDGEHOOK_URL, else 8787; never the config file's URL)", wholeIn(PORT))
    .option("--secret <secret>", "signing secret (default: the first PODIUM_WEBHOOK_SECRET of .dev.vars, else of .dev.vars.example)")
    .option("--count <n>", `how many events (${rangeText(COUNT)})`, wholeIn(COUNT), 1)
    .option("--json", "one JSON line per answer")
    .addHelpText("after", "\nSigns like Podium: podium-signature = hex HMAC-SHA256(secret, `${podium-timestamp}.${body}`).")
    .action(async (o, cmd) => {
      // An unset shell variable's: an event of no type, or the sample's field left empty.
      for (const [flag, key, what] of BODY_VALUES) {
        if (o[key] === "") throw new CliError(`--${flag}: empty; give ${what}, or leave it out.`, { exitCode: 2 });
      }
      // A review names only its location and a contact only its organization, as Podium's do: the
      // other, given, would be dropped unsaid, and a webhook of it would wait for an event that never names it.
      for (const [flag, fixtureUid] of /** @type {const} */ ([["location", FIXTURE_LOCATION], ["organization", FIXTURE_ORGANIZATION]])) {
        if (cmd.getOptionValueSource(flag) === "cli" && !fixtureOf(o.type).includes(fixtureUid)) {
          throw new CliError(`--${flag}: a ${o.type.split(".")[0]} event names no ${flag} (nor do Podium's); leave it out.`, { exitCode: 2 });
        }
      }
      const url = ingressUrl({ ...o, sourceGiven: cmd.getOptionValueSource("source") === "cli" });
      const warning = unknownTypeWarning(o.type);
      if (warning) process.stderr.write(`${warning}\n`);
      const local = o.secret === undefined ? devVarFrom("PODIUM_WEBHOOK_SECRET") : undefined;
      const secret = o.secret ?? local?.value.split(/\s+/)[0];
      if (!secret) throw noSecret(o.secret);
      const timeout = timeoutMs();
      /** A POST that failed or was not answered, in one line (its answer too is read under the timeout). @param {unknown} err @returns {never} */
      const unsent = (err) => {
        // `npm run dev` is the likely cause only at this machine: a deployment's URL is more likely mistyped.
        const hint = isLoopback(url) ? "Is `npm run dev` running (on another port: --port N, or EDGEHOOK_URL)?" : "Is the URL right (the Worker's base URL, or its …/webhooks/<source>)?";
        const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
        const why = err instanceof Error && err.name === "TimeoutError" ? `no answer within ${timeout / 1000} s (the event may still have been received)` : (cause instanceof Error ? cause.message : String(cause)).trim();
        throw new CliError(`POST ${url} failed: ${printable(why)}. ${hint}`);
      };
      // Loaded here, not up front: a usage error, or --help, needs no node:crypto.
      const { createHmac } = await import("node:crypto");
      let failed = 0;
      /** @type {Set<string>} */
      const hinted = new Set();
      for (let i = 0; i < o.count; i++) {
        const body = JSON.stringify(sampleEvent(o.type, o.location, o.organization, o.eventUid));
        const timestamp = String(Date.now());
        const signature = createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
        const res = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", "podium-timestamp": timestamp, "podium-signature": signature },
          body,
          ...NOT_FOLLOWED,
          signal: timeoutSignal(timeout),
        }).catch(unsent);
        const text = await res.text().catch(unsent);
        // A redirect is said by where it points, not its body (which may quote its query).
        const redirect = redirectOf(res.status, res.headers.get("location"), url);
        // Another program's 2xx on the port (`200 {"status":"ok"}`) queued nothing: the ingress answers an
        // event 202 with its id (its 200 is a Slack handshake's, which a Podium event never is).
        if (res.ok) {
          const json = /\bjson\b/i.test(res.headers.get("content-type") ?? "");
          const why = !json ? "not its JSON" : res.status !== 202 ? "the ingress answers an event 202" : answerMisfit("POST", "/webhooks/{sourceId}", 202, safeJson(text));
          if (why) throw notTheApi(res.status, why);
        }
        const answer = redirect ? { location: redirect.to } : { answer: safeJson(text) };
        if (o.json) printJsonLine({ url, type: o.type, status: res.status, ...answer });
        else process.stdout.write(`POST ${printable(url)} (${printable(o.type)}) → ${res.status} ${printable(redirect ? `redirect to ${redirect.to}` : text)}\n`);
        if (!res.ok) failed++;
        // The source the URL names (a --url may name one of its own).
        const source = new URL(url).pathname.match(INGRESS_PATH)?.[1] ?? o.source;
        const hint = redirect ? redirectHint(redirect, url) : refusalHint(safeJson(text), source, local ? `the first PODIUM_WEBHOOK_SECRET of ${resolve(local.file)}` : "the secret given with --secret", Boolean(local) && isLoopback(url));
        // Once a run: a --count of refusals would repeat it at each.
        if (hint && !hinted.has(hint)) {
          hinted.add(hint);
          process.stderr.write(`${hint}\n`);
        }
      }
      if (failed) process.exitCode = 1;
    });
}

/**
 * No secret to sign with: `--secret` given empty, or none in the settings of the folder it runs in,
 * named by their absolute paths (run elsewhere, `.dev.vars` alone did not say which folder's).
 * @param {string | undefined} given
 */
function noSecret(given) {
  if (given !== undefined) return new CliError("--secret: empty; give the source's signing secret.", { exitCode: 2 });
  const [file, example] = DEV_VARS_FILES.map((f) => resolve(f));
  return new CliError(
    `No secret: pass --secret, or run it in the Edgehook project folder. It looked for PODIUM_WEBHOOK_SECRET in ${file} (else ${example}), of the folder it ran in, and found none.`,
    { exitCode: 2 },
  );
}

/**
 * What to do about an ingress URL that redirects (http:// to https://, most often): send to where it
 * points, when that is the same host (sameHostTarget).
 * @param {NonNullable<ReturnType<typeof redirectOf>>} r @param {string} asked
 */
function redirectHint(r, asked) {
  // Not one with a query, which may hold a secret and is not printed.
  const there = sameHostTarget(r, asked);
  const give = there && !there.search && !there.hash ? `give the URL it redirects to: --url ${there.origin}${there.pathname}` : "is the URL right (https?)";
  return printable(`The ingress URL redirects, and send does not follow (the POST would go on as a GET, without its event): ${give}.`);
}

/**
 * What to do about the ingress refusing the signature `send` made (a newcomer's usual first
 * miss: a source of another provider, or one with a secret of its own), or undefined.
 * @param {unknown} answer @param {string} source @param {string} secretFrom where the secret came from
 * @param {boolean} [localSettings] the secret was read from the folder's settings and sent to this machine
 */
function refusalHint(answer, source, secretFrom, localSettings = false) {
  const error = isObject(answer) && isObject(answer.error) ? answer.error : undefined;
  // Past 20 refusals a minute the ingress answers 429, saying what it refused.
  const code = error?.code === "rate_limited" && isObject(error.details) ? error.details.reason : error?.code;
  if (code === "missing_signature") {
    return `\`edgehook send\` signs as Podium does (podium-timestamp, podium-signature); the source "${printable(source)}" checks another provider's signature: send to a Podium source (\`edgehook sources list\` shows each one's provider).`;
  }
  if (code === "invalid_signature") {
    // The local stack reads .dev.vars once, when it starts: a secret changed there since (a
    // rotation tried locally) signs what the running server does not know yet.
    const restart = localSettings ? " If you changed that file since `npm run dev` started, restart it: wrangler reads .dev.vars only when it starts." : "";
    return `Signed with ${secretFrom}, not a secret of the source "${printable(source)}": pass one of its secrets with --secret.${restart}`;
  }
  return undefined;
}

function safeJson(/** @type {string} */ text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
