// The retry table in the docs is printed from the schedule a deployment runs with, the one
// wrangler.toml's [vars] make: `npm run docs:retries` rewrites it (UPDATE_DOCS=1); otherwise
// this test fails when the two differ, a change of those settings included.
import { readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { RetrySchedule } from "../../src/domain/delivery";
import { settings } from "../../src/domain/settings";
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

describe("the retry table in the docs", () => {
  it("is the one printed from the schedule wrangler.toml's settings make", () => {
    const text = readFileSync(FILE, "utf8");
    const start = text.indexOf(START);
    const end = text.indexOf(END);
    expect(start, `${FILE} has no ${START} marker`).toBeGreaterThanOrEqual(0);
    expect(end).toBeGreaterThan(start);
    const vars = wranglerVars();
    const deployed = settings(Object.fromEntries(RETRY_VARS.flatMap((name) => (vars[name] === undefined ? [] : [[name, vars[name]]]))));
    const printed = `${START}\n${retryTable(deployed.retrySchedule, deployed.maxAttempts, vars)}\n${END}`;
    if (process.env.UPDATE_DOCS) writeFileSync(FILE, text.slice(0, start) + printed + text.slice(end + END.length));
    else expect(text.slice(start, end + END.length)).toBe(printed);
  });
});
