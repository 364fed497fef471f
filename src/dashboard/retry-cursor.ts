import { signedForSession, signForSession } from "./session-signature";
import type { C } from "./respond";
import { queryParam } from "./query";

/**
 * A "retry failed" press's cursor is signed for the session and the webhook whose page it
 * leads to: a crafted link could otherwise set where a signed-in user's next press starts,
 * and make it skip deliveries.
 */
const retryLabel = (webhookUid: string) => `retry cursor\n${webhookUid}`;

/** The query of the webhook's page after a press that ended at `cursor`. */
export async function retryParams(c: C, webhookUid: string, cursor: string): Promise<Record<string, string>> {
  return { retryCursor: cursor, retrySig: await signForSession(c.get("session"), retryLabel(webhookUid), cursor) };
}

/** Where the last "retry failed" press on this webhook's page ended, when more may remain (its redirect says, signed). */
export async function retryFrom(c: C, webhookUid: string): Promise<string | undefined> {
  const cursor = queryParam(c, "retryCursor");
  if (!cursor) return undefined;
  return (await signedForSession(c.get("session"), retryLabel(webhookUid), cursor, queryParam(c, "retrySig") ?? "")) ? cursor : undefined;
}
