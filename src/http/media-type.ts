import { trimHeaderSpace } from "./header-space";

/**
 * What the API takes as a JSON body's Content-Type, decided once by RFC 9110's grammar (§8.3.1):
 * `type "/" subtype *( OWS ";" OWS [ parameter ] )`, a parameter `token "=" ( token / quoted-string )`,
 * the field's value without the white space HTTP drops around it. So `application/json;` and
 * `application/json ; charset=utf-8` are JSON, as `application/json;charset=UTF-8` is. Only
 * application/json, as docs/api.md and the OpenAPI document say: a `+json` type
 * (`application/merge-patch+json`), which the validators let through undocumented, is not.
 * plain-body.ts sends the validators after it JSON's one spelling, so their own, stricter tests
 * never differ from this.
 */
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const QUOTED = '"(?:[\\t \\x21\\x23-\\x5b\\x5d-\\x7e\\x80-\\xff]|\\\\[\\t \\x21-\\x7e\\x80-\\xff])*"';
// Each `;` takes the white space before it; a parameter, that after it (the two never compete).
const MEDIA_TYPE = new RegExp(`^(${TOKEN})/(${TOKEN})(?:[\\t ]*;(?:[\\t ]*${TOKEN}=(?:${TOKEN}|${QUOTED}))?)*$`);

/** Whether a Content-Type names JSON: application/json in any case, with any parameters. */
export function isJsonMediaType(contentType: string): boolean {
  const m = MEDIA_TYPE.exec(trimHeaderSpace(contentType));
  return m !== null && m[1]!.toLowerCase() === "application" && m[2]!.toLowerCase() === "json";
}

/** The one spelling of a JSON Content-Type every validator reads as JSON. */
export const JSON_CONTENT_TYPE = "application/json";
