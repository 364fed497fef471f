// The Worker as `npm run deploy` uploads it: under the bundle target of docs/performance.md.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");
const out = mkdtempSync(join(tmpdir(), "edgehook-bundle-"));
let bundle = "";
// esbuild's metafile: each input file and the imports it makes, as written (`original`) and as
// resolved (`path`), and how (`kind`: "import-statement", "dynamic-import"…).
let inputs: Record<string, { imports: { path: string; kind: string; original?: string }[] }> = {};

beforeAll(() => {
  const r = spawnSync(process.execPath, [join(root, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", out, "--metafile", join(out, "meta.json")], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    timeout: 120_000,
  });
  expect(r.status, r.stderr).toBe(0);
  bundle = readFileSync(join(out, "index.js"), "utf8");
  inputs = JSON.parse(readFileSync(join(out, "meta.json"), "utf8")).inputs;
}, 150_000);

afterAll(() => rmSync(out, { recursive: true, force: true }));

it("carries zod's English messages and none of its other locales (the alias of \"zod\" leaves z.locales out)", () => {
  // zod's English, German and Japanese messages, as its locale files write them (booleans: a failure would print the bundle).
  expect(bundle.includes("Invalid input"), "English").toBe(true);
  expect(bundle.includes("Zeichen"), "German").toBe(false);
  expect(bundle.includes("無効な入力"), "Japanese").toBe(false);
});

it("carries only the zod the app uses: @hono/zod-openapi's zod is src/domain/zod.ts (wrangler.toml's alias), not zod's whole z", () => {
  expect(inputs["node_modules/@hono/zod-openapi/dist/index.mjs"]?.imports).toContainEqual(
    expect.objectContaining({ original: "zod", path: "src/domain/zod.ts" }),
  );
  // z.compile's and z.fromJSONSchema's errors, as zod writes them (booleans: a failure would print the bundle).
  expect(bundle.includes("z.compile does not support"), "z.compile").toBe(false);
  expect(bundle.includes("Conditional schemas (if/then/else) are not supported"), "z.fromJSONSchema").toBe(false);
});

it("is at most 300 KB gzip", () => {
  expect(gzipSync(bundle).length).toBeLessThanOrEqual(300_000);
});

/**
 * The modules the Worker evaluates at startup: those src/index.ts reaches by static imports. In
 * wrangler's one-file bundle esbuild wraps a module reached only by `import()` in an init function
 * that runs when the import does, so its top level (and its own imports') waits until then.
 */
function startupModules(): Set<string> {
  const seen = new Set<string>();
  const next = ["src/index.ts"];
  for (let file = next.pop(); file !== undefined; file = next.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    next.push(...(inputs[file]?.imports ?? []).filter((i) => i.kind !== "dynamic-import").map((i) => i.path));
  }
  return seen;
}

it("starts without the API, the dashboard or the docs: the app is imported on first use, the ack path and consumers never load it", () => {
  const startup = startupModules();
  // The ingress, the queue consumers, the cron and the Durable Objects are all there (the walk is not empty)...
  for (const file of ["src/ingress/receive.ts", "src/pipeline/ingest.ts", "src/maintenance/cron.ts", "src/listen/hub.ts", "src/pipeline/scheduler.ts"]) {
    expect(startup.has(file), file).toBe(true);
  }
  // ...and none of what builds the app...
  const app = [...startup].filter(
    (file) =>
      /^src\/(app\.ts|api\/|dashboard\/)/.test(file) ||
      /^node_modules\/(@hono\/zod-openapi|@asteasolutions\/zod-to-openapi|@scalar)\//.test(file),
  );
  expect(app).toEqual([]);
  // ...which is bundled, reached by the fetch handler's import().
  expect(inputs["src/fetch.ts"]?.imports).toContainEqual(expect.objectContaining({ path: "src/app.ts", kind: "dynamic-import" }));
});

/** Files of the startup that match `pattern`. */
const atStartup = (pattern: RegExp) => [...startupModules()].filter((file) => pattern.test(file));

it("starts without jsonata: a delivery imports the transformation on first use (the API checks expressions in the app)", () => {
  expect(atStartup(/^(node_modules\/jsonata\/|src\/pipeline\/(transform|jsonata-check|jsonata-meter|jsonata-builtins|picture-work)\.ts$)/)).toEqual([]);
  // Bundled, reached by the import() of the module that runs transformations off the app.
  expect(inputs["src/pipeline/outbound.ts"]?.imports).toContainEqual(expect.objectContaining({ path: "src/pipeline/transform.ts", kind: "dynamic-import" }));
  expect(inputs["src/pipeline/transform.ts"]?.imports).toContainEqual(expect.objectContaining({ path: "src/pipeline/jsonata-check.ts" }));
  expect(inputs["src/pipeline/jsonata-check.ts"]?.imports).toContainEqual(expect.objectContaining({ path: "node_modules/jsonata/jsonata.js" }));
});

it("starts without zod: the stored hmac config's guard (a zod schema) is imported by the first source row that has one", () => {
  expect(atStartup(/^(node_modules\/zod\/|src\/domain\/hmac-config\.ts$)/)).toEqual([]);
  // Bundled, reached by the import() of the store module that reads sources.
  expect(inputs["src/store/sources.ts"]?.imports).toContainEqual(expect.objectContaining({ path: "src/domain/hmac-config.ts", kind: "dynamic-import" }));
  expect(inputs["src/domain/hmac-config.ts"]?.imports).toContainEqual(expect.objectContaining({ original: "./zod", path: "src/domain/zod.ts" }));
});
