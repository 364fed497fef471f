// The dashboard's client of the /v1 API, called in-process.
import type { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { api } from "../api";
import { envActingAs } from "../api/auth";
import { ErrorSchema } from "../api/schemas/fields";
import { STATUS_OF } from "../http/errors";
import { isRecord } from "../domain/guards";
import type { DashEnv } from "./session";

type ApiAnswer<T> =
  | { ok: true; status: number; json: T; error: null }
  | {
      ok: false;
      status: ContentfulStatusCode;
      json: null;
      error: string;
      reason?: string | undefined;
      cause?: string | undefined;
      /** The fields its `details.issues` name, in order: each issue's path up to its first dot (`eventTypes.0` → eventTypes); `paths` whole. */
      fields?: string[];
      paths?: string[];
      details?: unknown;
    };

/** The paths a refusal's `details.issues` name, in order (`eventTypes.0`). */
function issuePaths(details: unknown): string[] {
  const issues = isRecord(details) && Array.isArray(details.issues) ? details.issues : [];
  return issues.flatMap((i: unknown) => (isRecord(i) && typeof i.path === "string" && i.path !== "" ? [i.path] : []));
}

/** A refusal's status as the API answered it (one of its errors' statuses), for the page that shows it. */
const refusalStatus = (status: number): ContentfulStatusCode => Object.values(STATUS_OF).find((s) => s === status) ?? 502;

/** The field an issue's path is in (`eventTypes.0` → eventTypes). */
export const fieldOf = (path: string): string => path.split(".", 1)[0] ?? path;

/**
 * The dashboard is a client of the /v1 API, called in-process as the
 * session's principal (no credential travels with the request): every page
 * and action gets exactly the API's scope checks. The answer is checked
 * against the schema the route documents.
 */
export async function callApi<S extends z.ZodType>(
  c: Context<DashEnv>,
  method: string,
  path: string,
  schema: S,
  body?: unknown,
): Promise<ApiAnswer<z.output<S>>> {
  const res = await api.fetch(
    // At the dashboard's own origin, as the API would be called: what it says of its own URLs
    // (a source's ingress URL, a webhook pointing back at the ingress) holds for the dashboard too.
    new Request(new URL(path, new URL(c.req.url).origin), {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
    envActingAs(c.env, c.get("principal")),
    c.executionCtx,
  );
  const json: unknown = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) {
    const error = ErrorSchema.safeParse(json).data?.error;
    // `details.reason` (and `details.cause`, a reason's own why), where the API gives one for a client to branch on (a page may say it in its own words).
    const detail = (name: "reason" | "cause") => (isRecord(error?.details) && typeof error.details[name] === "string" ? error.details[name] : undefined);
    const paths = issuePaths(error?.details);
    const fields = paths.map(fieldOf);
    return { ok: false, status: refusalStatus(res.status), json: null, error: error?.message ?? `HTTP ${res.status}`, reason: detail("reason"), cause: detail("cause"), fields, paths, details: error?.details };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    console.error("dashboard: unexpected API answer", { method, path: new URL(path, "https://x").pathname, status: res.status });
    return { ok: false, status: 502, json: null, error: "The API answered in an unexpected shape." };
  }
  return { ok: true, status: res.status, json: parsed.data, error: null };
}
