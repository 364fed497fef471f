// A webhook's form as the API's body, and as it was typed (shown again when refused).
import { webhookFormNumbers } from "../api/schemas/webhooks";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { isIndexable, isRecord } from "../domain/guards";
import { REPEATED_KEY, repeatedKey } from "../domain/documents";
import { documentPath, OUT_OF_RANGE, pathStep } from "../routing/filter";
import { WEBHOOK_LABELS, type FieldLabels } from "./field-labels";
import { refusedBy, type Refusal } from "./refusal";
import { commaEntries, textOf, textsOf, type Form } from "./form";
import type { Entered } from "./pages/webhooks";

/** A form's text fields as they were sent. */
export function enteredIn(form: Form): Entered {
  return Object.fromEntries(Object.keys(form).flatMap((k) => (textsOf(form, k).length > 0 ? [[k, textOf(form, k)]] : [])));
}

/** The form's labels, looked up by any field's name. */
const LABELS: FieldLabels = WEBHOOK_LABELS;
/** A field's label in the form (its API name, were one unlabelled). */
const labelOf = (field: string): string => LABELS[field] ?? field;

/** A box's text as typed: a browser sends a textarea's line breaks as CRLF. */
const typed = (text: string) => text.replace(/\r\n/g, "\n").trim();

/**
 * The edit form's fields that still hold what it first showed (its `shown`, WebhookForm): left
 * out of the PATCH, so that what changed elsewhere meanwhile (another field, or the webhook
 * disabled automatically) is not written back. A browser sends a textarea's line breaks as CRLF.
 */
function unchangedFields(form: Form): string[] {
  let shown: unknown;
  try {
    shown = JSON.parse(textOf(form, "shown"));
  } catch {
    return [];
  }
  if (!isRecord(shown)) return [];
  const now = (k: string) => (k === "disabled" ? (form.disabled === "on" ? "on" : "off") : typed(textOf(form, k)));
  return Object.entries(shown).flatMap(([k, v]) => (typeof v === "string" && typed(v) === now(k) ? [k] : []));
}

/** Where in `v` a number is out of a 64-bit float's range (`.body["data.n"]`, as the API's paths), or null. */
function outOfRange(v: unknown, path: string): string | null {
  if (typeof v === "number") return Number.isFinite(v) ? null : path;
  if (!isIndexable(v)) return null;
  for (const [k, e] of Object.entries(v)) {
    const far = outOfRange(e, Array.isArray(v) ? `${path}[${k}]` : pathStep(path, k));
    if (far !== null) return far;
  }
  return null;
}

/** The form's fields as the API's webhook body, or what in them it would not take (a number not in digits, JSON that is not). */
export function webhookBody(form: Form, creating: boolean): { body: Record<string, unknown>; words: Record<string, string>; own: FormIssue[] } {
  const text = (k: string) => textOf(form, k).trim();
  // An empty box is no types, which the API says is required; an empty entry is refused, not dropped.
  const eventTypes = text("eventTypes") === "" ? { ok: true as const, entries: [] } : commaEntries(text("eventTypes"), WEBHOOK_LABELS.eventTypes);
  const words: Record<string, string> = {};
  // What the form cannot read: sent as typed (a string, which the API refuses there, so nothing is
  // saved) that the API says every other issue beside it (formRefusal).
  const own: FormIssue[] = [];
  const unread = (field: string, error: string) => {
    own.push({ error, field });
    body[field] = textOf(form, field);
  };
  const body: Record<string, unknown> = { url: text("url"), disabled: form.disabled === "on" };
  if (eventTypes.ok) body.eventTypes = eventTypes.entries;
  else unread("eventTypes", eventTypes.error);
  // Numbers as the API's queries take them, decimal digits within the body's bounds (Number() read
  // `0x10`, `1e3`, `5.0` as numbers and stored them): each read as typed, untrimmed.
  for (const [k, digits] of Object.entries(webhookFormNumbers)) {
    // An empty rate limit is none, and an empty "disable after" never: the form always carries
    // those fields, so clearing one lifts it. Another left empty is left out.
    if (!text(k)) {
      if ((k === "rateLimit" || k === "autoDisableAfterMinutes") && k in form) body[k] = null;
      continue;
    }
    const n = digits.safeParse(textOf(form, k));
    if (n.success) {
      body[k] = n.data;
      continue;
    }
    const said = n.error.issues[0]?.message ?? "expected a whole number (decimal digits)";
    if (!/^\d+$/.test(textOf(form, k))) {
      unread(k, `${labelOf(k)}: ${said}`);
      continue;
    }
    // Digits past the field's bound: sent, so the API says it beside every other issue, in the form's words (rateLimit's "leave it empty").
    body[k] = Math.min(Number(textOf(form, k)), Number.MAX_VALUE);
    words[k] = said;
  }
  if (text("ordering")) body.ordering = text("ordering");
  if (creating && text("organizationUid")) body.organizationUid = text("organizationUid");
  if (creating && text("locationUid")) body.locationUid = text("locationUid");
  // An empty box clears the field when editing, and leaves it out when creating. Its line breaks
  // as typed (LF), or one inside a transformation's string would be sent as CRLF in every delivery.
  for (const [field, json] of [["filter", true], ["transform", false], ["transformHeaders", true]] as const) {
    const value = typed(textOf(form, field));
    if (!value) {
      if (!creating) body[field] = null;
      continue;
    }
    if (!json) {
      body[field] = value;
      continue;
    }
    try {
      body[field] = JSON.parse(value);
    } catch (e) {
      unread(field, `${WEBHOOK_LABELS[field]} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    // JSON.parse reads 1e400 as Infinity, which the API's JSON would carry as null: a filter then
    // matching null. It keeps the last of a key given twice: sent as parsed, the API would never see the first.
    const far = outOfRange(body[field], "");
    const twice = repeatedKey(value);
    if (far !== null) unread(field, `${WEBHOOK_LABELS[field]}, ${far.replace(/^\./, "")}: ${OUT_OF_RANGE}`);
    else if (twice) unread(field, `${WEBHOOK_LABELS[field]}, ${documentPath(twice)}: ${REPEATED_KEY}`);
  }
  if (!creating) for (const field of unchangedFields(form)) delete body[field];
  return { body, words, own };
}

/** An issue the form finds itself, in its words. */
type FormIssue = { error: string; field: string };

/**
 * The API's refusal of a form with issues of its own (`own`, each sent as typed): the form's issues
 * first, in its words, then the API's others, instead of its issue of the field the form already names.
 */
export function formRefusal(
  entered: Entered,
  form: { words: Record<string, string>; own: FormIssue[] },
  answer: { status: ContentfulStatusCode; error: string; paths?: string[] | undefined; details?: unknown },
): Refusal<Entered> {
  const [first, ...more] = form.own;
  if (!first) return refusedBy(entered, inFormWords(answer, form.words), WEBHOOK_LABELS);
  const others = issuesBeside(answer, new Set(form.own.map((o) => o.field)));
  const api = others && refusedBy(entered, inFormWords(others, form.words), WEBHOOK_LABELS);
  return { entered, error: first.error, field: first.field, status: 400, more: [...more.map((o) => o.error), ...(api ? [api.error, ...(api.more ?? [])] : [])] };
}

/**
 * What the API said beyond the fields the form already named: another refusal (a grant's 403) as it is,
 * the API's other issues worded as it words a first one, or nothing when the form named them all.
 */
function issuesBeside<A extends { error: string; paths?: string[] | undefined; details?: unknown }>(answer: A, named: Set<string>): A | undefined {
  if (!isRecord(answer.details) || !Array.isArray(answer.details.issues)) return answer;
  const rest = answer.details.issues.filter((i: unknown) => !(isRecord(i) && named.has(String(i.path))));
  const [next] = rest;
  if (!isRecord(next)) return undefined;
  return { ...answer, error: `Invalid body: ${String(next.path)}: ${String(next.message)}`, paths: rest.map((i) => (isRecord(i) ? String(i.path) : "")), details: { issues: rest } };
}

/** The API's refusal with the form's own words (`words`, by path) for the issues it has them for. */
function inFormWords<A extends { error: string; paths?: string[] | undefined; details?: unknown }>(answer: A, words: Record<string, string>): A {
  if (!isRecord(answer.details) || !Array.isArray(answer.details.issues)) return answer;
  const own = (i: unknown) => (isRecord(i) && typeof i.path === "string" && Object.hasOwn(words, i.path) ? words[i.path] : undefined);
  const [first] = answer.details.issues;
  const firstSaid = own(first);
  const error = isRecord(first) && firstSaid !== undefined ? answer.error.replace(`${String(first.path)}: ${String(first.message)}`, `${String(first.path)}: ${firstSaid}`) : answer.error;
  const issues = answer.details.issues.map((i: unknown) => (isRecord(i) && own(i) !== undefined ? { ...i, message: own(i) } : i));
  return { ...answer, error, details: { ...answer.details, issues } };
}
