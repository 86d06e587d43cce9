/**
 * The lab format, the checkpoints and the lab routes. Every lab file in labs/ must load through
 * the schema; broken files must get errors that name the file, the field and the fix.
 */
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { transportResult } from "../labResults.js";
import type { Wirelab } from "../../server/app.js";
import { LabFormatError, evaluateCheckpoint, judgeAnswer, parseLab, resultToCsv, scaleLab } from "../../web/src/isomorphic/lab/index.js";
import type { Checkpoint, LabResult, TransportResult } from "../../web/src/isomorphic/lab/index.js";
import { session, startServer } from "../helpers.js";
import { packageRoot } from "../../server/paths.js";

const LABS_DIR = join(packageRoot(), "labs");
const labFiles = readdirSync(LABS_DIR).filter((f) => /^\d\d-.*\.md$/.test(f));

describe("the labs in labs/", () => {
  test("there are nine", () => {
    expect(labFiles).toHaveLength(9);
  });

  test.each(labFiles)("%s loads through the schema", (file) => {
    const lab = parseLab(`labs/${file}`, readFileSync(join(LABS_DIR, file), "utf8"));
    expect(lab.id).toBe(file.replace(/\.md$/, ""));
    expect(lab.title.length).toBeGreaterThan(3);
    expect(lab.body).toMatch(/^# /);
    expect(lab.scenario.phases.length).toBeGreaterThan(0);
    expect(lab.checkpoints.length).toBeGreaterThan(0);
    // Every lab checks correctness: nothing lost.
    expect(lab.checkpoints.some((c) => c.expect === 0 && c.answer.metric === "lost")).toBe(true);
  });
});

const minimal = (frontMatter: string) => `---\n${frontMatter}\n---\n# Body\n`;
const VALID = `title: T\nsummary: S\nscenario:\n  phases:\n    - idle: 1s\n`;

describe("broken lab files get errors that name the file, the field and the fix", () => {
  test.each([
    ["no front matter", "01-x.md", "# just text", /01-x\.md: start the file with YAML front matter/],
    ["a kill with one instance", "01-x.md", minimal("title: T\nsummary: S\nscenario:\n  phases:\n    - kill: busiest"), /01-x\.md: scenario\.instances: a kill phase needs at least 2 instances/],
    ["a kill of what", "01-x.md", minimal("title: T\nsummary: S\nscenario:\n  instances: 2\n  phases:\n    - kill: everyone"), /scenario\.phases\[0\]\.kill: must be "busiest"/],
    ["bad YAML", "01-x.md", "---\ntitle: [unclosed\n---\n", /01-x\.md: front matter: is not valid YAML/],
    ["bad file name", "lab one.md", minimal(VALID), /the file name must look like "NN-slug\.md"/],
    ["missing title", "01-x.md", minimal(`summary: S\nscenario:\n  phases:\n    - idle: 1s`), /title: must be text/],
    ["unknown field", "01-x.md", minimal(`${VALID}colour: red`), /colour is not a known field/],
    ["bad transport", "01-x.md", minimal(`title: T\nsummary: S\nscenario:\n  transports: [smoke-signals]\n  phases:\n    - idle: 1s`), /scenario\.transports\[0\]: must be one of short-poll, long-poll, sse, websocket/],
    ["bad duration", "01-x.md", minimal(`title: T\nsummary: S\nscenario:\n  phases:\n    - idle: ten seconds`), /scenario\.phases\[0\]\.idle: must be a duration like "500ms", "10s" or "2m"/],
    ["unknown phase", "01-x.md", minimal(`title: T\nsummary: S\nscenario:\n  phases:\n    - restrat: true`), /scenario\.phases\[0\]: unknown phase "restrat"; use exactly one of idle, send/],
    ["two phases in one step", "01-x.md", minimal(`title: T\nsummary: S\nscenario:\n  phases:\n    - { idle: 1s, burst: 3 }`), /one phase per step, got idle and burst/],
    ["bad send rate", "01-x.md", minimal(`title: T\nsummary: S\nscenario:\n  phases:\n    - send: { rate: -1, for: 1s }`), /scenario\.phases\[0\]\.send\.rate: must be > 0/],
    ["bad answer", "01-x.md", minimal(`${VALID}checkpoints:\n  - question: Q\n    answer: { biggest: requests }`), /checkpoints\[0\]\.answer: must be one of \{ most: METRIC \}/],
    ["bad metric", "01-x.md", minimal(`${VALID}checkpoints:\n  - question: Q\n    answer: { most: speed }`), /checkpoints\[0\]\.answer/],
    ["unknown phase in an answer", "01-x.md", minimal(`${VALID}checkpoints:\n  - question: Q\n    answer: { most: requests, phase: nowhere }`), /checkpoints\[0\]\.answer\.phase: no phase is named "nowhere"/],
    // The admin API's own limits, held to when the file is read rather than as a 400 halfway through a run.
    ["a refusal longer than the server takes", "01-x.md", minimal(`title: T\nsummary: S\nscenario:\n  phases:\n    - refuse: 6m`), /scenario\.phases\[0\]\.refuse: must be at most 300s/],
    ["a refusal of no time", "01-x.md", minimal(`title: T\nsummary: S\nscenario:\n  phases:\n    - refuse: 0s`), /scenario\.phases\[0\]\.refuse: must be at least 1ms/],
    ["a stall longer than the server takes", "01-x.md", minimal(`title: T\nsummary: S\nscenario:\n  phases:\n    - stall: 31s`), /scenario\.phases\[0\]\.stall: must be at most 30s/],
    ["a restart down for longer than the server takes", "01-x.md", minimal(`title: T\nsummary: S\nscenario:\n  phases:\n    - restart: { downtime: 2m }`), /scenario\.phases\[0\]\.restart\.downtime: must be at most 60s/],
    ["a long-poll wait longer than the server holds one", "01-x.md", minimal(`title: T\nsummary: S\nscenario:\n  longPollWait: 45s\n  phases:\n    - idle: 1s`), /scenario\.longPollWait: must be at most 30s/],
    ["per-phase latency", "01-x.md", minimal(`title: T\nsummary: S\nscenario:\n  phases:\n    - name: p\n      idle: 1s\ncheckpoints:\n  - question: Q\n    answer: { most: latency.p50, phase: p }`), /a per-phase answer can read requests, delivered, reconnects/],
  ])("%s", (_name, file, text, message) => {
    let error: unknown;
    try {
      parseLab(`labs/${file}`, text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LabFormatError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message.startsWith(`labs/${file}: `)).toBe(true);
  });

  test("defaults fill what a lab leaves out", () => {
    const lab = parseLab("labs/01-x.md", minimal(VALID));
    expect(lab.scenario).toMatchObject({ transports: ["short-poll", "long-poll", "sse", "websocket"], clients: 2, pollIntervalMs: 2000, settleMs: 5000 });
    expect(lab.scenario.phases).toEqual([{ kind: "idle", name: "idle 1s", ms: 1000 }]);
  });

  test("a time scale shortens timed phases only", () => {
    const lab = parseLab("labs/01-x.md", minimal(`title: T\nsummary: S\nscenario:\n  phases:\n    - idle: 10s\n    - burst: 50\n    - send: { rate: 2, for: 4s }`));
    expect(scaleLab(lab, 0.5).scenario.phases).toEqual([
      { kind: "idle", name: "idle 10s", ms: 5000 },
      { kind: "burst", name: "burst 50", count: 50 },
      { kind: "send", name: "send", rate: 2, ms: 2000 },
    ]);
  });
});


const result: LabResult = {
  format: 1,
  lab: { id: "01-x", title: "T" },
  room: "lab-x",
  startedAt: 0,
  durationMs: 1000,
  sent: 10,
  parameters: { clients: 1, transports: ["short-poll", "long-poll", "sse", "websocket"], messageBytes: 10, timeScale: 1 },
  transports: [
    transportResult("short-poll", { requests: 40, latency: { count: 10, p50: 1000, p95: 1900, p99: 1990, max: 2000 } }),
    transportResult("long-poll", { requests: 12, lost: 1, delivered: 9 }),
    transportResult("sse", { requests: 1 }),
    transportResult("websocket", { requests: 1 }),
  ],
  phases: [
    {
      name: "quiet",
      kind: "idle",
      startMs: 0,
      endMs: 500,
      transports: {
        "short-poll": { requests: 5, delivered: 0, reconnects: 0, reconnectSpreadMs: 0 },
        "long-poll": { requests: 0, delivered: 0, reconnects: 0, reconnectSpreadMs: 0 },
      },
    },
  ],
  timeline: [],
};

const checkpoint = (over: Partial<Checkpoint> & Pick<Checkpoint, "answer">): Checkpoint => ({ id: "c", question: "Q", tolerance: 0.25, ...over });

describe("checkpoints are answered from the numbers", () => {
  test("most and least name a transport, and accept any of a tie", () => {
    const most = evaluateCheckpoint(checkpoint({ answer: { kind: "most", metric: "requests" } }), result);
    expect(most.answer).toBe("short-poll");
    expect(most.evidence).toEqual({ "short-poll": 40, "long-poll": 12, sse: 1, websocket: 1 });
    const least = evaluateCheckpoint(checkpoint({ answer: { kind: "least", metric: "requests" } }), result);
    expect(least.accepted).toEqual(["sse", "websocket"]);
    expect(judgeAnswer(least, "websocket")).toBe(true);
    expect(judgeAnswer(least, "sse")).toBe(true);
    expect(judgeAnswer(least, "short-poll")).toBe(false);
  });

  test("numbers are judged within the tolerance", () => {
    const value = evaluateCheckpoint(checkpoint({ answer: { kind: "value", metric: "latency.p50", transport: "short-poll" }, tolerance: 0.2 }), result);
    expect(value.answer).toBe(1000);
    expect(judgeAnswer(value, 850)).toBe(true);
    expect(judgeAnswer(value, "1150")).toBe(true);
    expect(judgeAnswer(value, 700)).toBe(false);
    expect(judgeAnswer(value, "fast")).toBe(false);
  });

  test("a correctness checkpoint passes only when the run meets it", () => {
    const lost = evaluateCheckpoint(checkpoint({ answer: { kind: "total", metric: "lost" }, expect: 0 }), result);
    expect(lost.answer).toBe(1);
    expect(lost.passed).toBe(false);
    const duplicated = evaluateCheckpoint(checkpoint({ answer: { kind: "total", metric: "duplicated" }, expect: 0 }), result);
    expect(duplicated.passed).toBe(true);
  });

  test("a per-phase answer reads the phase's counters", () => {
    const quiet = evaluateCheckpoint(checkpoint({ answer: { kind: "most", metric: "requests", phase: "quiet" } }), result);
    expect(quiet.answer).toBe("short-poll");
    expect(quiet.evidence).toMatchObject({ "short-poll": 5, "long-poll": 0, sse: null });
  });

  test("CSV: one row per transport, one column per metric", () => {
    expect(resultToCsv(result, ["requests", "latency.p50", "detectMs"])).toBe(
      "transport,clients,requests,latency.p50,detectMs\nshort-poll,1,40,1000,\nlong-poll,1,12,5,\nsse,1,1,5,\nwebsocket,1,1,5,\n",
    );
  });
});

describe("lab routes", () => {
  let server: Wirelab;
  let token: string;
  const dir = mkdtempSync(join(tmpdir(), "wirelab-labs-"));
  beforeAll(async () => {
    writeFileSync(join(dir, "01-good.md"), minimal(VALID));
    writeFileSync(join(dir, "02-broken.md"), minimal("title: T"));
    server = await startServer({ labsDir: dir });
    token = (await session(server)).token;
  });
  afterAll(() => server.close());
  const get = (path: string) => fetch(`${server.url}/v1${path}`, { headers: { authorization: `Bearer ${token}` } });

  test("the list has the good labs and says what is wrong with the broken ones", async () => {
    const listing = await (await get("/labs")).json();
    expect(listing.labs).toEqual([{ id: "01-good", title: "T", summary: "S", browserOnly: false }]);
    expect(listing.errors[0].file).toBe("labs/02-broken.md");
    expect(listing.errors[0].message).toMatch(/summary: must be text/);
  });

  test("a lab is served parsed; a broken one is 422, an unknown one 404", async () => {
    const good = await get("/labs/01-good");
    expect((await good.json()).scenario.phases).toHaveLength(1);
    const broken = await get("/labs/02-broken");
    expect(broken.status).toBe(422);
    expect((await broken.json()).error.message).toMatch(/labs\/02-broken\.md/);
    expect((await get("/labs/99-none")).status).toBe(404);
  });

  test("a lab added to the folder shows up without a restart", async () => {
    writeFileSync(join(dir, "03-new.md"), minimal(VALID.replace("title: T", "title: New")));
    const listing = await (await get("/labs")).json();
    expect(listing.labs.map((l: { id: string }) => l.id)).toContain("03-new");
  });
});
