/**
 * Guided labs in a real Chromium against a real wirelab server serving a fresh build, with a lab
 * folder written here: open a lab by link, join, read the sanitised instructions, run the lab
 * end to end, answer one checkpoint right and one wrong, check the evidence, export JSON, CSV and
 * PNG; stop a long lab; list the labs with a broken file's error. Keeps a screenshot for review
 * (test-results/labs.png; with WIRELAB_DOCS_SCREENSHOT=1 also docs/labs.png).
 */
import { copyFileSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Download, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Wirelab } from "../../server/app.js";
import type { WirelabSupervisor } from "../../server/WirelabSupervisor.js";
import { TRANSPORTS, type SessionResponse } from "../../web/src/isomorphic/protocol/index.js";
import { startServer, startSupervisor, tempDir, until } from "../helpers.js";
import { buildDashboard } from "./buildDashboard.js";
import { launchChromium, watchedPage } from "./chromium.js";

const repo = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const WAIT = { timeout: 30_000 };

const QUICK = "01-quick-check";
const QUICK_LAB = `---
title: Quick check
summary: A quiet second, then five messages at once. Who asked the most, and did everything arrive?
scenario:
  clients: 1
  pollInterval: 250ms
  phases:
    - name: quiet
      idle: 1s
    - name: five at once
      burst: 5
  settle: 5s
measure: [delivered, lost, requests, latency.p50]
checkpoints:
  - id: most-requests
    question: Which transport made the most HTTP requests?
    answer: { most: requests }
    explain: "Short polling asks on a timer, news or not: {requests of short-poll} requests here, the most by {most requests}."
  - id: nothing-lost
    question: How many messages were lost, all transports together?
    answer: { total: lost }
    expect: 0
    explain: Each client resumes from the last seq it has.
---

# Quick check

Nothing is said for a second, then five messages go out at once. Watch the **request counters** while
nothing happens, and how the five arrive over each transport.

## What to observe

- Short polling keeps asking, news or not; the others wait for news.
- A burst arrives in one answer or a few frames.

## Why it matters

Requests cost headers and server work even when they bring nothing back.
`;

const LONG = "02-long-wait";
const LONG_LAB = `---
title: A long wait
summary: Nothing happens for a minute (a lab to stop half-way).
browserOnly: true
scenario:
  transports: [sse, websocket]
  clients: 1
  phases:
    - name: wait
      idle: 60s
measure: [delivered, lost]
---

# A long wait

Lab files are written by people: whatever HTML they hold is **sanitised**. Back to
[the quick check](01-quick-check.md).

<script>window.__labXss = "script"</script>
<img src="x" onerror="window.__labXss = 'onerror'; alert('onerror')">
<a href="javascript:alert('link')" id="js-link">a javascript: link</a>
`;

const BROKEN_LAB = `---
title: Broken
summary: A typo in a phase.
scenario:
  phases:
    - restrat: true
---
`;

let build: Awaited<ReturnType<typeof buildDashboard>>;
let labs: ReturnType<typeof tempDir>;
let server: Wirelab;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let page: Page;
let dialogs: string[] = [];
let pageErrors: string[] = [];

beforeAll(async () => {
  build = await buildDashboard();
  labs = tempDir();
  writeFileSync(join(labs.dir, `${QUICK}.md`), QUICK_LAB);
  writeFileSync(join(labs.dir, `${LONG}.md`), LONG_LAB);
  writeFileSync(join(labs.dir, "03-broken.md"), BROKEN_LAB);
  server = await startServer({ webRoot: build.webRoot, labsDir: labs.dir });
  browser = await launchChromium();
  ({ page, dialogs, pageErrors } = await watchedPage(browser.context));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  build?.cleanup();
  labs?.cleanup();
});

const lab = () => page.locator("wirelab-lab");
const checkpoint = (id: string) => page.locator(`wirelab-checkpoint article[data-checkpoint="${id}"]`);
const runButton = () => page.locator("wirelab-lab-run button[type=submit]");

/** Click an export button and return the download, saved. */
async function exported(kind: "json" | "csv" | "png"): Promise<{ name: string; bytes: Buffer }> {
  const [download] = (await Promise.all([page.waitForEvent("download", WAIT), page.locator(`wirelab-lab button[data-export="${kind}"]`).click()])) as [Download, unknown];
  const path = await download.path();
  return { name: download.suggestedFilename(), bytes: readFileSync(path) };
}

/** The element that has the keyboard focus, looking through shadow roots: "h2", "button run". */
function focused(): Promise<string> {
  return page.evaluate(() => {
    let element = document.activeElement;
    while (element?.shadowRoot?.activeElement) element = element.shadowRoot.activeElement;
    return element ? `${element.tagName.toLowerCase()} ${element.getAttribute("data-action") ?? ""}`.trim() : "";
  });
}

describe("guided labs in the dashboard", () => {
  test("a link to a lab asks to join first, then opens the lab and keeps the link", async () => {
    await page.goto(`${server.url}/?lab=${QUICK}`);
    await page.locator("[data-pending-lab]").filter({ hasText: QUICK }).waitFor(WAIT);
    await page.locator("wirelab-join input[name=name]").fill("ada");
    await page.locator("wirelab-join input[name=name]").press("Enter");
    await lab().locator("h2").filter({ hasText: "Quick check" }).waitFor(WAIT);
    expect(new URL(page.url()).searchParams.get("lab")).toBe(QUICK);
    // The page's heading has the focus, so the keyboard starts from the lab.
    expect(await focused()).toBe("h2");
    // The navigation marks Labs as the current view.
    expect(await page.locator('wirelab-app nav a[aria-current="page"]').innerText()).toBe("Labs");
  }, 60_000);

  test("the instructions are rendered from Markdown", async () => {
    const instructions = lab().locator("wirelab-markdown");
    expect(await instructions.locator("strong").innerText()).toBe("request counters");
    // "## What to observe" sits under the lab's own heading; the body's "# Quick check" is not repeated.
    expect(await instructions.locator("h3").allInnerTexts()).toEqual(["What to observe", "Why it matters"]);
    expect(await instructions.locator("h2").count()).toBe(0);
    expect(await instructions.locator("li").count()).toBe(2);
  });

  test("the scenario is shown as steps; Run shows the progress, live numbers and the result", async () => {
    const steps = page.locator("wirelab-lab-run ol.steps li");
    expect(await steps.count()).toBe(3); // quiet, five at once, and counting at the end
    expect(await steps.nth(0).innerText()).toContain("nothing happens for 1 s");
    expect(await steps.nth(1).innerText()).toContain("5 messages at once");
    for (const t of ["Short poll", "Long poll", "SSE", "WebSocket"]) {
      await page.locator("wirelab-lab-run .facts li.transport").filter({ hasText: t }).waitFor(WAIT);
    }
    // The exports wait for a result.
    expect(await page.locator('wirelab-lab button[data-export="json"]').isDisabled()).toBe(true);

    // Keyboard: the Run button, then Enter.
    await runButton().focus();
    await page.keyboard.press("Enter");
    // The quiet step lasts a second: it shows as the current step, and the button has become Stop.
    await page.locator('wirelab-lab-run ol.steps li[data-status="current"]').filter({ hasText: "quiet" }).waitFor(WAIT);
    expect(await runButton().getAttribute("data-action")).toBe("stop");
    await page.locator("wirelab-lab-results table").waitFor(WAIT);

    await page.locator('wirelab-lab-run .status[data-state="done"]').waitFor(WAIT);
    expect(await page.locator('wirelab-lab-run ol.steps li[data-status="done"]').count()).toBe(3);
    // The focus stayed on the button, which says Run again.
    expect(await focused()).toBe("button run");
    expect((await runButton().innerText()).trim()).toBe("Run again");
    // One row per measured metric, one column per transport; all five arrived at each.
    const delivered = page.locator('wirelab-lab-results tr[data-metric="delivered"] td');
    expect(await delivered.allInnerTexts()).toEqual(["5", "5", "5", "5"]);
    expect(await page.locator('wirelab-lab-results tr[data-metric="lost"] td').allInnerTexts()).toEqual(["0", "0", "0", "0"]);
    expect(await page.locator("wirelab-lab-results thead th").allInnerTexts()).toEqual(["metric", "Short poll", "Long poll", "SSE", "WebSocket"]);
    // The live charts drew the run.
    for (const id of ["delivered", "requests", "latency"]) await page.locator(`wirelab-lab-charts figure[data-chart="${id}"] canvas`).waitFor(WAIT);
  }, 60_000);

  test("checkpoints: the correctness check passes on its own; answers are judged with the evidence", async () => {
    await checkpoint("nothing-lost").locator('.check[data-passed="true"]').waitFor(WAIT);

    // The WebSocket makes one request (its upgrade): never the most. A wrong answer.
    await checkpoint("most-requests").locator('label.choice:has(input[value="websocket"])').click();
    await checkpoint("most-requests").locator('button[data-action="check"]').click();
    const wrong = checkpoint("most-requests").locator('.verdict[data-verdict="wrong"]');
    await wrong.waitFor(WAIT);
    expect(await wrong.innerText()).toContain("you answered WebSocket");
    // The evidence: HTTP requests per transport, the same numbers as the result table, the most marked.
    const rows = checkpoint("most-requests").locator("[data-evidence] tr");
    expect(await rows.count()).toBe(4);
    const evidence = new Map<string, number>();
    for (const t of TRANSPORTS) {
      const cells = await checkpoint("most-requests").locator(`[data-evidence] tr[data-transport="${t}"] td`).allInnerTexts();
      evidence.set(t, Number(cells[1]!.replace(/,/g, "")));
      expect(cells[1]).toBe(await page.locator(`wirelab-lab-results tr[data-metric="requests"] td[data-transport="${t}"]`).innerText());
    }
    const most = Math.max(...evidence.values());
    expect(evidence.get("websocket")!).toBeLessThan(most);
    const marked = await checkpoint("most-requests").locator("[data-evidence] tr.accepted").evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-transport")!));
    expect(marked.length).toBeGreaterThan(0);
    for (const t of marked) expect(evidence.get(t)).toBe(most);
    // The explanation is rendered from this run's numbers: the same figures as the evidence.
    const words: Record<string, string> = { "short-poll": "short polling", "long-poll": "long polling", sse: "SSE", websocket: "the WebSocket" };
    expect(await checkpoint("most-requests").locator(".explain").innerText()).toBe(
      `Short polling asks on a timer, news or not: ${evidence.get("short-poll")!.toLocaleString("en-US")} requests here, the most by ${marked.map((t) => words[t]).join(" and ")}.`,
    );

    // Answering again with what the evidence marks is right.
    await checkpoint("most-requests").locator(`label.choice:has(input[value="${marked[0]}"])`).click();
    await checkpoint("most-requests").locator('button[data-action="check"]').click();
    await checkpoint("most-requests").locator('.verdict[data-verdict="right"]').waitFor(WAIT);

    // A number, typed and sent with Enter: nothing was lost.
    const input = checkpoint("nothing-lost").locator("input[name=answer]");
    await input.fill("0");
    await input.press("Enter");
    await checkpoint("nothing-lost").locator('.verdict[data-verdict="right"]').waitFor(WAIT);
    expect(await checkpoint("nothing-lost").locator("[data-evidence] tr.total").innerText()).toMatch(/all together\s+0/);

    // A wrong number says what the numbers give.
    await input.fill("3");
    await input.press("Enter");
    const wrongNumber = checkpoint("nothing-lost").locator('.verdict[data-verdict="wrong"]');
    await wrongNumber.waitFor(WAIT);
    expect(await wrongNumber.innerText()).toContain("the numbers say 0");
  }, 60_000);

  test("exports: JSON with the result and the answers, CSV with a header row, the charts as PNG", async () => {
    const json = await exported("json");
    expect(json.name).toMatch(new RegExp(`^wirelab-${QUICK}-.*\\.json$`));
    const data = JSON.parse(json.bytes.toString("utf8"));
    expect(data.result.lab.id).toBe(QUICK);
    expect(data.result.transports).toHaveLength(4);
    expect(data.checkpoints.map((c: { id: string }) => c.id)).toEqual(["most-requests", "nothing-lost"]);
    expect(data.checkpoints[0].learner.right).toBe(true);
    expect(data.checkpoints[1]).toMatchObject({ answer: 0, expect: 0, passed: true, learner: { answer: "3", right: false } });

    const csv = await exported("csv");
    expect(csv.name).toMatch(/\.csv$/);
    const lines = csv.bytes.toString("utf8").trim().split("\n");
    expect(lines[0]).toBe("transport,clients,delivered,lost,requests,latency.p50");
    expect(lines.slice(1).map((l) => l.split(",")[0])).toEqual([...TRANSPORTS]);

    const png = await exported("png");
    expect(png.name).toMatch(/-charts\.png$/);
    expect(png.bytes.subarray(1, 4).toString("latin1")).toBe("PNG");
    expect(png.bytes.length).toBeGreaterThan(10_000);
    mkdirSync(join(repo, "test-results"), { recursive: true });
    writeFileSync(join(repo, "test-results", "labs-charts.png"), png.bytes);
  }, 60_000);

  test("a screenshot of the finished lab is kept for review", async () => {
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.mouse.move(0, 0);
    const file = join(repo, "test-results", "labs.png");
    mkdirSync(dirname(file), { recursive: true });
    await page.screenshot({ path: file, fullPage: true });
    expect(statSync(file).size).toBeGreaterThan(10_000);
    if (process.env.WIRELAB_DOCS_SCREENSHOT) copyFileSync(file, join(repo, "docs", "labs.png"));
  });

  test("the result and the answers survive the Workbench and back, and a reload", async () => {
    const shown = async () => {
      await lab().locator("h2").filter({ hasText: "Quick check" }).waitFor(WAIT);
      await page.locator('wirelab-lab-run .status[data-state="done"]').waitFor(WAIT);
      expect(await page.locator('wirelab-lab-results tr[data-metric="delivered"] td').allInnerTexts()).toEqual(["5", "5", "5", "5"]);
      await checkpoint("most-requests").locator('.verdict[data-verdict="right"]').waitFor(WAIT);
      // The last answer given, judged again: 3 lost, where the numbers say 0.
      expect(await checkpoint("nothing-lost").locator('.verdict[data-verdict="wrong"]').innerText()).toContain("you answered 3");
      // The fields show the answers given, not blanks.
      expect(await checkpoint("nothing-lost").locator("input[name=answer]").inputValue()).toBe("3");
      expect(await checkpoint("most-requests").locator("input[type=radio]:checked").count()).toBe(1);
      expect(await page.locator('wirelab-lab button[data-export="json"]').isDisabled()).toBe(false);
    };
    await page.locator('wirelab-app nav a:text-is("Workbench")').click();
    await page.locator("wirelab-dashboard").waitFor(WAIT);
    await page.locator('wirelab-app nav a:text-is("Labs")').click();
    await page.locator(`wirelab-lab-list li[data-lab="${QUICK}"] a`).click();
    await shown();
    // A reload asks to join again (the token lives in the page), then shows the lab as it was.
    const rejoin = async () => {
      await page.reload();
      await page.locator("wirelab-join input[name=name]").fill("ada");
      await page.locator("wirelab-join input[name=name]").press("Enter");
    };
    await rejoin();
    await shown();
    // A corrupt entry is ignored: the lab is ready to run, nothing is shown as measured.
    await page.evaluate((id) => sessionStorage.setItem(`wirelab.lab.${id}`, '{"format":1,"lab":"' + id + '","result":{"format":1}}'), QUICK);
    await rejoin();
    await page.locator('wirelab-lab-run .status[data-state="ready"]').waitFor(WAIT);
    expect(await page.evaluate((id) => sessionStorage.getItem(`wirelab.lab.${id}`), QUICK)).toBeNull();
  }, 60_000);

  test("the lab list: every lab with its summary, browser-only marked, broken files with their error", async () => {
    await page.locator('wirelab-app nav a:text-is("Labs")').click();
    await page.locator("wirelab-lab-list ol li").first().waitFor(WAIT);
    expect(new URL(page.url()).searchParams.get("view")).toBe("labs");
    expect(await page.locator("wirelab-lab-list ol li").evaluateAll((lis) => lis.map((li) => li.getAttribute("data-lab")))).toEqual([QUICK, LONG]);
    expect(await page.locator(`wirelab-lab-list li[data-lab="${QUICK}"]`).innerText()).toContain("A quiet second, then five messages at once");
    expect(await page.locator(`wirelab-lab-list li[data-lab="${LONG}"] [data-browser-only]`).count()).toBe(1);
    expect(await page.locator(`wirelab-lab-list li[data-lab="${QUICK}"] [data-browser-only]`).count()).toBe(0);
    // On a loopback server everyone is an instructor, and instructors see what is wrong with a file.
    const broken = page.locator('wirelab-lab-list .problems li[data-file="labs/03-broken.md"]');
    await broken.waitFor(WAIT);
    expect(await broken.innerText()).toContain('unknown phase "restrat"');
    await page.screenshot({ path: join(repo, "test-results", "labs-list.png"), fullPage: true });
  }, 60_000);

  test("a lab body's HTML is sanitised: no script, no event handler, no javascript: link", async () => {
    await page.locator(`wirelab-lab-list li[data-lab="${LONG}"] a`).click();
    await lab().locator("h2").filter({ hasText: "A long wait" }).waitFor(WAIT);
    expect(new URL(page.url()).searchParams.get("lab")).toBe(LONG);
    const instructions = lab().locator("wirelab-markdown");
    expect(await instructions.locator("strong").innerText()).toBe("sanitised");
    expect(await instructions.locator("script").count()).toBe(0);
    const img = instructions.locator("img");
    expect(await img.count()).toBe(1);
    expect(await img.getAttribute("onerror")).toBeNull();
    expect(await instructions.locator("#js-link").getAttribute("href")).toBeNull();
    expect(await page.evaluate(() => (window as { __labXss?: string }).__labXss)).toBeUndefined();
    expect(dialogs).toEqual([]);
  });

  test("Stop ends a run half-way and keeps the numbers so far", async () => {
    await runButton().click();
    await page.locator('wirelab-lab-run ol.steps li[data-status="current"]').filter({ hasText: "wait" }).waitFor(WAIT);
    await runButton().click(); // now Stop
    await page.locator('wirelab-lab-run .status[data-state="stopped"]').waitFor(WAIT);
    expect(await page.locator('wirelab-lab-run ol.steps li[data-status="interrupted"]').count()).toBe(1);
    expect(await page.locator('wirelab-lab button[data-export="json"]').isDisabled()).toBe(true);
  }, 60_000);

  test("the workbench comes back from the labs, and Back returns to the lab", async () => {
    await page.locator('wirelab-app nav a:text-is("Workbench")').click();
    for (const t of TRANSPORTS) await page.locator(`wirelab-panel section[data-transport="${t}"] wirelab-state-badge[state="open"]`).waitFor(WAIT);
    expect(new URL(page.url()).searchParams.has("lab")).toBe(false);
    await page.goBack();
    await lab().locator("h2").filter({ hasText: "A long wait" }).waitFor(WAIT);
    expect(await page.locator("wirelab-dashboard").count()).toBe(0);
  }, 60_000);

  test("a link to another lab file in the instructions opens that lab", async () => {
    const link = lab().locator("wirelab-markdown a", { hasText: "the quick check" });
    expect(await link.getAttribute("href")).toBe(`?lab=${QUICK}`);
    expect(await link.getAttribute("target")).toBeNull();
    await link.click();
    await lab().locator("h2").filter({ hasText: "Quick check" }).waitFor(WAIT);
    expect(new URL(page.url()).searchParams.get("lab")).toBe(QUICK);
    expect(pageErrors).toEqual([]);
    expect(dialogs).toEqual([]);
  }, 60_000);
});

describe("a session that outlives its first token (tokens live 15 minutes; here 5 s)", () => {
  let short: Wirelab;
  beforeAll(async () => {
    short = await startServer({ webRoot: build.webRoot, labsDir: labs.dir, tokenTtlSeconds: 5 });
  });
  afterAll(() => short?.close());

  test("the Labs view, a lab and its run keep working: the app refreshed the token, for the same user", async () => {
    const p = await browser.context.newPage();
    try {
      const isPost = (path: string) => (r: { url(): string; request(): { method(): string } }) => new URL(r.url()).pathname === path && r.request().method() === "POST";
      const joined = p.waitForResponse(isPost("/v1/session"), WAIT);
      await p.goto(`${short.url}/?view=labs`);
      await p.locator("wirelab-join input[name=name]").fill("ada");
      await p.locator("wirelab-join input[name=name]").press("Enter");
      const first = (await (await joined).json()) as SessionResponse;
      await p.locator("wirelab-lab-list").getByText("Quick check").waitFor(WAIT);
      // In this view the workbench's clients are closed: only the app's keeper can refresh.
      const refreshed = await p.waitForResponse(isPost("/v1/session/refresh"), WAIT);
      expect(refreshed.status()).toBe(200);
      expect(((await refreshed.json()) as SessionResponse).user.id).toBe(first.user.id);
      await until(() => Date.now() >= first.expiresAt, "the first token to expire");

      await p.locator("wirelab-lab-list").getByText("Quick check").click();
      await p.locator("wirelab-lab h2").filter({ hasText: "Quick check" }).waitFor(WAIT);
      await p.locator("wirelab-lab-run button[type=submit]").click();
      await p.locator('wirelab-lab-run .status[data-state="done"]').waitFor(WAIT);
      expect(await p.locator('wirelab-lab-results tr[data-metric="delivered"] td').allInnerTexts()).toEqual(["5", "5", "5", "5"]);
      // Still the same person: nobody was sent back to the join form.
      expect(await p.locator("wirelab-join").count()).toBe(0);
    } finally {
      await p.close();
    }
  }, 90_000);

  test("a token that ran out while the computer slept: the page says so and offers the join form, it does not join as someone new", async () => {
    // Another browser: the page clock is the context's, and this one is frozen to play the sleep.
    const sleepy = await launchChromium();
    try {
      const { page: p } = await watchedPage(sleepy.context);
      await p.clock.install();
      const sessions: string[] = [];
      p.on("request", (r) => {
        if (r.method() === "POST" && new URL(r.url()).pathname.startsWith("/v1/session")) sessions.push(new URL(r.url()).pathname);
      });
      const joined = p.waitForResponse((r) => new URL(r.url()).pathname === "/v1/session", WAIT);
      await p.goto(`${short.url}/?view=labs`);
      await p.locator("wirelab-join input[name=name]").fill("ada");
      await p.locator("wirelab-join input[name=name]").press("Enter");
      const first = (await (await joined).json()) as SessionResponse;
      await p.locator("wirelab-lab-list").getByText("Quick check").waitFor(WAIT);
      // The lid closes before the refresh is due, and opens after the token has run out.
      await p.clock.pauseAt(Date.now() + 100);
      await until(() => Date.now() >= first.expiresAt, "the token to expire");
      const refused = p.waitForResponse((r) => new URL(r.url()).pathname === "/v1/session/refresh", WAIT);
      await p.clock.fastForward(10_000);
      expect((await refused).status()).toBe(401);
      await p.locator("wirelab-join").getByText("Your session ran out").waitFor(WAIT);
      await p.clock.resume();
      expect(sessions).toEqual(["/v1/session", "/v1/session/refresh"]);
      expect(await p.locator("wirelab-app nav").count()).toBe(0); // no longer joined
    } finally {
      await sleepy.close();
    }
  }, 90_000);
});

describe("lab 08 at its default client count, on a page from this computer", () => {
  let supervisor: WirelabSupervisor;
  let herd: Awaited<ReturnType<typeof launchChromium>>;
  let data: ReturnType<typeof tempDir>;
  let p: Page;
  beforeAll(async () => {
    // History in a file, as `wirelab serve` keeps it: in memory, a restart forgets a message a short poll had not fetched yet.
    data = tempDir();
    supervisor = await startSupervisor({ webRoot: build.webRoot, labsDir: join(repo, "labs"), dataFile: join(data.dir, "wirelab.db") });
    herd = await launchChromium();
  });
  afterAll(async () => {
    await herd?.close();
    await supervisor?.close();
    data?.cleanup();
  });

  test("40 clients connect through their own host names, show their state badges, and the run completes", async () => {
    const watched = await watchedPage(herd.context);
    p = watched.page;
    const errors = watched.pageErrors;
    const hosts = new Set<string>();
    p.on("request", (r) => hosts.add(new URL(r.url()).host));
    p.on("websocket", (ws) => hosts.add(new URL(ws.url()).host));
    await p.goto(`${supervisor.url}/?lab=08-thundering-herd`);
    await p.locator("wirelab-join input[name=name]").fill("ada");
    await p.locator("wirelab-join input[name=name]").press("Enter");
    await p.locator("wirelab-lab h2").filter({ hasText: "Thundering herd" }).waitFor(WAIT);
    // The lab's own number, as the file says; every client gets connections of its own.
    expect(await p.locator('wirelab-lab-run [data-fact="clients"]').innerText()).toBe("10 clients each");
    expect(await p.locator('wirelab-lab-run [data-note="connections"]').getAttribute("data-mode")).toBe("own");
    expect(await p.locator('wirelab-lab-run input[name="own-pools"]').isChecked()).toBe(true);
    expect(await p.locator('wirelab-lab-run [data-warning="connections"]').count()).toBe(0);

    await p.locator("wirelab-lab-run button[type=submit]").click();
    // Lab 03 and 08 point at each client's state badge: there is one per client while it runs, and they go to reconnecting.
    await p.locator("wirelab-lab-clients li.badge").nth(39).waitFor(WAIT);
    expect(await p.locator("wirelab-lab-clients li.badge").count()).toBe(40);
    await p.locator('wirelab-lab-clients li.badge[data-state="reconnecting"]').first().waitFor(WAIT);
    // Labs 01, 06 and 07 point at the wire view: the lab's requests and frames are on the page while it runs.
    await p.locator("wirelab-lab-wire table[data-wire] tbody tr").first().waitFor(WAIT);
    expect(await p.locator("wirelab-lab-wire tbody td.client").first().innerText()).toMatch(/^(short-poll|long-poll|sse|websocket)-\d+$/);
    await p.locator('wirelab-lab-run .status[data-state="done"]').waitFor({ timeout: 120_000 });
    expect(await p.locator('wirelab-lab-results tr[data-metric="lost"] td').allInnerTexts()).toEqual(["0", "0", "0", "0"]);
    expect(await p.locator('wirelab-lab-results tr[data-metric="duplicated"] td').allInnerTexts()).toEqual(["0", "0", "0", "0"]);
    // Each of the 40 had a host name of its own (through the network emulator's port).
    const port = new URL(supervisor.url).port;
    const own = [...hosts].filter((h) => /^(short-poll|long-poll|sse|websocket)-\d+\.localhost:\d+$/.test(h));
    expect(own).toHaveLength(40);
    expect(own.every((h) => !h.endsWith(`:${port}`))).toBe(true);
    // A send or a token refresh from a client's own host is a cross-origin POST with Authorization: its preflight passes.
    const refreshed = await p.evaluate(async (host) => {
      const { token } = await (await fetch("/v1/session", { method: "POST", headers: { "content-type": "application/json" }, body: '{"name":"bo"}' })).json();
      const response = await fetch(`http://${host}/v1/session/refresh`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
      return { status: response.status, user: (await response.json()).user?.name };
    }, own.find((h) => h.startsWith("short-poll-1."))!);
    expect(refreshed).toEqual({ status: 200, user: "bo" });
    expect(errors).toEqual([]);
  }, 180_000);

  test("every lab that points at the wire view or the state badges finds them on its page", async () => {
    const pointed: string[] = [];
    for (const id of readdirSync(join(repo, "labs")).filter((f) => /^\d\d-.*\.md$/.test(f)).map((f) => f.replace(/\.md$/, ""))) {
      await p.locator('wirelab-app nav a:text-is("Labs")').click();
      await p.locator(`wirelab-lab-list li[data-lab="${id}"] a`).click();
      await p.locator("wirelab-lab h2 .number").filter({ hasText: id.slice(0, 2) }).waitFor(WAIT);
      expect(new URL(p.url()).searchParams.get("lab")).toBe(id);
      const text = (await p.locator("wirelab-lab wirelab-markdown[data-instructions]").evaluate((el) => (el.shadowRoot ?? el).textContent ?? "")).toLowerCase();
      if (text.includes("wire view")) {
        pointed.push(`${id}: wire view`);
        expect(await p.locator("wirelab-lab h3#h-wire").innerText()).toBe("Wire view");
        expect(await p.locator("wirelab-lab wirelab-lab-wire").count()).toBe(1);
      }
      if (text.includes("state badge")) {
        pointed.push(`${id}: state badge`);
        // Filled once the lab runs (the run of lab 08 above shows them).
        expect(await p.locator("wirelab-lab-run wirelab-lab-clients").count()).toBe(1);
      }
    }
    expect(pointed).toEqual(expect.arrayContaining(["01-polling-tax: wire view", "03-reconnect-and-resume: state badge", "07-six-connection-limit: wire view"]));
  }, 120_000);
});
