import { Hono } from "hono";
import { page as pageOf } from "../../api/schemas/fields";
import { TokenCreated, TokenSchema } from "../../api/schemas/tokens";
import { notFound } from "../../domain/errors";
import { callApi } from "../api-client";
import { ASK } from "../confirm";
import { confirmPage } from "../confirm-page";
import { TOKEN_LABELS } from "../field-labels";
import { commaEntries, textOf, textsOf } from "../form";
import { pageOfList } from "../list-pages";
import { queryParam } from "../query";
import { LISTS } from "../navigation";
import { TokenList, type TokenEntered } from "../pages/tokens";
import { apiRefusal, refusedBy, type Refusal } from "../refusal";
import { back, Ignored, page, pageRefusal, type C } from "../respond";
import { showOnce } from "../reveal";
import type { DashEnv } from "../session";

const TokenList_ = pageOf(TokenSchema, "TokenList");

export const tokenRoutes = new Hono<DashEnv>();

/** The tokens page (admin only, as the API's /v1/tokens); after a refused new token, with its error and what was typed. */
async function tokensPage(c: C, refused?: Refusal<TokenEntered>) {
  const list = await callApi(c, "GET", pageOfList(c, "/tokens"), TokenList_);
  if (!list.ok) return apiRefusal(c, "Tokens", LISTS.tokens, list);
  return page(
    c,
    "Tokens",
    "/dashboard/tokens",
    <TokenList tokens={list.json.data} nextCursor={list.json.nextCursor} at={queryParam(c, "cursor")} ownTokenId={c.get("principal").tokenId} entered={refused?.entered} invalidField={refused?.field} />,
    refused,
  );
}

tokenRoutes.get("/tokens", (c) => pageRefusal(c, "admin", "Tokens", LISTS.tokens, ["cursor"]) ?? tokensPage(c));

/**
 * A box of uids as the API's list, split at commas (a uid may hold a space), each trimmed. An empty box leaves the field
 * out (every one); an empty entry (`a,,b`, or `,` alone) is refused, not dropped: `,` read as
 * naming none would widen the token to every organization.
 */
const uidsIn = (text: string, field: "organizationUids" | "locationUids") => (text === "" ? { ok: true as const, entries: undefined } : commaEntries(text, TOKEN_LABELS[field]));

tokenRoutes.post("/tokens", async (c) => {
  const form = await c.req.parseBody({ all: true });
  const entered = {
    name: textOf(form, "name").trim(),
    scopes: textsOf(form, "scopes"),
    organizationUids: textOf(form, "organizationUids").trim(),
    locationUids: textOf(form, "locationUids").trim(),
  };
  const orgs = uidsIn(entered.organizationUids, "organizationUids");
  if (!orgs.ok) return tokensPage(c, { entered, error: orgs.error, status: 400, field: "organizationUids" });
  const locs = uidsIn(entered.locationUids, "locationUids");
  if (!locs.ok) return tokensPage(c, { entered, error: locs.error, status: 400, field: "locationUids" });
  const res = await callApi(c, "POST", "/tokens", TokenCreated, {
    name: entered.name,
    scopes: entered.scopes,
    ...(orgs.entries ? { organizationUids: orgs.entries } : {}),
    ...(locs.entries ? { locationUids: locs.entries } : {}),
  });
  if (!res.ok) return tokensPage(c, refusedBy(entered, res, TOKEN_LABELS));
  return showOnce(c, { title: "Token created", nav: "/dashboard/tokens", what: "API token", href: "/dashboard/tokens", secret: res.json.token });
});

tokenRoutes.get("/tokens/:id/revoke", (c) => {
  const id = c.req.param("id");
  // Revoked already: the 404 its Revoke would answer (the API's DELETE), not a question about it.
  const refused = (t: { revokedAt: string | null }) => (t.revokedAt !== null ? { status: 404 as const, error: notFound("live token", id).message } : null);
  const of = { api: `/tokens/${encodeURIComponent(id)}`, list: LISTS.tokens, schema: TokenSchema, refused };
  return confirmPage(c, { title: "Revoke token", nav: "/dashboard/tokens", question: ASK.revokeToken(id), label: "Revoke", back: "/dashboard/tokens", scope: "admin", of });
});

tokenRoutes.post("/tokens/:id/revoke", async (c) => {
  const res = await callApi(c, "DELETE", `/tokens/${encodeURIComponent(c.req.param("id"))}`, Ignored);
  return back(c, "/dashboard/tokens", res, "Token revoked: it no longer works.");
});
