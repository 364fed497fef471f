import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Principal } from "../domain/scopes";
import { homeOf, Layout } from "./layout";

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
