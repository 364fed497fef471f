import { createRoute } from "@hono/zod-openapi";
import { AppError } from "../../domain/errors";
import { settings } from "../../domain/settings";
import { configSources, forgetSource } from "../../ingress/sources";
import { deleteSource, getStoredSource, insertSource, listStoredSources, updateSource } from "../../store/sources";
import { body, errors, json, router, scoped } from "../openapi";
import { IdParam, SourceCreate, SourcePatch, SourceSchema } from "../schemas";
import { sourceView } from "../views";
import { z } from "@hono/zod-openapi";

const create = createRoute({
  method: "post",
  path: "/sources",
  summary: "Create a source (an inbound endpoint with its secrets)",
  ...scoped("sources:write"),
  request: body(SourceCreate),
  responses: { 201: json(SourceSchema, "The source; its secrets are never returned"), ...errors(400, 409) },
});

const list = createRoute({
  method: "get",
  path: "/sources",
  summary: "List sources, those declared by configuration included (read-only)",
  ...scoped("sources:read"),
  responses: { 200: json(z.object({ data: z.array(SourceSchema), nextCursor: z.null() }).openapi("SourceList"), "Every source"), ...errors() },
});

const get = createRoute({
  method: "get",
  path: "/sources/{id}",
  summary: "One source",
  ...scoped("sources:read"),
  request: { params: IdParam },
  responses: { 200: json(SourceSchema, "The source"), ...errors(404) },
});

const patch = createRoute({
  method: "patch",
  path: "/sources/{id}",
  summary: "Change a source; `secrets: [new, old]` rotates",
  ...scoped("sources:write"),
  request: { params: IdParam, ...body(SourcePatch) },
  responses: { 200: json(SourceSchema, "The source"), ...errors(400, 404, 409) },
});

const remove = createRoute({
  method: "delete",
  path: "/sources/{id}",
  summary: "Delete a source; its events stay",
  ...scoped("sources:write"),
  request: { params: IdParam },
  responses: { 204: { description: "Deleted" }, ...errors(404, 409) },
});

const readOnly = (id: string) =>
  new AppError(409, "conflict", `The source "${id}" is declared by configuration (a Worker secret); change it there.`);

export const sources = router()
  .openapi(create, async (c) => {
    const b = c.req.valid("json");
    const id = b.id ?? `src-${crypto.randomUUID().slice(0, 8)}`;
    if (configSources(c.env).some((s) => s.id === id)) throw readOnly(id);
    const inserted = await insertSource(c.env.DB, {
      id,
      name: b.name,
      provider: b.provider,
      verification: b.verification ?? "signature",
      secrets: b.secrets ?? [],
      toleranceSeconds: b.toleranceSeconds ?? null,
      disabled: b.disabled ?? false,
      hmac: b.hmac ?? null,
      shopDomain: b.shopDomain ?? null,
    });
    if (!inserted) throw new AppError(409, "conflict", `A source "${id}" exists already.`);
    forgetSource(id);
    const stored = (await getStoredSource(c.env.DB, id))!;
    return c.json(sourceView(stored, new URL(c.req.url).origin, settings(c.env).signatureToleranceSeconds), 201);
  })
  .openapi(list, async (c) => {
    const origin = new URL(c.req.url).origin;
    const tolerance = settings(c.env).signatureToleranceSeconds;
    const declared = configSources(c.env);
    const stored = (await listStoredSources(c.env.DB)).filter((s) => !declared.some((d) => d.id === s.id));
    return c.json({ data: [...declared, ...stored].map((s) => sourceView(s, origin, tolerance)), nextCursor: null }, 200);
  })
  .openapi(get, async (c) => {
    const { id } = c.req.valid("param");
    const s = configSources(c.env).find((d) => d.id === id) ?? (await getStoredSource(c.env.DB, id));
    if (!s) throw new AppError(404, "not_found", `No source "${id.slice(0, 80)}".`);
    return c.json(sourceView(s, new URL(c.req.url).origin, settings(c.env).signatureToleranceSeconds), 200);
  })
  .openapi(patch, async (c) => {
    const { id } = c.req.valid("param");
    if (configSources(c.env).some((s) => s.id === id)) throw readOnly(id);
    const current = await getStoredSource(c.env.DB, id);
    if (!current) throw new AppError(404, "not_found", `No source "${id.slice(0, 80)}".`);
    const b = c.req.valid("json");
    const next = {
      ...current,
      ...Object.fromEntries(Object.entries(b).filter(([, v]) => v !== undefined)),
      updatedAt: Date.now(),
    };
    if (b.hmac !== undefined && current.provider !== "hmac") {
      throw new AppError(400, "invalid_request", "Only an hmac source has an hmac configuration.", {
        issues: [{ path: "hmac", message: "not an hmac source" }],
      });
    }
    if (b.shopDomain && current.provider !== "shopify") {
      throw new AppError(400, "invalid_request", "Only a shopify source has a shop domain.", {
        issues: [{ path: "shopDomain", message: "not a shopify source" }],
      });
    }
    if (next.verification === "signature" && next.secrets.length === 0) {
      throw new AppError(400, "invalid_request", "A source with signature verification needs 1 to 5 secrets.", {
        issues: [{ path: "secrets", message: "required" }],
      });
    }
    await updateSource(c.env.DB, next);
    forgetSource(id);
    return c.json(sourceView(next, new URL(c.req.url).origin, settings(c.env).signatureToleranceSeconds), 200);
  })
  .openapi(remove, async (c) => {
    const { id } = c.req.valid("param");
    if (configSources(c.env).some((s) => s.id === id)) throw readOnly(id);
    if (!(await deleteSource(c.env.DB, id))) throw new AppError(404, "not_found", `No source "${id.slice(0, 80)}".`);
    forgetSource(id);
    return c.body(null, 204);
  });
