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
// esbuild's metafile: each input file and the imports it makes, as written (`original`) and as resolved (`path`).
let inputs: Record<string, { imports: { path: string; original?: string }[] }> = {};

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

it("carries zod's English messages and none of its other locales (wrangler.toml's alias)", () => {
  // zod's English, German and Japanese messages, as its locale files write them (booleans: a failure would print the bundle).
  expect(bundle.includes("Invalid input"), "English").toBe(true);
  expect(bundle.includes("Zeichen"), "German").toBe(false);
  expect(bundle.includes("無効な入力"), "Japanese").toBe(false);
});

it("replaces zod's own imports of its locale index only: the alias names a relative path any package could write", () => {
  const aliased = Object.entries(inputs).flatMap(([file, { imports }]) =>
    imports.filter((i) => i.original === "../locales/index.js").map((i) => ({ file, to: i.path })),
  );
  expect(aliased.length).toBeGreaterThan(0);
  for (const { file, to } of aliased) {
    expect(file).toMatch(/^node_modules\/zod\//);
    expect(to).toBe("src/api/zod-locales.ts");
  }
});

it("is at most 300 KB gzip", () => {
  expect(gzipSync(bundle).length).toBeLessThanOrEqual(300_000);
});
