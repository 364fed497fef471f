// The API client: openapi-fetch typed by the types generated from the API's own
// OpenAPI document (api.d.ts), so a command cannot call a route or send a field
// the API does not have.
import createClient from "openapi-fetch";
import { answerMisfit } from "./answer-shape.js";
import { requireToken, timeoutMs, timeoutSignal, tokenRefusal } from "./config.js";
import { CliError } from "./errors.js";
import { isObject } from "./guards.js";
import { printable } from "./output.js";
import { NOT_FOLLOWED, redirectOf, sameHostTarget } from "./redirect.js";

/**
 * @typedef {import("./api").paths} paths
 * @typedef {import("./api").components["schemas"]} Schemas
 * @typedef {import("openapi-fetch").Client<paths>} Client
 */

/** @param {import("./config.js").Connection} c @returns {Client} */
export function apiClient(c) {
  /** A 401 of the API's is said with where the token came from (unwrap passes the CliError on). @param {Request} request */
  const refusing = async (request) => {
    // The whole answer within it (openapi-fetch reads the body under the same signal): unwrap says so.
    const response = await fetch(request, { ...NOT_FOLLOWED, signal: timeoutSignal(timeoutMs()) });
    const redirect = redirectOf(response.status, response.headers.get("location"), request.url);
    if (redirect) throw redirected(redirect, c.url, request.url);
    // Every answer of the API with a body is JSON: another's (a web page's 200), said with its status
    // here, where it is known (openapi-fetch's parse would throw without it).
    const json = /\bjson\b/i.test(response.headers.get("content-type") ?? "");
    if (response.ok && response.status !== 204 && !json) throw notTheApi(response.status);
    if (response.status !== 401) return response;
    const body = await response.clone().json().catch(() => null);
    if (isApiError(body)) throw tokenRefused(c, response.status, body);
    return response;
  };
  const client = createClient({ baseUrl: c.url, headers: { authorization: `Bearer ${requireToken(c)}` }, fetch: refusing });
  // The operation each answer is of, for unwrap to hold it to that operation's schema.
  client.use({ onResponse: ({ request, response, schemaPath }) => void asked.set(response, { method: request.method, path: schemaPath }) });
  return client;
}

/** @type {WeakMap<Response, { method: string, path: string }>} */
const asked = new WeakMap();

/**
 * The API's refusal of the token sent (401), said as where that token came from and what to do: the
 * API's own message speaks of an Authorization header, which a CLI user never wrote.
 * @param {import("./config.js").Connection} c @param {number} status @param {unknown} body
 */
export function tokenRefused(c, status, body) {
  const { code } = apiError(status, body);
  return new CliError(printable(`${status}${code ? ` ${code}` : ""}: ${tokenRefusal(c)}.`), { code });
}

/**
 * No answer within the timeout (timeoutMs). A server that took the request may have carried it out
 * (a range replay of many events outlasts a short timeout): running a change again could do it twice.
 */
export function noAnswer() {
  return new CliError(
    `No answer from the API within ${timeoutMs() / 1000} s: if it was reached, what was asked may have been done, so check before running a change again. Is the URL right (and \`npm run dev\` running, locally)?`,
  );
}

/**
 * A redirect the API's URL answered (not followed: the token would go along), with the base URL it
 * probably meant when the Location, on the same host, keeps the path asked after the base (http://… to https://…).
 * @param {NonNullable<ReturnType<typeof redirectOf>>} r @param {string} base @param {string} asked
 */
export function redirected(r, base, asked) {
  const basePath = new URL(base).pathname.replace(/\/+$/, "");
  const path = new URL(asked).pathname;
  const rest = path.startsWith(basePath) ? path.slice(basePath.length) : path;
  const there = sameHostTarget(r, asked);
  const to = there?.pathname.endsWith(rest) ? `${there.origin}${there.pathname.slice(0, -rest.length)}` : undefined;
  const hint = to ? `the API's base URL is probably ${to}.` : "is it the Worker's base URL?";
  return new CliError(printable(`The URL answered ${r.status}, a redirect to ${r.to} (not followed: the token would go along): ${hint}`));
}

/** An answer from something that is not the API (a web page, another program on the port); `status` when it says which. */
export function notTheApi(/** @type {number | undefined} */ status = undefined, why = "not its JSON") {
  const answered = status === undefined ? "answered" : `answered ${status}`;
  return new CliError(printable(`The URL ${answered}, but not as the Edgehook API does (${why}): is it the Worker's base URL?`));
}

/**
 * The data of an API answer, or a CliError carrying the API's error code and message.
 * @template T
 * @param {Promise<{ data?: T, error?: unknown, response: Response }>} call
 * @returns {Promise<T>}
 */
export async function unwrap(call) {
  let result;
  try {
    result = await call;
  } catch (err) {
    if (err instanceof CliError) throw err;
    // openapi-fetch parses the answer as JSON: a SyntaxError is an answer, from something that is not the API.
    if (err instanceof SyntaxError) throw notTheApi();
    // timeoutSignal's: a server that took the connection and never answered (or never finished).
    if (err instanceof Error && err.name === "TimeoutError") throw noAnswer();
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
    // One line: a TLS failure's message (an https URL on an http port) ends in a line break.
    throw new CliError(`Cannot reach the API: ${printable(cause.trim())}. Is the URL right (and \`npm run dev\` running, locally)?`);
  }
  const { response, error, data } = result;
  // An error status without the API's error (a web page's 404, a proxy's 502) is no refusal of the API's.
  if (!response.ok) throw isApiError(error) ? apiError(response.status, error) : notTheApi(response.status);
  // Every answer of the API with a body is a JSON object (a 204 has none): an empty body or other
  // JSON comes from something else, and the command reading its fields would crash on it.
  if (response.status !== 204 && !isObject(data)) throw notTheApi(response.status);
  // JSON of another program (`{"status":"ok"}`) is told by the members the API's answer has.
  const operation = asked.get(response);
  const why = operation && answerMisfit(operation.method, operation.path, response.status, data);
  if (why) throw notTheApi(response.status, why);
  return /** @type {T} */ (data);
}

/** An error answer in the API's `{"error":{"code",…}}` shape. @param {unknown} body */
export const isApiError = (body) => isObject(body) && isObject(body.error) && typeof body.error.code === "string";

/** A CliError from an error answer in the API's `{"error":{code,message}}` shape. */
export function apiError(/** @type {number} */ status, /** @type {unknown} */ body) {
  const e = typeof body === "object" && body !== null && "error" in body ? body.error : null;
  const code = typeof e === "object" && e !== null && "code" in e ? String(e.code) : undefined;
  const message = typeof e === "object" && e !== null && "message" in e ? String(e.message) : `HTTP ${status}`;
  // details.reason tells apart the API's errors of one code (a dead letter's 409s), and details.cause
  // a reason's own why (nothing_to_retry's): a script reads them on the line, as "(reason: cause)".
  const details = typeof e === "object" && e !== null && "details" in e ? e.details : null;
  const detail = (/** @type {string} */ name) => {
    const value = isObject(details) ? details[name] : undefined;
    return typeof value === "string" ? value : undefined;
  };
  const [reason, cause] = [detail("reason"), detail("cause")];
  const why = reason ? ` (${reason}${cause ? `: ${cause}` : ""})` : "";
  // The message is printed on the terminal: the server's words, made printable.
  return new CliError(printable(`${status}${code ? ` ${code}` : ""}${why}: ${message}`), { code });
}
