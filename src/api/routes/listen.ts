import { assertDataScopes, assertMayHear } from "../../domain/access";
import { ALERT_SOURCE } from "../../domain/alerts";
import { AppError, invalidField } from "../../domain/errors";
import { errorResponse } from "../../http/errors";
import { hasScope } from "../../domain/scopes";
import { newWebhookSecret } from "../../domain/secrets";
import { adminKey } from "../../domain/tokens";
import { hubOf, listenerConnected } from "../../listen/announce";
import { CONFIG_HEADER, SECRET_HEADER, type ListenerConfig } from "../../listen/protocol";
import { SOCKETS_IN_ALL, SOCKETS_PER_TOKEN } from "../../listen/limits";
import { signingSecretProblem } from "../../schemes/standard-webhooks";
import { apiRoute, errorAnswer, errors, router, scoped } from "../openapi";
import { ErrorSchema } from "../schemas/fields";
import { ListenQuery } from "../schemas/listen";
import { visibleWebhook } from "../webhook-access";
import { checkSubscriptionTypes, heldOrganizations, namedSources } from "../event-type-check";

const listen = apiRoute({
  method: "get",
  path: "/listen",
  operationId: "streamEvents",
  summary: "A WebSocket that streams matching events as they are stored (and, in tail mode, delivery attempts)",
  description:
    "Send `Upgrade: websocket`; each message is a JSON object: docs/cli.md. A token hears only what it may read.",
  ...scoped("events:read"),
  request: { query: ListenQuery },
  responses: {
    101: { description: "Switching Protocols: the WebSocket" },
    426: { description: "upgrade_required: not a WebSocket upgrade", content: { "application/json": { schema: ErrorSchema } } },
    429: errorAnswer(
      429,
      `rate_limited: too many failed authentications from this address, or the token holds its ${SOCKETS_PER_TOKEN} sockets, or the hub its ${SOCKETS_IN_ALL} (see Retry-After)`,
    ),
    ...errors(404),
  },
});

export const listener = router().openapi(listen, async (c) => {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    return errorResponse(new AppError("upgrade_required", "GET /v1/listen is a WebSocket: send `Upgrade: websocket` (the edgehook CLI does)."), {
      upgrade: "websocket",
    });
  }
  const q = c.req.valid("query");
  const p = c.get("principal");
  if (q.webhookUid !== undefined) {
    // Hearing a webhook's events signed with its secret is what its URL receives: as much as changing that URL.
    const scope = q.mode === "listen" ? "webhooks:write" : "webhooks:read";
    if (!hasScope(p, scope)) throw new AppError("forbidden", `Listening as a webhook needs the scope "${scope}".`, { missingScope: scope });
    const webhook = await visibleWebhook(c.env.DB, p, q.webhookUid);
    if (q.mode === "listen") assertDataScopes(p, webhook.eventTypes, "listen");
  }
  // A source that does not exist (or another organization's, for a limited token: in the same words),
  // or a Podium type that does not exist and no source has received (`message.recieved`), is refused as a webhook's is: else the
  // socket would open and hear nothing, without a word. Alerts' source is none stored nor declared:
  // it is let be as one named before would be. An unseen type of another provider is let be (a socket has no answer to warn in).
  if (q.eventTypes !== undefined) assertMayHear(p, q.eventTypes);
  // Alerts are the admin's (canSeeEvent): another token naming their source would hear nothing from it.
  if (q.sourceIds?.includes(ALERT_SOURCE) && !hasScope(p, "admin")) {
    throw new AppError("forbidden", `sourceIds names "${ALERT_SOURCE}", the source of Edgehook's alerts, which only an admin token hears.`, { missingScope: "admin" });
  }
  const owners = heldOrganizations(c.env, p);
  if (q.eventTypes !== undefined) await checkSubscriptionTypes(c.env, q.eventTypes, q.sourceIds ?? null, [ALERT_SOURCE], owners, "query");
  else if (q.sourceIds !== undefined) await namedSources(c.env, q.sourceIds, [ALERT_SOURCE], owners, "query");
  const given = c.req.header(SECRET_HEADER);
  // The rule of a webhook's secret: what the listener signs with, a receiver's Standard Webhooks library must decode.
  const problem = given === undefined ? null : given.length < 8 || given.length > 256 ? "8 to 256 characters" : signingSecretProblem(given);
  if (problem) throw invalidField(`${SECRET_HEADER}: ${problem}.`, { path: SECRET_HEADER, message: problem });
  const config: ListenerConfig = {
    mode: q.mode,
    principal: {
      tokenId: p.tokenId,
      scopes: [...p.scopes],
      organizationUids: p.organizationUids,
      locationUids: p.locationUids,
      adminKey: p.tokenId === null ? await adminKey(c.env) : null,
    },
    sourceIds: q.sourceIds ?? null,
    eventTypes: q.eventTypes ?? null,
    webhookUid: q.webhookUid ?? null,
    secret: q.mode === "listen" && q.webhookUid === undefined ? (given ?? newWebhookSecret()) : null,
    after: q.after ?? null,
    replay: q.replay,
    ...(q.ack === "true" && { ack: true }),
  };
  listenerConnected();
  return hubOf(c.env).fetch("https://listeners.internal/connect", {
    headers: { upgrade: "websocket", [CONFIG_HEADER]: JSON.stringify(config) },
  });
});
