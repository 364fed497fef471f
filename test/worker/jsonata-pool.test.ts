import { beforeEach, describe, expect, it, vi } from "vitest";
import { JSONATA, parse, walk } from "../../src/pipeline/jsonata-check";
import { evaluate, idleParsed } from "../../src/pipeline/jsonata-meter";
import { IdlePool } from "../../src/pipeline/idle-pool";

const MAX_STEPS = 50_000;
let made = 0;
/** A text no other test evaluates (a comment apart), so that what the isolate holds of others does not count. */
const unique = (expr: string) => `/* ${++made} ${crypto.randomUUID()} */ ${expr}`;

/** A run's answer as written: JSONata marks the arrays it gives (`sequence`), differently as it got to them. */
async function run(source: string, input: unknown, maxSteps = MAX_STEPS): Promise<unknown> {
  return JSON.parse(JSON.stringify(await evaluate(source, input, maxSteps)));
}

/** Times JSONata parsed `source` while `run` ran. */
async function parsesOf<T>(source: string, run: () => Promise<T>): Promise<{ parses: number; result: T }> {
  const parse = vi.spyOn(JSONATA, "parse");
  try {
    const result = await run();
    return { parses: parse.mock.calls.filter(([text]) => text === source).length, result };
  } finally {
    parse.mockRestore();
  }
}

// Charged by its regular expression's work (a long name), a built-in calling a function, and a lambda
// whose signature types an array's items (its check is wrapped in the parsed tree).
const CHARGED = `(
  $double := function($v, $i, $a)<nna<n>:n>{ $v * 2 };
  { "doubled": $map(nums, $double), "replaced": $replace(name, /o+x/, "0"), "written": $string(nums) }
)`;
const small = { nums: [1, 2, 3], name: "fo".repeat(2000) };
const large = { nums: Array.from({ length: 400 }, (_, i) => i), name: "o".repeat(60_000) };

describe("parsed expressions reused within the isolate", () => {
  // Other files' runs in this runtime (one isolate for many files) may have filled the pool, leaving
  // no room for the expressions these tests make.
  beforeEach(() => idleParsed.clear());

  it("parses an expression once for runs one after the other, each charged as the first", async () => {
    const source = unique(CHARGED);
    const { parses, result } = await parsesOf(source, async () => {
      const first = await evaluate(source, large, MAX_STEPS);
      // Within the steps the first took: nothing charged to a run before, nor this one's twice.
      const later = [await run(source, large, first.steps), await run(source, large, first.steps), await run(source, small)];
      return [JSON.parse(JSON.stringify(first)), ...later];
    });
    expect(parses).toBe(1);
    const [first, second, third, fourth] = result;
    expect(first).toMatchObject({ ok: true });
    expect(second).toEqual(first);
    expect(third).toEqual(first);
    expect(fourth).toMatchObject({ ok: true, value: { doubled: [2, 4, 6] } });
    expect(fourth).not.toEqual(first);
  });

  it("gives runs of one expression evaluated at once each its own steps, regular expression charges and result", async () => {
    const source = unique(CHARGED);
    const alone = [await run(source, large), await run(source, small)];
    expect(alone[0]).toMatchObject({ steps: expect.any(Number) });
    expect(alone[0]).not.toEqual(alone[1]);
    // The idle one is taken by one run; the other, started while it is in use, parses its own.
    const { parses, result } = await parsesOf(source, () => Promise.all([run(source, large), run(source, small)]));
    expect(parses).toBe(1);
    expect(result).toEqual(alone);
    // Both are held now, and taken by the next two runs together.
    const again = await parsesOf(source, () => Promise.all([run(source, small), run(source, large)]));
    expect(again.parses).toBe(0);
    expect(again.result).toEqual([alone[1], alone[0]]);
  });

  it("keeps an idle expression weighed by its tree, without the patterns its last run compiled", async () => {
    const source = unique(CHARGED);
    expect(await run(source, small)).toMatchObject({ ok: true });
    // Its one run is the pool's only idle one (cleared before each test).
    expect(idleParsed.size).toEqual({ items: 1, weight: walk(parse(source).ast()).objects });
    const idle = idleParsed.take(source);
    expect(idle?.run.compiled.size).toBe(0);
  });

  it("runs an expression as before after a run of it stopped at the bound", async () => {
    const source = unique(CHARGED);
    const alone = await run(source, large);
    const stopped = await run(source, large, 100);
    expect(stopped).toMatchObject({ ok: false, reason: expect.stringMatching(/^stopped/) });
    expect(await run(source, large)).toEqual(alone);
    expect(await run(source, large)).toEqual(alone);
  });

  it("charges no run for what a failed run of the same expression still evaluates", async () => {
    // The first item fails while the second is still evaluated side by side (Promise.all), and goes
    // on after the failed run has answered, calling `$map` by name as it goes.
    const source = unique(`[$.fail ? $error("failed") : 0, $count($map([1..200], function($v){ [$v, $map([1, 2, 3], function($w){ $w + $v })] }))]`);
    const alone = await run(source, { fail: false });
    expect(alone).toMatchObject({ ok: true, value: [0, 200] });
    expect(await run(source, { fail: true })).toMatchObject({ ok: false, reason: expect.stringMatching(/failed/) });
    expect(await run(source, { fail: false })).toEqual(alone);
    expect(await run(source, { fail: false })).toEqual(alone);
  });
});

describe("a parsed expression's weight in the pool", () => {
  it("is the objects of its tree, which JSONata's copies make many times its text", () => {
    const flat = walk(parse(`{"a": a, "b": b.c, "d": $uppercase(d)}`).ast()).objects;
    // Each `??` nested on the left copies its left operand (parseCopiedChars bounds that): 57 characters.
    const nested = walk(parse("((((((((a ?? b) ?? c) ?? d) ?? e) ?? f) ?? g) ?? h) ?? i)").ast()).objects;
    expect(flat).toBeGreaterThan(10);
    expect(flat).toBeLessThan(50);
    expect(nested).toBeGreaterThan(3000);
  });
});

describe("IdlePool", () => {
  const limits = { items: 3, weight: 10, staleMs: 1000 };
  // Weighed here by their keys' length.
  const give = (pool: IdlePool<string>, key: string, item: string) => pool.give(key, item, key.length);

  it("gives each taken one to one taker, the last given back first", () => {
    const pool = new IdlePool<string>(limits, () => 0);
    give(pool, "a", "a1");
    give(pool, "b", "b1");
    give(pool, "a", "a2");
    expect([pool.take("a"), pool.take("a"), pool.take("a"), pool.take("b"), pool.take("c")]).toEqual(["a2", "a1", undefined, "b1", undefined]);
    expect(pool.size).toEqual({ items: 0, weight: 0 });
  });

  it("holds at most its bounds, dropping one given back past them unless one held is stale", () => {
    let now = 0;
    const pool = new IdlePool<string>(limits, () => now);
    for (const key of ["a", "b", "c", "d"]) give(pool, key, key);
    expect(pool.size).toEqual({ items: 3, weight: 3 });
    expect(pool.take("d")).toBeUndefined();
    now = 999;
    give(pool, "e", "e");
    expect(pool.take("e")).toBeUndefined();
    now = 1000;
    give(pool, "e", "e");
    expect(pool.size).toEqual({ items: 3, weight: 3 });
    expect([pool.take("a"), pool.take("b"), pool.take("e"), pool.take("c")]).toEqual([undefined, "b", "e", "c"]);
  });

  it("keeps what it holds when given one heavier than its bound", () => {
    let now = 0;
    const pool = new IdlePool<string>(limits, () => now);
    give(pool, "a", "a");
    now = 1000;
    give(pool, "x".repeat(11), "long");
    expect(pool.size).toEqual({ items: 1, weight: 1 });
    expect(pool.take("a")).toBe("a");
  });

  it("holds at most its weight in all", () => {
    let now = 0;
    const pool = new IdlePool<string>(limits, () => now);
    give(pool, "x".repeat(11), "long");
    expect(pool.size).toEqual({ items: 0, weight: 0 });
    give(pool, "a", "a");
    give(pool, "y".repeat(9), "nine");
    give(pool, "y".repeat(9), "nine again");
    expect(pool.size).toEqual({ items: 2, weight: 10 });
    now = 1000;
    give(pool, "y".repeat(9), "nine again");
    expect(pool.size).toEqual({ items: 1, weight: 9 });
    expect([pool.take("a"), pool.take("y".repeat(9))]).toEqual([undefined, "nine again"]);
    give(pool, "a", "a");
    pool.clear();
    expect(pool.size).toEqual({ items: 0, weight: 0 });
    expect(pool.take("a")).toBeUndefined();
  });
});
