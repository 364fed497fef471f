import type { z } from "@hono/zod-openapi";
import type { TokenSchema } from "../../api/schemas/tokens";
import { SCOPES } from "../../domain/scopes";
import { legible } from "../../domain/legible";
import { ASK } from "../confirm";
import { ConfirmAction, Time, Scroll, shortened, Required, Invalid } from "../layout";
import { PageLinks } from "../list-pages";

type TokenJson = z.infer<typeof TokenSchema>;

/** What a refused new-token form had in it, to show it again (a token is only made once it is accepted). */
export interface TokenEntered {
  name: string;
  scopes: string[];
  organizationUids: string;
  locationUids: string;
}

/** Whom a token's data is limited to: its organizations and locations, or every one. */
function Grant(props: { t: TokenJson }) {
  const { organizationUids: orgs, locationUids: locs } = props.t;
  if (orgs === null && locs === null) return <span class="muted">every organization</span>;
  // The words whole (the cell is td.word), the uids, which may be long, broken anywhere.
  return (
    <>
      {orgs && (
        <>
          organizations <span class="mono">{legible(orgs.join(", "))}</span>
        </>
      )}
      {orgs && locs && <br />}
      {locs && (
        <>
          locations <span class="mono">{legible(locs.join(", "))}</span>
        </>
      )}
    </>
  );
}

/** The API tokens, newest first (never their secrets: the API keeps only a hash), and a form for a new one. */
/** `invalidField`: the new-token form's field a refusal named (Invalid). */
export function TokenList(props: { tokens: TokenJson[]; nextCursor: string | null; at: string | undefined; ownTokenId: string | null; entered?: TokenEntered; invalidField?: string | undefined }) {
  const entered = props.entered;
  return (
    <div class="stack">
      {props.tokens.length === 0 ? (
        <p class="muted">No scoped token yet: only ADMIN_TOKEN signs in.</p>
      ) : (
        <Scroll label="Tokens">
          <table>
            <thead>
              <tr>
                <th scope="col">Token</th>
                <th scope="col">Scopes</th>
                <th scope="col">Grant</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {props.tokens.map((t) => (
                <tr>
                  <td>
                    {legible(t.name)} <span class="muted mono">{t.id}</span>
                    {t.id === props.ownTokenId && <span class="muted"> · this session's</span>}
                  </td>
                  {/* Scopes are the API's words: squeezed, this column read "webhooks:re ad", the grant's "organiz ations". */}
                  <td class="mono word">{t.scopes.join(", ")}</td>
                  <td class="word">
                    <Grant t={t} />
                  </td>
                  <td>
                    <Time iso={t.createdAt} />
                  </td>
                  <td>
                    <Time iso={t.lastUsedAt} />
                  </td>
                  <td>
                    {t.revokedAt ? (
                      <>
                        revoked <Time iso={t.revokedAt} />
                      </>
                    ) : (
                      <ConfirmAction action={`/dashboard/tokens/${t.id}/revoke`} label="Revoke" name={`Revoke token ${shortened(t.name)} ${t.id}`} confirm={ASK.revokeToken(t.id)} />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Scroll>
      )}
      <PageLinks path="/dashboard/tokens" name="cursor" at={props.at} cursor={props.nextCursor} label="Older tokens →" />
      <form method="post" action="/dashboard/tokens" class="card stack" aria-label="New token">
        <h2>New token</h2>
        <label>
          <span>Name<Required /></span>
          <input name="name" required maxlength={200} value={entered?.name ?? ""} {...Invalid("name", props.invalidField)} />
        </label>
        <fieldset>
          <legend>
            Scopes <span class="required">(required: choose at least one)</span>
          </legend>
          {SCOPES.map((s, i) => (
            <label class="check">
              <input name="scopes" type="checkbox" value={s} checked={entered?.scopes.includes(s) ?? false} {...Invalid("scopes", props.invalidField, i === 0)} /> {s}
            </label>
          ))}
        </fieldset>
        <label>
          Organizations (uids, comma-separated; empty: every one)
          <input name="organizationUids" value={entered?.organizationUids ?? ""} {...Invalid("organizationUids", props.invalidField)} />
        </label>
        <label>
          Locations (uids, comma-separated; empty: every one)
          <input name="locationUids" value={entered?.locationUids ?? ""} {...Invalid("locationUids", props.invalidField)} />
        </label>
        <p class="muted">The token is shown once, on the next page; only a hash of it is kept.</p>
        <div>
          <button type="submit">Create token</button>
        </div>
      </form>
    </div>
  );
}
