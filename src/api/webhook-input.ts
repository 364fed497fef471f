// A webhook's body checked whole: a body its schema refuses is answered with the issues of its URL
// and event types too (each of a field the schema took), in one 400, so a form is mended in one go.
import type { Hook, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { isLimited, missingDataScope } from "../domain/access";
import { invalidInput, type Issue } from "../domain/errors";
import { storedUrl } from "../domain/destination";
import { isRecord } from "../domain/guards";
import type { Principal } from "../domain/scopes";
import { settings } from "../domain/settings";
import type { Webhook } from "../domain/types";
import type { Env } from "../env";
import type { ApiEnv } from "./context";
import { checkSubscriptionTypes, heldOrganizations } from "./event-type-check";
import { validationHook } from "./openapi";
import { webhookSecretProblem } from "./schemas/fields";
import { ONE_OWNER, SCOPE_IMMUTABLE, webhookFields } from "./schemas/webhooks";
import { allIssues, requestIssues } from "./validate";
import { checkUrl, visibleWebhook } from "./webhook-access";

/**
 * Checks a subscription's event types, unless they and its sources are `before`'s: the warnings they deserve (event-type-check.ts).
 * None for a token lacking a data scope of them (its 403 follows): what sources received would tell it of types it may not read.
 */
export function checkTypes(env: Env, p: Principal, w: Pick<Webhook, "eventTypes" | "sourceIds">, before?: Pick<Webhook, "eventTypes" | "sourceIds">) {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if ((before && same(before.eventTypes, w.eventTypes) && same(before.sourceIds, w.sourceIds)) || missingDataScope(p, [...w.eventTypes, ...(before?.eventTypes ?? [])])) return Promise.resolve([]);
  return checkSubscriptionTypes(env, w.eventTypes, w.sourceIds, before?.sourceIds ?? [], heldOrganizations(env, p));
}

/**
 * Refuses a URL given (as typed: the stored form percent-encodes what the typed check looks for)
 * that deliveries may not go to, unless it is `current`'s as stored.
 */
export function checkNewUrl(env: Env, self: string, url: string | undefined, current?: Pick<Webhook, "url">): void {
  if (url !== undefined && storedUrl(url, current?.url) !== current?.url) checkUrl(url, settings(env).allowPrivateDestinations, self);
}

/** What a change gives that its fields' schema cannot judge alone: it needs the webhook changed. */
export type ChangeGiven = { locationUid?: string | null; organizationUid?: string | null; secret?: string; previousSecretValidSeconds?: number };

/**
 * A change's own 400s, each a check for allIssues: an owner given that is not the webhook's (a
 * change may repeat them as read, never give others), a secret that is none, a rotation of nothing.
 */
export function changeChecks(current: Webhook, g: ChangeGiven): (() => void)[] {
  const newSecret = g.secret !== undefined && g.secret !== current.secret;
  return [
    () => {
      const issues = (["locationUid", "organizationUid"] as const)
        .filter((k) => g[k] !== undefined && (g[k] ?? null) !== current[k])
        .map((path) => ({ path, message: SCOPE_IMMUTABLE }));
      if (issues.length > 0) throw invalidInput("body", issues);
    },
    () => {
      const problem = newSecret && g.secret !== undefined ? webhookSecretProblem(g.secret) : null;
      if (problem) throw invalidInput("body", [{ path: "secret", message: problem }]);
    },
    () => {
      if (g.previousSecretValidSeconds === undefined || g.previousSecretValidSeconds === 0 || newSecret) return;
      // A secret given that is the current one rotates nothing: said as such, not as no secret given.
      const why = g.secret === undefined ? "without a new secret" : "the secret given is the webhook's current one, so nothing rotates:";
      throw invalidInput("body", [{ path: "previousSecretValidSeconds", message: `${why} only 0 is taken (it ends the previous secret now): give the new secret with any other` }]);
    },
  ];
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
  // A change's own fields, each as far as the schema took it.
  const of = <T>(field: string, is: (v: unknown) => v is T): T | undefined => (taken(field) && is(body[field]) ? body[field] : undefined);
  const text = (v: unknown): v is string => typeof v === "string";
  const owner = (v: unknown): v is string | null => v === null || typeof v === "string";
  const changeGiven: ChangeGiven = {
    locationUid: of("locationUid", owner),
    organizationUid: of("organizationUid", owner),
    secret: of("secret", text),
    // (Beside a secret the schema refused, a rotation is not "without a new secret".)
    previousSecretValidSeconds: taken("secret") ? of("previousSecretValidSeconds", (v): v is number => typeof v === "number") : undefined,
  };
  await allIssues("body", [
    refused,
    ...(current ? changeChecks(current, changeGiven) : []),
    ...(typesTaken ? [() => checkTypes(c.env, p, given, current)] : []),
    () => checkNewUrl(c.env, new URL(c.req.url).origin, url.success && taken("url") ? url.data : undefined, current),
  ]);
  // allIssues threw the schema's issues, with any others.
  return refused();
}
