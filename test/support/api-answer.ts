// The JSON an API call answers, typed by what /openapi.json documents (cli/src/api.d.ts, generated
// from it) for the call's method and path, so that a test reading a field the document does not
// describe fails to typecheck instead of asserting on `undefined`.
import type { components, paths } from "../../cli/src/api.d.ts";

type Path = keyof paths;

/** `/v1/events/x?limit=1` → `/v1/events/x`. */
type WithoutQuery<P extends string> = P extends `${infer Before}?${string}` ? Before : P;
type Segments<S extends string> = S extends `${infer Head}/${infer Tail}` ? [Head, ...Segments<Tail>] : [S];
/** Each segment of a called path equals the template's, or fills a `{parameter}` of it. */
type SegmentsMatch<Called extends string[], Template extends string[]> = Called extends [infer C, ...infer CRest extends string[]]
  ? Template extends [infer T, ...infer TRest extends string[]]
    ? (T extends `{${string}}` ? true : [C] extends [T] ? true : false) extends true
      ? SegmentsMatch<CRest, TRest>
      : false
    : false
  : Template extends [] ? true : false;
/** The documented paths a called one (a literal, or a template literal type) stands for: its own, else the templates it fills. */
export type RouteOf<P extends string> =
  WithoutQuery<P> extends Path
    ? WithoutQuery<P>
    : { [T in Path]: SegmentsMatch<Segments<WithoutQuery<P>>, Segments<T>> extends true ? T : never }[Path];

/** The operation's answers; a method the path does not take is refused 405 with the Error. */
type Responses<R extends Path, M extends string> = paths[R][Lowercase<M> & keyof paths[R]] extends { responses: infer Rs }
  ? Rs
  : { 405: { content: { "application/json": components["schemas"]["Error"] } } };
/** Every JSON body the operation documents, whatever its status (a 2xx's and the Error's); null for a 204. */
type Bodies<Rs> = { [S in keyof Rs]: Rs[S] extends { content: { "application/json": infer B } } ? B : null }[keyof Rs];

type KeysOf<U> = U extends unknown ? keyof U : never;
type ValueOf<U, K extends PropertyKey> = U extends unknown ? (K extends keyof U ? U[K] : never) : never;
type Index = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 11 | 12 | 13 | 14 | 15 | 16 | 17 | 18 | 19;
/**
 * A list in an answer. A test asserts what it holds before reading an item, and reading a missing
 * one throws: its first items, the one find() finds, at()'s and a filter()'s read without `| undefined`
 * (noUncheckedIndexedAccess).
 */
export interface AnswerList<T> extends Array<T> {
  readonly [I: number]: T;
  find<S extends T>(predicate: (value: T, index: number, obj: T[]) => value is S, thisArg?: unknown): S;
  find(predicate: (value: T, index: number, obj: T[]) => unknown, thisArg?: unknown): T;
  at(index: number): T;
  filter<S extends T>(predicate: (value: T, index: number, array: T[]) => value is S, thisArg?: unknown): AnswerItems<S>;
  filter(predicate: (value: T, index: number, array: T[]) => unknown, thisArg?: unknown): AnswerItems<T>;
}
/** A list whose first items read without `| undefined`. */
export type AnswerItems<T> = AnswerList<T> & { readonly [I in Index]: T };
/**
 * A test reads an answer before narrowing it (its status is asserted with expect()): the bodies of
 * every status merge into one object that has each field any of them documents, and no other; a
 * field read that the document does not describe fails to typecheck. A field the document leaves
 * free-form (`unknown`: an event's payload, an error's details) reads as `any`. A value that may be
 * null or absent reads as what it is otherwise: the test's assertion says which it expects.
 */
export type Answer<U> = unknown extends U
  ? any // the document leaves it free-form
  : Exclude<U, object | null | undefined> | Merged<Extract<U, object>>;
type Merged<O> = [O] extends [never]
  ? never
  : [O] extends [readonly (infer Item)[]]
    ? AnswerItems<Answer<Item>>
    : { [K in KeysOf<O>]: Answer<ValueOf<O, K>> };

/**
 * What a call of `method` on `path` answers: `any` where the path is no literal or template literal
 * the document's paths name (a `string` built elsewhere), or the method a `string`.
 */
export type AnswerJson<M extends string, P extends string> = string extends M
  ? any // not known where the call is written
  : string extends P
    ? any // not known where the call is written
    : [RouteOf<P>] extends [never]
      ? any // a path the document does not name (its refusal is held to it)
      : Answer<Bodies<Responses<RouteOf<P>, M>>>;
