// `edgehook config`: shows or saves the API URL the other commands use, and the token saved
// for it. A token is saved for one URL and sent to no other.
import { DEFAULT_URL, apiUrl, configFile, defaultConfigShown, headerSafe, isLoopback, localToken, readSaved, saveConnection, urlFromEnv } from "../config.js";
import { CliError } from "../errors.js";

/**
 * A token shown without giving it away: its first four characters (`ehk_` for every scoped one) only
 * when they are a small part of it (16 or more), and, when it is long enough that they leave ~20
 * unknown, its last four, which tell tokens apart; a shorter one by its length alone.
 * @param {string | undefined} token
 */
const masked = (token) => {
  if (token === undefined) return undefined;
  const length = `(${token.length} character${token.length === 1 ? "" : "s"})`;
  return token.length < 16 ? `… ${length}` : `${token.slice(0, 4)}…${token.length >= 28 ? token.slice(-4) : ""} ${length}`;
};

/** @param {import("commander").Command} program */
export function registerConfig(program) {
  program
    .command("config")
    .description("show or save the API URL and the token saved for it (or the local stack's, from .dev.vars)")
    .option("--url <url>", "make this the API base URL the other commands use")
    .option("--token <token>", "save this API token for the URL (--url's, else the one saved)")
    .option("--config <file>", `the config file (env EDGEHOOK_CONFIG; default ${defaultConfigShown()})`)
    .addHelpText(
      "after",
      `
A saved token is sent only to the URL it was saved for: --url or EDGEHOOK_URL naming another
API needs --token or EDGEHOOK_TOKEN. Tokens saved for other URLs are kept for when you switch back.
Against a local URL (loopback) with no token saved, commands send ADMIN_TOKEN of ./.dev.vars (else
./.dev.vars.example): config says so, without showing it.`,
    )
    .action((o) => {
      const path = configFile(o.config);
      // A saved URL that is not one (the file edited by hand) is what --url mends: it does not stop it.
      // Without --url, readSaved refuses it (exit 1), naming the member, not the value.
      const before = readSaved(path, { replacingUrl: o.url !== undefined });
      const beforeUrl = before.url === undefined ? undefined : apiUrl(before.url);
      // The other commands would send to EDGEHOOK_URL: a token given for it, saved for the saved URL instead,
      // would be sent there (another API, or whatever listens on the local port) and not where meant.
      // One that is no http(s) URL is refused as they refuse it (exit 2), not shown as the URL they use,
      // except by a save of --url, which does not read it: that repair is not blocked (null: said below).
      let envUrl;
      try {
        const env = urlFromEnv();
        envUrl = env === undefined ? undefined : apiUrl(env, "EDGEHOOK_URL");
      } catch (err) {
        if (o.url === undefined) throw err;
        envUrl = null;
      }
      if (o.token !== undefined && o.url === undefined && envUrl !== undefined && envUrl !== (beforeUrl ?? DEFAULT_URL)) {
        throw new CliError(
          `EDGEHOOK_URL names ${envUrl}, but --token alone saves the token for ${beforeUrl ?? DEFAULT_URL} (the saved URL): give --url with the URL the token is for.`,
          { exitCode: 2 },
        );
      }
      // Saved, it would be refused by every command after, as not its own mistake: refused here.
      if (o.token !== undefined) headerSafe(o.token, "given with --token");
      if (o.url !== undefined || o.token !== undefined) saveConnection(path, o.url !== undefined ? apiUrl(o.url, "--url") : apiUrl(beforeUrl ?? DEFAULT_URL), o.token);
      const saved = readSaved(path);
      const url = saved.url === undefined ? undefined : apiUrl(saved.url);
      // With no URL saved, commands go to the local stack's: its token is told as theirs.
      const used = url ?? DEFAULT_URL;
      const token = saved.tokens[used];
      // Sent when nothing is saved for a local URL (connection()): its source is told, never its value.
      const local = token === undefined ? localToken(used) : undefined;
      const tokenLine = masked(token) ?? (local ? `from ${local.file} in this folder (its ADMIN_TOKEN, the local stack's; not shown)` : url === undefined ? "(none)" : "(none for this URL)");
      const lines = [path, `url:   ${url ?? `(none saved; commands use ${DEFAULT_URL}, the local stack's)`}`, `token: ${tokenLine}`];
      if (token === undefined && !local && isLoopback(used)) {
        lines.push(
          `commands against a local URL send ADMIN_TOKEN of .dev.vars (else .dev.vars.example) in the folder they run in, and this one has none: run them in the clone that runs the stack, or save a token with \`edgehook config --token …\``,
        );
      }
      if (url !== undefined && token === undefined && beforeUrl !== undefined && beforeUrl !== url && before.tokens[beforeUrl]) {
        lines.push(`the token saved for ${beforeUrl} stays with it and is not sent to ${url}; save one for ${url} with \`edgehook config --token …\``);
      }
      const others = Object.keys(saved.tokens).filter((u) => u !== used);
      if (others.length) lines.push(`tokens also saved for: ${others.join(", ")}`);
      for (const u of saved.unpaired) {
        const whose = u.dir ? `made by setup in ${u.dir}; \`edgehook deploy\` there saves it with the Worker's URL` : "by an earlier version";
        lines.push(`a token saved without its URL (${masked(u.token)}, ${whose}), sent nowhere: edgehook config --url <its URL> --token <it>`);
      }
      // What the environment gives comes before what is saved: said, so that what is shown is what is sent.
      if (envUrl === null) lines.push("note: EDGEHOOK_URL is set to a URL commands refuse (exit 2, `edgehook config` without --url says why): mend or unset it");
      else if (envUrl !== undefined && envUrl !== used) lines.push(`note: EDGEHOOK_URL is set: commands use ${envUrl}, not the URL above`);
      if (process.env.EDGEHOOK_TOKEN !== undefined) lines.push("note: EDGEHOOK_TOKEN is set: commands send it, not the token above");
      if (url !== undefined && new URL(url).protocol === "http:" && !isLoopback(url)) {
        lines.push("note: commands send no token to this http:// URL without --insecure (or EDGEHOOK_INSECURE=1)");
      }
      process.stdout.write(`${lines.join("\n")}\n`);
    });
}
