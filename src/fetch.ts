import type { Env } from "./env";
import { handleError } from "./http/errors";
import { receive } from "./ingress/receive";

const INGRESS_PREFIX = "/webhooks/";

/** The source id of a POST to /webhooks/{sourceId} (a query string aside), else null. */
function ingressSourceId(req: Request): string | null {
  if (req.method !== "POST") return null;
  const url = req.url;
  const path = url.indexOf("/", url.indexOf("//") + 2);
  if (path < 0 || !url.startsWith(INGRESS_PREFIX, path)) return null;
  const query = url.indexOf("?", path);
  const id = url.slice(path + INGRESS_PREFIX.length, query < 0 ? undefined : query);
  return id === "" || id.includes("/") || id.includes("%") ? null : id;
}

// The app (src/app.ts), built on the first request that needs it. Its schemas, routes and
// OpenAPI document were ~40% of the Worker's startup, which every new isolate pays before its
// first ack (docs/performance.md). A dynamic import: the bundle evaluates the app's modules
// when it first runs, not at startup (test/e2e/bundle.test.ts).
let app: Promise<(typeof import("./app"))["app"]> | undefined;
const loadApp = () => (app ??= import("./app").then((m) => m.app));

/** What the handler needs of the app: its fetch. */
type AppFetch = Pick<Awaited<ReturnType<typeof loadApp>>, "fetch">;

/**
 * A fetch handler over an app from `load`. Provider requests go straight to the ack path:
 * the app's router searches a trie of every API and dashboard route, which cost the ack path
 * ~0.4 ms of CPU per request, and its context more; everything else goes to the app.
 */
export function fetchHandlerOver(load: () => Promise<AppFetch>) {
  return (req: Request, env: Env, ctx: ExecutionContext): Promise<Response> => {
    const sourceId = ingressSourceId(req);
    if (sourceId !== null) return receive(req, sourceId, env, ctx).catch(handleError);
    // (A module of the app that failed to load answers as any other error would, in JSON.)
    return load().then((a) => a.fetch(req, env, ctx)).catch(handleError);
  };
}

/** The Worker's fetch handler. */
export const fetchHandler = fetchHandlerOver(loadApp);
