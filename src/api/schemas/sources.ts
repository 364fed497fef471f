// Sources: what they are and refuse, and making and changing one.
import "@hono/zod-openapi"; // gives every zod schema .openapi()
import { z } from "../../domain/zod";
import { TOLERANCE_S_LIMITS } from "../../domain/settings";
import { ALERT_SOURCE } from "../../domain/alerts";
import { HmacConfigShape } from "../../domain/hmac-config";
import { sourceProblems } from "../../domain/source-rules";
import { PROVIDER_NAMES } from "../../domain/types";
import { SOURCE_ID } from "../../domain/ids";
import { REFERENCE_EXAMPLE_SECRET } from "../../domain/secrets";
import { signatureHeaderIssues, sourceSecretIssues } from "../../ingress/providers";
import { time, givenName, newOwnerUid, distinct, anySecret } from "./fields";

const headerName = z.string().regex(/^[A-Za-z0-9-]{1,100}$/, "an HTTP header name").transform((h) => h.toLowerCase());
const dotPath = z.string().regex(/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/, "a dot path such as data.object.id").max(200);

// The stored shape (domain/hmac-config.ts), with what a request must also satisfy.
const stored = HmacConfigShape.shape;
const HmacConfigSchema = HmacConfigShape.extend({
  header: headerName.openapi({
    example: "x-signature",
    description: "Not one stored with every event, nor the connection's or a browser credential's; timestampHeader neither: docs/providers.md.",
  }),
  algorithm: stored.algorithm.default("SHA-256"),
  encoding: stored.encoding.default("hex"),
  // ", " parts the copies of a header sent more than once (src/schemes/scheme.ts): a prefix with it could never match.
  // A signature header's value is trimmed before its prefix is looked for: a prefix led by white space could never match.
  prefix: stored.prefix
    .max(40)
    .refine((p) => !p.includes(", "), "must not contain \", \"")
    .refine((p) => !/^\s/.test(p), "must not start with white space")
    .default("")
    .openapi({ example: "sha256=", description: "Written before the encoded MAC; matched in any case (`sha256=` takes `SHA256=`)." }),
  timestampHeader: headerName.nullable().default(null).openapi({
    description: "When set, the signed content is `${timestamp}.${body}` and the timestamp must be within the tolerance.",
  }),
  typePath: dotPath.nullable().default(null).openapi({ example: "type" }),
  dedupePath: dotPath.nullable().default(null).openapi({ example: "id" }),
})
  .strict()
  .openapi("HmacConfig");

const RejectionSummarySchema = z
  .object({
    reason: z.string().openapi({ example: "invalid_signature" }),
    thisHour: z.number().int().openapi({ description: "Refused in the current clock hour." }),
    lastDay: z.number().int().openapi({ description: "Refused in the last 24 clock hours." }),
    lastAt: time,
  })
  .openapi("RejectionSummary");

export const RejectionsSchema = z
  .object({
    sourceId: z.string(),
    summary: z.array(RejectionSummarySchema),
    recent: z.array(
      z.object({
        at: time,
        reason: z.string(),
        requested: z.string().openapi({ description: "The source id the request's path named." }),
        client: z.string().openapi({ description: "The client's address." }),
        userAgent: z.string().nullable(),
        headerNames: z.array(z.string()).openapi({ description: "The request's header names; never their values, nor the body." }),
      }),
    ),
  })
  .openapi("Rejections");

export const SourceSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    provider: z.enum(PROVIDER_NAMES),
    verification: z.enum(["signature", "none"]),
    toleranceSeconds: z.number().int(),
    disabled: z.boolean(),
    ingressUrl: z.string(),
    readOnly: z.boolean().openapi({ description: "Declared by configuration (a Worker secret); change it there." }),
    // Not .nullable(): on a named schema it makes the component itself nullable, and with it
    // SourceCreate's and SourcePatch's hmac, which refuse null.
    hmac: z.union([HmacConfigSchema, z.null()]),
    shopDomain: z.string().nullable().openapi({ description: "Shopify: the one shop this source accepts." }),
    organizationUid: z.string().nullable().openapi({
      description: "The owning organization: its events alone come through (pinned to it). null: no organization owns it.",
    }),
    teachesLocations: z.boolean().openapi({
      description:
        "Whether its events teach which organization a location belongs to; then only the admin may change it: docs/providers.md#sources-api.",
    }),
    secretBelowRule: z.boolean().openapi({
      description:
        "Whether it verifies signatures with a secret stored before its provider's rule that breaks it: docs/providers.md says how it is verified and rotated.",
    }),
    createdAt: time.nullable().openapi({ description: "null for a source declared by configuration (readOnly)." }),
    updatedAt: time.nullable().openapi({ description: "null for a source declared by configuration (readOnly)." }),
    rejections: z
      .array(RejectionSummarySchema)
      .optional()
      .openapi({ description: "In lists and reads: requests refused in the last 24 hours, by reason, latest first." }),
  })
  .openapi("Source");

// What more a source's secret must be is its provider's to say (sourceSecretIssues, on the source made or
// changed): only Standard Webhooks reads a key out of a `whsec_` one.
const secrets = distinct(z.array(anySecret).min(1).max(5), () => "the same secret").openapi({
  description:
    "Write-only. The first is current, the others still accepted: docs/providers.md#rotating-a-sources-secret.",
});
const shopDomain = z
  .string()
  .max(255)
  .toLowerCase()
  .regex(/^[a-z0-9][a-z0-9-]*\.myshopify\.com$/, "a shop's myshopify.com domain, e.g. acme.myshopify.com")
  .openapi({
    // Matched in any case (a domain's case means nothing) and stored lower-case: the document's
    // pattern says so, where the one above, run on the lower-cased value, would forbid `Acme…`.
    pattern: "^[A-Za-z0-9][A-Za-z0-9-]*\\.[Mm][Yy][Ss][Hh][Oo][Pp][Ii][Ff][Yy]\\.[Cc][Oo][Mm]$",
    example: "acme.myshopify.com",
    description:
      "Any case, stored lower-case. Shopify only: requests naming another shop are refused (401): docs/providers.md.",
  });

export const SourceCreate = z
  .strictObject({
    id: z
      .string()
      .regex(SOURCE_ID, "a slug: [a-z0-9-]{1,64}")
      .refine((id) => id !== ALERT_SOURCE, `"${ALERT_SOURCE}" is reserved: Edgehook's alerts are stored under it`)
      .optional(),
    name: givenName,
    provider: z.enum(PROVIDER_NAMES),
    secrets: secrets.optional(),
    verification: z.enum(["signature", "none"]).optional(),
    toleranceSeconds: z.number().int().min(TOLERANCE_S_LIMITS.min).max(TOLERANCE_S_LIMITS.max).optional(),
    disabled: z.boolean().optional(),
    hmac: HmacConfigSchema.optional().openapi({ description: "Required for the `hmac` provider, refused for others." }),
    shopDomain: shopDomain.optional(),
    organizationUid: newOwnerUid.optional().openapi({
      description: "The owning organization. A limited token's sources belong to one of its organizations (the only one by default).",
    }),
  })
  .superRefine((s, ctx) => {
    const issues = [...sourceSecretIssues(s.provider, s.secrets ?? []), ...sourceProblems(s), ...signatureHeaderIssues({ provider: s.provider, hmac: s.hmac ?? null })];
    for (const { path, message } of issues) {
      ctx.addIssue({ code: "custom", message, path: path.split(".") });
    }
  })
  .openapi("SourceCreate", {
    // An obviously fake secret: the reference shows it, and a caller pastes their own.
    example: { id: "stripe-billing", name: "Stripe billing", provider: "stripe", secrets: [REFERENCE_EXAMPLE_SECRET] },
  });

/**
 * What a source keeps for life: a PATCH naming them is refused saying so, not as a typo (only when
 * they are its only unknown keys: validate.ts gives each unknown key the issue's message).
 */
const SOURCE_FIXED: readonly string[] = ["provider", "organizationUid"];
const SOURCE_FIXED_MESSAGE = "a source's provider and owner (organizationUid) cannot change; create a new source instead";

export const SourcePatch = z
  .strictObject(
    {
      name: givenName.optional(),
      secrets: secrets.optional(),
      verification: z.enum(["signature", "none"]).optional(),
      toleranceSeconds: z.number().int().min(TOLERANCE_S_LIMITS.min).max(TOLERANCE_S_LIMITS.max).nullable().optional(),
      disabled: z.boolean().optional(),
      // null as a GET shows it of any source but an hmac one, so that what was read can be sent back (an hmac source's is refused: it needs one).
      hmac: z.union([HmacConfigSchema, z.null()]).optional().openapi({
        description:
          "Replaces the whole configuration: a field left out takes its default (not the source's current value), so send every field you set. null: none (as read; an `hmac` source's is refused).",
      }),
      shopDomain: shopDomain.nullable().optional(),
    },
    { error: (issue) => (issue.code === "unrecognized_keys" && issue.keys.every((k) => SOURCE_FIXED.includes(k)) ? SOURCE_FIXED_MESSAGE : undefined) },
  )
  .openapi("SourcePatch", { example: { name: "Stripe billing (EU account)", toleranceSeconds: 600 } });
