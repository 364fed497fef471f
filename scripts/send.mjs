#!/usr/bin/env node
// `npm run send -- [flags]`: send a correctly signed sample Podium event and print the answer.
import { createHmac, randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { PODIUM_OBJECTS, podiumSample } from "./podium-sample.mjs";

const { values: o } = parseArgs({
  options: {
    type: { type: "string", default: "message.received" },
    location: { type: "string", default: "0d4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7" },
    organization: { type: "string", default: "8e9f0a1b-2c3d-4e5f-a6b7-c8d9e0f1a2b3" },
    "event-uid": { type: "string" },
    source: { type: "string", default: "podium" },
    url: { type: "string" },
    port: { type: "string", default: "8787" },
    secret: { type: "string" },
    count: { type: "string", default: "1" },
    help: { type: "boolean", short: "h" },
  },
});

if (o.help) {
  console.log(`Usage: npm run send -- [--type message.received] [--location UID] [--organization UID]
                     [--event-uid UID] [--source podium] [--url URL | --port 8787] [--secret S] [--count N]
Signs like Podium: podium-signature = hex HMAC-SHA256(secret, \`\${podium-timestamp}.\${body}\`).
The secret defaults to the first PODIUM_WEBHOOK_SECRET in .dev.vars (or .dev.vars.example).`);
  process.exit(0);
}

function devSecret() {
  for (const file of [".dev.vars", ".dev.vars.example"]) {
    if (!existsSync(file)) continue;
    const m = /^PODIUM_WEBHOOK_SECRET\s*=\s*"?([^"\n]*)"?/m.exec(readFileSync(file, "utf8"));
    if (m) return m[1].trim().split(/\s+/)[0];
  }
  throw new Error("No secret: pass --secret or set PODIUM_WEBHOOK_SECRET in .dev.vars");
}

/** The fixture of a type's object (a message's for types outside Podium's four objects). */
function fixtureOf(/** @type {string} */ type) {
  const object = type.split(".")[0] ?? "";
  const name = PODIUM_OBJECTS.includes(object) ? object : "message";
  return JSON.parse(readFileSync(new URL(`../test/fixtures/podium/${name}.json`, import.meta.url), "utf8"));
}

const url = o.url ?? `http://127.0.0.1:${o.port}/webhooks/${o.source}`;
const secret = o.secret ?? devSecret();
let failed = 0;
for (let i = 0; i < Number(o.count); i++) {
  const body = JSON.stringify(
    podiumSample(fixtureOf(o.type), { type: o.type, eventUid: o["event-uid"] ?? randomUUID(), locationUid: o.location, organizationUid: o.organization }),
  );
  const timestamp = String(Date.now());
  const signature = createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", "podium-timestamp": timestamp, "podium-signature": signature },
    body,
  }).catch((err) => {
    console.error(`POST ${url} failed: ${err.cause?.message ?? err.message}. Is \`npm run dev\` running?`);
    process.exit(1);
  });
  console.log(`POST ${url} (${o.type}) → ${res.status} ${await res.text()}`);
  if (!res.ok) failed++;
}
process.exit(failed ? 1 : 0);
