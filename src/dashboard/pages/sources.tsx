import type { z } from "@hono/zod-openapi";
import type { SourceSchema } from "../../api/schemas";
import { PROVIDER_NAMES } from "../../domain/types";
import { Action } from "../layout";

export type SourceJson = z.infer<typeof SourceSchema>;

// An hmac source needs its signing configuration: create those through the API.
const PROVIDERS = PROVIDER_NAMES.filter((p) => p !== "hmac");

export function SourceList(props: { sources: SourceJson[]; canWrite: boolean }) {
  return (
    <div class="stack">
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">Source</th>
              <th scope="col">Provider</th>
              <th scope="col" class="opt">Owner</th>
              <th scope="col" class="opt">Ingress URL</th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {props.sources.map((s) => (
              <tr>
                <td>
                  {s.name} <span class="muted mono">{s.id}</span>
                </td>
                <td>{s.provider}</td>
                <td class="opt">{s.organizationUid ? `organization ${s.organizationUid}` : "admin"}</td>
                <td class="opt mono">{s.ingressUrl}</td>
                <td>
                  {s.disabled ? "disabled" : "enabled"}
                  {s.readOnly && <span class="muted"> · from configuration</span>}
                </td>
                <td>
                  {props.canWrite && !s.readOnly && (
                    <div class="actions">
                      <form method="post" action={`/dashboard/sources/${s.id}/rotate`} class="inline" aria-label={`Rotate secrets of ${s.id}`}>
                        <label>
                          New secret
                          <input name="secret" type="password" minlength={8} required autocomplete="off" />
                        </label>
                        <button type="submit" class="secondary">
                          Replace secret
                        </button>
                      </form>
                      <Action action={`/dashboard/sources/${s.id}/delete`} label="Delete" kind="danger" />
                    </div>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {props.canWrite && (
        <form method="post" action="/dashboard/sources" class="card stack" aria-label="New source">
          <h2>New source</h2>
          <label>
            Id (optional slug)
            <input name="id" pattern="[a-z0-9-]{1,64}" />
          </label>
          <label>
            Name
            <input name="name" required />
          </label>
          <label>
            Provider
            <select name="provider">
              {PROVIDERS.map((p) => (
                <option value={p}>{p}</option>
              ))}
            </select>
          </label>
          <label>
            Secret (the provider's signing secret; never shown again)
            <input name="secret" type="password" minlength={8} required autocomplete="off" />
          </label>
          <div>
            <button type="submit">Create source</button>
          </div>
        </form>
      )}
    </div>
  );
}
