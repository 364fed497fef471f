import { oneOf } from "./guards";

/** Token scopes (what each allows: docs/api.md). `admin` implies every other. */
export const SCOPES = [
  "admin",
  "sources:read",
  "sources:write",
  "webhooks:read",
  "webhooks:write",
  "events:read",
  "events:replay",
  "read_messages",
  "read_contacts",
  "read_payments",
  "read_reviews",
] as const;

export type Scope = (typeof SCOPES)[number];

export const isScope = oneOf(SCOPES);

/** Who is calling the API, and what it may see. */
export interface Principal {
  tokenId: string | null;
  scopes: ReadonlySet<Scope>;
  /** null: not limited. */
  organizationUids: string[] | null;
  locationUids: string[] | null;
}

/** What the API says to a token without `scope` (403), and the dashboard of a page that needs it. */
export const lacksScope = (scope: Scope) => `This token lacks the scope "${scope}".`;

export function hasScope(p: Principal, scope: Scope): boolean {
  return p.scopes.has("admin") || p.scopes.has(scope);
}
