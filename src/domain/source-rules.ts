import { AppError, type Issue } from "./errors";
import type { HmacConfig } from "./hmac-config";
import { hasScope, type Principal } from "./scopes";
import type { Source } from "./types";

/** A source's verification as a create gives it (a field left out is its default: signature, none) or as a change leaves it. */
type Verifying = Pick<Source, "provider"> & {
  verification?: Source["verification"];
  secrets?: readonly string[];
  hmac?: HmacConfig | null;
  shopDomain?: string | null;
};

/**
 * What makes a source one its provider cannot verify as configured, each field at fault in
 * order: signature verification without a secret, an hmac configuration on any provider but
 * `hmac` (or none on it), or one whose timestamp header is its signature header, a shop domain
 * on any but `shopify`. The same rules for a source made
 * (its body) and changed (the source as the change leaves it).
 */
export function sourceProblems(s: Verifying): Issue[] {
  const problems: Issue[] = [];
  if (s.verification !== "none" && (s.secrets ?? []).length === 0) {
    problems.push({ path: "secrets", message: "a source with signature verification needs 1 to 5 secrets" });
  }
  if ((s.provider === "hmac") !== (s.hmac != null)) {
    problems.push({ path: "hmac", message: "the hmac configuration is required for the hmac provider, and only for it" });
  }
  if (s.hmac?.timestampHeader != null && s.hmac.timestampHeader === s.hmac.header) {
    // One header cannot be both a signature and an epoch timestamp: every request would be refused 401.
    problems.push({ path: "hmac", message: "timestampHeader must be another header than header (the signature's)" });
  }
  if (s.shopDomain != null && s.provider !== "shopify") problems.push({ path: "shopDomain", message: "only a shopify source has a shop domain" });
  return problems;
}

/** Why a token limited to locations alone makes no source: the API's refusal, and the dashboard's words where its form would be. */
export const LOCATIONS_MAKE_NO_SOURCE = "A token limited to locations cannot create sources: a source belongs to an organization.";

/**
 * Whether `s` is the admin's alone to delete, or to change how it verifies, for `p`: a source that
 * teaches which organization a location belongs to. The API's check and what the dashboard offers.
 */
export const adminAlone = (p: Principal, s: Pick<Source, "teachesLocations">): boolean => s.teachesLocations && !hasScope(p, "admin");

/** The 403 of `what` ("delete", "change secrets of") done by another than the admin to such a source. */
export function teachingRefusal(what: string): AppError {
  // Whether it verifies now or not (a source with verification "none" teaches nothing meanwhile): its view's teachesLocations.
  return new AppError("forbidden", `Only the admin may ${what} a source that teaches which organization a location belongs to while it verifies signatures (teachesLocations).`, {
    missingScope: "admin",
  });
}
