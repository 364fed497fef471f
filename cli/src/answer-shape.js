// Whether a 2xx answer has the shape the API's OpenAPI document gives its operation: some of its
// required top-level members (all of them missing is another program's JSON; some, maybe a deployment
// older than this CLI), each present one of its JSON type. Light on purpose (nothing deeper is checked): enough to
// tell another program's JSON (`{"status":"ok"}`) from the API's before a command reads its fields.
import { isObject } from "./guards.js";
import { OPENAPI as DOC } from "./openapi.js";

/** A schema with its `$ref` followed (the document's refs are all `#/components/schemas/…`). @param {unknown} schema @returns {Record<string, unknown>} */
function resolved(schema) {
  if (!isObject(schema)) return {};
  const ref = schema.$ref;
  if (typeof ref !== "string") return schema;
  const target = ref.split("/").slice(1).reduce((/** @type {unknown} */ at, part) => (isObject(at) ? at[part] : undefined), DOC);
  return resolved(target);
}

/**
 * What is wrong with a 2xx answer `data` of `method path` (a path as the document spells it), in words
 * for the user, or undefined when it has the shape the document gives it. A status the operation is
 * not documented to answer is wrong too: the API answers as its document says (a conformance test
 * holds it to it), so another program's 200 to a DELETE is not taken as done.
 * @param {string} method @param {string} path @param {number} status @param {unknown} data @returns {string | undefined}
 */
export function answerMisfit(method, path, status, data) {
  const responses = DOC.paths?.[path]?.[method.toLowerCase()]?.responses;
  if (!isObject(responses)) return undefined;
  const response = responses[String(status)];
  if (!isObject(response)) {
    const statuses = Object.keys(responses).filter((s) => s.startsWith("2"));
    return `the API answers ${statuses.join(" or ")} there`;
  }
  const schema = isObject(response.content) && isObject(response.content["application/json"]) ? response.content["application/json"].schema : undefined;
  return schema === undefined ? undefined : misfit(data, resolved(schema));
}

/** A schema's `type` in words: `of type string or null`; one only its branches say, `of the API's type`. @param {unknown} type */
const ofType = (type) => (type === undefined ? "of the API's type" : `of type ${Array.isArray(type) ? type.join(" or ") : String(type)}`);

/** @param {unknown} value @param {unknown} type one JSON Schema type name */
function isOfType(value, type) {
  switch (type) {
    case "null":
      return value === null;
    case "array":
      return Array.isArray(value);
    case "object":
      return isObject(value);
    case "integer":
      return Number.isInteger(value);
    case "number":
      return typeof value === "number";
    default:
      return typeof value === type;
  }
}

/**
 * Whether `value` is of the schema's type(s), as far as the schema says one (anyOf: any branch's).
 * @param {unknown} value @param {unknown} schema @returns {boolean}
 */
function fitsType(value, schema) {
  const s = resolved(schema);
  const branches = s.anyOf ?? s.oneOf;
  if (Array.isArray(branches)) return branches.some((branch) => fitsType(value, branch));
  if (s.type === undefined) return true;
  return (Array.isArray(s.type) ? s.type : [s.type]).some((t) => isOfType(value, t));
}

/**
 * What in `value` does not fit the schema's top level, in words for the user (`its JSON has no "data"`,
 * `its "data" is not of type array`), or undefined when it fits. @param {unknown} value @param {Record<string, unknown>} schema
 * @returns {string | undefined}
 */
function misfit(value, schema) {
  if (Array.isArray(schema.allOf)) {
    for (const part of schema.allOf) {
      const why = misfit(value, resolved(part));
      if (why) return why;
    }
    return undefined;
  }
  if (!fitsType(value, schema)) return `its JSON is not ${ofType(schema.type)}`;
  if (!isObject(value) || !Array.isArray(schema.required)) return undefined;
  const properties = isObject(schema.properties) ? schema.properties : {};
  const present = schema.required.filter((name) => typeof name === "string" && name in value);
  // None of them: another program's JSON. Some: perhaps an older deployment's (a member added since), read as far as it goes.
  if (present.length === 0 && schema.required.length > 0) return `its JSON has no ${JSON.stringify(schema.required[0])}`;
  for (const name of present) {
    const member = properties[name];
    if (member !== undefined && !fitsType(value[name], member)) return `its ${JSON.stringify(name)} is not ${ofType(resolved(member).type)}`;
  }
  return undefined;
}
