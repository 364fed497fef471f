// The retry table in the docs is printed from the schedule a deployment runs with, the one
// wrangler.toml's [vars] make: `npm run docs:retries` rewrites it (UPDATE_DOCS=1); otherwise
// this test fails when the two differ, a change of those settings included.
// The span restated on other pages, and the ingest queue's retry table (reliability.md), are
// checked against the same data: a change of either fails here until the page says it.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { RetrySchedule } from "../../src/domain/delivery";
import { settings } from "../../src/domain/settings";
import { scheduledDelay } from "../../src/pipeline/retry-schedule";
import { consumerSettingIn } from "../support/wrangler-toml";
import { wranglerVars } from "./wrangler-vars";

const FILE = "docs/forwarding.md";
/** The retry settings wrangler.toml deploys with (a name it leaves out takes settings()'s default). */
const RETRY_VARS = ["MAX_ATTEMPTS", "RETRY_BASE_SECONDS", "RETRY_CAP_SECONDS"] as const;
const START = "<!-- retry-table:start (npm run docs:retries) -->";
const END = "<!-- retry-table:end -->";

function duration(seconds: number): string {
  if (seconds < 1000) return `${seconds} s`;
  if (seconds < 3600) return `~${Math.round(seconds / 60)} min`;
  return `${Math.round((seconds / 3600) * 10) / 10} h`.replace(".0 h", " h");
}

/** The waits before each retry of a webhook with `maxAttempts`, equal ones merged, what they add up to, and the settings they come from. */
function retryTable(schedule: RetrySchedule, maxAttempts: number, vars: Record<string, string>): string {
  const steps = schedule.slice(0, maxAttempts - 1);
  const columns: { from: number; to: number; seconds: number }[] = [];
  steps.forEach((seconds, i) => {
    const last = columns[columns.length - 1];
    if (last && last.seconds === seconds) last.to = i + 1;
    else columns.push({ from: i + 1, to: i + 1, seconds });
  });
  const most = steps.reduce((sum, seconds) => sum + seconds, 0);
  // Full jitter: each wait is drawn from [0, its step], half of it on average.
  const mean = most / 2;
  const head = columns.map((c) => (c.from === c.to ? String(c.from) : `${c.from}–${c.to}`));
  return [
    `| after attempt | ${head.join(" | ")} |`,
    `|---|${head.map(() => "---|").join("")}`,
    `| waits up to | ${columns.map((c) => duration(c.seconds)).join(" | ")} |`,
    "",
    `With ${maxAttempts} attempts a delivery is given up after about ${duration(Math.round(mean))} on average (${duration(most)} at most).`,
    `(wrangler.toml: ${RETRY_VARS.map((name) => `\`${name}\` = ${vars[name] ?? "unset"}`).join(", ")}.)`,
  ].join("\n");
}

/** The schedule and the number of attempts wrangler.toml's settings make. */
function deployed() {
  const vars = wranglerVars();
  return { vars, ...settings(Object.fromEntries(RETRY_VARS.flatMap((name) => (vars[name] === undefined ? [] : [[name, vars[name]]])))) };
}

describe("the retry table in the docs", () => {
  it("is the one printed from the schedule wrangler.toml's settings make", () => {
    const text = readFileSync(FILE, "utf8");
    const start = text.indexOf(START);
    const end = text.indexOf(END);
    expect(start, `${FILE} has no ${START} marker`).toBeGreaterThanOrEqual(0);
    expect(end).toBeGreaterThan(start);
    const { vars, retrySchedule, maxAttempts } = deployed();
    const printed = `${START}\n${retryTable(retrySchedule, maxAttempts, vars)}\n${END}`;
    if (process.env.UPDATE_DOCS) writeFileSync(FILE, text.slice(0, start) + printed + text.slice(end + END.length));
    else expect(text.slice(start, end + END.length)).toBe(printed);
  });

  it("is what the other pages say of it: the attempts, and the hours on average and at most", () => {
    const { retrySchedule, maxAttempts } = deployed();
    const most = retrySchedule.slice(0, maxAttempts - 1).reduce((sum, seconds) => sum + seconds, 0);
    const pages = [...readdirSync("docs").filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`), "README.md"];
    // Each line that says how long the retries last (`… h on average`), by its page.
    const spans = pages.flatMap((where) => readFileSync(where, "utf8").split("\n").filter((line) => / h on average/.test(line)).map((line) => ({ where, line })));
    /** What those lines say with `pattern`: `<page>: <the groups matched>`, each match. */
    const said = (pattern: RegExp) => spans.flatMap(({ where, line }) => [...line.matchAll(pattern)].map((m) => `${where}: ${m.slice(1).join("")}`));
    const hours = (seconds: number) => duration(seconds).replace(" h", "");
    // (forwarding.md's under the table, podium.md's comparison and reliability.md's table at least.)
    expect(spans.length).toBeGreaterThanOrEqual(3);
    expect(said(/([\d.]+) h on average/g)).toEqual(spans.map(({ where }) => `${where}: ${hours(Math.round(most / 2))}`));
    expect(said(/(\d+) attempts|default (\d+)\b/g)).toEqual(spans.map(({ where }) => `${where}: ${maxAttempts}`));
    const atMost = said(/([\d.]+) h at most/g);
    expect(atMost.length).toBeGreaterThanOrEqual(2);
    expect(atMost).toEqual(atMost.map((s) => `${s.slice(0, s.indexOf(": "))}: ${hours(most)}`));
  });
});

const UNIT_SECONDS: Record<string, number> = { s: 1, min: 60, h: 3600 };

/** Whether a cell (`1.7 min`, `1 h each`) says `seconds`, rounded as it is written. */
function says(cell: string, seconds: number): boolean {
  const m = /^([\d.]+) (s|min|h)\b/.exec(cell);
  return m !== null && (seconds / UNIT_SECONDS[m[2]!]!).toFixed(m[1]!.split(".")[1]?.length ?? 0) === m[1];
}

describe("the ingest retry table in docs/reliability.md", () => {
  it("says the waits of src/pipeline/retry-schedule.ts, and what they add up to over wrangler.toml's max_retries", () => {
    const lines = readFileSync("docs/reliability.md", "utf8").split("\n");
    const at = lines.findIndex((l) => l.startsWith("| after delivery |"));
    expect(at, "docs/reliability.md has no '| after delivery |' table").toBeGreaterThanOrEqual(0);
    const cells = (line: string) => line.split("|").slice(2, -1).map((c) => c.trim());
    const [head, wait, elapsed] = [lines[at]!, lines[at + 2]!, lines[at + 3]!].map(cells);
    const retries = consumerSettingIn(readFileSync("wrangler.toml", "utf8"), "edgehook-ingest", "max_retries")!;
    // A column per delivery up to the schedule's last entry, then one for the rest, which repeat it.
    const steps = head!.length - 1;
    expect(head).toEqual([...Array.from({ length: steps }, (_, i) => String(i + 1)), `${steps + 1}–${retries}`]);
    const delays = Array.from({ length: retries }, (_, i) => scheduledDelay(i + 1));
    expect(new Set(delays.slice(steps - 1)).size, "the waits after the table's last single column are all one").toBe(1);
    const upTo = (n: number) => delays.slice(0, n).reduce((sum, s) => sum + s, 0);
    const columns = head!.map((_, i) => (i < steps ? { wait: delays[i]!, elapsed: upTo(i + 1) } : { wait: delays[steps]!, elapsed: upTo(retries) }));
    const wrong = columns.flatMap((c, i) => [
      ...(says(wait![i] ?? "", c.wait) ? [] : [`${head![i]}: wait ${wait![i]}, not ${c.wait} s`]),
      ...(says(elapsed![i] ?? "", c.elapsed) ? [] : [`${head![i]}: elapsed ${elapsed![i]}, not ${c.elapsed} s`]),
    ]);
    expect(wrong).toEqual([]);
  });

  it("is the span the other pages restate in hours ('retried for about 23 hours')", () => {
    const retries = consumerSettingIn(readFileSync("wrangler.toml", "utf8"), "edgehook-ingest", "max_retries")!;
    const hours = Math.round(Array.from({ length: retries }, (_, i) => scheduledDelay(i + 1)).reduce((sum, s) => sum + s, 0) / 3600);
    const pages = ["docs/reliability.md", "docs/guarantees.md", "docs/architecture.md", "docs/operations.md"];
    // An ingest message's span, in words: "retried for about N hours", "about **N hours**", "retry for N hours".
    const said = pages.flatMap((where) =>
      [...readFileSync(where, "utf8").matchAll(/(?:retried for about|retry for|retries, about \*\*)\s*(\d+) hours/g)].map((m) => `${where}: ${m[1]}`),
    );
    expect(new Set(said.map((s) => s.slice(0, s.indexOf(":")))), "each page says the span").toEqual(new Set(pages));
    expect(said).toEqual(said.map((s) => `${s.slice(0, s.indexOf(":"))}: ${hours}`));
  });
});
