import { checkEventTypes, type TypeContext } from "../domain/event-types";
import { AppError } from "../domain/errors";
import type { Env } from "../env";
import { configSources } from "../ingress/sources";
import { seenPatterns } from "../store/event-types";
import { providersOf } from "../store/sources";

export interface TypeWarning {
  code: "unseen_event_type";
  eventType: string;
  message: string;
}

/** The providers a webhook listens to: those of its sources, or every one when it names none. */
async function providersFor(env: Env, sourceIds: string[] | null): Promise<ReadonlySet<string> | null> {
  if (sourceIds === null) return null;
  const declared = configSources(env).filter((s) => sourceIds.includes(s.id));
  const others = sourceIds.filter((id) => !declared.some((s) => s.id === id));
  const stored = others.length > 0 ? await providersOf(env.DB, others) : [];
  return new Set([...declared.map((s) => s.provider), ...stored]);
}

/**
 * Checks a subscription's event types: a Podium object's type that does not exist
 * is a 400 naming the closest one; another provider's type that none of the
 * webhook's sources has received or declares comes back as a warning. The table of
 * received types is read only when the catalog alone does not settle it.
 */
export async function checkSubscriptionTypes(env: Env, eventTypes: string[], sourceIds: string[] | null): Promise<TypeWarning[]> {
  const ctx: TypeContext = { providers: await providersFor(env, sourceIds), seen: new Set() };
  let check = checkEventTypes(eventTypes, ctx);
  const doubtful = [...check.invalid.map((i) => i.pattern), ...check.unseen.map((u) => u.pattern)];
  if (doubtful.length > 0) check = checkEventTypes(eventTypes, { ...ctx, seen: await seenPatterns(env.DB, doubtful, sourceIds) });

  if (check.invalid.length > 0) {
    const issues = check.invalid.map((i) => ({
      path: `eventTypes.${i.index}`,
      message: `"${i.pattern}" is not a Podium event type; did you mean "${i.closest}"?`,
      closest: i.closest,
    }));
    throw new AppError("invalid_request",
      `Invalid body: ${issues[0]!.path}: ${issues[0]!.message} (GET /v1/event-types lists them.)`,
      { issues },
    );
  }
  return check.unseen.map((u) => ({
    code: "unseen_event_type",
    eventType: u.pattern,
    message: `No source of this webhook has received "${u.pattern}" yet, and none declares it${
      u.closest ? `; did you mean "${u.closest}"?` : "."
    } It is saved as given and matches once such events arrive.`,
  }));
}
