// docs/architecture.md against the code: the rules between the layers it states hold in
// the imports of src/, its list of commands is commands.ts's, and its file map names what is there.
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

/** The top-level declarations of src/store/ (functions and constants), each with its text less its comments. */
function storeDeclarations(): { module: string; name: string; exported: boolean; text: string }[] {
  return modules("src/store").flatMap((module) =>
    readFileSync(join(ROOT, module), "utf8")
      .split(/^(?=(?:export\s+)?(?:async\s+)?(?:function|const|let)\s)/m)
      .flatMap((text) => {
        const m = /^(export\s+)?(?:async\s+)?(?:function|const|let)\s+(\w+)/.exec(text);
        const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
        return m ? [{ module: module.replace(/\.tsx?$/, ""), name: m[2]!, exported: m[1] !== undefined, text: code }] : [];
      }),
  );
}

/**
 * The store's writes of a delivery (a status changed by a `transition` of store/transitions.ts, a
 * delivery made or asked for again), by module: every declaration whose SQL writes `deliveries`, and
 * every one that calls one of those, found anew each run, so a write added later is checked too.
 */
function deliveryWrites(): Record<string, string[]> {
  const declarations = storeDeclarations();
  const writes = new Set(declarations.filter((d) => /\b(UPDATE|INSERT INTO|DELETE FROM) deliveries\b/.test(d.text)).map((d) => d.name));
  for (let grew = true; grew; ) {
    grew = false;
    for (const d of declarations) {
      if (writes.has(d.name) || ![...writes].some((w) => new RegExp(`\\b${w}\\(`).test(d.text))) continue;
      writes.add(d.name);
      grew = true;
    }
  }
  const out: Record<string, string[]> = {};
  for (const d of declarations) if (d.exported && writes.has(d.name)) out[d.module] = [...(out[d.module] ?? []), d.name];
  return out;
}

describe("docs/architecture.md: the layers", () => {
  it("finds the modules and their imports (the checks below are not empty)", () => {
    expect(modules()).toContain("src/maintenance/cron.ts");
    expect(valueImports("src/pipeline/commands.ts").get("src/store/deliveries")).toContain("releaseHeld");
    const writes = deliveryWrites();
    expect(writes["src/store/deliveries"]).toEqual(expect.arrayContaining(["transition", "insertDeliveries", "recordAttempts", "releaseHeld", "expirePastRetention"]));
    expect(writes["src/store/delivery-retry"]).toEqual(["retryDeliveries", "askHeld"]);
    expect(writes["src/store/webhooks"]).toEqual(expect.arrayContaining(["updateWebhook", "deleteWebhook"]));
    expect(writes["src/store/events"]).toEqual(["storeEvents"]);
  });

  it("changes a delivery's state only in src/pipeline/commands.ts (and the store it calls)", () => {
    const outside = modules().filter((m) => m !== "src/pipeline/commands.ts" && !m.startsWith("src/store/"));
    const DELIVERY_WRITES = deliveryWrites();
    const found = outside.flatMap((m) =>
      [...valueImports(m)].flatMap(([from, names]) =>
        names.filter((n) => DELIVERY_WRITES[from]?.includes(n)).map((n) => `${m}: ${n} (${from})`),
      ),
    );
    expect(found).toEqual([]);
  });

  it("keeps domain/ free of our other layers and of HTTP, and schemes/ and routing/ on domain/ alone", () => {
    /** Every module a module imports from, types too: a path of ours from the root, else the package's name. */
    const importsOf = (module: string) =>
      [...readFileSync(join(ROOT, module), "utf8").matchAll(/^(?:import|export)\s[^;]*?\sfrom\s+"([^"]+)"/gm)].map(([, from]) =>
        from!.startsWith(".") ? relative(ROOT, resolve(ROOT, dirname(module), from!)) : from!,
      );
    const ofLayer = (layer: string) => modules().filter((m) => m.startsWith(`src/${layer}/`));
    const wrong = (layer: string, allowed: (from: string) => boolean) => ofLayer(layer).flatMap((m) => importsOf(m).filter((f) => !allowed(f)).map((f) => `${m}: ${f}`));
    expect(ofLayer("domain").flatMap(importsOf)).toContain("zod");
    expect([
      ...wrong("domain", (f) => f.startsWith("src/domain/") || f === "zod" || f === "zod/v4"),
      ...wrong("schemes", (f) => f.startsWith("src/domain/") || f.startsWith("src/schemes/")),
      ...wrong("routing", (f) => f.startsWith("src/domain/") || f.startsWith("src/routing/") || f === "re2js"),
    ]).toEqual([]);
  });

  it("imports zod's values only in src/domain/zod-members.ts: elsewhere its z (src/domain/zod.ts), so a member the bundle lacks is a type error", () => {
    // `import { z } from "zod"` typechecks against zod's whole z, while the bundle's "zod" is ours (wrangler.toml's
    // alias). zod's other modules (issue-words.ts's English locale) offer no z.
    const zodValues = (module: string) =>
      [...readFileSync(join(ROOT, module), "utf8").matchAll(/^(?:import|export)\s+(?!type\s)[^;]*?\sfrom\s+"(zod(?:\/v\d+)?(?:\/mini)?)"/gm)].map(([, from]) => `${module}: ${from}`);
    expect(zodValues("src/domain/zod-members.ts")).toEqual(["src/domain/zod-members.ts: zod/v4"]);
    expect(modules().filter((m) => m !== "src/domain/zod-members.ts").flatMap(zodValues)).toEqual([]);
  });

  it("lets the dashboard touch the store only for its sessions and a token's use", () => {
    const dashboard = modules().filter((m) => m.startsWith("src/dashboard/"));
    const used = dashboard.flatMap((m) => [...valueImports(m)].filter(([from]) => from.startsWith("src/store/")).flatMap(([from, names]) => names.map((n) => `${from}: ${n}`)));
    expect(used).toContain("src/store/tokens: touchToken");
    expect(used.filter((u) => !u.startsWith("src/store/sessions: ") && u !== "src/store/tokens: touchToken")).toEqual([]);
  });

  it("prepares SQL only in src/store/", () => {
    const preparing = modules().filter((m) => /\.prepare\(/.test(readFileSync(join(ROOT, m), "utf8")));
    expect(preparing.length).toBeGreaterThan(10);
    expect(preparing.filter((m) => !m.startsWith("src/store/"))).toEqual([]);
  });

  it("sends on the ingest queue only in src/ingress/enqueue.ts, its producer", () => {
    const senders = modules().filter((m) => /\bINGEST\s*\.\s*send/.test(readFileSync(join(ROOT, m), "utf8")));
    expect(senders).toEqual(["src/ingress/enqueue.ts"]);
  });
});

const ARCHITECTURE = readFileSync(join(ROOT, "docs/architecture.md"), "utf8");

/** The file map's entries: each folder or file (a src/ one by its path) with the text that describes it. */
function fileMap(): Map<string, string> {
  const block = /## File map\n\n```\n([\s\S]*?)\n```/.exec(ARCHITECTURE)?.[1] ?? "";
  const entries = new Map<string, string>();
  let current = "";
  for (const line of block.split("\n")) {
    const entry = /^( {0,2})(\S+)(?:\s+(.*))?$/.exec(line);
    if (entry) {
      current = (entry[1] ? "src/" : "") + entry[2]!;
      entries.set(current, entry[3] ?? "");
    } else {
      entries.set(current, `${entries.get(current)} ${line.trim()}`);
    }
  }
  return entries;
}

/** The files and folders (`name/`) of its own folder a description names: `x.ts`, `x.mjs`, `routes/`, … (not a path into another). */
const namedIn = (description: string) =>
  [...description.matchAll(/(?<![\w./-])([\w.-]+(?:\.(?:tsx?|mjs|sql|json)|\/))(?![\w./-])/g)].map((m) => m[1]!);

/** src/domain/'s description names its modules without `.ts`: `delivery (lifecycle), flow (…), …, alerts and health (…), …`. */
const domainNames = (description: string) =>
  description
    .replace(/\([^)]*\)/g, "")
    .split(/,|\band\b/)
    .map((s) => s.trim())
    .filter((s) => s !== "");

/** What a folder holds, as the file map would name it (a folder with a trailing slash). */
const entriesOf = (dir: string) =>
  readdirSync(join(ROOT, dir), { withFileTypes: true })
    .filter((e) => !e.name.startsWith(".") && e.name !== "node_modules")
    .map((e) => (e.isDirectory() ? `${e.name}/` : e.name));

/** Code less its comments. */
const codeOf = (module: string) =>
  readFileSync(join(ROOT, module), "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/^\s*\/\/.*$/gm, "");

/** The tables the migrations create. */
const TABLES = [
  ...new Set(readdirSync(join(ROOT, "migrations")).flatMap((f) => [...readFileSync(join(ROOT, "migrations", f), "utf8").matchAll(/CREATE TABLE (?:IF NOT EXISTS )?"?(\w+)/gi)].map((m) => m[1]!))),
];

/** What a module of a folder the file map describes as "one module per …" is, so that the others must be named. */
const ONE_PER: Record<string, (module: string) => boolean> = {
  // A table family's module: a string of its code names a table.
  "src/store/": (module) => {
    const strings = [...codeOf(module).matchAll(/(["'`])((?:\\.|(?!\1)[\s\S])*)\1/g)].map((m) => m[2]!).join(" ");
    return TABLES.some((t) => new RegExp(`\\b${t}\\b`).test(strings));
  },
  // A scheme's module: it makes a Scheme.
  "src/schemes/": (module) => /\bdefineScheme\(|:\s*Scheme\b/.test(codeOf(module)),
};

describe("docs/architecture.md: the commands and the file map", () => {
  it("lists every command of src/pipeline/commands.ts, and only those", () => {
    const source = readFileSync(join(ROOT, "src/pipeline/commands.ts"), "utf8");
    const exported = [...source.matchAll(/^export async function (\w+)/gm)].map((m) => m[1]!);
    const section = /\*\*`src\/pipeline\/commands\.ts`\*\*:([\s\S]*?)One failure\s+policy/.exec(ARCHITECTURE)?.[1] ?? "";
    const listed = [...section.matchAll(/`(\w+)`/g)].map((m) => m[1]!).filter((n) => n !== "dispatch");
    expect(exported.length).toBeGreaterThan(10);
    expect([...listed].sort()).toEqual([...exported].sort());
  });

  it("finds the file map (the checks below are not empty)", () => {
    expect(TABLES).toEqual(expect.arrayContaining(["deliveries", "names", "event_places"]));
    expect(ONE_PER["src/store/"]!("src/store/names.ts")).toBe(true);
    expect(ONE_PER["src/store/"]!("src/store/chunks.ts")).toBe(false);
    expect(ONE_PER["src/schemes/"]!("src/schemes/stripe.ts")).toBe(true);
    const map = fileMap();
    expect(map.get("src/pipeline/")).toContain("commands.ts");
    expect(map.get("bench/")).toBeDefined();
    expect(domainNames(map.get("src/domain/") ?? "")).toContain("credential-headers");
  });

  it("names in each folder only what is there, each once", () => {
    const problems = [...fileMap()]
      .filter(([path]) => path.endsWith("/"))
      .flatMap(([dir, description]) => {
        const named = dir === "src/domain/" ? domainNames(description).map((n) => `${n}.ts`) : namedIn(description);
        const there = new Set(entriesOf(dir));
        return [
          ...named.filter((n) => !there.has(n)).map((n) => `${dir}${n}: not there`),
          ...named.filter((n, i) => named.indexOf(n) !== i).map((n) => `${dir}${n}: named twice`),
        ];
      });
    expect(problems).toEqual([]);
  });

  it("names everything in a folder it lists (in one described as one module per something, all that is not one; not docs/)", () => {
    const missing = [...fileMap()]
      .filter(([path]) => path.endsWith("/") && path !== "docs/")
      .flatMap(([dir, description]) => {
        const named = new Set(dir === "src/domain/" ? domainNames(description).map((n) => `${n}.ts`) : namedIn(description));
        const onePer = /one module per/.test(description) ? ONE_PER[dir] : undefined;
        if (/one module per/.test(description) && !onePer) return [`${dir}: say in ONE_PER what its modules are`];
        const unnamed = entriesOf(dir).filter((e) => !named.has(e) && !onePer?.(`${dir}${e}`));
        return named.size === 0 && !onePer ? [] : unnamed.map((e) => `${dir}${e}`);
      });
    expect(missing).toEqual([]);
  });
});
