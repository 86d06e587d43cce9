/**
 * The dashboard in a real Chromium against a real wirelab server serving a fresh build: join,
 * send, watch all four transports, and keep a screenshot for review (test-results/dashboard.png;
 * with WIRELAB_DOCS_SCREENSHOT=1 also docs/dashboard.png).
 */
import { copyFileSync, mkdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Wirelab } from "../../server/app.js";
import { FeedHttp } from "../../web/src/isomorphic/kit/index.js";
import { TRANSPORTS, type TransportName } from "../../web/src/isomorphic/protocol/index.js";
import { startServer } from "../helpers.js";
import { buildDashboard } from "./buildDashboard.js";
import { launchChromium, watchedPage } from "./chromium.js";

const repo = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const WAIT = { timeout: 30_000 };
const XSS = "<img src=x onerror=alert(1)>";

let build: Awaited<ReturnType<typeof buildDashboard>>;
let server: Wirelab;
let browser: { context: BrowserContext; close(): Promise<void> };
let page: Page;
let dialogs: string[] = [];
let pageErrors: string[] = [];

beforeAll(async () => {
  build = await buildDashboard();
  server = await startServer({ webRoot: build.webRoot });
  browser = await launchChromium();
  ({ page, dialogs, pageErrors } = await watchedPage(browser.context));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  build?.cleanup();
});

const panel = (t: TransportName) => page.locator(`wirelab-panel section[data-transport="${t}"]`);
const feedTexts = (t: TransportName) => panel(t).locator("wirelab-feed li .text");
const wireLog = (t: TransportName) => page.locator(`wirelab-wire-log section[data-transport="${t}"]`);

/** A client-side counter of one panel, as the page shows it. */
async function counter(t: TransportName, name: string, column: "client" | "server" = "client"): Promise<number> {
  const text = await panel(t).locator(`tr[data-counter="${name}"] td.${column}`).innerText();
  return Number(text.replace(/[^0-9.]/g, ""));
}

/** Wait (generously) until `read` gives a value that `ok` accepts; returns it. */
async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last value: ${JSON.stringify(value)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function send(text: string, via: TransportName = "websocket"): Promise<void> {
  await page.locator(`wirelab-composer input[name="via"][value="${via}"]`).check();
  const input = page.locator("wirelab-composer input[name=text]");
  await input.fill(text);
  await input.press("Enter");
  await page.locator("wirelab-composer .outcome.sent").waitFor(WAIT);
}

/** The element that has the keyboard focus, looking through shadow roots: "input text". */
function focused(): Promise<string> {
  return page.evaluate(() => {
    let element = document.activeElement;
    while (element?.shadowRoot?.activeElement) element = element.shadowRoot.activeElement;
    return element ? `${element.tagName.toLowerCase()} ${element.getAttribute("name") ?? ""}` : "";
  });
}

async function panelBoxes() {
  return Promise.all(TRANSPORTS.map(async (t) => (await panel(t).boundingBox())!));
}

describe("the workbench dashboard", () => {
  test("joins with a name and the default room, and all four transports open", async () => {
    await page.goto(server.url);
    const name = page.locator("wirelab-join input[name=name]");
    await name.waitFor(WAIT);
    await until(focused, (what) => what === "input name", "the name field to have the focus");
    expect(await page.locator("wirelab-join input[name=room]").inputValue()).toBe("lobby");
    await page.keyboard.type("ada");
    await page.keyboard.press("Enter");
    for (const t of TRANSPORTS) await panel(t).locator('wirelab-state-badge[state="open"]').waitFor(WAIT);
    expect(await page.locator("wirelab-app header [data-room]").innerText()).toBe("lobby");
  }, 60_000);

  test("a message typed into the composer arrives in every panel", async () => {
    const before = await panelBoxes();
    // Joining put the caret in the composer: the keyboard alone sends.
    await until(focused, (what) => what === "input text", "the composer to have the focus");
    await page.keyboard.type("hello from the composer");
    await page.keyboard.press("Enter");
    for (const t of TRANSPORTS) await feedTexts(t).filter({ hasText: "hello from the composer" }).waitFor(WAIT);
    for (const t of TRANSPORTS) expect(await counter(t, "messages")).toBeGreaterThanOrEqual(1);
    for (const t of TRANSPORTS) expect(Number(await panel(t).locator('[data-latency="median"] .value').innerText().then((s) => parseFloat(s)))).not.toBeNaN();
    // Messages arriving do not move the layout.
    expect(await panelBoxes()).toEqual(before);
  }, 60_000);

  test("a message sent over each transport reaches all four", async () => {
    for (const via of TRANSPORTS) await send(`sent over ${via}`, via);
    for (const via of TRANSPORTS) {
      for (const t of TRANSPORTS) await feedTexts(t).filter({ hasText: `sent over ${via}` }).waitFor(WAIT);
    }
  }, 90_000);

  test("idle: short poll keeps making requests, the WebSocket makes none", async () => {
    const shortPoll = await counter("short-poll", "requests");
    const websocket = await counter("websocket", "requests");
    await until(() => counter("short-poll", "requests"), (n) => n >= shortPoll + 2, "short poll to poll twice more");
    expect(await counter("websocket", "requests")).toBe(websocket);
    // The server's numbers are shown next to the client's.
    expect(await counter("short-poll", "requests", "server")).toBeGreaterThan(0);
    expect(await counter("websocket", "bytesIn", "server")).toBeGreaterThan(0);
  }, 60_000);

  test("chat text is shown as text, never run as HTML", async () => {
    await send(XSS);
    for (const t of TRANSPORTS) {
      const item = feedTexts(t).filter({ hasText: XSS });
      await item.waitFor(WAIT);
      expect(await item.innerText()).toBe(XSS);
    }
    expect(await page.locator("wirelab-feed img").count()).toBe(0);
    expect(dialogs).toEqual([]);
  }, 60_000);

  test("the wire view logs HTTP round trips, SSE events and WebSocket frames", async () => {
    await wireLog("short-poll").locator('li[data-kind="http"]').first().waitFor(WAIT);
    await wireLog("long-poll").locator('li[data-kind="http"]').first().waitFor(WAIT);
    await wireLog("sse").locator('li[data-kind="sse"]').first().waitFor(WAIT);
    await wireLog("websocket").locator('li[data-kind="ws"][data-direction="out"]').first().waitFor(WAIT);
    await wireLog("websocket").locator('li[data-kind="ws"][data-direction="in"]').first().waitFor(WAIT);
    // A small frame carries a 2-byte header from the server (plus a 4-byte mask from the client).
    expect(await wireLog("websocket").locator('li[data-direction="in"] .framing').first().innerText()).toBe("+2 B");
    expect(await wireLog("websocket").locator('li[data-direction="out"] .framing').first().innerText()).toBe("+6 B");
    // The stream's one request is logged without the token.
    const upgrade = wireLog("websocket").locator('li[data-kind="http"] .what').filter({ hasText: "/ws" }).first();
    expect(await upgrade.innerText()).toMatch(/^GET \/ws.* → 101$/);
    expect(await wireLog("websocket").innerText()).not.toContain("token");
  }, 60_000);

  test("a panel can be disconnected and reconnected on its own and catches up", async () => {
    const before = await panelBoxes();
    await panel("sse").locator('button[data-action="disconnect"]').click();
    await panel("sse").locator('wirelab-state-badge[state="closed"]').waitFor(WAIT);
    // The longest state word does not move the layout either.
    expect(await panelBoxes()).toEqual(before);
    const seen = await counter("sse", "messages");
    await send("while sse was away");
    await feedTexts("websocket").filter({ hasText: "while sse was away" }).waitFor(WAIT);
    expect(await counter("sse", "messages")).toBe(seen);
    expect(await panel("websocket").locator('wirelab-state-badge[state="open"]').count()).toBe(1);

    await panel("sse").locator('button[data-action="reconnect"]').click();
    await panel("sse").locator('wirelab-state-badge[state="open"]').waitFor(WAIT);
    await feedTexts("sse").filter({ hasText: "while sse was away" }).waitFor(WAIT);
    expect(await counter("sse", "reconnects")).toBe(1);
  }, 60_000);

  test("pausing a panel holds its feed still while its connection keeps counting", async () => {
    const pause = panel("long-poll").locator('button[data-action="pause"]');
    await pause.click();
    await until(() => pause.getAttribute("aria-pressed"), (v) => v === "true", "the pause button to show it is pressed");
    const seen = await counter("long-poll", "messages");
    await send("while long poll was paused");
    await until(() => counter("long-poll", "messages"), (n) => n > seen, "the paused long poll to receive");
    expect(await feedTexts("long-poll").filter({ hasText: "while long poll was paused" }).count()).toBe(0);
    expect(await panel("long-poll").locator(".status").innerText()).toContain("1 new message waiting");

    await pause.click();
    await feedTexts("long-poll").filter({ hasText: "while long poll was paused" }).waitFor(WAIT);
  }, 60_000);

  test("after a drop (or the Reconnect button) each feed marks where it reconnected and the seq it resumed from; every panel says when its last byte came", async () => {
    for (const t of TRANSPORTS) await panel(t).locator("wirelab-state-badge [data-silent-ms]").filter({ hasText: /^last byte \d+ s ago$/ }).waitFor(WAIT);
    const marks = (t: TransportName) => panel(t).locator("wirelab-feed li.reconnect");
    const lastSeq = async (t: TransportName) => Number(await panel(t).locator("wirelab-feed li[data-seq]").last().getAttribute("data-seq"));
    // On loopback every session is an instructor's: this one cuts connections as the bar's "Drop connections" does.
    const { token } = await FeedHttp.createSession(server.url, "instructor");
    const drop = async (transport: TransportName): Promise<number> => {
      const response = await fetch(`${server.url}/v1/admin/drop`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ transport }),
      });
      expect(response.status).toBe(200);
      return ((await response.json()) as { dropped: Record<string, number> }).dropped[transport] ?? 0;
    };
    // SSE and WebSocket hold their connection open, so a drop always cuts one. The polls do not
    // notice one: short poll holds nothing between polls, and Chromium itself resends a long poll
    // whose reused keep-alive socket was reset before any answer (measured: the dropped count is 1,
    // the client's requests and reconnects do not move). Their panels reconnect with the button.
    for (const t of ["sse", "websocket"] as const) {
      const before = await marks(t).count();
      const resumedFrom = await lastSeq(t);
      await until(() => drop(t), (n) => n >= 1, `a ${t} connection to drop`);
      await until(() => marks(t).count(), (n) => n === before + 1, `the ${t} feed to mark the reconnect`);
      const mark = marks(t).last();
      expect(await mark.innerText()).toMatch(new RegExp(`^reconnected after [\\d.]+ m?s, resumed from #${resumedFrom}$`));
      expect(await mark.getAttribute("data-resumed-from")).toBe(String(resumedFrom));
      await panel(t).locator('wirelab-state-badge[state="open"]').waitFor(WAIT);
      // The drop is over: no error left in the status line.
      await panel(t).locator(".status:not(.error)").waitFor(WAIT);
    }
    for (const t of ["short-poll", "long-poll"] as const) {
      const before = await marks(t).count();
      await panel(t).locator('button[data-action="reconnect"]').click();
      await until(() => marks(t).count(), (n) => n === before + 1, `the ${t} feed to mark the reconnect`);
      // A poll may bring news between reading the feed and the click: the mark names the seq the
      // client had at the click, and sits right under that message.
      const mark = marks(t).last();
      const resumedFrom = await mark.getAttribute("data-resumed-from");
      expect(await mark.innerText()).toMatch(new RegExp(`^reconnected by hand after [\\d.]+ m?s, resumed from #${resumedFrom}$`));
      expect(await mark.evaluate((li) => li.previousElementSibling?.getAttribute("data-seq"))).toBe(resumedFrom);
    }

    // What arrives next goes below the mark.
    await send("after the drop");
    for (const t of TRANSPORTS) {
      await feedTexts(t).filter({ hasText: "after the drop" }).waitFor(WAIT);
      // Below the last mark (a poll may have brought earlier news in between, below it too).
      const order = await panel(t).locator("wirelab-feed li").evaluateAll((items) => items.map((li) => (li.className === "reconnect" ? "mark" : (li.textContent ?? ""))));
      const last = order.findIndex((text) => text.includes("after the drop"));
      expect(order.lastIndexOf("mark"), t).toBeGreaterThanOrEqual(0);
      expect(order.lastIndexOf("mark"), t).toBeLessThan(last);
    }
  }, 90_000);

  test("the charts draw and a screenshot is kept for review", async () => {
    for (const name of ["latency-time", "latency-distribution", "request-rate", "bytes"]) {
      await page.locator(`wirelab-charts figure[data-chart="${name}"] canvas`).waitFor(WAIT);
    }
    // A few more samples so the time charts have lines to show.
    const start = await counter("short-poll", "requests");
    await until(() => counter("short-poll", "requests"), (n) => n >= start + 2, "a few more samples");
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.mouse.move(0, 0); // no hover highlight in the picture
    const file = join(repo, "test-results", "dashboard.png");
    mkdirSync(dirname(file), { recursive: true });
    await page.screenshot({ path: file, fullPage: true });
    expect(statSync(file).size).toBeGreaterThan(10_000);
    if (process.env.WIRELAB_DOCS_SCREENSHOT) copyFileSync(file, join(repo, "docs", "dashboard.png"));
    expect(pageErrors).toEqual([]);
    expect(dialogs).toEqual([]);
  }, 60_000);
});

describe("the workbench on a phone (390 × 844)", () => {
  let phone: Awaited<ReturnType<typeof launchChromium>>;
  let mobile: Page;
  let mobileErrors: string[] = [];
  beforeAll(async () => {
    phone = await launchChromium({ width: 390, height: 844 });
    ({ page: mobile, pageErrors: mobileErrors } = await watchedPage(phone.context));
  }, 60_000);
  afterAll(() => phone?.close());

  type Box = { x: number; y: number; width: number; height: number };
  const overlaps = (a: Box, b: Box) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

  test("fits the width, and the composer covers no panel wherever the page is scrolled", async () => {
    await mobile.goto(`${server.url}/?room=phone`);
    await mobile.locator("wirelab-join input[name=name]").fill("grace");
    await mobile.locator("wirelab-join input[name=name]").press("Enter");
    const mobilePanel = (t: TransportName) => mobile.locator(`wirelab-panel section[data-transport="${t}"]`);
    for (const t of TRANSPORTS) await mobilePanel(t).locator('wirelab-state-badge[state="open"]').waitFor(WAIT);
    await mobile.locator('wirelab-charts figure[data-chart="bytes"] canvas').waitFor(WAIT);

    // No horizontal scroll: everything, charts included, shrinks to the phone's width.
    expect(await mobile.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    for (const name of ["latency-time", "bytes"]) {
      const chart = (await mobile.locator(`wirelab-charts figure[data-chart="${name}"]`).boundingBox())!;
      expect(chart.x + chart.width, `the ${name} chart fits`).toBeLessThanOrEqual(390);
    }

    // Scrolled to each panel in turn, the composer's box overlaps none of the panel's box.
    for (const t of TRANSPORTS) {
      await mobilePanel(t).scrollIntoViewIfNeeded();
      await mobilePanel(t).locator("wirelab-feed").scrollIntoViewIfNeeded();
      const composer = (await mobile.locator("wirelab-dashboard section.composer").boundingBox())!;
      const box = (await mobilePanel(t).boundingBox())!;
      expect(overlaps(composer, box), `the composer over the ${t} panel: ${JSON.stringify({ composer, box })}`).toBe(false);
    }

    await mobile.evaluate(() => window.scrollTo(0, 0));
    const file = join(repo, "test-results", "dashboard-phone.png");
    mkdirSync(dirname(file), { recursive: true });
    await mobile.screenshot({ path: file, fullPage: true });
    expect(mobileErrors).toEqual([]);
  }, 60_000);
});
