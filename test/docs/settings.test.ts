// Every setting of wrangler.toml's [vars] is documented where a user looks for it: in
// .dev.vars.example (which `npm run dev` copies) and in the README's configuration tables.
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it, vi } from "vitest";
import { EXAMPLE_SOURCE_SECRETS } from "../../src/domain/secrets";
import { settings } from "../../src/domain/settings";
import { EXAMPLE_ADMIN_TOKEN } from "../../src/domain/tokens";
import { wranglerVars } from "./wrangler-vars";
import { CRON } from "../../scripts/local-cron.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const read = (file: string) => readFileSync(join(ROOT, file), "utf8");

describe("settings", () => {
  const names = Object.keys(wranglerVars());

  it("wrangler.toml's cron trigger fires the maintenance every minute (the contract's), as the local cron does", () => {
    const triggers = /\n\[triggers\]\ncrons = (\[[^\]\n]*\])\n/.exec(read("wrangler.toml"));
    expect(JSON.parse(triggers?.[1] ?? "null")).toEqual(["* * * * *"]);
    expect(CRON).toBe("* * * * *");
  });

  it("wrangler.toml has settings to check", () => {
    expect(names).toEqual(expect.arrayContaining(["RETENTION_DAYS", "SIGNATURE_TOLERANCE_S", "MAX_ATTEMPTS"]));
  });

  it("without wrangler.toml's [vars], the defaults are the contract's (5 s timeout, 15 attempts, 10 days, 300 s tolerance), and wrangler.toml gives the same", () => {
    // The tests run on wrangler.toml's [vars]: only this tells a default that drifted.
    const contract = { deliveryTimeoutMs: 5000, maxAttempts: 15, retentionDays: 10, signatureToleranceSeconds: 300 };
    expect(settings({})).toMatchObject(contract);
    expect(settings(wranglerVars())).toMatchObject(contract);
  });

  it.each(names)("%s is in .dev.vars.example and the README's configuration", (name) => {
    expect(read(".dev.vars.example")).toMatch(new RegExp(`^(# )?${name}=`, "m"));
    expect(read("README.md")).toContain(`\`${name}\``);
  });

  // The secrets are not in wrangler.toml: src/env.ts declares them, and each is documented as the settings are.
  const secrets = [...read("src/env.ts").matchAll(/^\s+([A-Z][A-Z0-9_]*)\?: string;$/gm)].map((m) => m[1]!);

  it("src/env.ts declares secrets to check", () => {
    expect(secrets).toEqual(expect.arrayContaining(["ADMIN_TOKEN", "TOKEN_PEPPER", "PODIUM_WEBHOOK_SECRET", "STANDARD_WEBHOOKS_SECRET"]));
  });

  it.each(secrets)("the secret %s is in .dev.vars.example and the README's configuration", (name) => {
    expect(read(".dev.vars.example")).toMatch(new RegExp(`^(# )?${name}=`, "m"));
    expect(read("README.md")).toContain(`\`${name}\``);
  });

  it("the README shows how to run, test and deploy it with package.json's scripts: npm run dev, npm test, npm run deploy", () => {
    const scripts = Object.keys(JSON.parse(read("package.json")).scripts);
    for (const [command, script] of [["npm run dev", "dev"], ["npm test", "test"], ["npm run deploy", "deploy"], ["npm run db:migrate:remote", "db:migrate:remote"]]) {
      expect(read("README.md")).toContain(command);
      expect(scripts).toContain(script);
    }
  });

  it("operations.md's deploy by hand creates every D1 database, R2 bucket and queue wrangler.toml binds, and puts the secrets (the README's Deploy points there)", () => {
    const toml = read("wrangler.toml");
    const named = (key: string) => [...new Set([...toml.matchAll(new RegExp(`^${key} = "([^"]+)"`, "gm"))].map((m) => m[1]!))];
    const ops = read("docs/operations.md");
    const byHand = ops.slice(ops.indexOf("By hand, the same steps:"), ops.indexOf("## Maintenance"));
    const steps = [
      ...named("database_name").map((n) => `npx wrangler d1 create ${n}`),
      ...named("bucket_name").map((n) => `npx wrangler r2 bucket create ${n}`),
      ...[...named("queue"), ...named("dead_letter_queue")].map((n) => `npx wrangler queues create ${n}`),
      "npm run db:migrate:remote",
      "npx wrangler secret put TOKEN_PEPPER",
      "npx wrangler secret put ADMIN_TOKEN",
      "npm run deploy",
    ];
    expect(steps.filter((step) => !byHand.includes(step))).toEqual([]);
    expect(read("README.md")).toContain("docs/operations.md#deploy");
  });

  it("the ADMIN_TOKEN .dev.vars.example publishes is the one the Worker takes only at a loopback host", () => {
    expect(read(".dev.vars.example")).toMatch(new RegExp(`^ADMIN_TOKEN=${EXAMPLE_ADMIN_TOKEN}$`, "m"));
  });

  it("the source secrets .dev.vars.example publishes are the ones the Worker takes only at a loopback host", () => {
    const value = (name: string) => new RegExp(`^${name}=(.*)$`, "m").exec(read(".dev.vars.example"))?.[1]?.split(/\s+/) ?? [];
    const published = [...value("PODIUM_WEBHOOK_SECRET"), ...value("STANDARD_WEBHOOKS_SECRET")];
    expect(published.length).toBeGreaterThan(0);
    expect(EXAMPLE_SOURCE_SECRETS).toEqual(expect.arrayContaining(published));
  });
});

describe("a setting not used as given (a typo)", () => {
  it("is said in the log once per isolate: its name, why and the value used, never the value given, as operations.md says", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      // Empty, or as given: nothing said.
      settings({ RETRY_BASE_SECONDS: "", RETRY_CAP_SECONDS: "60", RETENTION_DAYS: " 30 " });
      expect(warn).not.toHaveBeenCalled();
      const typos = { RETENTION_DAYS: "30d", SIGNATURE_TOLERANCE_S: "abc", DELIVERY_TIMEOUT_MS: "99999999", MAX_ATTEMPTS: "2.5", REJECTIONS_FLUSH_MS: "-4" };
      expect(settings(typos)).toMatchObject({ retentionDays: 10, signatureToleranceSeconds: 300, deliveryTimeoutMs: 30_000, maxAttempts: 3, rejectionsFlushMs: 5_000 });
      settings(typos);
      const lines = warn.mock.calls.map((c) => c.join(" "));
      expect(lines).toEqual([
        "setting RETENTION_DAYS is not a number; using its default, 10",
        "setting SIGNATURE_TOLERANCE_S is not a number; using its default, 300",
        "setting DELIVERY_TIMEOUT_MS is above 30000; using 30000",
        "setting MAX_ATTEMPTS is not a whole number; using 3",
        "setting REJECTIONS_FLUSH_MS is negative; using its default, 5000",
      ]);
      for (const given of Object.values(typos)) expect(lines.join("\n")).not.toContain(given);
      const doc = read("docs/operations.md").replace(/\s+/g, " ");
      for (const quoted of [lines[0]!, lines[2]!]) expect(doc).toContain(`\`${quoted}\``);
    } finally {
      warn.mockRestore();
    }
  });
});
