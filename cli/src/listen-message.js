// What `listen` and `tail` take from GET /v1/listen: one JSON text message each, of a kind of
// src/listen/protocol.ts, with the fields the CLI relies on of their type (what it only prints,
// it prints escaped whatever it is). Anything else is not handed on: a position that is not one
// would be saved and resumed after (a string compares as text, 1e999 saves as null), and an
// event whose body is not a string would be forwarded as "[object Object]".

import { isObject, isPosition } from "./guards.js";

/**
 * @typedef {import("../../src/listen/protocol").ListenMessage} ListenMessage
 * @typedef {(v: unknown) => boolean} Check
 */

/** @type {Check} */
const isString = (v) => typeof v === "string";
/** @type {Check} */
const isHeaders = (v) => isObject(v) && Object.values(v).every(isString);
/** @param {Check} check @returns {Check} */
const optional = (check) => (v) => v === undefined || check(v);

/** Each kind of message, and the fields the CLI relies on. @type {Record<string, Record<string, Check>>} */
const SHAPES = {
  hello: { position: isPosition },
  event: { position: isPosition, headers: optional(isHeaders), body: optional(isString), transformError: optional(isString) },
  attempt: {},
  position: { position: isPosition },
  notice: {},
};

/** What is wrong with a parsed message, to finish "ignored a message …", or null. @param {unknown} value */
function problemOf(value) {
  if (!isObject(value) || typeof value.type !== "string") return "that is not a listener message";
  const shape = Object.hasOwn(SHAPES, value.type) ? SHAPES[value.type] : undefined;
  if (!shape) return `of a kind this CLI does not know (${value.type})`;
  const wrong = Object.entries(shape).flatMap(([field, check]) => (check(Object.hasOwn(value, field) ? value[field] : undefined) ? [] : [field]));
  return wrong.length > 0 ? `"${value.type}" with ${wrong.join(", ")} not as the protocol has it` : null;
}

/** @param {unknown} value @returns {value is ListenMessage} */
const isListenMessage = (value) => problemOf(value) === null;

/**
 * The message a text frame holds, or what is wrong with it.
 * @param {string} text @returns {{ message: ListenMessage } | { problem: string }}
 */
export function readMessage(text) {
  /** @type {unknown} */
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: "that is not JSON" };
  }
  return isListenMessage(value) ? { message: value } : { problem: problemOf(value) ?? "" };
}
