/**
 * Transformations: a webhook's `transform` is a JSONata expression evaluated with the event's
 * parsed body as input; its result, as JSON, is the body forwarded. `transformHeaders` maps header
 * names to JSONata expressions giving their values.
 *
 * Bounds. Deployed Workers do not advance `Date.now()` while code runs, so JSONata's own
 * `timeout` would never fire there: evaluation is bounded by a count of evaluation steps instead,
 * which also makes the outcome deterministic (the same event fails the same way on every attempt,
 * so a failure is permanent). Recursion depth, sequence length, intermediate string length and the
 * serialized output are bounded too, and regular expressions run on RE2 (linear time). A saved
 * expression's parse tree nests at most TRANSFORM_LIMITS.nesting levels.
 */
import jsonata from "jsonata";
import { isCredentialHeader } from "../domain/credential-headers";
import { utf8Length } from "../domain/crypto";
import { parseBody } from "../domain/documents";
import { isIndexable } from "../domain/guards";
import { isRegexSource, LinearRegExp, meteredRegExp, NativeRegExp, parsingRe2, withRegExp, type RegExpMatchLike, type RegexSource } from "./linear-regexp";
import { trimHeaderSpace } from "../http/header-space";

interface TransformIssue {
  /** `transform`, or `transformHeaders["x-name"]`. */
  path: string;
  message: string;
  /** Character offset in the expression, for syntax errors. */
  position?: number;
}

/** Validated expressions; `runTransform` evaluates them. */
export interface CompiledTransform {
  /** null: the body is sent as stored (only headers are computed). */
  readonly body: string | null;
  /** Lower-case header name → expression. */
  readonly headers: Readonly<Record<string, string>>;
}

/** `steps`: the evaluation steps the run took, all its expressions' (a failed one's up to where it stopped). */
type TransformResult =
  | { ok: true; body: string; headers: Record<string, string>; steps: number }
  /**
   * `reason`: the whole error, which may quote the event's values (for whoever may read the event);
   * `summary`: the same without them, for what outlives the event's access (a delivery's
   * attempts, its webhook's health). `permanent`: the same event would fail the same way, so
   * retrying is pointless.
   */
  | { ok: false; reason: string; summary: string; permanent: boolean; steps: number };

export const TRANSFORM_LIMITS = {
  expressionChars: 8192,
  headers: 10,
  headerValueChars: 4096,
  /** Evaluation steps per expression: tens of milliseconds of CPU. */
  steps: 50_000,
  /** A value an expression gives costs a step more per this many characters of a string… */
  charsPerStep: 1000,
  /** …or items of an array. */
  itemsPerStep: 100,
  /** JSONata call depth. */
  depth: 500,
  /** Levels an expression's parse tree may nest, so that nesting alone stays under the call depth. */
  nesting: 400,
  /** Items in one sequence (array). */
  sequence: 100_000,
  /** The forwarded body, in UTF-8 bytes. */
  outputBytes: 256 * 1024,
  /** Any string built while evaluating, in UTF-16 units. */
  stringChars: 1024 * 1024,
  /** Items `$distinct` compares (each with every other: a few tens of milliseconds at most). */
  distinctItems: 5000,
  /** Comparisons of a `$sort` by value that cost one step (about the time of one). */
  sortComparisonsPerStep: 50,
  /** Characters of JSON text a copy (`~> |…|…|`, `$clone`) writes and reads back per step. */
  cloneCharsPerStep: 50,
  /**
   * Work of a regular expression per step: characters scanned times its program size (RE2
   * instructions). Linear is not cheap: `/[^,]{1000}/` over 250,000 characters took 3.7 s in one
   * step. About 15 µs a step at worst, so 50,000 steps of matching stay under a second.
   */
  regexWorkPerStep: 1000,
  /** Instructions of a regular expression compiled per step (compiling one of 700,000 took 0.3 s). */
  regexInstructionsPerStep: 20,
  /**
   * Values compared per step: an object's keys and an array's items, at every depth, of what `=`
   * and `!=` compare (JSONata lists and sorts an object's keys to compare it: one comparison of a
   * 20,000-key object took 16 ms), and of what `$distinct` compares with each item it keeps.
   */
  comparedValuesPerStep: 2,
  /** Keys of the objects `$merge`, `$keys` and `$spread` go through, per step (merging a 20,000-key object took 10 ms). */
  keysPerStep: 2,
  /**
   * Characters of a picture (`$fromMillis`, `$toMillis`, `$now`, `$formatNumber`, `$formatInteger`,
   * `$parseInteger`) per step: each call reads its picture through, about a microsecond a character
   * (a hundred calls with one of 200,000 took 12 s, charged as the string it is).
   */
  pictureCharsPerStep: 2,
  /**
   * Matches of a string pattern `$replace` may make per step, charged before it runs by the most it
   * could make: JSONata builds each match and its replacement (250,000 matches took 44 ms a call,
   * charged as its 750 steps of strings).
   */
  replacementsPerStep: 8,
  /** Of the value `$formatInteger` writes in Roman numerals, per step: JSONata recurses once per 1,000 of it (9,000,000 took 2 ms a call). */
  romanValuePerStep: 1000,
} as const;

/** Names the delivery layer sets, or that describe the body or connection. */
const RESERVED_HEADER = /^(content-type|content-length|content-encoding|host|connection|transfer-encoding|user-agent|(webhook|podium|edgehook)-.*)$/;
/**
 * Names the runtime's fetch never sends as given: the other hop-by-hop headers (RFC 9110 §7.6.1;
 * workerd drops `te`, `keep-alive` and `trailer`, and `upgrade: websocket` asks for a WebSocket)
 * and the two Cloudflare sets on a Worker's requests. Accepted, they were shown by the webhook test
 * as sent and never arrived.
 */
const UNSENDABLE_HEADER = /^(keep-alive|te|trailer|upgrade|proxy-connection|cf-connecting-ip|cf-worker)$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;

export function compileTransform(
  expr: string | null,
  headers: Record<string, string> = {},
): { ok: true; transform: CompiledTransform } | { ok: false; issues: TransformIssue[] } {
  const issues: TransformIssue[] = expr === null ? [] : [...checkExpression("transform", expr).issues];
  const names = Object.keys(headers);
  if (names.length > TRANSFORM_LIMITS.headers) {
    issues.push({ path: "transformHeaders", message: `at most ${TRANSFORM_LIMITS.headers} headers` });
  }
  const compiledHeaders: Record<string, string> = {};
  for (const name of names) {
    const path = `transformHeaders[${JSON.stringify(name)}]`;
    const lower = name.toLowerCase();
    if (!HEADER_NAME.test(lower)) issues.push({ path, message: "not a valid HTTP header name" });
    else if (RESERVED_HEADER.test(lower)) issues.push({ path, message: `${lower} is set by Edgehook and cannot be transformed` });
    else if (UNSENDABLE_HEADER.test(lower)) issues.push({ path, message: `${lower} is a header a Worker's request cannot send as given (hop-by-hop, or set by Cloudflare)` });
    else if (Object.hasOwn(compiledHeaders, lower)) issues.push({ path, message: `${lower} is given twice` });
    const source = headers[name] ?? "";
    const checked = checkExpression(path, source);
    issues.push(...checked.issues);
    const padded = checked.issues.length === 0 && checked.ast !== null ? paddedEnds(checked.ast) : null;
    if (padded) {
      issues.push({ path, message: `${lower}'s value ${padded} white space, which HTTP drops from around a header's value (it would be sent without it): remove it` });
    }
    const unsendable = checked.issues.length === 0 && checked.ast !== null ? unsendableCharacter(checked.ast) : null;
    if (unsendable) {
      issues.push({ path, message: `${lower}'s value always holds ${unsendable}, which no header value may carry (printable ASCII, a tab allowed): every delivery would fail` });
    }
    compiledHeaders[lower] = source;
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, transform: { body: expr, headers: compiledHeaders } };
}

/**
 * Whether every value of a header's expression (its parsed tree) starts or ends with white space: a string
 * literal, or a concatenation (`&`) that begins or ends with one, does. Checked when an expression
 * is written (compileTransform); delivery runs the stored one without it, so one stored before the
 * check keeps delivering (its values trimmed, as fetch would send them).
 */
function paddedEnds(ast: unknown): string | null {
  const end = (node: unknown, side: "lhs" | "rhs"): string | null => {
    while (isIndexable(node) && node.type === "binary" && node.value === "&") node = node[side];
    return isIndexable(node) && node.type === "string" && typeof node.value === "string" ? node.value : null;
  };
  const starts = /^[\t ]/.test(end(ast, "lhs") ?? "");
  const ends = /[\t ]$/.test(end(ast, "rhs") ?? "");
  return starts && ends ? "starts and ends with" : starts ? "starts with" : ends ? "ends with" : null;
}

/**
 * The first character no header value may carry (outside HEADER_VALUE: `é`, a NUL, a line break)
 * in a string literal every value of a header's expression holds (the expression, or a part of its
 * `&` concatenation), named by its code point (a credential's literal is not quoted), else null.
 * Such a value fails every delivery, so it is refused when written, as a padded one is.
 */
function unsendableCharacter(ast: unknown): string | null {
  const stack = [ast];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    if (!isIndexable(node)) continue;
    if (node.type === "binary" && node.value === "&") stack.push(node.rhs, node.lhs);
    else if (node.type === "string" && typeof node.value === "string" && !HEADER_VALUE.test(node.value)) {
      const bad = [...node.value].find((ch) => !HEADER_VALUE.test(ch)) ?? "";
      return `U+${(bad.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;
    }
  }
  return null;
}

export async function runTransform(
  compiled: CompiledTransform,
  body: string,
  opts: { maxSteps?: number; maxOutputBytes?: number } = {},
): Promise<TransformResult> {
  const maxSteps = opts.maxSteps ?? TRANSFORM_LIMITS.steps;
  const maxOutputBytes = opts.maxOutputBytes ?? TRANSFORM_LIMITS.outputBytes;
  const input = parseBody(body);

  let steps = 0;
  const failed = (where: string, f: Failure): TransformResult => ({ ...failure(where, f), steps });
  let sent = body;
  if (compiled.body !== null) {
    const result = await evaluate(compiled.body, input, maxSteps);
    steps += result.steps;
    if (!result.ok) return failed("transform", result);
    const out = serialize(result.value, maxOutputBytes);
    if (!out.ok) return failed("transform", out);
    sent = out.json;
  }

  const headers: Record<string, string> = {};
  for (const [name, source] of Object.entries(compiled.headers)) {
    const h = await evaluate(source, input, maxSteps);
    steps += h.steps;
    if (!h.ok) return failed(`transformHeaders["${name}"]`, isCredentialHeader(name) ? unquoted(h) : h);
    if (h.value === undefined) continue; // nothing matched: the header is not sent
    if (typeof h.value !== "string" && typeof h.value !== "number" && typeof h.value !== "boolean") {
      return failed(`transformHeaders["${name}"]`, quoting("the value is not a string, number or boolean (an object, an array or null is no header value)"));
    }
    // Trimmed of what fetch would drop, here where delivery and the webhook test both get their
    // values, so that the test shows what is sent.
    const value = trimHeaderSpace(String(h.value));
    if (value.length > TRANSFORM_LIMITS.headerValueChars || !HEADER_VALUE.test(value)) {
      return failed(`transformHeaders["${name}"]`, quoting(`not a valid header value (printable ASCII, at most ${TRANSFORM_LIMITS.headerValueChars} characters)`));
    }
    headers[name] = value;
  }
  return { ok: true, body: sent, headers, steps };
}

/** Why an expression failed: in full, and without the values of the event it quotes. */
interface Failure {
  reason: string;
  summary: string;
}

/** A failure whose message quotes no value. */
const quoting = (message: string): Failure => ({ reason: message, summary: message });

/**
 * A credential header's failure without JSONata's message, which quotes what it met, so the
 * header's write-only expression too (`$error('…')`, a literal that fails a cast): its code and
 * position (the summary) alone, to whoever may read the event as well.
 */
function unquoted(f: Failure): Failure {
  if (f.reason === f.summary) return f;
  return quoting(`${f.summary}; JSONata's message is not shown, as it may quote the expression of a credential header (write-only)`);
}

/** A failure is taken for permanent: the same event and expression fail again (but through $now(), $millis() or $random(), docs/filters-and-transforms.md), and retrying would only repeat it. */
function failure(where: string, f: Failure): Omit<Extract<TransformResult, { ok: false }>, "steps"> {
  return { ok: false, reason: `${where}: ${f.reason}`, summary: `${where}: ${f.summary}`, permanent: true };
}

/**
 * JSONata's typings ask for a whole `RegExpConstructor` as `RegexEngine` and a string as an
 * `assign` name; at run time it only calls `new RegexEngine(re)`, `lastIndex` and `exec`, and binds
 * any property key (its evaluation hooks are symbols). This view says what is really used.
 */
interface Evaluator {
  evaluate(input: unknown): Promise<unknown>;
  assign(name: string | symbol, value: unknown): void;
  registerFunction(name: string, implementation: (...args: unknown[]) => unknown, signature: string): void;
  ast(): unknown;
}
interface Jsonata {
  parse(
    source: string,
    options?: {
      // Given each literal's value: a RegExp, or a WrittenRegExp (parsingRe2), which JSONata's typings do not know.
      RegexEngine?: new (source: RegExp) => { lastIndex: number; exec(input: string): RegExpMatchLike | null };
      stack?: number;
      sequence?: number;
    },
  ): Evaluator;
}
const JSONATA: Jsonata = { parse: jsonata };

const TOO_DEEP = `the expression is nested too deeply: over ${TRANSFORM_LIMITS.nesting} levels`;
/**
 * `$eval` evaluates a string made while running: its regular expressions, nesting and the
 * operands charged by their size (walk) are not known when it is saved, and three ways through
 * its bounds ran the runtime out of memory or for seconds.
 */
const NO_EVAL = "$eval is not available in a transformation: it evaluates a string made while running, which cannot be checked when the expression is saved";
/**
 * A partial application (`$substring($big, ?, 1)`) holds its arguments, charged once when made, and
 * the built-in goes through them again at each call (a 200,000-character string: 22 s within the bound).
 */
const NO_PARTIAL = "partial application (a ? argument) is not available in a transformation: its held arguments would be worked through at each call uncharged; write a function instead";

/** The expression parsed, or BoundExceeded when it nests too deeply for the parser's stack. */
function parse(source: string, RegexEngine: new (source: RegexSource) => LinearRegExp = LinearRegExp): Evaluator {
  try {
    return parsingRe2(() => JSONATA.parse(source, { RegexEngine, stack: TRANSFORM_LIMITS.depth, sequence: TRANSFORM_LIMITS.sequence }));
  } catch (e) {
    // The parser recurses once per level.
    if (e instanceof RangeError) throw new BoundExceeded(TOO_DEEP);
    throw e;
  }
}

/** What is wrong with an expression as written, and its parsed tree (null when it does not parse within the bounds), for the checks that read it. */
function checkExpression(path: string, source: string): { issues: TransformIssue[]; ast: unknown } {
  const refused = (issue: TransformIssue) => ({ issues: [issue], ast: null });
  if (source.trim() === "") return refused({ path, message: "the expression is empty" });
  if (source.length > TRANSFORM_LIMITS.expressionChars) {
    return refused({ path, message: `the expression is ${source.length} characters; the limit is ${TRANSFORM_LIMITS.expressionChars}` });
  }
  let evaluator: Evaluator;
  try {
    evaluator = parse(source);
  } catch (e) {
    if (e instanceof BoundExceeded) return refused({ path, message: e.message });
    const err = jsonataError(e);
    return refused({ path, message: `${err.message} (at position ${err.position ?? 0})`, position: err.position ?? 0 });
  }
  const ast = evaluator.ast();
  const tree = walk(ast);
  // Checked on the saved expression only: one stored before the limit runs as it did, its
  // evaluator's call depth bounding it.
  if (tree.depth > TRANSFORM_LIMITS.nesting) return refused({ path, message: TOO_DEEP });
  const refusal = tree.refusals[0];
  if (refusal) return refused({ path, message: `${refusal.message} (at position ${refusal.position})`, position: refusal.position });
  // JSONata builds /…/ literals with RegExp (parsingRe2 keeps those it refuses as written); check now that RE2 can run them.
  const issues: TransformIssue[] = [];
  for (const node of tree.regexes) {
    try {
      new LinearRegExp(node.value);
    } catch (e) {
      const why = e instanceof Error ? e.message.replace(/^error parsing regexp: /, "") : String(e);
      issues.push({
        path,
        // As written: JSONata adds a `g` flag of its own.
        message: `the regular expression /${node.value.source}/${node.value.flags.replace("g", "")} is not supported (${why}): RE2 syntax, without lookaround or backreferences`,
        position: node.position,
      });
    }
  }
  return { issues, ast };
}

/**
 * An AST's depth in nodes (what the evaluator recurses on), its regular expressions in order, the
 * operands of its `=` and `!=` (whose values are charged as compared), what it takes the truth of
 * (charged as `chargeTruth` says), and the node each grouping
 * key belongs to, walked with a stack of its own (a recursive walk overflowed on deep ASTs).
 */
function walk(root: unknown): {
  depth: number;
  regexes: { value: RegexSource; position?: number }[];
  compared: Set<unknown>;
  booleanized: Set<unknown>;
  groupOf: Map<unknown, object>;
  refusals: { message: string; position: number }[];
} {
  const regexes: { value: RegexSource; position?: number }[] = [];
  const compared = new Set<unknown>();
  const booleanized = new Set<unknown>();
  const refusals: { message: string; position: number }[] = [];
  const groupOf = new Map<unknown, object>();
  const seen = new Set<object>();
  let depth = 0;
  const pending: [unknown, number][] = [[root, 0]];
  while (pending.length > 0) {
    const [node, above] = pending.pop()!;
    if (!isIndexable(node) || isRegexSource(node) || seen.has(node)) continue;
    seen.add(node);
    const level = "type" in node ? above + 1 : above;
    depth = Math.max(depth, level);
    if ("type" in node && node.type === "regex" && "value" in node && isRegexSource(node.value)) {
      regexes.push({ value: node.value, position: "position" in node && typeof node.position === "number" ? node.position : undefined });
    }
    // A grouping's keys, of `items{key: value}` or of an object constructor (which groups its input too).
    const pairs = isIndexable(node.group) ? node.group.lhs : node.type === "unary" && node.value === "{" ? node.lhs : null;
    if (Array.isArray(pairs)) for (const pair of pairs) if (Array.isArray(pair)) groupOf.set(pair[0], node);
    if (node.type === "binary" && (node.value === "=" || node.value === "!=")) {
      compared.add(node.lhs);
      compared.add(node.rhs);
    }
    // What JSONata takes the truth of: a condition, the operands of `and` and `or`, a predicate.
    if (node.type === "condition") booleanized.add(node.condition);
    if (node.type === "binary" && (node.value === "and" || node.value === "or")) {
      booleanized.add(node.lhs);
      booleanized.add(node.rhs);
    }
    if (node.type === "filter") booleanized.add(node.expr);
    const position = "position" in node && typeof node.position === "number" ? node.position : 0;
    if (node.type === "variable" && node.value === "eval") refusals.push({ message: NO_EVAL, position });
    if (node.type === "partial") refusals.push({ message: NO_PARTIAL, position });
    // Children in reverse, so that they come off the stack in order (issues are reported as written).
    for (const child of Object.values(node).reverse()) pending.push([child, level]);
  }
  return { depth, regexes, compared, booleanized, groupOf, refusals };
}

class BoundExceeded extends Error {}

const ENTRY = Symbol.for("jsonata.__evaluate_entry");
const EXIT = Symbol.for("jsonata.__evaluate_exit");

async function evaluate(
  source: string,
  input: unknown,
  maxSteps: number,
): Promise<({ ok: true; value: unknown } | ({ ok: false } & Failure)) & { steps: number }> {
  let steps = 0;
  try {
    const charge = (n: number) => {
      steps += n;
      if (steps > maxSteps) throw new BoundExceeded(`stopped after ${maxSteps} evaluation steps (an endless or too costly expression)`);
    };
    // A regular expression's work is charged as it goes, and one match that could do more than the
    // steps left is not started: a single match is one evaluation step, however long it runs.
    const regexSteps = (work: number) => Math.ceil(work / TRANSFORM_LIMITS.regexWorkPerStep);
    const engine = meteredRegExp({
      before: (work) => {
        if (steps + regexSteps(work) > maxSteps) {
          throw new BoundExceeded(`stopped: a regular expression's match could take more than the evaluation steps left (of ${maxSteps})`);
        }
      },
      after: (work) => charge(regexSteps(work)),
      compiled: (size) => charge(Math.ceil(size / TRANSFORM_LIMITS.regexInstructionsPerStep)),
    });
    // A fresh evaluator per run: the step counter above is this run's alone.
    const evaluator = parse(source, engine);
    const { compared, booleanized, groupOf, refusals } = walk(evaluator.ast());
    // One stored before these were refused (checkExpression) fails as it would be refused.
    const refusal = refusals[0];
    if (refusal) throw new BoundExceeded(refusal.message);
    // A grouping (`items{key: value}`) copies a key's whole group to add each item to it (JSONata's
    // append): 40,000 items under one key took 5.7 s, a step each. Each evaluation of a node that
    // groups counts its items by key, and an item costs the items its group already has.
    const groupings = new Map<unknown, Map<string, number>[]>();
    for (const node of groupOf.values()) groupings.set(node, []);
    const chargeCopies = fractionally(charge);
    evaluator.assign(ENTRY, (expr: unknown) => {
      charge(1);
      groupings.get(expr)?.push(new Map());
    });
    // Every value an expression gives is also what the next one works on: a built-in's work grows
    // with its arguments and its result (upper-casing a megabyte, printing an array of 100,000),
    // and each of those was the result of an expression. So a long string or array costs steps
    // by its size, wherever it flows, and no built-in repeated over big values escapes the bound.
    const chargeResult = (result: unknown) => {
      if (typeof result === "string") {
        if (result.length > TRANSFORM_LIMITS.stringChars) throw new BoundExceeded(`stopped: a string grew over ${TRANSFORM_LIMITS.stringChars} characters`);
        charge(Math.floor(result.length / TRANSFORM_LIMITS.charsPerStep));
      } else if (Array.isArray(result)) {
        charge(Math.floor(result.length / TRANSFORM_LIMITS.itemsPerStep));
        chargeStrings(result, charge);
      }
    };
    evaluator.assign(EXIT, (expr: unknown, _input: unknown, _env: unknown, result: unknown) => {
      chargeResult(result);
      // An operand of `=` or `!=` costs what comparing it may go through: a reference to an object
      // is one step, and comparing it with an equal copy walks (and sorts) all of it.
      if (compared.has(expr)) chargeValues(result, 1 / TRANSFORM_LIMITS.comparedValuesPerStep, charge);
      if (booleanized.has(expr)) chargeTruth(result, charge);
      groupings.get(expr)?.pop();
      const group = groupings.get(groupOf.get(expr))?.at(-1);
      // (A path gives its key as a sequence of one, unwrapped after this hook.)
      const key = Array.isArray(result) && result.length === 1 ? result[0] : result;
      if (group && typeof key === "string") {
        const items = group.get(key) ?? 0;
        group.set(key, items + 1);
        chargeCopies(items / TRANSFORM_LIMITS.itemsPerStep);
      }
    });
    await boundBuiltins(evaluator, charge, chargeResult, engine);
    return { ok: true, value: await evaluator.evaluate(input), steps };
  } catch (e) {
    if (e instanceof BoundExceeded) return { ok: false, ...quoting(e.message), steps };
    const err = jsonataError(e);
    const at = err.position === undefined ? "" : ` (at position ${err.position})`;
    // JSONata's messages quote the values they met (a review's text); its codes do not.
    return { ok: false, reason: `${err.message}${at}`, summary: `JSONata error ${err.code ?? "without a code"}${at}`, steps };
  }
}

/** A JSONata function value (what `$name` evaluates to): its JavaScript implementation, called with JSONata's `this`. */
function implementationOf(v: unknown): (self: unknown, args: unknown[]) => unknown {
  if (isIndexable(v) && typeof v.implementation === "function") {
    const f: unknown = v.implementation;
    if (typeof f === "function") return (self, args) => Reflect.apply(f, self, args);
  }
  throw new Error("not a JSONata function");
}

type Builtin = (self: unknown, args: unknown[]) => unknown;
/** JSONata's own implementation of each built-in wrapped here, by name, read once per isolate. */
const builtinsByName = new Map<string, Promise<Builtin>>();
const builtin = (name: string): Promise<Builtin> => {
  let found = builtinsByName.get(name);
  if (!found) builtinsByName.set(name, (found = JSONATA.parse(`$${name}`).evaluate({}).then(implementationOf)));
  return found;
};

/**
 * The built-ins whose work one step does not bound, each in front of its own bound and
 * charged to the run's steps for the work it does: `$pad` would build its whole string
 * (however wide) before the string bound sees it, and `$distinct` compares every item with
 * every other (100,000 items took 13 s).
 */
async function boundBuiltins(
  evaluator: Evaluator,
  charge: (steps: number) => void,
  chargeResult: (result: unknown) => void,
  Engine: new (source: RegexSource) => LinearRegExp,
): Promise<void> {
  const [pad, distinct, sort, string, merge, keys, spread, boolean, not, toMillis, fromMillis, now, formatNumber, formatInteger, parseInteger, replace] = await Promise.all([
    builtin("pad"),
    builtin("distinct"),
    builtin("sort"),
    builtin("string"),
    builtin("merge"),
    builtin("keys"),
    builtin("spread"),
    builtin("boolean"),
    builtin("not"),
    builtin("toMillis"),
    builtin("fromMillis"),
    builtin("now"),
    builtin("formatNumber"),
    builtin("formatInteger"),
    builtin("parseInteger"),
    builtin("replace"),
  ]);
  const chargePicture = (picture: unknown) => {
    if (typeof picture === "string") charge(Math.ceil(picture.length / TRANSFORM_LIMITS.pictureCharsPerStep));
  };
  // A function given to a built-in that calls it (`$map`'s, `$sort`'s comparator) reaches it as
  // JSONata's closure, and a built-in function so called (`$append`, `$string`) evaluates no
  // expression, so no hook charged it: `$sort([1..100000], $append)` ran the runtime out of memory
  // at 909 steps. Each call is charged as an expression is: a step, and its result by its size.
  const metered = (f: unknown, truth = false): unknown => {
    if (typeof f !== "function") return f;
    const call = async function (this: unknown, ...params: unknown[]) {
      charge(1);
      const result: unknown = await Reflect.apply(f, this, params);
      chargeResult(result);
      if (truth) chargeTruth(result, charge);
      return result;
    };
    // JSONata passes a callback as many arguments as its arity says (hofFuncArgs).
    return Object.assign(call, { arity: arityOf(f) });
  };
  for (const [name, signature, truth] of HIGHER_ORDER) {
    const implementation = await builtin(name);
    evaluator.registerFunction(
      name,
      function (this: unknown, ...args: unknown[]) {
        return implementation(this, args.map((arg) => metered(arg, truth)));
      },
      signature,
    );
  }
  // Plain functions, not arrows: JSONata calls a built-in with its own `this` (its focus).
  evaluator.registerFunction(
    "pad",
    function (this: unknown, ...args: unknown[]) {
      const [str, width, char] = args;
      // (The signature has made `width` a number and `char` a string.) JSONata joins copies of `char` before it trims them.
      const built = str !== undefined && typeof width === "number" ? Math.abs(width) * Math.max(1, typeof char === "string" ? char.length : 1) : 0;
      if (built > TRANSFORM_LIMITS.stringChars) {
        throw new BoundExceeded(`stopped: $pad to ${width} characters is over ${TRANSFORM_LIMITS.stringChars}`);
      }
      charge(Math.ceil(built / 1000));
      return pad(this, args);
    },
    "<s-ns?:s>",
  );
  evaluator.registerFunction(
    "distinct",
    function (this: unknown, ...args: unknown[]) {
      const [items] = args;
      if (Array.isArray(items)) {
        if (items.length > TRANSFORM_LIMITS.distinctItems) {
          throw new BoundExceeded(`stopped: $distinct of ${items.length} items is over ${TRANSFORM_LIMITS.distinctItems}`);
        }
        charge(Math.ceil((items.length * items.length) / 1000));
        // Each item may be compared with every one kept, and comparing objects or arrays goes
        // through all their values (5,000 objects of 8 keys took 11 s, charged as 5,000 numbers).
        for (const item of items) chargeValues(item, items.length / TRANSFORM_LIMITS.comparedValuesPerStep, charge);
      }
      return distinct(this, args);
    },
    "<x:x>",
  );
  evaluator.registerFunction(
    "sort",
    function (this: unknown, ...args: unknown[]) {
      const [items, comparator] = args;
      // JSONata's merge sort copies the rest of a run at each comparison: quadratic in time and
      // memory (10,000 numbers took 0.2 s and 100 MB; 100,000 exhausted the isolate's memory), and
      // its default comparison is no evaluation step. A sort by value is done here in n log n and
      // charged by its comparisons; with a comparator function each call is charged already.
      if (comparator === undefined && Array.isArray(items) && items.length > 1) {
        const numbers = items.every((x) => typeof x === "number");
        if (numbers || items.every((x) => typeof x === "string")) {
          charge(Math.ceil((items.length * Math.log2(items.length)) / TRANSFORM_LIMITS.sortComparisonsPerStep));
          // Stable and ascending, as JSONata's (it moves an item only past a greater one).
          return [...items].sort((a, b) => (a > b ? 1 : a < b ? -1 : 0));
        }
      }
      return sort(this, [items, metered(comparator)]);
    },
    "<af?:a>",
  );
  // These go through every key of the objects they are given, and an object costs nothing by its
  // size as it flows (a string or an array does): a thousand merges of a 20,000-key body took 10 s.
  // `$boolean` and `$not` list an object's keys to take its truth, however they are reached (`$b := $boolean`).
  for (const [name, builtin, signature, charged] of [
    ["merge", merge, "<a<o>:o>", chargeKeys],
    ["keys", keys, "<x-:a<s>>", chargeKeys],
    ["spread", spread, "<x-:a<o>>", chargeKeys],
    ["boolean", boolean, "<x-:b>", chargeTruth],
    ["not", not, "<x-:b>", chargeTruth],
  ] as const) {
    evaluator.registerFunction(
      name,
      function (this: unknown, ...args: unknown[]) {
        charged(args[0], charge);
        return builtin(this, args);
      },
      signature,
    );
  }
  // `$toMillis` with a picture matches the timestamp with a RegExp it builds from the picture, which
  // backtracks: `[Y]1[M]1[D]` over 4,000 digits took 28 s in one call, five such parts over 200 took
  // 34 s. JSONata builds and runs it within this synchronous call, so for the call the RegExp
  // constructor gives this run's RE2 engine (linear, and charged as a regular expression literal is).
  evaluator.registerFunction(
    "toMillis",
    function (this: unknown, ...args: unknown[]) {
      if (args[1] === undefined) return toMillis(this, args);
      chargePicture(args[1]);
      return withRegExp(
        function (source: string, flags?: string) {
          return new Engine(new NativeRegExp(source, flags));
        },
        () => toMillis(this, args),
      );
    },
    "<s-s?:n>",
  );
  // The others that read a picture: each call costs its picture's length.
  for (const [name, builtin, signature, at] of [
    ["fromMillis", fromMillis, "<n-s?s?:s>", 1],
    ["now", now, "<s?s?:s>", 0],
    ["formatNumber", formatNumber, "<n-so?:s>", 1],
    ["parseInteger", parseInteger, "<s-s:n>", 1],
  ] as const) {
    evaluator.registerFunction(
      name,
      function (this: unknown, ...args: unknown[]) {
        chargePicture(args[at]);
        return builtin(this, args);
      },
      signature,
    );
  }
  // Roman numerals (a picture `I` or `i`) cost by their value too: JSONata recurses once per 1,000 of it.
  evaluator.registerFunction(
    "formatInteger",
    function (this: unknown, value: unknown, picture: unknown) {
      chargePicture(picture);
      if (typeof value === "number" && typeof picture === "string" && /^[iI]/.test(picture)) {
        charge(Math.ceil(Math.abs(value) / TRANSFORM_LIMITS.romanValuePerStep));
      }
      return formatInteger(this, [value, picture]);
    },
    "<n-s:s>",
  );
  // A string pattern's matches are no steps (a regular expression's each cost at least one).
  evaluator.registerFunction(
    "replace",
    function (this: unknown, ...args: unknown[]) {
      const [str, pattern] = args;
      if (typeof str === "string" && typeof pattern === "string" && pattern !== "") {
        charge(Math.floor(str.length / pattern.length / TRANSFORM_LIMITS.replacementsPerStep));
      }
      return replace(this, args);
    },
    "<s-(sf)(sf)n?:s>",
  );
  // The transform operator (`$ ~> |path|update|`) copies its whole input with `$clone`, which
  // JSONata does through the JSON text of it: an object costs nothing by its size otherwise, and a
  // body copied once per item of its own array took seconds and ran out of memory. As JSONata's
  // own (the text its $string writes, parsed back), charged by the text's length.
  evaluator.registerFunction(
    "clone",
    function (this: unknown, ...args: unknown[]) {
      const [value] = args;
      if (value === undefined) return undefined;
      checkTextWithin(value, TRANSFORM_LIMITS.stringChars, "a copy");
      const text = string(this, [value]);
      if (typeof text !== "string") return undefined;
      charge(Math.ceil(text.length / TRANSFORM_LIMITS.cloneCharsPerStep));
      return JSON.parse(text);
    },
    "<(oa)-:o>",
  );
  // `$string` of a value writes its whole JSON text before the string bound sees it.
  evaluator.registerFunction(
    "string",
    function (this: unknown, ...args: unknown[]) {
      const [value] = args;
      if (value !== undefined && typeof value !== "string") checkTextWithin(value, TRANSFORM_LIMITS.stringChars, "a text");
      return string(this, args);
    },
    "<x-b?:s>",
  );
}

/**
 * The built-ins that call a function they are given, with JSONata's signatures for them (its
 * `staticFrame`), and whether they take the truth of what it answers; `$sort` is bound apart.
 */
const HIGHER_ORDER: readonly (readonly [string, string, boolean])[] = [
  ["map", "<af>", false],
  ["filter", "<af>", true],
  ["single", "<af?>", true],
  ["reduce", "<afj?:j>", false],
  ["sift", "<o-f?:o>", true],
  ["each", "<o-f:a>", false],
];

/**
 * Charges taking the truth of a value as JSONata does it: an object's keys are listed (a check of
 * one of 16,000 keys took ~2 ms, and a thousand checks of the event's body were charged as 4,000
 * steps), an array's items are each taken, so many keys cost a step as `$keys` does.
 */
function chargeTruth(value: unknown, charge: (steps: number) => void): void {
  chargeKeys(value, charge, 1 / TRANSFORM_LIMITS.itemsPerStep);
}

/** The arity JSONata gave a function it hands on (its closure's `arity`), else the function's own length. */
function arityOf(f: { readonly length: number }): number {
  const arity: unknown = Reflect.get(f, "arity");
  return typeof arity === "number" ? arity : f.length;
}

/**
 * Charges `perValue` steps for each value in `value` at every depth (an object's keys, an array's
 * items) as it counts them, so the count stops where the steps run out. A function's insides are
 * not a value.
 */
function chargeValues(value: unknown, perValue: number, charge: (steps: number) => void): void {
  const owe = fractionally(charge);
  const pending = [value];
  while (pending.length > 0) {
    const v = pending.pop();
    if (!isIndexable(v) || isFunction(v)) continue;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      owe(perValue);
      pending.push(child);
    }
  }
}

/**
 * Charges the characters of the strings in an array (and in arrays in it), as a string result's
 * are: a built-in a higher-order function applies (`$map($a, $uppercase)`) gives its strings
 * without passing the hook above, and an array of 64 references to one string of 1,000,000
 * characters (six `$append`s of itself) mapped so made 64 new strings, 128 MB, in ~4,000 steps.
 */
function chargeStrings(items: unknown[], charge: (steps: number) => void): void {
  const owe = fractionally(charge);
  const pending = [items];
  while (pending.length > 0) {
    for (const v of pending.pop()!) {
      if (typeof v === "string") owe(v.length / TRANSFORM_LIMITS.charsPerStep);
      else if (Array.isArray(v)) {
        owe(v.length / TRANSFORM_LIMITS.itemsPerStep);
        pending.push(v);
      }
    }
  }
}

/**
 * Charges the keys of the objects in `value` (it, or the items of an array, of arrays in it too), as
 * `$merge`, `$keys` and `$spread` go through them, and `perItem` for each item of an array.
 */
function chargeKeys(value: unknown, charge: (steps: number) => void, perItem = 0): void {
  const owe = fractionally(charge);
  const pending = [value];
  while (pending.length > 0) {
    const v = pending.pop();
    if (Array.isArray(v)) {
      owe(v.length * perItem);
      // An array's items one by one: spread into push(), a long one passes the arguments a call takes.
      for (const item of v) pending.push(item);
    } else if (isIndexable(v) && !isFunction(v)) owe(Object.keys(v).length / TRANSFORM_LIMITS.keysPerStep);
  }
}

/** `charge` taking fractions of a step: whole steps are charged as the fractions add up to them. */
function fractionally(charge: (steps: number) => void): (part: number) => void {
  let owed = 0;
  return (part) => {
    owed += part;
    if (owed < 1) return;
    const whole = Math.floor(owed);
    owed -= whole;
    charge(whole);
  };
}

/**
 * Stops, as it is written, the JSON text of a value that would pass `limit` characters: a value
 * that shares one object many times is cheap to build, and its text doubles with each level
 * (depth 30 ran for minutes; JSONata's $string and its copy write it whole). Functions count as
 * what $string writes for them, "".
 */
function checkTextWithin(value: unknown, limit: number, what: string): void {
  JSON.stringify(value, boundedWriting(limit, `stopped: ${what} would be over ${limit} characters`, () => ""));
}

/**
 * A JSON.stringify replacer that stops the writing (BoundExceeded, `over`) once about `limit`
 * characters are written, keys and strings by their length, anything else as one; a function is
 * written as `asFunction` says.
 */
function boundedWriting(limit: number, over: string, asFunction: () => unknown) {
  let budget = limit;
  return (key: string, v: unknown): unknown => {
    budget -= key.length + (typeof v === "string" ? v.length : 1);
    if (budget < 0) throw new BoundExceeded(over);
    return isFunction(v) ? asFunction() : v;
  };
}

/** JSONata throws plain objects `{code, position, message}`; anything else is reported by its message. */
function jsonataError(e: unknown): { message: string; code?: string; position?: number } {
  if (!isIndexable(e)) return { message: String(e) };
  const message = "message" in e && typeof e.message === "string" ? e.message : String(e);
  const code = "code" in e && typeof e.code === "string" ? e.code : undefined;
  const position = "position" in e && typeof e.position === "number" ? e.position : undefined;
  // JSONata's D2015 names the length it refused where it means the bound ("maximum sequence length of 100001").
  if (code === "D2015") return { message: `${code}: a sequence grew over ${TRANSFORM_LIMITS.sequence} items`, code, position };
  return { message: code === undefined ? message : `${code}: ${message}`, code, position };
}

/**
 * JSON text of the result, within `maxBytes`. The replacer counts as it goes, so a result that
 * shares one object many times (small in memory, huge as text) is refused before it is written.
 */
function serialize(value: unknown, maxBytes: number): { ok: true; json: string } | ({ ok: false } & Failure) {
  if (value === undefined) return { ok: false, ...quoting("the expression produced nothing for this event") };
  let json: string;
  const writing = boundedWriting(maxBytes, `the result is over ${maxBytes} bytes`, () => {
    throw new BoundExceeded("the result contains a function, which is not JSON");
  });
  try {
    json = JSON.stringify(value, (key: string, v: unknown) => {
      // JSON has no Infinity or NaN (`a / 0`): JSON.stringify would send null in its place, unsaid.
      if (typeof v === "number" && !Number.isFinite(v)) throw new BoundExceeded(`the result contains the number ${v}, which is not JSON`);
      return writing(key, v);
    });
  } catch (e) {
    // The runtime's message may name the result's keys.
    if (e instanceof BoundExceeded) return { ok: false, ...quoting(e.message) };
    // The writer recurses: a result as deep as a deep event runs out of stack, which is no fault of JSON.
    if (e instanceof RangeError) return { ok: false, ...quoting("the result is nested too deeply to write as JSON") };
    return { ok: false, reason: `the result is not JSON (${String(e)})`, summary: "the result is not JSON" };
  }
  const bytes = utf8Length(json);
  if (bytes > maxBytes) return { ok: false, ...quoting(`the result is ${bytes} bytes; the limit is ${maxBytes}`) };
  return { ok: true, json };
}

/** JSONata lambdas and built-in functions are objects marked as such, not JS functions. */
function isFunction(v: unknown): boolean {
  if (typeof v === "function") return true;
  return isIndexable(v) && ("_jsonata_lambda" in v || "_jsonata_function" in v);
}
