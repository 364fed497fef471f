// A new source's or webhook's organization field, shaped by whom the session may make one for.
import { isLimited } from "../domain/access";
import { legible } from "../domain/legible";
import type { Principal } from "../domain/scopes";
import { Invalid, Required } from "./layout";

/**
 * Whom the session may make a source or webhook for, as the API takes its `organizationUid`:
 * any organization or none (an unlimited token, the admin), else one of a limited token's
 * organizations (none: a token limited to locations).
 */
export type Owners = { anyone: true } | { anyone: false; organizationUids: string[] };

/** Whom `p` may make one for (the API decides: this only shapes the form's field). */
export const ownersOf = (p: Principal): Owners => (isLimited(p) ? { anyone: false, organizationUids: p.organizationUids ?? [] } : { anyone: true });

/**
 * The `organizationUid` field: free text labelled `labels.free`, or a choice among the token's
 * organizations labelled `labels.choice` (the one it holds preselected). Required, unless `none`
 * labels the choice of no organization (a webhook may be a location's instead), which is then the
 * default: the API takes exactly one owner, and a location typed beside an organization preselected
 * would send both. Nothing for a token of no organization.
 */
export function OwnerField(props: {
  owners: Owners;
  entered: string | undefined;
  invalidField: string | undefined;
  labels: { free: string; choice: string };
  none?: string;
}) {
  const invalid = Invalid("organizationUid", props.invalidField);
  if (props.owners.anyone) {
    return (
      <label>
        {props.labels.free}
        <input name="organizationUid" value={props.entered ?? ""} {...invalid} />
      </label>
    );
  }
  const orgs = props.owners.organizationUids;
  if (orgs.length === 0) return null;
  return (
    <label>
      <span>
        {props.labels.choice}
        {props.none === undefined && <Required />}
      </span>
      <select name="organizationUid" required={props.none === undefined} {...invalid}>
        {/* Several: no default, as the API takes none (a source made for the wrong organization cannot be moved). */}
        {(props.none !== undefined || orgs.length > 1) && <option value="">{props.none ?? "Choose one of this token's organizations"}</option>}
        {orgs.map((o) => (
          <option value={o} selected={props.entered === undefined ? orgs.length === 1 && props.none === undefined : props.entered === o}>
            {legible(o)}
          </option>
        ))}
      </select>
    </label>
  );
}
