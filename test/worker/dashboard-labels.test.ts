import { describe, expect, it } from "vitest";
import { ENDPOINT_LABELS, SOURCE_LABELS, SOURCE_ROTATE_LABELS, TOKEN_LABELS, WEBHOOK_LABELS, type FieldLabels } from "../../src/dashboard/field-labels";
import { call, dashboardCookie, pageText } from "./helpers";
import { pipeline, uniqueKey } from "./pipeline";

/** The text of each of a page's labels and legends (a refusal names its field by it), as a person reads it. */
const labelsOn = (html: string) => [...html.matchAll(/<(label|legend)[^>]*>([\s\S]*?)<\/\1>/g)].map((m) => pageText(m[2]!).trim());

describe("the dashboard's refusals name a field as its form does", () => {
  it("has each field label a refusal uses begin a label of the form it refuses", async () => {
    const p = pipeline();
    await p.api("POST", "/v1/sources", { id: `labels-${uniqueKey()}`, name: "labels", provider: "stripe", secrets: ["a-secret-of-the-labels-test"] });
    const cookie = await dashboardCookie();
    const pages: [string, FieldLabels][] = [
      ["/dashboard/webhooks", WEBHOOK_LABELS],
      ["/dashboard/tokens", TOKEN_LABELS],
      ["/dashboard/sources", { ...SOURCE_LABELS, ...SOURCE_ROTATE_LABELS }],
      ["/dashboard/alerts", ENDPOINT_LABELS],
    ];
    for (const [path, labels] of pages) {
      const res = await call(new Request(`https://edgehook.test${path}`, { headers: { cookie } }));
      expect(res.status, path).toBe(200);
      const shown = labelsOn(await res.text());
      for (const label of new Set(Object.values(labels))) {
        expect(shown.some((s) => s.startsWith(label)), `${path}: "${label}" among ${JSON.stringify(shown)}`).toBe(true);
      }
    }
  });
});
