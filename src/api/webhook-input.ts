// A webhook's body checked whole: a body its schema refuses is answered with the issues of its URL
// and event types too (each of a field the schema took), in one 400, so a form is mended in one go.
import type { Hook, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { accessOf, isLimited, missingDataScope } from "../domain/access";
import { invalidInput, type Issue } from "../domain/errors";
import { storedUrl } from "../domain/destination";
import { isRecord } from "../domain/guards";
import type { Principal } from "../domain/scopes";
import { settings } from "../domain/settings";
import type { Webhook } from "../domain/types";
import type { Env } from "../env";
import { organizationsHeld } from "../store/grants";
import type { ApiEnv } from "./context";
import { checkSubscriptionTypes } from "./event-type-check";
import { validationHook } from "./openapi";
import { ONE_OWNER, webhookFields } from "./schemas/webhooks";
import { allIssues, requestIssues } from "./validate";
import { checkUrl, visibleWebhook } from "./webhook-access";

/** A limited token's organizations, read when needed: null for a token that sees every event. */
export const ownersOf = (env: Env, p: Principal) => (isLimited(accessOf(p)) ? () => organizationsHeld(env.DB, p) : null);

/**
 * Checks a subscription's event types, unless they and its sources are `before`'s: the warnings they deserve (event-type-check.ts).
 * None for a token lacking a data scope of them (its 403 follows): what sources received would tell it of types it may not read.
 */
export function checkTypes(env: Env, p: Principal, w: Pick<Webhook, "eventTypes" | "sourceIds">, before?: Pick<Webhook, "eventTypes" | "sourceIds">) {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if ((before && same(before.eventTypes, w.eventTypes) && same(before.sourceIds, w.sourceIds)) || missingDataScope(p, [...w.eventTypes, ...(before?.eventTypes ?? [])])) return Promise.resolve([]);
  return checkSubscriptionTypes(env, w.eventTypes, w.sourceIds, before?.sourceIds ?? [], ownersOf(env, p));
}

/**
 * Refuses a URL given (as typed: the stored form percent-encodes what the typed check looks for)
 * that deliveries may not go to, unless it is `current`'s as stored.
 */
export function checkNewUrl(env: Env, self: string, url: string | undefined, current?: Pick<Webhook, "url">): void {
  if (url !== undefined && storedUrl(url, current?.url) !== current?.url) checkUrl(url, settings(env).allowPrivateDestinations, self);
}

/** A webhook given both owners: a limited token, which may make no catch-all, is not offered one. */
const ownerWords = (p: Principal, i: Issue): Issue => (isLimited(p) && i.message.startsWith(`${ONE_OWNER},`) ? { ...i, message: ONE_OWNER } : i);

/** A webhook's create, or its change: a PUT's fields left out are their defaults (no sources: every one), a PATCH's the webhook's. */
type BodyMode = "create" | "patch" | "put";

/**
 * The validation of a webhook's body: a body the schema refuses is answered with its fields'
 * issues, and those of its event types and URL where the schema took them, in the handler's order
 * (a change's, beside the webhook it changes: none when it is not there, whose 404 follows).
 */
export function webhookBodyHook<T, P extends string>(mode: BodyMode): Hook<T, ApiEnv, P, Promise<never> | undefined> {
  return (result, c) => {
    if (result.success || result.target !== "json") return validationHook(result, c);
    return refusedWhole(result.error, c, mode);
  };
}

async function refusedWhole(error: z.ZodError, c: Context<ApiEnv>, mode: BodyMode): Promise<never> {
  const p = c.get("principal");
  const schema = requestIssues(error, "body").map((i) => ownerWords(p, i));
  const refused = (): never => {
    throw invalidInput("body", schema);
  };
  const body: unknown = await c.req.json().catch(() => null);
  const current = mode !== "create" ? await visibleWebhook(c.env.DB, p, c.req.param("uid") ?? "").catch(() => null) : undefined;
  if (!isRecord(body) || current === null) return refused();
  const taken = (field: string) => !schema.some((i) => i.path === field || i.path.startsWith(`${field}.`));
  const url = webhookFields.url.safeParse(body.url);
  const kept = mode === "patch" ? current : undefined;
  const types = webhookFields.eventTypes.safeParse(body.eventTypes ?? kept?.eventTypes);
  const sources = webhookFields.sourceIds.optional().safeParse(body.sourceIds);
  const given = {
    eventTypes: types.success ? types.data : [],
    sourceIds: sources.success ? (sources.data === undefined ? (kept?.sourceIds ?? null) : sources.data) : null,
  };
  const typesTaken = types.success && sources.success && taken("eventTypes") && taken("sourceIds");
  await allIssues("body", [
    refused,
    ...(typesTaken ? [() => checkTypes(c.env, p, given, current)] : []),
    () => checkNewUrl(c.env, new URL(c.req.url).origin, url.success && taken("url") ? url.data : undefined, current),
  ]);
  // allIssues threw the schema's issues, with any others.
  return refused();
}
