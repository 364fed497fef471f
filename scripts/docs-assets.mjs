#!/usr/bin/env node
// Copies the API reference's browser bundle (@scalar/api-reference, pinned in package.json) into
// public/docs/, where Workers Static Assets serve it same-origin at /docs/api-reference.js: /docs
// loads no script from a CDN, works offline under `npm run dev`, and the Worker script stays small.
// `npm run dev`, `npm run deploy` and the test configuration run it.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const DOCS_BUNDLE_SOURCE = join(root, "node_modules/@scalar/api-reference/dist/browser/standalone.js");
const DOCS_BUNDLE_TARGET = join(root, "public/docs/api-reference.js");

/** Copies the bundle unless the copy is already the installed one, byte for byte. */
export function copyDocsBundle() {
  const bundle = readFileSync(DOCS_BUNDLE_SOURCE);
  if (existsSync(DOCS_BUNDLE_TARGET) && readFileSync(DOCS_BUNDLE_TARGET).equals(bundle)) return;
  mkdirSync(dirname(DOCS_BUNDLE_TARGET), { recursive: true });
  writeFileSync(DOCS_BUNDLE_TARGET, bundle);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  copyDocsBundle();
  const { version } = JSON.parse(readFileSync(join(root, "node_modules/@scalar/api-reference/package.json"), "utf8"));
  console.log(`public/docs/api-reference.js: @scalar/api-reference ${version}`);
}
