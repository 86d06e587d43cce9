/**
 * The dashboard's class models against a real class server: a page's ClassLink reports its
 * clients' reconnects (with what they resumed from), its own outage across a restart, latency
 * buckets, and hears assignments and the class's jitter; the instructor's ClassMonitor sees it
 * all and measures the reconnect wave after a restart it ordered.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import type { WirelabSupervisor } from "../../../server/WirelabSupervisor.js";
import { ClassLink } from "../../../web/src/viewmodels/ClassLink.js";
import { ClassMonitor, bucketPercentile, describeHerd, type ReconnectWave } from "../../../web/src/viewmodels/ClassMonitor.js";
import { latencyBucket } from "../../../web/src/isomorphic/protocol/class.js";
import { client, connected, startSupervisor, until } from "../../helpers.js";
import { packageRoot } from "../../../server/paths.js";
import { join } from "node:path";

const KEY = "class-key-for-tests";
let server: WirelabSupervisor;
let learner: { token: string };
let instructorToken: string;

async function enter(name: string, extra: Record<string, unknown> = {}) {
  const response = await fetch(`${server.url}/v1/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name, ...extra }) });
  return (await response.json()) as { token: string; user: { id: string } };
}

beforeAll(async () => {
  server = await startSupervisor({ autoInstructor: false, instructorKey: KEY, networkPort: null });
  learner = await enter("Ada");
  instructorToken = (await enter("Grace", { instructorKey: KEY })).token;
});
afterAll(() => server.close());

test("a page's link reports a client's reconnect with its cursor, its own outage across a restart, and latency", async () => {
  const link = new ClassLink({ baseUrl: server.url, token: () => learner.token, intervalMs: 100 });
  const monitor = new ClassMonitor({ baseUrl: server.url, token: () => instructorToken, intervalMs: 100 });
  const ws = client(server, "websocket", learner.token, { room: "class-models" });
  const unwatch = link.watch(ws);
  await connected(ws);
  const sent = await ws.send("hello");
  await until(() => ws.received.length === 1, "the message");
  link.start();
  try {
    await until(() => link.report().latency.websocket?.reduce((a, b) => a + b, 0) === 1, "a latency sample");
    await fetch(`${server.url}/v1/admin/drop`, { method: "POST", headers: { authorization: `Bearer ${instructorToken}`, "content-type": "application/json" }, body: JSON.stringify({ transport: "websocket" }) });
    await until(() => link.events.some((e) => e.link === "websocket"), "the reconnect to be recorded");
    const event = link.events.find((e) => e.link === "websocket")!;
    expect(event.resumedFrom).toBe(sent.seq);
    expect(event.at).toBeGreaterThanOrEqual(event.downAt);

    await server.restart(300);
    await until(() => link.events.some((e) => e.link === "page"), "the page's own outage to be recorded", 15_000);
    const outage = link.events.find((e) => e.link === "page")!;
    expect(outage.at - outage.downAt).toBeGreaterThanOrEqual(300);

    monitor.start();
    await until(() => monitor.timeline.filter((e) => e.page === link.page).length >= 3, "the instructor to see them", 15_000);
    const links = monitor.timeline.filter((e) => e.page === link.page).map((e) => e.link);
    expect(links).toContain("page");
    expect(links.filter((l) => l === "websocket").length).toBeGreaterThanOrEqual(2); // the drop and the restart
    expect(monitor.roster.find((r) => r.page === link.page)).toMatchObject({ user: { name: "Ada" }, clients: [{ transport: "websocket", state: "open" }] });
    expect(monitor.latency().find((l) => l.transport === "websocket")?.count).toBe(1);
  } finally {
    link.stop();
    monitor.stop();
    unwatch();
    ws.close();
  }
}, 60_000);

test("a page hears each assignment once, and the class's jitter", async () => {
  const link = new ClassLink({ baseUrl: server.url, token: () => learner.token, intervalMs: 100 });
  const monitor = new ClassMonitor({ baseUrl: server.url, token: () => instructorToken });
  const heard: string[] = [];
  const jitters: boolean[] = [];
  link.on("assigned", (a) => heard.push(a.lab));
  link.on("jitter", (on) => jitters.push(on));
  link.start();
  try {
    await monitor.assign("01-polling-tax");
    await until(() => heard.length === 1, "the assignment");
    await new Promise((r) => setTimeout(r, 400)); // more check-ins: still once
    expect(heard).toEqual(["01-polling-tax"]);
    await monitor.assign("03-reconnect-and-resume");
    await until(() => heard.length === 2, "the second assignment");
    expect(heard).toEqual(["01-polling-tax", "03-reconnect-and-resume"]);
    await monitor.setJitter(false);
    await until(() => !link.jitter, "jitter off");
    await monitor.setJitter(true);
    await until(() => link.jitter, "jitter on");
    expect(jitters).toEqual([false, true]);
    // A latecomer hears the current assignment at its first check-in.
    const late = new ClassLink({ baseUrl: server.url, token: () => learner.token, intervalMs: 100 });
    const lateHeard: string[] = [];
    late.on("assigned", (a) => lateHeard.push(a.lab));
    await late.checkin();
    expect(lateHeard).toEqual(["03-reconnect-and-resume"]);
    await monitor.assign(null);
  } finally {
    link.stop();
  }
}, 30_000);

test("the storm waits for every page to hear the jitter, restarts, and measures the wave", async () => {
  const link = new ClassLink({ baseUrl: server.url, token: () => learner.token, intervalMs: 200 });
  // The client's backoff reads the class's jitter, as the dashboard's workbench does.
  const sse = client(server, "sse", learner.token, { room: "class-storm", random: () => (link.jitter ? Math.random() : 0.999_999) });
  link.watch(sse);
  await connected(sse);
  link.start();
  const monitor = new ClassMonitor({ baseUrl: server.url, token: () => instructorToken, intervalMs: 200 });
  monitor.start();
  try {
    await until(() => monitor.roster.some((r) => r.page === link.page), "the page in the roster");
    await monitor.restartStorm(false, 300);
    expect(monitor.message).toMatch(/Restarted without jitter/);
    expect(link.jitter).toBe(false);
    await until(() => (monitor.waves()[0]?.reconnects ?? 0) >= 1, "the wave", 20_000);
    const wave = monitor.waves()[0]!;
    expect(wave.mark.jitter).toBe(false);
    expect(wave.pages).toBeGreaterThanOrEqual(1);
    expect(wave.lastMs).toBeGreaterThanOrEqual(300);
    expect(Object.keys(wave.spreadByLink)).toContain("sse");
    await monitor.setJitter(true);
  } finally {
    monitor.stop();
    link.stop();
    sse.close();
  }
}, 60_000);

test("latency buckets and their rough percentiles", () => {
  expect(latencyBucket(0)).toBe(0);
  expect(latencyBucket(5)).toBe(0);
  expect(latencyBucket(5.1)).toBe(1);
  expect(latencyBucket(10_001)).toBe(11);
  const buckets = new Array(12).fill(0);
  buckets[1] = 50;
  buckets[4] = 45;
  buckets[11] = 5;
  expect(bucketPercentile(buckets, 0.5)).toBe("≤ 10 ms");
  expect(bucketPercentile(buckets, 0.95)).toBe("≤ 100 ms");
  expect(bucketPercentile(buckets, 0.99)).toBe("> 10000 ms");
  expect(bucketPercentile(new Array(12).fill(0), 0.5)).toBe("–");
});

test("the herd is described by what the waves measured", () => {
  const wave = (jitter: boolean, websocket: number | undefined): ReconnectWave => ({
    mark: { at: 0, jitter },
    reconnects: 40,
    pages: 10,
    spreadMs: websocket ?? null,
    spreadByLink: websocket === undefined ? {} : { websocket },
    lastMs: 1_000,
  });
  expect(describeHerd([])).toMatch(/No WebSocket client/);
  expect(describeHerd([wave(false, 12)])).toBe("Without jitter the WebSocket clients came back within 12 ms; restart with jitter to compare.");
  expect(describeHerd([wave(false, 12), wave(true, 2_100)])).toMatch(/^Without jitter the WebSocket clients came back within 12 ms — one wave .* spread over 2100 ms\.$/);
  // A spread with jitter that is no wider is not called a broken-up herd.
  expect(describeHerd([wave(false, 300), wave(true, 400)])).toMatch(/no clear herd at this size/);
  // The latest wave of each kind counts.
  expect(describeHerd([wave(false, 300), wave(true, 400), wave(false, 5)])).toMatch(/within 5 ms — one wave .* 400 ms/);
});

test("a hand-in opens as a finished run: the charts' session has its result, and the answers are judged again", async () => {
  const { readFileSync } = await import("node:fs");
  const { parseLab } = await import("../../../web/src/isomorphic/lab/index.js");
  const { LabSession } = await import("../../../web/src/viewmodels/LabSession.js");
  const { pollingTaxResult } = await import("../../labResults.js");
  const lab = parseLab("labs/01-polling-tax.md", readFileSync(join(packageRoot(), "labs/01-polling-tax.md"), "utf8"));
  const result = pollingTaxResult();
  const run = LabSession.ofResult(lab, result, { slowest: "short-poll", "short-poll-latency": "300" }, { baseUrl: "http://127.0.0.1:1", token: "", role: "instructor" });
  expect(run.state).toBe("done");
  expect(run.result).toBe(result);
  expect(run.phaseStarts).toEqual([{ name: "quiet room", atMs: 0 }]);
  expect(run.verdict("slowest")).toEqual({ given: "short-poll", right: true });
  expect(run.verdict("short-poll-latency")).toEqual({ given: "300", right: false });
  expect(run.evaluation("quiet-requests")?.answer).toBe("short-poll");
});
