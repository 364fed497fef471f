// Property test over the dashboard's form posts (the sibling of malformed-input.test.ts, which
// covers the API): every action gets malformed forms from a signed-in session with its CSRF
// requirement met (same Origin). Each answer is a redirect (with a banner saying what was wrong
// when refused) or a page; never a 5xx or a throw; and a refused action changed nothing stored.
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { MAX_ATTEMPTS_LIMIT } from "../../src/domain/delivery";
import { MAX_CONCURRENCY_MAX, ORDERINGS } from "../../src/domain/flow";
import { isTypePattern } from "../../src/domain/event-types";
import { FAILING_AFTER_MAX } from "../../src/domain/health";
import { PROVIDER_NAMES } from "../../src/domain/types";
import { SCOPES } from "../../src/domain/scopes";
import { recordDeadLetters } from "../../src/store/dead-letters";
import { ADMIN_TOKEN, call, dashboardCookie, pageBanners, pageText as text } from "./helpers";
import { pipeline, uniqueKey } from "./pipeline";

/** Fixed, so that a failure replays. */
const SEED = 20261129;
const ORIGIN = "https://edgehook.test";

interface Fixture {
  sourceId: string;
  webhookUid: string;
  eventId: string;
  deliveryId: string;
  endpointUid: string;
  tokenId: string;
  deadLetterId: string;
}

/** Which stored thing an action's path names. */
type Target = "webhook" | "source" | "event" | "delivery" | "endpoint" | "token" | "deadLetter";

/** A form's text field as the dashboard reads it: its last text value (a file is none), or "". */
type Read = (name: string) => string;

interface Action {
  name: string;
  /** The path, with `{id}` for the target's id. */
  path: string;
  target?: Target;
  /** Whether a well-formed form on the stored target would change it whatever the fields: such actions get bad ids only. */
  anyForm?: boolean;
  /** Whether only the stored target is posted to (a bad one is no different: retrying a webhook's failed deliveries is a filter). */
  storedOnly?: boolean;
  /** A form the action takes, which the property breaks. */
  base: (f: Fixture) => [string, string][];
  /** The fields the property breaks (the others keep their base value), and whether a form as read is refused (on a target that exists). */
  breakable: string[];
  refuses: (read: Read, f: Fixture) => boolean;
}

/** What the docs say of a webhook's fields (docs/api.md), as the form's text: an https URL that is not private, types (isTypePattern), bounded integers. */
// (rateLimit and autoDisableAfterMinutes, whose empty box means none, are left as they are here;
// their text that is no number is refused in dashboard-answers.test.ts.)
const WEBHOOK_NUMBERS: [string, number, number][] = [
  ["timeoutMs", 100, 30_000],
  ["maxAttempts", 1, MAX_ATTEMPTS_LIMIT],
  ["maxConcurrency", 1, MAX_CONCURRENCY_MAX],
  ["failingAfterAttempts", 1, FAILING_AFTER_MAX],
];
const WEBHOOK_BREAKABLE = ["url", "eventTypes", "ordering", ...WEBHOOK_NUMBERS.map(([name]) => name)];
function webhookRefused(read: Read, f: Fixture): boolean {
  const types = read("eventTypes").split(",").map((t) => t.trim()).filter(Boolean);
  const ordering = read("ordering").trim();
  return (
    read("url").trim() !== `https://downstream.test/ok/${f.webhookUid}` ||
    types.length === 0 ||
    types.some((t) => t.length > 200 || !isTypePattern(t)) ||
    (ordering !== "" && !(ORDERINGS as readonly string[]).includes(ordering)) ||
    // Left empty (or blank), a number is the default (or none); else decimal digits, as typed, in its range.
    WEBHOOK_NUMBERS.some(([name, min, max]) => {
      const text = read(name);
      const n = Number(text);
      return text.trim() !== "" && !(/^\d+$/.test(text) && n >= min && n <= max);
    })
  );
}
/** A source's secret: 8 to 256 characters (docs/api.md). */
const secretRefused = (secret: string) => secret.length < 8 || secret.length > 256;

const WEBHOOK_FIELDS = (f: Fixture): [string, string][] => [
  ["url", `https://downstream.test/ok/${f.webhookUid}`],
  ["eventTypes", "message.received, contact.*"],
  ["timeoutMs", "5000"],
  ["maxAttempts", "15"],
  ["rateLimit", ""],
  ["maxConcurrency", "6"],
  ["ordering", "unordered"],
  ["failingAfterAttempts", "5"],
  ["autoDisableAfterMinutes", ""],
  ["filter", '{"body":{"data.x":1}}'],
  ["transform", "{ 'x': data }"],
  ["transformHeaders", '{"x-a":"metadata.eventType"}'],
];

/** The actions; those on any form reach only a bad id, so they are refused whatever the form. */
const byId = { breakable: [], refuses: () => true };
const ACTIONS: Action[] = [
  { name: "sign in", path: "/dashboard/login", base: () => [["token", ADMIN_TOKEN]], breakable: ["token"], refuses: (read) => read("token").trim() !== ADMIN_TOKEN },
  // Signing out reads no form: whatever its body, it signs out.
  { name: "sign out", path: "/dashboard/logout", base: () => [], breakable: [], refuses: () => false },
  {
    name: "create webhook",
    path: "/dashboard/webhooks",
    base: (f) => [...WEBHOOK_FIELDS(f), ["organizationUid", "org-fuzz"], ["locationUid", ""]],
    breakable: WEBHOOK_BREAKABLE,
    refuses: webhookRefused,
  },
  { name: "edit webhook", path: "/dashboard/webhooks/{id}", target: "webhook", base: (f) => WEBHOOK_FIELDS(f), breakable: WEBHOOK_BREAKABLE, refuses: webhookRefused },
  { name: "test webhook", path: "/dashboard/webhooks/{id}/test", target: "webhook", base: (f) => [["eventId", f.eventId]], breakable: ["eventId"], refuses: (read, f) => read("eventId").trim() !== f.eventId },
  { name: "enable webhook", path: "/dashboard/webhooks/{id}/enable", target: "webhook", anyForm: true, base: () => [], ...byId },
  { name: "disable webhook", path: "/dashboard/webhooks/{id}/disable", target: "webhook", anyForm: true, base: () => [], ...byId },
  { name: "delete webhook", path: "/dashboard/webhooks/{id}/delete", target: "webhook", anyForm: true, base: () => [], ...byId },
  // No cursor here was issued by the API: one given is refused; none retries from the oldest.
  { name: "retry failed", path: "/dashboard/webhooks/{id}/retry-failed", target: "webhook", storedOnly: true, base: () => [["cursor", ""]], breakable: ["cursor"], refuses: (read) => read("cursor") !== "" },
  { name: "retry delivery", path: "/dashboard/deliveries/{id}/retry", target: "delivery", anyForm: true, base: (f) => [["back", f.eventId]], ...byId },
  { name: "replay event", path: "/dashboard/events/{id}/replay", target: "event", anyForm: true, base: () => [], ...byId },
  {
    name: "create source",
    path: "/dashboard/sources",
    base: () => [["id", ""], ["name", "fuzz"], ["provider", "stripe"], ["secret", "a-fuzz-secret"]],
    breakable: ["provider", "secret"],
    refuses: (read) => !(PROVIDER_NAMES as readonly string[]).includes(read("provider")) || secretRefused(read("secret")),
  },
  { name: "rotate source", path: "/dashboard/sources/{id}/rotate", target: "source", base: () => [["secret", "a-new-fuzz-secret"]], breakable: ["secret"], refuses: (read) => secretRefused(read("secret")) },
  { name: "delete source", path: "/dashboard/sources/{id}/delete", target: "source", anyForm: true, base: () => [], ...byId },
  {
    name: "create endpoint",
    path: "/dashboard/alerts/endpoints",
    base: () => [["url", "https://ops.example.com/alerts"], ["alertTypes", "webhook.failing"], ["alertTypes", "webhook.disabled"], ["format", "standard-webhooks"]],
    breakable: ["url"],
    refuses: (read) => read("url").trim() !== "https://ops.example.com/alerts",
  },
  { name: "delete endpoint", path: "/dashboard/alerts/endpoints/{id}/delete", target: "endpoint", anyForm: true, base: () => [], ...byId },
  // (Its name is left as it is: what the API takes of a name is tested with the API's.)
  {
    name: "create token",
    path: "/dashboard/tokens",
    base: () => [["name", "fuzz"], ["scopes", "events:read"], ["organizationUids", ""], ["locationUids", ""]],
    breakable: ["scopes"],
    refuses: (read) => !(SCOPES as readonly string[]).includes(read("scopes")),
  },
  { name: "revoke token", path: "/dashboard/tokens/{id}/revoke", target: "token", anyForm: true, base: () => [], ...byId },
  { name: "replay dead letter", path: "/dashboard/dead-letters/{id}/replay", target: "deadLetter", anyForm: true, base: () => [], ...byId },
  { name: "delete dead letter", path: "/dashboard/dead-letters/{id}/delete", target: "deadLetter", anyForm: true, base: () => [], ...byId },
];

/** The dashboard's limit on a form's size (a 413 page past it). */
const FORM_LIMIT_BYTES = 64 * 1024;

/**
 * Whether a post is to be refused, from what is sent alone: a form over the size limit; else
 * (signing out aside, which reads no form) a bad id, a multipart body the runtime cannot parse
 * (the same parse as Hono's parseBody), or the form as read (none but urlencoded or multipart).
 */
async function predictRefused(action: Action, badId: boolean, request: Request, f: Fixture): Promise<boolean> {
  const bytes = await request.clone().arrayBuffer();
  if (bytes.byteLength > FORM_LIMIT_BYTES) return true;
  if (action.name === "sign out") return false;
  if (badId) return true;
  const type = request.headers.get("content-type")?.split(";")[0]!.trim().toLowerCase();
  let form = new FormData();
  if (type === "multipart/form-data" || type === "application/x-www-form-urlencoded") {
    try {
      form = await new Response(bytes, { headers: { "content-type": request.headers.get("content-type")! } }).formData();
    } catch {
      return true;
    }
  }
  const read: Read = (name) => form.getAll(name).filter((v): v is string => typeof v === "string").at(-1) ?? "";
  return action.refuses(read, f);
}

/** Values no field of these forms should take as they are, or only with care. */
const WRONG_VALUES = [
  "",
  " ",
  "abc",
  "-1",
  "0",
  "1.5",
  "NaN",
  "Infinity",
  "1e999",
  "0x10",
  "1e1",
  "5.0",
  " 5",
  "9007199254740993",
  "true",
  "null",
  "[]",
  "{}",
  "{",
  '{"__proto__":{"body":{"a":1}}}',
  '{"body":{"a":{"$regex":"("}}}',
  '"a string"',
  `${"[".repeat(3000)}1${"]".repeat(3000)}`,
  `${"(".repeat(3000)}1${")".repeat(3000)}`,
  "x\ud800",
  "\udfffx",
  "\u0000",
  "évènement",
  "javascript:alert(1)",
  "https://127.0.0.1/x",
  "a,,b, ,*",
  "a".repeat(5_000),
  "é".repeat(20_000),
  "a".repeat(70_000),
];

/** Ids of the wrong shape, length or encoding. */
const BAD_IDS = ["x", "evt_", "evt_zz", "whk_0", "del_123", "-", "a".repeat(129), "a".repeat(3000), "%zz", "%ff%fe", "%C0%AF", "%00", "..%2F..%2F", "%20", "(unknown)", "0", "NaN"];

/** How a form is sent: the encodings a browser uses, JSON, text, none, and broken ones. */
const ENCODINGS = ["urlencoded", "urlencoded", "urlencoded", "multipart", "multipart", "json", "text", "none", "multipart-broken", "urlencoded-raw"] as const;
type Encoding = (typeof ENCODINGS)[number];

/** Percent-encodings that are not UTF-8 or not encodings at all. */
const RAW_ESCAPES = ["%zz", "%", "%E0%A4%A", "%ff%fe", "%C0%AF", "%ED%A0%80", "%00", "%2", "+%2B+"];

function encode(encoding: Encoding, fields: [string, string | Blob][], rawEscape: string): { body?: BodyInit; contentType?: string } {
  const strings = fields.map(([k, v]): [string, string] => [k, typeof v === "string" ? v : "[file]"]);
  switch (encoding) {
    case "urlencoded":
      return { body: new URLSearchParams(strings).toString(), contentType: "application/x-www-form-urlencoded" };
    case "multipart": {
      const form = new FormData();
      for (const [k, v] of fields) form.append(k, v);
      return { body: form };
    }
    case "json":
      return { body: JSON.stringify(Object.fromEntries(strings)), contentType: "application/json" };
    case "text":
      return { body: strings.map(([k, v]) => `${k}=${v}`).join("\n"), contentType: "text/plain" };
    case "none":
      return { body: new URLSearchParams(strings).toString() };
    case "multipart-broken":
      return { body: `--other\r\ncontent-disposition: form-data; name="${strings[0]?.[0] ?? "x"}"\r\n\r\nvalue`, contentType: "multipart/form-data; boundary=x" };
    case "urlencoded-raw":
      return { body: [...strings.map(([k]) => `${k}=${rawEscape}`), `${rawEscape}=${rawEscape}`].join("&"), contentType: "application/x-www-form-urlencoded" };
  }
}

const count = async (sql: string, ...binds: unknown[]) => Number(await env.DB.prepare(sql).bind(...binds).first("n"));

/** What is stored of the fixture and how many of each thing there are, straight from the database. */
async function snapshot(f: Fixture) {
  const row = (sql: string, id: string) => env.DB.prepare(sql).bind(id).first();
  return {
    source: await row("SELECT * FROM sources WHERE id = ?", f.sourceId),
    webhook: await row("SELECT * FROM webhooks WHERE uid = ?", f.webhookUid),
    endpoint: await row("SELECT * FROM webhooks WHERE uid = ?", f.endpointUid),
    token: await row("SELECT * FROM tokens WHERE id = ?", f.tokenId),
    deadLetter: await row("SELECT * FROM dead_letters WHERE seq = ?", f.deadLetterId),
    deadLetters: await count("SELECT COUNT(*) AS n FROM dead_letters"),
    sources: await count("SELECT COUNT(*) AS n FROM sources"),
    webhooks: await count("SELECT COUNT(*) AS n FROM webhooks"),
    sessions: await count("SELECT COUNT(*) AS n FROM sessions"),
  };
}

/** The error banner of a page. */
const errorBanner = (html: string) => pageBanners(html, "alert").join(" ");

/** Messages that say something went wrong without saying what. */
const UNHELPFUL = /HTTP \d|went wrong|unexpected shape|That did not work|Maximum call stack|\[object /;

/**
 * Whether the answer refused the action, after checking it is well-formed: a redirect inside
 * the dashboard (a refusal's carries an error banner that says what was wrong), or a page (a
 * refusal's has a 4xx status and an error banner), or a page's 413 or 400 for a body too large or unreadable.
 */
async function refused(action: Action, res: Response, what: string, session: string | null): Promise<boolean> {
  const body = await res.text();
  const context = `${what} -> ${res.status} ${res.headers.get("location") ?? ""} ${text(body).slice(0, 400)}`;
  expect(res.status, context).toBeLessThan(500);
  // The body limit's 413, and the 400 of a form that cannot be parsed, are pages saying so.
  if (res.status === 413 || errorBanner(body).startsWith("The form could not be read")) {
    expect(res.headers.get("content-type"), context).toMatch(/^text\/html/);
    expect([400, 413], context).toContain(res.status);
    expect(errorBanner(body), context).toMatch(res.status === 413 ? /^Request too large: / : /^The form could not be read/);
    return true;
  }
  if (res.status === 303) {
    const to = new URL(res.headers.get("location") ?? "", `${ORIGIN}/`);
    expect(to.origin, context).toBe(ORIGIN);
    expect(to.pathname, context).toMatch(/^\/dashboard(\/|$)/);
    if (action.name === "sign in") return to.pathname === "/dashboard/login";
    if (action.name === "sign out") {
      expect(`${to.pathname}${to.search}`, context).toBe("/dashboard/login?notice=signed-out");
      return false;
    }
    // A form that made a secret goes on to the page that shows it once.
    if (to.pathname.startsWith("/dashboard/created/")) return false;
    // A test goes on to its result's page (post/redirect/get), naming the event alone, where it
    // runs: its refusal is that page's, back to the webhook's page saying why.
    if (action.name === "test webhook" && to.pathname.endsWith("/test")) {
      expect([...to.searchParams.keys()], context).toEqual(["eventId"]);
      const result = await call(new Request(to, { headers: session ? { cookie: session } : {} }));
      return refused(action, result, `${context} -> GET`, session);
    }
    const error = to.searchParams.get("error");
    if (error === null) {
      expect(to.searchParams.get("notice"), context).toBeTruthy();
      return false;
    }
    expect(error.length, context).toBeGreaterThan(0);
    expect(error, context).not.toMatch(UNHELPFUL);
    return true;
  }
  expect(res.headers.get("content-type"), context).toMatch(/^text\/html/);
  if (res.status === 200) {
    expect(errorBanner(body), context).toBe("");
    return false;
  }
  expect([400, 403, 404], context).toContain(res.status);
  const error = errorBanner(body) || text(body.match(/<main[\s\S]*<\/main>/)?.[0] ?? "").trim();
  expect(error.length, context).toBeGreaterThan(0);
  expect(error, context).not.toMatch(UNHELPFUL);
  return true;
}

describe("the dashboard's forms under malformed input", () => {
  const p = pipeline();
  let f: Fixture;
  let cookie: string;

  beforeAll(async () => {
    cookie = await dashboardCookie();
    const sourceId = `fuzz-${uniqueKey()}`;
    expect((await p.api("POST", "/v1/sources", { id: sourceId, name: "fuzz", provider: "stripe", secrets: ["a-fuzz-secret"] })).status).toBe(201);
    const { webhook, event } = await p.webhookOn("ok");
    const eventId = await p.ingest(event());
    const deliveryId: string = (await p.api("GET", `/v1/events/${eventId}`)).json.deliveries[0].id;
    const endpoint = await p.api("POST", "/v1/notification-endpoints", { url: "https://ops.example.com/alerts", alertTypes: ["webhook.failing"] });
    expect(endpoint.status).toBe(201);
    const token = await p.api("POST", "/v1/tokens", { name: "fuzz", scopes: ["events:read"] });
    expect(token.status).toBe(201);
    await recordDeadLetters(env.DB, [{ queue: "edgehook-ingest-dlq", messageId: `fuzz-${eventId}`, eventId, deliveryId: null, reason: "fuzz", body: "{}", attempts: 1, receivedAt: Date.now() }]);
    const deadLetter = (await p.api("GET", "/v1/dead-letters?limit=1")).json.data[0];
    f = { sourceId, webhookUid: webhook.uid, eventId, deliveryId, endpointUid: endpoint.json.uid, tokenId: token.json.id, deadLetterId: String(deadLetter.id) };
  });

  it("answers every post a redirect or a page saying what was wrong, never a 5xx, and a refused one changes nothing", async () => {
    const idOf: Record<Target, (f: Fixture) => string> = {
      webhook: (x) => x.webhookUid,
      source: (x) => x.sourceId,
      event: (x) => x.eventId,
      delivery: (x) => x.deliveryId,
      endpoint: (x) => x.endpointUid,
      token: (x) => x.tokenId,
      deadLetter: (x) => x.deadLetterId,
    };
    const request = fc.record({
      action: fc.constantFrom(...ACTIONS),
      stored: fc.boolean(),
      badId: fc.constantFrom(...BAD_IDS),
      // What happens to the form: a field wrong, missing, repeated, sent as a file, or names added.
      change: fc.constantFrom("wrong", "wrong", "wrong", "missing", "repeated", "file", "extra"),
      field: fc.nat(),
      value: fc.constantFrom(...WRONG_VALUES),
      encoding: fc.constantFrom(...ENCODINGS),
      rawEscape: fc.constantFrom(...RAW_ESCAPES),
    });

    let before = await snapshot(f);
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const { action } = r;
        // An action that takes any form would be well-formed on the stored target: it gets a bad id.
        const useStored = action.target !== undefined && (action.storedOnly || (r.stored && !action.anyForm));
        const id = action.target === undefined ? "" : useStored ? idOf[action.target](f) : r.badId;
        const path = action.path.replace("{id}", id);

        // One field the action's refusal is known for is broken; the others keep their base value.
        const fields: [string, string | Blob][] = action.base(f);
        const broken = action.breakable.length > 0 ? action.breakable[r.field % action.breakable.length]! : undefined;
        const i = fields.findIndex(([k]) => k === broken);
        const name = fields[i]?.[0] ?? "x";
        if (r.change === "wrong" && i >= 0) fields[i] = [name, r.value];
        if (r.change === "missing" && i >= 0) fields.splice(i, 1);
        if (r.change === "repeated") fields.push([name, r.value]);
        if (r.change === "file") fields.splice(Math.max(i, 0), i >= 0 ? 1 : 0, [name, new File([r.value], "x.txt", { type: "text/plain" })]);
        if (r.change === "extra") fields.push([`${name}[]`, r.value], ["__proto__", r.value], [r.value.slice(0, 100), "x"]);

        const { body, contentType } = encode(r.encoding, fields, r.rawEscape);
        // Signing out ends the session it is posted in: it gets one of its own.
        const session = action.name === "sign in" ? null : action.name === "sign out" ? await dashboardCookie() : cookie;
        const headers = new Headers({ origin: ORIGIN });
        if (session) headers.set("cookie", session);
        if (contentType) headers.set("content-type", contentType);
        const what = `${action.name}: POST ${path.slice(0, 200)} ${r.encoding} ${r.change} ${name}=${r.value.slice(0, 80)}`;
        if (action.name === "sign out") before = await snapshot(f);

        const request = new Request(`${ORIGIN}${path}`, { method: "POST", headers, body });
        const predicted = await predictRefused(action, action.target !== undefined && !useStored, request, f);
        let res: Response;
        try {
          res = await call(request);
        } catch (err) {
          throw new Error(`${what} threw: ${String(err)}`);
        }
        // (The answer is read first: a page is rendered, and its work done, as it is read.)
        const wasRefused = await refused(action, res, what, session);
        const after = await snapshot(f);
        expect(wasRefused, `${what}: refused`).toBe(predicted);
        if (predicted) expect(after, `${what}: refused, yet something changed`).toEqual(before);
        before = after;
      }),
      { seed: SEED, numRuns: 400 },
    );

    // The session used throughout still works, and the fixture is still there.
    const still = await call(new Request(`${ORIGIN}/dashboard/webhooks/${f.webhookUid}`, { headers: { cookie } }));
    expect(still.status).toBe(200);
  }, 120_000);
});

describe("bad forms the property found", () => {
  const p = pipeline();
  const post = (path: string, cookie: string, body: BodyInit, contentType?: string) =>
    call(new Request(`${ORIGIN}${path}`, { method: "POST", headers: { cookie, origin: ORIGIN, ...(contentType ? { "content-type": contentType } : {}) }, body }));

  it("answers a multipart body it cannot parse 400, saying so, instead of a 500 (signed out: the way to sign in); signing out reads no form", async () => {
    const cookie = await dashboardCookie();
    const broken = '--other\r\ncontent-disposition: form-data; name="secret"\r\n\r\nvalue';
    for (const path of ["/dashboard/webhooks", "/dashboard/sources", "/dashboard/alerts/endpoints"]) {
      const res = await post(path, cookie, broken, "multipart/form-data; boundary=x");
      expect(res.status, path).toBe(400);
      // A page of the signed-in dashboard, saying what was wrong, with a link back.
      expect(res.headers.get("content-type"), path).toMatch(/^text\/html/);
      const html = await res.text();
      expect(pageBanners(html, "alert"), path).toEqual(["The form could not be read: send it as application/x-www-form-urlencoded or multipart/form-data."]);
      expect(html, path).toContain('<nav aria-label="Main">');
      expect(html, path).toMatch(/<a href="\/dashboard">Back to the dashboard<\/a>/);
      // Signed out, the form is not read: the answer is the way to sign in, saying nothing was saved.
      const signedOut = await post(path, "", broken, "multipart/form-data; boundary=x");
      expect(signedOut.headers.get("location"), path).toBe("/dashboard/login?notice=unsaved");
    }
    // Signing in with a form that cannot be read signs no one in.
    const login = await post("/dashboard/login", "", broken, "multipart/form-data; boundary=x");
    expect(login.headers.get("location")).toBe("/dashboard/login?error=invalid-token");
    const out = await post("/dashboard/logout", cookie, broken, "multipart/form-data; boundary=x");
    expect(out.status).toBe(303);
    expect(out.headers.get("location")).toBe("/dashboard/login?notice=signed-out");
    expect((await call(new Request(`${ORIGIN}/dashboard/webhooks`, { headers: { cookie } }))).headers.get("location")).toBe("/dashboard/login?next=%2Fdashboard%2Fwebhooks");
  });

  it('takes a file sent where text is expected as no value, not as the text "[object File]" (which was stored as a source\'s secret)', async () => {
    const cookie = await dashboardCookie();
    const id = `file-${uniqueKey()}`;
    expect((await p.api("POST", "/v1/sources", { id, name: "file", provider: "stripe", secrets: ["a-first-secret"] })).status).toBe(201);
    const stored = () => env.DB.prepare("SELECT * FROM sources WHERE id = ?").bind(id).first();
    const before = await stored();
    const form = new FormData();
    form.append("secret", new File(["a-second-secret"], "secret.txt"));
    const res = await post(`/dashboard/sources/${id}/rotate`, cookie, form);
    // The page again with the API's 400, naming the box.
    expect(res.status).toBe(400);
    expect(errorBanner(await res.text())).toMatch(/^New secret: /);
    expect(await stored()).toEqual(before);

    // Nor as an alert type's or a test's event id.
    const endpoint = new FormData();
    endpoint.append("url", "https://ops.example.com/alerts");
    endpoint.append("alertTypes", new File(["webhook.failing"], "t.txt"));
    const created = await post("/dashboard/alerts/endpoints", cookie, endpoint);
    expect(created.status).toBe(400); // the form again, with what was typed and the error
    const error = errorBanner(await created.text());
    expect(error).toMatch(/^Alerts: /);
    expect(error).not.toContain("[object File]");
  });
});
