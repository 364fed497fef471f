import type { Scope } from "../domain/scopes";
import { callApi } from "./api-client";
import { ConfirmPage } from "./layout";
import { apiRefusal } from "./refusal";
import { Ignored, page, scopeRefusal, type C } from "./respond";

/**
 * What a confirm page asks about: the API's GET of it, the list it belongs to, and, when it is
 * still found but already past the action (a revoked token), the API's 404 that the action would answer.
 */
type ConfirmedObject = { api: string; list: { path: string; label: string }; gone?: (found: unknown) => string | null };

/**
 * The confirm page of a destructive button (ConfirmAction), at the action's own address: GET
 * asks, POST does. What it names comes from the URL and is shown as text; the post it makes is
 * checked as every other (same origin, the API's scopes).
 */
export async function confirmPage(
  c: C,
  props: { title: string; nav: string; question: string; label: string; back: string; scope?: Scope; of: ConfirmedObject },
) {
  // Asked only of a session that may do it: the API's refusal, as its list page would answer it.
  const refused = props.scope ? scopeRefusal(c, props.scope, props.title, { path: props.nav, label: props.title }) : null;
  if (refused) return refused;
  // Asked only of what is there: one gone (deleted, revoked) is the API's 404 ("No webhook …"), as its own page answers.
  const there = await callApi(c, "GET", props.of.api, Ignored);
  if (!there.ok) return apiRefusal(c, props.title, props.of.list, there);
  const gone = props.of.gone?.(there.json);
  if (gone) return apiRefusal(c, props.title, props.of.list, { status: 404, error: gone });
  return page(c, props.title, props.nav, <ConfirmPage question={props.question} action={c.req.path} label={props.label} back={props.back} />);
}
