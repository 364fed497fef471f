import { notFound } from "../../domain/errors";
import { announceTokenRevoked } from "../../listen/announce";
import { hashApiToken, newApiToken } from "../../domain/tokens";
import { insertToken, listTokens, revokeToken, tokenById, type TokenRecord } from "../../store/tokens";
import { apiRoute, body, errors, json, NO_BODY, router, scoped } from "../openapi";
import { IdParam, ListQuery, page } from "../schemas/fields";
import { TokenCreate, TokenCreated, TokenSchema } from "../schemas/tokens";
import { decodeCreated, encodeCreated, pageOf, wholeList } from "../cursors";
import { tokenView } from "../views";

const create = apiRoute({
  method: "post",
  path: "/tokens",
  operationId: "createToken",
  summary: "Create a scoped API token; the token is returned this once",
  ...scoped("admin"),
  request: body(TokenCreate),
  responses: { 201: json(TokenCreated, "The token record, with the token") },
});

const list = apiRoute({
  method: "get",
  path: "/tokens",
  operationId: "listTokens",
  summary: "List tokens (never the tokens themselves), newest first",
  description: "Revoked ones included (`revokedAt`). A page of `limit`; follow `nextCursor` until it is null.",
  ...scoped("admin"),
  request: { query: ListQuery },
  responses: { 200: json(page(TokenSchema, "TokenList"), "A page of tokens") },
});

const get = apiRoute({
  method: "get",
  path: "/tokens/{id}",
  operationId: "getToken",
  summary: "One token (never the token itself), a revoked one too (`revokedAt`)",
  ...scoped("admin"),
  request: { params: IdParam },
  responses: { 200: json(TokenSchema, "The token record"), ...errors(404) },
});

const revoke = apiRoute({
  method: "delete",
  path: "/tokens/{id}",
  operationId: "revokeToken",
  summary: "Revoke a token: it stops working at once",
  ...scoped("admin"),
  request: { params: IdParam, ...NO_BODY },
  responses: { 204: { description: "Revoked" }, ...errors(404) },
});

export const tokens = router()
  .openapi(create, async (c) => {
    const b = c.req.valid("json");
    const token = newApiToken();
    const record: TokenRecord = {
      id: `tok_${crypto.randomUUID().replace(/-/g, "").slice(0, 20)}`,
      name: b.name,
      scopes: [...new Set(b.scopes)],
      organizationUids: b.organizationUids ?? null,
      locationUids: b.locationUids ?? null,
      createdAt: Date.now(),
      lastUsedAt: null,
      revokedAt: null,
    };
    await insertToken(c.env.DB, record, await hashApiToken(token, c.env.TOKEN_PEPPER));
    return c.json({ ...tokenView(record), token }, 201);
  })
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    const after = q.cursor === undefined ? undefined : await decodeCreated(c.env, wholeList("tokens"), q.cursor);
    const rows = await listTokens(c.env.DB, { limit: q.limit + 1, after: after && { createdAt: after.createdAt, id: after.uid } });
    const { data, nextCursor } = await pageOf(rows, q.limit, (last) => encodeCreated(c.env, wholeList("tokens"), { createdAt: last.createdAt, uid: last.id }));
    return c.json({ data: data.map(tokenView), nextCursor }, 200);
  })
  .openapi(get, async (c) => {
    const { id } = c.req.valid("param");
    const token = await tokenById(c.env.DB, id);
    if (!token) throw notFound("token", id);
    return c.json(tokenView(token), 200);
  })
  .openapi(revoke, async (c) => {
    const { id } = c.req.valid("param");
    if (!(await revokeToken(c.env.DB, id))) throw notFound("live token", id);
    await announceTokenRevoked(c.env, id);
    return c.body(null, 204);
  });
