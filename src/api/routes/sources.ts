import type { z } from "@hono/zod-openapi";
import { isLimited } from "../../domain/access";
import { AppError, invalidField, invalidInput, notFound, readOnlySource } from "../../domain/errors";
import { hasScope, type Principal } from "../../domain/scopes";
import { settings } from "../../domain/settings";
import { adminAlone, LOCATIONS_MAKE_NO_SOURCE, sourceProblems, teachingRefusal } from "../../domain/source-rules";
import type { HmacConfig } from "../../domain/hmac-config";
import type { Source } from "../../domain/types";
import { nextVersion, unchangedApartFromVersion } from "../../domain/version";
import type { Env } from "../../env";
import { NO_SOURCE_LOGS } from "../../ingress/receive";
import { signatureHeaderIssues, sourceSecretIssues } from "../../ingress/providers";
import { configSources, forgetSource } from "../../ingress/sources";
import { latestRejections, rejectionSummaries, SAMPLES_KEPT } from "../../store/rejections";
import { deleteSource, getStoredSource, insertSource, listStoredSources, updateSource, type StoredSource } from "../../store/sources";
import { apiRoute, body, errors, json, NO_BODY, router, scoped, versionedJson } from "../openapi";
import { IdParam, IfMatchHeader, ListQuery, page, pageSize, strictQuery } from "../schemas/fields";
import { RejectionsSchema, SourceCreate, SourcePatch, SourceSchema } from "../schemas/sources";
import { decodeKey, encodeKey, pageOf, wholeList } from "../cursors";
import { rejectionSummaryView, rejectionView, sourceView } from "../views";
import { assertSaved, changedMeanwhile } from "../versioned-writes";
import { etagOf, ifMatchOf, pinnedVersion } from "../if-match";

const create = apiRoute({
  method: "post",
  path: "/sources",
  operationId: "createSource",
  summary: "Create a source (an inbound endpoint with its secrets)",
  ...scoped("sources:write"),
  request: body(SourceCreate),
  responses: { 201: versionedJson(SourceSchema, "The source; its secrets are never returned"), ...errors(409) },
});

const list = apiRoute({
  method: "get",
  path: "/sources",
  operationId: "listSources",
  summary: "List sources, those declared by configuration included (read-only)",
  description: "By id; follow `nextCursor` until it is null. A limited token sees its organizations' sources only.",
  ...scoped("sources:read"),
  request: { query: ListQuery },
  responses: { 200: json(page(SourceSchema, "SourceList"), "A page of sources") },
});

const get = apiRoute({
  method: "get",
  path: "/sources/{id}",
  operationId: "getSource",
  summary: "One source",
  description: "With an `ETag`, unless declared by configuration (read-only: it has no version).",
  ...scoped("sources:read"),
  request: { params: IdParam },
  responses: { 200: versionedJson(SourceSchema, "The source", false), ...errors(404) },
});

const patch = apiRoute({
  method: "patch",
  path: "/sources/{id}",
  operationId: "updateSource",
  summary: "Change a source; secrets [new, old] rotates",
  description: changedMeanwhile("source", "another client's change"),
  ...scoped("sources:write"),
  request: { params: IdParam, headers: IfMatchHeader, ...body(SourcePatch) },
  responses: { 200: versionedJson(SourceSchema, "The source"), ...errors(404, 409, 412) },
});

const remove = apiRoute({
  method: "delete",
  path: "/sources/{id}",
  operationId: "deleteSource",
  summary: "Delete a source; its events stay",
  description: "With `If-Match`, only while the source is still at the version it names (412 otherwise: nothing is deleted).",
  ...scoped("sources:write"),
  request: { params: IdParam, headers: IfMatchHeader, ...NO_BODY },
  responses: { 204: { description: "Deleted" }, ...errors(404, 409, 412) },
});

const rejections = apiRoute({
  method: "get",
  path: "/sources/{id}/rejections",
  operationId: "getSourceRejections",
  summary: "Requests the ingress refused for a source: counts by reason over the last day, and the latest few hundred",
  description:
    "Counted per source and reason, never the body nor a signature; the admin also reads `(unknown)` and `(invalid)`: docs/providers.md.",
  ...scoped("sources:read"),
  request: { params: IdParam, query: strictQuery({ limit: pageSize(SAMPLES_KEPT).openapi({ description: `How many of the latest refused requests, at most ${SAMPLES_KEPT}: not a paged list.` }) }) },
  responses: { 200: json(RejectionsSchema, "The source's refused requests"), ...errors(404) },
});

/** Turning verification off is the admin's alone: anyone could then send that source's events. One off already, written back as read, turns nothing off. */
function assertMaySkipVerification(p: Principal, verification: string | undefined, current?: string): void {
  if (verification === "none" && current !== "none" && !hasScope(p, "admin")) {
    throw new AppError("forbidden", 'Only the admin may make a source with verification "none".', { missingScope: "admin" });
  }
}

/**
 * The changes `p` may make to `current`, as they are applied (`changes`: what asks something new, askedChanges).
 * How a source that teaches where locations belong is verified is the admin's alone: a token that set its own
 * secret there could sign events moving someone's location; one that turned its tolerance off (0) could replay
 * a signed event older than the retention, which is stored, and teaches, as new; one that enabled it again
 * would undo an admin's stop.
 */
function allowedChanges<T extends SourceChanges>(p: Principal, current: StoredSource, changes: T, defaultTolerance: number): T {
  if (!adminAlone(p, current)) return changes;
  // The tolerance it was shown (a stored null shows the default) written back changes nothing either.
  const tolerance = (t: unknown): unknown => t ?? defaultTolerance;
  const touched = (["secrets", "verification", "hmac", "shopDomain", "toleranceSeconds", "disabled"] as const).filter((k) =>
    k === "toleranceSeconds" ? changes[k] !== undefined && tolerance(changes[k]) !== tolerance(current.toleranceSeconds) : changes[k] !== undefined,
  );
  if (touched.length > 0) throw teachingRefusal(`change ${touched.join(", ")} of`);
  // ...and is not stored: a default written back would stop following SIGNATURE_TOLERANCE_S.
  return { ...changes, toleranceSeconds: undefined, disabled: undefined };
}

/**
 * A PATCH's body without what it writes back as read (verification, hmac in any key order, shopDomain, disabled, toleranceSeconds):
 * that changes nothing, not the lock above, the signature header rule, nor the version. Not its secrets, which a
 * token never reads: a 200 for the same ones would tell it whether it guessed the admin's.
 */
function askedChanges(current: StoredSource, given: SourceChanges, defaultTolerance: number): SourceChanges {
  // A stored null is shown as the default: that number sent back leaves it following SIGNATURE_TOLERANCE_S (null sent to a pinned one unpins it).
  const sameTolerance = given.toleranceSeconds === current.toleranceSeconds || (current.toleranceSeconds === null && given.toleranceSeconds === defaultTolerance);
  return {
    ...given,
    toleranceSeconds: sameTolerance ? undefined : given.toleranceSeconds,
    verification: given.verification === current.verification ? undefined : given.verification,
    hmac: given.hmac !== undefined && hmacText(given.hmac) === hmacText(current.hmac) ? undefined : given.hmac,
    shopDomain: given.shopDomain === current.shopDomain ? undefined : given.shopDomain,
    disabled: given.disabled === current.disabled ? undefined : given.disabled,
  };
}

/** A PATCH's body, whose fields of how a source is verified the lock above compares with the source's. */
type SourceChanges = z.infer<typeof SourcePatch>;

/** An hmac configuration as text whatever its keys' order (a row stored by an older release may hold another): to tell one sent back as read. */
const hmacText = (h: HmacConfig | null): string | null => (h === null ? null : JSON.stringify(h, Object.keys(h).sort()));

/** Deleting such a source is the admin's alone too: a token could make it again under its id with its own secret. */
function assertMayDelete(p: Principal, current: StoredSource): void {
  if (adminAlone(p, current)) throw teachingRefusal("delete");
}

/** Who owns a new source: a limited token's sources belong to one of its organizations. */
function ownerOf(p: Principal, asked: string | undefined): string | null {
  if (!isLimited(p)) return asked ?? null;
  const orgs = p.organizationUids;
  if (orgs === null) {
    throw new AppError("forbidden", LOCATIONS_MAKE_NO_SOURCE, {
      issues: [{ path: "organizationUid", message: "a source belongs to an organization, and this token holds none" }],
    });
  }
  if (asked !== undefined) {
    if (!orgs.includes(asked)) {
      // Its field named, as a new webhook's 403 names it (docs/api.md), so a form marks it.
      throw new AppError("forbidden", `This token cannot create sources for the organization "${asked.slice(0, 80)}".`, {
        issues: [{ path: "organizationUid", message: "not one of this token's organizations" }],
      });
    }
    return asked;
  }
  if (orgs.length === 1) return orgs[0]!;
  throw invalidField("Give the source an organizationUid: one of this token's organizations.", {
    path: "organizationUid",
    message: "required for a token limited to several organizations",
  });
}

/**
 * A source the caller may see, or 404: a limited token sees only the sources its
 * organizations own, never the admin's nor those declared by configuration.
 */
async function visibleSource(env: Env, p: Principal, id: string): Promise<Source | StoredSource> {
  const declared = configSources(env).find((d) => d.id === id);
  if (isLimited(p)) {
    // A row stored under a declared id (made before the configuration declared it) is only a
    // shadow: the ingress, and the rejection log under that id, are the configuration's source.
    const s = declared ? null : await getStoredSource(env.DB, id);
    if (!s || s.organizationUid === null || !(p.organizationUids ?? []).includes(s.organizationUid)) throw notFound("source", id);
    return s;
  }
  const s = declared ?? (await getStoredSource(env.DB, id));
  if (!s) throw notFound("source", id);
  return s;
}

/** A stored source the caller may change, or 404 (409 for one declared by configuration). */
async function changeableSource(env: Env, p: Principal, id: string): Promise<StoredSource> {
  const s = await visibleSource(env, p, id);
  if (!("createdAt" in s)) throw readOnlySource(id);
  return s;
}

export const sources = router()
  .openapi(create, async (c) => {
    const b = c.req.valid("json");
    const p = c.get("principal");
    assertMaySkipVerification(p, b.verification);
    const organizationUid = ownerOf(p, b.organizationUid);
    const id = b.id ?? `src-${crypto.randomUUID().slice(0, 8)}`;
    const taken = () => new AppError("conflict", `A source "${id}" exists already.`, { issues: [{ path: "id", message: "taken" }] });
    // A limited token sees nothing of configuration's sources: it learns the id is taken, as any other, not by whom.
    if (configSources(c.env).some((s) => s.id === id)) throw isLimited(p) ? taken() : readOnlySource(id);
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
      organizationUid,
      // Only the admin's sources teach where locations belong: a token's could otherwise move
      // another's location into an organization some limited token holds. Not one pinned to an
      // owner, the admin's included: its secret is the owner's to hold, and its events' claims are
      // not learned (pipeline/owners.ts), so saying it teaches would be untrue (migration 0056).
      teachesLocations: hasScope(p, "admin") && organizationUid === null,
    });
    if (!inserted) throw taken();
    forgetSource(id);
    c.header("ETag", etagOf(inserted.updatedAt));
    return c.json(sourceView(inserted, new URL(c.req.url).origin, settings(c.env).signatureToleranceSeconds), 201);
  })
  .openapi(list, async (c) => {
    const p = c.get("principal");
    const q = c.req.valid("query");
    const after = q.cursor === undefined ? "" : await decodeKey(c.env, wholeList("sources"), q.cursor);
    const origin = new URL(c.req.url).origin;
    const tolerance = settings(c.env).signatureToleranceSeconds;
    // Declared sources are a few of the configuration, merged by id with a page of the stored
    // ones (a stored row under a declared id is the declared one's shadow, never listed).
    // (A limited token sees neither, nor such a shadow of its own: the declared one is what its id names.)
    const declared = configSources(c.env);
    const owners = isLimited(p) ? (p.organizationUids ?? []) : null;
    const stored = await listStoredSources(c.env.DB, { limit: q.limit + 1, after, owners, except: declared.map((d) => d.id) });
    const listed = isLimited(p) ? [] : declared.filter((d) => d.id > after);
    const rows = [...listed, ...stored].sort((a, b) => (a.id < b.id ? -1 : 1));
    const { data: shown, nextCursor } = await pageOf(rows, q.limit, (last) => encodeKey(c.env, wholeList("sources"), last.id));
    const refused = await rejectionSummaries(c.env.DB, shown.map((s) => s.id));
    const data = shown.map((s) => ({ ...sourceView(s, origin, tolerance), rejections: (refused.get(s.id) ?? []).map(rejectionSummaryView) }));
    return c.json({ data, nextCursor }, 200);
  })
  .openapi(get, async (c) => {
    const s = await visibleSource(c.env, c.get("principal"), c.req.valid("param").id);
    if ("updatedAt" in s) c.header("ETag", etagOf(s.updatedAt));
    const refused = (await rejectionSummaries(c.env.DB, [s.id])).get(s.id) ?? [];
    return c.json({ ...sourceView(s, new URL(c.req.url).origin, settings(c.env).signatureToleranceSeconds), rejections: refused.map(rejectionSummaryView) }, 200);
  })
  .openapi(rejections, async (c) => {
    const { id } = c.req.valid("param");
    const p = c.get("principal");
    // A limited token reads its own sources'; the admin any source's, and the logs of requests naming
    // none (a wrong URL). Another id is no source: 404, not an empty log that reads as "nothing refused".
    if (!(hasScope(p, "admin") && NO_SOURCE_LOGS.includes(id))) await visibleSource(c.env, p, id);
    const [summary, recent] = await Promise.all([
      rejectionSummaries(c.env.DB, [id]),
      latestRejections(c.env.DB, id, c.req.valid("query").limit),
    ]);
    return c.json(
      { sourceId: id, summary: (summary.get(id) ?? []).map(rejectionSummaryView), recent: recent.map(rejectionView) },
      200,
    );
  })
  .openapi(patch, async (c) => {
    const { id } = c.req.valid("param");
    const p = c.get("principal");
    const ifMatch = ifMatchOf(c.req.valid("header")["if-match"]);
    const current = await changeableSource(c.env, p, id);
    // The version read is the one the write checks (updateSource): a change landing between them is its 409, or 412.
    const pinned = pinnedVersion(ifMatch, current.updatedAt, "source");
    const given = c.req.valid("json");
    assertMaySkipVerification(p, given.verification, current.verification);
    const defaultTolerance = settings(c.env).signatureToleranceSeconds;
    const b = allowedChanges(p, current, askedChanges(current, given, defaultTolerance), defaultTolerance);
    const next = {
      ...current,
      ...Object.fromEntries(Object.entries(b).filter(([, v]) => v !== undefined)),
      updatedAt: nextVersion(current.updatedAt),
    };
    // The secrets given are checked by the source's provider, but not one it holds, given again behind
    // a new one: a rotation keeps the old, which verifies as it did (stored before a rule, too).
    // Verifying again without new ones checks those it holds as such a rotation: the first, which
    // it would verify with, meets today's rule (a short one of the first release may verify nothing).
    // Its refusal names what was sent (verification), not the secret the caller did not send.
    const verifiesAgain = current.verification === "none" && next.verification === "signature";
    const secretIssues =
      b.secrets !== undefined
        ? sourceSecretIssues(current.provider, b.secrets, current.secrets)
        : verifiesAgain
          ? sourceSecretIssues(current.provider, current.secrets, current.secrets).map(({ message }) => ({
              path: "verification",
              message: `its stored secret is refused (${message}): send secrets with it, a new one first`,
            }))
          : [];
    // A signature header changed is checked; one stored before that rule is not, so the source stays changeable (the ingress stores it no more).
    const problems = [...secretIssues, ...sourceProblems(next), ...(b.hmac !== undefined ? signatureHeaderIssues(next) : [])];
    if (problems.length > 0) throw invalidInput("body", problems);
    const view = (s: StoredSource) => sourceView(s, new URL(c.req.url).origin, defaultTolerance);
    // A change to what it already is writes nothing (docs/api.md): moving the version would make another client's change 409.
    if (unchangedApartFromVersion(current, next)) {
      c.header("ETag", etagOf(current.updatedAt));
      return c.json(view(current), 200);
    }
    assertSaved(await updateSource(c.env.DB, next, current.updatedAt), "source", id, pinned !== undefined);
    forgetSource(id);
    c.header("ETag", etagOf(next.updatedAt));
    return c.json(view(next), 200);
  })
  .openapi(remove, async (c) => {
    const { id } = c.req.valid("param");
    const p = c.get("principal");
    const ifMatch = ifMatchOf(c.req.valid("header")["if-match"]);
    const current = await changeableSource(c.env, p, id);
    assertMayDelete(p, current);
    // With If-Match naming its ETag, deleted only while still at the version read; else whatever its version.
    const pinned = pinnedVersion(ifMatch, current.updatedAt, "source");
    assertSaved(await deleteSource(c.env.DB, id, pinned), "source", id, pinned !== undefined);
    forgetSource(id);
    return c.body(null, 204);
  });
