// The dashboard's forms in real headless Chromium on a slow network: a second press while the first is under way sends nothing.
import { existsSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { chromium, type Browser, type Locator, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDownstream, type Downstream } from "./downstream";
import { podiumEvent, sendPodium } from "./podium";
import { eventually, startStack, type Stack } from "./stack";

const CHROMIUM = "/usr/bin/chromium";
/** The audit's network: every request waits this long for its answer. */
const LATENCY_MS = 2_000;

let stack: Stack;
let down: Downstream;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Browser tests need Debian's chromium at ${CHROMIUM}: apt-get install -y chromium`);
  down = await startDownstream();
  stack = await startStack();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic"] });
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await down?.close();
});

/** The slow proxy: its URL, and a promise of the moment no request is under way through it. */
type SlowProxy = { url: string; idle: () => Promise<void>; close: () => Promise<void> };

/**
 * The stack behind a proxy whose answers come LATENCY_MS late: each request reaches the Worker at
 * once, as over a slow network (the browser's own throttling holds the request back instead, and
 * a second press cancels it unsent, which is not what a slow network does).
 */
async function slowProxy(to: string): Promise<SlowProxy> {
  const upstream = new URL(to);
  let inFlight = 0;
  const waiting: (() => void)[] = [];
  const server = createServer((req, res) => {
    inFlight++;
    res.on("close", () => {
      if (--inFlight === 0) for (const done of waiting.splice(0)) done();
    });
    const out = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      setTimeout(() => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      }, LATENCY_MS);
    });
    out.on("error", () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    idle: () => (inFlight === 0 ? Promise.resolve() : new Promise<void>((done) => waiting.push(done))),
    close: () => new Promise((resolve) => (server.close(() => resolve()), server.closeAllConnections())),
  };
}

/** A page signed in as the admin, through the slow proxy. */
async function slowAdminPage(url: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${url}/dashboard/login`);
  await page.getByLabel("API token").fill(stack.vars.ADMIN_TOKEN!);
  await Promise.all([page.waitForURL(/\/dashboard$/), page.getByRole("button", { name: "Sign in" }).click()]);
  return page;
}

/** Every item of one of the API's lists, page by page: what a test just made may be past the first page. */
async function listAll<T>(path: "/v1/webhooks" | "/v1/tokens"): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    // A path typed as any string: its answer is the caller's T (both lists answer {data, nextCursor}).
    const url: string = `${path}?limit=100${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`;
    const page: { data: T[]; nextCursor: string | null } = (await stack.api("GET", url)).json;
    items.push(...page.data);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return items;
}

/**
 * Presses `button` twice 600 ms apart, as an impatient reader does, and waits for the page the
 * form leads to. In the page: Playwright's click waits for the navigation the first press starts.
 */
async function pressTwice(slow: SlowProxy, page: Page, button: Locator, leadsTo: RegExp) {
  // A second press cancels the first's navigation (ERR_ABORTED), not its request: the second's page is waited for then.
  const arrived = page.waitForURL(leadsTo, { timeout: 20_000 }).catch(() => page.waitForURL(leadsTo, { timeout: 20_000 }));
  await button.evaluate((b: HTMLButtonElement) => {
    b.click();
    setTimeout(() => b.click(), 600);
  });
  await arrived;
  // A second press's request would have left 600 ms in, before the first's answer (LATENCY_MS) came:
  // once nothing is under way through the proxy, whatever it would have made is made.
  await slow.idle();
}

describe("a form pressed twice on a slow network", () => {
  it("makes one webhook, one token and one replay", { timeout: 90_000 }, async () => {
    const key = randomUUID().slice(0, 8);
    const slow = await slowProxy(stack.url);
    const page = await slowAdminPage(slow.url);

    await page.goto(`${slow.url}/dashboard/webhooks`);
    const form = page.getByRole("form", { name: "New webhook" });
    await form.getByLabel(/^URL/).fill(`${down.url}/ok/${key}`);
    await form.getByLabel(/^Event types/).fill("message.*");
    await pressTwice(slow, page, form.getByRole("button", { name: "Create webhook" }), /\/dashboard\/created\//);
    const hooks = (await listAll<{ url: string }>("/v1/webhooks")).filter((w) => w.url.includes(key));
    expect.soft(hooks).toHaveLength(1);

    await page.goto(`${slow.url}/dashboard/tokens`);
    const tokenForm = page.getByRole("form", { name: "New token" });
    await tokenForm.getByLabel("Name").fill(`twice ${key}`);
    await tokenForm.getByLabel("events:read").check();
    await pressTwice(slow, page, tokenForm.getByRole("button", { name: "Create token" }), /\/dashboard\/created\//);
    const tokens = (await listAll<{ name: string }>("/v1/tokens")).filter((t) => t.name === `twice ${key}`);
    expect.soft(tokens).toHaveLength(1);

    // An event for the one webhook: one delivery, and a replay pressed twice makes one more.
    const res = await sendPodium(`${stack.url}/webhooks/podium`, podiumEvent({ type: "message.received" }), stack.vars.PODIUM_WEBHOOK_SECRET!.split(" ")[0]!);
    const { eventId } = (await res.json()) as { eventId: string };
    // 404 until the queue has stored the event, as its own page is.
    const deliveries = async () => {
      const listed = await stack.api("GET", `/v1/deliveries?eventId=${eventId}&limit=100`);
      return listed.status === 404 ? 0 : (listed.json.data.length as number);
    };
    await eventually(async () => (await deliveries()) === 1, 20_000, "the event's delivery");
    await page.goto(`${slow.url}/dashboard/events/${eventId}`);
    await pressTwice(slow, page, page.getByRole("button", { name: "Replay to every matching webhook" }), /\/dashboard\/events\/[^?]+\?/);
    expect(await page.locator("[role=status]").textContent()).toBe("Replayed: 1 new delivery.");
    expect(await deliveries()).toBe(2);
    await page.context().close();
    await slow.close();
  });
});
