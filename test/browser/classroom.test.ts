/**
 * A class in real Chromium: one instructor and four learners, each in a browser context of their
 * own, on a class server (learners unless they bring the key) that restarts in place. The
 * instructor signs in with the key, sees the roster, restarts the server (without jitter) and
 * sees every learner's clients come back in the class-wide timeline, assigns a lab that every
 * learner's page opens, and collects two learners' hand-ins as a CSV holding both names.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Download, Page } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { WirelabSupervisor } from "../../server/WirelabSupervisor.js";
import { TRANSPORTS } from "../../web/src/isomorphic/protocol/index.js";
import { startSupervisor, tempDir } from "../helpers.js";
import { buildDashboard } from "./buildDashboard.js";
import { launchBrowser } from "./chromium.js";

const WAIT = { timeout: 30_000 };
const KEY = "the-class-instructor-key";
const LEARNERS = ["Ada", "Bo", "Cy", "Di"];
const LAB = "01-class-check";
const LAB_FILE = `---
title: Class check
summary: Five messages at once. Did everything arrive?
scenario:
  clients: 1
  pollInterval: 250ms
  phases:
    - name: five at once
      burst: 5
  settle: 2s
measure: [delivered, lost, requests]
checkpoints:
  - id: most-requests
    question: Which transport made the most HTTP requests?
    answer: { most: requests }
  - id: nothing-lost
    question: How many messages were lost, all transports together?
    answer: { total: lost }
    expect: 0
---

# Class check

Five messages go out at once.
`;

let build: Awaited<ReturnType<typeof buildDashboard>>;
let dir: ReturnType<typeof tempDir>;
let server: WirelabSupervisor;
let browser: Browser;
let instructor: Page;
const learners = new Map<string, Page>();
const pageErrors: string[] = [];

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  page.on("pageerror", (error) => pageErrors.push(error.message));
  return page;
}

beforeAll(async () => {
  build = await buildDashboard();
  dir = tempDir();
  writeFileSync(join(dir.dir, `${LAB}.md`), LAB_FILE);
  server = await startSupervisor({ webRoot: build.webRoot, labsDir: dir.dir, host: "0.0.0.0", instructorKey: KEY, dataFile: join(dir.dir, "class.db") });
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  build?.cleanup();
  dir?.cleanup();
});

const classView = () => instructor.locator("wirelab-class");

test("the instructor signs in with the key and opens the class view", async () => {
  instructor = await newPage();
  await instructor.goto(`${server.url}/?instructor&room=class`);
  const form = instructor.locator("wirelab-join");
  await form.getByLabel("Display name").fill("Ms Lee");
  await form.getByLabel("Instructor key").fill(KEY);
  await form.getByRole("button", { name: "Join" }).click();
  await instructor.locator("header .role").filter({ hasText: "instructor" }).waitFor(WAIT);
  await instructor.getByRole("link", { name: "Class" }).click();
  await classView().locator("h2").filter({ hasText: "Class" }).waitFor(WAIT);
  expect(instructor.url()).toContain("view=class");
  expect(instructor.url()).not.toContain(KEY);
}, 60_000);

test("four learners join; the roster shows each with their four clients open", async () => {
  for (const name of LEARNERS) {
    const page = await newPage();
    await page.goto(`${server.url}/?room=class`);
    await page.locator("wirelab-join").getByLabel("Display name").fill(name);
    await page.locator("wirelab-join").getByRole("button", { name: "Join" }).click();
    for (const t of TRANSPORTS) await page.locator(`wirelab-panel section[data-transport="${t}"] wirelab-state-badge[state="open"]`).waitFor(WAIT);
    // A learner has no class view.
    expect(await page.getByRole("link", { name: "Class" }).count()).toBe(0);
    learners.set(name, page);
  }
  for (const name of LEARNERS) {
    const row = classView().locator(`tr[data-learner="${name}"]`);
    await row.waitFor(WAIT);
    await expect.poll(() => row.locator(".state-open").count(), WAIT).toBe(4);
  }
  await classView().locator("[data-class-summary]").filter({ hasText: "4 learners connected" }).waitFor(WAIT);
}, 120_000);

test("the instructor restarts the server without jitter; every learner's clients come back in the class-wide timeline", async () => {
  await classView().getByRole("button", { name: "Restart without jitter" }).click();
  await classView().locator("[data-jitter]").filter({ hasText: "without jitter" }).waitFor(WAIT);
  const timeline = classView().locator("[data-timeline]");
  await timeline.waitFor(WAIT);
  for (const name of LEARNERS) await expect.poll(() => timeline.innerText(), { timeout: 45_000 }).toContain(name);
  // The wave after the restart counts every learner, each with all four clients back.
  const wave = classView().locator("[data-waves] tbody tr").first();
  await expect.poll(async () => Number((await wave.locator("td").nth(3).innerText()).trim()), { timeout: 45_000 }).toBe(LEARNERS.length);
  await expect.poll(async () => Number((await wave.locator("td").nth(2).innerText()).trim()), { timeout: 45_000 }).toBeGreaterThanOrEqual(LEARNERS.length * 3);
  for (const page of learners.values()) {
    for (const t of TRANSPORTS) await page.locator(`wirelab-panel section[data-transport="${t}"] wirelab-state-badge[state="open"]`).waitFor(WAIT);
  }
  await instructor.screenshot({ path: "test-results/class-timeline.png", fullPage: true });
}, 120_000);

test("the instructor assigns a lab: every learner's page opens it", async () => {
  await classView().locator("select[name=assign-lab]").selectOption(LAB);
  await classView().getByRole("button", { name: "Assign to everyone" }).click();
  await classView().locator("[data-assignment]").filter({ hasText: "Class check" }).waitFor(WAIT);
  for (const page of learners.values()) {
    await page.locator("wirelab-lab h2").filter({ hasText: "Class check" }).waitFor(WAIT);
    await page.locator("[data-notice]").filter({ hasText: "Class check" }).waitFor(WAIT);
    expect(page.url()).toContain(`lab=${LAB}`);
  }
  // The roster says where each learner is.
  for (const name of LEARNERS) await classView().locator(`tr[data-learner="${name}"]`).filter({ hasText: LAB }).waitFor(WAIT);
}, 90_000);

test("two learners run it and hand in; the instructor sees both and downloads a CSV with both names", async () => {
  for (const name of ["Ada", "Bo"]) {
    const page = learners.get(name)!;
    await page.locator("wirelab-lab-run button[type=submit]").click();
    await page.locator('wirelab-lab-run .status[data-state="done"]').waitFor({ timeout: 60_000 });
    const most = page.locator('wirelab-checkpoint article[data-checkpoint="most-requests"]');
    await most.locator('label.choice:has(input[value="short-poll"])').click();
    await most.locator('button[data-action="check"]').click();
    await page.locator("wirelab-lab-handin button[data-handin]").click();
    await page.locator("wirelab-lab-handin [data-handed-in]").waitFor(WAIT);
  }
  await classView().locator("select[name=subs-lab]").selectOption(LAB);
  for (const name of ["Ada", "Bo"]) {
    await expect.poll(async () => {
      await classView().getByRole("button", { name: "Refresh" }).click();
      return classView().locator(`tr[data-submission="${name}"]`).count();
    }, WAIT).toBe(1);
  }
  expect(await classView().locator("[data-submissions] tbody tr").count()).toBe(2);
  const [download] = (await Promise.all([instructor.waitForEvent("download", WAIT), classView().getByRole("button", { name: "Download CSV" }).click()])) as [Download, unknown];
  expect(download.suggestedFilename()).toBe(`${LAB}-submissions.csv`);
  const csv = readFileSync(await download.path(), "utf8");
  const lines = csv.trim().split(/\r\n/);
  expect(lines[0]).toMatch(/^lab,name,user,submitted,right,of,/);
  expect(lines.filter((l) => l.startsWith(`${LAB},Ada,`))).toHaveLength(1);
  expect(lines.filter((l) => l.startsWith(`${LAB},Bo,`))).toHaveLength(1);
  // One submission opens in full.
  await classView().locator('tr[data-submission="Ada"] button').click();
  await classView().locator("wirelab-class-submission [data-opened]").filter({ hasText: "Ada" }).waitFor(WAIT);
  // With the run's charts and figures, drawn as on the lab page.
  await classView().locator("wirelab-class-submission wirelab-lab-charts canvas").first().waitFor(WAIT);
  await classView().locator("wirelab-class-submission wirelab-lab-results table").waitFor(WAIT);
  await instructor.screenshot({ path: "test-results/class-submissions.png", fullPage: true });
  expect(pageErrors).toEqual([]);
}, 180_000);
