// A JSON Schema check (the 2020-12 keywords /openapi.json uses) for conformance.ts: the document as a
// client reads it, not the zod schema it is generated from, which the server's own validator runs
// (a request the server accepted passes that by construction). ajv compiles with `new Function`,
// which workerd refuses, so this walks the schema. A keyword it does not know fails loudly rather
// than pass unchecked.

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Keywords that say nothing of what is valid. */
const ANNOTATIONS = new Set(["description", "example", "examples", "default", "title", "deprecated", "readOnly", "writeOnly", "$comment"]);

// RFC 3339's date-time (JSON Schema's format), upper or lower case T and Z.
const DATE_TIME = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$/;

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

function hasType(v: unknown, t: string): boolean {
  if (t === "integer") return Number.isInteger(v);
  return typeOf(v) === t;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && sameValue((a as Json)[k], (b as Json)[k]));
}

/**
 * Why `value` is not valid under `schema` (each "at path: reason"), empty when it is; `$ref`s are
 * resolved in `root` (the document).
 */
export function schemaIssues(schema: unknown, value: unknown, root: Json, at = ""): string[] {
  if (schema === true || (isObject(schema) && Object.keys(schema).length === 0)) return [];
  if (schema === false) return [`${at || "(root)"}: nothing is allowed here`];
  if (!isObject(schema)) return [`${at || "(root)"}: not a schema: ${JSON.stringify(schema)}`];
  const issues: string[] = [];
  const here = at || "(root)";
  const fail = (why: string) => issues.push(`${here}: ${why}`);
  for (const [k, s] of Object.entries(schema)) {
    if (ANNOTATIONS.has(k) || k.startsWith("x-")) continue;
    switch (k) {
      case "$ref": {
        const ref = s as string;
        if (!ref.startsWith("#/")) { fail(`an external $ref ${ref} is not checked`); break; }
        const target = ref.slice(2).split("/").reduce<unknown>((n, p) => (isObject(n) ? n[p.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined), root);
        if (target === undefined) fail(`$ref ${ref} names nothing in the document`);
        else issues.push(...schemaIssues(target, value, root, at));
        break;
      }
      case "type": {
        const types = [s].flat() as string[];
        if (!types.some((t) => hasType(value, t))) fail(`expected ${types.join(" or ")}, got ${typeOf(value)} ${JSON.stringify(value)?.slice(0, 80)}`);
        break;
      }
      case "enum":
        if (!(s as unknown[]).some((e) => sameValue(e, value))) fail(`${JSON.stringify(value)?.slice(0, 80)} is not one of ${JSON.stringify(s)}`);
        break;
      case "const":
        if (!sameValue(s, value)) fail(`expected ${JSON.stringify(s)}`);
        break;
      case "allOf":
        for (const sub of s as unknown[]) issues.push(...schemaIssues(sub, value, root, at));
        break;
      case "anyOf":
      case "oneOf": {
        const passing = (s as unknown[]).filter((sub) => schemaIssues(sub, value, root, at).length === 0).length;
        if (passing === 0 || (k === "oneOf" && passing > 1)) fail(`${k}: ${passing} of its ${(s as unknown[]).length} schemas match`);
        break;
      }
      case "not":
        if (schemaIssues(s, value, root, at).length === 0) fail("matches a schema it must not");
        break;
      // Strings: lengths in code points, as JSON Schema counts them.
      case "minLength":
        if (typeof value === "string" && [...value].length < (s as number)) fail(`shorter than ${s as number} characters`);
        break;
      case "maxLength":
        if (typeof value === "string" && [...value].length > (s as number)) fail(`longer than ${s as number} characters (${[...value].length})`);
        break;
      case "pattern":
        if (typeof value === "string" && !new RegExp(s as string, "u").test(value)) fail(`${JSON.stringify(value).slice(0, 80)} does not match /${s as string}/`);
        break;
      case "format":
        if (s !== "date-time") fail(`format ${String(s)} is not checked`);
        else if (typeof value === "string" && !DATE_TIME.test(value)) fail(`${JSON.stringify(value)} is not an RFC 3339 date-time`);
        break;
      case "minimum":
        if (typeof value === "number" && value < (s as number)) fail(`below the minimum ${s as number}`);
        break;
      case "maximum":
        if (typeof value === "number" && value > (s as number)) fail(`above the maximum ${s as number}`);
        break;
      case "exclusiveMinimum":
        if (typeof value === "number" && value <= (s as number)) fail(`not above ${s as number}`);
        break;
      case "exclusiveMaximum":
        if (typeof value === "number" && value >= (s as number)) fail(`not below ${s as number}`);
        break;
      case "multipleOf":
        if (typeof value === "number" && !Number.isInteger(value / (s as number))) fail(`not a multiple of ${s as number}`);
        break;
      case "items":
        if (Array.isArray(value)) value.forEach((x, i) => issues.push(...schemaIssues(s, x, root, `${at}[${i}]`)));
        break;
      case "minItems":
        if (Array.isArray(value) && value.length < (s as number)) fail(`fewer than ${s as number} items`);
        break;
      case "maxItems":
        if (Array.isArray(value) && value.length > (s as number)) fail(`more than ${s as number} items (${value.length})`);
        break;
      case "uniqueItems":
        if (s === true && Array.isArray(value) && value.some((x, i) => value.slice(0, i).some((y) => sameValue(x, y)))) fail("items repeat");
        break;
      case "required":
        if (isObject(value)) for (const name of s as string[]) if (!Object.hasOwn(value, name)) fail(`required ${name} is missing`);
        break;
      case "properties":
        if (isObject(value)) for (const [name, sub] of Object.entries(s as Json)) if (Object.hasOwn(value, name)) issues.push(...schemaIssues(sub, value[name], root, at ? `${at}.${name}` : name));
        break;
      case "additionalProperties":
        if (isObject(value)) {
          const named = isObject(schema.properties) ? schema.properties : {};
          for (const [name, v] of Object.entries(value)) {
            if (Object.hasOwn(named, name)) continue;
            if (s === false) fail(`${name} is not a property it declares`);
            else issues.push(...schemaIssues(s, v, root, at ? `${at}.${name}` : name));
          }
        }
        break;
      case "minProperties":
        if (isObject(value) && Object.keys(value).length < (s as number)) fail(`fewer than ${s as number} properties`);
        break;
      case "maxProperties":
        if (isObject(value) && Object.keys(value).length > (s as number)) fail(`more than ${s as number} properties`);
        break;
      default:
        fail(`keyword ${k} is not checked (json-schema.ts)`);
    }
  }
  return issues;
}
