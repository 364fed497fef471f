// The alerts and the notification endpoints.
import { Hono } from "hono";
import { AlertSchema, NotificationEndpointCreated, NotificationEndpointSchema } from "../../api/schemas/alerts";
import { page as pageOf } from "../../api/schemas/fields";
import { hasWebhookSubject } from "../../domain/alerts";
import { callApi } from "../api-client";
import { ASK } from "../confirm";
import { confirmPage } from "../confirm-page";
import { ENDPOINT_LABELS } from "../field-labels";
import { textOf, textsOf } from "../form";
import { pageOfList } from "../list-pages";
import { queryParam } from "../query";
import { LISTS } from "../navigation";
import { AlertsPage, type EndpointEntered } from "../pages/alerts";
import { apiRefusal, refusedBy, type Refusal } from "../refusal";
import { back, Ignored, page, pageRefusal, type C } from "../respond";
import { showOnce } from "../reveal";
import type { DashEnv } from "../session";
import { webhookCounts } from "../webhook-counts";

const AlertList_ = pageOf(AlertSchema, "AlertPage");
const EndpointList_ = pageOf(NotificationEndpointSchema, "NotificationEndpointPage");

export const alertRoutes = new Hono<DashEnv>();

/** The alerts page; after a refused new endpoint, with its error and what was typed kept in the form. */
async function alertsPage(c: C, refused?: Refusal<EndpointEntered>) {
  const [alerts, endpoints] = await Promise.all([
    callApi(c, "GET", pageOfList(c, "/alerts", "alerts"), AlertList_),
    callApi(c, "GET", pageOfList(c, "/notification-endpoints", "endpoints"), EndpointList_),
  ]);
  if (!alerts.ok) return apiRefusal(c, "Alerts", LISTS.alerts, alerts);
  if (!endpoints.ok) return apiRefusal(c, "Alerts", LISTS.alerts, endpoints);
  // Which webhooks the alerts name may be opened: one that was deleted since has no page. (Alerts are an admin's: the read is allowed.)
  const named = [...new Set(alerts.json.data.filter((a) => hasWebhookSubject(a.type)).map((a) => a.subject))];
  const webhooks = new Set((await webhookCounts(c, named)).keys());
  return page(
    c,
    "Alerts",
    "/dashboard/alerts",
    <AlertsPage
      alerts={alerts.json.data}
      endpoints={endpoints.json.data}
      nextAlerts={alerts.json.nextCursor}
      nextEndpoints={endpoints.json.nextCursor}
      atAlerts={queryParam(c, "alerts")}
      atEndpoints={queryParam(c, "endpoints")}
      entered={refused?.entered}
      invalidField={refused?.field}
      webhooks={webhooks}
    />,
    refused,
  );
}

alertRoutes.get("/alerts", (c) => pageRefusal(c, "admin", "Alerts", LISTS.alerts, ["alerts", "endpoints"]) ?? alertsPage(c));

alertRoutes.post("/alerts/endpoints", async (c) => {
  const form = await c.req.parseBody({ all: true });
  const entered = { url: textOf(form, "url").trim(), alertTypes: textsOf(form, "alertTypes"), format: "format" in form ? textOf(form, "format") : "standard-webhooks" };
  const res = await callApi(c, "POST", "/notification-endpoints", NotificationEndpointCreated, entered);
  if (!res.ok) return alertsPage(c, refusedBy(entered, res, ENDPOINT_LABELS));
  return showOnce(c, { title: "Notification endpoint created", nav: "/dashboard/alerts", what: "notification endpoint", href: "/dashboard/alerts", secret: res.json.secret });
});

alertRoutes.get("/alerts/endpoints/:uid/delete", (c) => {
  const uid = c.req.param("uid");
  const of = { api: `/notification-endpoints/${encodeURIComponent(uid)}`, list: LISTS.alerts, schema: NotificationEndpointSchema };
  return confirmPage(c, { title: "Delete notification endpoint", nav: "/dashboard/alerts", question: ASK.deleteEndpoint(uid), label: "Delete", back: "/dashboard/alerts", scope: "admin", of });
});

alertRoutes.post("/alerts/endpoints/:uid/delete", async (c) => {
  const res = await callApi(c, "DELETE", `/notification-endpoints/${encodeURIComponent(c.req.param("uid"))}`, Ignored);
  return back(c, "/dashboard/alerts", res, "Notification endpoint deleted.");
});
