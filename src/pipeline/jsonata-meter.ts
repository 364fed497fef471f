/**
 * A JSONata expression evaluated within a count of steps: every node evaluated is a step, every
 * value by its size (transform.ts says why steps, not time). The built-ins whose work one step
 * does not bound are wrapped to charge theirs in jsonata-builtins.ts, installed here on each run's
 * evaluator: this module is the run, its counter and its hooks.
 */
import { cutShort } from "../domain/cut-short";
import { isIndexable } from "../domain/guards";
import { jsonataError, parse, programRefusal, unmeteredRun, walk, type Evaluator, type RunOptions } from "./jsonata-check";
import { boundBuiltins, chargeJoined, chargeQuoted, chargeLookup, chargeStrings, chargeTruth, chargeValues, fractionally, itemsOf, sortCopies } from "./jsonata-builtins";
import { IdlePool } from "./idle-pool";
import { meteredRegExp, type CompiledRegExps } from "./linear-regexp";
import { chargeDescendants, chargeWildcard } from "./jsonata-walks";
import { BoundExceeded, TRANSFORM_LIMITS } from "./transform-limits";
/** Why an expression failed: in full, and without the values of the event it quotes. */
export interface Failure {
  reason: string;
  summary: string;
}

/** A failure whose message quotes no value. */
export const quoting = (message: string): Failure => ({ reason: message, summary: message });

/**
 * Stored expressions this isolate found refused as written (their refusal), by their text: parsing
 * one can cost hundreds of milliseconds (a path of 4,000 steps, ~380 ms in workerd), paid once an
 * isolate rather than at each attempt. A few: each is at most 8 KiB.
 */
const refusedSources = new Map<string, string>();
const REFUSED_HELD = 64;

/**
 * A node's result as JSONata gives it on, after the exit hook: a sequence of none is nothing, and of
 * one its item, unless the node keeps it an array (`a[]`).
 */
function unwrapped(expr: unknown, result: unknown): unknown {
  if (!Array.isArray(result) || Reflect.get(result, "sequence") !== true || Reflect.get(result, "tupleStream") === true) return result;
  if (result.length === 0) return undefined;
  const kept = Reflect.get(result, "keepSingleton") === true || (isIndexable(expr) && expr.keepArray === true);
  return result.length === 1 && !kept ? result[0] : result;
}

/**
 * An expression parsed and walked once for many runs (a flat 8 KB one took 7–45 ms to, uncharged,
 * when each attempt parsed its own), one run at a time: what JSONata reads of its options as it evaluates, and the
 * signature checks wrapped in its tree, read `run`, pointed at the run that took it. Each run assigns
 * its hooks and registers its built-ins anew on its evaluator.
 */
interface Parsed {
  evaluator: Evaluator;
  walked: ReturnType<typeof walk>;
  run: RunOptions & { owe: (part: number) => void; compiled: CompiledRegExps };
}

/** Parsed expressions no run is using, by their text. */
export const idleParsed = new IdlePool<Parsed>();

/** `source` parsed and walked, or BoundExceeded with why it is refused as written (remembered by its text). */
function parsed(source: string): Parsed {
  const run: Parsed["run"] = { ...unmeteredRun(), owe: () => {}, compiled: new Map() };
  const evaluator = parse(source, run);
  const walked = walk(evaluator.ast());
  // One stored before these were refused (checkExpression) fails as it would be refused, a
  // literal over the program bound without compiling it.
  const refusal = walked.refusals[0]?.message ?? walked.regexes.map(programRefusal).find((r) => r !== null);
  if (refusal) {
    if (refusedSources.size >= REFUSED_HELD) refusedSources.delete(refusedSources.keys().next().value ?? "");
    refusedSources.set(source, refusal);
    throw new BoundExceeded(refusal);
  }
  for (const [node, charged] of walked.charges) if (charged.typedArrays) chargeSignatureChecks(node, (part) => run.owe(part));
  return { evaluator, walked, run };
}

const ENTRY = Symbol.for("jsonata.__evaluate_entry");
const EXIT = Symbol.for("jsonata.__evaluate_exit");
const PUSH = Symbol.for("jsonata.__createFrame_push");

/** A JSONata frame (a block's, a lambda call's, a path tuple's): its bindings, by any property key. */
interface Frame {
  bind(name: string | symbol, value: unknown): void;
}
const isFrame = (value: unknown): value is Frame => isIndexable(value) && typeof value.bind === "function";

/**
 * A lambda whose signature types an array's items (`function($v, $i, $a)<nna<n>:b>`): JSONata checks
 * every item of such an argument at each call, before its body runs, and `$filter` and `$map` pass
 * the whole array at each call (`$filter([1..99999], …)` so: 71 s in workerd, a few steps a call).
 * Its check, wrapped on the parsed lambda once, first charges each array it is given by its items
 * (to the run evaluating it: `owe`).
 */
function chargeSignatureChecks(lambda: unknown, owe: (part: number) => void): void {
  const signature = isIndexable(lambda) ? lambda.signature : undefined;
  if (!isIndexable(signature)) return;
  const validate = signature.validate;
  if (typeof validate !== "function") return;
  signature.validate = (args: unknown, context: unknown) => {
    if (Array.isArray(args)) for (const arg of args) if (Array.isArray(arg)) owe(arg.length / TRANSFORM_LIMITS.itemWorkPerStep);
    return Reflect.apply(validate, signature, [args, context]);
  };
}

/**
 * `spent`: the steps of `maxSteps` other expressions of the same run took already (a delivery
 * attempt's body and header expressions share one budget); `steps` in the answer: this one's.
 */
export async function evaluate(
  source: string,
  input: unknown,
  maxSteps: number,
  spent = 0,
): Promise<({ ok: true; value: unknown } | ({ ok: false } & Failure)) & { steps: number }> {
  let steps = 0;
  try {
    const charge = (n: number) => {
      steps += n;
      if (spent + steps <= maxSteps) return;
      // Said of the run when expressions before this one took part of its steps: this one alone may be cheap.
      const before = spent > 0 ? `, ${spent} of them by the expressions before this one` : "";
      throw new BoundExceeded(`stopped after ${maxSteps} evaluation steps${before} (an endless or too costly expression)`);
    };
    // A regular expression's work is charged as it goes, and one match that could do more than the
    // steps left is stopped as it reads past them (or, where its reads cannot be followed, not
    // started): a single match is one evaluation step, however long it runs.
    const regexSteps = (work: number) => Math.ceil(work / TRANSFORM_LIMITS.regexWorkPerStep);
    // The most work whose steps (regexSteps) the steps left pay for.
    const regexLeft = () => Math.max(0, Math.floor(maxSteps - spent - steps)) * TRANSFORM_LIMITS.regexWorkPerStep;
    const callDepth = { stack: TRANSFORM_LIMITS.depth };
    const known = refusedSources.get(source);
    if (known !== undefined) throw new BoundExceeded(known);
    // Taken by this run alone, until its evaluation ends: no other run's hooks or built-ins meet it meanwhile.
    const taken = idleParsed.take(source) ?? parsed(source);
    const { evaluator, walked, run } = taken;
    const { charges, depth } = walked;
    const engine = meteredRegExp({
      before: (work) => {
        if (work > regexLeft()) throw new BoundExceeded(`stopped: a regular expression's match could take more than the evaluation steps left (of ${maxSteps})`);
      },
      left: regexLeft,
      stopped: () => {
        throw new BoundExceeded(`stopped: a regular expression's match took more than the evaluation steps left (of ${maxSteps})`);
      },
      after: (work) => charge(regexSteps(work)),
      // Before compiling, by what its text can compile to: one literal can spell seconds of compiling.
      compiling: (bound) => charge(Math.ceil(bound / TRANSFORM_LIMITS.regexInstructionsPerStep)),
    }, run.compiled);
    // A grouping (`items{key: value}`) copies a key's whole group to add each item to it (JSONata's
    // append): 40,000 items under one key took 5.7 s, a step each. Each evaluation of a node that
    // groups counts what its groups hold by key, and an item costs what its group already holds: an
    // item that is an array, its items (JSONata spreads them into the copy: 499 arrays of 200 under one
    // key, 25 times, ran 3.6-7.8 s charged a step an item); over a tuple stream, what the item's tuple
    // binds (each name's values are appended to those before it), tallied as its frame is bound.
    const groupings = new Map<unknown, Map<string, number>[]>();
    for (const [node, charged] of charges) if (charged.grouping) groupings.set(node, []);
    const chargeCopies = fractionally(charge);
    // Items each order-by has been given in its path's evaluation (counted as the step before it gives them).
    const sortedItems = new Map<object, number>();
    // What the parsed expression's options and signature checks read, this run's while it has it.
    run.RegexEngine = engine;
    run.depth = callDepth;
    run.owe = fractionally(charge);
    // JSONata looks its hooks up by name at each node it evaluates and each frame it makes, through
    // every frame enclosing the current one to where they are assigned: each block and lambda call
    // nests one more (lexically), and 385 blocks made every step ~13 µs. Bound on each new frame
    // instead, every hook is found in the first; the frame's depth is kept for name lookups' charge.
    const depths = new WeakMap<object, number>();
    const tallied = [...charges.values()].some((c) => c.groupsTuples);
    const boundItems = new WeakMap<object, number>();
    const push = (enclosing: unknown, frame: unknown) => {
      if (!isFrame(frame)) return;
      frame.bind(ENTRY, entry);
      frame.bind(EXIT, exit);
      frame.bind(PUSH, push);
      depths.set(frame, (isIndexable(enclosing) ? (depths.get(enclosing) ?? 0) : 0) + 1);
      if (tallied) {
        const bind = frame.bind;
        frame.bind = (name, value) => {
          boundItems.set(frame, (boundItems.get(frame) ?? 0) + itemsOf(value));
          bind(name, value);
        };
      }
    };
    // JSONata evaluates an array constructor's items, and an object constructor's or a grouping's
    // values, all at once (Promise.all), and its call depth is one counter for the whole evaluation:
    // each in flight added its depth as a level of recursion would, and a list of 520 ids (`x in
    // ["id0", …]`), or a grouping of 700 keys, failed every evaluation (D1011, "non-terminating
    // recursive function"). Each such item in flight widens the bound by as deep as the expression
    // nests (what it can hold, a function it calls included); recursion gets the depth it had.
    const entry = (expr: unknown, input: unknown, environment: unknown) => {
      charge(1);
      // A name looked up walks out through the frames to where it is bound (a built-in, a name bound
      // at the top: all of them): a step more per framesPerLookupStep frames this one is deep.
      // (A transform's pattern is evaluated just after its `clone` is looked up: one lookup more.)
      const charged = charges.get(expr);
      const lookups = charged?.lookups;
      if (lookups !== undefined && isIndexable(environment)) {
        charge(lookups * Math.floor((depths.get(environment) ?? 0) / TRANSFORM_LIMITS.framesPerLookupStep));
      }
      // A name step given an array (a path through arrays of arrays) looks the name up at every
      // level: charged before, as it may copy for seconds within the one step.
      if (isIndexable(expr) && expr.type === "name" && typeof expr.value === "string" && Array.isArray(input)) chargeLookup(input, expr.value, charge);
      // A descendant (`**`) or wildcard (`*`) step walks its whole input within this one step (40
      // `$count($$.**)` of 60,000 numbers took up to 335 ms): charged before, by what it goes through.
      if (isIndexable(expr) && expr.type === "descendant") chargeDescendants(input, charge);
      if (isIndexable(expr) && expr.type === "wildcard") chargeWildcard(input, charge);
      // An object constructor or grouping builds its object (and groups its input) at each evaluation,
      // an array constructor evaluates its items side by side and appends them.
      if (charged?.constructed !== undefined) charge(charged.constructed);
      // Number predicates and index stages, which JSONata applies to what this node gives without evaluating a node.
      if (charged?.predicates !== undefined) charge(Math.floor(charged.predicates / TRANSFORM_LIMITS.predicatesPerStep));
      if (charged?.sideBySide) callDepth.stack += depth;
      if (charged?.grouping) groupings.get(expr)?.push(new Map());
    };
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
    const exit = (expr: unknown, input: unknown, environment: unknown, result: unknown) => {
      // Given back as JSONata takes the item's own level off, once this hook's await resumes (the
      // next job queued): widened until then, as lockstep items were found to overflow without.
      const charged = charges.get(expr);
      if (charged?.sideBySide) queueMicrotask(() => (callDepth.stack -= depth));
      // What an order-by will sort, charged as it is given, before JSONata's merge sort copies the
      // rest of a run at each comparison (`[1..3500]#$i^(>$i)` ran ~3 times a plain step's time).
      if (charged?.feedsSort !== undefined) {
        const before = sortedItems.get(charged.feedsSort) ?? 0;
        const now = before + itemsOf(result);
        sortedItems.set(charged.feedsSort, now);
        charge(sortCopies(now) - sortCopies(before));
      }
      for (const sort of charged?.sorts ?? []) sortedItems.set(sort, 0);
      chargeResult(result);
      // An array constructor appends each item that is no array constructor to a copy of all before
      // it (JSONata's append): 2,700 arrays of 37 items, 16 s for 3,700 steps. Each item's values are
      // copied at most once per item appended: charged as each item is given, before any is appended
      // (JSONata evaluates them all first).
      const appends = charged?.appended;
      if (appends !== undefined && appends > 1) {
        chargeCopies((itemsOf(result) * appends) / TRANSFORM_LIMITS.appendedItemsPerStep);
      }
      // A range (`[1..99999]`) builds its items one at a time, dearer than they cost as a value.
      if (Array.isArray(result) && isIndexable(expr) && expr.type === "binary" && expr.value === "..") {
        chargeCopies(result.length / TRANSFORM_LIMITS.itemWorkPerStep);
      }
      // An operand of `=` or `!=` costs what comparing it may go through: a reference to an object
      // is one step, and comparing it with an equal copy walks (and sorts) all of it.
      // A string in it is compared character by character with an equal one (two objects holding strings of 1,000,000 characters each: ~130 µs a comparison).
      if (charged?.compared) chargeValues(result, 1 / TRANSFORM_LIMITS.comparedValuesPerStep, charge, 1 / TRANSFORM_LIMITS.comparedCharsPerStep);
      if (charged?.booleanized) chargeTruth(result, charge);
      if (charged?.joined) chargeJoined(result, charge);
      if (charged?.quoted !== undefined) chargeQuoted(charged.quoted, unwrapped(expr, result), chargeCopies);
      // A step of a path that binds names bound the item's tuple in a frame and copies it into each
      // item the step gives: the names it and its path's steps before it bound.
      const names = charged?.tupleNames;
      if (names !== undefined) {
        chargeCopies((names * (1 + itemsOf(result))) / TRANSFORM_LIMITS.boundNamesPerStep);
      }
      if (charged?.grouping) groupings.get(expr)?.pop();
      const group = charged?.group === undefined ? undefined : groupings.get(charged.group)?.at(-1);
      // (A path gives its key as a sequence of one, unwrapped after this hook: the key JSONata groups by.)
      const key = group === undefined ? undefined : unwrapped(expr, result);
      if (group && typeof key === "string") {
        const items = group.get(key) ?? 0;
        // A new key is a group whose value JSONata evaluates side by side with all the others
        // (Promise.all), each dearer the more are in flight: charged by the groups found before it.
        if (items === 0) chargeCopies(group.size / TRANSFORM_LIMITS.groupsBeforePerStep);
        // (Over a tuple stream the key is evaluated in a frame of the item's tuple, on the tuple's `@`.)
        const tuple = charged?.groupsTuples && isIndexable(environment) ? boundItems.get(environment) : undefined;
        group.set(key, items + Math.max(1, tuple ?? itemsOf(input)));
        chargeCopies(items / TRANSFORM_LIMITS.itemsPerStep);
      }
    };
    evaluator.assign(ENTRY, entry);
    evaluator.assign(EXIT, exit);
    evaluator.assign(PUSH, push);
    await boundBuiltins(evaluator, charge, chargeResult, engine);
    const value = await evaluator.evaluate(input);
    // Given back only when its evaluation ended: one that failed can leave items evaluated side by side
    // (Promise.all) still running, which would look up the next run's built-ins and charge its steps.
    // Without its patterns compiled: its built-ins still hold this run's engine (32 idle copies of
    // four `/a{1000}…/` literals held ~46 MB of compiled programs).
    run.compiled.clear();
    idleParsed.give(source, taken, walked.objects);
    return { ok: true, value, steps };
  } catch (e) {
    if (e instanceof BoundExceeded) return { ok: false, ...quoting(e.message), steps };
    // (Writing a value thousands of levels deep, `$string` of an object chain, runs out of stack.)
    if (e instanceof RangeError && /call stack/i.test(e.message)) return { ok: false, ...quoting("stopped: a value is nested too deeply to go through"), steps };
    const err = jsonataError(e);
    const at = err.position === undefined ? "" : ` (at position ${err.position})`;
    // JSONata's messages quote the values they met (a review's text); its codes do not. Cut, as a
    // quoted value can be a megabyte and the webhook test answers the message.
    const message = cutShort(err.message, TRANSFORM_LIMITS.messageChars);
    return { ok: false, reason: `${message}${at}`, summary: `JSONata error ${err.code ?? "without a code"}${at}`, steps };
  }
}
