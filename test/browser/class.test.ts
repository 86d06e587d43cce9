/**
 * A class server (bound to 0.0.0.0, so no session is an instructor unasked) in a real Chromium:
 * a student joins as a learner without the network & faults bar; the instructor signs in with the
 * key on the join form, sees the error of a wrong key and of too many, and gets the bar with the
 * right one. The key never lands in the address bar nor in the page's storage.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { Wirelab } from "../../server/app.js";
import { TRANSPORTS } from "../../web/src/isomorphic/protocol/index.js";
import { startServer } from "../helpers.js";
import { buildDashboard } from "./buildDashboard.js";
import { launchChromium, watchedPage } from "./chromium.js";

const WAIT = { timeout: 30_000 };
const INSTRUCTOR_KEY = "the-class-instructor-key";

let build: Awaited<ReturnType<typeof buildDashboard>>;
let server: Wirelab;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let page: Page;
let pageErrors: string[] = [];

beforeAll(async () => {
  build = await buildDashboard();
  // Three wrong keys a minute from one address, then 429: the last test reaches it.
  server = await startServer({ webRoot: build.webRoot, host: "0.0.0.0", instructorKey: INSTRUCTOR_KEY, instructorKeyFailuresPerMinute: 3 });
  browser = await launchChromium();
  ({ page, pageErrors } = await watchedPage(browser.context));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  build?.cleanup();
});

const form = () => page.locator("wirelab-join");
const controls = () => page.locator("wirelab-controls");

async function joinedWithOpenPanels(): Promise<void> {
  for (const t of TRANSPORTS) await page.locator(`wirelab-panel section[data-transport="${t}"] wirelab-state-badge[state="open"]`).waitFor(WAIT);
}

async function storedText(): Promise<string> {
  return page.evaluate(() => JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie }));
}

test("a student joins as a learner: no instructor controls", async () => {
  expect(server.config.autoInstructor).toBe(false);
  await page.goto(`${server.url}/?room=class`);
  // A student's form keeps the instructor key out of sight until asked for.
  await expect(form().getByLabel("Instructor key").isVisible()).resolves.toBe(false);
  await form().getByLabel("Display name").fill("student");
  await form().getByLabel("Display name").press("Enter");
  await joinedWithOpenPanels();
  expect(await controls().count()).toBe(0);
  expect(await page.locator("header .role").count()).toBe(0);
  await page.getByRole("button", { name: "Leave" }).click();
}, 60_000);

test("the instructor's link opens the key field; a wrong key shows the server's refusal", async () => {
  await page.goto(`${server.url}/?instructor&room=class`);
  await form().getByLabel("Display name").fill("ms-lee");
  await form().getByLabel("Instructor key").fill("not-the-class-key");
  await form().getByRole("button", { name: "Join" }).click();
  await form().locator(".error").filter({ hasText: "the instructor key is not valid" }).waitFor(WAIT);
  expect(await page.locator("wirelab-dashboard").count()).toBe(0);
  await page.screenshot({ path: "test-results/class-join.png" });
}, 60_000);

test("the right key gives the instructor the network & faults bar; the key is in no URL or storage", async () => {
  await form().getByLabel("Instructor key").fill(INSTRUCTOR_KEY);
  await form().getByRole("button", { name: "Join" }).click();
  await joinedWithOpenPanels();
  await controls().waitFor(WAIT);
  await page.locator("header .role").filter({ hasText: "instructor" }).waitFor(WAIT);
  expect(page.url()).not.toContain(INSTRUCTOR_KEY);
  expect(await storedText()).not.toContain(INSTRUCTOR_KEY);
  await page.getByRole("button", { name: "Leave" }).click();
}, 60_000);

test("after too many wrong keys the form says to wait", async () => {
  await page.goto(`${server.url}/?room=class`);
  await form().getByLabel("Display name").fill("eve");
  await form().getByLabel("I am the instructor").check();
  const key = form().getByLabel("Instructor key");
  // One wrong key was given already; two more reach the limit of three.
  for (const [guess, status] of [["guess-one-xxxx", 403], ["guess-two-xxxx", 403], ["guess-three-xxxx", 429]] as const) {
    await key.fill(guess);
    const answered = page.waitForResponse((r) => new URL(r.url()).pathname === "/v1/session");
    await form().getByRole("button", { name: "Join" }).click();
    expect((await answered).status()).toBe(status);
  }
  await form().locator(".error").filter({ hasText: /too many wrong instructor keys.*try again in \d+ s/ }).waitFor(WAIT);
  expect(pageErrors).toEqual([]);
}, 60_000);

test("a class with a class code: the form asks for it, a wrong one is refused in the server's words, the right one joins", async () => {
  const coded = await startServer({ webRoot: build.webRoot, host: "0.0.0.0", instructorKey: INSTRUCTOR_KEY, classCode: "blue-42" });
  try {
    await page.goto(`${coded.url}/?room=class`);
    await form().getByLabel("Class code").waitFor(WAIT);
    await form().getByLabel("Display name").fill("student");
    await form().getByLabel("Class code").fill("red-1");
    await form().getByRole("button", { name: "Join" }).click();
    await form().locator(".error").filter({ hasText: "the class code is not right" }).waitFor(WAIT);
    await form().getByLabel("Class code").fill("blue-42");
    await form().getByRole("button", { name: "Join" }).click();
    await joinedWithOpenPanels();
    // The instructor gives the key instead of the code.
    await page.getByRole("button", { name: "Leave" }).click();
    await form().getByLabel("I am the instructor").check();
    expect(await form().getByLabel("Class code").count()).toBe(0);
  } finally {
    await coded.close();
  }
}, 60_000);
