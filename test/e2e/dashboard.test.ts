// The dashboard in real headless Chromium (Debian's chromium, driven by playwright-core) against the local stack.
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { chromium, type Browser, type Locator, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDownstream, type Downstream } from "./downstream";
import { podiumEvent, sendPodium } from "./podium";
import { eventually, startStack, type Stack } from "./stack";

const CHROMIUM = "/usr/bin/chromium";
// `npm run screenshots` refreshes the pictures in docs/screenshots/; a plain `npm test` takes them into a temporary folder.
const SHOTS = process.env.UPDATE_SCREENSHOTS
  ? new URL("../../docs/screenshots/", import.meta.url).pathname
  : `${mkdtempSync(join(tmpdir(), "edgehook-shots-"))}/`;

let stack: Stack;
let down: Downstream;
let browser: Browser;
const consoleErrors: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Browser tests need Debian's chromium at ${CHROMIUM}: apt-get install -y chromium`);
  down = await startDownstream();
  stack = await startStack({ RETRY_BASE_SECONDS: "1", RETRY_CAP_SECONDS: "2" });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync"],
  });
  mkdirSync(SHOTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await down?.close();
});

const api = async <M extends string, P extends string>(method: M, path: P, body?: unknown) => (await stack.api(method, path, body)).json;

const send = async (body: string) => {
  const res = await sendPodium(`${stack.url}/webhooks/podium`, body, stack.vars.PODIUM_WEBHOOK_SECRET!.split(" ")[0]!);
  expect(res.status).toBe(202);
  return ((await res.json()) as { eventId: string }).eventId;
};

async function newPage(width = 1280, height = 800, options: { javaScriptEnabled?: boolean; clock?: boolean; timezoneId?: string } = {}): Promise<Page> {
  const { clock, ...contextOptions } = options;
  const context = await browser.newContext({ viewport: { width, height }, ...contextOptions });
  // The page's timers and Date, under a clock that runs in real time until moved on (nextRefresh).
  if (clock) await context.clock.install();
  const page = await context.newPage();
  page.on("console", (m) => m.type() === "error" && consoleErrors.push(`${page.url()}: ${m.text()}`));
  page.on("pageerror", (e) => consoleErrors.push(`${page.url()}: ${e.message}`));
  return page;
}

/**
 * The events list refreshes itself every 5 s (a timer in the page): once what the next refresh
 * should show is stored, the page's clock (installed by `newPage(…, { clock: true })`) is moved
 * on to that refresh rather than waited for; a refresh that still missed it is followed by the
 * page's own next one, in real time.
 */
const nextRefresh = (page: Page) => page.clock.fastForward(5_000);

/** Where the keyboard's focus is: a link's href (else its text), or "body" when it fell to the page. */
const focused = (page: Page) =>
  page.evaluate(() => {
    const el = document.activeElement;
    return !el || el === document.body ? "body" : (el.getAttribute("href") ?? el.textContent);
  });

/** Resolves once every event is stored (readable through the API). */
const storedAll = (ids: string[]) =>
  eventually(async () => (await Promise.all(ids.map(async (id) => (await stack.api("GET", `/v1/events/${id}`)).status === 200))).every(Boolean), 20_000, "the events to be stored");

/** Which of `words`, found in the text under `el`, the page broke across lines (not those it did not find). */
const brokenWords = (el: Locator, words: readonly string[]) =>
  el.evaluate((root, words) => {
    const out: string[] = [];
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const word of words) {
        const at = (node.textContent ?? "").indexOf(word);
        if (at < 0) continue;
        const range = document.createRange();
        range.setStart(node, at);
        range.setEnd(node, at + word.length);
        if (new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size > 1) out.push(word);
      }
    }
    return out;
  }, words);

async function signIn(page: Page, token: string) {
  await page.goto(`${stack.url}/dashboard`);
  expect(new URL(page.url()).pathname).toBe("/dashboard/login");
  await page.getByLabel("API token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForLoadState();
}

describe("the dashboard in Chromium", () => {
  it("signs in, shows an event arriving live, opens it, replays it, retries a failed delivery, holds and releases, signs out", async () => {
    const key = randomUUID().slice(0, 8);
    const org = `org-${key}`;
    const ok = await api("POST", "/v1/webhooks", { url: `${down.url}/ok/${key}`, eventTypes: ["*"], organizationUid: org });
    // Fails its one attempt, then the downstream recovers: a retry by hand delivers it.
    await api("POST", "/v1/webhooks", { url: `${down.url}/flaky/${key}-flaky?fails=1`, eventTypes: ["message.*"], organizationUid: org, maxAttempts: 1 });

    const page = await newPage(1280, 800, { clock: true });
    await signIn(page, stack.vars.ADMIN_TOKEN!);
    await expect(page.getByRole("heading", { name: "Overview" }).isVisible()).resolves.toBe(true);
    // Over http://127.0.0.1 the local session cookie, not Secure, as Safari keeps none there (session.ts).
    const cookie = (await page.context().cookies()).find((c) => c.name === "edgehook_local_session")!;
    expect(cookie).toMatchObject({ httpOnly: true, secure: false, sameSite: "Strict" });

    // Keyboard: the first Tab lands on the skip link.
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Skip to content");

    // An event arrives while the events page is open: the live list shows it without a reload.
    await page.getByRole("link", { name: "Events" }).click();
    await page.waitForSelector("#event-rows");
    const eventId = await send(podiumEvent({ type: "message.received", organizationUid: org }));
    await storedAll([eventId]);
    await nextRefresh(page);
    await page.getByRole("link", { name: eventId }).or(page.locator(`text=${eventId}`)).first().waitFor({ timeout: 20_000 });
    await page.screenshot({ path: `${SHOTS}events.png` });

    // Open it: body, headers, deliveries with their attempts.
    await page.locator(`#event-rows tr:has-text("${eventId}") a`).first().click();
    await page.waitForSelector("text=Deliveries");
    expect(await page.locator("pre[aria-label='Event body']").textContent()).toContain('"eventType": "message.received"');
    await eventually(async () => {
      await page.reload();
      return (await page.locator(".badge.failed").count()) === 1 && (await page.locator(".badge.succeeded").count()) === 1;
    }, 20_000, "one delivery failed and one succeeded");

    // Retry the failed delivery by hand: it succeeds.
    await page.locator("section:has(.badge.failed)").getByRole("button", { name: "Retry this delivery" }).click();
    await page.waitForSelector("text=will be tried again");
    await eventually(async () => {
      await page.reload();
      return (await page.locator(".badge.succeeded").count()) === 2;
    }, 20_000, "the retried delivery to succeed");
    await page.screenshot({ path: `${SHOTS}event-retried.png`, fullPage: true });
    expect(await down.requests(`${key}-flaky`)).toHaveLength(2);

    // Replay it.
    await page.getByRole("button", { name: "Replay to every matching webhook" }).click();
    await page.waitForSelector("text=Replayed: 2 new deliveries");
    await eventually(async () => (await down.requests(key)).length >= 2, 20_000, "the replay to arrive");

    // Disable a webhook: an event is held; enable it: it goes out.
    await page.goto(`${stack.url}/dashboard/webhooks/${ok.uid}`);
    await page.getByRole("button", { name: "Disable" }).click();
    await page.waitForSelector("text=new deliveries are held");
    // The notice has the focus: a screen reader says it, and the keyboard goes on from there.
    expect(await page.evaluate(() => [document.activeElement?.getAttribute("role"), document.activeElement?.textContent])).toEqual(["status", "Disabled: pending and new deliveries are held until it is enabled."]);
    const before = (await down.requests(key)).length;
    await send(podiumEvent({ type: "contact.updated", organizationUid: org }));
    await eventually(async () => {
      await page.goto(`${stack.url}/dashboard/webhooks/${ok.uid}`);
      return (await page.getByRole("button", { name: "Enable (send 1 held)" }).count()) === 1;
    }, 20_000, "one held delivery");
    expect((await down.requests(key)).length).toBe(before);
    await page.getByRole("button", { name: "Enable (send 1 held)" }).click();
    await page.waitForSelector("text=held deliveries are going out");
    await eventually(async () => (await down.requests(key)).length === before + 1, 20_000, "the held delivery to go out");

    await page.goto(`${stack.url}/dashboard`);
    await page.screenshot({ path: `${SHOTS}overview.png` });

    // A phone-width look: nothing overflows sideways.
    await page.setViewportSize({ width: 390, height: 800 });
    await page.goto(`${stack.url}/dashboard/events`);
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);

    // Sign out: the session is gone.
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/dashboard\/login/);
    expect(await page.locator("[role=status]").textContent()).toBe("Signed out.");
    // Back restores nothing kept from before (no-store): the events page is asked for again, and sends to sign in.
    await page.goBack();
    await page.waitForLoadState();
    expect(new URL(page.url()).pathname).toBe("/dashboard/login");
    expect(await page.locator("#event-rows").count()).toBe(0);
    await page.goto(`${stack.url}/dashboard/events`);
    expect(new URL(page.url()).pathname).toBe("/dashboard/login");
    // It is gone on the server: the old cookie, sent again, signs nobody in.
    await page.context().addCookies([cookie]);
    await page.goto(`${stack.url}/dashboard/events`);
    expect(new URL(page.url()).pathname).toBe("/dashboard/login");
    await page.context().close();
  });

  it("keeps the live list's next page in step with its rows, and stops, saying so, when the session ends", async () => {
    const org = `org-${randomUUID().slice(0, 8)}`;
    const sent: string[] = [];
    // Sent at once: the list's order is the store's, and the checks below are of sets.
    sent.push(...(await Promise.all(Array.from({ length: 55 }, () => send(podiumEvent({ type: "message.received", organizationUid: org }))))));
    const page = await newPage(1280, 800, { clock: true });
    await signIn(page, stack.vars.ADMIN_TOKEN!);
    // (The new source form checks its id in the browser: its pattern is one Chromium compiles.)
    await page.goto(`${stack.url}/dashboard/sources`);
    const id = page.locator("input[name=id]");
    await id.fill("Not An Id");
    expect(await id.evaluate((el) => (el as HTMLInputElement).validity.patternMismatch)).toBe(true);
    await id.fill("my-source-1");
    expect(await id.evaluate((el) => (el as HTMLInputElement).validity.patternMismatch)).toBe(false);
    await page.goto(`${stack.url}/dashboard/events?organizationUid=${org}`);
    const idsOn = async (p: Page) =>
      (await p.locator("#event-rows a[href^='/dashboard/events/evt_']").evaluateAll((links) => links.map((a) => a.getAttribute("href")))).map((h) => h!.split("/").pop()!);
    await eventually(async () => {
      await page.reload();
      return (await idsOn(page)).length === 50;
    }, 20_000, "a first page of 50");

    // The keyboard is on the last row's link, which the new rows will push to the next page.
    await page.locator("#event-rows a[href^='/dashboard/events/evt_']").last().focus();
    // Five more arrive: the live rows show them, and the link past them moves with them.
    for (let i = 0; i < 5; i++) sent.push(await send(podiumEvent({ type: "message.received", organizationUid: org })));
    await storedAll(sent.slice(-5));
    await nextRefresh(page);
    await eventually(async () => (await idsOn(page)).includes(sent.at(-1)!), 20_000, "the newest event, live");
    // Its event went to the next page: the focus went to the link there, not to the page's top.
    expect(await focused(page)).toMatch(/^\/dashboard\/events\?.*cursor=/);
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Older events →");
    const first = await idsOn(page);
    await page.getByRole("link", { name: "Older events →" }).click();
    await page.waitForLoadState();
    const second = await idsOn(page);
    expect(new Set([...first, ...second])).toEqual(new Set(sent));
    expect(first.length + second.length).toBe(sent.length);

    // The session ends in another tab: the list stops refreshing and says so, its rows kept.
    await page.goBack();
    await page.waitForSelector("#event-rows");
    const other = await page.context().newPage();
    await other.goto(`${stack.url}/dashboard`);
    await other.getByRole("button", { name: "Sign out" }).click();
    await other.waitForURL(/\/dashboard\/login/);
    await nextRefresh(page);
    await page.locator("#live-status", { hasText: "your session has ended" }).waitFor({ timeout: 20_000 });
    const listed = new URL(page.url());
    expect(await page.locator("#live-status a").getAttribute("href")).toBe(`/dashboard/login?next=${encodeURIComponent(listed.pathname + listed.search)}`);
    expect(await page.locator("#event-rows input, #event-rows button").count()).toBe(0);
    expect((await idsOn(page)).length).toBe(50);
    await page.context().close();
  });

  it("stops the live list, saying so with a reload, its rows kept, when its filter is refused for good (a limited token's source deleted)", async () => {
    const key = randomUUID().slice(0, 8);
    const org = `org-${key}`;
    const sourceId = `live-${key}`;
    const secret = `secret-${key}-long-enough`;
    await api("POST", "/v1/sources", { id: sourceId, name: `Live ${key}`, provider: "podium", secrets: [secret], organizationUid: org });
    const token = (await api("POST", "/v1/tokens", { name: `live ${key}`, scopes: ["events:read", "read_messages"], organizationUids: [org] })).token;
    const sent = await sendPodium(`${stack.url}/webhooks/${sourceId}`, podiumEvent({ type: "message.received", organizationUid: org }), secret);
    expect(sent.status).toBe(202);
    const eventId = ((await sent.json()) as { eventId: string }).eventId;
    await storedAll([eventId]);

    const page = await newPage(1280, 800, { clock: true });
    await signIn(page, token);
    const listed = `/dashboard/events?sourceId=${sourceId}`;
    await page.goto(`${stack.url}${listed}`);
    expect(await page.locator("#live-status").textContent()).toBe("Live: new events appear every 5 seconds.");
    expect(await page.locator("#event-rows").textContent()).toContain(eventId);
    const refreshes: string[] = [];
    page.on("request", (r) => void (r.url().includes("partial=1") && refreshes.push(r.url())));

    // The admin deletes the source: the limited token may not list by it any more (404), each refresh alike.
    expect((await stack.api("DELETE", `/v1/sources/${sourceId}`)).status).toBe(204);
    await nextRefresh(page);
    await page.locator("#live-status", { hasText: "Not live any more" }).waitFor({ timeout: 20_000 });
    expect(await page.locator("#live-status").textContent()).toBe("Not live any more: this list can no longer be shown as filtered. Reload the page to see why");
    expect(await page.locator("#live-status a").getAttribute("href")).toBe(listed);
    expect(await page.locator("#event-rows").textContent()).toContain(eventId);
    // The reload would show why: the page's refusal.
    const reloaded = await page.request.get(`${stack.url}${listed}`);
    expect(reloaded.status()).toBe(404);
    expect(await reloaded.text()).toContain(`No source &quot;${sourceId}&quot;`);

    // Stopped: two refreshes' time on, no request; a request the page makes after them (a probe), once
    // seen, says any refresh made before it would have been seen too.
    const seen = refreshes.length;
    expect(seen).toBeGreaterThan(0);
    await nextRefresh(page);
    await nextRefresh(page);
    const probe = page.waitForRequest((r) => r.url().includes("probe=1"));
    await page.evaluate(() => fetch("/dashboard/assets/app.css?probe=1").then((r) => r.status));
    await probe;
    expect(refreshes.length).toBe(seen);
    expect(await page.locator("#live-status").textContent()).toMatch(/^Not live any more/);
    // The refused refresh's 404 is the browser's console error, expected here.
    const expected = consoleErrors.filter((e) => e.startsWith(`${stack.url}${listed}: Failed to load resource`) && e.includes("404"));
    expect(expected.length).toBeLessThanOrEqual(seen);
    for (const e of expected) consoleErrors.splice(consoleErrors.indexOf(e), 1);
    await page.context().close();
  });

  it("keeps the keyboard's place in the live list when new events arrive, and announces only new events, when in UTC", async () => {
    const org = `org-${randomUUID().slice(0, 8)}`;
    const older = await send(podiumEvent({ type: "message.received", organizationUid: org }));
    await storedAll([older]);
    // A browser far from UTC: the status's time is still UTC, as the page's others.
    const page = await newPage(1280, 800, { clock: true, timezoneId: "America/Los_Angeles" });
    await signIn(page, stack.vars.ADMIN_TOKEN!);
    await page.goto(`${stack.url}/dashboard/events?organizationUid=${org}`);
    const link = `/dashboard/events/${older}`;
    await page.locator(`#event-rows a[href='${link}']`).focus();
    // The status line is a live region, which a screen reader reads out at each change.
    await page.evaluate(() => {
      const w = window as unknown as { statusChanges: number };
      w.statusChanges = 0;
      new MutationObserver(() => w.statusChanges++).observe(document.getElementById("live-status")!, { childList: true, characterData: true, subtree: true });
    });

    // A refresh that finds nothing new changes nothing: no announcement.
    const quiet = page.waitForResponse((r) => r.url().includes("partial=1"));
    await nextRefresh(page);
    await (await quiet).finished();

    // A newer event arrives: the refresh rewrites the rows, and the focus stays on the same event's link.
    const newer = await send(podiumEvent({ type: "message.received", organizationUid: org }));
    await storedAll([newer]);
    await nextRefresh(page);
    await page.locator(`#event-rows a[href='/dashboard/events/${newer}']`).waitFor({ timeout: 20_000 });
    expect(await focused(page)).toBe(link);
    expect(await page.evaluate(() => (window as unknown as { statusChanges: number }).statusChanges)).toBe(1);
    expect(await page.locator("#live-status").textContent()).toMatch(/^Updated \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
    // So Enter still opens it.
    await page.keyboard.press("Enter");
    await page.waitForURL(`${stack.url}${link}`);
    await page.context().close();
  });

  it("keeps the keyboard in a filtered live list when its event leaves it: on the row that took its place, else the one before, else the list", async () => {
    const key = randomUUID().slice(0, 8);
    const org = `org-${key}`;
    // Each event owed to a webhook of its own type, disabled: held until that webhook is enabled, when it leaves ?status=held.
    const types = ["message.received", "message.sent", "conversation.assigned"];
    const hooks: string[] = [];
    for (const [i, type] of types.entries()) hooks.push((await api("POST", "/v1/webhooks", { url: `${down.url}/ok/${key}-${i}`, eventTypes: [type], organizationUid: org, disabled: true })).uid);
    // Sent one after another, oldest first: x (the second webhook's), focused (the first's), y (the third's).
    const ids: string[] = [];
    for (const type of [types[1]!, types[0]!, types[2]!]) {
      ids.push(await send(podiumEvent({ type, organizationUid: org })));
      await storedAll(ids.slice(-1));
    }
    const [x, focusedEvent, y] = ids as [string, string, string];
    const held = async () => ((await api("GET", `/v1/events?organizationUid=${org}&status=held`)).data as { id: string }[]).map((e) => e.id);
    await eventually(async () => (await held()).length === 3, 20_000, "the three deliveries held");
    const page = await newPage(1280, 800, { clock: true });
    await signIn(page, stack.vars.ADMIN_TOKEN!);
    await page.goto(`${stack.url}/dashboard/events?organizationUid=${org}&status=held`);
    const rowLinks = () => page.locator("#event-rows a[href^='/dashboard/events/evt_']").evaluateAll((links) => links.map((a) => a.getAttribute("href")));
    const link = (id: string) => `/dashboard/events/${id}`;
    expect(await rowLinks()).toEqual([link(y), link(focusedEvent), link(x)]);
    await page.locator(`#event-rows a[href='${link(focusedEvent)}']`).focus();
    /** Enables the `i`th webhook, its event delivered (no longer held), and waits for the live list to drop that event's row. */
    const release = async (i: number, id: string) => {
      expect((await stack.api("PATCH", `/v1/webhooks/${hooks[i]}`, { disabled: false })).status).toBe(200);
      await eventually(async () => !(await held()).includes(id), 20_000, "the event no longer held");
      await nextRefresh(page);
      await page.locator(`#event-rows a[href='${link(id)}']`).waitFor({ state: "detached", timeout: 20_000 });
    };
    // The focused event is delivered: the row that took its place, the next older, has the focus.
    await release(0, focusedEvent);
    expect(await focused(page)).toBe(link(x));
    // That one, the last, leaves too: none after it, the row before it has it.
    await release(1, x);
    expect(await focused(page)).toBe(link(y));
    // The last leaves: the list's box (its table, "No match."), not the page's top.
    await release(2, y);
    expect(await page.evaluate(() => [document.activeElement?.getAttribute("role"), document.activeElement?.getAttribute("aria-label")])).toEqual(["region", "Events"]);
    expect(await page.locator("#event-rows").textContent()).toBe("No match.");
    await page.context().close();
  });

  it("shows a scoped token only what its scopes allow", async () => {
    const key = randomUUID().slice(0, 8);
    const mine = `org-${key}-mine`;
    const theirs = `org-${key}-theirs`;
    const token = (await api("POST", "/v1/tokens", { name: "viewer", scopes: ["events:read", "read_messages"], organizationUids: [mine] })).token;
    const seen = await send(podiumEvent({ type: "message.received", organizationUid: mine }));
    const hidden = await send(podiumEvent({ type: "message.received", organizationUid: theirs }));
    const contact = await send(podiumEvent({ type: "contact.updated", organizationUid: mine }));
    await eventually(async () => (await api("GET", `/v1/events/${contact}`)).id, 20_000, "the events to be stored");

    const page = await newPage();
    await signIn(page, token);
    const nav = await page.getByRole("navigation", { name: "Main" }).textContent();
    expect(nav).toContain("Events");
    expect(nav).not.toContain("Webhooks");
    expect(nav).not.toContain("Sources");
    await page.goto(`${stack.url}/dashboard/events`);
    const rows = await page.locator("#event-rows").textContent();
    expect(rows).toContain(seen);
    expect(rows).not.toContain(hidden);
    expect(rows).not.toContain(contact);
    await page.goto(`${stack.url}/dashboard/events/${seen}`);
    expect(await page.getByRole("button", { name: "Replay to every matching webhook" }).count()).toBe(0);
    // (Fetched with the page's session rather than navigated, so the expected 403/404 is not a console error.)
    const direct = await page.request.get(`${stack.url}/dashboard/webhooks`);
    expect(direct.status()).toBe(403);
    expect(await direct.text()).toContain("webhooks:read");
    const other = await page.request.get(`${stack.url}/dashboard/events/${hidden}`);
    expect(other.status()).toBe(404);
    // An action the token may not take is refused by the API behind the page.
    const replay = await page.request.post(`${stack.url}/dashboard/events/${seen}/replay`, { headers: { origin: stack.url }, maxRedirects: 0 });
    expect(replay.headers().location).toMatch(/error=.*events%3Areplay|error=.*events:replay/);
    await page.context().close();
  });

  it("asks before a delete: dismissed, nothing is deleted; accepted, the webhook is gone", async () => {
    const key = randomUUID().slice(0, 8);
    const hook = await api("POST", "/v1/webhooks", { url: `${down.url}/ok/${key}`, eventTypes: ["message.*"], organizationUid: `org-${key}` });
    const page = await newPage();
    await signIn(page, stack.vars.ADMIN_TOKEN!);
    await page.goto(`${stack.url}/dashboard/webhooks/${hook.uid}`);
    const asked: string[] = [];
    page.once("dialog", (d) => (asked.push(d.message()), void d.dismiss()));
    await page.getByRole("button", { name: "Delete webhook" }).click();
    expect(asked).toEqual([`Delete webhook ${hook.uid}? What it is still owed expires; this cannot be undone.`]);
    expect((await stack.api("GET", `/v1/webhooks/${hook.uid}`)).status).toBe(200);
    page.once("dialog", (d) => void d.accept());
    await Promise.all([page.waitForURL(/\/dashboard\/webhooks\?/), page.getByRole("button", { name: "Delete webhook" }).click()]);
    expect((await stack.api("GET", `/v1/webhooks/${hook.uid}`)).status).toBe(404);
    await page.context().close();
  });

  it("asks before a delete without JavaScript too: the button opens a confirm page, whose Cancel changes nothing and whose button deletes", async () => {
    const key = randomUUID().slice(0, 8);
    const hook = await api("POST", "/v1/webhooks", { url: `${down.url}/ok/${key}`, eventTypes: ["message.*"], organizationUid: `org-${key}` });
    const page = await newPage(1280, 800, { javaScriptEnabled: false });
    await signIn(page, stack.vars.ADMIN_TOKEN!);
    const own = `${stack.url}/dashboard/webhooks/${hook.uid}`;
    // (A GET form without fields sends an empty query.)
    const confirmPage = (u: URL) => u.href === `${own}/delete` || u.href === `${own}/delete?`;
    await page.goto(own);
    page.on("dialog", () => {
      throw new Error("a dialog, without JavaScript");
    });
    await page.getByRole("button", { name: "Delete webhook" }).click();
    await page.waitForURL(confirmPage);
    expect(await page.getByRole("heading", { name: "Delete webhook" }).isVisible()).toBe(true);
    expect(await page.locator("main").textContent()).toContain(`Delete webhook ${hook.uid}? What it is still owed expires`);
    expect((await stack.api("GET", `/v1/webhooks/${hook.uid}`)).status).toBe(200);
    await page.getByRole("link", { name: "Cancel" }).click();
    await page.waitForURL(own);
    expect((await stack.api("GET", `/v1/webhooks/${hook.uid}`)).status).toBe(200);
    await page.getByRole("button", { name: "Delete webhook" }).click();
    await page.waitForURL(confirmPage);
    await Promise.all([page.waitForURL(/\/dashboard\/webhooks\?/), page.getByRole("button", { name: "Delete webhook" }).click()]);
    expect(await page.locator("[role=status]").textContent()).toBe("Webhook deleted.");
    expect((await stack.api("GET", `/v1/webhooks/${hook.uid}`)).status).toBe(404);
    await page.context().close();
  });

  it("makes a scoped token on the Tokens page, shows it once, and revokes it: it signs in no more", async () => {
    const key = randomUUID().slice(0, 8);
    const page = await newPage();
    await signIn(page, stack.vars.ADMIN_TOKEN!);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Tokens" }).click();
    await page.waitForURL(`${stack.url}/dashboard/tokens`);
    const form = page.getByRole("form", { name: "New token" });
    await form.getByLabel("Name").fill(`support ${key}`);
    await form.getByLabel("events:read").check();
    await form.getByLabel("read_messages").check();
    await form.getByLabel(/^Organizations/).fill(`org-${key}`);
    await form.getByRole("button", { name: "Create token" }).click();
    await page.waitForURL(new RegExp(`^${stack.url}/dashboard/created/[\\w-]{43}$`));
    const token = (await page.getByLabel("API token").textContent())!.trim();
    expect(token).toMatch(/^ehk_/);
    // Shown once: reloaded, the page has it no more; the list never has it.
    await page.reload();
    expect(await page.content()).not.toContain(token);
    await page.goto(`${stack.url}/dashboard/tokens`);
    expect(await page.content()).not.toContain(token);
    const row = page.locator("tr", { hasText: `support ${key}` });
    expect(await row.textContent()).toContain("events:read, read_messages");
    expect(await row.textContent()).toContain(`organizations org-${key}`);
    await page.screenshot({ path: `${SHOTS}tokens.png` });

    // It signs in, and sees what its scopes allow.
    const other = await newPage();
    await signIn(other, token);
    expect(await other.getByRole("navigation", { name: "Main" }).textContent()).not.toContain("Tokens");
    await other.context().close();

    page.once("dialog", (d) => void d.accept());
    await Promise.all([page.waitForURL(/\/dashboard\/tokens\?/), row.getByRole("button", { name: "Revoke" }).click()]);
    expect(await page.locator("[role=status]").textContent()).toBe("Token revoked: it no longer works.");
    expect(await page.locator("tr", { hasText: `support ${key}` }).textContent()).toContain("revoked");
    const again = await newPage();
    await again.goto(`${stack.url}/dashboard/login`);
    await again.getByLabel("API token").fill(token);
    await again.getByRole("button", { name: "Sign in" }).click();
    await again.waitForURL(/\/dashboard\/login\?error=/);
    await again.context().close();
    await page.context().close();
  });

  it("lists a delivery that failed for good on the Dead letters page, and replays it from there", async () => {
    const key = randomUUID().slice(0, 8);
    const org = `org-${key}`;
    // Fails its one attempt, then the downstream recovers: the replay delivers it.
    await api("POST", "/v1/webhooks", { url: `${down.url}/flaky/${key}-dead?fails=1`, eventTypes: ["message.*"], organizationUid: org, maxAttempts: 1 });
    const eventId = await send(podiumEvent({ type: "message.received", organizationUid: org }));
    await eventually(async () => (await api("GET", "/v1/dead-letters?open=true")).data.some((d: { eventId: string }) => d.eventId === eventId), 20_000, "the dead letter");

    const page = await newPage();
    await signIn(page, stack.vars.ADMIN_TOKEN!);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Dead letters" }).click();
    await page.waitForURL(`${stack.url}/dashboard/dead-letters`);
    await page.getByLabel("Only those not replayed yet").check();
    await page.getByRole("button", { name: "Show" }).click();
    await page.waitForURL(/open=true/);
    const row = page.locator("tr", { hasText: eventId });
    expect(await row.textContent()).toContain("delivery failed for good");
    expect(await row.getByRole("link", { name: eventId }).getAttribute("href")).toBe(`/dashboard/events/${eventId}`);
    await page.screenshot({ path: `${SHOTS}dead-letters.png` });
    await row.getByRole("button", { name: "Replay" }).click();
    await page.waitForSelector("text=replayed: its delivery will be tried again");
    // Back on the page it was pressed on, still open only.
    expect(new URL(page.url()).searchParams.get("open")).toBe("true");
    await eventually(async () => (await down.requests(`${key}-dead`)).length === 2, 20_000, "the replayed delivery");
    // Replayed: no longer among the open ones.
    await page.goto(`${stack.url}/dashboard/dead-letters?open=true`);
    expect(await page.locator("tr", { hasText: eventId }).count()).toBe(0);
    await page.context().close();
  });

  it("wraps long unbroken values (a URL, a name, a type) inside the page rather than widening its tables past it", async () => {
    const key = randomUUID().slice(0, 8);
    // Another provider's type (a Podium object's unknown type is refused): taken, with a warning.
    const made = await stack.api("POST", "/v1/webhooks", { url: `${down.url}/ok/${key}/${"a".repeat(1500)}`, eventTypes: [`custom.${"x".repeat(150)}`], organizationUid: `org-${key}` });
    expect(made.status).toBe(201);
    const source = await stack.api("POST", "/v1/sources", { name: "W".repeat(200), provider: "standard-webhooks", secrets: [`whsec_${Buffer.from(randomUUID() + randomUUID()).toString("base64")}`] });
    expect(source.status).toBe(201);
    const page = await newPage();
    await signIn(page, stack.vars.ADMIN_TOKEN!);
    for (const path of ["/dashboard/webhooks", "/dashboard/sources", "/dashboard/tokens", "/dashboard/dead-letters", "/dashboard"]) {
      await page.goto(`${stack.url}${path}`);
      const widest = await page.evaluate(() => Math.max(...[...document.querySelectorAll("table")].map((t) => t.getBoundingClientRect().width)));
      const room = await page.evaluate(() => document.documentElement.clientWidth);
      expect(widest, path).toBeLessThanOrEqual(room);
      // Squeezed, a table still breaks no column heading or button inside a word ("Revok e").
      const brokenWords = await page.evaluate(() =>
        [...document.querySelectorAll("table th[scope=col], table button")].flatMap((el) => {
          const words: string[] = [];
          const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
          for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            for (const m of (node.textContent ?? "").matchAll(/\S+/g)) {
              const range = document.createRange();
              range.setStart(node, m.index!);
              range.setEnd(node, m.index! + m[0].length);
              if (new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size > 1) words.push(m[0]);
            }
          }
          return words;
        }),
      );
      expect(brokenWords, path).toEqual([]);
    }
    await page.context().close();
  });

  it("fits the sources, dead letters and tokens tables, a webhook's state and a downstream's answer to the screen (a phone's, scrolled in the table's box): words whole, buttons on it", async () => {
    const key = randomUUID().slice(0, 8);
    await api("POST", "/v1/sources", { id: `fits-${key}`, name: `Fits ${key}`, provider: "podium", secrets: [`secret-${key}-long-enough`], organizationUid: `org-${key}` });
    await api("POST", "/v1/webhooks", { url: `${down.url}/fail/${key}`, eventTypes: ["message.*"], organizationUid: `org-${key}`, maxAttempts: 1 });
    // Answers one long line of JSON (the request's headers), as a gateway's error page does.
    await api("POST", "/v1/webhooks", { url: `${down.url}/echo/${key}-echo`, eventTypes: ["message.*"], organizationUid: `org-${key}`, maxAttempts: 1 });
    // A long URL beside the webhooks list's states.
    await api("POST", "/v1/webhooks", { url: `${down.url}/ok/${key}/${"a".repeat(1500)}`, eventTypes: ["message.*"], organizationUid: `org-${key}` });
    await api("POST", "/v1/tokens", { name: `fits ${key}`, scopes: ["events:read", "webhooks:read", "read_messages"], organizationUids: [`org-${key}`] });
    // A request to the source refused, whose reason ("invalid_signature") its row shows.
    expect((await sendPodium(`${stack.url}/webhooks/fits-${key}`, podiumEvent({ type: "message.received", organizationUid: `org-${key}` }), "not-its-secret")).status).toBe(401);
    await eventually(async () => ((await api("GET", `/v1/sources/fits-${key}`)).rejections ?? []).length > 0, 20_000, "the refusal counted");
    const eventId = await send(podiumEvent({ type: "message.received", organizationUid: `org-${key}` }));
    await eventually(
      async () => (await api("GET", "/v1/dead-letters?open=true&withMessage=false")).data.filter((d: { eventId: string }) => d.eventId === eventId).length === 2,
      20_000,
      "the dead letters",
    );
    const page = await newPage();
    await signIn(page, stack.vars.ADMIN_TOKEN!);
    for (const width of [1280, 700, 420]) {
      await page.setViewportSize({ width, height: 800 });
      // Words of the dashboard's own (a state, what a letter is) in the row of this test's source or letter.
      for (const [path, row, words] of [
        ["/dashboard/sources", `fits-${key}`, ["enabled", "invalid_", "signature"]],
        ["/dashboard/dead-letters", eventId, ["delivery", "failed"]],
        ["/dashboard/tokens", `fits ${key}`, ["webhooks:read", "read_messages", "organizations"]],
      ] as const) {
        await page.goto(`${stack.url}${path}`);
        const table = page.locator("table").first();
        const tr = page.locator("tr", { hasText: row }).first();
        // On a phone no column is hidden (WCAG 1.4.10): a table wider than the screen scrolls in its own box, never the page.
        const phone = width <= 640;
        if (!phone) expect(await table.evaluate((t) => t.getBoundingClientRect().width <= t.parentElement!.clientWidth), `${path} at ${width} px`).toBe(true);
        else await tr.getByRole("button").last().scrollIntoViewIfNeeded();
        expect(await page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth), `${path} at ${width} px`).toBe(true);
        // Every button of the row on the screen (on a phone, once its table's box is scrolled to it).
        const rights = await tr.getByRole("button").evaluateAll((buttons) => buttons.map((b) => b.getBoundingClientRect().right));
        expect(rights.length, `${path} at ${width} px`).toBeGreaterThan(0);
        for (const right of phone ? rights.slice(-1) : rights) expect(right, `${path} at ${width} px`).toBeLessThanOrEqual(width);
        expect(await brokenWords(tr, words), `${path} at ${width} px`).toEqual([]);
      }
      // Each webhook's state ("healthy", "failing") whole beside the long URL, which was given all the room.
      await page.goto(`${stack.url}/dashboard/webhooks`);
      const states = await page.locator("tbody tr td:nth-child(4) b").evaluateAll((bs) =>
        bs.flatMap((b) => {
          const range = document.createRange();
          range.selectNodeContents(b);
          return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size > 1 ? [b.textContent] : [];
        }),
      );
      expect(states, `the webhooks list at ${width} px`).toEqual([]);
      // So are the long URL's event types and owner: the URL breaks, not "message." nor "organization".
      expect(await brokenWords(page.locator("tr", { hasText: `${key}/aaaa` }).first(), ["message.", "organization"]), `the webhooks list at ${width} px`).toEqual([]);
      // A source of the configuration: its name and why it has no actions, words whole.
      await page.goto(`${stack.url}/dashboard/sources`);
      expect(await brokenWords(page.locator("tr", { hasText: "Podium (configuration)" }), ["(configuration)", "configuration"]), `/dashboard/sources at ${width} px`).toEqual([]);
      // The overview's last failure beside the long URL: its time and words whole.
      await page.goto(`${stack.url}/dashboard`);
      const failing = page.locator("tr", { hasText: `/fail/${key}` }).first();
      const failureCell = failing.locator("td").last();
      const failure = (await failureCell.textContent()) ?? "";
      expect(failure, `the overview at ${width} px`).toMatch(/\d\dZ/);
      // Looked for in its own cell: the long URL beside it, which breaks anywhere, may hold "500" too.
      expect(await brokenWords(failureCell, failure.split(/\s+/).filter(Boolean)), `the overview at ${width} px`).toEqual([]);
      // Each attempt's answer wraps within the page rather than running past its edge behind a sideways scroll.
      await page.goto(`${stack.url}/dashboard/events/${eventId}`);
      const answers = await page.locator("ol.timeline pre").evaluateAll((pres) => pres.map((p) => p.scrollWidth <= p.clientWidth));
      expect(answers.length, `the event's page at ${width} px`).toBeGreaterThanOrEqual(2);
      expect(answers.every(Boolean), `the event's page at ${width} px`).toBe(true);
    }
    await page.context().close();
  });

  it("wraps a failing $or filter's explanation on \"Test this webhook\" within a phone's width (each alternative's long pattern)", async () => {
    const key = randomUUID().slice(0, 8);
    const pattern = `^${"x".repeat(90)}$`;
    const filter = { $or: [{ "body.data.body": `y${"z".repeat(90)}` }, { "body.data.sender.name": { $regex: pattern } }] };
    const made = await api("POST", "/v1/webhooks", { url: `${down.url}/ok/${key}`, eventTypes: ["message.*"], organizationUid: `org-${key}`, filter });
    const eventId = await send(podiumEvent({ type: "message.received", organizationUid: `org-${key}` }));
    await eventually(async () => (await stack.api("GET", `/v1/events/${eventId}`)).status === 200, 20_000, "the event stored");
    const page = await newPage(420, 800);
    await signIn(page, stack.vars.ADMIN_TOKEN!);
    await page.goto(`${stack.url}/dashboard/webhooks/${made.uid}`);
    await page.getByLabel("Event id").fill(eventId);
    await page.getByRole("button", { name: "Test", exact: true }).click();
    expect(await page.getByRole("list", { name: "Checks" }).locator("li", { hasText: "$or[1]" }).textContent()).toContain(pattern);
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth)).toBe(true);
    await page.context().close();
  });

  it("puts each overview card's heading at the card's top, no farther from it than the card's text from its sides", async () => {
    const page = await newPage();
    await signIn(page, stack.vars.ADMIN_TOKEN!);
    const gaps = await page.locator("section.card").evaluateAll((cards) =>
      cards.map((card) => {
        const style = getComputedStyle(card);
        const top = card.getBoundingClientRect().top + parseFloat(style.borderTopWidth) + parseFloat(style.paddingTop);
        return Math.round(card.querySelector("h2")!.getBoundingClientRect().top - top);
      }),
    );
    expect(gaps).toEqual([0, 0]);
    await page.context().close();
  });

  it("breaks an event type in the events list between its dotted parts, never inside one, beside long uids", async () => {
    const location = `${randomUUID()}-${randomUUID()}`;
    const eventId = await send(podiumEvent({ type: "conversation.assigned", organizationUid: randomUUID(), locationUid: location }));
    await eventually(async () => (await stack.api("GET", `/v1/events/${eventId}`)).status === 200, 20_000, "the event stored");
    const page = await newPage(1280, 800);
    await signIn(page, stack.vars.ADMIN_TOKEN!);
    for (const width of [1280, 700, 420]) {
      await page.setViewportSize({ width, height: 800 });
      await page.goto(`${stack.url}/dashboard/events?locationUid=${location}`);
      const link = page.getByRole("link", { name: "conversation.assigned" });
      const brokenParts = await link.evaluate((a) => {
        const text = a.textContent ?? "";
        const lineTop = (from: number, to: number) => {
          const range = document.createRange();
          const walker = document.createTreeWalker(a, NodeFilter.SHOW_TEXT);
          let offset = 0;
          const tops = new Set<number>();
          for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const len = node.textContent!.length;
            const start = Math.max(from - offset, 0);
            const end = Math.min(to - offset, len);
            if (start < end) {
              range.setStart(node, start);
              range.setEnd(node, end);
              for (const r of range.getClientRects()) if (r.width > 0) tops.add(Math.round(r.top));
            }
            offset += len;
          }
          return tops.size;
        };
        const parts: string[] = [];
        let at = 0;
        for (const part of text.split(".")) {
          if (lineTop(at, at + part.length) > 1) parts.push(part);
          at += part.length + 1;
        }
        return parts;
      });
      expect(brokenParts, `at ${width} px`).toEqual([]);
    }
    await page.context().close();
  });

  it("renders /docs with scripts from its own origin only: the pinned reference bundle, byte for byte", async () => {
    const bundle = await fetch(`${stack.url}/docs/api-reference.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get("content-type")).toMatch(/javascript/);
    expect(bundle.headers.get("x-content-type-options")).toBe("nosniff");
    const served = Buffer.from(await bundle.arrayBuffer());
    const pinned = readFileSync(new URL("../../node_modules/@scalar/api-reference/dist/browser/standalone.js", import.meta.url));
    expect(served.equals(pinned)).toBe(true);

    const page = await newPage();
    const elsewhere: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(`${stack.url}/`) && !r.url().startsWith("data:")) elsewhere.push(r.url());
    });
    await page.goto(`${stack.url}/docs`);
    // The reference ran: it fetched /openapi.json and shows the API's operations.
    await page.getByText("Receive a webhook from a provider").first().waitFor({ timeout: 30_000 });
    // Every tag's group is open, not the first alone: an operation of a later group is on the page.
    for (const summary of ["List events, newest first", "Create a webhook (forwarding subscription); the secret is returned this once", "Revoke a token: it stops working at once"]) {
      expect(await page.getByText(summary).first().isVisible(), summary).toBe(true);
    }
    expect(elsewhere).toEqual([]);
    await page.context().close();
  });

  it("logged no console errors on any page", () => {
    expect(consoleErrors).toEqual([]);
  });
});
