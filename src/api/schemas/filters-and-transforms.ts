// A webhook's content routing and reshaping (docs/filters-and-transforms.md): its filter, transform
// and transformHeaders.
import "@hono/zod-openapi"; // gives every zod schema .openapi()
import { z } from "../../domain/zod";
import { isRecord } from "../../domain/guards";
import { isJson } from "../../domain/types";
import { REDACTED } from "../../domain/credential-headers";
import { compileTransform } from "../../pipeline/transform";
import { validateFilter } from "../../routing/filter";

export const FILTER_EXAMPLES = {
  // A Podium text message's channel is "phone" (docs/filters-and-transforms.md).
  podium: { body: { "metadata.eventType": "message.received", "data.conversation.channel.type": "phone" } },
  stripe: { body: { type: { $startsWith: "invoice." }, "data.object.amount_due": { $gt: 50000 } } },
  github: { headers: { "x-github-event": "push" }, body: { ref: "refs/heads/main" } },
};
export const TRANSFORM_EXAMPLES = {
  podium: '{"text": "New " & data.conversation.channel.type & " message: " & data.body}',
  stripe: '{"invoice": data.object.id, "amount": data.object.amount_due / 100, "currency": $uppercase(data.object.currency)}',
  github: '{"repo": repository.full_name, "branch": $substringAfter(ref, "refs/heads/"), "messages": [commits.message]}',
};

/**
 * A JSON object of `value`s under any keys. A zod record leaves a "__proto__" key out of what it
 * parses without an issue (assigning one would replace the result's prototype), so that a filter
 * or header sent under it would be dropped in silence: it is refused instead.
 */
const jsonRecord = <V extends z.ZodType>(value: V) =>
  z.preprocess((v, ctx) => {
    if (isRecord(v) && Object.hasOwn(v, "__proto__")) ctx.addIssue({ code: "custom", message: 'the key "__proto__" is not accepted', path: ["__proto__"] });
    return v;
  }, z.record(z.string(), value));

export const filterDoc = jsonRecord(z.unknown())
  .superRefine((doc, ctx) => {
    const r = validateFilter(doc);
    // The place in the filter goes as the filter's own path, which the answer writes as a search's (api/validate.ts).
    if (!r.ok) for (const i of r.issues) ctx.addIssue({ code: "custom", message: i.message, params: { filterIssue: i } });
  })
  .transform((doc, ctx) => {
    if (isJson(doc) && isRecord(doc)) return doc;
    ctx.addIssue({ code: "custom", message: "the filter is not JSON data" });
    return z.NEVER;
  })
  .openapi({
    description:
      `A JSON document matched against \`{body, headers}\` of each event when it is stored (its operators and bounds: docs/filters-and-transforms.md); an event it excludes gets no delivery (see \`filteredOut\`). null: none.`,
    examples: [FILTER_EXAMPLES.podium, FILTER_EXAMPLES.stripe, FILTER_EXAMPLES.github],
  });

export const transformExpression = z
  .string()
  .superRefine((expr, ctx) => {
    const r = compileTransform(expr);
    if (!r.ok) for (const i of r.issues) ctx.addIssue({ code: "custom", message: i.message });
  })
  .openapi({
    description:
      `A JSONata expression on the event's parsed body, whose JSON result is the body sent and signed; bounded, and an error fails the attempt for good: docs/filters-and-transforms.md. null: the stored body byte for byte.`,
    examples: [TRANSFORM_EXAMPLES.podium, TRANSFORM_EXAMPLES.stripe, TRANSFORM_EXAMPLES.github],
  });

export const CREDENTIAL_HEADERS_NOTE = `Write-only values: a header whose name looks like a credential shows \`"${REDACTED}"\` in every answer; deliveries send the real value.`;

export const transformHeaderMap = jsonRecord(z.string())
  .superRefine((headers, ctx) => {
    // A value given as REDACTED is the stored one, checked when it was stored (the route puts it
    // back); its name is checked here like any other.
    const r = compileTransform(null, Object.fromEntries(Object.entries(headers).map(([name, expr]) => [name, expr === REDACTED ? "''" : expr])));
    if (r.ok) return;
    for (const i of r.issues) {
      const name = /^transformHeaders\[(".*")\]$/.exec(i.path)?.[1];
      ctx.addIssue({ code: "custom", message: i.message, path: name === undefined ? [] : [String(JSON.parse(name))] });
    }
  })
  // Names are compared and sent in lower case; no header at all is stored as none.
  .transform((headers) =>
    Object.keys(headers).length === 0 ? null : Object.fromEntries(Object.entries(headers).map(([name, expr]) => [name.toLowerCase(), expr])),
  )
  .openapi({
    description:
      `Extra headers: name → JSONata expression, at most 10; never Edgehook's own, nor one a Worker cannot send (docs/filters-and-transforms.md). null: none. ${CREDENTIAL_HEADERS_NOTE} On PATCH and PUT, \`"${REDACTED}"\` keeps the stored expression; a header left out is removed.`,
    examples: [{ "x-podium-event": "metadata.eventType", "x-conversation": "data.conversation.uid" }, { "x-repository": "repository.full_name" }],
  });
