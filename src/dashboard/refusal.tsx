import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { appErrorOf, STATUS_OF } from "../http/errors";
import type { Principal } from "../domain/scopes";
import { homeOf, Layout } from "./layout";
import type { DashEnv } from "./session";

/**
 * A request the dashboard refuses before any page handles it (its body, or its address), as a
 * page of the dashboard: what was wrong, and a link back to where the principal's dashboard
 * starts. Without `principal` (answered before the session is looked up) it shows what the
 * sign-in page shows a signed-out visitor: no navigation and no sign-out, nothing that would
 * say whether the request held a session; its link leads to /dashboard, which signs in first.
 */
export function refusalPage(
  c: Context,
  refused: { status: ContentfulStatusCode; title: string; message: string; principal?: Principal; headers?: Record<string, string> },
): Response | Promise<Response> {
  return c.html(
    <Layout title={refused.title} path={c.req.path} principal={refused.principal} error={refused.message}>
      <p>
        <a href={refused.principal ? homeOf(refused.principal) : "/dashboard"}>Back to the dashboard</a>
      </p>
    </Layout>,
    refused.status,
    refused.headers,
  );
}

/**
 * The dashboard's answer to an error no page handled (a cross-origin post, a 500, an AppError):
 * the API's status and message (a 500 logged as there), as a page; signed out (its principal not
 * known yet), the signed-out one.
 */
export function errorPage(err: Error, c: Context<DashEnv>): Response | Promise<Response> {
  const e = appErrorOf(err);
  const title = e.code.charAt(0).toUpperCase() + e.code.slice(1).replaceAll("_", " ");
  const headers: Record<string, string> = e.retryAfterSeconds === undefined ? {} : { "retry-after": String(e.retryAfterSeconds) };
  return refusalPage(c, { status: STATUS_OF[e.code], title, message: e.message, principal: c.get("principal"), headers });
}

/** A dashboard path no page serves (404), or not with this method (405, naming those it takes, as the API's). */
export function notFoundPage(c: Context<DashEnv>, allowed: string[]): Response | Promise<Response> {
  const principal = c.get("principal");
  if (allowed.length > 0) {
    const message = `${c.req.method} is not served here; use ${allowed.join(", ")}.`;
    return refusalPage(c, { status: 405, title: "Method not allowed", message, principal, headers: { allow: allowed.join(", ") } });
  }
  return refusalPage(c, { status: 404, title: "Not found", message: `No dashboard page at ${c.req.path}.`, principal });
}
