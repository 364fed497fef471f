// The dashboard's accessibility in real Chromium. On a phone (390×844) and at 200% zoom of a small
// window (640×450) no column of a table is hidden (WCAG 1.4.10): a table too wide scrolls in its own
// box, which the keyboard reaches, and the page itself never scrolls sideways. A refused form puts
// the focus on what to mend. The overview's charts' values are read from tables the keyboard opens.
import { existsSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "./stack";

const CHROMIUM = "/usr/bin/chromium";
let stack: Stack;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Browser tests need Debian's chromium at ${CHROMIUM}: apt-get install -y chromium`);
  stack = await startStack();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic", "--disable-sync"] });
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

async function signedIn(width: number, height: number): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width, height } })).newPage();
  await page.goto(`${stack.url}/dashboard/login`);
  await page.getByLabel("API token").fill(stack.vars.ADMIN_TOKEN!);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForLoadState();
  return page;
}

/** Whether the page itself scrolls sideways (a table's own box may). */
const bodyOverflows = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);

describe("the dashboard's tables on a narrow screen", () => {
  it("shows a token's grant, created and last used at 390×844 and 640×450, scrolled to in the table's box, the page not scrolling sideways", async () => {
    const key = randomUUID().slice(0, 8);
    await stack.api("POST", "/v1/tokens", { name: `reflow ${key}`, scopes: ["events:read", "webhooks:read", "read_messages"], organizationUids: [`org-${key}-with-a-long-uid`] });
    await stack.api("POST", "/v1/webhooks", { url: `https://example.com/hooks/${key}`, eventTypes: ["message.*"], organizationUid: `org-${key}` });
    for (const [width, height] of [
      [390, 844],
      [640, 450],
    ] as const) {
      const page = await signedIn(width, height);
      await page.goto(`${stack.url}/dashboard/tokens`);
      const region = page.getByRole("region", { name: "Tokens" });
      expect(await region.getAttribute("tabindex"), `at ${width}×${height}`).toBe("0");
      for (const heading of ["Grant", "Created", "Last used"]) {
        const th = region.getByRole("columnheader", { name: heading });
        await th.scrollIntoViewIfNeeded({ timeout: 2_000 });
        expect(await th.isVisible(), `${heading} at ${width}×${height}`).toBe(true);
      }
      const grant = page.locator("tr", { hasText: `reflow ${key}` }).locator("td", { hasText: `organizations org-${key}` });
      await grant.scrollIntoViewIfNeeded({ timeout: 2_000 });
      expect(await grant.isVisible(), `the grant at ${width}×${height}`).toBe(true);
      const box = (await grant.boundingBox())!;
      expect(box.x + box.width / 2, `the grant on the screen at ${width}×${height}`).toBeLessThanOrEqual(width);
      expect(await bodyOverflows(page), `/dashboard/tokens at ${width}×${height}`).toBe(false);
      // No other list hides a column either, nor scrolls the page sideways.
      for (const path of ["/dashboard", "/dashboard/events", "/dashboard/webhooks", "/dashboard/sources", "/dashboard/dead-letters", "/dashboard/alerts"]) {
        await page.goto(`${stack.url}${path}`);
        const hidden = await page.locator("th, td").evaluateAll((cells) => cells.filter((c) => getComputedStyle(c).display === "none" && !c.closest("[hidden]")).map((c) => c.textContent));
        // Below 900 px the sources' ingress URL moves under the source's name (.unwide): shown, not lost.
        expect(hidden.filter((t) => !/^Ingress URL$|^https?:/.test((t ?? "").trim())), `${path} at ${width}×${height}`).toEqual([]);
        expect(await bodyOverflows(page), `${path} at ${width}×${height}`).toBe(false);
      }
      await page.context().close();
    }
  });
});

describe("the overview's charts by keyboard", () => {
  it("reaches each chart's table with Tab and opens it with Enter: every step's value in words", async () => {
    const page = await signedIn(1280, 800);
    await page.goto(`${stack.url}/dashboard`);
    const summaries: string[] = [];
    // Tab on through the page (its links and boxes) until both charts' tables were reached.
    for (let i = 0; i < 200 && summaries.length < 2; i++) {
      await page.keyboard.press("Tab");
      const at = await page.evaluate(() => (document.activeElement?.tagName === "SUMMARY" ? document.activeElement.textContent : null));
      if (at === null) continue;
      summaries.push(at);
      await page.keyboard.press("Enter");
      const table = page.locator("details.chart-table", { hasText: at }).locator("table");
      await table.waitFor({ state: "visible", timeout: 2_000 });
      const values = await table.locator("tbody tr td:nth-child(2)").allTextContents();
      expect(values.length, at).toBeGreaterThanOrEqual(36);
      for (const v of values) expect(v, at).toMatch(summaries.length === 1 ? /^(no events|[\d.]+ events\/min)( \(so far: .*\))?$/ : /^(no attempts|[\d.]+% of attempts succeeded)$/);
    }
    expect(summaries).toEqual([
      "Events per minute, last six hours in ten-minute steps, as a table",
      "Share of delivery attempts that succeeded, last six hours in ten-minute steps, as a table",
    ]);
    await page.context().close();
  });
});

describe("a refused form in the browser", () => {
  it("focuses the field the error names (no scope chosen: the first scope), or else the error itself", async () => {
    const page = await signedIn(1280, 800);
    await page.goto(`${stack.url}/dashboard/tokens`);
    const form = page.getByRole("form", { name: "New token" });
    await form.getByLabel("Name").fill(`a11y ${randomUUID().slice(0, 8)}`);
    await form.getByRole("button", { name: "Create token" }).click();
    await page.waitForLoadState();
    expect(await page.title()).toBe("Error: Tokens · Edgehook");
    const focused = () => page.evaluate(() => ({ name: document.activeElement?.getAttribute("name"), role: document.activeElement?.getAttribute("role"), described: document.activeElement?.getAttribute("aria-describedby") }));
    expect(await focused()).toEqual({ name: "scopes", role: null, described: "page-error" });
    // A source id taken: its box.
    const id = `a11y-${randomUUID().slice(0, 8)}`;
    await stack.api("POST", "/v1/sources", { id, name: "first", provider: "podium", secrets: ["secret-long-enough"] });
    await page.goto(`${stack.url}/dashboard/sources`);
    const source = page.getByRole("form", { name: "New source" });
    await source.locator("input[name=id]").fill(id);
    await source.locator("input[name=name]").fill("again");
    await source.locator("input[name=secret]").fill("secret-long-enough");
    await source.getByRole("button", { name: "Create source" }).click();
    await page.waitForLoadState();
    expect(await focused()).toEqual({ name: "id", role: null, described: "page-error" });
    // The id of a source the configuration declares (409, a change to make there) names no field: the error has the focus.
    const declared = page.getByRole("form", { name: "New source" });
    await declared.locator("input[name=id]").fill("podium");
    await declared.locator("input[name=name]").fill("again");
    await declared.locator("input[name=secret]").fill("secret-long-enough");
    await declared.getByRole("button", { name: "Create source" }).click();
    await page.waitForLoadState();
    expect(await focused()).toEqual({ name: null, role: "alert", described: null });
    await page.context().close();
  });
});
