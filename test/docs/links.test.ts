// The README and docs/ point only at what exists: every relative link at a file or
// folder of the repository (and every #anchor at a heading of its page), every file
// path quoted as code at a file that is there.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const PAGES = ["README.md", ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];

/** The text outside fenced code blocks, line by line (a `#` inside a shell block is no heading). */
function prose(markdown: string): string[] {
  let fenced = false;
  return markdown.split("\n").filter((line) => {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      return false;
    }
    return !fenced;
  });
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, each space a hyphen. */
function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** The anchors of a page's headings; a repeated heading gets -1, -2, … as on GitHub. */
function anchors(page: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of prose(readFileSync(join(ROOT, page), "utf8"))) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Prose lines with inline code spans removed, for links. */
const withoutCode = (lines: string[]) => lines.map((l) => l.replace(/`[^`]*`/g, ""));

function links(page: string): string[] {
  const text = withoutCode(prose(readFileSync(join(ROOT, page), "utf8"))).join("\n");
  return [...text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
}

const external = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("//");

/** Problems with a page's relative links: a missing file, or an anchor no heading has. */
function brokenLinks(page: string): string[] {
  const problems: string[] = [];
  for (const target of links(page).filter((t) => !external(t))) {
    const [path = "", anchor] = target.split("#", 2);
    const file = path === "" ? join(ROOT, page) : resolve(ROOT, dirname(page), decodeURIComponent(path));
    if (!existsSync(file)) {
      problems.push(`${target}: no such file`);
    } else if (anchor !== undefined) {
      if (!file.endsWith(".md")) problems.push(`${target}: an anchor into a file that is not Markdown`);
      else if (!anchors(relative(ROOT, file)).has(decodeURIComponent(anchor))) problems.push(`${target}: no heading has this anchor`);
    }
  }
  return problems;
}

// A path quoted as code is a citation: `src/…`, `test/…`, or a test file by its name alone.
const CITED_PATH = /^(?:src|test|docs|cli|scripts|bench|migrations)\/[\w.\/-]+$/;
const CITED_TEST = /^[\w-]+\.test\.ts$/;

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? testFiles(join(dir, e.name)) : e.name.endsWith(".test.ts") ? [e.name] : [],
  );
}
const TEST_FILES = new Set(testFiles(join(ROOT, "test")));

function missingCitations(page: string): string[] {
  const text = prose(readFileSync(join(ROOT, page), "utf8")).join("\n");
  const spans = [...text.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!.trim());
  return spans.filter(
    (s) => (CITED_PATH.test(s) && !existsSync(join(ROOT, s))) || (CITED_TEST.test(s) && !TEST_FILES.has(s)),
  );
}

describe("links in the README and docs/", () => {
  it("finds the pages and their links (the checks below are not empty)", () => {
    expect(PAGES).toContain("docs/forwarding.md");
    expect(links("README.md").filter((t) => !external(t)).length).toBeGreaterThan(10);
    expect(anchors("docs/operations.md")).toContain("rotating-token_pepper");
  });

  it.each(PAGES)("%s: every relative link points at a file that exists, and every anchor at a heading", (page) => {
    expect(brokenLinks(page)).toEqual([]);
  });

  it.each(PAGES)("%s: every file path it quotes exists", (page) => {
    expect(missingCitations(page)).toEqual([]);
  });
});
