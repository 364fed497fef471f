import type { z } from "@hono/zod-openapi";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Scope } from "../domain/scopes";
import { callApi } from "./api-client";
import { ConfirmPage } from "./layout";
import { apiRefusal } from "./refusal";
import { page, scopeRefusal, type C } from "./respond";

/** What the action's post would answer instead of doing it. */
export type ActionRefusal = { status: ContentfulStatusCode; error: string };

/**
 * What a confirm page asks about: the API's GET of it (read as `schema`), the list it belongs to,
 * and `refused`: the refusal its action would answer of what was found, when it may not be done
 * (a revoked token's 404, a webhook of types whose data scopes the session lacks, its 403), else null.
 */
type ConfirmedObject<S extends z.ZodType> = {
  api: string;
  list: { path: string; label: string };
  schema: S;
  refused?: (found: z.output<S>) => ActionRefusal | null;
};

/**
 * The confirm page of a destructive button (ConfirmAction), at the action's own address: GET
 * asks, POST does. What it names comes from the URL and is shown as text; the post it makes is
 * checked as every other (same origin, the API's scopes).
 */
export async function confirmPage<S extends z.ZodType>(
  c: C,
  props: { title: string; nav: string; question: string; label: string; back: string; scope?: Scope; of: ConfirmedObject<S> },
) {
  // Asked only of a session that may do it: the API's refusal, as its list page would answer it.
  const lacking = props.scope ? scopeRefusal(c, props.scope, props.title, { path: props.nav, label: props.title }) : null;
  if (lacking) return lacking;
  // Asked only of what is there: one gone (deleted, revoked) is the API's 404 ("No webhook …"), as its own page answers;
  // and only of what may be done to it: else the refusal its post would answer.
  const there = await callApi(c, "GET", props.of.api, props.of.schema);
  if (!there.ok) return apiRefusal(c, props.title, props.of.list, there);
  const refused = props.of.refused?.(there.json);
  if (refused) return apiRefusal(c, props.title, props.of.list, refused);
  return page(c, props.title, props.nav, <ConfirmPage question={props.question} action={c.req.path} label={props.label} back={props.back} />);
}
