/**
 * The instructor's "network & faults" bar in a real Chromium, against a supervised server with
 * its network emulator: the panels cross the emulator, a black hole on one transport stalls only
 * that panel, and a restart brings every panel back without losing a message.
 */
import { copyFileSync, mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { WirelabSupervisor } from "../../server/WirelabSupervisor.js";
import { TRANSPORTS, type TransportName } from "../../web/src/isomorphic/protocol/index.js";
import { startSupervisor, tempDir } from "../helpers.js";
import { buildDashboard } from "./buildDashboard.js";
import { launchChromium, watchedPage } from "./chromium.js";

const repo = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const WAIT = { timeout: 30_000 };

let build: Awaited<ReturnType<typeof buildDashboard>>;
let supervisor: WirelabSupervisor;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let page: Page;
let store: ReturnType<typeof tempDir>;
let dialogs: string[] = [];
let pageErrors: string[] = [];

beforeAll(async () => {
  build = await buildDashboard();
  store = tempDir();
  supervisor = await startSupervisor({ webRoot: build.webRoot, dataFile: `${store.dir}/class.db` });
  browser = await launchChromium();
  ({ page, dialogs, pageErrors } = await watchedPage(browser.context));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await supervisor?.close();
  build?.cleanup();
  store?.cleanup();
});

const panel = (t: TransportName) => page.locator(`wirelab-panel section[data-transport="${t}"]`);
const feedTexts = (t: TransportName) => panel(t).locator("wirelab-feed li .text");
const controls = () => page.locator("wirelab-controls");

async function send(text: string): Promise<void> {
  const input = page.locator("wirelab-composer input[name=text]");
  await input.fill(text);
  await input.press("Enter");
  await page.locator("wirelab-composer .outcome.sent").waitFor(WAIT);
}

test("the panels cross the network emulator, and the bar says so", async () => {
  await page.goto(`${supervisor.url}/?room=controls`);
  await page.locator("wirelab-join input[name=name]").fill("ms-lee");
  await page.locator("wirelab-join input[name=name]").press("Enter");
  for (const t of TRANSPORTS) await panel(t).locator('wirelab-state-badge[state="open"]').waitFor(WAIT);
  await controls().locator(".where").filter({ hasText: supervisor.network!.url }).waitFor(WAIT);
  const kinds = supervisor.network!.connections().map((c) => c.transport);
  for (const t of ["long-poll", "sse", "websocket"] as const) expect(kinds).toContain(t);
}, 60_000);

test("a black hole on SSE stalls only the SSE panel; lifting it delivers the backlog", async () => {
  await controls().locator("select[name=target]").selectOption("sse");
  await controls().getByRole("button", { name: "Black hole", exact: true }).click();
  await controls().locator(".fact").filter({ hasText: "black hole: sse" }).waitFor(WAIT);

  await send("into the black hole");
  for (const t of TRANSPORTS.filter((t) => t !== "sse")) await feedTexts(t).filter({ hasText: "into the black hole" }).waitFor(WAIT);
  expect(await feedTexts("sse").filter({ hasText: "into the black hole" }).count()).toBe(0);
  await panel("sse").locator('wirelab-state-badge[state="open"]').waitFor(WAIT); // a zombie: nobody told it

  await controls().getByRole("button", { name: "Lift black hole" }).click();
  await feedTexts("sse").filter({ hasText: "into the black hole" }).waitFor(WAIT);
}, 60_000);

test("slow 3G on the WebSocket shows in the status line", async () => {
  await controls().locator("select[name=target]").selectOption("websocket");
  await controls().locator("select[name=preset]").selectOption("slow-3g");
  await controls().getByRole("button", { name: "Apply" }).click();
  await controls().locator(".fact").filter({ hasText: "websocket: slow-3g" }).waitFor(WAIT);
  expect(supervisor.network!.conditions().transports.websocket?.preset).toBe("slow-3g");
  await controls().locator("select[name=preset]").selectOption("none");
  await controls().getByRole("button", { name: "Apply" }).click();
  await controls().locator(".fact").filter({ hasText: "websocket: none" }).waitFor(WAIT);
}, 60_000);

test("restart: every panel comes back and catches up, nothing lost", async () => {
  const before = supervisor.current.instance;
  for (const t of TRANSPORTS) await panel(t).locator(`[data-instance="${before}"]`).waitFor(WAIT);
  await controls().locator("select[name=target]").selectOption("all");
  await controls().locator("input[name=seconds]").fill("1");
  await controls().getByRole("button", { name: "Restart" }).click();
  await expect.poll(() => supervisor.restarts, { timeout: 30_000 }).toBe(1);
  for (const t of TRANSPORTS) await panel(t).locator('wirelab-state-badge[state="open"]').waitFor(WAIT);
  await send("after the restart");
  for (const t of TRANSPORTS) {
    await feedTexts(t).filter({ hasText: "after the restart" }).waitFor(WAIT);
    const texts = await feedTexts(t).allInnerTexts();
    expect(new Set(texts).size, `${t} shows no message twice`).toBe(texts.length);
    expect(texts).toContain("into the black hole");
    // The panel names the instance that serves it: the restarted one.
    await panel(t).locator(`[data-instance="${supervisor.current.instance}"]`).waitFor(WAIT);
  }
  expect(supervisor.current.instance).not.toBe(before);
  mkdirSync(`${repo}/test-results`, { recursive: true });
  // The bar with something in force, for the docs (WIRELAB_DOCS_SCREENSHOT=1 refreshes docs/controls.png).
  await controls().locator("select[name=target]").selectOption("long-poll");
  await controls().locator("select[name=preset]").selectOption("slow-3g");
  await controls().getByRole("button", { name: "Apply" }).click();
  await controls().locator(".fact").filter({ hasText: "long-poll: slow-3g" }).waitFor(WAIT);
  const file = `${repo}/test-results/controls.png`;
  await page.locator("wirelab-dashboard section.controls").screenshot({ path: file });
  if (process.env.WIRELAB_DOCS_SCREENSHOT) copyFileSync(file, `${repo}/docs/controls.png`);
  expect(pageErrors).toEqual([]);
  expect(dialogs).toEqual([]);
}, 90_000);
