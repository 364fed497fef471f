// docs/architecture.md against the code: the rules between the layers it states hold in
// the imports of src/.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** Every module of src/, by its path from the repository's root. */
function modules(dir = "src"): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? modules(`${dir}/${e.name}`) : /\.tsx?$/.test(e.name) ? [`${dir}/${e.name}`] : [],
  );
}

/** The names a module imports as values (not `import type`, not `type X`), by the module they come from (its path without extension). */
function valueImports(module: string): Map<string, string[]> {
  const text = readFileSync(join(ROOT, module), "utf8");
  const out = new Map<string, string[]>();
  for (const m of text.matchAll(/^import\s+(type\s+)?\{([^}]*)\}\s+from\s+"(\.[^"]+)"/gm)) {
    if (m[1]) continue;
    const names = m[2]!
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "" && !s.startsWith("type "))
      .map((s) => s.split(/\s+as\s+/)[0]!);
    const from = relative(ROOT, resolve(ROOT, dirname(module), m[3]!)).replace(/\.tsx?$/, "");
    out.set(from, [...(out.get(from) ?? []), ...names]);
  }
  return out;
}

/** The store's writes of a delivery's status (each a `transition` of store/transitions.ts, or a delivery made). */
const DELIVERY_WRITES: Record<string, string[]> = {
  "src/store/deliveries": [
    "insertDeliveries",
    "insertDeliveriesStatements",
    "transition",
    "holdWebhookStatements",
    "holdPending",
    "expireWebhookStatements",
    "expireOwedOfDeleted",
    "recordAttempts",
    "releaseHeld",
    "expireHeld",
  ],
  "src/store/retention": ["retentionStep"],
  "src/store/delivery-retry": ["retryDeliveries"],
  "src/store/events": ["storeEvents"],
  "src/store/webhooks": ["updateWebhook", "deleteWebhook", "disableWebhookStatements"],
};

describe("docs/architecture.md: the layers", () => {
  it("finds the modules and their imports (the checks below are not empty)", () => {
    expect(modules()).toContain("src/maintenance/cron.ts");
    expect(valueImports("src/pipeline/commands.ts").get("src/store/deliveries")).toContain("releaseHeld");
  });

  it("changes a delivery's state only in src/pipeline/commands.ts (and the store it calls)", () => {
    const outside = modules().filter((m) => m !== "src/pipeline/commands.ts" && !m.startsWith("src/store/"));
    const found = outside.flatMap((m) =>
      [...valueImports(m)].flatMap(([from, names]) =>
        names.filter((n) => DELIVERY_WRITES[from]?.includes(n)).map((n) => `${m}: ${n} (${from})`),
      ),
    );
    expect(found).toEqual([]);
  });

  it("sends on the ingest queue only in src/ingress/enqueue.ts, its producer", () => {
    const senders = modules().filter((m) => /\bINGEST\s*\.\s*send/.test(readFileSync(join(ROOT, m), "utf8")));
    expect(senders).toEqual(["src/ingress/enqueue.ts"]);
  });
});
