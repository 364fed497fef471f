/**
 * A JSONata expression as written: parsed with RE2 for its regular expressions and within the
 * nesting bound, and walked for what saving it refuses (`$eval`, partial application, a regular
 * expression RE2 cannot run) and what evaluating it charges by size (jsonata-meter.ts).
 */
import jsonata from "jsonata";
import { isIndexable } from "../domain/guards";
import { REPETITIONS_COUNT } from "../domain/regex-size";
import { isRegexSource, LinearRegExp, parsingRe2, programBound, type RegExpMatchLike, type RegexSource } from "./linear-regexp";
import { BoundExceeded, TRANSFORM_LIMITS } from "./transform-limits";

export interface TransformIssue {
  /** `transform`, or `transformHeaders["x-name"]`. */
  path: string;
  message: string;
  /** Character offset in the expression, for syntax errors. */
  position?: number;
}

/**
 * JSONata's typings ask for a whole `RegExpConstructor` as `RegexEngine` and a string as an
 * `assign` name; at run time it only calls `new RegexEngine(re)`, `lastIndex` and `exec`, and binds
 * any property key (its evaluation hooks are symbols). This view says what is really used.
 */
export interface Evaluator {
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
export const JSONATA: Jsonata = { parse: jsonata };

/**
 * An operand JSONata's error quotes as JSON when the operator refuses its value (D1002, T1003,
 * T2011, T2012): the operand of `-`, an object constructor's or grouping's key, a transform's
 * update and delete clauses (each also applied to every match).
 */
export type QuotedOperand = "negated" | "key" | "update" | "deleted";

/** Each check of a path's length and its bound names, as refused. */
const TOO_LONG = (steps: number) => `a path of ${steps} steps is over the limit of ${TRANSFORM_LIMITS.pathSteps}: JSONata's parser goes through a path's steps again at each one`;
const TOO_MANY_BINDINGS = `a path binds over ${TRANSFORM_LIMITS.bindings} names with %, # and @: each of its steps copies all of them for each item`;
/** JSONata binds each of a lambda's parameters in a new frame at each call (~26 ns each in workerd). */
const TOO_MANY_PARAMETERS = (n: number) =>
  `a function of ${n} parameters is over the limit of ${TRANSFORM_LIMITS.lambdaParameters}: JSONata binds every one of them at each call`;
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

/**
 * What JSONata reads of its options as it evaluates: the regular expression engine as each evaluation
 * starts, the call depth (`depth.stack`) at each check, so a caller may move it as it evaluates. Read
 * through this object, which a caller may point at each run's own (jsonata-meter.ts reuses a parse).
 */
export interface RunOptions {
  RegexEngine: new (source: RegexSource) => LinearRegExp;
  depth: { stack: number };
}

/** Options of no run in particular: the unmetered engine and JSONata's call depth. */
export const unmeteredRun = (): RunOptions => ({ RegexEngine: LinearRegExp, depth: { stack: TRANSFORM_LIMITS.depth } });

/** The expression parsed, or BoundExceeded when it nests too deeply for the parser's stack. */
export function parse(source: string, run: RunOptions = unmeteredRun()): Evaluator {
  const options = {
    sequence: TRANSFORM_LIMITS.sequence,
    get RegexEngine() {
      return run.RegexEngine;
    },
    get stack() {
      return run.depth.stack;
    },
  };
  try {
    return parsingRe2(() => copyingAtMost(TRANSFORM_LIMITS.parseCopiedChars, () => JSONATA.parse(source, options)));
  } catch (e) {
    // The parser recurses once per level.
    if (e instanceof RangeError) throw new BoundExceeded(TOO_DEEP);
    throw e;
  }
}

const TOO_MUCH_COPIED = `the expression copies over ${TRANSFORM_LIMITS.parseCopiedChars} characters as it is parsed: JSONata copies the left operand of each ?? and ?:, so each nested on the left doubles it`;

/**
 * `parse()` with JSON.stringify counting what it writes, and stopping past `bound` characters: JSONata's
 * parser copies with it (the left operand of `??` and `?:`), exponentially when nested. `parse` is
 * synchronous, so nothing else meets the replacement.
 */
function copyingAtMost<T>(bound: number, parse: () => T): T {
  const stringify = JSON.stringify;
  let copied = 0;
  const counting = (...args: unknown[]): unknown => {
    const text: unknown = Reflect.apply(stringify, JSON, args);
    copied += typeof text === "string" ? text.length : 0;
    if (copied > bound) throw new BoundExceeded(TOO_MUCH_COPIED);
    return text;
  };
  // Not a JSON.stringify (its overloads), so set as the property it is.
  if (!Reflect.set(JSON, "stringify", counting)) throw new Error("JSON.stringify could not be replaced");
  try {
    return parse();
  } finally {
    JSON.stringify = stringify;
  }
}

/**
 * Why a regular expression literal is refused for the program it could compile to (read from its
 * text: it is not compiled), else null. Refused when saved, and a stored one fails when run.
 */
export function programRefusal(regex: { value: RegexSource; position?: number }): string | null {
  const openings = regex.value.source.split("[:").length - 1;
  if (openings > TRANSFORM_LIMITS.regexClassOpenings) {
    return `the regular expression ending at position ${regex.position ?? 0} holds ${openings} "[:"; the limit is ${TRANSFORM_LIMITS.regexClassOpenings}: RE2 looks for a class name's ":]" through the rest of the pattern at each`;
  }
  const bound = programBound(regex.value);
  if (bound <= TRANSFORM_LIMITS.regexProgram) return null;
  return `the regular expression ending at position ${regex.position ?? 0} compiles to up to ${bound} RE2 instructions, ${REPETITIONS_COUNT}; the limit is ${TRANSFORM_LIMITS.regexProgram}`;
}

/**
 * What is wrong with an expression as written, and its parsed tree (null when it does not parse
 * within the bounds), for the checks that read it. `compiling`: the instructions (bounds) of the
 * literals checked so far, shared by a transformation's expressions (each literal is compiled to check it).
 */
export function checkExpression(
  path: string,
  source: string,
  compiling: { used: number } = { used: 0 },
): { issues: TransformIssue[]; ast: unknown } {
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
    // Refused from its text, before compiling it costs what it would.
    const tooLarge = programRefusal(node);
    if (tooLarge) {
      issues.push({ path, message: tooLarge, position: node.position });
      continue;
    }
    compiling.used += programBound(node.value);
    if (compiling.used > TRANSFORM_LIMITS.regexPrograms) {
      issues.push({
        path,
        message: `with the regular expression ending at position ${node.position ?? 0}, the transformation's regular expressions compile to up to ${compiling.used} RE2 instructions together; the limit for all of them is ${TRANSFORM_LIMITS.regexPrograms}`,
        position: node.position,
      });
      break;
    }
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
 * What evaluating one node costs besides its step (jsonata-meter.ts charges it), by the places
 * walk found it in: one record per node, so that the evaluator's hooks look a node up once.
 */
interface NodeCharges {
  /** An operand of `=` or `!=`: its value charged as compared. */
  compared?: true;
  /** What JSONata takes the truth of (a condition, an operand of `and`/`or`, a predicate): chargeTruth. */
  booleanized?: true;
  /** An operand of `&`: written as text when not a string. */
  joined?: true;
  /** An object or array constructor, a grouping (`[a]{k: v}` is both) or a transform (a function made anew): its steps at each evaluation besides its own. */
  constructed?: number;
  /**
   * Names its evaluation looks up through the frames out from its own: a variable (a function called by
   * name too) or a parent step `%`, one; a transform's pattern, evaluated just after `clone` is looked up, one more.
   */
  lookups?: number;
  /** A path step an order-by follows: what it gives is what the sort copies (sortCopies). */
  feedsSort?: object;
  /** A path's order-by steps: their counts of items given start again when it ends. */
  sorts?: object[];
  /** A grouping with keys: it counts its items by key at each evaluation. */
  grouping?: true;
  /** A grouping's key: the grouping it belongs to. */
  group?: object;
  /**
   * A grouping's key over a tuple stream (its path binds names): JSONata appends each item's tuple
   * to its group, then each name's value to those before it, out of the evaluator's sight.
   */
  groupsTuples?: true;
  /** Evaluated side by side with its siblings: an array constructor's item, an object constructor's or grouping's value. */
  sideBySide?: true;
  /** An item an array constructor appends (no array constructor itself): how many items that constructor appends. */
  appended?: number;
  /** A step of a path that carries bound names: how many its tuples carry. */
  tupleNames?: number;
  /** Number predicates and index stages JSONata applies at each evaluation without evaluating a node (predicatesPerStep); a path's, its sort steps'. */
  predicates?: number;
  /** An operand whose value JSONata's error quotes in full when it refuses it. */
  quoted?: QuotedOperand;
  /** A lambda whose signature types an array's items (`a<n>`): JSONata checks each item of such an argument at each call (typesArrayItems). */
  typedArrays?: true;
}

/**
 * A signature's parameters as JSONata's parseSignature reads its text: each symbol up to the
 * answer's type (`:`), a subtype (`<…>`, given to the type before it) as one `<` and a choice of
 * types (`(sn)`, which holds no subtype) as one `(`.
 */
function parameterSymbols(definition: string): string[] {
  const symbols: string[] = [];
  // Past the bracket that closes the one at `at`, counting depth (JSONata's findClosingBracket).
  const closing = (at: number, open: string, close: string) => {
    for (let depth = 1; depth > 0 && ++at < definition.length; ) depth += definition.charAt(at) === open ? 1 : definition.charAt(at) === close ? -1 : 0;
    return at;
  };
  for (let at = 1; at < definition.length; at++) {
    const symbol = definition.charAt(at);
    if (symbol === ":") break;
    if (symbol === "<") at = closing(at, "<", ">");
    else if (symbol === "(") at = closing(at, "(", ")");
    symbols.push(symbol);
  }
  return symbols;
}

/**
 * What a signature may be written with: JSONata puts a choice's text (`(sn)`) into its regular
 * expression as it stands, so `]` there would open the rest to any pattern (`(n]([n]+)+[s)`: 28 s a call).
 */
const SIGNATURE_TEXT = /^<[snbloafjx?+\-:<>() ]*>$/;

/** A parameter's symbol in parameterSymbols: a type, or a choice of types. */
const PARAMETER_TYPES = "snbloafjx(";

/**
 * Whether JSONata's check of a call's arguments against a lambda's signature goes through every item
 * of one: an array's items typed (`a<n>`, `a<s>`), the subtype given to the last type before it. The
 * other checks (`x`, `j`, `o`, a plain `a`, a function's subtype) look at the argument alone, and a
 * context taken for a missing argument (`-`) is not checked item by item.
 */
export function typesArrayItems(definition: string): boolean {
  let last = "";
  for (const symbol of parameterSymbols(definition)) {
    if (symbol === "<" && last === "a") return true;
    if (PARAMETER_TYPES.includes(symbol)) last = symbol;
  }
  return false;
}

/**
 * Why a lambda's signature is refused, else null. JSONata checks a call's arguments with one native
 * regular expression built from it, a group a parameter, and each optional (`?`, `-`) or repeated
 * (`+`) one doubles the ways it tries before it fails (or, repeated, multiplies them by the
 * arguments): 30 optional parameters and one argument too many held the runtime ~5 s a call.
 */
function signatureRefusal(definition: string): string | null {
  const shown = definition.length > 80 ? `${definition.slice(0, 79)}…` : definition;
  if (!SIGNATURE_TEXT.test(definition)) {
    return `the signature ${shown} holds a character JSONata's signatures do not have: write it with the types s n b l o a f j x and ? + - : < > ( )`;
  }
  const symbols = parameterSymbols(definition);
  // Each a group of that expression; a call refused has JSONata compile one more for each, each longer
  // (2,697 parameters: 2-3 s a call until V8 caches them).
  const parameters = symbols.filter((s) => PARAMETER_TYPES.includes(s)).length;
  if (parameters > TRANSFORM_LIMITS.lambdaParameters) {
    return `the signature ${shown} has ${parameters} parameters; the limit is ${TRANSFORM_LIMITS.lambdaParameters}: JSONata checks a call's arguments against each in turn`;
  }
  const repeated = symbols.filter((s) => s === "+").length;
  const optional = symbols.filter((s) => s === "?" || s === "-").length;
  if (repeated <= TRANSFORM_LIMITS.signatureRepeated && optional <= TRANSFORM_LIMITS.signatureOptional) return null;
  return (
    `the signature ${shown} has ${optional} optional (? or -) and ${repeated} repeated (+) parameters; ` +
    `the limit is ${TRANSFORM_LIMITS.signatureOptional} optional and ${TRANSFORM_LIMITS.signatureRepeated} repeated: ` +
    "JSONata checks a call's arguments by trying each way they could fit"
  );
}

/**
 * An AST's depth in nodes (what the evaluator recurses on), its regular expressions in order, what
 * each node is charged (`charges`) and what saving it refuses, walked with a stack of its own (a
 * recursive walk overflowed on deep ASTs).
 */
export function walk(root: unknown): {
  depth: number;
  /** The objects the parsed tree is made of (nodes and their arrays): what it holds in memory (55–125 bytes each). */
  objects: number;
  regexes: { value: RegexSource; position?: number }[];
  charges: Map<unknown, NodeCharges>;
  refusals: { message: string; position: number }[];
} {
  const regexes: { value: RegexSource; position?: number }[] = [];
  const refusals: { message: string; position: number }[] = [];
  const charges = new Map<unknown, NodeCharges>();
  const charged = (node: unknown): NodeCharges => {
    const known = charges.get(node);
    if (known !== undefined) return known;
    const fresh: NodeCharges = {};
    charges.set(node, fresh);
    return fresh;
  };
  // Accumulated: a node may build an object, group, and build an array at once.
  const lookUp = (node: unknown) => {
    const looking = charged(node);
    looking.lookups = (looking.lookups ?? 0) + 1;
  };
  const construct = (node: unknown, steps: number) => {
    const built = charged(node);
    built.constructed = (built.constructed ?? 0) + steps;
  };
  const paths: Record<string, unknown>[] = [];
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
    // A grouping's keys, of `items{key: value}` or of an object constructor (which groups its input
    // too): both for `{…}{…}`, which JSONata builds and then groups.
    const groupings = [isIndexable(node.group) ? node.group.lhs : null, node.type === "unary" && node.value === "{" ? node.lhs : null];
    const tuples = node.tuple === true || (Array.isArray(node.steps) && node.steps.some((step: unknown) => isIndexable(step) && step.tuple === true));
    for (const pairs of groupings) {
      if (!Array.isArray(pairs)) continue;
      construct(node, TRANSFORM_LIMITS.constructedSteps);
      for (const pair of pairs) {
        if (!Array.isArray(pair)) continue;
        charged(node).grouping = true;
        const key = charged(pair[0]);
        key.group = node;
        key.quoted = "key";
        if (tuples && pairs === groupings[0]) key.groupsTuples = true;
        charged(pair[1]).sideBySide = true;
      }
    }
    if (node.type === "unary" && node.value === "[" && Array.isArray(node.expressions)) {
      // (`[a, b]{k: v}` both builds the array and groups it.)
      construct(node, TRANSFORM_LIMITS.arrayConstructedSteps);
      for (const item of node.expressions) charged(item).sideBySide = true;
      // JSONata pushes an item that is itself `[…]` and appends any other to a copy of all before it.
      const added = node.expressions.filter((item: unknown) => !(isIndexable(item) && item.value === "["));
      for (const item of added) charged(item).appended = added.length;
    }
    if (node.type === "binary" && (node.value === "=" || node.value === "!=")) {
      charged(node.lhs).compared = true;
      charged(node.rhs).compared = true;
    }
    if (node.type === "binary" && node.value === "&") {
      charged(node.lhs).joined = true;
      charged(node.rhs).joined = true;
    }
    // Operands whose value JSONata's error quotes as JSON when the operator refuses it.
    if (node.type === "unary" && node.value === "-") charged(node.expression).quoted = "negated";
    if ((node.type === "variable" || node.type === "parent") && node.value !== "") lookUp(node);
    if (node.type === "transform") {
      construct(node, TRANSFORM_LIMITS.transformerSteps);
      // Applied, the transform looks `clone` up from its frame, then evaluates its pattern there.
      lookUp(node.pattern);
      charged(node.update).quoted = "update";
      if (node.delete !== undefined) charged(node.delete).quoted = "deleted";
    }
    // What JSONata takes the truth of: a condition, the operands of `and` and `or`, a predicate.
    if (node.type === "condition") charged(node.condition).booleanized = true;
    if (node.type === "binary" && (node.value === "and" || node.value === "or")) {
      charged(node.lhs).booleanized = true;
      charged(node.rhs).booleanized = true;
    }
    if (node.type === "filter") charged(node.expr).booleanized = true;
    // A sort step's are applied once its path's evaluation, where JSONata sorts without evaluating the sort node.
    const sorting = node.type === "path" && Array.isArray(node.steps) ? node.steps.filter((step: unknown) => isIndexable(step) && step.type === "sort") : [];
    const unevaluated = node.type === "sort" ? 0 : [node, ...sorting].reduce((sum: number, n: unknown) => sum + unevaluatedPredicates(n), 0);
    if (unevaluated >= TRANSFORM_LIMITS.predicatesPerStep) charged(node).predicates = unevaluated;
    const position = positionOf(node);
    if (node.type === "lambda" && isIndexable(node.signature) && typeof node.signature.definition === "string") {
      if (typesArrayItems(node.signature.definition)) charged(node).typedArrays = true;
      const refusal = signatureRefusal(node.signature.definition);
      if (refusal) refusals.push({ message: refusal, position });
    }
    if (node.type === "lambda" && Array.isArray(node.arguments) && node.arguments.length > TRANSFORM_LIMITS.lambdaParameters) {
      refusals.push({ message: TOO_MANY_PARAMETERS(node.arguments.length), position });
    }
    if (node.type === "variable" && node.value === "eval") refusals.push({ message: NO_EVAL, position });
    if (node.type === "partial") refusals.push({ message: NO_PARTIAL, position });
    if (node.type === "path" && Array.isArray(node.steps) && node.steps.length > TRANSFORM_LIMITS.pathSteps) {
      refusals.push({ message: TOO_LONG(node.steps.length), position: positionOf(node.steps[TRANSFORM_LIMITS.pathSteps]) });
    }
    if (node.type === "path" && Array.isArray(node.steps)) {
      paths.push(node);
      // An order-by (`^(…)`) sorts what the step before it gave with JSONata's merge sort, out of
      // the evaluator's sight: its copying is charged as that step gives its items, until the path ends.
      const steps: unknown[] = node.steps;
      steps.forEach((step, i) => {
        if (i === 0 || !isIndexable(step) || step.type !== "sort") return;
        charged(steps[i - 1]).feedsSort = step;
        const path = charged(node);
        (path.sorts ??= []).push(step);
      });
    }
    // Children in reverse, so that they come off the stack in order (issues are reported as written).
    for (const child of Object.values(node).reverse()) pending.push([child, level]);
  }
  // Inner paths first (they were met after the paths holding them): a step that is a path or block
  // carrying a tuple stream merges its names into its path's tuples.
  const carried = new Map<unknown, number>();
  for (const path of paths.reverse()) {
    const steps: unknown[] = Array.isArray(path.steps) ? path.steps : [];
    const names = steps.reduce<number>((sum, step) => sum + namesBoundBy(step, carried), 0);
    carried.set(path, names);
    if (names > TRANSFORM_LIMITS.bindings) refusals.push({ message: TOO_MANY_BINDINGS, position: positionOf(path) });
    // From its first step that binds a name on, a path is a tuple stream: each step goes through each item's tuple.
    // Each step's tuples carry the names it and the steps before it bound.
    const first = steps.findIndex((step) => isIndexable(step) && step.tuple === true);
    let held = steps.slice(0, Math.max(first, 0)).reduce<number>((sum, step) => sum + namesBoundBy(step, carried), 0);
    if (first >= 0) for (const step of steps.slice(first)) charged(step).tupleNames = held += namesBoundBy(step, carried);
  }
  refusals.sort((a, b) => a.position - b.position);
  return { depth, regexes, charges, refusals, objects: seen.size };
}

/**
 * The names a path step adds to its path's tuples: the step a `%` goes up to (its `ancestor`),
 * `@$v` (`focus`), `#$i` (`index`, or an index stage after a predicate), and those of a path or
 * block step (its last expression) giving a tuple stream, counted already in `carried`.
 */
function namesBoundBy(step: unknown, carried: Map<unknown, number>): number {
  let names = 0;
  let node = step;
  while (isIndexable(node)) {
    names += (isIndexable(node.ancestor) ? 1 : 0) + (typeof node.focus === "string" ? 1 : 0) + (typeof node.index === "string" ? 1 : 0);
    if (Array.isArray(node.stages)) names += node.stages.filter((stage) => isIndexable(stage) && stage.type === "index").length;
    if (node.tuple !== true) break;
    if (node.type === "path") return names + (carried.get(node) ?? 0);
    node = node.type === "block" && Array.isArray(node.expressions) ? node.expressions.at(-1) : undefined;
  }
  return names;
}

/** A node's number predicates and index stages: applied without evaluating a node (a predicate other than a number is one, charged for each item). */
function unevaluatedPredicates(node: unknown): number {
  if (!isIndexable(node)) return 0;
  return [node.stages, node.predicate]
    .flatMap((list) => (Array.isArray(list) ? list : []))
    .filter((p) => isIndexable(p) && (p.type === "index" || (isIndexable(p.expr) && p.expr.type === "number"))).length;
}

const positionOf = (node: unknown): number => (isIndexable(node) && typeof node.position === "number" ? node.position : 0);

/** JSONata throws plain objects `{code, position, message}`; anything else is reported by its message. */
export function jsonataError(e: unknown): { message: string; code?: string; position?: number } {
  if (!isIndexable(e)) return { message: String(e) };
  const message = "message" in e && typeof e.message === "string" ? e.message : String(e);
  const code = "code" in e && typeof e.code === "string" ? e.code : undefined;
  const position = "position" in e && typeof e.position === "number" ? e.position : undefined;
  // JSONata's D2015 names the length it refused where it means the bound ("maximum sequence length of 100001").
  if (code === "D2015") return { message: `${code}: a sequence grew over ${TRANSFORM_LIMITS.sequence} items`, code, position };
  return { message: code === undefined ? message : `${code}: ${message}`, code, position };
}
