/**
 * The labs' model, against a real server with a lab folder written here: the catalog, a run
 * with its progress, the checkpoints judged, the exports, Stop, the instructor-only labs and
 * the network emulator as the clients' way in.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { EventSource } from "eventsource";
import { WebSocket } from "ws";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Wirelab } from "../../server/app.js";
import type { WirelabSupervisor } from "../../server/WirelabSupervisor.js";
import { HttpError } from "../../web/src/isomorphic/kit/JsonClient.js";
import { SessionKeeper } from "../../web/src/isomorphic/kit/SessionKeeper.js";
import { LabRunner, parseLab, type LabDefinition } from "../../web/src/isomorphic/lab/index.js";
import { LabCatalog } from "../../web/src/viewmodels/LabCatalog.js";
import { LAB_WIRE_ENTRIES, LabSession, QUICK_TIME_SCALE, type LabSessionOptions } from "../../web/src/viewmodels/LabSession.js";
import { LabStore, type StorageLike } from "../../web/src/viewmodels/LabStore.js";
import { ownPoolOrigin, ownPoolsPossible } from "../../web/src/viewmodels/labText.js";
import type { SessionResponse } from "../../web/src/isomorphic/protocol/index.js";
import { session, startServer, startSupervisor, tempDir, until } from "../helpers.js";

const QUICK = `---
title: Quick
summary: A short quiet time, then three messages at once.
scenario:
  clients: 1
  pollInterval: 100ms
  phases:
    - name: quiet
      idle: 300ms
    - name: three
      burst: 3
  settle: 5s
measure: [delivered, lost, requests]
checkpoints:
  - id: most
    question: Which transport made the most requests?
    answer: { most: requests }
  - id: lost
    question: How many were lost?
    answer: { total: lost }
    expect: 0
    explain: Clients resume from their cursor.
---
# Quick

Body.
`;

const LONG = `---
title: Long
summary: A minute of nothing.
scenario:
  transports: [websocket]
  clients: 1
  phases:
    - name: wait
      idle: 60s
---
# Long
`;

/** A message sent after the short poll's first answer waits a minute for the next poll: the final count waits. */
const SLOW_COUNT = `---
title: Slow count
summary: The last step waits for a poll that comes a minute later.
scenario:
  transports: [short-poll]
  clients: 1
  pollInterval: 60s
  phases:
    - burst: 1
  settle: 30s
---
# Slow count
`;

const BROKEN = `---
title: Broken
summary: A typo.
scenario:
  phases:
    - restrat: true
---
`;

const node = { EventSource: EventSource as never, WebSocket: WebSocket as never };

let server: Wirelab;
let labs: ReturnType<typeof tempDir>;
let me: SessionResponse;
let catalog: LabCatalog;

beforeAll(async () => {
  labs = tempDir();
  writeFileSync(join(labs.dir, "01-quick.md"), QUICK);
  writeFileSync(join(labs.dir, "02-long.md"), LONG);
  writeFileSync(join(labs.dir, "03-slow-count.md"), SLOW_COUNT);
  writeFileSync(join(labs.dir, "04-broken.md"), BROKEN);
  server = await startServer({ labsDir: labs.dir });
  me = await session(server);
  catalog = new LabCatalog({ baseUrl: server.url, token: me.token });
});

afterAll(async () => {
  await server.close();
  labs.cleanup();
});

function open(lab: LabDefinition, options: Partial<LabSessionOptions> = {}): LabSession {
  return new LabSession(lab, { baseUrl: server.url, token: me.token, role: me.user.role, tickMs: 50, ...node, ...options });
}

describe("the catalog", () => {
  test("lists the labs and the broken files with what is wrong", async () => {
    const listing = await catalog.list();
    expect(listing.labs.map((l) => l.id)).toEqual(["01-quick", "02-long", "03-slow-count"]);
    expect(listing.labs[0]).toEqual({ id: "01-quick", title: "Quick", summary: "A short quiet time, then three messages at once.", browserOnly: false });
    expect(listing.errors).toHaveLength(1);
    expect(listing.errors[0]!.file).toBe("labs/04-broken.md");
    expect(listing.errors[0]!.message).toMatch(/unknown phase "restrat"/);
  });

  test("loads a lab parsed; an unknown one is a 404, a broken one a 422 with the problem", async () => {
    const lab = await catalog.load("01-quick");
    expect(lab).toEqual(parseLab("labs/01-quick.md", QUICK));
    await expect(catalog.load("99-nowhere")).rejects.toMatchObject({ status: 404 });
    const error = await catalog.load("04-broken").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpError);
    expect(error).toMatchObject({ status: 422 });
    expect((error as Error).message).toMatch(/unknown phase "restrat"/);
  });
});

describe("a run", () => {
  let s: LabSession;
  const stepsSeen = new Set<number>();
  const statusesSeen = new Set<string>();
  // What the class's check-ins would watch: every client as made, let go of when the run ends.
  const watched: string[] = [];
  const released: string[] = [];

  beforeAll(async () => {
    s = open(await catalog.load("01-quick"), {
      learner: { name: "Ada" },
      watchClient: (client) => {
        watched.push(client.transport);
        return () => released.push(client.transport);
      },
    });
    s.on("change", () => {
      stepsSeen.add(s.stepIndex);
      for (const step of s.steps) if (step.status === "current") statusesSeen.add(step.name);
    });
    expect(s.state).toBe("ready");
    await s.run();
  }, 30_000);

  test("goes through every step, reporting progress and live numbers", () => {
    expect(s.state).toBe("done");
    expect(s.error).toBeNull();
    // -1 while connecting, each phase, then the final count.
    expect([...stepsSeen]).toEqual(expect.arrayContaining([-1, 0, 1, 2]));
    expect([...statusesSeen]).toEqual(expect.arrayContaining(["quiet", "three", "count"]));
    expect(s.steps.map((step) => [step.name, step.status])).toEqual([
      ["quiet", "done"],
      ["three", "done"],
      ["count", "done"],
    ]);
    expect(s.steps[0]!.endMs! - s.steps[0]!.startMs!).toBeGreaterThanOrEqual(300);
    expect(s.phaseStarts.map((p) => p.name)).toEqual(["quiet", "three"]);
    expect(s.result).not.toBeNull();
    expect(s.live).toBe(s.result);
    expect(s.result!.timeline.length).toBeGreaterThan(4);
    expect(s.elapsedMs).toBe(s.result!.durationMs);
  });

  test("every message arrived, and the checkpoints are evaluated", () => {
    for (const t of s.result!.transports) expect([t.transport, t.delivered, t.lost]).toEqual([t.transport, 3, 0]);
    expect(s.evaluations.map((e) => e.checkpoint.id)).toEqual(["most", "lost"]);
    expect(s.evaluation("lost")).toMatchObject({ answer: 0, passed: true });
    expect(LabSession.answerKind(s.evaluation("most")!.checkpoint)).toBe("transport");
    expect(LabSession.answerKind(s.evaluation("lost")!.checkpoint)).toBe("number");
  });

  test("answers are judged against the run", () => {
    const most = s.evaluation("most")!;
    // The WebSocket makes one request (its upgrade); short polling every 100 ms makes many.
    expect(most.evidence.websocket).toBe(1);
    expect(s.answer("most", "websocket")).toEqual({ given: "websocket", right: false });
    expect(s.verdict("most")).toEqual({ given: "websocket", right: false });
    expect(s.answer("most", most.accepted[0]!)).toEqual({ given: most.accepted[0], right: true });
    expect(s.answer("lost", " 0 ")).toEqual({ given: "0", right: true });
    expect(s.answer("lost", "2")!.right).toBe(false);
    // Nothing to judge: no answer, or no such checkpoint.
    expect(s.answer("lost", "  ")).toBeNull();
    expect(s.answer("nope", "1")).toBeNull();
    expect(s.verdict("lost")).toEqual({ given: "2", right: false });
  });

  test("each of the run's clients was watched while the run lasted", () => {
    expect(watched.sort()).toEqual(["long-poll", "short-poll", "sse", "websocket"]);
    expect(released.sort()).toEqual(watched);
  });

  test("exports the result and the checkpoints as JSON, the table as CSV", () => {
    const data = JSON.parse(s.exportJson());
    // The export says whose run it is, and when it was exported.
    expect(data.learner).toEqual({ name: "Ada" });
    expect(Date.parse(data.exportedAt)).not.toBeNaN();
    expect(data.result.lab).toEqual({ id: "01-quick", title: "Quick" });
    expect(data.result.transports).toHaveLength(4);
    expect(data.checkpoints).toHaveLength(2);
    expect(data.checkpoints[0]).toMatchObject({ id: "most", metric: "requests", learner: { right: true } });
    expect(data.checkpoints[1]).toMatchObject({ id: "lost", answer: 0, expect: 0, passed: true, learner: { answer: "2", right: false } });
    const csv = s.exportCsv().trim().split("\n");
    expect(csv[0]).toBe("transport,clients,delivered,lost,requests");
    expect(csv.slice(1).map((row) => row.split(",").slice(0, 4).join(","))).toEqual(["short-poll,1,3,0", "long-poll,1,3,0", "sse,1,3,0", "websocket,1,3,0"]);
    expect(s.fileName("json")).toMatch(/^wirelab-01-quick-\d{4}-\d{2}-\d{2}-\d{4}\.json$/);
    expect(s.fileName("png", "-charts")).toMatch(/-charts\.png$/);
  });

  test("the wire view holds the lab clients' latest requests, events and frames; the state badges their states as the run ended", () => {
    const clients = new Set(s.wire.map((e) => e.client));
    expect([...clients].sort()).toEqual(["long-poll-1", "short-poll-1", "sse-1", "websocket-1"]);
    expect(s.wire.length).toBeLessThanOrEqual(LAB_WIRE_ENTRIES);
    expect(s.wire.some((e) => e.kind === "http" && e.label.startsWith("GET /messages") && e.durationMs !== undefined)).toBe(true);
    expect(s.wire.some((e) => e.kind === "ws" && e.label === "frame: message")).toBe(true);
    expect(s.clientStates.map((c) => `${c.transport}-${c.index + 1}:${c.state}`)).toEqual(["short-poll-1:open", "long-poll-1:open", "sse-1:open", "websocket-1:open"]);
  });

  test("a new run starts clean", async () => {
    const again = s.run();
    expect(s.state).toBe("running");
    expect(s.result).toBeNull();
    expect(s.evaluations).toEqual([]);
    expect(s.verdict("most")).toBeUndefined();
    expect(s.answer("most", "sse")).toBeNull();
    // Options do not change under a running lab.
    s.setOptions({ clients: 3 });
    expect(s.clients).toBe(1);
    await again;
    expect(s.state).toBe("done");
  }, 30_000);
});

describe("run options", () => {
  test("clients and the quick time scale; the steps follow the scale", async () => {
    const s = open(await catalog.load("01-quick"));
    expect(s.clients).toBe(1);
    expect(s.timeScale).toBe(1);
    expect(s.steps[0]!.text).toBe("nothing happens for 300 ms");
    s.setOptions({ quick: true, clients: 2 });
    expect(s.timeScale).toBe(QUICK_TIME_SCALE);
    expect(s.steps[0]!.text).toBe("nothing happens for 75 ms");
    expect(s.clients).toBe(2);
    s.setOptions({ clients: 0 });
    s.setOptions({ clients: 1.5 });
    expect(s.clients).toBe(2);
  });

  test("a warning when the long polls and SSE streams would fill a browser's six connections", async () => {
    const s = open(await catalog.load("01-quick"));
    s.setOptions({ clients: 2 });
    expect(s.connectionWarning).toBeNull();
    s.setOptions({ clients: 3 });
    expect(s.connectionWarning).toMatch(/^6 long polls and SSE streams will stay open.*\(2 clients per transport avoid that\)/);
    // WebSockets do not count against the six.
    const ws = open(await catalog.load("02-long"));
    ws.setOptions({ clients: 50 });
    expect(ws.connectionWarning).toBeNull();
  });
});

describe("connections of their own in a browser", () => {
  const HERD = parseLab(
    "labs/08-herd.md",
    `---\ntitle: Herd\nsummary: S\nscenario:\n  clients: 10\n  phases:\n    - burst: 1\n---\n`,
  );
  const SIX = parseLab(
    "labs/07-six.md",
    `---\ntitle: Six\nsummary: S\nbrowserOnly: true\nscenario:\n  transports: [short-poll, long-poll, sse]\n  clients: 4\n  phases:\n    - burst: 1\n---\n`,
  );
  const inBrowser = (lab: LabDefinition, page: string) => new LabSession(lab, { baseUrl: page, token: "t", role: "instructor", browser: true });

  test("only a page from this computer's loopback can give each client a host name of its own under .localhost", () => {
    for (const page of ["http://127.0.0.1:8080", "http://localhost:8080", "http://wirelab.localhost:8080"]) expect(ownPoolsPossible(page)).toBe(true);
    // A class server's LAN address or name: .localhost would be the learner's own computer.
    for (const page of ["http://192.168.1.20:8080", "http://classroom.local:8080", "http://localhost.example.com", "http://127.0.0.2:8080"]) expect(ownPoolsPossible(page)).toBe(false);
    expect(ownPoolOrigin("http://127.0.0.1:8081", "long-poll", 0)).toBe("http://long-poll-1.localhost:8081");
    expect(ownPoolOrigin("http://localhost", "sse", 9)).toBe("http://sse-10.localhost");
  });

  test("on loopback every transport runs the lab's clients, each with connections of its own", () => {
    const s = inBrowser(HERD, "http://127.0.0.1:8080");
    expect(s.connectionMode).toBe("own");
    for (const t of HERD.scenario.transports) expect(s.clientsOf(t)).toBe(10);
    expect(s.connectionWarning).toBeNull();
    expect(s.connectionNote).toMatch(/host name of its own \(short-poll-1\.localhost, …/);
  });

  test("a browser-only lab is about the browser's one pool: it shares the page's host, and warns; the learner may choose own ones", () => {
    const s = inBrowser(SIX, "http://127.0.0.1:8080");
    expect(s.ownPools).toBe(false);
    expect(s.connectionMode).toBe("shared");
    expect(s.connectionWarning).toMatch(/^8 long polls and SSE streams will stay open/);
    s.setOptions({ ownPools: true });
    expect(s.connectionMode).toBe("own");
    expect(s.connectionWarning).toBeNull();
  });

  test("a page from another computer: the HTTP transports run fewer clients, the WebSocket all, and the page says why", () => {
    const s = inBrowser(HERD, "http://192.168.1.20:8080");
    expect(s.ownPoolsPossible).toBe(false);
    expect(s.connectionMode).toBe("capped");
    expect(["short-poll", "long-poll", "sse", "websocket"].map((t) => s.clientsOf(t as never))).toEqual([2, 2, 2, 10]);
    expect(s.connectionNote).toBe(
      "This page came from 192.168.1.20:8080, another computer, so all the lab's clients share the browser's 6 connections to it: " +
        "short-poll, long-poll, sse run 2 clients each here instead of 10; WebSocket, which the six do not count, runs 10. " +
        "Opened on the server's own computer (http://localhost:8080), each client gets connections of its own and all run 10.",
    );
    expect(s.connectionWarning).toBeNull();
    // Few enough already: nothing to say.
    s.setOptions({ clients: 2 });
    expect(s.connectionNote).toBeNull();
  });

  test("Node has no such limit and no .localhost names: everything as asked, on the server's host", () => {
    const s = new LabSession(HERD, { baseUrl: "http://127.0.0.1:8080", token: "t", role: "instructor" });
    expect(s.connectionMode).toBe("shared");
    expect(s.clientsOf("sse")).toBe(10);
  });

  test("the runner runs the clients asked per transport, and reports each client's state", async () => {
    const lab = parseLab("labs/05-r.md", `---\ntitle: R\nsummary: S\nscenario:\n  transports: [sse, websocket]\n  clients: 3\n  phases:\n    - burst: 2\n---\n`);
    const runner = new LabRunner(lab, { baseUrl: server.url, token: me.token, ...node }, { clientsOf: { sse: 1 } });
    const states = new Set<string>();
    runner.on("progress", (p) => {
      if (p.type === "state") for (const c of runner.clientStates) states.add(`${c.transport}-${c.index}:${c.state}`);
    });
    const result = await runner.run();
    expect(result.transports.map((t) => [t.transport, t.clients, t.delivered, t.lost])).toEqual([
      ["sse", 1, 2, 0],
      ["websocket", 3, 6, 0],
    ]);
    expect(states).toContain("websocket-2:open");
    // As the run ended, not as it was closed afterwards.
    expect(runner.clientStates.map((c) => c.state)).toEqual(["open", "open", "open", "open"]);
    expect(runner.clientStates[0]!.host).toBe(new URL(server.url).host);
  });
});

/** Session storage as a Map, counting writes. */
function memoryStorage(): StorageLike & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return { map, getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, v), removeItem: (k) => void map.delete(k) };
}

describe("the finished run and the answers are kept for the tab", () => {
  let storage: ReturnType<typeof memoryStorage>;
  let quick: LabDefinition;
  let first: LabSession;
  beforeAll(async () => {
    storage = memoryStorage();
    quick = await catalog.load("01-quick");
    first = open(quick, { storage });
    first.setOptions({ clients: 2 });
    await first.run();
    first.answer("lost", "3");
    first.answer("most", first.evaluation("most")!.accepted[0]!);
  });

  test("a new page of the lab (Workbench and back, a reload) shows the result, the answers judged again, and the options", () => {
    const again = open(quick, { storage });
    expect(again.state).toBe("done");
    expect(again.result).toEqual(first.result);
    expect(again.live).toEqual(first.result);
    expect(again.evaluations.map((e) => e.answer)).toEqual(first.evaluations.map((e) => e.answer));
    expect(again.verdict("lost")).toEqual({ given: "3", right: false });
    expect(again.verdict("most")?.right).toBe(true);
    expect(again.clients).toBe(2);
    expect(again.phaseStarts).toEqual(first.phaseStarts);
    // The same export, but for when it was made.
    const exported = (session: LabSession) => ({ ...JSON.parse(session.exportJson()), exportedAt: undefined });
    expect(exported(again)).toEqual(exported(first));
    // Under the lab's id: other labs are not affected.
    expect([...storage.map.keys()]).toEqual(["wirelab.lab.01-quick"]);
  });

  test("a stored verdict is not believed: the answer is judged again against the numbers", () => {
    const entry = JSON.parse(storage.map.get("wirelab.lab.01-quick")!);
    entry.answers.lost = "0";
    storage.map.set("wirelab.lab.01-quick", JSON.stringify(entry));
    expect(open(quick, { storage }).verdict("lost")).toEqual({ given: "0", right: true });
  });

  test("a corrupt, foreign or outdated entry is ignored and removed", async () => {
    const good = storage.map.get("wirelab.lab.01-quick")!;
    const entry = JSON.parse(good);
    const bad = [
      "{not json",
      JSON.stringify({ ...entry, format: 2 }),
      JSON.stringify({ ...entry, lab: "02-long" }),
      JSON.stringify({ ...entry, result: { ...entry.result, lab: { id: "02-long", title: "Long" } } }),
      JSON.stringify({ ...entry, result: { ...entry.result, transports: [{ transport: "carrier-pigeon" }] } }),
      JSON.stringify({ ...entry, answers: { lost: 3 } }),
      JSON.stringify({ ...entry, phaseStarts: "soon" }),
      JSON.stringify(null),
    ];
    for (const text of bad) {
      storage.map.set("wirelab.lab.01-quick", text);
      const s = open(quick, { storage });
      expect(s.state).toBe("ready");
      expect(s.result).toBeNull();
      expect(storage.map.has("wirelab.lab.01-quick")).toBe(false);
    }
    // The lab file changed since (another checkpoint): the old answers no longer fit.
    storage.map.set("wirelab.lab.01-quick", good);
    const changed = { ...quick, checkpoints: quick.checkpoints.slice(1) };
    expect(open(changed, { storage }).state).toBe("ready");
  });

  test("a new run forgets the kept one until it completes", async () => {
    const s = open(quick, { storage });
    const running = s.run();
    expect(storage.map.has("wirelab.lab.01-quick")).toBe(false);
    await running;
    expect(s.state).toBe("done");
    const kept = new LabStore(storage, quick).load()!;
    expect(kept.result.startedAt).toBe(s.result!.startedAt);
    expect(kept.answers).toEqual({});
  });
});

describe("Stop", () => {
  test("ends a run half-way: the numbers so far stay, the checkpoints wait for a complete run", async () => {
    const s = open(await catalog.load("02-long"));
    const startedAt = Date.now();
    const run = s.run();
    await until(() => s.stepIndex === 0 && s.live !== null, "the wait step to begin, with live numbers");
    expect(s.steps[0]!.status).toBe("current");
    s.stop();
    await run;
    expect(s.state).toBe("stopped");
    expect(s.error).toBeNull();
    expect(s.steps[0]!.status).toBe("interrupted");
    expect(s.result).toBeNull();
    expect(s.evaluations).toEqual([]);
    expect(s.live).not.toBeNull();
    // The time shown is the time it ran, not the minute the lab planned.
    expect(s.elapsedMs).toBeLessThanOrEqual(Date.now() - startedAt);
    expect(() => s.exportJson()).toThrow(/run the lab first/);
  }, 30_000);

  test("during the final count ends the run too (the count does not wait out its settle time)", async () => {
    const s = open(await catalog.load("03-slow-count"));
    const startedAt = Date.now();
    const run = s.run();
    await until(() => s.stepIndex === 1, "the final count to begin", 20_000);
    s.stop();
    await run;
    expect(s.state).toBe("stopped");
    expect(s.steps[1]!.status).toBe("interrupted");
    expect(s.elapsedMs).toBeLessThanOrEqual(Date.now() - startedAt);
  }, 30_000);
});

describe("labs that change the network or the server", () => {
  const DROP = parseLab("labs/05-drop.md", `---\ntitle: Drop\nsummary: S\nscenario:\n  phases:\n    - drop: all\n---\n`);

  test("a learner may not run them, and is told why", async () => {
    const s = open(DROP, { role: "learner" });
    expect(s.permission).toMatchObject({ ok: false, reason: expect.stringMatching(/only an instructor can run it/) });
    await s.run();
    expect(s.state).toBe("ready");
    expect(s.error).toMatch(/only an instructor/);
  });

  test("an instructor may", () => {
    expect(open(DROP).permission).toEqual({ ok: true });
  });
});

describe("the network emulator", () => {
  let supervisor: WirelabSupervisor;
  let instructor: SessionResponse;
  beforeAll(async () => {
    supervisor = await startSupervisor({ labsDir: labs.dir });
    instructor = await session(supervisor);
  });
  afterAll(() => supervisor.close());

  const QUICKEST = parseLab("labs/06-q.md", `---\ntitle: Q\nsummary: S\nscenario:\n  transports: [websocket]\n  clients: 1\n  phases:\n    - burst: 1\n---\n`);

  test("an instructor's lab clients cross it, reached on the server's own host", async () => {
    const s = new LabSession(QUICKEST, { baseUrl: supervisor.url, token: instructor.token, role: instructor.user.role, ...node });
    await s.run();
    expect(s.state).toBe("done");
    const emulator = new URL(supervisor.network!.url);
    const expected = new URL(supervisor.url);
    expected.port = emulator.port;
    expect(s.feedUrl).toBe(expected.origin);
  }, 30_000);

  test("feedUrl: null keeps the clients on the server itself", async () => {
    const s = new LabSession(QUICKEST, { baseUrl: supervisor.url, token: instructor.token, role: instructor.user.role, feedUrl: null, ...node });
    await s.run();
    expect(s.state).toBe("done");
    expect(s.feedUrl).toBeNull();
  }, 30_000);
});

describe("after the session's first token expired (tokens live 15 minutes)", () => {
  let supervisor: WirelabSupervisor;
  let first: SessionResponse;
  let keeper: SessionKeeper;
  const QUICKEST = parseLab("labs/06-q.md", `---\ntitle: Q\nsummary: S\nscenario:\n  transports: [websocket]\n  clients: 1\n  phases:\n    - burst: 1\n---\n`);

  beforeAll(async () => {
    supervisor = await startSupervisor({ labsDir: labs.dir, tokenTtlSeconds: 5 });
    first = await session(supervisor);
    // What the app keeps per joined session; half-way, so the refresh is well ahead of the expiry.
    keeper = new SessionKeeper({ baseUrl: supervisor.url, session: first, refreshAt: 0.5 });
    keeper.start();
    await until(() => Date.now() >= first.expiresAt, "the first token to expire");
    await expect(new LabCatalog({ baseUrl: supervisor.url, token: first.token }).list()).rejects.toMatchObject({ status: 401 });
  }, 20_000);
  afterAll(async () => {
    keeper.stop();
    await supervisor.close();
  });

  test("the keeper refreshed it for the same user; the catalog reads the keeper's token", async () => {
    expect(keeper.state).toBe("running");
    expect(keeper.token).not.toBe(first.token);
    expect(keeper.user).toEqual(first.user);
    const catalog = new LabCatalog({ baseUrl: supervisor.url, token: keeper.tokenSource });
    expect((await catalog.list()).labs.map((l) => l.id)).toEqual(["01-quick", "02-long", "03-slow-count"]);
    expect((await catalog.load("01-quick")).title).toBe("Quick");
  });

  test("a lab run reads it too: the instructor's status (so the emulator), the sends and the clients", async () => {
    const s = new LabSession(QUICKEST, { baseUrl: supervisor.url, token: keeper.tokenSource, role: first.user.role, ...node });
    await s.run();
    expect(s.error).toBeNull();
    expect(s.state).toBe("done");
    const expected = new URL(supervisor.url);
    expected.port = new URL(supervisor.network!.url).port;
    expect(s.feedUrl).toBe(expected.origin);
    expect(s.result!.transports.map((t) => [t.transport, t.delivered, t.lost])).toEqual([["websocket", 1, 0]]);
  }, 30_000);
});
