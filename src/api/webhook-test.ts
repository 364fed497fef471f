// "Test this webhook": the routing checks and the transformation on one stored event, as data.
import { redactHeaders } from "../domain/credential-headers";
import type { StoredEvent, Webhook } from "../domain/types";
import { outbound } from "../pipeline/outbound";
import { unsignedHeaders } from "../pipeline/sign";
import { FilterInput, kindMismatch, ownerMismatch, ownerOf, plannedFilterMismatch, sourceMismatch, typeMatches, typeMismatch, type ReplayPlan } from "../routing/match";

type Check = { check: "eventTypes" | "owner" | "sources" | "filter"; passed: boolean; message: string };

function ownerCheck(w: Webhook, e: StoredEvent): Check {
  const mismatch = ownerMismatch(w, e);
  return { check: "owner", passed: mismatch === null, message: mismatch ?? ownerOf(w) };
}

/**
 * The same checks routing makes (routing/match.ts), each with why, and what a delivery would send
 * (credential header values redacted). The filter is tested as a replay to the webhook would test
 * it, after the filters of `plan` (replayPlan(all, [w])) spent their part of the event's filter
 * budget: so `matched` says what a replay would do, and why routing excluded an event its filter admits alone.
 */
export async function testWebhook(w: Webhook, e: StoredEvent, plan: ReplayPlan) {
  // As routing: an alert goes to notification endpoints alone, whatever a webhook's types say.
  const kind = kindMismatch(w, e);
  const type = kind === null ? typeMismatch(w, e) : `${e.eventType} is ${kind}`;
  const source = sourceMismatch(w, e);
  const mismatch = plannedFilterMismatch(plan, w, e, new FilterInput(e));
  const checks: Check[] = [
    {
      check: "eventTypes",
      passed: type === null,
      message: type ?? `${e.eventType} matches ${w.eventTypes.find((p) => typeMatches(p, e.eventType))}`,
    },
    ownerCheck(w, e),
    { check: "sources", passed: source === null, message: source ?? (w.sourceIds === null ? "every source" : `source ${e.sourceId}`) },
    { check: "filter", passed: mismatch === null, message: w.filter === null ? "no filter" : (mismatch ?? "the filter matches") },
  ];
  const payload = await outbound(w, e.body);
  return {
    eventId: e.id,
    webhookUid: w.uid,
    matched: checks.every((c) => c.passed),
    checks,
    transformError: payload.ok ? null : payload.reason,
    request: payload.ok
      ? { url: w.url, headers: { ...redactHeaders(payload.headers), ...unsignedHeaders({ eventId: e.id, eventType: e.eventType, attempt: 1 }) }, body: payload.body }
      : null,
  };
}
