// API tokens.
import "@hono/zod-openapi"; // gives every zod schema .openapi()
import { z } from "../../domain/zod";
import { SCOPES } from "../../domain/scopes";
import { EXAMPLE_IDS } from "./examples";
import { time, givenName, newOwnerUid, distinct } from "./fields";

export const TokenSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    scopes: z.array(z.enum(SCOPES)),
    organizationUids: z.array(z.string()).nullable(),
    locationUids: z.array(z.string()).nullable(),
    createdAt: time,
    lastUsedAt: time.nullable(),
    revokedAt: time.nullable(),
  })
  .openapi("Token");

export const TokenCreated = TokenSchema.extend({ token: z.string() }).openapi("TokenCreated");

/** A token without a scope could do nothing: said so rather than zod's "expected array to have >=1 items". */
const NO_SCOPE = "give at least one scope, such as events:read";

export const TokenCreate = z
  .strictObject({
    name: givenName,
    scopes: distinct(z.array(z.enum(SCOPES), { error: (issue) => (issue.input === undefined ? NO_SCOPE : undefined) }).min(1, NO_SCOPE)),
    organizationUids: distinct(z.array(newOwnerUid).min(1).max(100)).optional(),
    locationUids: distinct(z.array(newOwnerUid).min(1).max(100)).optional(),
  })
  .refine((t) => !t.scopes.includes("admin") || (t.organizationUids === undefined && t.locationUids === undefined), {
    message: "admin reaches every organization, so it cannot be limited to organizationUids or locationUids; give the scopes the token needs instead",
    path: ["scopes"],
  })
  .openapi("TokenCreate", {
    example: { name: "Reporting (read-only)", scopes: ["events:read", "webhooks:read", "read_messages"], organizationUids: [EXAMPLE_IDS.organizationUid] },
  });
