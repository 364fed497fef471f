import fc from "fast-check";
import jsonata from "jsonata";
import { RE2JS } from "re2js";
import { describe, expect, it, vi } from "vitest";
import { type CompiledTransform, TRANSFORM_LIMITS, compileTransform, runTransform } from "../../src/pipeline/transform";
import { JSONATA, typesArrayItems } from "../../src/pipeline/jsonata-check";
import { evaluate } from "../../src/pipeline/jsonata-meter";
import { captureFactor, meteredRegExp, programBound, re2Program } from "../../src/pipeline/linear-regexp";
import { programWeight } from "../../src/routing/regex-weight";
import jsonataSource from "jsonata/jsonata.js?raw";
// re2js exports no subpaths: its ES build (the file the bundler picks) is read by path.
import re2jsSource from "../../node_modules/re2js/build/index.js?raw";
import messageReceived from "../fixtures/message.received.json?raw";
import openapiDoc from "../../cli/src/openapi.json";
import filtersDoc from "../../docs/filters-and-transforms.md?raw";

function compile(expr: string, headers?: Record<string, string>): CompiledTransform {
  const r = compileTransform(expr, headers);
  if (!r.ok) throw new Error(`invalid transform: ${JSON.stringify(r.issues)}`);
  return r.transform;
}

async function transformed(expr: string, body: string, headers?: Record<string, string>) {
  const r = await runTransform(compile(expr, headers), body);
  if (!r.ok) throw new Error(`transform failed: ${r.reason}`);
  return { body: JSON.parse(r.body), headers: r.headers };
}

async function failure(expr: string, body: string, opts?: { maxSteps?: number; maxOutputBytes?: number }) {
  const r = await runTransform(compile(expr), body, opts);
  if (r.ok) throw new Error(`expected the transform to fail, got ${r.body}`);
  return r;
}

/**
 * The work of a character read by a pattern, as LinearRegExp charges it: by the find, its program
 * weighed; by reading a match's groups, that times its captures' factor.
 */
function workPerChar(source: string): { find: number; groups: number } {
  const re = RE2JS.compile(source);
  return { find: programWeight(re), groups: programWeight(re) * captureFactor(re.groupCount()) };
}

/** A regex meter that lets every match run, and notes nothing: a test's own hooks go over it. */
const unmetered = {
  before: () => {},
  left: () => Infinity,
  stopped: (): never => {
    throw new Error("stopped");
  },
  after: () => {},
  compiling: () => {},
};

const podium = JSON.parse(messageReceived);
const podiumWithContact = JSON.stringify({
  ...podium,
  data: { ...podium.data, contact: { uid: "ct-1", name: "Jamie Rivera", phone: "+18015550123", email: "jamie@example.com" } },
});

const stripeInvoice = JSON.stringify({
  id: "evt_1Q",
  type: "invoice.finalized",
  data: { object: { id: "in_1Q", object: "invoice", amount_due: 125000, currency: "usd", customer_email: "ap@acme.test" } },
});

const githubPush = JSON.stringify({
  ref: "refs/heads/main",
  repository: { full_name: "acme/api" },
  pusher: { name: "octocat" },
  commits: [{ id: "a1", message: "Fix retries" }, { id: "b2", message: "Add filters" }],
});

describe("transformations", () => {
  it("Podium → Slack: a {text} message", async () => {
    const out = await transformed(
      `{"text": "New " & data.conversation.channel.type & " message from " & data.conversation.channel.identifier & ": " & data.body}`,
      messageReceived,
    );
    expect(out.body).toEqual({ text: "New phone message from +18015550123: Hi! Is the 2pm appointment still open?" });
  });

  it("removes PII before it leaves, keeping everything else", async () => {
    const out = await transformed(
      `$ ~> |data.contact|{}, ["phone", "email"]| ~> |data.conversation.channel|{}, ["identifier"]|`,
      podiumWithContact,
    );
    const expected = JSON.parse(podiumWithContact);
    delete expected.data.contact.phone;
    delete expected.data.contact.email;
    delete expected.data.conversation.channel.identifier;
    expect(out.body).toEqual(expected);
    expect(JSON.stringify(out.body)).not.toContain("+18015550123");
    expect(out.body.data.contact.name).toBe("Jamie Rivera");
  });

  it("Stripe: a compact invoice summary in dollars", async () => {
    const out = await transformed(
      `{"invoice": data.object.id, "amount": data.object.amount_due / 100, "currency": $uppercase(data.object.currency)}`,
      stripeInvoice,
    );
    expect(out.body).toEqual({ invoice: "in_1Q", amount: 1250, currency: "USD" });
  });

  it("GitHub: branch and commit messages of a push", async () => {
    const out = await transformed(
      `{"repo": repository.full_name, "branch": $substringAfter(ref, "refs/heads/"), "messages": [commits.message]}`,
      githubPush,
    );
    expect(out.body).toEqual({ repo: "acme/api", branch: "main", messages: ["Fix retries", "Add filters"] });
  });

  it("computes headers: names in lower case, numbers as text, nothing matched means no header", async () => {
    const out = await transformed(`$`, messageReceived, {
      "X-Podium-Event": "metadata.eventType",
      "x-conversation": "data.conversation.uid",
      "x-item-count": "$count(data.items)",
      "x-absent": "data.nothing.here",
    });
    expect(out.headers).toEqual({
      "x-podium-event": "message.received",
      "x-conversation": "c0a8d1e2-3f40-4b5c-8d6e-7f8091a2b3c4",
      "x-item-count": "0",
    });
    expect(out.body).toEqual(podium);
  });

  it("refuses a header value that is not a string or not sendable", async () => {
    const object = await runTransform(compile("$", { "x-obj": "data.location" }), messageReceived);
    // Numbers and booleans are sent, so the reason names what is refused, not "not a string".
    const notString = 'transformHeaders["x-obj"]: the value is not a string, number or boolean (an object, an array or null is no header value)';
    expect(object).toEqual({ ok: false, reason: notString, summary: notString, permanent: true, steps: expect.any(Number) });
    expect(await runTransform(compile("$", { "x-null": "null" }), messageReceived)).toMatchObject({ ok: false, reason: notString.replace("x-obj", "x-null") });
    // One stored before such a literal was refused when written (compileTransform) fails at delivery.
    const newline = await runTransform({ body: "$", headers: { "x-split": '"a\\nb"' } }, messageReceived);
    expect(newline.ok).toBe(false);
    expect(newline.ok ? "" : newline.reason).toMatch(/^transformHeaders\["x-split"\]: not a valid header value/);
  });

  it("a body that is not JSON is the input as one string", async () => {
    const form = "token=abc&text=hello+world";
    expect((await transformed(`{"raw": $, "fields": $split($, "&")}`, form)).body).toEqual({
      raw: form,
      fields: ["token=abc", "text=hello+world"],
    });
    const nothing = await failure(`data.body`, form);
    const none = "transform: the expression produced nothing for this event";
    expect(nothing).toEqual({ ok: false, reason: none, summary: none, permanent: true, steps: expect.any(Number) });
  });

  it("regular expressions run on RE2, with JavaScript's flags and offsets", async () => {
    const out = await transformed(
      `{"masked": $replace(data.body, /[0-9]+PM/i, "[time]"), "at": $match("héllo wörld", /w.rld/).index, "words": $split("a1b22c", /[0-9]+/)}`,
      messageReceived,
    );
    expect(out.body).toEqual({ masked: "Hi! Is the [time] appointment still open?", at: 6, words: ["a", "b", "c"] });
    // Catastrophic for a backtracking engine; linear for RE2.
    const hostile = JSON.stringify({ s: `${"a".repeat(30_000)}!` });
    expect((await transformed(`{"m": $contains(s, /^(a+)+$/)}`, hostile)).body).toEqual({ m: false });
  });

  it("takes RE2's syntax in regex literals, inline flags and (?P<name>…) included, as a filter's $regex does", async () => {
    const out = await transformed(
      `{"i": $match("aB", /(?i)b/).match, "s": $contains("a\\nb", /(?s)a.b/), "n": $match("xa", /(?P<n>a)/).index, "u": $uppercase("a") ~> function($s)<s:s>{$s & "!"}}`,
      "{}",
    );
    expect(out.body).toEqual({ i: "B", s: true, n: 1, u: "A!" });
    // Without the flag, as before: case and line breaks count.
    expect((await transformed(`{"i": $contains("aB", /b/), "s": $contains("a\\nb", /a.b/)}`, "{}")).body).toEqual({ i: false, s: false });
    expect(compileTransform(`$match(data.body, /(?i)b/)`).ok).toBe(true);
    // A function signature JavaScript cannot read is still refused when saved (it is no literal).
    const broken = compileTransform(`(function($x)<s++:s>{$x})("a")`);
    expect(broken.ok).toBe(false);
    expect(broken.ok ? [] : broken.issues.map((i) => i.message)).toEqual([expect.stringContaining("Invalid regular expression")]);
  });

  it("counts a regular expression's work in the steps: linear is not cheap, and one match is one step", async () => {
    // 250,000 characters with no run of 1,000 without a "1": RE2 keeps a thousand threads alive at
    // each character. One such match took 3.7 s of CPU, ten of them 37 s, well within 50,000 steps.
    const body = JSON.stringify({ a: ("a".repeat(999) + "1").repeat(250) });
    // Stopped as it reads past the steps left.
    const costly = await failure(`$contains(a, /[^1]{1000}/)`, body);
    expect(costly.reason).toMatch(/^transform: stopped: a regular expression's match took more than the evaluation steps left/);
    expect(costly.permanent).toBe(true);
    const repeated = await failure(`$count($map([1..10], function($i){$contains($substring(a, 0, 20000), /[^1]{1000}/)}))`, body);
    expect(repeated.reason).toMatch(/^transform: stopped/);
    // What is cheap is as before: the same pattern on a short string, a small one over the whole body, globally.
    const short = await transformed(`{"m": $contains(a, /[^1]{1000}/)}`, JSON.stringify({ a: "b".repeat(1000) }));
    expect(short.body).toEqual({ m: true });
    const global = await transformed(`{"n": $length($replace(a, /1/, "")), "m": $count($match(a, /a1/))}`, body);
    expect(global.body).toEqual({ n: 249_750, m: 250 });
    // Compiling is charged by the program's bound, once per evaluation: JSONata builds the engine
    // again each time it evaluates the literal (in a $map, each item), and RE2 compiles it once.
    const big = "[^1]{1000}".repeat(4);
    const compiling: number[] = [];
    const Engine = meteredRegExp({ ...unmetered, compiling: (bound) => compiling.push(bound) });
    const literal = new RegExp(big);
    expect(new Engine(literal).exec("b1")).toBeNull();
    expect(new Engine(literal).exec("1b")).toBeNull();
    expect(compiling).toEqual([4002]);
    const mapped = await failure(`$count($map([1..10], function($i){$contains("b", /${big}/)}))`, "{}", { maxSteps: 4000 });
    expect(mapped.reason).toMatch(/^transform: stopped after 4000 evaluation steps/);
    expect((await transformed(`{"n": $count($map([1..10], function($i){$contains("b", /${big}/)}))}`, "{}")).body).toEqual({ n: 10 });
  });

  it("charges a match by its capture groups too: RE2 then runs its NFA, which copies each thread's captures at each step", async () => {
    // `(a)(a)…` ×1,300 (3,902 instructions) over 3,000 characters took 8.8 s in workerd, charged
    // ~12,000 steps as characters × instructions; without captures RE2 matches the same on its DFA.
    const body = JSON.stringify({ a: "a".repeat(600) });
    const captured = await runTransform(compile(`{"n": $count($match(a, /${"(a)".repeat(100)}/))}`), body);
    expect(captured).toMatchObject({ ok: true, body: '{"n":6}' });
    // 600 characters × 302 instructions weighed 2 each by the finds, × (1 + 100/10) by reading the groups.
    expect(workPerChar("(a)".repeat(100))).toEqual({ find: 302 * 2, groups: 302 * 2 * 11 });
    expect(captured.steps).toBeGreaterThanOrEqual((600 * 302 * 2 * 12) / TRANSFORM_LIMITS.regexWorkPerStep);
    const stopped = await failure(`$match(a, /${"(a)".repeat(1300)}/)`, JSON.stringify({ a: "a".repeat(3_000) }));
    expect(stopped.reason).toMatch(/^transform: stopped: a regular expression's match took more than the evaluation steps left/);
    // Without a capture, as before.
    const plain = await runTransform(compile(`{"n": $count($match(a, /${"(?:a)".repeat(100)}/))}`), body);
    expect(plain).toMatchObject({ ok: true, body: '{"n":6}' });
    // 600 characters × 102 instructions weighed 2: ~1,020 steps.
    expect(plain.steps).toBeLessThan(1500);
  });

  it("charges a match by what RE2 read, which may be far past its end: it reads on while a branch it prefers may still match", async () => {
    // `/a*b|a/` over a run of `a`: each match is one `a`, and RE2 first reads every `a` after it
    // looking for a `b` (250,000 of them took ~25 ms a match in workerd, charged one step each).
    const size = workPerChar("a*b|a").find;
    const body = JSON.stringify({ a: "a".repeat(5_000) });
    const read = await runTransform(compile(`{"n": $count($match(a, /a*b|a/, 50))}`), body);
    expect(read).toMatchObject({ ok: true, body: '{"n":50}' });
    // The i-th match reads the 5,000 − i characters from where it starts (less the last, which ends the input).
    let charged = 0;
    for (let i = 0; i < 50; i++) charged += Math.ceil(((5_000 - i - 1) * size + TRANSFORM_LIMITS.regexWorkPerRun) / TRANSFORM_LIMITS.regexWorkPerStep);
    expect(read.steps).toBeGreaterThanOrEqual(charged);
    // Every match of it over 100,000: stopped within the steps, where each was one step.
    const all = await failure(`$count($match($pad("", 100000, "a"), /a*b|a/))`, "{}");
    expect(all.reason).toMatch(/^transform: stopped/);
    // The same with the groups read again from the match's start (`(a*b|a)`): both runs counted.
    // (Its captures make a character dearer when reading them: captureFactor.)
    const grouped = await runTransform(compile(`{"n": $count($match(a, /(a*b|a)/, 5))}`), body);
    expect(grouped).toMatchObject({ ok: true, body: '{"n":5}' });
    const groupedSize = workPerChar("(a*b|a)");
    expect(grouped.steps).toBeGreaterThanOrEqual(Math.floor((5 * 4_990 * (groupedSize.find + groupedSize.groups)) / TRANSFORM_LIMITS.regexWorkPerStep));
    // The groups' run is a match of its own: stopped when the steps left cannot pay for what it reads
    // (here the find's, ~45,800 steps, but not that and its groups' three times over).
    const twoPassSize = workPerChar("(a*)b|(a)").find;
    const maxSteps = Math.ceil((250_000 * twoPassSize) / TRANSFORM_LIMITS.regexWorkPerStep) + 1000;
    const twice = await runTransform(compile(`$match($pad("", 250000, "a"), /(a*)b|(a)/, 1)`), "{}", { maxSteps });
    expect(twice).toMatchObject({ ok: false, reason: expect.stringMatching(/^transform: stopped: a regular expression's match took more than the evaluation steps left/) });
    expect(twice.steps).toBeLessThanOrEqual(maxSteps);
    // Where the branch preferred dies at the next character (`/ab|a/`), a match costs what it spans.
    const brief = await runTransform(compile(`{"n": $count($match(a, /ab|a/, 50))}`), body);
    expect(brief).toMatchObject({ ok: true, body: '{"n":50}' });
    expect(brief.steps).toBeLessThan(200);
  });

  it("weighs a pattern's program by its instructions' kinds, read from re2js's program: a folded rune or a class of many ranges costs more a character", () => {
    // Pins what programWeight reads of re2js 2.10's program (its instructions' op, runes and fold
    // flag): were they read otherwise, these would change. Weights 2, 3 for a class of 2 to 4
    // ranges, and 5 for a class of more or a rune folded to its case whose orbit leaves ASCII.
    const weighed = (source: string, flags = "") => {
      const re = RE2JS.compile(re2Program({ source, flags }).pattern, flags.includes("i") ? RE2JS.CASE_INSENSITIVE : 0);
      return [re.programSize(), programWeight(re)];
    };
    expect(weighed("abc")).toEqual([5, 10]);
    expect(weighed("[^,]+")).toEqual([4, 9]);
    // Up to 4 ranges re2js goes through one by one (one range as cheap as a rune); more, by halves.
    expect(weighed("[a-z]")).toEqual([3, 6]);
    expect(weighed("[a-z0-9_.-]")).toEqual([3, 7]);
    expect(weighed("[\\w.-]")).toEqual([3, 9]);
    expect(weighed("\\pL")).toEqual([3, 9]);
    // A folded rune whose case orbit leaves ASCII, by the flag or inline: k (K, the Kelvin sign),
    // s (S, ſ), any non-ASCII letter.
    expect(weighed("k", "i")).toEqual([3, 9]);
    expect(weighed("(?i)k")).toEqual([3, 9]);
    expect(weighed("(?i)S")).toEqual([3, 9]);
    expect(weighed("(?i)ικ")).toEqual([4, 14]);
    expect(weighed("(?i)é")).toEqual([3, 9]);
    // One whose orbit is two ASCII letters is compared directly with an ASCII character: plain.
    expect(weighed("a", "i")).toEqual([3, 6]);
    expect(weighed("(?i)order")).toEqual([7, 14]);
    expect(weighed("(?i)Zk")).toEqual([4, 11]);
    // A folded class is its ranges, each case one: no fold walked.
    expect(weighed("(?i)[a-c]")).toEqual([3, 7]);
    // Realistic patterns: a few dozen.
    expect(weighed("[0-9]+PM", "i")).toEqual([6, 12]);
    expect(weighed(",\\s*")).toEqual([5, 11]);
    expect(weighed("[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{2,}")).toEqual([11, 28]);
    expect(weighed('"id":\\s*"([^"]+)"')).toEqual([15, 32]);
    expect(weighed("(?i)(?:ικ|κι|.){150}[xy]")).toEqual([1053, 3907]);
    // Captures, when reading a match's groups: once more per 10 of them.
    expect([0, 1, 10, 11, 400].map(captureFactor)).toEqual([1, 2, 2, 3, 41]);
  });

  it("charges a match by its characters × its program weighed: the audit's folded alternatives stop within a bound measured", async () => {
    // The audit's `(?i)(?:ικ|κι|.){150}[xy]` over 21,500 characters was charged 46,817 steps by
    // instructions at a step per 500, and held the Worker 0.9–1.35 s. Weighed (3,907 for its 1,053
    // instructions) at a step per 120, it is stopped as it reads past the steps left, charged them all…
    const audited = await runTransform(compile(`{"n": $contains($pad("", 21500, "k"), /(?i)(?:ικ|κι|.){150}[xy]/)}`), "{}");
    expect(audited).toMatchObject({ ok: false, reason: expect.stringMatching(/^transform: stopped: a regular expression's match took more than the evaluation steps left/) });
    expect(audited.steps).toBe(TRANSFORM_LIMITS.steps);
    // …and runs over at most 50,000 × 120 / 3,907 characters: 1,500 are 48,840 steps of matching
    // (and the run's 300), 49,938 with compiling (85 ms in workerd on a loaded machine; its matching
    // over longer texts ran 0.66–0.74 µs a step, the dearest patterns found up to ~1.4).
    const longest = await runTransform(compile(`{"n": $contains($pad("", 1500, "k"), /(?i)(?:ικ|κι|.){150}[xy]/)}`), "{}");
    expect(longest).toMatchObject({ ok: true, body: '{"n":false}' });
    expect(longest.steps).toBe(49_938);
    // Realistic patterns over a 10 KB body, a few KB of addresses, a list split: a few thousand steps at most.
    const words = "Call me at 3:30PM or 10:15 pm, the meeting is 4PM; see https://example.com/x?a=1 ";
    const body = JSON.stringify({
      b: words.repeat(Math.ceil(10_240 / words.length)).slice(0, 10_240),
      e: Array.from({ length: 120 }, (_, i) => `user${i}.name+tag@mail${i}.example.com`).join(", "),
      c: Array.from({ length: 1500 }, (_, i) => `item${i}`).join(", "),
    });
    const steps = async (expr: string) => (await runTransform(compile(expr), body)).steps;
    // (Each match a run of RE2 besides its characters, 200 of its work: regexWorkPerRun. The split's
    // last search, finding no other comma, skips the rest with indexOf: regexWorkPerSkipped a character.)
    expect([
      await steps(`{"r": $replace(b, /[0-9]+PM/i, "X")}`),
      await steps(`{"r": $count($match(e, /[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{2,}/))}`),
      await steps(`{"r": $count($split(c, /,\\s*/))}`),
      await steps(`{"r": $count($match(b, /(\\d+):(\\d+)/))}`),
    ]).toEqual([1565, 1342, 3128, 3467]);
  });

  it("runs realistic patterns over large bodies within the steps: a find is charged by its program alone, its groups' reading by its captures too", async () => {
    // e0a55723 charged the find by the captures as well (re2js's find keeps one group's, whatever the
    // pattern holds), checked the groups' run against the rest of the text, and weighed every folded
    // rune 5: these were stopped before they started, or within the steps (in node: 61,715 steps,
    // 69,130 and 57,940 had they run). Now 2 ms, 14 ms and 35–54 ms in node.
    const words = "Call me at 3:30PM or 10:15 pm, the meeting is 4PM; see https://example.com/x?a=1 ";
    const text = (n: number) => words.repeat(Math.ceil(n / words.length)).slice(0, n);
    const b = JSON.stringify({ id: "abc123", text: text(120_000) });
    const found = await runTransform(compile(`{"m": $match(b, /"id":\\s*"([^"]+)"/).groups}`), JSON.stringify({ b }));
    expect(found).toMatchObject({ ok: true, body: '{"m":["abc123"]}' });
    const stepsLarge = [found.steps];
    const c = Array.from({ length: 32_000 }, (_, i) => `item${i}`).join(", ").slice(0, 250_000);
    const contains = await runTransform(compile(`{"r": $contains(c, /order/i)}`), JSON.stringify({ c }));
    expect(contains).toMatchObject({ ok: true, body: '{"r":false}' });
    stepsLarge.push(contains.steps);
    const times = await runTransform(compile(`{"n": $count($match(b, /(\\d+):(\\d+)/))}`), JSON.stringify({ b: text(110_000) }));
    expect(times).toMatchObject({ ok: true });
    stepsLarge.push(times.steps);
    // (The id's `$match`, 32,288 steps when its last search, which finds none, was charged the rest at its weight.)
    expect(stepsLarge).toEqual([2_286, 34_685, 39_654]);
  });

  it("bounds a match as it reads, not before it starts: one that finds early in a large string runs, charged what it read", async () => {
    // `/"id":\s*"([^"]+)"/` over a 256 KiB body: RE2 finds the id in its first characters (~1 ms),
    // where the whole rest times its weight, checked before the find, was ~70,000 steps: refused.
    const words = "Call me at 3:30PM or 10:15 pm, the meeting is 4PM; see https://example.com/x?a=1 ";
    const b = JSON.stringify({ id: "abc123", text: words.repeat(Math.ceil(262_144 / words.length)).slice(0, 262_144) });
    const pattern = '"id":\\s*"([^"]+)"';
    const found = await runTransform(compile(`{"r": $contains(b, /${pattern}/)}`), JSON.stringify({ b }));
    expect(found).toMatchObject({ ok: true, body: '{"r":true}' });
    // Its steps besides the same without the regular expression: compiling (16), and the find and the
    // groups' run over the few characters they read (16, below).
    const plain = await runTransform(compile(`{"r": $contains(b, '"id":"')}`), JSON.stringify({ b }));
    expect(plain).toMatchObject({ ok: true, body: '{"r":true}' });
    expect(found.steps - plain.steps).toBeLessThan(50);
    // `$match` goes on to search the rest for another id, which RE2 passes over looking for `"id":`
    // with indexOf and finds none: charged that rest as skipped (regexWorkPerSkipped a character),
    // ~4,370 steps, where at the pattern's weight it was ~70,000 and stopped.
    const all = await runTransform(compile(`{"m": $match(b, /${pattern}/).groups}`), JSON.stringify({ b }));
    expect(all).toMatchObject({ ok: true, body: '{"m":["abc123"]}' });
    expect(all.steps).toBe(4_939);
    // Exactly: each run checked for its fixed work and a character before, charged what it read after.
    const log: [string, number][] = [];
    const Engine = meteredRegExp({ ...unmetered, before: (w) => log.push(["before", w]), after: (w) => log.push(["after", w]) });
    const m = new Engine(new RegExp(pattern, "g")).exec(b);
    expect(m && [...m]).toEqual(['"id":"abc123"', "abc123"]);
    const size = workPerChar(pattern);
    const perRun = TRANSFORM_LIMITS.regexWorkPerRun;
    const perGroups = perRun + TRANSFORM_LIMITS.regexWorkPerGroup;
    // `{"id":"abc123"`: the match ends at 15, and RE2 looks at the character after it (`,`) first.
    expect(log).toEqual([
      ["before", perRun + size.find],
      ["after", perRun + 16 * size.find],
      ["before", perGroups + size.groups],
      ["after", perGroups + 15 * size.groups],
    ]);
  });

  it("charges what RE2 passes over with indexOf, looking for a literal prefix, at regexWorkPerSkipped a character: a $match over a large string with ids far apart runs", async () => {
    const words = "Call me at 3:30PM or 10:15 pm, the meeting is 4PM; see https://example.com/x?a=1 ";
    const text = (n: number) => words.repeat(Math.ceil(n / words.length)).slice(0, n);
    const pattern = '"id":\\s*"([^"]+)"';
    const skipped = TRANSFORM_LIMITS.regexWorkPerSkipped;
    // The id at the end of 256 KiB: the find steps through `{"t` (no thread alive after `{`, the next
    // character looked at), skips to the id (its `step` jumps there) and steps through it and the `}`
    // after; the groups' run through the match and the `}`; the next search, from the `}`, finds none.
    const b = JSON.stringify({ text: text(262_144), id: "abc123" });
    const log: [string, number][] = [];
    const Engine = meteredRegExp({ ...unmetered, after: (w) => log.push(["after", w]) });
    const re = new Engine(new RegExp(pattern, "g"));
    const m = re.exec(b);
    expect(m && [...m]).toEqual(['"id":"abc123"', "abc123"]);
    const at = b.indexOf('"id":');
    expect(m?.index).toBe(at);
    expect(re.exec(b)).toBeNull();
    const size = workPerChar(pattern);
    const perRun = TRANSFORM_LIMITS.regexWorkPerRun;
    expect(log).toEqual([
      ["after", perRun + (at - 3) * skipped + (3 + 14) * size.find],
      ["after", perRun + TRANSFORM_LIMITS.regexWorkPerGroup + 14 * size.groups],
      ["after", perRun + size.find],
    ]);
    // Bounded as it reads the same way: a find (without groups) runs when the work left pays for
    // exactly that, and is stopped, charged what was left, when it is one short.
    const ungrouped = '"id":\\s*"[^"]+"';
    const find = workPerChar(ungrouped).find;
    for (const short of [0, 1]) {
      let left = perRun + (at - 3) * skipped + 17 * find - short;
      const charged: number[] = [];
      const Bounded = meteredRegExp({ ...unmetered, left: () => left, after: (w) => (charged.push(w), (left -= w)) });
      const run = () => new Bounded(new RegExp(ungrouped)).exec(b)?.index;
      if (short) expect(run).toThrow("stopped");
      else expect(run()).toBe(at);
      expect(charged, `${short}`).toEqual([perRun + (at - 3) * skipped + 17 * find - short]);
    }
    const end = await runTransform(compile(`{"m": $match(b, /${pattern}/).groups}`), JSON.stringify({ b }));
    expect(end).toMatchObject({ ok: true, body: '{"m":["abc123"]}' });
    expect(end.steps).toBe(4_939);
    // 1,000 ids in 256 KiB, each found past ~240 characters skipped, the last search finding none:
    // all matched, ~20 steps an id (at their weight, the stretches between them were ~70,000 steps
    // in all, and stopped).
    const items = Array.from({ length: 1_000 }, (_, i) => ({ id: `id${i}`, text: text(240) }));
    const many = await runTransform(compile(`($m := $match(b, /${pattern}/); {"n": $count($m), "last": $m[-1].groups})`), JSON.stringify({ b: JSON.stringify(items) }));
    expect(many).toMatchObject({ ok: true, body: '{"n":1000,"last":["id999"]}' });
    expect(many.steps).toBe(21_485);
  });

  it("charges a literal alone, found by indexOf alone, the text up to its match's end as skipped: found at the end of 256 KiB it costs about what a miss does", async () => {
    const words = "Call me at 3:30PM or 10:15 pm, the meeting is 4PM; see https://example.com/x?a=1 ";
    const filler = words.repeat(Math.ceil(262_144 / words.length)).slice(0, 262_144);
    const run = (b: string) => runTransform(compile(`{"r": [$contains(b, /needle/), $contains(b, /needle/)]}`), JSON.stringify({ b }));
    const [found, missed] = [await run(`${filler}needle`), await run(`${filler}noodle`)];
    expect(found).toMatchObject({ ok: true, body: '{"r":[true,true]}' });
    expect(missed).toMatchObject({ ok: true, body: '{"r":[false,false]}' });
    // Each find: the 262,144 characters before it and its 6 skipped (a miss: the whole rest skipped). At its weight from the search's start it was ~40,700 steps a find: stopped.
    const size = workPerChar("needle").find;
    const skipped = TRANSFORM_LIMITS.regexWorkPerSkipped;
    const log: number[] = [];
    const Engine = meteredRegExp({ ...unmetered, after: (w) => log.push(w) });
    expect(new Engine(new RegExp("needle")).exec(`${filler}needle`)?.index).toBe(262_144);
    expect(log).toEqual([TRANSFORM_LIMITS.regexWorkPerRun + (262_144 + 6) * skipped]);
    expect(size).toBeGreaterThan(skipped);
    expect(Math.abs(found.steps - missed.steps)).toBeLessThan(10);
    // A long literal's matches, each compared by indexOf alone: at its weight a match of `a{199}` cost
    // ~800 steps (74 of them were stopped in 2–5 ms), now ~15 with the match object around it.
    const many = await runTransform(compile(`{"n": $count($match(s, /a{199}/, 74))}`), JSON.stringify({ s: "a".repeat(250_000) }));
    expect(many).toMatchObject({ ok: true, body: '{"n":74}' });
    expect(many.steps).toBeLessThan(2_000);
  });

  it("looks for a literal prefix of at most 200 code units with indexOf: a longer one, dear to V8's indexOf, is stepped through at the pattern's weight", async () => {
    // `ab` and 1,000 `a` over a run of `a`: indexOf took ~0.35 µs a character (a 4,000 long one 1.2 µs),
    // charged 2 units (~10 ns) a character as skipped; 1 MB searched twice took 4 s within the steps.
    const text = "a".repeat(20_000);
    const size = (p: string) => workPerChar(p).find;
    const perRun = TRANSFORM_LIMITS.regexWorkPerRun;
    const charged = (pattern: string, input: string) => {
      const log: number[] = [];
      const Engine = meteredRegExp({ ...unmetered, after: (w) => log.push(w) });
      const m = new Engine(new RegExp(pattern)).exec(input);
      return { index: m?.index ?? null, log };
    };
    const long = `ab${"a".repeat(1_000)}`;
    // Found nowhere: the whole text stepped through at its weight (a skip would be 20,000 × 2).
    expect(charged(long, text)).toEqual({ index: null, log: [perRun + 20_000 * size(long)] });
    // Still found where it is, as a literal alone or with a group after it.
    const at = `${text}${long}${text}`;
    expect(charged(long, at).index).toBe(20_000);
    expect(charged(`${long}(x?)`, at).index).toBe(20_000);
    // 200 code units, looked for with indexOf: the text before it skipped.
    const short = `ab${"a".repeat(198)}`;
    expect(charged(short, text)).toEqual({ index: null, log: [perRun + size(short) + 19_999 * TRANSFORM_LIMITS.regexWorkPerSkipped] });
    // The audit's expression is stopped within the steps rather than run for seconds.
    const stopped = await runTransform(compile(`($s := $pad("", 1000000, "a"); {"r": $count([1..2].$match($s, /aba{1000}a{1000}a{1000}a{1000}/))})`), "{}");
    expect(stopped).toMatchObject({ ok: false });
  });

  it("stops a match as it reads past the work left, charging no more than that, and its compiled pattern matches as before at the next call", async () => {
    // `/a*b|a/` over a run of `a` reads them all before it matches the first: over 20,000 on re2js's
    // bit-state engine (which it runs over up to 262,144 / its instructions characters), over 250,000
    // on its NFA. Each is stopped having read the 1,000 characters the work left pays for, then runs
    // to its end with the same compiled pattern (what re2js's pools held when it was stopped is not reused).
    const source = "a*b|a";
    expect(Math.floor(262_144 / RE2JS.compile(source).programSize())).toBeGreaterThan(20_000);
    const size = workPerChar(source).find;
    const perRun = TRANSFORM_LIMITS.regexWorkPerRun;
    for (const length of [20_000, 250_000]) {
      let left = perRun + 1_000 * size;
      const charged: number[] = [];
      const Engine = meteredRegExp({
        ...unmetered,
        before: (w) => {
          if (w > left) throw new Error("refused");
        },
        left: () => left,
        after: (w) => {
          charged.push(w);
          left -= w;
        },
      });
      const text = "a".repeat(length);
      const re = new Engine(new RegExp(source, "g"));
      expect(() => re.exec(text), `${length}`).toThrow("stopped");
      expect(charged, `${length}`).toEqual([perRun + 1_000 * size]);
      left = Infinity;
      charged.length = 0;
      re.lastIndex = 0;
      const m = re.exec(text);
      expect(m && [m.index, ...m], `${length}`).toEqual([0, "a"]);
      expect(charged, `${length}`).toEqual([perRun + length * size]);
      // And the next match, from where that one ended.
      expect(re.exec(text)?.index, `${length}`).toBe(1);
    }
    // In a transformation: stopped within the steps, and the next run of the same expression answers.
    const expr = `{"n": $contains(s, /(?i)(?:ικ|κι|.){150}[xy]/)}`;
    const stopped = await runTransform(compile(expr), JSON.stringify({ s: "k".repeat(21_500) }));
    expect(stopped).toMatchObject({ ok: false, reason: expect.stringMatching(/^transform: stopped: a regular expression's match took more than the evaluation steps left/) });
    expect(stopped.steps).toBeLessThanOrEqual(TRANSFORM_LIMITS.steps);
    expect(await runTransform(compile(expr), JSON.stringify({ s: "k".repeat(200) + "x" }))).toMatchObject({ ok: true, body: '{"n":true}' });
    expect(await runTransform(compile(expr), JSON.stringify({ s: "k".repeat(149) + "x" }))).toMatchObject({ ok: true, body: '{"n":false}' });
  });

  it("charges a find by its program weighed, reading a match's groups by its captures too, and each run a fixed work", () => {
    const log: [string, number][] = [];
    const Engine = meteredRegExp({ ...unmetered, before: (w) => log.push(["before", w]), after: (w) => log.push(["after", w]) });
    const perRun = TRANSFORM_LIMITS.regexWorkPerRun;
    // `(a)(b)…(t)` over 1,000 characters ending in its match: the find skips the first 980 (indexOf
    // of its prefix `abc…t`, regexWorkPerSkipped each) and reads the match's 20, weighed 2 an instruction
    // (62 of them); the groups' run reads those 20 from its start, × (1 + 20/10).
    const groups = "abcdefghijklmnopqrst";
    const source = groups.replace(/./g, "($&)");
    const size = workPerChar(source);
    expect(size).toEqual({ find: 62 * 2, groups: 62 * 2 * 3 });
    const m = new Engine(new RegExp(source, "g")).exec("x".repeat(980) + groups);
    expect(m?.index).toBe(980);
    const perGroups = perRun + 20 * TRANSFORM_LIMITS.regexWorkPerGroup;
    // Each run checked before for its fixed work and a character (what it reads is bounded as it reads).
    expect(log).toEqual([
      ["before", perRun + size.find],
      ["after", perRun + 980 * TRANSFORM_LIMITS.regexWorkPerSkipped + 20 * size.find],
      ["before", perGroups + size.groups],
      ["after", perGroups + 20 * size.groups],
    ]);
    // Without a match, the find alone; over nothing, still its run's work and its program at one position.
    log.length = 0;
    expect(new Engine(new RegExp(source, "g")).exec("")).toBeNull();
    expect(log).toEqual([["before", perRun + size.find], ["after", perRun + size.find]]);
  });

  it("charges a run over nothing its program at one position, and reading groups each group declared (an audit: 0.45–1.4 s an attempt charged a run's fixed work alone)", async () => {
    // 4,000 groups under {0}: a program of a few instructions, and ~70 µs a read of its groups in node.
    const unused = `(?:${"()".repeat(4000)}){0}`;
    const log: [string, number][] = [];
    const Engine = meteredRegExp({ ...unmetered, after: (w) => log.push(["after", w]) });
    expect(new Engine(new RegExp(unused, "g")).exec("")?.index).toBe(0);
    const size = workPerChar(unused);
    expect(log).toEqual([
      ["after", TRANSFORM_LIMITS.regexWorkPerRun + size.find],
      ["after", TRANSFORM_LIMITS.regexWorkPerRun + 4000 * TRANSFORM_LIMITS.regexWorkPerGroup + size.groups],
    ]);
    // The audit's loops stop within their steps, having done a bounded part of what they asked.
    for (const expr of [`$count([1..11000].$match("", /${unused}/))`, `$count([1..10000].$contains("", /(?:a?){1000}(?:a?){1000}/))`]) {
      const r = await runTransform(compile(`{"n": ${expr}}`), "{}");
      expect(r, expr).toMatchObject({ ok: false });
      expect(r.steps, expr).toBeLessThanOrEqual(50_000);
    }
  });

  it("charges each match a fixed work besides its characters: JSONata's handling of many short matches", async () => {
    // `$replace` of each space in "a a a …" (10,000 matches): 10,080 steps when charged by characters
    // alone, 21–36 ms in node (2–3.6 µs a step); now ~1–1.8.
    const t = "a ".repeat(10_000);
    const replaced = await runTransform(compile(`{"n": $length($replace(t, /\\s+/, "_"))}`), JSON.stringify({ t }));
    expect(replaced).toMatchObject({ ok: true, body: '{"n":20000}' });
    expect(replaced.steps).toBe(20_286);
  });

  it("compiles a pattern that may begin the text without re2js's one-pass program, matching as RE2 does", () => {
    // re2js builds one for a pattern anchored at its start, in time growing with the square of its
    // alternatives (240 of 28 characters: 4.6-6.1 s at each attempt in workerd, charged ~1,000 steps).
    const compiled = (source: string, flags = "") => RE2JS.compile(re2Program({ source, flags }).pattern);
    // (An alternative that never matches is dropped by RE2's compiler: the anchored one after it comes first.)
    for (const anchored of ["^(?:(a)|(b))*$", "\\A(?:x|y)", "(?i)^ab", "^abc$", "[^\\s\\S]|^(?:(a)|(b))*$"]) {
      expect(RE2JS.compile(anchored).re2().onepass, anchored).not.toBeNull();
      expect(compiled(anchored).re2().onepass, anchored).toBeNull();
    }
    // A `^` in a class, escaped, or a line's (`m`) anchors nothing at the text's start: compiled as written.
    const unanchoredCases: [string, string][] = [["[^,]+", ""], ["a\\^b", ""], ["\\Q^\\E", ""], ["^id: (\\d+)", "m"]];
    for (const [unanchored, flags] of unanchoredCases) {
      expect(re2Program({ source: unanchored, flags }).pattern).toBe(RE2JS.translateRegExp(unanchored));
    }
    // What RE2 refuses is refused as written: a leading repetition repeats nothing.
    for (const refused of ["+^a", "?^a", "{2}^a"]) expect(compileTransform(`$match("a", /${refused}/)`).ok, refused).toBe(false);
    // What RE2 runs as written runs so: a `\Q` never ended would quote a group's closing around it.
    for (const quoted of ["^\\Qa", "\\A\\Qx", "^a\\Q"]) {
      expect(re2Program({ source: quoted, flags: "" }).pattern, quoted).toBe(quoted);
      expect(compileTransform(`$match("a", /${quoted}/)`).ok, quoted).toBe(true);
    }
    // Nor is a class never closed wrapped: RE2 refuses it with its own text.
    expect(re2Program({ source: "^[a", flags: "" }).pattern).toBe("^[a");
    // Matching as RE2 alone does: where, what, and each group.
    const Engine = meteredRegExp(unmetered);
    const cases: [string, string][] = [["^(a|b)+$", "abba"], ["^(a)|(b)", "ba"], ["(?m)^(\\w)", "x\ny"], ["\\A(x)?y", "y"], ["^$", ""]];
    for (const [pattern, input] of cases) {
      const linear = new Engine({ source: pattern, flags: "g" });
      const plain = RE2JS.compile(RE2JS.translateRegExp(pattern)).matcher(input);
      const found: unknown[] = [];
      const expected: unknown[] = [];
      for (let m = linear.exec(input), n = 0; m !== null && n < 5; m = linear.exec(input), n++) {
        found.push([m.index, ...m]);
        if (m[0] === "") linear.lastIndex++;
      }
      for (let from = 0, n = 0; from <= input.length && n < 5 && plain.find(from); n++) {
        expected.push([plain.start(), ...Array.from({ length: plain.groupCount() + 1 }, (_, i) => plain.group(i) ?? undefined)]);
        from = plain.end() > plain.start() ? plain.end() : plain.end() + 1;
      }
      expect(found, pattern).toEqual(expected);
    }
  });

  it("reads no more of a string matched than it charges: no prefilter scans ahead with indexOf", async () => {
    // re2js first looks for the literals a match needs (`aq` and `w`, or `b`) with indexOf, through
    // the rest of the input when one is missing: at every match, uncharged (`/aq[^,]*w|b/` over
    // 250,000 characters: 35 s within the steps).
    const text = "ab".repeat(10_000);
    let read = 0;
    const { indexOf, charCodeAt } = String.prototype;
    String.prototype.indexOf = function (this: string, search: string, from?: number) {
      const at = indexOf.call(this, search, from);
      if (this.length === text.length) read += (at < 0 ? this.length : at + search.length) - (from ?? 0);
      return at;
    };
    String.prototype.charCodeAt = function (this: string, at: number) {
      if (this.length === text.length) read += 1;
      return charCodeAt.call(this, at);
    };
    try {
      const out = await runTransform(compile(`{"n": $count($match(s, /aq[^,]*w|b/, 100))}`), JSON.stringify({ s: text }));
      expect(out).toMatchObject({ ok: true, body: '{"n":100}' });
    } finally {
      String.prototype.indexOf = indexOf;
      String.prototype.charCodeAt = charCodeAt;
    }
    // 100 matches of one `b`, each after one `a`: a few characters each, not the 20,000 left.
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThan(2_000);
  });

  it("runs without eval or new Function (which workerd forbids)", async () => {
    // Neither library's source generates code…
    // (A call to eval, not a method definition named eval.)
    const codegen = /\bnew Function\b|\bFunction\s*\(|(?<![.\w])eval\s*\([^)]*\)(?!\s*\{)/;
    expect(jsonataSource).not.toMatch(codegen);
    expect(re2jsSource).not.toMatch(codegen);
    // …and a run that uses paths, lambdas, regexes, sorting and the transform operator succeeds
    // while both are booby-trapped.
    const calls: string[] = [];
    const realEval = globalThis.eval;
    const realFunction = globalThis.Function;
    globalThis.eval = () => {
      calls.push("eval");
      throw new Error("eval");
    };
    globalThis.Function = new Proxy(realFunction, {
      construct() {
        calls.push("new Function");
        throw new Error("new Function");
      },
      apply() {
        calls.push("Function");
        throw new Error("Function");
      },
    });
    try {
      const out = await transformed(
        `($up := function($s) { $uppercase($s) }; {"who": $up(pusher.name), "sorted": $sort(commits.id, function($a, $b) { $a < $b }), "fixes": commits[$contains(message, /fix/i)].id, "redacted": $ ~> |pusher|{}, ["name"]|})`,
        githubPush,
      );
      expect(out.body.who).toBe("OCTOCAT");
      expect(out.body.sorted).toEqual(["b2", "a1"]);
      expect(out.body.fixes).toBe("a1");
      expect(out.body.redacted.pusher).toEqual({});
    } finally {
      globalThis.eval = realEval;
      globalThis.Function = realFunction;
    }
    expect(calls).toEqual([]);
  });
});

describe("bounds", () => {
  it("reports the steps a run took: all its expressions', a failed one's up to where it stopped", async () => {
    const sum = "$sum([1..1000].($ * 2))";
    const body = await runTransform(compile(sum), "{}");
    const header = await runTransform({ body: null, headers: { "x-sum": `$string(${sum})` } }, "{}");
    const both = await runTransform({ body: sum, headers: { "x-sum": `$string(${sum})` } }, "{}");
    expect(body.steps).toBeGreaterThan(1000);
    expect(header.steps).toBeGreaterThan(1000);
    expect(both).toMatchObject({ ok: true, steps: body.steps + header.steps });
    // A header that fails after the body ran: the body's steps and the header's until the run's bound stopped it.
    const failed = await runTransform({ body: sum, headers: { "x-sum": "$sum([1..90000].($ * 2))" } }, "{}");
    expect(failed.ok).toBe(false);
    expect(failed.steps).toBeGreaterThan(TRANSFORM_LIMITS.steps);
    expect(failed.steps).toBeLessThan(TRANSFORM_LIMITS.steps + 10);
    expect((await runTransform({ body: null, headers: {} }, "{}")).steps).toBe(0);
  });

  it("bounds a run's steps once, the body's and every header's expression together: each gets what those before it left", async () => {
    // Each its own 50,000 steps, an attempt's 11 expressions ran 550,000 (seconds of CPU an attempt).
    const heavy = "$string($sum([1..7500].($ * 2)))";
    const alone = await runTransform({ body: null, headers: { "x-a": heavy } }, "{}");
    expect(alone).toMatchObject({ ok: true, headers: { "x-a": "56257500" } });
    expect(alone.steps).toBeGreaterThan(TRANSFORM_LIMITS.steps / 2);
    // Said of the run: the header stopped may be cheap alone, and the steps before it are named.
    const stopped = (spent: number) => `stopped after ${TRANSFORM_LIMITS.steps} evaluation steps, ${spent} of them by the expressions before this one (an endless or too costly expression)`;
    const names = ["x-a", "x-b", "x-c", "x-d", "x-e", "x-f", "x-g", "x-h", "x-i", "x-j"];
    const tenHeaders = await runTransform({ body: null, headers: Object.fromEntries(names.map((n) => [n, heavy])) }, "{}");
    expect(tenHeaders).toMatchObject({ ok: false, reason: `transformHeaders["x-b"]: ${stopped(alone.steps)}` });
    expect(tenHeaders.steps).toBeLessThan(TRANSFORM_LIMITS.steps + 10);
    // The body's steps count against its headers', and a header's against the next one's.
    const bodyFirst = await runTransform({ body: `{"n": $sum([1..7500].($ * 2))}`, headers: { "x-a": heavy } }, "{}");
    const body = await runTransform({ body: `{"n": $sum([1..7500].($ * 2))}`, headers: {} }, "{}");
    expect(bodyFirst).toMatchObject({ ok: false, reason: `transformHeaders["x-a"]: ${stopped(body.steps)}` });
    // A small run is unchanged, and the steps answered are the run's total.
    const small = await runTransform({ body: `{"n": 1}`, headers: { "x-a": "'a'", "x-b": "'b'" } }, "{}");
    expect(small).toMatchObject({ ok: true, body: '{"n":1}', headers: { "x-a": "a", "x-b": "b" } });
  });

  it("stops an endless recursion: a tail call at the step bound, a deep one at the depth bound", async () => {
    const tail = await failure(`($f := function($n) { $f($n + 1) }; $f(0))`, "{}");
    const stopped = `transform: stopped after ${TRANSFORM_LIMITS.steps} evaluation steps (an endless or too costly expression)`;
    expect(tail).toEqual({ ok: false, reason: stopped, summary: stopped, permanent: true, steps: expect.any(Number) });
    expect(tail.steps).toBeGreaterThan(TRANSFORM_LIMITS.steps);
    const deep = await failure(`($f := function($n) { 1 + $f($n + 1) }; $f(0))`, "{}");
    expect(deep.permanent).toBe(true);
    expect(deep.reason).toMatch(/^transform: D1011: Stack overflow/);
  });

  it("gives a recursive function as many levels as fit the call depth by what each nests, as docs/filters-and-transforms.md says", async () => {
    // [a level's body, the levels at which it fails, as the doc writes them]
    const shapes = [
      ["$n = 0 ? 0 : 1 + $f($n - 1)", 166],
      ["($n = 0 ? 0 : 1 + $f($n - 1))", 124],
      ["$n = 0 ? [] : $append([$n], $f($n - 1))", 496],
    ] as const;
    const call = (body: string, n: number) => `($f := function($n) { ${body} }; $f(${n}))`;
    for (const [body, fails] of shapes) {
      expect((await runTransform(compile(call(body, fails - 1)), "{}")).ok, body).toBe(true);
      expect((await failure(call(body, fails), "{}")).reason, body).toMatch(/^transform: D1011: Stack overflow/);
      expect(filtersDoc.replace(/\s+/g, " "), body).toMatch(new RegExp(`\`\\(?${body.replace(/[$()?+[\]]/g, "\\$&")}\\)?\`[^.;]*? at ${fails}\\b`));
    }
    expect(TRANSFORM_LIMITS.depth).toBe(500);
    expect(filtersDoc.replace(/\s+/g, " ")).toContain("call depth 500 (expressions in evaluation inside one another");
    // A tail call, or one that is an array constructor's item, nests nothing: the steps stop it.
    for (const body of ["$n = 0 ? 0 : $f($n - 1)", "$n = 0 ? 0 : [$f($n - 1)]"]) {
      expect((await failure(call(body, 10_000), "{}")).reason, body).toMatch(/stopped after 50000 evaluation steps/);
    }
  });

  it("runs an array or object constructor of many items: JSONata evaluates them side by side, each raising its one call depth", async () => {
    // 520 ids (4,072 characters) failed every evaluation with D1011 ("non-terminating recursive function").
    const ids = Array.from({ length: 1000 }, (_, i) => `"id${i}"`).join(",");
    expect(await transformed(`{"vip": data.uid in [${ids}]}`, '{"data": {"uid": "id999"}}')).toEqual({ body: { vip: true }, headers: {} });
    const keys = Array.from({ length: 600 }, (_, i) => `"k${i}":n`).join(",");
    expect((await transformed(`{${keys}}`, '{"n": 1}')).body).toMatchObject({ k0: 1, k599: 1 });
    // Nested, the inner ones' items are in flight with the outer ones'.
    const inner = Array.from({ length: 300 }, (_, i) => String(i)).join(",");
    expect((await transformed(`$count([[${inner}], [${inner}], {"a": [${inner}]}.a].$)`, "{}")).body).toBe(900);
    expect(await runTransform({ body: `{"vip": data.uid in [${ids}]}`, headers: {} }, '{"data": {"uid": "x"}}')).toMatchObject({ ok: true, body: '{"vip":false}' });
    // A grouping's values are evaluated side by side too, one per key found while running.
    const items = JSON.stringify({ items: Array.from({ length: 2000 }, (_, i) => ({ id: `i${i}`, n: { v: i } })) });
    expect((await transformed(`$count($keys(items{id: n.v}))`, items)).body).toBe(2000);
    // Recursion is bounded as it was, beside a long list.
    const deep = await failure(`($f := function($n) { 1 + $f($n + 1) }; [${ids}, $f(0)])`, "{}");
    expect(deep.reason).toMatch(/^transform: D1011: Stack overflow/);
  });

  it("stops an expression that does too much work, at the step bound", async () => {
    const r = await failure(`$sum([1..90000].($ * 2))`, "{}");
    const stopped = `transform: stopped after ${TRANSFORM_LIMITS.steps} evaluation steps (an endless or too costly expression)`;
    expect(r).toEqual({ ok: false, reason: stopped, summary: stopped, permanent: true, steps: expect.any(Number) });
    // The same event fails the same way every time.
    expect(await failure(`$sum([1..90000].($ * 2))`, "{}")).toEqual(r);
    // A smaller budget is honoured, and work within it runs.
    expect((await failure(`$sum([1..500].($ * 2))`, "{}", { maxSteps: 100 })).reason).toMatch(/stopped after 100 evaluation steps/);
    expect((await transformed(`{"n": $sum([1..500].($ * 2))}`, "{}")).body).toEqual({ n: 250500 });
  });

  it("counts a long string or array an expression gives by its size: built-ins repeated over big values run out of steps", async () => {
    const stopped = `transform: stopped after ${TRANSFORM_LIMITS.steps} evaluation steps (an endless or too costly expression)`;
    // A few hundred calls each, one step apiece as calls: seconds of work on megabytes before sizes counted.
    expect((await failure(`($s := $pad("", 1000000, "a"); $count([1..200].$length($uppercase($s))))`, "{}")).reason).toBe(stopped);
    expect((await failure(`($a := [1..99999]; $count([1..100].$length($string($a))))`, "{}")).reason).toBe(stopped);
    expect((await failure(`($s := $pad("", 1000000, "a"); $count([1..200][$contains($s, "b")]))`, "{}")).reason).toBe(stopped);
    // What transforms do with a body's values stays far within: a 200,000-character field used ten times.
    const big = JSON.stringify({ data: { body: "x".repeat(200_000) } });
    expect((await transformed(`($b := data.body; {"n": $sum([1..10].$length($uppercase($b)))})`, big)).body).toEqual({ n: 2_000_000 });
  });

  it("trims a header's value in one pass however long its runs of white space: one of 600,000 characters is refused for its length at once", async () => {
    // Spaces inside the value, which `[\t ]+$` went back over from each one: minutes of CPU, not a step counted.
    const long = "not a valid header value (printable ASCII, at most 4096 characters)";
    const padded = await runTransform({ body: null, headers: { "x-pad": "'a' & $pad('', 600000) & 'b'" } }, "{}");
    expect(padded).toMatchObject({ ok: false, reason: expect.stringContaining(long) });
    const sent = await runTransform({ body: null, headers: { "x-pad": "data" } }, JSON.stringify({ data: `a${" ".repeat(250_000)}b` }));
    expect(sent).toMatchObject({ ok: false, reason: expect.stringContaining(long) });
    // Within the bound, trimmed of spaces and tabs at its ends only.
    const fine = await runTransform({ body: null, headers: { "x-pad": "data" } }, JSON.stringify({ data: `\t a${" ".repeat(4000)}b \t` }));
    expect(fine).toMatchObject({ ok: true, headers: { "x-pad": `a${" ".repeat(4000)}b` } });
  });

  it("$now() and $random() vary between evaluations of one event, and a failure is permanent all the same, as the docs say", async () => {
    const a = await transformed(`{"r": $random(), "t": $millis(), "now": $now()}`, "{}");
    // The clock past the first run's millisecond (a positive signal, not a sleep).
    while (Date.now() <= a.body.t + 1) await Promise.resolve();
    const b = await transformed(`{"r": $random(), "t": $millis(), "now": $now()}`, "{}");
    expect(a.body).not.toEqual(b.body);
    // `$now()` is the time its own evaluation began, as `$millis()` (it once wrote the isolate's first run's, every run).
    expect(b.body.now).not.toBe(a.body.now);
    expect(b.body.now).toBe(new Date(b.body.t).toISOString());
    expect(await failure(`$random() < 2 ? $error("unlucky") : 1`, "{}")).toMatchObject({ permanent: true });
    expect(filtersDoc).toContain("unless the expression calls `$now()`, `$millis()` or\n`$random()`");
  });

  it("stops a sequence over the length bound", async () => {
    const r = await failure(`$count([1..${TRANSFORM_LIMITS.sequence + 1}])`, "{}");
    // The bound, not the length refused (JSONata's own message says "maximum sequence length of 100001").
    expect(r.reason).toBe(`transform: D2015: a sequence grew over ${TRANSFORM_LIMITS.sequence} items (at position 11)`);
    expect((await failure(`$count($append([1..60000], [1..60000]))`, "{}")).reason).toMatch(new RegExp(`^transform: D2015: a sequence grew over ${TRANSFORM_LIMITS.sequence} items`));
  });

  it("stops a string that doubles until it is huge", async () => {
    const r = await failure(`($d := function($s, $n) { $n = 0 ? $s : $d($s & $s, $n - 1) }; $d("x", 40))`, "{}");
    expect(r.reason).toBe(`transform: stopped: a string grew over ${TRANSFORM_LIMITS.stringChars} characters`);
  });

  it("charges the strings an array holds: a built-in mapped over references to one long string copies it each time", async () => {
    // 64 references to one string of 1,000,000 characters (six doublings), each upper-cased by $map: 64 new strings,
    // 64,000,000 characters held at once (128 MB as UTF-16 for a two-byte string), past what an isolate has.
    const doubled = Array.from({ length: 6 }, () => "$a := $append($a, $a);").join(" ");
    const r = await failure(`($s := $pad("", 1000000, "x"); $a := [$s]; ${doubled} $count($map($a, $uppercase)))`, "{}");
    expect(r.reason).toBe(`transform: stopped after ${TRANSFORM_LIMITS.steps} evaluation steps (an endless or too costly expression)`);
    // Mapped over what a body holds, as before.
    expect((await transformed(`{"names": $map(items.name, $uppercase)}`, JSON.stringify({ items: [{ name: "a" }, { name: "b" }] }))).body).toEqual({ names: ["A", "B"] });
  });

  it("bounds the built-ins one step does not: $pad before it builds its string, $distinct before it compares", async () => {
    expect((await failure(`$pad("", 300000000, "x")`, "{}")).reason).toBe(
      `transform: stopped: $pad to 300000000 characters is over ${TRANSFORM_LIMITS.stringChars}`,
    );
    expect((await failure(`$pad("", -300000000)`, "{}")).reason).toMatch(/^transform: stopped: \$pad to -300000000 characters/);
    const many = TRANSFORM_LIMITS.distinctItems + 1;
    expect((await failure(`$count($distinct([1..${many}]))`, "{}")).reason).toBe(
      `transform: stopped: $distinct of ${many} items is over ${TRANSFORM_LIMITS.distinctItems}`,
    );
    // Within the bounds they work as JSONata's own.
    expect((await transformed(`{"p": $pad("ab", -5, "-"), "d": $distinct([1, 2, 2, {"a": 1}, {"a": 1}])}`, "{}")).body).toEqual({
      p: "---ab",
      d: [1, 2, { a: 1 }],
    });
    expect((await transformed(`{"n": $count($distinct([1..${TRANSFORM_LIMITS.distinctItems}]))}`, "{}")).body).toEqual({ n: TRANSFORM_LIMITS.distinctItems });
    // On a path's results (a sequence, which JSONata's own $distinct builds with its focus) too.
    expect((await transformed(`{"skus": $distinct(items.sku)}`, '{"items": [{"sku": "a"}, {"sku": "a"}, {"sku": "b"}]}')).body).toEqual({ skus: ["a", "b"] });
    expect((await transformed(`{"p": $pad(missing, 2000000)}`, "{}")).body).toEqual({});
    // A wide pad string counts: JSONata joins whole copies of it before trimming.
    expect((await failure(`$pad("", 500000, "abc")`, "{}")).reason).toMatch(/^transform: stopped: \$pad to 500000 characters/);
    // Their work counts in the steps, however few calls: many $distinct of 5,000 run out of steps.
    expect((await failure(`($a := [1..${TRANSFORM_LIMITS.distinctItems}]; [1..20].$count($distinct($a)))`, "{}")).reason).toBe(
      `transform: stopped after ${TRANSFORM_LIMITS.steps} evaluation steps (an endless or too costly expression)`,
    );
  });

  it("charges what = and != compare by its values at every depth: a copy of an object compared with it walks and sorts all of it", async () => {
    const stopped = `transform: stopped after ${TRANSFORM_LIMITS.steps} evaluation steps (an endless or too costly expression)`;
    const d = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`k${i}`, i]));
    const body = JSON.stringify({ d });
    // Each side is 2,001 values (the body, its one key, d's 2,000): comparing a copy with it costs
    // 2,001 steps. It was about five, however big: thirty comparisons ran on, and so would thousands.
    const perComparison = Math.ceil((2 * 2001) / TRANSFORM_LIMITS.comparedValuesPerStep);
    expect((await failure(`($c := $clone($); [1..30].($c = $$))`, body)).reason).toBe(stopped);
    expect((await failure(`($c := $clone($); [1..30].($c != $$))`, body)).reason).toBe(stopped);
    expect(30 * perComparison).toBeGreaterThan(TRANSFORM_LIMITS.steps);
    // A few comparisons of it run, with JSONata's answers; comparing values that are not objects or arrays costs nothing more.
    expect((await transformed(`($c := $clone($); {"same": $c = $, "differ": $c != $, "other": d = {"k0": 0}, "n": $count([1..1000][$ = 5])})`, body)).body).toEqual({
      same: true,
      differ: false,
      other: false,
      n: 1,
    });
  });

  it("charges $distinct by the values it compares, and $merge, $keys and $spread by the keys they go through", async () => {
    const stopped = `transform: stopped after ${TRANSFORM_LIMITS.steps} evaluation steps (an endless or too costly expression)`;
    // 1,000 distinct objects: each compared with every one kept, 4 values at a time. They cost 1,000 steps, as numbers do.
    const objects = JSON.stringify({ a: Array.from({ length: 1000 }, (_, i) => ({ a: 0, b: 0, c: 0, n: i })) });
    expect((await failure(`$count($distinct(a))`, objects)).reason).toBe(stopped);
    expect((await transformed(`{"n": $count($distinct(a.n)), "d": $distinct(a[n < 2].{"a": a})}`, objects)).body).toEqual({ n: 1000, d: { a: 0 } });
    // A body of 2,000 keys: each call over it costs its keys (it was one step, however wide).
    const wide = JSON.stringify(Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`k${i}`, i])));
    const keys = Math.ceil(2000 / TRANSFORM_LIMITS.keysPerStep);
    for (const call of [`$merge([$$, $$])`, `$keys($$)`, `$spread($$)`]) {
      expect((await failure(`$count([1..60].(${call}))`, wide)).reason).toBe(stopped);
    }
    expect((await failure(`$keys($)`, wide, { maxSteps: keys })).reason).toMatch(/stopped after/);
    expect((await failure(`$merge([$, $])`, wide, { maxSteps: 2 * keys })).reason).toMatch(/stopped after/);
    // Once over it runs, as JSONata's does.
    expect((await transformed(`{"n": $count($keys($merge([$, {"extra": 1}]))), "s": $spread({"a": 1, "b": 2})}`, wide)).body).toEqual({
      n: 2001,
      s: [{ a: 1 }, { b: 2 }],
    });
  });

  it("spreads an array in one pass, charged by its items: JSONata's copies all before each item (60,000 numbers took 16 s)", async () => {
    const items = JSON.stringify({ a: Array.from({ length: 20_000 }, (_, i) => i) });
    // As a copy of it is charged ($append: the array it gives), and its items once more as they are gone through.
    const copied = await runTransform(compile(`$count($append(a, []))`), items);
    const spread = await runTransform(compile(`$count($spread(a))`), items);
    expect(spread).toMatchObject({ ok: true, body: "20000" });
    expect(spread.steps - copied.steps).toBeGreaterThan(20_000 / TRANSFORM_LIMITS.listedItemsPerStep / 2);
    // Arrays of a few items add up too: a ternary tree of 29,524 arrays (29,523 items in them), each under a step alone.
    const tree = (depth: number): unknown[] => (depth === 0 ? [] : [tree(depth - 1), tree(depth - 1), tree(depth - 1)]);
    const small = JSON.stringify({ t: tree(9) });
    const count = await runTransform(compile(`$count(t)`), small);
    const spreadTree = await runTransform(compile(`$count($spread(t))`), small);
    expect(spreadTree.steps - count.steps).toBeGreaterThan(29_523 / TRANSFORM_LIMITS.listedItemsPerStep / 2);
    // Each value put once into the one answer, not copied up through each level: 5,000 arrays deep
    // (an answer copied at each level was depth × items, and its recursion ran out of stack).
    const deep = `{"a": ${"[".repeat(5000)}1, {"k": 2}, 3${"]".repeat(5000)}}`;
    expect(await runTransform(compile(`$spread(a)`), deep)).toMatchObject({ ok: true, body: JSON.stringify([1, { k: 2 }, 3]) });
    // JSONata's answers: an empty sequence (nothing) when nothing was appended, a plain array once anything was.
    for (const expr of [`$spread([])`, `$spread([[]])`, `$spread([[], []])`, `$spread([{"a": 1}, [{"b": 2, "c": 3}, 4], [], "x"])`, `$spread([[[1]], 2])`, `$spread([[[], [[]]], [[1, [{"a": 1, "b": [2]}]], "x"]])`]) {
      const r = await runTransform(compile(`{"v": ${expr}}`), "{}");
      expect(r.ok && JSON.parse(r.body), expr).toEqual(await jsonata(`{"v": ${expr}}`).evaluate({}));
    }
  });

  it("charges $keys and $lookup by the items of the arrays they go through at every depth, and $zip by the items it pairs", async () => {
    const body = JSON.stringify({ z: Array.from({ length: 10_000 }, (_, i) => [i]), a: Array.from({ length: 10_000 }, (_, i) => i) });
    const steps = async (expr: string) => (await runTransform(compile(`$count(${expr})`), body)).steps;
    // 20,000 items (outer and inner) at a step per 4; the array alone is charged as one string-free array.
    expect((await steps(`$keys(z)`)) - (await steps(`z`))).toBeGreaterThan(20_000 / TRANSFORM_LIMITS.listedItemsPerStep - 100);
    expect((await steps(`$lookup(z, "a")`)) - (await steps(`z`))).toBeGreaterThan(20_000 / TRANSFORM_LIMITS.listedItemsPerStep - 100);
    expect((await steps(`$zip(a, a)`)) - (await steps(`[a, a]`))).toBeGreaterThan(20_000 / TRANSFORM_LIMITS.zippedItemsPerStep - 400);
    // Each level of arrays copies its items' answers: 20,000 values looked up 100 arrays deep, 20,000 keys listed 100 deep.
    const deep = (inner: string) => `$reduce([1..100], function($a, $i) { [[$a]] }, ${inner})`;
    const zeros = JSON.stringify({ a: Array.from({ length: 20_000 }, () => 0) });
    expect((await failure(`$count($lookup(${deep("[$]")}, "a"))`, zeros)).reason).toMatch(/^transform: stopped after/);
    const wide = JSON.stringify(Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, 0])));
    expect((await failure(`$count($keys(${deep("[$]")}))`, wide)).reason).toMatch(/^transform: stopped after/);
    const expr = `{"k": $keys([{"a": 1}, [{"b": 2}, 3]]), "l": $lookup([{"a": 1}, [{"a": [2, 3]}], 4], "a"), "z": $zip([1, 2, 3], ["a", "b"]), "kk": $keys([[[{"a": 1}, {"b": 2}]], {"a": 3}, [[[]]]]), "ll": $lookup([[[{"a": [1, [2]]}], {"b": 1}], {"a": 3}, [[{"a": null}]]], "a"), "n": $lookup([[]], "a")}`;
    expect((await transformed(expr, "{}")).body).toEqual(JSON.parse(JSON.stringify(await jsonata(expr).evaluate({}))));
  });

  it("charges a name step given arrays of arrays by what it copies at every level, and an array constructor by the items it appends", async () => {
    // `a.x` with `a` 1,000 arrays deep around 20,000 values: one step that took 1.7 s (JSONata copies the answer at each level).
    const nested = (depth: number, inner: unknown): unknown => (depth === 0 ? inner : [nested(depth - 1, inner)]);
    const zeros = Array.from({ length: 20_000 }, () => 0);
    expect((await failure(`{"n": $count(a.x)}`, JSON.stringify({ a: nested(1000, { x: zeros }) }))).reason).toMatch(/^transform: stopped after/);
    const shallow = await runTransform(compile(`$count(a.x)`), JSON.stringify({ a: nested(3, { x: zeros }) }));
    expect(shallow).toMatchObject({ ok: true, body: "20000" });
    // (The step `a` gives its array's items: `x` is looked up in 2 levels of arrays.)
    expect(shallow.steps).toBeGreaterThan((2 * 20_000) / TRANSFORM_LIMITS.listedItemsPerStep);
    // A path over objects (no arrays of arrays) is charged as before: a step per item it evaluates `x` on, and its answer's size.
    const flat = await runTransform(compile(`$count(items.x)`), JSON.stringify({ items: Array.from({ length: 20_000 }, (_, i) => ({ x: i })) }));
    expect(flat).toMatchObject({ ok: true, body: "20000" });
    expect(flat.steps).toBeLessThan(20_000 + 20_000 / TRANSFORM_LIMITS.listedItemsPerStep);
    // 2,700 arrays of 37 appended one by one, each copying all before it: 16 s within the bound before.
    const many = Array.from({ length: 2700 }, () => "$x").join(",");
    expect((await failure(`{"n": ($x := [1..37]; $count([${many}]))}`, "{}")).reason).toMatch(/^transform: stopped after/);
    const appended = await runTransform(compile(`($x := [1..50]; $count([${Array.from({ length: 100 }, () => "$x").join(",")}]))`), "{}");
    expect(appended).toMatchObject({ ok: true, body: "5000" });
    expect(appended.steps).toBeGreaterThan((100 * 5000) / TRANSFORM_LIMITS.appendedItemsPerStep);
    // Array constructors as items are pushed whole, not appended: nothing to charge.
    const pushed = await runTransform(compile(`($x := [1..50]; $count([${Array.from({ length: 100 }, () => "[$x]").join(",")}]))`), "{}");
    expect(pushed).toMatchObject({ ok: true, body: "100" });
    expect(pushed.steps).toBeLessThan((100 * 100) / TRANSFORM_LIMITS.appendedItemsPerStep + 1_000);
  });

  it("charges a name step through arrays of arrays before JSONata looks the name up, not after", async () => {
    const nested = (depth: number, inner: unknown): unknown => (depth === 0 ? inner : [nested(depth - 1, inner)]);
    const zeros = Array.from({ length: 20_000 }, () => 0);
    // The innermost `x` counts its reads: the charge reads it once; JSONata's lookup, run first, would read it again.
    let reads = 0;
    const leaf = Object.defineProperty({}, "x", { enumerable: true, get: () => (reads++, zeros) });
    expect(await evaluate(`$count(a.x)`, { a: nested(1000, leaf) }, TRANSFORM_LIMITS.steps)).toMatchObject({ ok: false });
    expect(reads).toBe(1);
  });

  it("charges the strings = compares inside objects, and $distinct's strings of one length, by their characters", async () => {
    const long = (c: string) => c.repeat(500_000);
    const objects = JSON.stringify({ o1: { a: long("x"), b: long("y") }, o2: { a: long("x"), b: long("y") } });
    const compared = await runTransform(compile(`o1 = o2`), objects);
    expect(compared).toMatchObject({ ok: true, body: "true" });
    expect(compared.steps).toBeGreaterThan((2 * 1_000_000) / TRANSFORM_LIMITS.comparedCharsPerStep - 10);
    // An object's keys are compared by their characters as strings are, as often as sorting them compares each:
    // 250 keys of 1,000 characters sharing 990, compared 40 times (190 such comparisons took 190 ms, 45 ms with short keys).
    const keyed = (prefix: string) => JSON.stringify(Object.fromEntries(Array.from({ length: 250 }, (_, i) => [prefix + String(1e9 + i), 1])));
    const equal = `($b := $merge([$]); $count([1..40].($$ = $b)))`;
    const longKeys = await runTransform(compile(equal), keyed("k".repeat(990)));
    const shortKeys = await runTransform(compile(equal), keyed("k"));
    expect(longKeys).toMatchObject({ ok: true, body: "40" });
    expect(longKeys.steps - shortKeys.steps).toBeGreaterThan((40 * 2 * 250 * 989 * Math.log2(250)) / TRANSFORM_LIMITS.comparedCharsPerStep);
    // 2,000 strings of 1,000 characters that differ at their ends: each pair compared through.
    const strings = JSON.stringify({ a: Array.from({ length: 2000 }, (_, i) => "x".repeat(992) + String(i).padStart(8, "0")) });
    expect((await failure(`$count($distinct(a))`, strings)).reason).toMatch(/^transform: stopped after/);
    expect((await transformed(`$distinct(["ab", "cd", "ab", "e"])`, "{}")).body).toEqual(["ab", "cd", "e"]);
    // Ids that differ early (UUIDs) are charged for the prefix they share, not their length: 5,000 fit a run.
    const uuids = Array.from({ length: TRANSFORM_LIMITS.distinctItems - 1 }, () => crypto.randomUUID());
    const ids = await runTransform(compile(`$count($distinct(a))`), JSON.stringify({ a: [...uuids, uuids[0]] }));
    expect(ids).toMatchObject({ ok: true, body: String(uuids.length) });
  });

  it("$keys of an array of 500,000 items answers as JSONata's does (its charge walks the items, not a call's arguments)", async () => {
    const long = JSON.stringify({ a: [{ k: 1 }, ...Array.from({ length: 500_000 }, () => 0)] });
    // (Its items cost a step per 4: more than one run's steps.)
    const r = await runTransform(compile(`{"k": $keys(a)}`), long, { maxSteps: 200_000 });
    expect(r.ok && JSON.parse(r.body)).toEqual({ k: "k" });
  });

  it("$toMillis matches a picture on RE2, charged as a regular expression, with JSONata's answers", async () => {
    // JSONata's own RegExp for "[Y]1[M]1[D]" backtracks over a run of digits that does not match:
    // 4,000 of them took 28 s in one call, which was one step. On RE2 the match is linear and its
    // work counts in the steps (the characters times the pattern's size: 304 times about 3,000
    // here), beyond the picture's own length, so a match that takes more than the steps left is stopped.
    const dashes = `$toMillis("2024" & $pad("", 300, "-"), "[Y0001]" & $pad("", 3000, "-"))`;
    // The picture, and compiling its matcher (`^([0-9]+)(-)(-)…$`: up to 3,010 instructions, charged before).
    const picture = Math.ceil(3007 / TRANSFORM_LIMITS.pictureCharsPerStep) + 2 * TRANSFORM_LIMITS.matcherStepsPerMarker + Math.ceil(3010 / TRANSFORM_LIMITS.regexInstructionsPerStep);
    expect((await failure(dashes, "{}", { maxSteps: picture + 400 })).reason).toMatch(/^transform: stopped: a regular expression's match took more than the evaluation steps left/);
    expect((await failure(`$toMillis($pad("", 40, "1") & "x", "[Y]1[M]1[D]1[H]1[m]")`, "{}")).reason).toBe("transform: the expression produced nothing for this event");
    // The same answers as JSONata's own, for pictures of digits, names and words, and without a picture.
    const cases = [
      `$toMillis("2024-03-05", "[Y0001]-[M01]-[D01]")`,
      `$toMillis("2024-03-05", "[Y]-[M]-[D]")`,
      `$toMillis("20240305", "[Y0001][M01][D01]")`,
      `$toMillis("5 March 2024 13:04", "[D1] [MNn] [Y0001] [H01]:[m01]")`,
      `$toMillis("twenty-first of March 2024", "[Dw] of [MNn] [Y0001]")`,
      `$toMillis("2024-03-05T01:02:03Z")`,
      `$toMillis("x", "[Y0001]")`,
    ];
    for (const expr of cases) {
      const own = await jsonata(`{"t": ${expr}}`).evaluate({});
      expect((await transformed(`{"t": ${expr}}`, "{}")).body, expr).toEqual(own);
    }
    expect((await transformed(`{"t": $toMillis("5 March 2024", "[D1] [MNn] [Y0001]")}`, "{}")).body).toEqual({ t: Date.UTC(2024, 2, 5) });
    // Outside the call the RegExp constructor is the runtime's own.
    expect(new RegExp("a+").test("caab")).toBe(true);
  });

  it("charges a picture by its length at each call: $fromMillis, $now, $formatNumber, $formatInteger, $parseInteger and $toMillis read it through", async () => {
    // A hundred calls with a picture of 200,000 characters took 12 s, each charged as one string of 200 steps.
    const picture = `$pad("", 3000, "-")`;
    const steps = Math.ceil(3000 / TRANSFORM_LIMITS.pictureCharsPerStep);
    for (const call of [
      `$fromMillis(0, "[Y]" & ${picture})`,
      `$now("[Y]" & ${picture})`,
      `$formatNumber(1, "#" & ${picture} & "0")`,
      `$formatInteger(1, "#" & ${picture} & "0")`,
      `$parseInteger("1", "#" & ${picture} & "0")`,
      `$toMillis("1", "[Y]" & ${picture})`,
    ]) {
      expect((await failure(call, "{}", { maxSteps: steps })).reason, call).toMatch(/^transform: stopped after/);
    }
    // Ordinary pictures cost a few steps a call, with JSONata's answers.
    const expr = `{"d": $fromMillis(1700000000000, "[Y0001]-[M01]-[D01]T[H01]:[m01]"), "n": $formatNumber(1234.5, "#,##0.00"), "i": $formatInteger(42, "w"), "p": $parseInteger("forty-two", "w"), "y": $length($now("[Y0001]"))}`;
    expect((await transformed(expr, "{}")).body).toEqual(await jsonata(expr).evaluate({}));
    expect((await transformed(`{"n": $count([1..1000].$fromMillis($ * 86400000, "[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01]"))}`, "{}")).body).toEqual({ n: 1000 });
  });

  it("charges $parseInteger by its string too: a letters picture reads it a character at a time", async () => {
    const body = JSON.stringify({ s: "a".repeat(200_000) });
    const steps = async (expr: string) => (await runTransform(compile(expr), body)).steps;
    expect((await steps(`$parseInteger(s, "a") > 0`)) - (await steps(`s > ""`))).toBeGreaterThan(200_000 / TRANSFORM_LIMITS.stringArgCharsPerStep.parseInteger - 10);
    const expr = `{"a": $parseInteger("ab", "a"), "w": $parseInteger("forty-two", "w"), "n": $parseInteger("1,234", "#,##0")}`;
    expect((await transformed(expr, "{}")).body).toEqual(await jsonata(expr).evaluate({}));
  });

  it("charges $parseInteger with a words picture by its matcher and its string's pieces: 2-11 µs a step before", async () => {
    // JSONata builds its matcher from the number words at each call, splits the string at each space,
    // `-` and `, ` and looks each piece up: 99 `-` ran 2.4 µs a step in Node charged at 5 steps a call (10.7 in an audit).
    const steps = async (expr: string) => (await runTransform(compile(expr), "{}", { maxSteps: 10 * TRANSFORM_LIMITS.steps })).steps;
    const dashes = "-".repeat(1000);
    for (const picture of ["w", "W", "Ww", "w;o"]) {
      const words = (await steps(`$parseInteger("${dashes}", "${picture}")`)) - (await steps(`$parseInteger("${dashes}", "#0")`));
      expect(words, picture).toBeGreaterThanOrEqual(TRANSFORM_LIMITS.wordsMatcherSteps + 1000 / TRANSFORM_LIMITS.parsedWordCharsPerStep);
    }
    expect((await failure(`$count([1..5000].$parseInteger("${"-".repeat(99)}", "w"))`, "{}")).reason).toMatch(/^transform: stopped after/);
    // Realistic numbers cost a few steps, with JSONata's answers.
    const expr = `{"w": $parseInteger("one thousand, two hundred and thirty-four", "w"), "o": $parseInteger("Twenty-First", "Ww;o"), "n": $parseInteger("12,345", "#,##0")}`;
    expect((await transformed(expr, "{}")).body).toEqual(await jsonata(expr).evaluate({}));
    expect(await steps(`$parseInteger("forty-two", "w")`)).toBeLessThanOrEqual(10);
    expect(await steps(`$parseInteger("12,345", "#,##0")`)).toBeLessThanOrEqual(10);
  });

  it("charges a date's year written in Roman numerals by its value, as $formatInteger's: JSONata recurses per 1,000", async () => {
    // The year 275760 took ~60 µs a `$fromMillis` in Node, charged 7 steps a call: 5–14 µs a step.
    const steps = async (expr: string) => (await runTransform(compile(expr), "{}")).steps;
    for (const picture of ["[Yi]", "[YI]", "[Yio]", "[Xi]", "[YI,2-8]"]) {
      for (const millis of [8_640_000_000_000_000, -8_640_000_000_000_000]) {
        expect(await steps(`$fromMillis(${millis}, "${picture}")`), picture).toBeGreaterThanOrEqual(271_821 / TRANSFORM_LIMITS.romanValuePerStep);
      }
    }
    expect((await failure(`$count([1..200].$fromMillis(8640000000000000, "[Yi]"))`, "{}")).reason).toMatch(/^transform: stopped after/);
    // In the zone it is written in: 27,000,000 hours on, the year 5,000 or so.
    expect(await steps(`$fromMillis(0, "[Yi]", "+2700000000")`)).toBeGreaterThan(3000 / TRANSFORM_LIMITS.romanValuePerStep);
    // Today's year costs a few steps; other markers and presentations nothing more, with JSONata's answers.
    const expr = `{"r": $fromMillis(1700000000000, "[Yi] [MI] [Di]"), "n": $fromMillis(-62000000000000, "[YI]"), "w": $fromMillis(1700000000000, "[Yw] [Y0001]-[M01]-[D01]", "-0500"), "z": $fromMillis(0, "[Yi]", "x")}`;
    expect((await transformed(expr, "{}")).body).toEqual(await jsonata(expr).evaluate({}));
    expect(await steps(`$fromMillis(1700000000000, "[Yi]")`)).toBeLessThan(15);
    expect(await steps(`$fromMillis(1700000000000, "[Y0001]-[M01]-[D01]")`)).toBeLessThan(30);
  });

  it("charges a date picture's widths before JSONata pads to them: [D,1000000] builds a million digits, and over the string bound is refused", async () => {
    const steps = async (expr: string) => (await runTransform(compile(expr), "{}")).steps;
    // A million digits took ~50 ms a call, charged as its 1,000-step result: 44 calls took 2 s within the bound.
    expect(await steps(`$length($fromMillis(0, "[D,1000000]"))`)).toBeGreaterThan(1_000_000 / TRANSFORM_LIMITS.paddedDigitsPerStep);
    expect((await failure(`$sum([1..44].$length($fromMillis(0, "[D,1000000]")))`, "{}")).reason).toBe(
      `transform: stopped after ${TRANSFORM_LIMITS.steps} evaluation steps (an endless or too costly expression)`,
    );
    const over = `stopped: a picture asks for ${2_000_000 + 25} digits, over ${TRANSFORM_LIMITS.stringChars} characters`;
    expect((await failure(`$fromMillis(0, "[D,2000000]")`, "{}")).reason).toBe(`transform: ${over}`);
    expect((await failure(`$now("[Y,*-2000000]")`, "{}")).reason).toBe(`transform: ${over}`);
    expect((await failure(`$now("[Y,2000000-4]")`, "{}")).reason).toBe(`transform: ${over}`);
    // A width as JSONata reads it (parseInt without a radix): 0x2000000 is 33,554,432 digits.
    const hex = `stopped: a picture asks for ${0x2000000 + 25} digits, over ${TRANSFORM_LIMITS.stringChars} characters`;
    for (const picture of ["[D,0x2000000]", "[Y,1-0x2000000]", "[f,0x2000000]"]) {
      expect((await failure(`$fromMillis(0, "${picture}")`, "{}")).reason, picture).toBe(`transform: ${hex}`);
    }
    // Digits of another family JSONata maps one by one; grouping separators it inserts one at a
    // time, each copying the whole string (3,000 digits grouped by 3 took 13 ms a call).
    expect(await steps(`$fromMillis(0, "[D١,100000]")`)).toBeGreaterThan((100_000 * TRANSFORM_LIMITS.foreignDigitCost) / TRANSFORM_LIMITS.paddedDigitsPerStep);
    expect(await steps(`$fromMillis(0, "[D#,##0,3000]")`)).toBeGreaterThan((3000 * 3000) / TRANSFORM_LIMITS.groupingCopiesPerStep);
    // Read by $toMillis, a width is a count its regular expression repeats, compiled at each call.
    expect(await steps(`$toMillis("1", "[D,1000][M]")`)).toBeGreaterThan(1000 / TRANSFORM_LIMITS.matchedWidthPerStep);
    // And each marker, since RE2 compiles that regular expression slowly however small (~200 µs a call).
    expect(await steps(`$toMillis("2023-11-14", "[Y0001]-[M01]-[D01]")`)).toBeGreaterThan(4 * TRANSFORM_LIMITS.matcherStepsPerMarker);
    // JSONata's analysis goes through a picture once per grouping separator: 5,000 took 0.8 s a call.
    const separated = `$join([1..5000].("0"), ",")`;
    for (const call of [`$formatNumber(5, ${separated})`, `$formatInteger(5, ${separated})`, `$parseInteger("5", ${separated})`]) {
      expect(await steps(call), call).toBeGreaterThan((5000 * 10_000) / TRANSFORM_LIMITS.separatorScansPerStep);
    }
    // Ordinary pictures stay a few steps, with JSONata's answers.
    const expr = `{"d": $fromMillis(1700000000000, "[Y0001]-[M01]-[D01] [D,2] [Y,2] [Y#,##0,4] [MNn,3-3]"), "n": $formatNumber(1234567.5, "#,##0.00"), "i": $formatInteger(1234567, "#,##0"), "t": $toMillis("2023-11-14", "[Y0001]-[M01]-[D01]")}`;
    expect((await transformed(expr, "{}")).body).toEqual(await jsonata(expr).evaluate({}));
    expect(await steps(expr)).toBeLessThan(300);
  });

  it("charges what $formatNumber and $formatInteger write at a step per 20 characters: the words of 1e300 in a loop are stopped", async () => {
    // Its 670 characters of words took 86 µs a call, charged as one step of string.
    const words = await runTransform(compile(`$formatInteger(1e300, "w")`), "{}");
    expect(words.ok && JSON.parse(words.body).length).toBeGreaterThan(600);
    expect(words.steps).toBeGreaterThan(600 / TRANSFORM_LIMITS.formattedCharsPerStep);
    expect((await failure(`$count([1..2000].$formatInteger(1e300, "w"))`, "{}")).reason).toMatch(/^transform: stopped after/);
    expect((await failure(`$count([1..5000].$formatNumber(1e300, "#,##0.00"))`, "{}")).reason).toMatch(/^transform: stopped after/);
    for (const expr of [`$formatInteger(1e300, "W")`, `$formatInteger(1e15, "Ww")`, `$formatNumber(1e300, "#,##0.00")`, `$formatNumber(-1234.5, "#,##0.0##;(#)")`]) {
      expect((await transformed(`{"r": ${expr}}`, "{}")).body, expr).toEqual({ r: await jsonata(expr).evaluate({}) });
    }
  });

  it("charges a grouping by the items each key's group already has: JSONata copies the group to add an item", async () => {
    // 40,000 items of an event's array under one key took 5.7 s, a step per item. Here 1,000 under
    // one key copy 499,500 items (4,995 steps, beyond the 4,000 or so of the rest); under 100 keys, 4,500 (45 steps).
    const items = (types: number) => JSON.stringify({ a: Array.from({ length: 1000 }, (_, i) => ({ id: `i${i}`, type: `t${i % types}` })) });
    const grouped = `{"n": $count((a{type: id}).*)}`;
    expect((await failure(grouped, items(1), { maxSteps: 6000 })).reason).toMatch(/^transform: stopped after 6000/);
    expect(await runTransform(compile(grouped), items(100), { maxSteps: 6000 })).toMatchObject({ ok: true, body: '{"n":1000}' });
    expect(await runTransform(compile(grouped), items(1), { maxSteps: 10_000 })).toMatchObject({ ok: true, body: '{"n":1000}' });
    // Each grouping counts from nothing: a hundred items grouped fifty times is fifty small groupings.
    expect((await runTransform(compile(`{"n": $count([1..50].($count([1..100]{"k": $}.k)))}`), "{}", { maxSteps: 20_000 })).ok).toBe(true);
    // With JSONata's answers, an object constructor's keys included.
    const expr = `{"g": a[[0..3]]{type: id}, "odd": [1..6]{$string($ % 2): $}, "o": {"x": 1}}`;
    expect((await transformed(expr, items(2))).body).toEqual(JSON.parse(JSON.stringify(await jsonata(expr).evaluate(JSON.parse(items(2))))));
  });

  it("charges a grouping of arrays by their items, and over a tuple stream by what each tuple binds: JSONata spreads them into each copy", async () => {
    const stopped = `transform: stopped after ${TRANSFORM_LIMITS.steps} evaluation steps (an endless or too costly expression)`;
    // 499 arrays of 200 under one key, 25 times: 3.6-7.8 s a delivery, charged 48,831 steps (round eighteen).
    expect((await failure(`($x := [0..199]; $y := $map([1..499], function(){$x}); $count([1..25].($y{"k": 1})))`, "{}")).reason).toBe(stopped);
    // An event's 2,800 arrays of 35 zeros (4.1 s a delivery); its 1,999 arrays of 50 bound to $v in a tuple stream (4.4 s).
    const arrays = (n: number, m: number) => JSON.stringify({ data: { a: Array.from({ length: n }, () => Array.from({ length: m }, () => 0)) } });
    expect((await failure(`data.a{"k": 1}`, arrays(2800, 35))).reason).toBe(stopped);
    expect((await failure(`data.a@$v#$i{"k": 1}`, arrays(1999, 50))).reason).toBe(stopped);
    // Small ones cost little more than items would, and answer as JSONata does.
    for (const expr of [`data.a{"k": $count($)}`, `data.a@$v#$i{$string($i % 3): $count($v)}`, `data.a.$string($){$: $count($)}`]) {
      const r = await runTransform(compile(`{"r": ${expr}}`), arrays(100, 5));
      expect(r.ok, expr).toBe(true);
      expect(r.steps, expr).toBeLessThan(1000);
      if (r.ok) expect(JSON.parse(r.body), expr).toEqual({ r: JSON.parse(JSON.stringify(await jsonata(expr).evaluate(JSON.parse(arrays(100, 5))))) });
    }
  });

  it("charges a lambda's signature that types an array's items by the items JSONata checks at each call, before its body runs", async () => {
    const stepsOf = async (expr: string, body = "{}") => (await runTransform(compile(expr), body, { maxSteps: 10_000_000 })).steps;
    const signed = async (sig: string, expr: (sig: string) => string, body?: string) => (await stepsOf(expr(sig), body)) - (await stepsOf(expr(""), body));
    // $filter passes its whole array at each call: 1,000 calls each checking 1,000 items, a step per 25.
    const filter = (sig: string) => `$count($filter([1..1000], function($v, $i, $a)${sig}{true}))`;
    expect(await signed("<nna<n>:b>", filter)).toBe((1000 * 1000) / TRANSFORM_LIMITS.itemWorkPerStep);
    // Checks that look at an argument alone cost nothing more: x, j, a plain a.
    for (const sig of ["<nnx:b>", "<nnj:b>", "<nna:b>", "<n-nx:b>"]) expect(await signed(sig, filter), sig).toBe(0);
    // Called by name, as $sort's comparator (two arrays compared once); a context taken for a missing argument is not checked.
    const direct = (sig: string) => `($f := function($a)${sig}{1}; $x := [1..1000]; $sum([1..10].$f($x)))`;
    expect(await signed("<a<n>:n>", direct)).toBe((10 * 1000) / TRANSFORM_LIMITS.itemWorkPerStep);
    const sort = (sig: string) => `$count($sort([[1..1000], [1..1000]], function($a, $b)${sig}{false}))`;
    expect(await signed("<a<n>a<n>:b>", sort)).toBe(2000 / TRANSFORM_LIMITS.itemWorkPerStep);
    const context = (sig: string) => `($f := function($a)${sig}{1}; $f())`;
    expect(await signed("<a<n>-:n>", context, JSON.stringify(Array.from({ length: 1000 }, (_, i) => i)))).toBe(0);
    // 99,999 items (71 s in workerd, ~3 steps a call), an event's 90,000 zeros (a delivery's 19 s): stopped at the bound.
    const stopped = `transform: stopped after ${TRANSFORM_LIMITS.steps} evaluation steps (an endless or too costly expression)`;
    expect((await failure(`$count($filter([1..99999], function($v, $i, $a)<nna<n>:b>{true}))`, "{}")).reason).toBe(stopped);
    const zeros = JSON.stringify({ a: Array.from({ length: 90_000 }, () => 0) });
    expect((await failure(`$count($filter(a, function($v, $i, $a)<nna<n>:b>{true}))`, zeros)).reason).toBe(stopped);
    // A realistic one over a small array costs nothing more, and answers as JSONata's.
    const small = (sig: string) => `$map([1, 2, 3], function($v, $i, $a)${sig}{$v * 2 + $count($a)})`;
    expect(await signed("<nna<n>:n>", small)).toBe(0);
    expect((await transformed(`{"r": ${small("<nna<n>:n>")}}`, "{}")).body).toEqual({ r: JSON.parse(JSON.stringify(await jsonata(small("<nna<n>:n>")).evaluate({}))) });
    // The signature as JSONata reads it: types up to the answer's, a subtype the type's before it.
    for (const sig of ["<nna<n>:b>", "<a?<s>(sn)-:n>", "<(sn)a<o>+>"]) expect(typesArrayItems(sig), sig).toBe(true);
    for (const sig of ["<x-:a<s>>", "<f<a<n>:n>:n>", "<ajo:a>"]) expect(typesArrayItems(sig), sig).toBe(false);
  });

  it("stops $join before it writes over the string bound, and charges what it writes by its length", async () => {
    // 7,200 items joined by a separator of 72,000 characters: 518 million characters, 1.8–5 s and 750 MB in 310 steps.
    const huge = JSON.stringify({ a: Array.from({ length: 7200 }, () => "a"), s: "x".repeat(72_000) });
    expect((await failure(`$join(a, s)`, huge)).reason).toBe(`transform: stopped: $join would write over ${TRANSFORM_LIMITS.stringChars} characters`);
    // Under it: 100 items and 99 separators of 10,000 characters, a step per 1,000 written, and the answer's own charge as a
    // string; `s` besides `""` costs its path's and name's steps and their 10,000 characters given.
    const body = JSON.stringify({ a: Array.from({ length: 100 }, () => "a"), s: "x".repeat(10_000) });
    const [sep, none] = await Promise.all([runTransform(compile(`$join(a, s) = ""`), body), runTransform(compile(`$join(a, "") = ""`), body)]);
    expect(sep.steps - none.steps).toBe(2 * Math.floor((100 + 99 * 10_000) / TRANSFORM_LIMITS.charsPerStep) + 1 + 2 * (10_000 / TRANSFORM_LIMITS.charsPerStep));
    const expr = `{"a": $join(["a", "b", "c"], ", "), "b": $join("x"), "c": $join([]), "d": $join(missing, "-")}`;
    expect((await transformed(expr, "{}")).body).toEqual(await jsonata(expr).evaluate({}));
  });

  it("charges $replace with a string pattern by the matches it could make: each is built, as a regular expression's is", async () => {
    // 250,000 one-character matches took 44 ms a call, charged as 750 steps of strings: sixty calls took 2.7 s.
    const many = `$replace($pad("", 8000, "a"), "a", "bc")`;
    expect((await failure(many, "{}", { maxSteps: 8000 / TRANSFORM_LIMITS.replacementsPerStep })).reason).toMatch(/^transform: stopped after/);
    expect((await failure(`$count([1..60].$length($replace($$.s, "a", "bc")))`, JSON.stringify({ s: "a".repeat(250_000) }))).reason).toMatch(/^transform: stopped after/);
    // A longer pattern can match fewer times, and costs less; answers are JSONata's.
    expect((await runTransform(compile(`$replace($pad("", 8000, "a"), "aaaaaaaaaa", "b")`), "{}", { maxSteps: 200 })).ok).toBe(true);
    const expr = `{"a": $replace("a-b-c", "-", "_"), "b": $replace("a-b-c", "-", "_", 1), "c": $replace("a.b", /\./, "$0$0")}`;
    expect((await transformed(expr, "{}")).body).toEqual(await jsonata(expr).evaluate({}));
  });

  it("charges and bounds what $replace writes at each match of a regular expression, a replacement full of $0 before it is written", async () => {
    // 1,000 matches of 32,768 `$0`s took 4.3 s and 1.3 GB, charged as the 1,000 matches.
    const doubled = `($r := "$0$0$0$0$0$0$0$0"; ${"$r := $r & $r; ".repeat(12)}$replace($pad("", 1000, "a"), /a/, $r) = "")`;
    expect((await failure(doubled, "{}")).reason).toMatch(/^transform: stopped/);
    // Under the string bound, each reference is charged: 100 matches of 2,048 `$0`s (204,800 characters written).
    const refs = `($r := "$0$0$0$0$0$0$0$0"; ${"$r := $r & $r; ".repeat(8)}$length($replace($pad("", 100, "a"), /a/, $r)))`;
    expect((await failure(refs, "{}", { maxSteps: (100 * 2048) / TRANSFORM_LIMITS.replacementRefsPerStep })).reason).toMatch(/^transform: stopped after/);
    // The bound is on the answer (each match replaced, not added to the string): 600,000 characters in one match answer as JSONata's.
    expect((await transformed(`$length($replace($pad("", 600000, "x"), /x+/, "[$0]"))`, "{}")).body).toBe(600002);
    // Answers are JSONata's: `$0`, groups, `$$`, a group past the last, a limit.
    const expr = `{"a": $replace("a1b22c333", /([a-z])(\d+)/, "<$2$1$0$$$3$10>"), "b": $replace("abc", /b/, "[$0$1]"), "c": $replace("a-b-c", /-/, "$0$0", 1), "d": $replace("xyz", /q/, "$0")}`;
    expect((await transformed(expr, "{}")).body).toEqual(await jsonata(expr).evaluate({}));
  });

  it("charges pretty-printed $string by its indentation too, and stops it before it writes over the string bound", async () => {
    const nested = (depth: number, items: number) => `$reduce([1..${depth}], function($acc, $i) { {"a": $acc} }, [1..${items}])`;
    // 80,000 items 2,000 deep took ~5 s and 515 MB, charged as 39,684 steps: stopped before it is written.
    expect((await failure(`$length($string(${nested(2000, 2000)}, true))`, "{}")).reason).toMatch(/^transform: stopped: a text would be over/);
    // Under the bound: 1,000 items 200 deep write 400 spaces each, a step per 100 characters of them.
    const plain = await runTransform(compile(`$length($string(${nested(200, 1000)}))`), "{}");
    const pretty = await runTransform(compile(`$length($string(${nested(200, 1000)}, true))`), "{}");
    expect(pretty.ok && plain.ok).toBe(true);
    expect(pretty.steps - plain.steps).toBeGreaterThan((1000 * 400) / TRANSFORM_LIMITS.indentCharsPerStep);
    const expr = `$string({"a": [1, {"b": [2, 3]}, "x"], "c": {}}, true)`;
    expect((await transformed(expr, "{}")).body).toEqual(await jsonata(expr).evaluate({}));
  });

  it("refuses $eval when saved, however it is reached, and a stored one fails its delivery for good", async () => {
    // Nested, its errors ran the runtime out of memory; the operands charged by size were not known in what it parses.
    for (const expr of [`$eval("1 + 2")`, `{"a": $eval("$f()")}`, `($e := $eval; $e("1"))`, `$map(["1"], $eval)`]) {
      const c = compileTransform(expr);
      expect(c.ok, expr).toBe(false);
      if (!c.ok) expect(c.issues[0]?.message, expr).toMatch(/^\$eval is not available in a transformation: .* \(at position \d+\)$/);
    }
    // Stored before: refused as it is called, not retried, the runtime left alone.
    const stored = await runTransform({ body: `($f := function(){$eval("$f()")}; $f())`, headers: {} }, "{}");
    expect(stored).toMatchObject({ ok: false, permanent: true, reason: expect.stringMatching(/^transform: \$eval is not available/) });
  });

  it("charges Roman numerals by their value (JSONata recurses once per 1,000 of it), with JSONata's answers", async () => {
    expect((await failure(`$count([1..2000].$formatInteger(3e6, 'i'))`, "{}")).reason).toMatch(/^transform: stopped after/);
    for (const expr of [`$formatInteger(1999, 'I')`, `$formatInteger(4, 'i')`, `$formatInteger(1234, '#,##0')`]) {
      expect((await transformed(`{"r": ${expr}}`, "{}")).body, expr).toEqual({ r: await jsonata(expr).evaluate({}) });
    }
  });

  it("refuses partial application when saved, and a stored one fails its delivery for good", async () => {
    // Its held arguments were worked through at each call uncharged: $substring of 200,000 characters, 22 s within the bound.
    for (const expr of [`($f := $substring(data.body, ?, 1); $f(0))`, `($f := $replace(?, "a", "b"); $f("banana"))`, `(function($a, $b){ $a + $b })(?, 1)`]) {
      const c = compileTransform(expr);
      expect(c.ok, expr).toBe(false);
      if (!c.ok) expect(c.issues[0]?.message, expr).toMatch(/^partial application \(a \? argument\) is not available in a transformation: .* \(at position \d+\)$/);
    }
    const stored = await runTransform({ body: `($m := $pad("", 200000, "a"); $f := $substring($m, ?, 1); $count([1..15000].$f(0)))`, headers: {} }, "{}");
    expect(stored).toMatchObject({ ok: false, permanent: true, reason: expect.stringMatching(/^transform: partial application/) });
  });

  it("refuses a signature of many optional or repeated parameters, and a function of many parameters, when saved; a stored one fails its delivery for good", async () => {
    const optional = (k: number) => `(function(${Array.from({ length: k }, (_, i) => `$a${i}`).join(",")})<${"n?".repeat(k)}:n>{1})(${"1,".repeat(k)}"s")`;
    const parameters = (k: number) => `($f := function(${Array.from({ length: k }, (_, i) => `$p${i}`).join(",")}){1}; $count($map([1..3], $f)))`;
    const refusals: [string, RegExp][] = [
      [optional(TRANSFORM_LIMITS.signatureOptional + 1), /^the signature <(n\?){4}:n> has 4 optional \(\? or -\) and 0 repeated \(\+\) parameters; the limit is 3 optional and 1 repeated: .* \(at position \d+\)$/],
      [`(function($a, $b)<n+n+:n>{1})(1, 2, 3, "s")`, /^the signature <n\+n\+:n> has 0 optional .* and 2 repeated/],
      [`(function($a, $b, $c, $d)<n-n?s?b?:n>{1})(1)`, /^the signature <n-n\?s\?b\?:n> has 4 optional/],
      // A choice's text goes into JSONata's regular expression as it stands: `]` would let any pattern in (28 s a call, round nineteen).
      [`($f := function($a)<(n]([n]+)+[s)>{1}; $f(1, 1, true))`, /^the signature <\(n\]\(\[n\]\+\)\+\[s\)> holds a character JSONata's signatures do not have: /],
      [`(function($a)<(n]${"[n]?".repeat(29)}[n):n>{1})(1, "s")`, /^the signature <\(n\](\[n\]\?)+.* holds a character/],
      // Each parameter a group; a call refused has JSONata compile a longer expression for each (2,697: 2-3 s a call, round twenty).
      [`($f := function($a)<(nj)${"x".repeat(2697)}>{1}; $f(1, 2))`, /^the signature <\(nj\)x+… has 2698 parameters; the limit is 32: /],
      [parameters(TRANSFORM_LIMITS.lambdaParameters + 1), /^a function of 33 parameters is over the limit of 32: JSONata binds every one of them at each call \(at position \d+\)$/],
    ];
    for (const [expr, message] of refusals) {
      const c = compileTransform(expr);
      expect(c.ok, expr).toBe(false);
      if (!c.ok) expect(c.issues[0]?.message, expr).toMatch(message);
    }
    // At the limits (a subtype's and a choice's symbols are not parameters), saved, and answering as JSONata does.
    for (const expr of [
      `(function($a, $b, $c, $d)<n+s?(sn)?a<n?n?n?n?>?:n>{$a + $count($d)})(1, "x", 3, [1, 2])`,
      parameters(TRANSFORM_LIMITS.lambdaParameters),
      `(function($a, $b)<n-n?:n>{$a + ($b ? $b : 0)})(2)`,
    ]) {
      expect(compileTransform(expr).ok, expr).toBe(true);
      expect((await transformed(`{"r": ${expr}}`, "{}")).body, expr).toEqual({ r: await jsonata(expr).evaluate({}) });
    }
    // One stored before the limit (30 optional held the runtime ~5 s a call, 40 for minutes) fails as refused, before it runs.
    const stored = await runTransform({ body: optional(30), headers: {} }, "{}");
    expect(stored).toMatchObject({ ok: false, permanent: true, reason: expect.stringMatching(/^transform: the signature <(n\?){30}:n> has 30 optional/) });
    const many = await runTransform({ body: parameters(1750), headers: {} }, "{}");
    expect(many).toMatchObject({ ok: false, permanent: true, reason: expect.stringMatching(/^transform: a function of 1750 parameters/) });
  });

  it("refuses an expression whose parse copies over the bound: JSONata copies the left operand of each ?? and ?:, doubling with each nested on the left", async () => {
    // 18 levels, 127 characters: 4.6 s to save and 4-6 s at each delivery (round twenty).
    const nested = (op: string, k: number) => `${"(".repeat(k)}a${` ${op} a)`.repeat(k)}`;
    const refused = `the expression copies over ${TRANSFORM_LIMITS.parseCopiedChars} characters as it is parsed: JSONata copies the left operand of each ?? and ?:, so each nested on the left doubles it`;
    for (const op of ["??", "?:"]) {
      const c = compileTransform(nested(op, 18));
      expect(c.ok, op).toBe(false);
      if (!c.ok) expect(c.issues[0]?.message, op).toBe(refused);
      expect(await runTransform({ body: nested(op, 30), headers: {} }, "{}"), op).toMatchObject({ ok: false, permanent: true, reason: `transform: ${refused}` });
    }
    // What it copies is parsed and walked again at each attempt: 11 levels over `a{b:c}` (~930 KB, ~20,000 objects) took 60-80 ms.
    const grouped = `${"(".repeat(11)}a{b:c}${" ?? 0)".repeat(11)}`;
    expect(compileTransform(grouped)).toMatchObject({ ok: false, issues: [{ message: refused }] });
    // Side by side, or nested a few levels, they copy little (60 fields with long left operands ~32 KB), and answer as JSONata does.
    const fields = Array.from({ length: 40 }, (_, i) => `"f${i}": data.v${i} ?? (data.w ?: "none")`).join(", ");
    const long = Array.from({ length: 60 }, (_, i) => `"f${i}": $lookup(data.attributes[name = "a${i}"], "value") ?? $string(data.fallback.values[${i}])`).join(", ");
    for (const expr of [`{${fields}}`, `{${long}}`, nested("??", 6), `((data.x ?: data.y) ?? (data.z ?? 1)) ?: 2`]) {
      const body = JSON.stringify({ data: { v3: "three", w: "", y: 0 }, a: 5 });
      expect((await transformed(`{"r": ${expr}}`, body)).body, expr).toEqual({ r: await jsonata(expr).evaluate(JSON.parse(body)) });
    }
  });

  it("refuses a regular expression literal holding over 16 \"[:\": RE2 looks for a class name's \":]\" through the rest of the pattern at each", async () => {
    // 2,700 in 8 KB: ~60-90 ms to compile and as long to bound, at each attempt (round twenty-one).
    const literal = (n: number) => `$match(x, /[${"[:".repeat(n)}x${")".repeat(n)}]/)`;
    const c = compileTransform(literal(TRANSFORM_LIMITS.regexClassOpenings + 1));
    expect(c.ok).toBe(false);
    if (!c.ok) expect(c.issues[0]?.message).toMatch(/^the regular expression ending at position \d+ holds 17 "\[:"; the limit is 16: /);
    expect(await runTransform({ body: literal(2700), headers: {} }, "{}")).toMatchObject({ ok: false, permanent: true, reason: expect.stringMatching(/ holds 2700 "\[:"/) });
    // At the limit, and POSIX classes as RE2 reads them.
    expect(compileTransform(literal(TRANSFORM_LIMITS.regexClassOpenings)).ok).toBe(true);
    expect((await transformed(`{"r": $match("ab1:", /[[:digit:][:alpha:]]+/).match}`, "{}")).body).toEqual({ r: "ab1" });
  });

  it("charges number predicates JSONata applies without evaluating a node, a step per 2 at each evaluation", async () => {
    const arr = (n: number) => JSON.stringify({ data: { arr: Array.from({ length: n }, () => 0) } });
    const steps = async (expr: string, body: string) => (await runTransform(compile(expr), body, { maxSteps: 10 * TRANSFORM_LIMITS.steps })).steps;
    // 2,700 `[0]` on a step over an event's 48,000 items ran 24 s, 2,045 steps for 2,000 (round twenty-two).
    const stopped = `transform: stopped after ${TRANSFORM_LIMITS.steps} evaluation steps (an endless or too costly expression)`;
    expect((await failure(`$count(data.arr.$${"[0]".repeat(2700)})`, arr(48_000))).reason).toBe(stopped);
    // On a sort step, which JSONata sorts without evaluating it: 2,600 `[0]` after `^($)` over 11,000 paths ran 41 s (round twenty-three).
    expect((await failure(`$count([1..11000].($$.a^($)${"[0]".repeat(2600)}))`, JSON.stringify({ a: [1] }))).reason).toBe(stopped);
    // On a path step, at each item it gives; elsewhere (a sort step too) at each evaluation; one alone costs nothing more.
    const flat = await steps(`$count(data.arr.$)`, arr(100));
    expect(await steps(`$count(data.arr.$[0][0][0][0][0][0][0][0])`, arr(100))).toBe(flat + 100 * 4);
    expect(await steps(`$count(data.arr.$[-1])`, arr(100))).toBe(flat);
    const once = await steps(`$count([1..100].($$.data.arr[0]))`, arr(3));
    expect(await steps(`$count([1..100].($$.data.arr[0][0][0][0]))`, arr(3))).toBe(once + 100 * 2);
    const sorted = await steps(`$count([1..100].($$.data.arr^($)[0]))`, arr(3));
    expect(await steps(`$count([1..100].($$.data.arr^($)[0][0][0][0]))`, arr(3))).toBe(sorted + 100 * 2);
    expect((await transformed(`{"r": data.arr.$[0][0][-1][0]}`, arr(3))).body).toEqual({ r: JSON.parse(JSON.stringify(await jsonata(`data.arr.$[0][0][-1][0]`).evaluate(JSON.parse(arr(3))))) });
  });

  it("charges a built-in function a built-in calls ($sort's comparator, $reduce's, $map's) a step a call and its result by size, with JSONata's answers", async () => {
    // $reduce's accumulated array is charged at each call by its length: its quadratic copying (2.7 s uncharged) stops early.
    expect((await failure(`$count($reduce([1..20000], $append))`, "{}")).reason).toMatch(/^transform: stopped after/);
    // Called so, $append evaluated no expression: the sort ran the runtime out of memory at 909 steps.
    expect((await failure(`$count($sort([1..100000], $append))`, "{}")).reason).toMatch(/^transform: stopped after 50000 evaluation steps/);
    expect((await failure(`$count($map([1..100000], $string))`, "{}", { maxSteps: 50_000 })).reason).toMatch(/^transform: stopped after/);
    for (const expr of [`$map([1, 2, 3], $string)`, `$reduce([[1], [2], [3]], $append)`, `$sort([3, 1, 2], function($a, $b){ $a > $b })`, `$filter([0, 1, "", "a"], $boolean)`, `$sift({"a": 0, "b": 1}, $boolean)`, `$each({"a": 1}, $string)`, `$single([1, 2], function($v){ $v = 2 })`, `$map([1, 2], function($v, $i){ $v + $i })`]) {
      expect((await transformed(`{"r": ${expr}}`, "{}")).body, expr).toEqual({ r: JSON.parse(JSON.stringify(await jsonata(expr).evaluate({}))) });
    }
  });

  it("charges taking the truth of an object by its keys: conditions, and, or, predicates, $boolean, $not and the functions $filter and $sift call", async () => {
    // An event body of 16,000 keys (~200 KB): a check of it listed them all (~2 ms), at a step or two.
    const wide = JSON.stringify(Object.fromEntries(Array.from({ length: 16_000 }, (_, i) => [`k${i}`, i])));
    const checks = 16_000 / TRANSFORM_LIMITS.keysPerStep;
    for (const expr of [`$count([1..1000].($$ ? 1 : 0))`, `$count([1..1000].($$ and true))`, `$count([1..1000].(false or $$))`, `$count([1..1000][$$])`, `$count([1..1000].$boolean($$))`, `$count([1..1000].$not($$))`, `($b := $boolean; $count([1..1000].$b($$)))`, `$count($filter([1..1000], function(){ $$ }))`, `$count([1..1000].$sift({"a": 1}, function(){ $$ }))`]) {
      const r = await failure(expr, wide, { maxSteps: checks * 10 });
      expect(r.reason, expr).toMatch(/^transform: stopped after/);
    }
    // JSONata's answers, and a small object's truth costs little.
    const small = `{"a": {"b": 1}, "e": {}}`;
    for (const expr of [`a ? 1 : 2`, `e ? 1 : 2`, `$boolean(a)`, `$not(e)`, `a and e`, `e or a`, `$filter([a, e], function($v){ $v })`, `[a, e][$]`]) {
      const r = await runTransform(compile(`{"r": ${expr}}`), small, { maxSteps: 100 });
      expect(r.ok && JSON.parse(r.body), expr).toEqual({ r: JSON.parse(JSON.stringify(await jsonata(expr).evaluate(JSON.parse(small)))) });
    }
  });

  it("charges a sort by a function for the copying JSONata's merge sort does, besides each call", async () => {
    // A step a comparison, 7,000 items sorted by `$append` copied ~12 million items and were sent.
    expect((await failure(`$count($sort([1..7000], $append))`, "{}")).reason).toMatch(/^transform: stopped after/);
    const sorted = async (n: number) => (await runTransform(compile(`$count($sort([1..${n}], function($a, $b) { $a < $b }))`), "{}", { maxSteps: 10 * TRANSFORM_LIMITS.steps })).steps;
    expect((await sorted(2000)) - (await sorted(1000))).toBeGreaterThanOrEqual(((2000 * 2000 - 1000 * 1000) / 4) / TRANSFORM_LIMITS.sortCopiesPerStep);
    // An order-by sorts so too, what the step before it gave (a tuple stream's two frames a comparison besides).
    expect((await failure(`$count([1..3500]#$i^(>$i))`, "{}")).reason).toMatch(/^transform: stopped after/);
    const ordered = async (n: number) => (await runTransform(compile(`$count([1..${n}]^(>$))`), "{}", { maxSteps: 10 * TRANSFORM_LIMITS.steps })).steps;
    expect((await ordered(2000)) - (await ordered(1000))).toBeGreaterThanOrEqual(((2000 * 2000 - 1000 * 1000) / 4) / TRANSFORM_LIMITS.sortCopiesPerStep);
    // Counted per evaluation of its path: 5,000 sorts of one item each copy nothing.
    expect((await runTransform(compile(`$count([1..5000].([$]^($)))`), "{}")).ok).toBe(true);
    const prices = JSON.stringify({ items: [{ price: 3 }, { price: 1 }, { price: 2 }] });
    expect((await transformed(`items.price^($)`, prices)).body).toEqual([1, 2, 3]);
  });

  it("sorts by value in n log n, charged to the steps by its comparisons, with JSONata's order and errors", async () => {
    const n = 5000;
    const comparisons = Math.ceil((n * Math.log2(n)) / TRANSFORM_LIMITS.sortComparisonsPerStep);
    // Its comparisons count (JSONata's own default comparison was no step at all)…
    expect((await failure(`$count($sort([1..${n}]))`, "{}", { maxSteps: comparisons - 1 })).reason).toMatch(/stopped after/);
    // …and the longest sequence sorts within the bound: JSONata's merge sort copies the rest of a
    // run at each comparison, and ran out of memory on it.
    const sorted = await transformed(`($s := $sort($reverse([1..${TRANSFORM_LIMITS.sequence}])); {"first": $s[0], "last": $s[-1], "n": $count($s)})`, "{}");
    expect(sorted.body).toEqual({ first: 1, last: TRANSFORM_LIMITS.sequence, n: TRANSFORM_LIMITS.sequence });
    // Many sorts of it run out of steps.
    expect((await failure(`$count([1..10].$sort([1..${TRANSFORM_LIMITS.sequence}]))`, "{}")).reason).toMatch(/stopped after/);
    // Same answers as JSONata's own: ascending by code unit, a comparator as given, mixed values refused.
    const jsonataSort = async (expr: string, input: unknown) => JSON.stringify(await jsonata(expr).evaluate(input));
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true })), fc.array(fc.string({ unit: "binary" }))), async (items) => {
        const r = await runTransform(compile(`{"s": $sort(items)}`), JSON.stringify({ items }));
        expect(r.ok && JSON.parse(r.body).s).toEqual(JSON.parse((await jsonataSort(`{"s": $sort(items)}`, { items })) ?? "{}").s);
      }),
      { numRuns: 200 },
    );
    expect((await transformed(`$sort([3, 1, 2], function($a, $b) { $a < $b })`, "{}")).body).toEqual([3, 2, 1]);
    expect((await failure(`$sort([1, "a"])`, "{}")).reason).toMatch(/^transform: D3070: /);
  });

  it("charges a copy of the input by its size: the transform operator copies the whole body each time", async () => {
    const items = Array.from({ length: 2000 }, (_, i) => ({ id: `item-${i}`, n: i, contact: { phone: "+18015550123" } }));
    const body = JSON.stringify({ data: { items, contact: { phone: "+18015550123", email: "a@b.c" } } });
    const copy = Math.ceil(body.length / TRANSFORM_LIMITS.cloneCharsPerStep);
    // One copy costs its text's length (JSONata's own clone was no step at all, whatever it copied)…
    expect((await failure(`$ ~> |data.contact|{}, ["phone"]|`, body, { maxSteps: copy - 1 })).reason).toMatch(/stopped after/);
    expect((await failure(`{"c": $clone($)}`, body, { maxSteps: copy - 1 })).reason).toMatch(/stopped after/);
    // …so a copy of the body per item of its own array runs out of steps (it took seconds, then all the memory)…
    expect((await failure(`$count(data.items.($$ ~> |data.contact|{}, ["phone"]|))`, body)).reason).toBe(
      `transform: stopped after ${TRANSFORM_LIMITS.steps} evaluation steps (an endless or too costly expression)`,
    );
    // …while removing fields from a large body, as docs/filters-and-transforms.md shows, still runs, as JSONata's does.
    const out = await transformed(`$ ~> |data.contact|{}, ["phone", "email"]| ~> |data.items|{}, ["contact"]|`, body);
    expect(out.body.data.contact).toEqual({});
    expect(out.body.data.items[1999]).toEqual({ id: "item-1999", n: 1999 });
    expect((await transformed(`{"c": $clone({"a": [1, {"b": null}]}), "none": $clone(nothing)}`, "{}")).body).toEqual({ c: { a: [1, { b: null }] } });
  });

  it("charges $string and a copy by the values and characters they write: each value goes through a replacer", async () => {
    const stopped = `transform: stopped after ${TRANSFORM_LIMITS.steps} evaluation steps (an endless or too costly expression)`;
    // 150 texts of 120,000 zeros took 9.5 s of CPU an attempt, charged as their 240 KB strings (36,910 steps).
    const zeros = JSON.stringify(Array(120_000).fill(0));
    expect((await failure(`$map([1..150], function($i){$length($string($))})`, zeros)).reason).toBe(stopped);
    expect((await failure(`$count($map([1..150], function($i){$string($$)}))`, zeros)).reason).toBe(stopped);
    // One text of 12,000 values costs a step per 3 of them, and as much is charged to copy them.
    const small = JSON.stringify(Array(12_000).fill(0));
    const writing = 12_000 / TRANSFORM_LIMITS.writtenValuesPerStep;
    for (const expr of [`$string($)`, `$clone($)`]) {
      const r = await runTransform(compile(`$length(${expr === "$string($)" ? expr : `$string(${expr})`}) > 0`), small);
      expect(r.ok).toBe(true);
      expect(r.steps).toBeGreaterThan(writing);
    }
    // A text of a string is the string, not written.
    expect((await runTransform(compile(`$string(data.s)`), JSON.stringify({ data: { s: "x".repeat(100_000) } }))).steps).toBeLessThan(500);
  });

  it("charges `&` of an array or object by the values and characters it writes, as $string", async () => {
    // `[1..50].($$ & '')` of an 18,000-key body: 519 ms charged 37,296 steps; a 99,999-item array joined ten times, 6.7 µs a step.
    const keys = JSON.stringify(Object.fromEntries(Array.from({ length: 18_000 }, (_, i) => [`key${i}`, i])));
    const writing = 18_000 / TRANSFORM_LIMITS.writtenValuesPerStep;
    for (const expr of [`$length($$ & '')`, `$length('' & $$)`]) {
      const r = await runTransform(compile(expr), keys);
      expect(r.ok, expr).toBe(true);
      expect(r.steps, expr).toBeGreaterThan(writing);
    }
    expect((await failure(`$count([1..50].($$ & ''))`, keys)).reason).toMatch(/^transform: stopped after/);
    expect((await failure(`($a := [1..99999]; $count([1..10].($a & '')))`, "{}")).reason).toMatch(/^transform: stopped after/);
    // Strings and numbers are joined as they are.
    expect((await runTransform(compile(`'a' & 1 & data.s`), JSON.stringify({ data: { s: "x".repeat(100_000) } }))).steps).toBeLessThan(1_000);
    for (const expr of [`'a' & [1, {"b": "c"}] & {"d": null}`, `1 & true`, `nothing & 'x'`]) {
      expect((await transformed(`{"r": ${expr}}`, "{}")).body, expr).toEqual({ r: await jsonata(expr).evaluate({}) });
    }
  });

  it("charges the built-ins that work through a whole string by its length at each call: $length, $substring and $pad split it into code points", async () => {
    const stopped = `transform: stopped after ${TRANSFORM_LIMITS.steps} evaluation steps (an endless or too costly expression)`;
    const long = JSON.stringify({ data: { s: "x".repeat(250_000) } });
    // 190 $lengths of one reference: 793 ms, charged 49,025 steps as the reference's 250 each.
    expect((await failure(`($s := data.s; $count($map([1..190], function($i){$length($s)})))`, long)).reason).toBe(stopped);
    const chars = 100_000;
    const body = (s: string) => JSON.stringify({ data: { s } });
    for (const [name, call] of [
      ["length", `$length($s)`],
      ["substring", `$substring($s, 1, 2)`],
      ["pad", `$pad($s, 3)`],
      ["trim", `$trim($s)`],
      ["uppercase", `$uppercase($s)`],
      ["lowercase", `$lowercase($s)`],
      ["base64encode", `$base64encode($s)`],
      ["encodeUrlComponent", `$encodeUrlComponent($s)`],
      ["encodeUrl", `$encodeUrl($s)`],
      ["decodeUrl", `$decodeUrl($s)`],
      ["decodeUrlComponent", `$decodeUrlComponent($s)`],
      ["contains", `$contains($s, "y")`],
      ["substringBefore", `$substringBefore($s, "y")`],
      ["substringAfter", `$substringAfter($s, "y")`],
      ["split", `$split($s, "y")`],
    ] as const) {
      const expr = compile(`($s := data.s; $count([1..10].(${call})) = 10)`);
      const short = await runTransform(expr, body("x"));
      const longer = await runTransform(expr, body("x".repeat(chars)));
      expect(longer).toMatchObject({ ok: true, body: "true" });
      // Ten calls each charged for the characters of their string, besides what its value and their result cost.
      expect(longer.steps - short.steps, name).toBeGreaterThanOrEqual((10 * chars) / TRANSFORM_LIMITS.stringArgCharsPerStep[name]);
    }
    // $pad with a padding of more than one character splits the padding so too.
    const padded = await runTransform(compile(`$length($pad("", 100000, "ab")) = 100000`), "{}");
    expect(padded.steps).toBeGreaterThan((2 * 200_000) / TRANSFORM_LIMITS.stringArgCharsPerStep.pad);
  });

  it("charges a built-in given as $each's or $sift's function by the values it is given, as many as JSONata's own takes", async () => {
    // Each value reached it uncharged: 2,000 `$contains` of a megabyte ran 21 s in workerd, and were sent.
    const big = `($s := $pad("", 1000000, "a"); $o := {"aaaaab": $s}; $count([1..2000].$each($o, $contains)))`;
    expect((await runTransform(compile(big), "{}")).ok).toBe(false);
    const digits = JSON.stringify({ data: { a: `${"0".repeat(29_999)}1` } });
    const numbers = (n: number) => runTransform(compile(`$count([1..${n}].$each($$.data, $number))`), digits, { maxSteps: 10 * TRANSFORM_LIMITS.steps });
    expect(((await numbers(20)).steps - (await numbers(10)).steps) / 10).toBeGreaterThanOrEqual(30_000 / TRANSFORM_LIMITS.stringArgCharsPerStep.number);
    // Given each value and its key, as JSONata's own `$contains` is (a wrapper's `...args` took only the value).
    expect((await transformed(`$each({"abc": "xabcx", "q": "zz"}, $contains)`, "{}")).body).toEqual([true, false]);
    expect((await transformed(`$sift({"abc": "xabcx", "q": "zz"}, $contains)`, "{}")).body).toEqual({ abc: "xabcx" });
  });

  it("charges a descendant or wildcard step by the values it walks, within its one step", async () => {
    const floats = JSON.stringify({ a: Array.from({ length: 60_000 }, (_, i) => i + 0.5) });
    for (const expr of [`$count($$.**)`, `$count($.*)`]) {
      const r = await runTransform(compile(expr), floats);
      expect(r.ok, expr).toBe(true);
      expect(r.steps, expr).toBeGreaterThan(60_000 / TRANSFORM_LIMITS.walkedValuesPerStep);
    }
    // 40 walks of 60,000 numbers took up to 335 ms.
    expect((await failure(`$count([1..40].($count($$.**)))`, floats)).reason).toMatch(/^transform: stopped after/);
  });

  it("charges a descendant step before it walks, by every value it goes through, empty arrays included", async () => {
    const steps = async (expr: string, body: unknown) => (await runTransform(compile(expr), JSON.stringify(body))).steps;
    // An empty array is walked, never given back: 1,000 of them were charged nothing.
    const empties = (n: number) => ({ o: Array.from({ length: n }, () => []) });
    expect((await steps(`$count($$.**)`, empties(1000))) - (await steps(`$count($$.**)`, empties(0)))).toBe(1000 / TRANSFORM_LIMITS.walkedValuesPerStep);
    // The audit's body: 86,000 empty arrays walked 2,000 times ran 4 s, charged ~12,000 steps.
    const r = await runTransform(compile(`{"n": [1..200].$count($$.**)}`), JSON.stringify(empties(86_000)));
    expect(r).toMatchObject({ ok: false, reason: expect.stringMatching(/^transform: stopped after/) });
    // A body's object holding JSONata's function mark (not `true`) is data to JSONata, walked as any.
    for (const mark of ["_jsonata_lambda", "_jsonata_function"]) {
      const marked = (n: number) => ({ o: { [mark]: 0, a: empties(n).o } });
      expect((await steps(`$count($$.**)`, marked(1000))) - (await steps(`$count($$.**)`, marked(0)))).toBe(1000 / TRANSFORM_LIMITS.walkedValuesPerStep);
    }
  });

  it("charges a wildcard step before it walks, by the keys it lists and what it copies at each array", async () => {
    const steps = async (expr: string, body: unknown) => (await runTransform(compile(expr), JSON.stringify(body))).steps;
    const keyed = (n: number, value: () => unknown) => ({ o: Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, value()])) });
    const perKey = 1 / TRANSFORM_LIMITS.walkedValuesPerStep + 1 / TRANSFORM_LIMITS.keysPerStep;
    // A key holding an empty array gives nothing: 28,000 of them walked 4,000 times took 49.9 s.
    expect((await steps(`$count(o.*)`, keyed(1000, () => []))) - (await steps(`$count(o.*)`, keyed(0, () => [])))).toBe(1000 * perKey);
    const r = await runTransform(compile(`{"n": [1..40].$count($$.o.*)}`), JSON.stringify(keyed(28_000, () => [])));
    expect(r).toMatchObject({ ok: false, reason: expect.stringMatching(/^transform: stopped after/) });
    // At each key holding an array, JSONata appends its items to a copy of all gathered before.
    const copied = (1000 * 1001) / 2;
    expect((await steps(`$count(o.*)`, keyed(1000, () => [0]))) - (await steps(`$count(o.*)`, keyed(1000, () => 0)))).toBe(
      Math.floor(1000 / TRANSFORM_LIMITS.walkedValuesPerStep + copied / TRANSFORM_LIMITS.wildcardCopiesPerStep),
    );
    // A copy over largeCopyItems is dearer: 235 keys of `[0]` after one of 17,000 items took 320 ms.
    const big = { o: { big: Array.from({ length: 17_000 }, () => 0), ...keyed(100, () => [0]).o } };
    expect(await runTransform(compile(`$count(o.*)`), JSON.stringify(big))).toMatchObject({ ok: false, reason: expect.stringMatching(/^transform: stopped after/) });
    // A whole array given as the input is walked as the array, not as the sequence JSONata wraps it in.
    expect((await steps(`$count(*)`, Array.from({ length: 1000 }, () => []))) - (await steps(`$count(*)`, []))).toBe(1000 * perKey);
    // An object holding JSONata's function mark (not `true`) is walked by JSONata as any other.
    for (const mark of ["_jsonata_lambda", "_jsonata_function"]) {
      // (Last, so no array's items are appended to it.)
      const marked = (n: number) => ({ o: { ...keyed(n, () => []).o, [mark]: 0 } });
      expect((await steps(`$count(o.*)`, marked(1000))) - (await steps(`$count(o.*)`, marked(0)))).toBe(1000 * perKey);
    }
  });

  it("stops a copy or a text of a value that shares one object into a huge document, before writing it", async () => {
    const shared = (use: string) => `($d := function($x, $n) { $n = 0 ? $x : $d({"l": $x, "r": $x}, $n - 1) }; ${use})`;
    // Depth 24 is 2^24 leaves: written whole, ~400 MB of text before any bound saw it. The writing
    // is charged as it goes, so the step bound stops it first; with steps to spare, the text's bound.
    const plenty = { maxSteps: 100 * TRANSFORM_LIMITS.steps };
    expect((await failure(shared(`$string($d("leaf", 24))`), "{}", plenty)).reason).toBe(`transform: stopped: a text would be over ${TRANSFORM_LIMITS.stringChars} characters`);
    expect((await failure(shared(`$clone($d("leaf", 24))`), "{}", plenty)).reason).toBe(`transform: stopped: a copy would be over ${TRANSFORM_LIMITS.stringChars} characters`);
    expect((await failure(shared(`$d("leaf", 24) ~> |l|{"x": 1}|`), "{}", plenty)).reason).toBe(`transform: stopped: a copy would be over ${TRANSFORM_LIMITS.stringChars} characters`);
    for (const use of [`$string($d("leaf", 24))`, `$clone($d("leaf", 24))`]) {
      expect((await failure(shared(use), "{}")).reason).toMatch(/^transform: stopped after 50000 evaluation steps/);
    }
    // What $string writes is JSONata's: functions as "", numbers to 15 digits, prettified on request.
    expect((await transformed(`{"s": $string({"f": function($x) { $x }, "n": 0.1 + 0.2, "a": [1]}), "p": $string([1], true), "t": $string("text")}`, "{}")).body).toEqual({
      s: '{"f":"","n":0.3,"a":[1]}',
      p: "[\n  1\n]",
      t: "text",
    });
  });

  it("refuses a result that shares one object into a huge document, before writing it", async () => {
    const r = await failure(`($d := function($x, $n) { $n = 0 ? $x : $d({"l": $x, "r": $x}, $n - 1) }; $d("leaf", 40))`, "{}");
    expect(r.reason).toBe(`transform: the result is over ${TRANSFORM_LIMITS.outputBytes} bytes`);
  });

  it("refuses output over the size bound, counted in UTF-8 bytes", async () => {
    expect((await failure(`{"pad": $pad("", 300000, "x")}`, "{}")).reason).toBe(
      `transform: the result is over ${TRANSFORM_LIMITS.outputBytes} bytes`,
    );
    // 100,000 "é" are 200,000 bytes (plus quotes): fits 256 KiB, not 150,000 bytes.
    const wide = `$pad("", 100000, "é")`;
    expect((await runTransform(compile(wide), "{}")).ok).toBe(true);
    expect((await failure(wide, "{}", { maxOutputBytes: 150_000 })).reason).toBe(
      "transform: the result is 200002 bytes; the limit is 150000",
    );
  });

  it("a function is not a JSON result", async () => {
    expect((await failure(`function($x) { $x }`, "{}")).reason).toBe("transform: the result contains a function, which is not JSON");
    expect((await failure(`{"f": $uppercase}`, "{}")).reason).toBe("transform: the result contains a function, which is not JSON");
  });

  it("a number JSON cannot write (a division by zero) is not a JSON result, not null", async () => {
    const r = await failure(`{"ratio": data.a / data.b}`, JSON.stringify({ data: { a: 1, b: 0 } }));
    expect(r.permanent).toBe(true);
    expect(r.reason).toBe("transform: the result contains the number Infinity, which is not JSON");
    expect((await failure(`[1, -1 / 0]`, "{}")).reason).toBe("transform: the result contains the number -Infinity, which is not JSON");
    expect((await transformed(`{"ratio": data.a / data.b}`, JSON.stringify({ data: { a: 1, b: 4 } }))).body).toEqual({ ratio: 0.25 });
  });

  it("a result nested too deeply to write says so, not that it is not JSON", async () => {
    // A valid JSON event nested past what the runtime's JSON writer recurses into.
    const deepBody = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    const r = await failure(`$`, deepBody);
    expect(r.permanent).toBe(true);
    expect(r.reason).toBe("transform: the result is nested too deeply to write as JSON");
  });

  it("an evaluation error is a permanent failure with JSONata's code and position", async () => {
    const r = await failure(`{"n": data.body + 1}`, messageReceived);
    expect(r.permanent).toBe(true);
    expect(r.reason).toMatch(/^transform: T2001: .* \(at position \d+\)$/);
  });

  it("a credential header's error names the header, JSONata's code and position, never its message (which quotes the write-only expression); other headers' whole", async () => {
    const secret = "sk_live_9fQ2xLr7";
    const failing: [string, string][] = [
      [`$number('Bearer ${secret}')`, "D3030"], // Unable to cast value to a number: "Bearer sk_…"
      [`'${secret}' > 3`, "T2009"], // The values "sk_…" and 3 either side of operator ">" …
      [`$error('${secret}')`, "D3137"],
      [`$assert(false, '${secret}')`, "D3141"],
      // A stored expression that no longer parses fails at run time, quoting its token.
      [`'Bearer' ${secret}`, "S0201"],
    ];
    for (const [expr, code] of failing) {
      const credential = await runTransform({ body: null, headers: { "x-api-key": expr } }, messageReceived);
      expect(credential.ok, expr).toBe(false);
      if (credential.ok) continue;
      const said = JSON.stringify(credential);
      expect(said, expr).not.toContain(secret);
      expect(credential.reason, expr).toMatch(new RegExp(`^transformHeaders\\["x-api-key"\\]: JSONata error ${code} \\(at position \\d+\\); `));
      expect(credential.summary, expr).toBe(credential.reason);
      expect(credential.permanent).toBe(true);
      // The same expression on a header that is no credential's says it whole.
      const plain = await runTransform({ body: null, headers: { "x-trace": expr } }, messageReceived);
      expect(plain.ok ? "" : plain.reason, expr).toMatch(new RegExp(`^transformHeaders\\["x-trace"\\]: ${code}: .*${secret}`));
    }
  });
});

describe("compiling", () => {
  it("reports a syntax error with its position", () => {
    const r = compileTransform(`{"text": data.body`);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues).toHaveLength(1);
    expect(r.issues[0]?.path).toBe("transform");
    expect(r.issues[0]?.position).toBe(18);
    expect(r.issues[0]?.message).toMatch(/^S0\d{3}: .* \(at position 18\)$/);
  });

  it("reports header issues by header", () => {
    const r = compileTransform("$", {
      "X-Ok": "metadata.eventType",
      "bad name": "1",
      "Webhook-Signature": '"forged"',
      "content-type": '"text/plain"',
      "x-broken": "metadata.(",
      "x-empty": " ",
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map((i) => i.path)).toEqual([
      'transformHeaders["bad name"]',
      'transformHeaders["Webhook-Signature"]',
      'transformHeaders["content-type"]',
      'transformHeaders["x-broken"]',
      'transformHeaders["x-empty"]',
    ]);
    expect(r.issues.map((i) => i.message)).toEqual([
      "not a valid HTTP header name",
      "webhook-signature is set by Edgehook and cannot be transformed",
      "content-type is set by Edgehook and cannot be transformed",
      expect.stringMatching(/^S0\d{3}: .* \(at position \d+\)$/),
      "the expression is empty",
    ]);
    expect(r.issues[3]?.position).toBeTypeOf("number");
  });

  it("refuses the headers a Worker's fetch drops or replaces, which the test would show as sent", () => {
    for (const name of ["TE", "keep-alive", "trailer", "upgrade", "proxy-connection", "cf-connecting-ip", "CF-Worker"]) {
      const r = compileTransform(null, { [name]: "'x'" });
      expect(r.ok, name).toBe(false);
      if (r.ok) continue;
      expect(r.issues).toEqual([
        { path: `transformHeaders[${JSON.stringify(name)}]`, message: `${name.toLowerCase()} is a header a Worker's request cannot send as given (hop-by-hop, or set by Cloudflare)` },
      ]);
    }
    // Look-alikes are ordinary headers.
    expect(compileTransform(null, { "x-te": "'x'", "cf-ray-id": "'x'", expect: "'100-continue'" }).ok).toBe(true);
    // And the API reference says so.
    expect(openapiDoc.components.schemas.WebhookCreate.properties.transformHeaders.description).toContain("nor one a Worker cannot send (docs/filters-and-transforms.md)");
  });

  it("refuses a header whose every value starts or ends with white space, which fetch would drop; trims a value the event's data pads", async () => {
    const padded = { "x-a": "' a'", "x-b": "'b\t'", "x-c": "'  '", "x-d": "' ' & data & 'd'", "x-e": "data & (' e ')" };
    const r = compileTransform(null, padded);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const drops = "white space, which HTTP drops from around a header's value (it would be sent without it): remove it";
    expect(r.issues).toEqual([
      { path: 'transformHeaders["x-a"]', message: `x-a's value starts with ${drops}` },
      { path: 'transformHeaders["x-b"]', message: `x-b's value ends with ${drops}` },
      { path: 'transformHeaders["x-c"]', message: `x-c's value starts and ends with ${drops}` },
      { path: 'transformHeaders["x-d"]', message: `x-d's value starts with ${drops}` },
      // A parenthesised block is its last expression: this one always ends with a space.
      { path: 'transformHeaders["x-e"]', message: `x-e's value ends with ${drops}` },
    ]);
    // Inside a value, or where the event decides, it is no reason to refuse.
    const fine = compileTransform(null, { "x-a": "'a b'", "x-b": "'Bearer ' & data", "x-c": "data", "x-e": "data & (' e ' & data)", "x-f": "(' f ')[data]" });
    expect(fine.ok).toBe(true);

    // At delivery (and in the webhook test, which runs the same), a value is trimmed as fetch sends it.
    const sent = await runTransform({ body: null, headers: { "x-c": "data", "x-e": "data & (' e ')", "x-stored": "' as stored\t'" } }, JSON.stringify({ data: "\t c  " }));
    expect(sent).toMatchObject({ ok: true, headers: { "x-c": "c", "x-e": "c   e", "x-stored": "as stored" } });
    if (!sent.ok) return;
    expect(Object.fromEntries(new Headers(sent.headers))).toEqual(sent.headers);
    expect(openapiDoc.components.schemas.WebhookCreate.properties.transformHeaders.description).toContain("(docs/filters-and-transforms.md)");
  });

  it("refuses a regular expression RE2 cannot run, where it is written", () => {
    const r = compileTransform(`$replace(data.body, /(a)\\1/, "")`);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues[0]?.path).toBe("transform");
    expect(r.issues[0]?.message).toMatch(/^the regular expression \/\(a\)\\1\/ is not supported .*without lookaround or backreferences$/);
    expect(r.issues[0]?.position).toBeTypeOf("number");
    expect(compileTransform(`$match(data.body, /x(?=y)/)`).ok).toBe(false);
    // One neither JavaScript nor RE2 takes is refused by RE2, as written: JSONata's own `g` flag unnamed.
    const both = compileTransform(`$match(data.body, /a{2,1}/i)`);
    expect(both.ok ? [] : both.issues.map((i) => i.message)).toEqual([expect.stringMatching(/^the regular expression \/a\{2,1\}\/i is not supported \(invalid repeat count/)]);
  });

  describe("a regular expression's program, bounded from its text before it is compiled", () => {
    // 35 characters, 5,002 instructions (about 10 ms a compile); 7,000 characters spell a million (seconds).
    const over = "a{1000}b{1000}c{1000}d{1000}e{1000}";
    const huge = "a{1000}".repeat(1000);
    /** What `run` answers, and the patterns RE2 compiled while it ran. */
    const compiling = async <T>(run: () => T | Promise<T>): Promise<{ result: T; compiled: string[] }> => {
      const spy = vi.spyOn(RE2JS, "compile");
      try {
        const result = await run();
        return { result, compiled: spy.mock.calls.map(([pattern]) => pattern) };
      } finally {
        spy.mockRestore();
      }
    };
    const tooLarge = (bound: number) =>
      `compiles to up to ${bound} RE2 instructions, a repetition counting what it repeats that many times (x{100} is 100 x's), a class the Unicode tables it is built of (\\pL 14 more); the limit is ${TRANSFORM_LIMITS.regexProgram}`;

    it("refuses a literal over the bound when saved, naming its size and the limit, without compiling it", async () => {
      for (const [pattern, bound] of [
        [over, 5002],
        [huge, 1_000_002],
      ] as const) {
        const { result, compiled } = await compiling(() => compileTransform(`$match(data.body, /${pattern}/)`, { "x-m": `$contains(s, /${pattern}/i)` }));
        expect(result.ok ? [] : result.issues).toEqual([
          { path: "transform", message: `the regular expression ending at position ${20 + pattern.length} ${tooLarge(bound)}`, position: 20 + pattern.length },
          { path: 'transformHeaders["x-m"]', message: `the regular expression ending at position ${16 + pattern.length} ${tooLarge(bound)}`, position: 16 + pattern.length },
        ]);
        expect(compiled).toEqual([]);
      }
      // Realistic patterns are far under it, and one at the bound is taken.
      for (const pattern of ["^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$", "^(\\d{4})-(\\d{2})-(\\d{2})T", "(?i)^(?:invoice|payment|refund|charge|dispute)\\.(created|updated|deleted)$"]) {
        expect(compileTransform(`$match(s, /${pattern}/)`).ok, pattern).toBe(true);
        expect(programBound(new RegExp(pattern.replace("(?i)", ""))), pattern).toBeLessThan(TRANSFORM_LIMITS.regexProgram / 40);
      }
      expect(compileTransform(`$match(s, /a{1000}b{1000}c{1000}d{1000}e{${TRANSFORM_LIMITS.regexProgram - 4002}}/)`).ok).toBe(true);
      // Literals each under the bound are compiled to check them up to what they may all compile to.
      const four = (letter: string) => `/${letter}{1000}${letter}{1000}${letter}{1000}${letter}{1000}/`;
      const many = await compiling(() => compileTransform(`[${["a", "b", "c", "d"].map((l) => `$contains(s, ${four(l)})`).join(", ")}]`, { "x-e": `$contains(s, ${four("e")})` }));
      expect(many.result.ok ? [] : many.result.issues).toEqual([
        {
          path: 'transformHeaders["x-e"]',
          message: `with the regular expression ending at position 43, the transformation's regular expressions compile to up to 20010 RE2 instructions together; the limit for all of them is ${TRANSFORM_LIMITS.regexPrograms}`,
          position: 43,
        },
      ]);
      expect(many.compiled).toHaveLength(4);
    });

    it("fails a delivery of a stored literal over the bound for good, without compiling it", async () => {
      for (const pattern of [over, huge]) {
        const stored: CompiledTransform = { body: `{"m": $match(data.body, /${pattern}/)}`, headers: {} };
        const { result, compiled } = await compiling(() => runTransform(stored, messageReceived));
        expect(result).toMatchObject({ ok: false, permanent: true, reason: expect.stringMatching(/^transform: the regular expression ending at position \d+ compiles to up to \d+ RE2 instructions/) });
        expect(result.steps).toBe(0);
        expect(compiled).toEqual([]);
      }
    });

    it("refuses a literal whose classes take long to build, though each compiles to one instruction", async () => {
      // re2js appends each table's ranges to the class and sorts them: 2,700 \pL in one class took
      // 1.6 s to compile, 84 of them 46 ms, and a transformation could hold 11 such literals.
      const tables = (n: number) => `[${"\\pL".repeat(n)}]`;
      const eleven = `[${Array.from({ length: 11 }, () => `$contains(s, /${tables(84)}/)`).join(", ")}]`;
      const { result, compiled } = await compiling(() => compileTransform(eleven, { "x-m": `$contains(s, /${tables(2700)}/)` }));
      const messages = result.ok ? [] : result.issues.map((i) => i.message);
      expect(messages).toHaveLength(12);
      expect(messages.slice(0, 11)).toEqual(Array.from({ length: 11 }, () => expect.stringMatching(/^the regular expression ending at position \d+ compiles to up to 17250 RE2 instructions/)));
      expect(messages[11]).toMatch(/^the regular expression ending at position \d+ compiles to up to 16737623 RE2 instructions/);
      expect(compiled).toEqual([]);
      // The `i` flag after the literal folds its tables too, which takes more.
      expect(compileTransform(`$contains(s, /${tables(30)}/)`).ok).toBe(true);
      const folded = compileTransform(`$contains(s, /${tables(30)}/i)`);
      expect(folded.ok ? [] : folded.issues.map((i) => i.message)).toEqual([expect.stringMatching(/compiles to up to 9034 RE2 instructions/)]);
      // A stored one fails its delivery for good, uncompiled.
      const stored = await compiling(() => runTransform({ body: `$contains(s, /${tables(84)}/)`, headers: {} }, "{}"));
      expect(stored.result).toMatchObject({ ok: false, permanent: true, reason: expect.stringMatching(/compiles to up to 17250 RE2 instructions/) });
      expect(stored.compiled).toEqual([]);
    });

    it("charges a literal by its bound before compiling it: one the steps left cannot pay for is not compiled", async () => {
      const big = "[0-9]{1000}[a-z]{1000}[A-Z]{1000}[^,]{1000}"; // 4,002 instructions
      const expr = `$contains("x", /${big}/)`;
      const saved = compile(expr);
      const ran = await compiling(() => runTransform(saved, "{}"));
      expect(ran.result).toMatchObject({ ok: true, body: "false" });
      expect(ran.result.steps).toBeGreaterThanOrEqual(4002 / TRANSFORM_LIMITS.regexInstructionsPerStep);
      expect(ran.compiled).toHaveLength(1);
      // A stored one with fewer steps left than its bound stops before RE2 compiles it.
      const short = await compiling(() => runTransform({ body: expr, headers: {} }, "{}", { maxSteps: 4000 }));
      expect(short.result).toMatchObject({ ok: false, permanent: true, reason: "transform: stopped after 4000 evaluation steps (an endless or too costly expression)" });
      expect(short.result.steps).toBeGreaterThanOrEqual(4002 / TRANSFORM_LIMITS.regexInstructionsPerStep);
      expect(short.compiled).toEqual([]);
      // So is a pattern JSONata builds while running ($toMillis' matcher of its picture).
      const built = await compiling(() => runTransform({ body: `$toMillis("1", "[D,1000][M]")`, headers: {} }, "{}", { maxSteps: 1100 }));
      expect(built.result).toMatchObject({ ok: false, reason: "transform: stopped after 1100 evaluation steps (an endless or too costly expression)" });
      expect(built.compiled).toEqual([]);
    });
  });

  it("bounds the expression and the number of headers", () => {
    const long = compileTransform(`"${"x".repeat(TRANSFORM_LIMITS.expressionChars)}"`);
    expect(long.ok ? [] : long.issues).toEqual([
      { path: "transform", message: `the expression is ${TRANSFORM_LIMITS.expressionChars + 2} characters; the limit is ${TRANSFORM_LIMITS.expressionChars}` },
    ]);
    const many = Object.fromEntries(Array.from({ length: TRANSFORM_LIMITS.headers + 1 }, (_, i) => [`x-h${i}`, "1"]));
    const tooMany = compileTransform("$", many);
    expect(tooMany.ok ? [] : tooMany.issues).toEqual([
      { path: "transformHeaders", message: `at most ${TRANSFORM_LIMITS.headers} headers (11 given; those after the first ${TRANSFORM_LIMITS.headers} are not checked)` },
    ]);
    expect(compileTransform("  ").ok).toBe(false);
  });

  it("checks no header past the limit: a refused save of hundreds is not parsed header by header", () => {
    // Each header checked would add its own issue (a syntax error; the last one's name is Edgehook's too).
    const given = Array.from({ length: 400 }, (_, i): [string, string] => [i === 399 ? "webhook-id" : `x-h${i}`, "("]);
    const r = compileTransform(null, Object.fromEntries(given));
    const issues = r.ok ? [] : r.issues;
    expect(issues.slice(1).map((i) => i.path)).toEqual(given.slice(0, TRANSFORM_LIMITS.headers).map(([name]) => `transformHeaders[${JSON.stringify(name)}]`));
    expect(issues[0]).toEqual({ path: "transformHeaders", message: `at most ${TRANSFORM_LIMITS.headers} headers (400 given; those after the first ${TRANSFORM_LIMITS.headers} are not checked)` });
    // Within the limit every header is checked, each issue as before.
    const ten = compileTransform(null, Object.fromEntries(given.slice(0, TRANSFORM_LIMITS.headers)));
    expect(ten.ok ? [] : ten.issues).toEqual(issues.slice(1));
  });
});

describe("nesting", () => {
  const LIMIT = TRANSFORM_LIMITS.nesting;
  const TOO_DEEP = `the expression is nested too deeply: over ${LIMIT} levels`;
  const deep = (open: string, close: string, n: number) => `${open.repeat(n)}1${close.repeat(n)}`;

  it("takes long chains of conditions, comparisons and sums, and runs them", async () => {
    const conditions = Array.from({ length: 140 }, (_, i) => `type = "t${i}" ? "x${i}" : `).join("") + '"none"';
    const ors = Array.from({ length: 210 }, (_, i) => `a = ${i}`).join(" or ");
    const sums = Array.from({ length: 210 }, (_, i) => `x*${i}`).join(" + ");
    for (const [expr, body, expected] of [
      [conditions, '{"type": "t139"}', '"x139"'],
      [ors, '{"a": 209}', "true"],
      [sums, '{"x": 1}', String((209 * 210) / 2)],
    ] as const) {
      expect(compileTransform(expr).ok).toBe(true);
      expect(await runTransform(compile(expr), body)).toMatchObject({ ok: true, body: expected });
    }
  });

  it(`refuses a parse tree nested over ${LIMIT} levels when saved, however the parser's stack fares`, async () => {
    for (const expr of [deep("(", ")", LIMIT + 1), deep("(", ")", 2000), deep("(", ")", 4000), deep('{"a":', "}", 1000), deep("a[", "]", 1000), `${"-".repeat(4000)}a`]) {
      const r = compileTransform(expr);
      expect(r.ok ? [] : r.issues).toEqual([{ path: "transform", message: TOO_DEEP }]);
      expect(compileTransform(null, { "x-deep": expr }).ok).toBe(false);
    }
    // The deepest taken (the number inside is a level too) runs within the call depth.
    const deepest = deep("(", ")", LIMIT - 1);
    expect(compileTransform(deepest).ok).toBe(true);
    expect(await runTransform(compile(deepest), "{}")).toMatchObject({ ok: true, body: "1" });
  });

  // JSONata looks a name up through every frame out from its own (a block's, a lambda call's) to
  // where it is bound, and its hooks were looked up so at every node: 385 blocks ran ~13 µs a step.
  const blocks = (n: number, inner: string) => `($x := 1; ${Array.from({ length: n }, (_, i) => `($a${i} := 1; `).join("")}${inner}${")".repeat(n)})`;
  const stepsOf = async (expr: string) => (await runTransform(compile(expr), "{}", { maxSteps: 10_000_000 })).steps;

  it("charges a name looked up a step per framesPerLookupStep frames it is nested in, so deep blocks stop within the bound", async () => {
    const mapped = "$count($map([1..9300], function($i) { $x.$x.$x }))";
    // 48,321 steps as one step a node; each of the 27,900 `$x` (and `$count`, `$map`) 387 frames deep costs 12 more.
    expect(await failure(blocks(385, mapped), "{}")).toMatchObject({ reason: `transform: stopped after ${TRANSFORM_LIMITS.steps} evaluation steps (an endless or too costly expression)` });
    expect(await failure("(".repeat(390) + `$x := 1; ${mapped}` + ")".repeat(390), "{}")).toMatchObject({ ok: false });
    const lambdas = `($x := 1; ${"function() { ".repeat(120)}${mapped}${" }()".repeat(120)})`;
    expect(await failure(lambdas, "{}")).toMatchObject({ ok: false });
    // Exactly: `$x` 2 frames deep (the evaluation's and the block's) is a step, as the block, `:=` and `1` are; 387 deep, 12 more.
    const depth = 387;
    expect(await stepsOf(blocks(0, "$x"))).toBe(4);
    expect((await stepsOf(blocks(385, "$x"))) - (await stepsOf(blocks(385, "1")))).toBe(Math.floor(depth / TRANSFORM_LIMITS.framesPerLookupStep));
    expect((await stepsOf(blocks(385, "$x.$x.$x"))) - (await stepsOf(blocks(385, "1")))).toBe(3 + 3 * Math.floor(depth / TRANSFORM_LIMITS.framesPerLookupStep));
    // A transform applied looks `clone` up from where it was written (no name of the expression's).
    const applied = `{"a": 1} ~> |a|{"b": 2}|`;
    const deeper = async (n: number) => (await stepsOf(blocks(n, applied))) - (await stepsOf(blocks(n, "1")));
    expect((await deeper(385)) - (await deeper(0))).toBe(Math.floor(depth / TRANSFORM_LIMITS.framesPerLookupStep));
    // Recursion nests lexically, where the function was defined: its calls stay as deep as its body.
    const recursion = (n: number) => `($f := function($n) { $n = 0 ? 0 : $f($n - 1) }; $f(${n}))`;
    expect((await stepsOf(recursion(200))) - (await stepsOf(recursion(100)))).toBe(100 * ((await stepsOf(recursion(2))) - (await stepsOf(recursion(1)))));
  });

  it("charges the names of an expression nested as a realistic one is exactly as before", async () => {
    const orders = JSON.stringify({ id: 7, items: [{ name: "a", price: 2, qty: 3 }, { name: "b", price: 5, qty: 1 }] });
    const counted = async (expr: string) => (await runTransform(compile(expr), orders)).steps;
    expect(await counted(`{"id": id, "total": $sum(items.(price * qty)), "names": items.name}`)).toBe(28);
    expect(await counted(`($f := function($v) { $v * 2 }; $map(items, function($i) { {"n": $i.name, "p": $f($i.price)} }))`)).toBe(42);
    expect(await counted(`($fact := function($n) { $n <= 1 ? 1 : $n * $fact($n - 1) }; (($y := $fact(10)); (($z := $y); {"f": $z, "n": $count(items), "s": $string($$.id)})))`)).toBe(133);
    expect(await counted(`items ~> $filter(function($i) { $i.price > 2 }) ~> $map(function($i) { $i ~> |$|{"total": price * qty}| })`)).toBe(36 + TRANSFORM_LIMITS.transformerSteps);
  });

  it("fails a delivery of a deeper transform stored before the limit for good, as a failed attempt", async () => {
    for (const body of [deep("(", ")", 4000), deep("(", ")", 600), `${"-".repeat(4000)}a`]) {
      const r = await runTransform({ body, headers: {} }, "{}");
      expect(r).toMatchObject({ ok: false, permanent: true });
      expect(r.ok ? "" : r.reason).toMatch(/^transform: /);
    }
  });
});

describe("paths", () => {
  const STEPS = TRANSFORM_LIMITS.pathSteps;
  const NAMES = TRANSFORM_LIMITS.bindings;
  const refusal = (r: ReturnType<typeof compileTransform>) => (r.ok ? "" : (r.issues[0]?.message ?? ""));

  it(`refuses a path of over ${STEPS} steps when saved, and a stored one fails parsed once an isolate`, async () => {
    // JSONata's parser goes through a path's steps at each `.`: 4,000 steps took ~380 ms to parse, at each attempt.
    // `$` and n steps after it.
    const path = (n: number, step = ".a") => `$count($${step.repeat(n)})`;
    expect(compileTransform(path(STEPS - 1)).ok).toBe(true);
    for (const expr of [path(STEPS), path(4000), `$count($$${".a.%".repeat(STEPS / 2 + 1)})`]) {
      expect(refusal(compileTransform(expr)), expr.slice(0, 30)).toMatch(new RegExp(`^a path of \\d+ steps is over the limit of ${STEPS}: .* \\(at position \\d+\\)$`));
      expect(compileTransform(null, { "x-long": expr }).ok).toBe(false);
    }
    // Stored before: refused as it runs, and its text remembered, so later attempts do not parse it again.
    const stored = { body: path(4000, ".paths"), headers: {} };
    const parse = vi.spyOn(JSONATA, "parse");
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        expect(await runTransform(stored, "{}")).toMatchObject({ ok: false, permanent: true, reason: expect.stringMatching(/^transform: a path of 4001 steps is over the limit/) });
      }
      expect(parse.mock.calls.filter(([source]) => source === stored.body).length).toBeLessThanOrEqual(1);
    } finally {
      parse.mockRestore();
    }
  });

  it(`refuses a path binding over ${NAMES} names (%, #, @) when saved, and a stored one fails`, async () => {
    // Each step of a path that binds names copies them all for each item: 2,000 `%` ran ~1 ms a step, 700 `#` names ~0.3 ms.
    const spread = (n: number, bind: (i: number) => string) => `[${Array.from({ length: n }, (_, i) => bind(i)).join(", ")}]`;
    const ways = [
      (n: number) => `[1]#$i${Array.from({ length: n - 1 }, (_, i) => `.$#$n${i}`).join("")}`,
      (n: number) => `[1]@$i${Array.from({ length: n - 1 }, (_, i) => `.$@$n${i}`).join("")}`,
      (n: number) => `$$${".a.%".repeat(n)}`,
      // A block step giving a tuple stream adds its names to the path's.
      (n: number) => `a.(${Array.from({ length: n - 1 }, (_, i) => `b#$i${i}`).join(".")}.c).%`,
    ];
    for (const way of ways) {
      expect(compileTransform(way(NAMES)).ok, way(NAMES)).toBe(true);
      expect(refusal(compileTransform(way(NAMES + 1))), way(NAMES + 1)).toMatch(new RegExp(`^a path binds over ${NAMES} names with %, # and @: .* \\(at position \\d+\\)$`));
    }
    const stored = await runTransform({ body: `$count(${ways[0]!(700)})`, headers: {} }, "{}");
    expect(stored).toMatchObject({ ok: false, permanent: true, reason: expect.stringMatching(/^transform: a path binds over/) });
    // Names bound by paths side by side are each path's own: a tuple carries only its path's.
    for (const expr of [
      spread(NAMES + 1, (i) => `$map(Items, function($v){ $v.Price#$j${i} })`),
      spread(NAMES + 1, (i) => `([1, 2]#$i${i}.$)`),
      spread(NAMES + 1, (i) => `a.b[0]#$i${i}`),
    ]) {
      expect(compileTransform(expr).ok, expr.slice(0, 40)).toBe(true);
    }
    const items = JSON.stringify({ Items: [{ Price: 1 }, { Price: 2 }] });
    const maps = spread(NAMES + 1, (i) => `$map(Items, function($v){ $v.Price#$j${i} })`);
    expect((await transformed(maps, items)).body).toEqual(await jsonata(maps).evaluate(JSON.parse(items)));
  });

  it("charges the canonical parent example over 1,000 orders within the budget, by the names each step carries", async () => {
    // ~57–68 ms in Node (~38,500 steps): each step of the path carries the names it and the steps before it bound.
    const body = JSON.stringify({
      Account: { Name: "acme", Order: Array.from({ length: 1000 }, (_, i) => ({ OrderID: `o${i}`, Product: [{ Price: 1, Name: "p" }, { Price: 2, Name: "q" }] })) },
    });
    const r = await runTransform(compile(`Account.Order.Product.{'n': Name, 'o': %.OrderID, 'a': %.%.Name}`), body);
    expect(r).toMatchObject({ ok: true });
    expect(r.steps).toBeLessThan(40_000);
  });

  it("charges each step of a path that binds names by the names it copies for each item", async () => {
    const names = Array.from({ length: NAMES - 1 }, (_, i) => `.$#$n${i}`).join("");
    const r = await runTransform(compile(`$count([1..70]#$i${names}${".$".repeat(40)})`), "{}", { maxSteps: 10 * TRANSFORM_LIMITS.steps });
    expect(r).toMatchObject({ ok: true, body: "70" });
    // 40 steps of 70 items, each carrying 16 names bound in a frame and copying them into the item it gives.
    expect(r.steps).toBeGreaterThan((2 * 70 * 40 * NAMES) / TRANSFORM_LIMITS.boundNamesPerStep);
    const expr = `{"r": [1, 2]#$i.{"v": $}, "p": a.b.%.c, "f": a@$v.b}`;
    const body = { a: { b: { x: 1 }, c: 3 } };
    expect((await transformed(expr, JSON.stringify(body))).body).toEqual(JSON.parse(JSON.stringify(await jsonata(expr).evaluate(body))));
  });
});

describe("work an item at a time", () => {
  const steps = async (expr: string, body = "{}") => (await runTransform(compile(expr), body, { maxSteps: 10 * TRANSFORM_LIMITS.steps })).steps;
  const ITEMS = 99_999;

  it("charges $sum, $max, $min and $average by the items they add up, a range by the items it builds", async () => {
    // 45 `$average`s of 99,999 numbers took ~0.3–0.4 s in workerd, charged 48,000 steps as the array.
    const held = `($a := [1..${ITEMS}]; `;
    const base = await steps(`${held}$count($a))`);
    for (const f of ["sum", "max", "min", "average"]) {
      expect((await steps(`${held}$${f}($a))`)) - base, f).toBeGreaterThanOrEqual(Math.floor(ITEMS / TRANSFORM_LIMITS.itemWorkPerStep));
    }
    expect(await steps(`$count([1..${ITEMS}])`)).toBeGreaterThan(ITEMS / TRANSFORM_LIMITS.itemWorkPerStep + ITEMS / TRANSFORM_LIMITS.itemsPerStep);
    expect(TRANSFORM_LIMITS.itemWorkPerStep).toBeLessThanOrEqual(25);
  });

  it("charges an object constructor and a grouping more than a step at each evaluation", async () => {
    // `[1..46000].{}` ran 2.8 µs a step charged a step an object; `$map([1..24000], function($v){{}})` 2.1.
    const extra = 1000 * TRANSFORM_LIMITS.constructedSteps;
    expect((await steps(`$count([1..1000].{})`)) - (await steps(`$count([1..1000].$)`))).toBeGreaterThanOrEqual(extra);
    expect((await steps(`$count([1..1000].{'a': $})`)) - (await steps(`$count([1..1000].($))`))).toBeGreaterThanOrEqual(extra);
    expect((await steps(`$count($map([1..1000], function($v){{}}))`)) - (await steps(`$count($map([1..1000], function($v){$v}))`))).toBeGreaterThanOrEqual(extra);
    expect((await steps(`$count([1..1000].([$]{'k': $}))`)) - (await steps(`$count([1..1000].([$]))`))).toBeGreaterThanOrEqual(extra);
    expect(TRANSFORM_LIMITS.constructedSteps).toBeGreaterThanOrEqual(2);
  });

  it("charges an array constructor more than a step at each evaluation: many tiny arrays ran 2-8 µs a step", async () => {
    // `[[1], [1], …]` of 2,000, charged two steps an inner `[1]`, ran 1.9–2.6 µs a step in Node (4.6–8.2 in an audit).
    const tiny = `[${Array.from({ length: 2000 }, () => "[1]").join(",")}]`;
    expect(await steps(`$count(${tiny})`)).toBeGreaterThanOrEqual(2000 * (2 + TRANSFORM_LIMITS.arrayConstructedSteps));
    expect((await failure(`$count([1..12].${tiny})`, "{}")).reason).toMatch(/^transform: stopped after/);
    expect((await steps(`$count([1..1000].[$])`)) - (await steps(`$count([1..1000].($))`))).toBeGreaterThanOrEqual(1000 * TRANSFORM_LIMITS.arrayConstructedSteps);
    expect(TRANSFORM_LIMITS.arrayConstructedSteps).toBeGreaterThanOrEqual(3);
    // Grouped where it is built, an array constructor costs both: as grouped in a block, but the block's own step.
    expect((await steps(`([1, 2]){"k": 1}`)) - (await steps(`[1, 2]{"k": 1}`))).toBe(1);
    // A list of 1,000 small objects is one array constructor: as before, 3 steps more.
    const list = `[${Array.from({ length: 1000 }, () => `{"a":1}`).join(",")}]`;
    expect(await steps(`$count(${list})`)).toBeLessThan(10_100);
    const items = JSON.stringify({ items: Array.from({ length: 1000 }, (_, i) => ({ id: `i${i}`, name: "x", qty: i })) });
    expect(await steps(`$count([items.{"id": id, "n": name}])`, items)).toBeLessThan(9_100);
    expect((await transformed(`{"t": [[1], [2, [3]], [], [[]]], "l": $count(${list})}`, "{}")).body).toEqual({ t: [[1], [2, [3]], [], [[]]], l: 1000 });
  });

  it("charges a grouping's new key by the groups found before it, all evaluated side by side", async () => {
    // `objs{id: [v]}` of 10,000 unique ids took 0.26–0.4 s in Node, charged a step each.
    const objs = (n: number) => JSON.stringify({ objs: Array.from({ length: n }, (_, i) => ({ id: `o${i}`, v: i })) });
    const at = async (n: number) => steps(`$count($keys(objs{id: [v]}))`, objs(n));
    // What grows with the groups' count cancels out of the second difference: what is left is the
    // groups found before each new one, (3,000² − 2·2,000² + 1,000²) / 2 of them.
    expect((await at(3000)) - 2 * (await at(2000)) + (await at(1000))).toBe(1_000_000 / TRANSFORM_LIMITS.groupsBeforePerStep);
    expect((await runTransform(compile(`objs{id: [v]}`), objs(10_000))).ok).toBe(false);
    // The parent example's grouping stays cheap: 1,000 orders of 50 customers.
    const orders = JSON.stringify({ orders: Array.from({ length: 1000 }, (_, i) => ({ customer: `c${i % 50}`, total: i })) });
    expect(await steps(`orders{customer: $sum(total)}`, orders)).toBeLessThan(4000);
  });

  it("charges $split by the pieces it makes, counted before it makes them by a string", async () => {
    const body = JSON.stringify({ s: "ab,".repeat(100_000) });
    expect((await steps(`$count($split(s, ""))`, body)) - (await steps(`$count(s)`, body))).toBeGreaterThan(300_000 / TRANSFORM_LIMITS.itemWorkPerStep);
    expect((await steps(`$count($split(s, ","))`, body)) - (await steps(`$count(s)`, body))).toBeGreaterThan(100_000 / TRANSFORM_LIMITS.itemWorkPerStep);
    expect((await steps(`$count($split(s, /,/))`, body)) - (await steps(`$count(s)`, body))).toBeGreaterThan(100_000 / TRANSFORM_LIMITS.itemWorkPerStep);
    // Over the steps left, stopped before it splits (900,000 pieces: ~45 ms a call).
    const r = await runTransform(compile(`($s := $pad('', 900000, 'a'); $sum([1..4].$count($split($s, ''))))`), "{}");
    expect(r).toMatchObject({ ok: false, reason: expect.stringMatching(/^transform: stopped after/) });
    for (const expr of [`$split("a,b,,c", ",")`, `$split("a,b,c", ",", 2)`, `$split("abc", "")`, `$split("a1b22c", /\\d+/)`, `$split("", ",")`]) {
      expect((await transformed(`{"r": ${expr}}`, "{}")).body, expr).toEqual({ r: await jsonata(expr).evaluate({}) });
    }
  });

  it("charges a descendant step at least a step per 2 values it walks", async () => {
    const floats = JSON.stringify({ a: Array.from({ length: 60_000 }, (_, i) => i + 0.5) });
    // ~0.2 µs a value walked in Node: a step per 5 left each step ~1 µs.
    expect(await steps(`$count($$.**)`, floats)).toBeGreaterThan(60_000 / 2);
  });

  it("pads as JSONata does, without joining an array of holes", async () => {
    const strings = fc.constantFrom("", "ab", "😀x", "héllo", "\ud800");
    const fills = fc.constantFrom(undefined, "", "-", "ab", "😀", "a😀", "\udc00", "\ude00\ud83d", "\ud83d", "😀\ud83d", "\ude00ab");
    const widths = fc.constantFrom(0, 1, 3, 7, -7, 2.7, -2.7, 10, -10);
    await fc.assert(
      fc.asyncProperty(strings, widths, fills, async (s, w, f) => {
        const expr = `$pad(${JSON.stringify(s)}, ${w}${f === undefined ? "" : `, ${JSON.stringify(f)}`})`;
        // Compared as JSON text: a lone surrogate in a failure's message breaks the test runner's reporting.
        expect(JSON.stringify((await transformed(`{"r": ${expr}}`, "{}")).body)).toBe(JSON.stringify({ r: await jsonata(expr).evaluate({}) }));
      }),
      { numRuns: 300 },
    );
    // Copies joined make pairs across them: a lone low surrogate, then four faces.
    const across = `$pad('', 5, '\\uDE00\\uD83D')`;
    expect(JSON.stringify((await transformed(`{"r": ${across}}`, "{}")).body)).toBe(JSON.stringify({ r: "\ude00😀😀😀😀" }));
    expect(JSON.stringify(await jsonata(across).evaluate({}))).toBe(JSON.stringify("\ude00😀😀😀😀"));
  });
});

describe("what a JSONata error quotes, and what a transform or $formatNumber copies key by key", () => {
  const run = (expr: string, body = "{}", maxSteps: number = TRANSFORM_LIMITS.steps) => runTransform(compile(expr), body, { maxSteps });
  const steps = async (expr: string, body = "{}") => (await run(expr, body, 10 * TRANSFORM_LIMITS.steps)).steps;
  // A value sharing one object 12 levels deep: 8 MB as text, from a few steps.
  const shared = (use: string) => `($a := {"a": $pad("", 1000, "x"), "b": $pad("", 1000, "y")}; ${'$a := {"a": $a, "b": $a}; '.repeat(12)}${use})`;

  it("stops the writing of a value a JSONata error would quote (D1002, T1003, T2011, T2012) before JSONata writes it whole", async () => {
    // JSONata's message quoted it as JSON in full, uncharged: 19 levels, 512 MB and 10 s.
    for (const use of [`-$a`, `{$a: 1}`, `[$a]{$: 1}`, `{} ~> |$|[$a]|`, `{} ~> |$|{}, $a|`, `{} ~> |$|{}, [$a]|`, `{$a: 1}{"k": 1}`, `{"k": 1}{$a: 1}`, `-[$a]`, `-($a.(function($x) { $x }))`]) {
      const r = await run(shared(use));
      expect(r.ok ? "" : r.reason, use).toBe(`transform: stopped: the value a JSONata error would quote would be over ${TRANSFORM_LIMITS.stringChars} characters`);
      // Charged as written, as `$string` is: a megabyte of its text takes thousands of steps.
      expect(r.steps, use).toBeGreaterThan(TRANSFORM_LIMITS.stringChars / TRANSFORM_LIMITS.writtenCharsPerStep);
    }
    // A small value is quoted as JSONata quotes it, and a long one cut (the webhook test answers the message).
    expect((await failure(`-{"a": 1}`, "{}")).reason).toBe(`transform: D1002: Cannot negate a non-numeric value: {"a":1} (at position 1)`);
    expect((await failure(`{} ~> |$|[1]|`, "{}")).reason).toMatch(/^transform: T2011: .*: \[1\] \(at position \d+\)$/);
    const long = await failure(`-{"a": $pad("", 100000, "x")}`, "{}");
    expect(long.reason).toMatch(/^transform: D1002: Cannot negate a non-numeric value: \{"a":"x+… \(at position 1\)$/);
    expect(long.reason.length).toBeLessThan(TRANSFORM_LIMITS.messageChars + 100);
    expect(long.summary).toBe("transform: JSONata error D1002 (at position 1)");
  });

  const big = JSON.stringify({ big: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`k${i}`, 0])) });

  it("charges a transform's update by its keys and its deletions by their names, at each match", async () => {
    // `{} ~> |$|$$.big|` copied 24,000 keys into each match: 1,000 of them, 7.7 s in 6,513 steps.
    const perMatch = 2000 / TRANSFORM_LIMITS.keysPerStep;
    expect((await steps(`($b := $$.big; $count([1..10].({} ~> |$|$b|)))`, big)) - (await steps(`($b := $$.big; $count([1..10].({} ~> |$|$e|)))`, big))).toBe(10 * perMatch);
    const names = `($n := $keys($$.big); `;
    expect((await steps(`${names}$count([1..10].({} ~> |$|{}, $n|)))`, big)) - (await steps(`${names}$count([1..10].({} ~> |$|{}, "k0"|)))`, big))).toBe(
      // Besides the names as a value (20 steps for 2,000 items, 8 for their 8,890 characters), less "k0"'s half a step.
      10 * (perMatch + 28) - 5,
    );
    expect((await failure(`$count([1..100].({} ~> |$|$$.big|))`, big)).reason).toMatch(/^transform: stopped after/);
    // An object marked as JSONata marks a function is copied key by key all the same.
    const marked = JSON.stringify({ big: { _jsonata_lambda: true, ...JSON.parse(big).big } });
    expect((await steps(`($b := $$.big; $count([1..10].({} ~> |$|$b|)))`, marked)) - (await steps(`($b := $$.big; $count([1..10].({} ~> |$|$e|)))`, marked))).toBe(10 * (perMatch + 1 / TRANSFORM_LIMITS.keysPerStep));
    const matches = JSON.stringify({ ...JSON.parse(big), small: Array.from({ length: 100 }, () => ({})) });
    expect((await failure(`$count($$.small ~> |$|$$.big|)`, matches)).reason).toMatch(/^transform: stopped after/);
  });

  it("charges a transform at each evaluation by the function JSONata makes anew there, applied or not", async () => {
    // A step each, 45,000 transforms made and never applied ran 4-6 times a plain step's time, and were sent.
    const made = (n: number) => `$count([1..${n}].|a|{}|)`;
    const more = (await steps(made(2000))) - (await steps(made(1000)));
    expect(more).toBeGreaterThanOrEqual(1000 * (1 + TRANSFORM_LIMITS.transformerSteps));
    expect(more).toBeLessThan(1000 * (2 + TRANSFORM_LIMITS.transformerSteps));
    const stopped = await run(made(45_000));
    expect(stopped.ok ? "sent" : stopped.reason).toMatch(/^transform: stopped after 50000 evaluation steps/);
    // Applied, the same besides what it copies: each `~>` makes one.
    const applied = (n: number) => `$count([1..${n}].({"a": {"b": 1}} ~> |a.b|{}|))`;
    expect((await steps(applied(2000))) - (await steps(applied(1000)))).toBeGreaterThanOrEqual(1000 * TRANSFORM_LIMITS.transformerSteps);
  });

  it("charges $formatNumber's options by their keys at each call: JSONata copies them key by key", async () => {
    // 1,000 calls with an options object of 24,000 keys took 4.9 s in 9,081 steps.
    const withOptions = (o: string) => steps(`($o := ${o}; $count([1..10].$formatNumber(1, "0", $o)))`, big);
    expect((await withOptions("$$.big")) - (await withOptions("$$.none"))).toBe(10 * (2000 / TRANSFORM_LIMITS.keysPerStep));
    expect((await failure(`$count([1..100].$formatNumber(1, "0", $$.big))`, big)).reason).toMatch(/^transform: stopped after/);
    expect((await transformed(`{"n": $formatNumber(1234.5, "#,##0.00", {"decimal-separator": "."})}`, "{}")).body).toEqual({ n: "1,234.50" });
  });

  it("charges a body's object marked as JSONata marks its functions as the data it is", async () => {
    // `=`, `$distinct` and `$spread` went through such objects key by key, charged nothing: 3,000
    // comparisons of two of 12,000 keys took 13 s in 12,200 steps.
    const keyed = (first: string) => Object.fromEntries([[first, true], ...Array.from({ length: 2000 }, (_, i) => [`k${i}`, 0])]);
    const body = (first: string) => JSON.stringify({ o: keyed(first), p: keyed(first) });
    for (const mark of ["_jsonata_lambda", "_jsonata_function"]) {
      // (`$spread` gives a `_jsonata_lambda` back as it is, going through nothing.)
      const spread = mark === "_jsonata_function" ? [`$count($spread([$$.o]))`] : [];
      for (const use of [`$$.o = $$.p`, `$$.o != $$.p`, `$count($distinct([$$.o, $$.p]))`, ...spread]) {
        expect(await steps(use, body(mark)), `${use} ${mark}`).toBeGreaterThanOrEqual(await steps(use, body("plain")));
      }
    }
    // A real function is no data: its closure is not charged as values.
    expect(await steps(`($f := function($x) { $x }; $f = $f)`, big)).toBeLessThan(20);
  });

  it("charges the writing of a deep value by the levels JSON.stringify checks for a cycle at each", async () => {
    // `$string` of an object chain 5,000 deep: ~14 ms a call, charged 1,742 steps by its values.
    const chain = (depth: number) => `{"a": ${'{"a": '.repeat(depth)}0${"}".repeat(depth)}}`;
    const checked = (3000 * 3001) / 2 / TRANSFORM_LIMITS.nestingCheckedPerStep;
    for (const use of [`$string($$.a)`, `$count($$.a ~> |$|{}|)`]) {
      expect((await steps(use, chain(3000))) - (await steps(use, chain(0))), use).toBeGreaterThanOrEqual(checked);
    }
    expect(await steps(`$string($$.a)`, chain(4))).toBeLessThan(20);
    // Deeper than the runtime's stack can write, said so (it was "JSONata error without a code").
    const deepest = await run(`$string($$.a)`, chain(20_000), 100 * TRANSFORM_LIMITS.steps);
    expect(deepest).toMatchObject({ ok: false, reason: "transform: stopped: a value is nested too deeply to go through" });
  });

  it("charges an array given as a value by the arrays nested in it too, which its charge goes through at each node that gives it", async () => {
    // 3,000 items each 30 arrays deep (`[[…[1]…]]`): 90,000 arrays of one item, walked at each node
    // that gives them. Charged a step per 100 items, `[1..60].$count($$.a[])` ran 5-8 µs a step.
    const nested = (depth: number) => {
      let item: unknown = 1;
      for (let i = 0; i < depth; i++) item = [item];
      return JSON.stringify({ a: Array.from({ length: 3000 }, () => item) });
    };
    const walk = 90_000 / TRANSFORM_LIMITS.itemsPerStep + 90_000 / TRANSFORM_LIMITS.nestedArraysPerStep;
    // The name step and the path give the array (and `$reverse` its copy): each charges its walk.
    expect((await steps(`$count($$.a[])`, nested(30))) - (await steps(`$count($$.a[])`, nested(0)))).toBe(2 * walk);
    expect((await steps(`$count($reverse($$.a))`, nested(30))) - (await steps(`$count($reverse($$.a))`, nested(0)))).toBe(3 * walk);
    expect(TRANSFORM_LIMITS.nestedArraysPerStep).toBeLessThanOrEqual(10);
    // Ten times over is past the budget (it ran 18,600 steps).
    const stopped = `transform: stopped after ${TRANSFORM_LIMITS.steps} evaluation steps (an endless or too costly expression)`;
    expect(await run(`[1..10].$count($$.a[])`, nested(30))).toMatchObject({ ok: false, reason: stopped });
  });

  it("charges $merge by its objects, empty ones too, and the truth of an array by its items", async () => {
    // 85,000 `{}` merged 100 times took ~0.4 s, and 85,000 `[]` taken as true 100 times ~0.45 s, ~50,000 steps each.
    const many = (item: unknown) => JSON.stringify({ a: Array.from({ length: 10_000 }, () => item) });
    const call = (use: string, item: unknown) => steps(`($a := $$.a; $count([1..10].${use}))`, many(item));
    expect((await call("$merge($a)", {})) - (await call("$merge([])", {}))).toBeGreaterThanOrEqual((10 * 10_000) / TRANSFORM_LIMITS.mergedObjectsPerStep);
    expect(TRANSFORM_LIMITS.mergedObjectsPerStep).toBeLessThanOrEqual(10);
    expect((await call("$boolean($a)", [])) - (await call("$boolean([])", []))).toBeGreaterThanOrEqual((10 * 10_000) / TRANSFORM_LIMITS.itemWorkPerStep);
    expect((await call("($a ? 1 : 0)", {})) - (await call("([] ? 1 : 0)", {}))).toBeGreaterThanOrEqual((10 * 10_000) / TRANSFORM_LIMITS.itemWorkPerStep);
  });
});
