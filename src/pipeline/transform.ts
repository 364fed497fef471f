/**
 * Transformations: a webhook's `transform` is a JSONata expression evaluated with the event's
 * parsed body as input; its result, as JSON, is the body forwarded. `transformHeaders` maps header
 * names to JSONata expressions giving their values.
 *
 * Bounds. Deployed Workers do not advance `Date.now()` while code runs, so JSONata's own
 * `timeout` would never fire there: evaluation is bounded by a count of evaluation steps instead,
 * one count for a run's body and header expressions together (TRANSFORM_LIMITS.steps), which
 * also makes the outcome deterministic (the same event fails the same way on every attempt, so a
 * failure is permanent). Recursion depth, sequence length, intermediate string length and the
 * serialized output are bounded too, and regular expressions run on RE2 (linear time). A saved
 * expression's parse tree nests at most TRANSFORM_LIMITS.nesting levels.
 */
import { isCredentialHeader } from "../domain/credential-headers";
import { utf8Length } from "../domain/crypto";
import { parseBody } from "../domain/documents";
import { isIndexable } from "../domain/guards";
import { codePoint } from "../domain/legible";
import { CONNECTION_HEADERS } from "../http/connection-headers";
import { trimHeaderSpace } from "../http/header-space";
import { checkExpression, type TransformIssue } from "./jsonata-check";
import { boundedWriting } from "./jsonata-builtins";
import { evaluate, quoting, type Failure } from "./jsonata-meter";
import { BoundExceeded, TRANSFORM_LIMITS } from "./transform-limits";

export { TRANSFORM_LIMITS };

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

/** Names the delivery layer sets, or that describe the body or connection. */
const RESERVED_HEADER = /^(content-type|content-length|content-encoding|host|connection|transfer-encoding|user-agent|(webhook|podium|edgehook)-.*)$/;
/**
 * Names the runtime's fetch never sends as given: the connection's headers (CONNECTION_HEADERS; workerd
 * drops `te`, `keep-alive` and `trailer`, and `upgrade: websocket` asks for a WebSocket) and the two
 * Cloudflare sets on a Worker's requests. Accepted, they were shown by the webhook test as sent and never arrived.
 */
const unsendableHeader = (name: string) => CONNECTION_HEADERS.has(name) || name === "cf-connecting-ip" || name === "cf-worker";
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;

export function compileTransform(
  expr: string | null,
  headers: Record<string, string> = {},
): { ok: true; transform: CompiledTransform } | { ok: false; issues: TransformIssue[] } {
  // What all its regular expression literals may compile to, as checking them compiles each.
  const compiling = { used: 0 };
  const issues: TransformIssue[] = expr === null ? [] : [...checkExpression("transform", expr, compiling).issues];
  const given = Object.keys(headers);
  // Past the limit the save is refused for the count: the headers after it are not checked (a 64 KiB
  // body of thousands of one-line headers parsed each, over a second, to report one issue).
  const names = given.slice(0, TRANSFORM_LIMITS.headers);
  if (given.length > TRANSFORM_LIMITS.headers) {
    issues.push({ path: "transformHeaders", message: `at most ${TRANSFORM_LIMITS.headers} headers (${given.length} given; those after the first ${TRANSFORM_LIMITS.headers} are not checked)` });
  }
  const compiledHeaders: Record<string, string> = {};
  for (const name of names) {
    const path = `transformHeaders[${JSON.stringify(name)}]`;
    const lower = name.toLowerCase();
    if (!HEADER_NAME.test(lower)) issues.push({ path, message: "not a valid HTTP header name" });
    else if (RESERVED_HEADER.test(lower)) issues.push({ path, message: `${lower} is set by Edgehook and cannot be transformed` });
    else if (unsendableHeader(lower)) issues.push({ path, message: `${lower} is a header a Worker's request cannot send as given (hop-by-hop, or set by Cloudflare)` });
    else if (Object.hasOwn(compiledHeaders, lower)) issues.push({ path, message: `${lower} is given twice` });
    const source = headers[name] ?? "";
    const checked = checkExpression(path, source, compiling);
    issues.push(...checked.issues);
    const parts = checked.issues.length === 0 && checked.ast !== null ? concatenated(checked.ast) : [];
    const padded = paddedEnds(parts);
    if (padded) {
      issues.push({ path, message: `${lower}'s value ${padded} white space, which HTTP drops from around a header's value (it would be sent without it): remove it` });
    }
    const unsendable = unsendableCharacter(parts);
    if (unsendable) {
      issues.push({ path, message: `${lower}'s value always holds ${unsendable}, which no header value may carry (printable ASCII, a tab allowed): every delivery would fail` });
    }
    const least = parts.reduce<number>((n, part) => n + (literal(part)?.length ?? 0), 0);
    if (least > TRANSFORM_LIMITS.headerValueChars) {
      issues.push({ path, message: `${lower}'s value always has at least ${least} characters, past a header value's ${TRANSFORM_LIMITS.headerValueChars}: every delivery would fail` });
    }
    compiledHeaders[lower] = source;
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, transform: { body: expr, headers: compiledHeaders } };
}

/**
 * The parts a header's expression (its parsed tree) concatenates, in order: the operands of its `&`
 * chain, a parenthesised block standing for its last expression. Every value holds each string
 * literal among them, which compileTransform checks when an expression is written; delivery runs
 * a stored one without these checks, so one stored before them keeps delivering (trimmed, as fetch sends it).
 */
function concatenated(ast: unknown): unknown[] {
  const parts: unknown[] = [];
  const stack = [ast];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    if (plain(node) && node.type === "block" && Array.isArray(node.expressions) && node.expressions.length > 0) stack.push(node.expressions.at(-1));
    else if (plain(node) && node.type === "binary" && node.value === "&") stack.push(node.rhs, node.lhs);
    else parts.push(node);
  }
  return parts;
}

/** A node whose value is what it says: no predicate (`('é')[false]` is nothing), stages or grouping applied to it. */
function plain(node: unknown): node is Record<string, unknown> {
  return isIndexable(node) && node.predicate === undefined && node.stages === undefined && node.group === undefined;
}

/** A plain string literal's text, else null. */
function literal(node: unknown): string | null {
  return plain(node) && node.type === "string" && typeof node.value === "string" ? node.value : null;
}

/** Whether every value starts or ends with white space: its first or last part is a literal that does. */
function paddedEnds(parts: unknown[]): string | null {
  const starts = /^[\t ]/.test(literal(parts[0]) ?? "");
  const ends = /[\t ]$/.test(literal(parts.at(-1)) ?? "");
  return starts && ends ? "starts and ends with" : starts ? "starts with" : ends ? "ends with" : null;
}

/**
 * The first character no header value may carry (outside HEADER_VALUE: `é`, a NUL, a line break)
 * in a literal every value holds, named by its code point (a credential's literal is not quoted), else null.
 */
function unsendableCharacter(parts: unknown[]): string | null {
  for (const text of parts.map(literal)) {
    if (text !== null && !HEADER_VALUE.test(text)) return codePoint([...text].find((ch) => !HEADER_VALUE.test(ch)) ?? "");
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
    const result = await evaluate(compiled.body, input, maxSteps, steps);
    steps += result.steps;
    if (!result.ok) return failed("transform", result);
    const out = serialize(result.value, maxOutputBytes);
    if (!out.ok) return failed("transform", out);
    sent = out.json;
  }

  const headers: Record<string, string> = {};
  for (const [name, source] of Object.entries(compiled.headers)) {
    // One budget for the run: each header gets what the body and the headers before it left
    // (each its own was 11 × 50,000 steps an attempt, seconds of CPU).
    const h = await evaluate(source, input, maxSteps, steps);
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
