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

beforeAll(() => {
  const r = spawnSync(process.execPath, [join(root, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", out], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    timeout: 120_000,
  });
  expect(r.status, r.stderr).toBe(0);
  bundle = readFileSync(join(out, "index.js"), "utf8");
}, 150_000);

afterAll(() => rmSync(out, { recursive: true, force: true }));

it("carries zod's English messages and none of its other locales (wrangler.toml's alias)", () => {
  // zod's English, German and Japanese messages, as its locale files write them (booleans: a failure would print the bundle).
  expect(bundle.includes("Invalid input"), "English").toBe(true);
  expect(bundle.includes("Zeichen"), "German").toBe(false);
  expect(bundle.includes("無効な入力"), "Japanese").toBe(false);
});

it("is at most 300 KB gzip", () => {
  expect(gzipSync(bundle).length).toBeLessThanOrEqual(300_000);
});
