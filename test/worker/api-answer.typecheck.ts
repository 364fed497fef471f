// Checked by `npm run typecheck` alone (no test runs it): what an API answer's type refuses. Each
// `@ts-expect-error` fails the check once the read it marks typechecks (an answer typed `any`).
import { apiCall, testEnv } from "./helpers";

export async function undocumentedReads(): Promise<unknown[]> {
  const { env } = testEnv();
  const id = crypto.randomUUID();
  const list = await apiCall(env, "GET", "/v1/events?limit=1");
  const event = await apiCall(env, "GET", `/v1/events/${id}`);
  const webhook = await apiCall(env, "PATCH", `/v1/webhooks/${id}`, { disabled: true });
  const stats = await apiCall(env, "GET", "/v1/stats");
  const refused = await apiCall(env, "DELETE", "/v1/events");
  return [
    // Documented: the list's items and cursor, an event's deliveries' attempts, the error's code.
    list.json.data[0].eventType,
    list.json.nextCursor,
    event.json.deliveries[0].attempts[0].statusCode,
    event.json.error.code,
    webhook.json.previousSecretExpiresAt,
    stats.json.webhooks[0].uid,
    refused.json.error.code,
    // @ts-expect-error a misspelt field of a list item
    list.json.data[0].evenType,
    // @ts-expect-error a field of another operation's answer (the event's, not the list's)
    list.json.deliveries,
    // @ts-expect-error a field the webhook's answer never has
    webhook.json.secret,
    // @ts-expect-error a misspelt field of the stats
    stats.json.deadletters,
    // @ts-expect-error a field of the error other than code, message and details
    refused.json.error.status,
  ];
}
