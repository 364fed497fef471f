// Alerts (admin only): the notification endpoints they go to, and the alert episodes themselves
// (docs/alerts.md). Same conventions as ./api.js: a table, or with --json the API's answer.
import { Option } from "commander";
import { apiClient, unwrap } from "../client.js";
import { CliError } from "../errors.js";
import { OPENAPI } from "../openapi.js";
import { printable, printTable } from "../output.js";
import { connectionOf, everyRow, list, paged, printPage, show, stateOf, sub, someChange } from "./common.js";

/** @typedef {import("../client.js").Schemas} S @typedef {S["NotificationEndpointCreate"]["alertTypes"][number]} AlertType */

/** The alert types the API knows, read from the same OpenAPI document the client's types come from. */
const ALERT_TYPES = new Set(OPENAPI.components.schemas.NotificationEndpointCreate.properties.alertTypes.items.enum);

/** @param {string} s @returns {s is AlertType} */
const isAlertType = (s) => ALERT_TYPES.has(s);

/** @param {string | undefined} value @returns {AlertType[] | undefined} */
function alertTypes(value) {
  if (value === undefined) return undefined;
  // "--alerts ," names nothing: refused here, not sent (create would get the API's 400, update would change nothing).
  const given = list(value, "--alerts", `alert type (the types are ${[...ALERT_TYPES].join(", ")})`) ?? [];
  const unknown = given.filter((t) => !isAlertType(t));
  if (unknown.length) throw new CliError(`Unknown alert type ${unknown.join(", ")}; the types are ${[...ALERT_TYPES].join(", ")}.`, { exitCode: 2 });
  return given.filter(isAlertType);
}

/** @type {[string, (e: S["NotificationEndpoint"]) => unknown][]} */
const ENDPOINT_COLUMNS = [
  ["UID", (e) => e.uid],
  ["URL", (e) => e.url],
  ["ALERTS", (e) => e.alertTypes.join(",")],
  ["FORMAT", (e) => e.format],
  ["STATE", (e) => stateOf(e.disabled)],
];

/**
 * With how its alerts are going, which `list` and `get` answer (the health, docs/alerts.md): its state
 * (disabled among them), failed attempts in a row, the alerts waiting (pending and held) and its last failure.
 * @type {[string, (e: S["NotificationEndpoint"]) => unknown][]}
 */
const ENDPOINT_HEALTH_COLUMNS = [
  ...ENDPOINT_COLUMNS.filter(([title]) => title !== "STATE"),
  ["STATE", (e) => (e.health ? e.health.state : stateOf(e.disabled))],
  ["FAILED", (e) => e.health?.consecutiveFailures],
  ["WAITING", (e) => e.health && e.health.backlog.pending + e.health.backlog.held],
  ["LAST FAILURE", (e) => e.health?.lastFailure && `${e.health.lastFailure.at} ${e.health.lastFailure.error ?? ""}`.trimEnd()],
];

const format = () => new Option("--format <format>", "standard-webhooks: signed {type, timestamp, data}; slack: {text} for an incoming webhook").choices(["standard-webhooks", "slack"]);

/** @param {import("commander").Command} program */
export function registerAlerts(program) {
  const endpoints = program.command("notification-endpoints").description("where alerts are sent (admin only)");
  sub(endpoints, "list", "list notification endpoints (never their secrets)").action(async (o) => {
    const client = apiClient(connectionOf(o));
    const r = await everyRow((cursor) => unwrap(client.GET("/v1/notification-endpoints", { params: { query: { limit: 100, cursor } } })));
    await show(o.json, r, () => printTable(r.data, ENDPOINT_HEALTH_COLUMNS));
  });
  sub(endpoints, "get <uid>", "one notification endpoint (never its secret)").action(async (uid, o) => {
    const e = await unwrap(apiClient(connectionOf(o)).GET("/v1/notification-endpoints/{uid}", { params: { path: { uid } } }));
    await show(o.json, e, () => printTable([e], ENDPOINT_HEALTH_COLUMNS));
  });
  sub(endpoints, "create", "register a notification endpoint; its secret is printed this once")
    .requiredOption("--endpoint <url>", "where alerts are POSTed")
    .requiredOption("--alerts <types>", `alert types (comma-separated): ${[...ALERT_TYPES].join(", ")}`)
    .addOption(format())
    .option("--disabled", "create it disabled")
    .action(async (o) => {
      const body = { url: o.endpoint, alertTypes: alertTypes(o.alerts) ?? [], format: o.format, disabled: o.disabled };
      const e = await unwrap(apiClient(connectionOf(o)).POST("/v1/notification-endpoints", { body }));
      await show(o.json, e, async () => {
        await printTable([e], ENDPOINT_COLUMNS);
        process.stdout.write(`secret: ${printable(e.secret)}  (shown this once)\n`);
      });
    });
  sub(endpoints, "update <uid>", "change a notification endpoint's URL, alert types, format, or enable or disable it")
    .option("--endpoint <url>", "new url")
    .option("--alerts <types>", "new alert types (comma-separated)")
    .addOption(format())
    .addOption(new Option("--enable", "enable it").conflicts("disable"))
    .option("--disable", "disable it: no alert goes to it")
    .action(async (uid, o) => {
      const body = { url: o.endpoint, alertTypes: alertTypes(o.alerts), format: o.format, disabled: o.enable ? false : o.disable ? true : undefined };
      someChange(body);
      const e = await unwrap(apiClient(connectionOf(o)).PATCH("/v1/notification-endpoints/{uid}", { params: { path: { uid } }, body }));
      await show(o.json, e, () => printTable([e], ENDPOINT_COLUMNS));
    });
  sub(endpoints, "delete <uid>", "delete a notification endpoint (alerts it was still owed expire)").action(async (uid, o) => {
    await unwrap(apiClient(connectionOf(o)).DELETE("/v1/notification-endpoints/{uid}", { params: { path: { uid } } }));
    await show(o.json, { deleted: uid }, () => process.stdout.write(`deleted ${uid}\n`));
  });

  const alerts = program.command("alerts").description("alert episodes (admin only)");
  paged(sub(alerts, "list", "list alert episodes, newest first (one per condition and subject while it lasts)"), "/v1/alerts").action(async (o, cmd) => {
    const page = await unwrap(apiClient(connectionOf(o)).GET("/v1/alerts", { params: { query: { limit: o.limit, cursor: o.cursor } } }));
    await show(o.json, page, () =>
      printPage(page, cmd, [
        ["ID", (a) => a.id],
        ["TYPE", (a) => a.type],
        ["SUBJECT", (a) => a.subject],
        ["STATE", (a) => (a.closedAt ? `closed ${a.closedAt}` : a.state)],
        ["COUNT", (a) => a.count],
        ["OPENED", (a) => a.openedAt],
        ["LAST", (a) => a.lastAt],
        ["MESSAGE", (a) => a.message],
      ]),
    );
  });
}
