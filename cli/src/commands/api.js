// The API commands: a thin layer over the typed client (../client.js). Each prints
// a table, or with --json the API's answer as it came.
import { Option } from "commander";
import { apiClient, unwrap } from "../client.js";
import { CliError } from "../errors.js";
import { fieldRange, OPENAPI, parameterRange, rangeText } from "../openapi.js";
import { isNumber, isString, memberOf } from "../guards.js";
import { printable, printJson, printTable } from "../output.js";
import { autoDisableOf, commandLine, connectionOf, everyRow, inlineOrFile, jsonObjectOption, jsonObjectOrFile, list, paged, printPage, queryList, rateLimitOf, sameConnection, show, stateOf, sub, wholeIn, wholeInOr, someChange } from "./common.js";

/** @typedef {import("../client.js").Schemas} S @typedef {S["TokenCreate"]["scopes"][number]} Scope */

/** The scopes the API knows, read from the same OpenAPI document the client's types come from. */
const SCOPES = new Set(OPENAPI.components.schemas.TokenCreate.properties.scopes.items.enum);

/** @param {string} s @returns {s is Scope} */
const isScope = (s) => SCOPES.has(s);

/** @param {string | undefined} value @returns {Scope[]} */
function scopes(value) {
  const given = list(value, "--scopes", "scope") ?? [];
  const unknown = given.filter((s) => !isScope(s));
  if (unknown.length) throw new CliError(`Unknown scope ${unknown.join(", ")}; the scopes are ${[...SCOPES].join(", ")}.`, { exitCode: 2 });
  return given.filter(isScope);
}

const HMAC_HELP = 'hmac only, its configuration: \'{"header":"x-signature","algorithm":"SHA-256","encoding":"hex"}\' (docs/providers.md)';
/** --previous-secret-valid-seconds: the API's range. */
const PREVIOUS_SECRET_SECONDS = fieldRange("WebhookPatch", "previousSecretValidSeconds");
const SHOP_DOMAIN_HELP = "shopify only: the one shop it accepts (example.myshopify.com); pinned, each topic of one order body is an event";

/**
 * `--verification`/`--no-verification` as the API's word; neither given: undefined, left as it is.
 * @param {boolean | undefined} v @returns {S["SourcePatch"]["verification"]}
 */
const verificationOf = (v) => (v === undefined ? undefined : v ? "signature" : "none");

const FILTER_HELP = 'content filter, a JSON document: \'{"body":{"data.conversation.channel.type":"phone"}}\' (docs/filters-and-transforms.md)';
const TRANSFORM_HELP = "JSONata expression whose result is the body sent";
const HEADERS_HELP = "extra headers, name → JSONata expression: '{\"x-conversation\":\"data.conversation.uid\"}'";

/**
 * A webhook's SCOPE: catch-all only when the answer says it has neither owner (both null).
 * @param {{ organizationUid?: unknown, locationUid?: unknown }} w
 */
function scopeOf(w) {
  const org = memberOf(w.organizationUid, isString);
  const loc = memberOf(w.locationUid, isString);
  return org ? `org ${org}` : loc ? `loc ${loc}` : w.organizationUid === null && w.locationUid === null ? "catch-all" : undefined;
}

/** @type {[string, (w: S["Webhook"]) => unknown][]} */
const WEBHOOK_COLUMNS = [
  ["UID", (w) => w.uid],
  ["URL", (w) => w.url],
  ["TYPES", (w) => w.eventTypes.join(",")],
  ["SCOPE", scopeOf],
  ["STATE", (w) => stateOf(w.disabled)],
];

/**
 * An attempt's columns, blank for none (a delivery not yet attempted), of the rows `of` finds it in.
 * @template T @param {(row: T) => S["Attempt"] | null} of @returns {[string, (row: T) => unknown][]}
 */
const attemptColumns = (of) => [
  ["ATTEMPT", (r) => of(r)?.number],
  ["HTTP", (r) => of(r)?.statusCode],
  ["MS", (r) => of(r)?.durationMs],
  ["ERROR", (r) => of(r)?.error],
];

/**
 * The API's warnings on a webhook it saved (an event type none of its sources has received), on
 * stderr: the table alone would hide that the webhook may never fire.
 * @param {S["WebhookChanged"]} w
 */
function warnOf(w) {
  for (const warning of w.warnings ?? []) process.stderr.write(`warning: ${printable(warning.message)}\n`);
}

/**
 * The delivery options a webhook is made and changed with, alike for both, each of the range its
 * field has in `schema`, the body they are sent in.
 * @param {import("commander").Command} cmd @param {"WebhookCreate" | "WebhookPatch"} schema
 */
function withDeliveryPolicy(cmd, schema) {
  const [timeout, attempts, rate, concurrency, failing, minutes] = ["timeoutMs", "maxAttempts", "rateLimit", "maxConcurrency", "failingAfterAttempts", "autoDisableAfterMinutes"].map((f) => fieldRange(schema, f));
  // (A flag's range its help says; the help of one that takes a word says the word too.)
  const ranged = (/** @type {string} */ help, /** @type {import("../openapi.js").Range} */ r) => `${help} (${rangeText(r)})`;
  return cmd
    .option("--timeout-ms <ms>", ranged("downstream timeout", timeout), wholeIn(timeout))
    .option("--max-attempts <n>", ranged("attempts before a delivery fails", attempts), wholeIn(attempts))
    .option("--rate-limit <n|none>", `attempts (retries included) started per second at most (${rangeText(rate)}); none: no limit`, wholeInOr(rate, "none", "for no limit"))
    .option("--max-concurrency <n>", ranged("requests in flight at once at most", concurrency), wholeIn(concurrency))
    .addOption(new Option("--ordering <ordering>", "fifo: one at a time, in the order received").choices(["fifo", "unordered"]))
    .option("--failing-after-attempts <n>", `failed attempts in a row that make it failing and raise webhook.failing (${rangeText(failing)}; default 10)`, wholeIn(failing))
    .option(
      "--auto-disable-after-minutes <n|never>",
      `disable it once every attempt has failed this long while failing (${rangeText(minutes)}; default 1440); never: not automatically`,
      wholeInOr(minutes, "never", "to not disable it automatically"),
    );
}

/** Those options as the API's fields (undefined: not given). @param {import("commander").OptionValues} o */
const deliveryPolicyOf = (o) => ({
  timeoutMs: o.timeoutMs,
  maxAttempts: o.maxAttempts,
  rateLimit: rateLimitOf(o.rateLimit),
  maxConcurrency: o.maxConcurrency,
  ordering: o.ordering,
  failingAfterAttempts: o.failingAfterAttempts,
  autoDisableAfterMinutes: autoDisableOf(o.autoDisableAfterMinutes),
});

/**
 * A source's --tolerance, of the range of `schema`'s toleranceSeconds.
 * @param {"SourceCreate" | "SourcePatch"} schema @returns {[string, string, (value: string) => number]}
 */
function toleranceOption(schema) {
  const r = fieldRange(schema, "toleranceSeconds");
  return ["--tolerance <seconds>", `allowed clock difference of the signature timestamp, ${rangeText(r)} (0: not checked)`, wholeIn(r)];
}

/** @param {import("commander").Command} program */
export function registerApi(program) {
  const webhooks = program.command("webhooks").description("forwarding subscriptions");
  paged(sub(webhooks, "list", "list webhooks"), "/v1/webhooks").action(async (o, cmd) => {
    const page = await unwrap(apiClient(connectionOf(o)).GET("/v1/webhooks", { params: { query: { limit: o.limit, cursor: o.cursor } } }));
    await show(o.json, page, () => printPage(page, cmd, WEBHOOK_COLUMNS));
  });
  sub(webhooks, "get <uid>", "one webhook").action(async (uid, o) => {
    const w = await unwrap(apiClient(connectionOf(o)).GET("/v1/webhooks/{uid}", { params: { path: { uid } } }));
    await show(o.json, w, () => printJson(w));
  });
  const create = sub(webhooks, "create", "create a webhook; its secret is printed this once")
    .requiredOption("--endpoint <url>", "the webhook's url: where events are POSTed")
    .requiredOption("--types <types>", "event types: message.received, message.*, * (comma-separated)")
    .addOption(new Option("--organization <uid>", "that organization's events").conflicts("location"))
    .option("--location <uid>", "that location's events")
    .option("--sources <ids>", "only these sources (comma-separated)")
    .option("--secret <secret>", "signing secret (default: a generated whsec_…)")
    .option("--disabled", "create it disabled: deliveries are held until it is enabled");
  withDeliveryPolicy(create, "WebhookCreate")
    .option("--filter <json|@file>", FILTER_HELP, jsonObjectOrFile("--filter"))
    .option("--transform <expr|@file>", TRANSFORM_HELP, inlineOrFile)
    .option("--transform-headers <json|@file>", HEADERS_HELP, jsonObjectOrFile("--transform-headers"))
    .action(async (o) => {
      const w = await unwrap(
        apiClient(connectionOf(o)).POST("/v1/webhooks", {
          body: {
            url: o.endpoint,
            eventTypes: list(o.types, "--types", "event type") ?? [],
            organizationUid: o.organization,
            locationUid: o.location,
            sourceIds: list(o.sources, "--sources", "source"),
            secret: o.secret,
            disabled: o.disabled,
            ...deliveryPolicyOf(o),
            filter: o.filter,
            transform: o.transform,
            transformHeaders: o.transformHeaders,
          },
        }),
      );
      await show(o.json, w, async () => {
        await printTable([w], WEBHOOK_COLUMNS);
        process.stdout.write(`secret: ${printable(w.secret)}  (shown this once)\n`);
        warnOf(w);
      });
    });
  const update = sub(webhooks, "update <uid>", "change a webhook (never its organization or location)")
    .option("--endpoint <url>", "new url")
    .option("--types <types>", "new event types (comma-separated)")
    .option("--sources <ids>", "only these sources (comma-separated; 'all' for every source)")
    .option("--secret <secret>", "new signing secret")
    .option(
      "--previous-secret-valid-seconds <s>",
      `with --secret: seconds the old secret keeps signing beside it (${rangeText(PREVIOUS_SECRET_SECONDS)}, default 86400; 0: stops at once); 0 without --secret ends the previous secret now`,
      wholeIn(PREVIOUS_SECRET_SECONDS),
    )
    .addOption(new Option("--enable", "enable it: held deliveries go out, oldest first").conflicts("disable"))
    .option("--disable", "disable it: pending and new deliveries are held until it is enabled");
  withDeliveryPolicy(update, "WebhookPatch")
    .option("--filter <json|@file>", FILTER_HELP, jsonObjectOrFile("--filter"))
    .option("--no-filter", "remove the filter: every event of its types, owner and sources again")
    .option("--transform <expr|@file>", TRANSFORM_HELP, inlineOrFile)
    .option("--no-transform", "remove the transformation: the stored body byte for byte")
    .option("--transform-headers <json|@file>", `${HEADERS_HELP}; replaces them all`, jsonObjectOrFile("--transform-headers"))
    .option("--no-transform-headers", "remove the extra headers")
    .action(async (uid, o) => {
      const body = {
        url: o.endpoint,
        eventTypes: list(o.types, "--types", "event type"),
        sourceIds: o.sources === "all" ? null : list(o.sources, "--sources", "source"),
        secret: o.secret,
        previousSecretValidSeconds: o.previousSecretValidSeconds,
        disabled: o.enable ? false : o.disable ? true : undefined,
        ...deliveryPolicyOf(o),
        // --no-filter (and its kin) set false: the API's null, which removes it.
        filter: o.filter === false ? null : o.filter,
        transform: o.transform === false ? null : o.transform,
        transformHeaders: o.transformHeaders === false ? null : o.transformHeaders,
      };
      someChange(body);
      const w = await unwrap(apiClient(connectionOf(o)).PATCH("/v1/webhooks/{uid}", { params: { path: { uid } }, body }));
      await show(o.json, w, async () => {
        await printTable([w], WEBHOOK_COLUMNS);
        warnOf(w);
      });
    });
  sub(webhooks, "test <uid>", "run the webhook's routing checks, filter and transformation on a stored event; nothing is sent")
    .requiredOption("--event <id>", "the stored event to test it on")
    .action(async (uid, o) => {
      const t = await unwrap(apiClient(connectionOf(o)).POST("/v1/webhooks/{uid}/test", { params: { path: { uid } }, body: { eventId: o.event } }));
      await show(o.json, t, async () => {
        // Every check that fails is named: the first alone hid that mending it would not make the webhook owed.
        const failed = (t.checks ?? []).filter((c) => !c.passed).map((c) => printable(c.check));
        const named = failed.length > 1 ? `${failed.slice(0, -1).join(", ")} and ${failed.at(-1)} fail` : `${failed[0] ?? "a check"} fails`;
        process.stdout.write(t.matched ? "owed: a delivery would be made\n" : `not owed: ${named}\n`);
        await printTable(t.checks, [
          ["CHECK", (c) => c.check],
          ["RESULT", (c) => (c.passed ? "pass" : "FAIL")],
          ["WHY", (c) => c.message],
        ]);
        if (t.transformError !== null) process.stdout.write(`transformation fails: ${printable(t.transformError)}\n`);
        if (t.request) {
          const { url, headers, body } = t.request;
          process.stdout.write(`POST ${printable(url)}\n`);
          for (const [name, value] of Object.entries(headers)) process.stdout.write(`${printable(name)}: ${printable(value)}\n`);
          process.stdout.write(`\n${printable(body, { lines: true })}\n`);
        }
      });
    });
  sub(webhooks, "delete <uid>", "delete a webhook (its held deliveries expire)").action(async (uid, o) => {
    await unwrap(apiClient(connectionOf(o)).DELETE("/v1/webhooks/{uid}", { params: { path: { uid } } }));
    await show(o.json, { deleted: uid }, () => process.stdout.write(`deleted ${uid}\n`));
  });

  const events = program.command("events").description("stored events");
  paged(sub(events, "list", "list events, newest first"), "/v1/events")
    .option("--type <type>", "one exact event type (no wildcard)")
    .option("--source <id>", "source id")
    .option("--location <uid>", "location uid")
    .option("--organization <uid>", "organization uid")
    .option("--status <status>", "with a delivery in this status (held, pending, succeeded, failed, expired)")
    .option("--since <time>", "received at or after (ISO 8601)")
    .option("--until <time>", "received before (ISO 8601)")
    .option("--search <q>", "search bodies: path=value, a filter document or text (within --since..--until, default the last 24 h)")
    .action(async (o, cmd) => {
      const query = {
        q: o.search,
        eventType: o.type,
        sourceId: o.source,
        locationUid: o.location,
        organizationUid: o.organization,
        status: o.status,
        since: o.since,
        until: o.until,
        limit: o.limit,
        cursor: o.cursor,
      };
      const page = await unwrap(apiClient(connectionOf(o)).GET("/v1/events", { params: { query } }));
      await show(o.json, page, () =>
        printPage(page, cmd, [
          ["ID", (e) => e.id],
          ["TYPE", (e) => e.eventType],
          ["SOURCE", (e) => e.sourceId],
          ["ORGANIZATION", (e) => e.organizationUid],
          ["LOCATION", (e) => e.locationUid],
          ["RECEIVED", (e) => e.receivedAt],
        ]),
      );
    });
  sub(events, "show <id>", "one event: its body, and its deliveries (newest first, a page) with their attempts")
    .option("--body", "print only the raw body")
    .action(async (id, o) => {
      const e = await unwrap(apiClient(connectionOf(o)).GET("/v1/events/{id}", { params: { path: { id } } }));
      // Into a pipe the body goes byte for byte; on a terminal it is text like any other output.
      if (o.body && !o.json) return void process.stdout.write(process.stdout.isTTY ? `${printable(e.body, { lines: true })}\n` : e.body);
      await show(o.json, e, async () => {
        const { body, deliveries, deliveriesNextCursor, ...summary } = e;
        printJson(summary);
        process.stdout.write(`${printable(body, { lines: true })}\n`);
        await printTable(
          deliveries.flatMap((d) => (d.attempts.length ? d.attempts : [null]).map((a) => ({ d, a }))),
          [
            ["DELIVERY", ({ d }) => d.id],
            ["WEBHOOK", ({ d }) => d.webhookUid],
            ["STATUS", ({ d }) => d.status],
            ...attemptColumns(({ a }) => a),
          ],
        );
        // The API answers the first page of the event's deliveries (replays add more without bound): where the rest are.
        if (deliveriesNextCursor) {
          const next = ["edgehook", "deliveries", "list", "--event", e.id, ...sameConnection(o), "--cursor", deliveriesNextCursor];
          process.stderr.write(`more deliveries: ${commandLine(next)}\n`);
        }
      });
    });
  sub(events, "replay [id]", "deliver an event again, or every event received in --since..--until, to every matching webhook or to one")
    .option("--webhook <uid>", "only to this webhook")
    .option("--since <time>", "range: received at or after (ISO 8601)")
    .option("--until <time>", "range: received before (ISO 8601)")
    .option("--type <type>", "range: only this event type")
    .option("--dry-run", "range: count what would be replayed, replay nothing")
    .action(async (id, o) => {
      const client = apiClient(connectionOf(o));
      if (id) {
        if (o.since || o.until || o.type || o.dryRun) throw new CliError("--since, --until, --type and --dry-run are for a range replay: give them or an event id, not both.", { exitCode: 2 });
        const r = await unwrap(client.POST("/v1/events/{id}/replay", { params: { path: { id } }, body: { webhookUid: o.webhook } }));
        return show(o.json, r, () => process.stdout.write(`${printable(r.deliveries)} new deliver${r.deliveries === 1 ? "y" : "ies"}\n`));
      }
      if (!o.since || !o.until) throw new CliError("Give an event id, or --since and --until for a range replay.", { exitCode: 2 });
      // The API replays a page of the range per call: follow its cursor to the end, as the bulk retry does.
      const r = { dryRun: Boolean(o.dryRun), events: 0, deliveries: 0 };
      /** @type {string | undefined} */
      let cursor;
      try {
        do {
          const body = { since: o.since, until: o.until, webhookUid: o.webhook, eventType: o.type, dryRun: o.dryRun, cursor };
          const page = await unwrap(client.POST("/v1/events/replay", { body }));
          r.events += page.events;
          r.deliveries += page.deliveries;
          // A cursor that did not move would ask for the same page again: stop rather than loop.
          cursor = page.nextCursor && page.nextCursor !== cursor ? page.nextCursor : undefined;
          if (cursor) process.stderr.write(`${r.dryRun ? "counted" : "replayed"} ${r.events} events so far…\n`);
        } while (cursor);
      } catch (err) {
        // What the earlier calls replayed stays replayed: say so before the error, so it is not replayed twice by hand.
        if (r.events > 0 && !r.dryRun) process.stderr.write(`replayed ${r.events} events (${r.deliveries} new deliveries) before this call failed\n`);
        throw err;
      }
      await show(o.json, r, () =>
        process.stdout.write(
          `${r.dryRun ? "would replay" : "replayed"} ${r.events} event${r.events === 1 ? "" : "s"}: ${r.deliveries} ${r.dryRun ? "" : "new "}deliver${r.deliveries === 1 ? "y" : "ies"}\n`,
        ),
      );
    });

  const deliveries = program.command("deliveries").description("deliveries of events to webhooks");
  paged(sub(deliveries, "list", "list deliveries, newest first"), "/v1/deliveries")
    .option("--status <status>", "held, pending, succeeded, failed or expired")
    .option("--webhook <uid>", "of this webhook")
    .option("--event <id>", "of this event")
    .action(async (o, cmd) => {
      const query = { status: o.status, webhookUid: o.webhook, eventId: o.event, limit: o.limit, cursor: o.cursor };
      const page = await unwrap(apiClient(connectionOf(o)).GET("/v1/deliveries", { params: { query } }));
      await show(o.json, page, () =>
        printPage(page, cmd, [
          ["ID", (d) => d.id],
          ["EVENT", (d) => d.eventId],
          ["WEBHOOK", (d) => d.webhookUid],
          ["STATUS", (d) => d.status],
          ["ATTEMPTS", (d) => d.attemptCount],
          ["NEXT", (d) => d.nextAttemptAt],
        ]),
      );
    });
  sub(deliveries, "get <id>", "one delivery (the edgehook-delivery-id header of a request sent) with its attempts").action(async (id, o) => {
    const d = await unwrap(apiClient(connectionOf(o)).GET("/v1/deliveries/{id}", { params: { path: { id } } }));
    await show(o.json, d, async () => {
      const { attempts, ...summary } = d;
      printJson(summary);
      await printTable(attempts, [...attemptColumns((a) => a), ["STARTED", (a) => a.startedAt]]);
    });
  });
  sub(deliveries, "retry [id]", "retry one delivery now, or every delivery matching --status (without --webhook, webhooks' deliveries only: no notification endpoint's alerts)")
    .option("--status <status>", "bulk: pending, failed, expired or succeeded")
    .option("--webhook <uid>", "bulk: of this webhook")
    .option("--since <time>", "bulk: created at or after (ISO 8601)")
    .action(async (id, o) => {
      const client = apiClient(connectionOf(o));
      if (id) {
        if (o.status || o.webhook || o.since) throw new CliError("--status, --webhook and --since are for a bulk retry: give them or a delivery id, not both.", { exitCode: 2 });
        const d = await unwrap(client.POST("/v1/deliveries/{id}/retry", { params: { path: { id } } }));
        // A disabled webhook's delivery is held, not sent: "retrying" would promise a request that waits for an enable.
        return show(o.json, { retried: id, status: d.status }, () =>
          process.stdout.write(d.status === "held" ? `held ${id}: its webhook is disabled; it goes out when the webhook is enabled\n` : `retrying ${id}\n`),
        );
      }
      if (!o.status) throw new CliError("Give a delivery id, or --status for a bulk retry.", { exitCode: 2 });
      // The API retries a page per call (webhook by webhook, each oldest first): follow its cursor to the end.
      const r = { count: 0, held: 0 };
      /** @type {string | undefined} */
      let cursor;
      try {
        do {
          const page = await unwrap(client.POST("/v1/deliveries/retry", { body: { status: o.status, webhookUid: o.webhook, since: o.since, cursor } }));
          r.count += Number(page.count);
          r.held += Number(page.held);
          // A cursor that did not move would ask for the same page again: stop rather than loop.
          cursor = page.nextCursor && page.nextCursor !== cursor ? page.nextCursor : undefined;
          if (cursor) process.stderr.write(`retrying ${r.count} so far…\n`);
        } while (cursor);
      } catch (err) {
        // What the earlier calls retried stays retried: say so before the error.
        if (r.count > 0) process.stderr.write(`retried ${r.count} deliver${r.count === 1 ? "y" : "ies"} (${r.held} held) before this call failed; running it again starts from the oldest\n`);
        throw err;
      }
      await show(o.json, r, () =>
        process.stdout.write(
          `retrying ${r.count} deliver${r.count === 1 ? "y" : "ies"}${r.held ? ` (${r.held} of them held: their webhook is disabled; they go out when it is enabled)` : ""}\n`,
        ),
      );
    });

  const sources = program.command("sources").description("inbound endpoints and their secrets");
  /** @type {[string, (s: S["Source"]) => unknown][]} */
  const SOURCE_COLUMNS = [
    ["ID", (s) => s.id],
    ["PROVIDER", (s) => s.provider],
    ["NAME", (s) => s.name],
    ["STATE", (s) => stateOf(s.disabled)],
    ["INGRESS URL", (s) => s.ingressUrl],
  ];
  sub(sources, "list", "list sources").action(async (o) => {
    const client = apiClient(connectionOf(o));
    const r = await everyRow((cursor) => unwrap(client.GET("/v1/sources", { params: { query: { limit: 100, cursor } } })));
    await show(o.json, r, () => printTable(r.data, SOURCE_COLUMNS));
  });
  sub(sources, "get <id>", "one source (never its secrets)").action(async (id, o) => {
    const s = await unwrap(apiClient(connectionOf(o)).GET("/v1/sources/{id}", { params: { path: { id } } }));
    await show(o.json, s, () => printJson(s));
  });
  sub(sources, "create", "create a source; give its ingress URL to the provider")
    .requiredOption("--name <name>", "a name")
    .requiredOption("--provider <provider>", "podium, standard-webhooks, stripe, github, shopify, slack or hmac")
    .option("--id <slug>", "its id in the ingress URL ([a-z0-9-]{1,64}); generated by default")
    .option("--secret <secret...>", "signing secrets, current first")
    .option("--no-verification", "accept unsigned requests (only on purpose)")
    .option(...toleranceOption("SourceCreate"))
    .option("--hmac <json>", HMAC_HELP, jsonObjectOption("--hmac <json>"))
    .option("--shop-domain <domain>", SHOP_DOMAIN_HELP)
    .option("--organization <uid>", "the organization that owns it (its events alone come through); a token limited to several organizations must name one of them")
    .action(async (o) => {
      const s = await unwrap(
        apiClient(connectionOf(o)).POST("/v1/sources", {
          body: {
            id: o.id,
            name: o.name,
            provider: o.provider,
            secrets: o.secret,
            verification: o.verification ? "signature" : "none",
            toleranceSeconds: o.tolerance,
            hmac: o.hmac,
            shopDomain: o.shopDomain,
            organizationUid: o.organization,
          },
        }),
      );
      await show(o.json, s, () => printTable([s], SOURCE_COLUMNS));
    });
  sub(sources, "update <id>", "rename, rotate secrets (current first), change how it verifies, enable or disable a source (never its provider or organization)")
    .option("--name <name>", "new name")
    .option("--secret <secret...>", "the new list of secrets, current first (rotation: new old)")
    .addOption(new Option("--enable", "enable it").conflicts("disable"))
    .option("--disable", "disable it: its ingress answers 404")
    .option(...toleranceOption("SourcePatch"))
    // Both forms declared, commander leaves it unset unless one is given: nothing is sent then.
    .option("--verification", "check signatures again")
    .option("--no-verification", "accept unsigned requests (only on purpose)")
    .option("--hmac <json>", `${HMAC_HELP}; replaces the whole configuration (a field left out takes its default)`, jsonObjectOption("--hmac <json>"))
    .option("--shop-domain <domain>", SHOP_DOMAIN_HELP)
    .option("--no-shop-domain", "shopify only: accept any shop again (no longer pinned)")
    .action(async (id, o) => {
      const body = {
        name: o.name,
        secrets: o.secret,
        disabled: o.enable ? false : o.disable ? true : undefined,
        toleranceSeconds: o.tolerance,
        verification: verificationOf(o.verification),
        hmac: o.hmac,
        shopDomain: o.shopDomain === false ? null : o.shopDomain,
      };
      someChange(body);
      const s = await unwrap(apiClient(connectionOf(o)).PATCH("/v1/sources/{id}", { params: { path: { id } }, body }));
      await show(o.json, s, () => printTable([s], SOURCE_COLUMNS));
    });
  const rejections = parameterRange("/v1/sources/{id}/rejections", "limit");
  sub(sources, "rejections <id>", "requests its ingress refused: counts by reason over the last day, then the latest (the admin may also name (unknown) and (invalid))")
    .option("--limit <n>", `latest refused requests to list (${rangeText(rejections)})`, wholeIn(rejections))
    .action(async (id, o) => {
      const r = await unwrap(apiClient(connectionOf(o)).GET("/v1/sources/{id}/rejections", { params: { path: { id }, query: { limit: o.limit } } }));
      await show(o.json, r, async () => {
        await printTable(r.summary, [
          ["REASON", (x) => x.reason],
          ["THIS HOUR", (x) => x.thisHour],
          ["LAST DAY", (x) => x.lastDay],
          ["LAST AT", (x) => x.lastAt],
        ]);
        process.stdout.write("\n");
        await printTable(r.recent, [
          ["AT", (x) => x.at],
          ["REASON", (x) => x.reason],
          ["REQUESTED", (x) => x.requested],
          ["CLIENT", (x) => x.client],
          ["USER AGENT", (x) => x.userAgent],
          ["HEADERS", (x) => x.headerNames.join(",")],
        ]);
      });
    });
  sub(sources, "delete <id>", "delete a source").action(async (id, o) => {
    await unwrap(apiClient(connectionOf(o)).DELETE("/v1/sources/{id}", { params: { path: { id } } }));
    await show(o.json, { deleted: id }, () => process.stdout.write(`deleted ${id}\n`));
  });

  sub(program, "stats", "totals (events, deliveries by status, dead letters) and per webhook counts, 100 webhooks an answer")
    // Each picks the webhooks its own way, and the API takes one at a time: refused here, exit 2.
    .addOption(new Option("--webhooks <uids>", "only these webhooks (comma-separated, at most 100)").conflicts(["failingFirst", "cursor"]))
    .addOption(new Option("--failing-first", "webhooks failing now first, wherever they are by uid (a first page: not with --cursor)").conflicts("cursor"))
    .option("--cursor <cursor>", "the next webhooks: the cursor the previous answer said")
    .action(async (o) => {
      const query = { cursor: o.cursor, webhookUids: queryList(o.webhooks), ...(o.failingFirst && { failingFirst: /** @type {const} */ ("true") }) };
      const st = await unwrap(apiClient(connectionOf(o)).GET("/v1/stats", { params: { query } }));
      await show(o.json, st, async () => {
        const d = st.deliveries;
        // An older deployment's answer may lack a member (answer-shape.js): — for each it does not say.
        const n = (/** @type {unknown} */ v) => memberOf(v, isNumber) ?? "—";
        const lines = [
          `events:       ${n(st.events?.total)} (${n(st.events?.last24h)} in the last 24 h)`,
          `deliveries:   ${d ? `${n(d.pending)} pending, ${n(d.held)} held, ${n(d.succeeded)} succeeded, ${n(d.failed)} failed, ${n(d.expired)} expired` : d === null ? "— (this token's grant is too wide to total: see the webhooks)" : "—"}`,
          ...(st.deadLetters === null ? [] : [`dead letters: ${n(st.deadLetters)} open, ${n(st.parkedDeadLetters)} parked`]),
        ];
        process.stdout.write(`${lines.join("\n")}\n`);
        await printTable(st.webhooks, [
          ["WEBHOOK", (w) => w.uid],
          ["URL", (w) => w.url],
          ["STATE", (w) => stateOf(w.disabled)],
          ["SUCCEEDED", (w) => w.succeeded],
          ["FAILED", (w) => w.failed],
          ["PENDING", (w) => w.pending],
          ["HELD", (w) => w.held],
          ["DELIVERIES SUCCEEDED", (w) => {
            const rate = memberOf(w.successRate, isNumber);
            return rate === undefined ? null : `${Math.round(rate * 1000) / 10}%`;
          }],
          ["LAST FAILURE", (w) => (w.lastFailureAt ? `${w.lastFailureAt} ${w.lastError ?? ""}`.trim() : null)],
        ]);
        if (st.webhooksNextCursor) process.stderr.write(`more webhooks: --cursor ${printable(st.webhooksNextCursor)}\n`);
      });
    });

  const deadLetters = program.command("dead-letters").description("messages that could not be stored or delivered (admin only)");
  paged(sub(deadLetters, "list", "list dead letters, newest first"), "/v1/dead-letters")
    .option("--open", "only those not replayed yet")
    .action(async (o, cmd) => {
      // The table shows no message (each up to a queue message's size, 100 a page): the API leaves
      // them out unread. --json is the API's whole answer, messages included, for scripts.
      const query = {
        limit: o.limit,
        cursor: o.cursor,
        ...(o.open && { open: /** @type {const} */ ("true") }),
        ...(!o.json && { withMessage: /** @type {const} */ ("false") }),
      };
      const page = await unwrap(apiClient(connectionOf(o)).GET("/v1/dead-letters", { params: { query } }));
      await show(o.json, page, () =>
        printPage(page, cmd, [
          ["ID", (d) => d.id],
          ["QUEUE", (d) => d.queue],
          ["EVENT", (d) => d.eventId],
          ["DELIVERY", (d) => d.deliveryId],
          ["ATTEMPTS", (d) => d.attempts],
          ["RECEIVED", (d) => d.receivedAt],
          ["REPLAYED", (d) => memberOf(d.replayedAt, isString) ?? (d.replayedAt === null ? "open" : undefined)],
          ["REASON", (d) => d.reason],
        ]),
      );
    });
  const deadLetterId = wholeIn(parameterRange("/v1/dead-letters/{id}", "id"));
  // A dead letter's id is the API's number (as `list --json` says it): read as one, printed as one.
  sub(deadLetters, "replay", "queue its event again, or retry its delivery; once (a closed letter answers 409 already_replayed)")
    .argument("<id>", "the dead letter's id", deadLetterId)
    .action(async (id, o) => {
      const d = await unwrap(apiClient(connectionOf(o)).POST("/v1/dead-letters/{id}/replay", { params: { path: { id } } }));
      // A delivery of a disabled webhook is held, not sent: said so, as a bulk retry's held count is.
      await show(o.json, d, () => process.stdout.write(`replayed ${printable(d.id)}${d.held ? ": its delivery is held, its webhook disabled (enabling it sends it)" : ""}\n`));
    });
  sub(deadLetters, "delete", "clear a dead letter handled otherwise")
    .argument("<id>", "the dead letter's id", deadLetterId)
    .action(async (id, o) => {
      await unwrap(apiClient(connectionOf(o)).DELETE("/v1/dead-letters/{id}", { params: { path: { id } } }));
      await show(o.json, { deleted: id }, () => process.stdout.write(`deleted ${id}\n`));
    });

  const tokens = program.command("tokens").description("scoped API tokens (admin only)");
  /** @type {[string, (t: S["Token"]) => unknown][]} */
  const TOKEN_COLUMNS = [
    ["ID", (t) => t.id],
    ["NAME", (t) => t.name],
    ["SCOPES", (t) => t.scopes.join(",")],
    ["LIMITED TO", (t) => [...(t.organizationUids ?? []).map((u) => `org ${u}`), ...(t.locationUids ?? []).map((u) => `loc ${u}`)].join(",") || "—"],
    ["STATE", (t) => (t.revokedAt ? `revoked ${t.revokedAt}` : "live")],
  ];
  sub(tokens, "list", "list tokens (never the tokens themselves)").action(async (o) => {
    const client = apiClient(connectionOf(o));
    const r = await everyRow((cursor) => unwrap(client.GET("/v1/tokens", { params: { query: { limit: 100, cursor } } })));
    await show(o.json, r, () => printTable(r.data, TOKEN_COLUMNS));
  });
  sub(tokens, "create", "create a token; printed this once")
    .requiredOption("--name <name>", "a name")
    .requiredOption("--scopes <scopes>", "comma-separated: events:read, webhooks:write, read_messages, …")
    .option("--organizations <uids>", "limit it to these organizations (comma-separated)")
    .option("--locations <uids>", "limit it to these locations (comma-separated)")
    .action(async (o) => {
      const body = { name: o.name, scopes: scopes(o.scopes), organizationUids: list(o.organizations, "--organizations", "organization"), locationUids: list(o.locations, "--locations", "location") };
      const t = await unwrap(apiClient(connectionOf(o)).POST("/v1/tokens", { body }));
      await show(o.json, t, async () => {
        await printTable([t], TOKEN_COLUMNS);
        process.stdout.write(`token: ${printable(t.token)}  (shown this once)\n`);
      });
    });
  sub(tokens, "revoke <id>", "revoke a token: it stops working at once").action(async (id, o) => {
    await unwrap(apiClient(connectionOf(o)).DELETE("/v1/tokens/{id}", { params: { path: { id } } }));
    await show(o.json, { revoked: id }, () => process.stdout.write(`revoked ${id}\n`));
  });
}
