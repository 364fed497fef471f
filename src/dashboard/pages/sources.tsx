import type { z } from "@hono/zod-openapi";
import type { RejectionsSchema, SourceSchema } from "../../api/schemas/sources";
import { PROVIDER_NAMES } from "../../domain/types";
import { ConfirmAction, DottedName, EmptyRow, Words, Scroll, Required, Invalid, nothingSeen } from "../layout";
import { OwnerField, type Owners } from "../owner-field";
import { ASK } from "../confirm";
import { legible } from "../../domain/legible";
import { LOCATIONS_MAKE_NO_SOURCE } from "../../domain/source-rules";
import { PageLinks } from "../list-pages";

type SourceJson = z.infer<typeof SourceSchema>;
type RejectionsJson = z.infer<typeof RejectionsSchema>;

/** What to look at first, by why requests were refused. */
const HINTS: Record<string, string> = {
  invalid_signature: "check the secret",
  missing_signature: "the sender does not sign: check its webhook settings",
  timestamp_out_of_tolerance: "check the sender's clock, or the tolerance",
  malformed_payload: "the body is not what this provider sends, or broke off mid-upload",
  payload_too_large: "bodies over 256 KiB are refused",
  unsupported_media_type: "the sender compresses its bodies (Content-Encoding): turn that off",
  rate_limited: "one address kept sending bad signatures",
  unknown_source: "the URL names no enabled source",
};

function ago(iso: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

/** A reason's code, broken after an underscore if need be, never inside a part: whole, "timestamp_out_of_tolerance" did not fit a phone. */
function Reason(props: { reason: string }) {
  return <DottedName name={props.reason} at="_" />;
}

/** "last refused: 2 min ago, invalid_signature ×412 — check the secret", or nothing refused in a day. */
function Refused(props: { rejections: RejectionsJson["summary"]; now: number }) {
  const [latest, ...rest] = props.rejections;
  if (!latest) return <span class="muted">none in 24 h</span>;
  return (
    <span>
      last refused: {ago(latest.lastAt, props.now)}, <b>
        <Reason reason={latest.reason} />
      </b> ×{latest.lastDay}
      {HINTS[latest.reason] && <> — {HINTS[latest.reason]}</>}
      {rest.length > 0 && <span class="muted"> (also {rest.map((r, i) => (
            <>
              {i > 0 && ", "}
              <Reason reason={r.reason} /> ×{r.lastDay}
            </>
          ))})</span>}
    </span>
  );
}

// An hmac source needs its signing configuration: create those through the API.
/** Requests refused before any source was found (a wrong URL given to a provider), with the latest path asked for; nothing when none. */
function Stray(props: { label: string; log: RejectionsJson | null | undefined; now: number }) {
  const { log } = props;
  if (!log || log.summary.length === 0) return null;
  return (
    <p>
      {props.label}: <Refused rejections={log.summary} now={props.now} />
      {log.recent[0] && <> (latest asked for <code>{legible(log.recent[0].requested)}</code>)</>}
    </p>
  );
}

const PROVIDERS = PROVIDER_NAMES.filter((p) => p !== "hmac");

/** What a refused new-source form had in it (never its secret), to show it again. */
export interface SourceEntered {
  id: string;
  name: string;
  provider: string;
  organizationUid: string;
  /** The source whose "Replace secret" form was refused instead (the new-source form is then as first shown). */
  rotating?: string;
}

export function SourceList(props: {
  sources: SourceJson[];
  nextCursor: string | null;
  /** The cursor this page was opened with, if any (PageLinks). */
  at: string | undefined;
  canWrite: boolean;
  /** Whether a source is the admin's alone to change or delete (adminAlone): no button the API would refuse. */
  adminAlone: (s: SourceJson) => boolean;
  now: number;
  unknown?: RejectionsJson | null;
  invalid?: RejectionsJson | null;
  entered?: SourceEntered;
  /** The new-source form's field a refusal named (Invalid). */
  invalidField?: string | undefined;
  /** A token limited to some organizations (nothingSeen). */
  limited: boolean;
  /** Whom it may make a source for: the new-source form's owner field. */
  owners: Owners;
}) {
  const makesNone = !props.owners.anyone && props.owners.organizationUids.length === 0;
  return (
    <div class="stack">
      <Scroll label="Sources">
        <table>
          <thead>
            <tr>
              {/* Seven columns did not fit 700 px, nor four 420 px: each word was crushed ("enabl ed"), the actions cut off.
                  Below 900 px the ingress URL goes under the source's name; narrower, the table scrolls in its box. */}
              <th scope="col">Source</th>
              <th scope="col">Provider</th>
              <th scope="col">Owner</th>
              <th scope="col" class="wide">Ingress URL</th>
              <th scope="col">State</th>
              <th scope="col">Refused requests</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {props.sources.length === 0 && <EmptyRow cols={7} text={nothingSeen(props.limited, "sources")} />}
            {props.sources.map((s) => (
              <tr>
                {/* Words whole (td.word): on a phone, broken anywhere, this column read "(configura tion)", the next "invalid_sig nature". */}
                <td class="word">
                  <Words text={legible(s.name)} /> <span class="muted mono">{s.id}</span>
                  <span class="unwide">
                    <br />
                    <span class="muted">Ingress URL </span>
                    <span class="mono">{s.ingressUrl}</span>
                  </span>
                </td>
                <td class="word">{s.provider}</td>
                <td class="word">
                  {s.organizationUid ? (
                    <>
                      organization <span class="mono">{legible(s.organizationUid)}</span>
                    </>
                  ) : (
                    "admin"
                  )}
                </td>
                <td class="wide mono">{s.ingressUrl}</td>
                <td class="word">
                  {s.disabled ? "disabled" : "enabled"}
                  {/* Verified as it was, but below today's rule: nothing else would show it. */}
                  {s.secretBelowRule && (
                    <>
                      <br />
                      <b>a secret below its provider's rule</b> — replace it (keep it beside the new one until the sender signs with that
                      {s.readOnly ? ": in its Worker secret, new first" : ""})
                    </>
                  )}
                </td>
                <td class="word">
                  <Refused rejections={s.rejections ?? []} now={props.now} />
                </td>
                <td class="word">
                  {/* Why it has no actions. */}
                  {s.readOnly && <span class="muted">from configuration</span>}
                  {props.canWrite && !s.readOnly && props.adminAlone(s) && <span class="muted">the admin's alone (it teaches where locations belong)</span>}
                  {props.canWrite && !s.readOnly && !props.adminAlone(s) && (
                    <div class="actions">
                      {/* A source that checks no signature has no secret to replace: saying "replaced" would read as protected. */}
                      {s.verification === "none" ? (
                        <span class="muted">unsigned requests accepted (verification: none)</span>
                      ) : (
                        <form method="post" action={`/dashboard/sources/${s.id}/rotate`} class="inline" aria-label={`Rotate secrets of ${s.id}`}>
                          <label>
                            <span>New secret<Required /></span>
                            <input name="secret" type="password" minlength={8} required autocomplete="off" {...Invalid("secret", props.entered?.rotating === s.id ? props.invalidField : undefined)} />
                          </label>
                          <label>
                            <span>Still accept (the current secret, while the provider switches)</span>
                            <input name="previous" type="password" autocomplete="off" {...Invalid("previous", props.entered?.rotating === s.id ? props.invalidField : undefined)} />
                          </label>
                          <button type="submit" class="secondary" aria-label={`Replace secret of source ${s.id}`}>
                            Replace secret
                          </button>
                        </form>
                      )}
                      <ConfirmAction action={`/dashboard/sources/${s.id}/delete`} label="Delete" name={`Delete source ${s.id}`} confirm={ASK.deleteSource(s.id)} />
                    </div>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Scroll>
      <PageLinks path="/dashboard/sources" name="cursor" at={props.at} cursor={props.nextCursor} label="More sources →" />
      <Stray label="Requests to source ids that name no enabled source" log={props.unknown} now={props.now} />
      <Stray label="Requests to paths that are no source id (a trailing slash, capitals, a deeper path)" log={props.invalid} now={props.now} />
      {props.canWrite && makesNone && (
        <section class="card stack" aria-label="New source">
          <h2>New source</h2>
          <p class="muted">{LOCATIONS_MAKE_NO_SOURCE}</p>
        </section>
      )}
      {props.canWrite && !makesNone && (
        <form method="post" action="/dashboard/sources" class="card stack" aria-label="New source">
          <h2>New source</h2>
          <label>
            Id (optional slug)
            <input name="id" pattern="[a-z0-9\-]{1,64}" value={props.entered?.id ?? ""} {...Invalid("id", props.invalidField)} />
          </label>
          <label>
            <span>Name<Required /></span>
            <input name="name" required value={props.entered?.name ?? ""} {...Invalid("name", props.invalidField)} />
          </label>
          <label>
            Provider
            <select name="provider" {...Invalid("provider", props.invalidField)}>
              {PROVIDERS.map((p) => (
                <option value={p} selected={props.entered?.provider === p}>
                  {p}
                </option>
              ))}
            </select>
          </label>
          <OwnerField
            owners={props.owners}
            entered={props.entered?.organizationUid}
            invalidField={props.invalidField}
            labels={{ free: "Owner organization (optional; empty: no organization owns it)", choice: "Owner organization (its events are that organization's)" }}
          />
          <label>
            <span>Secret (the provider's signing secret; never shown again)<Required /></span>
            <input name="secret" type="password" minlength={8} required autocomplete="off" {...Invalid("secret", props.entered?.rotating === undefined ? props.invalidField : undefined)} />
          </label>
          <div>
            <button type="submit">Create source</button>
          </div>
        </form>
      )}
    </div>
  );
}
