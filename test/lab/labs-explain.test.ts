/**
 * Explanations derived from the numbers: references and variants are checked when a lab file is
 * parsed, rendered from a result without a DOM, and the labs' explanations agree with results that
 * real runs measured (the ones whose old wording contradicted them). Fast: no server.
 */
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { LabFormatError, evaluateAll, evaluateCheckpoint, parseLab, type LabDefinition, type LabResult, type TransportResult } from "../../web/src/isomorphic/lab/index.js";
import type { TransportName } from "../../web/src/isomorphic/protocol/index.js";
import { CLAIMS, Facts } from "../labs-claims.js";
import { packageRoot } from "../../server/paths.js";
import { join } from "node:path";

const TRANSPORTS: TransportName[] = ["short-poll", "long-poll", "sse", "websocket"];
type Figures = Partial<{ p50: number; p99: number; reconnects: number; reconnectMs: number; detectMs: number | null; bytesPerMessage: number; requests: number }>;
type PhaseFigures = Partial<Record<TransportName, Partial<{ requests: number; delivered: number; reconnects: number; reconnectSpreadMs: number }>>>;

/** A result with the figures given and harmless values elsewhere. */
function resultOf(clients: number, figures: Partial<Record<TransportName, Figures>>, phases: Record<string, PhaseFigures> = {}): LabResult {
  const transport = (t: TransportName): TransportResult => {
    const f = figures[t] ?? {};
    return {
      transport: t,
      clients,
      expected: 10,
      delivered: 10,
      lost: 0,
      duplicated: 0,
      latency: { count: 10, p50: f.p50 ?? 10, p95: f.p99 ?? 20, p99: f.p99 ?? 20, max: f.p99 ?? 20 },
      requests: f.requests ?? 1,
      requestsPerMessage: 0.1,
      clientBytesIn: 0,
      clientBytesOut: 0,
      wire: null,
      bytesPerMessage: f.bytesPerMessage ?? 300,
      reconnects: f.reconnects ?? 0,
      reconnectMs: { count: f.reconnects ?? 0, meanMs: f.reconnectMs ?? null, maxMs: f.reconnectMs ?? null },
      detectMs: f.detectMs === undefined || f.detectMs === null ? null : { count: clients, meanMs: f.detectMs, maxMs: f.detectMs, of: clients },
    };
  };
  return {
    format: 1,
    lab: { id: "x", title: "X" },
    room: "r",
    startedAt: 0,
    durationMs: 1000,
    sent: 10,
    parameters: { clients, transports: TRANSPORTS, messageBytes: 80, timeScale: 1 },
    transports: TRANSPORTS.map(transport),
    phases: Object.entries(phases).map(([name, per]) => ({
      name,
      kind: "idle",
      startMs: 0,
      endMs: 1,
      transports: Object.fromEntries(TRANSPORTS.map((t) => [t, { requests: 0, delivered: 0, reconnects: 0, reconnectSpreadMs: 0, ...per[t] }])),
    })),
    timeline: [],
  };
}

const lab = (id: string): LabDefinition => parseLab(`labs/${id}.md`, readFileSync(join(packageRoot(), "labs", `${id}.md`), "utf8"));
const explanationOf = (l: LabDefinition, id: string, r: LabResult) => evaluateAll(l.checkpoints, r).find((e) => e.checkpoint.id === id)!.explanation!;

const minimal = (checkpoints: string) =>
  `---\ntitle: T\nsummary: S\nscenario:\n  transports: [long-poll, sse]\n  phases:\n    - name: quiet\n      idle: 1s\ncheckpoints:\n${checkpoints}\n---\n# Body\n`;
const withExplain = (explain: string) => minimal(`  - question: Q\n    answer: { least: latency.p50 }\n    explain: ${explain}`);

describe("an explanation names measured values and picks the variant the run supports", () => {
  const r = resultOf(2, { "long-poll": { p50: 9, requests: 24 }, sse: { p50: 13.04, requests: 2 } }, { quiet: { "long-poll": { requests: 3 } } });

  test("references render the answer, a metric of a transport, a per-phase counter, most/least/total and the run's parameters", () => {
    const l = parseLab(
      "labs/01-x.md",
      withExplain('"{answer} was fastest: {latency.p50 of long-poll} ms against {latency.p50 of sse} ms; {most requests} made {total requests} requests, {requests of long-poll during quiet} while quiet; {clients} clients, {sent} messages. {{literal}}"'),
    );
    expect(evaluateCheckpoint(l.checkpoints[0]!, r).explanation).toMatchObject({
      text: "Long polling was fastest: 9 ms against 13 ms; long polling made 28 requests, 3 while quiet; 2 clients, 10 messages. {literal}",
      variant: 0,
    });
  });

  test("the first variant whose condition holds is shown; the last one when none does", () => {
    const l = parseLab(
      "labs/01-x.md",
      withExplain(`\n      - when: "{answer} = sse"\n        text: SSE first.\n      - when: "{latency.p50 of sse} > 2 * {latency.p50 of long-poll}"\n        text: SSE far behind.\n      - when: "{latency.p50 of sse} < 20 and {answer} != sse"\n        text: "{answer} first, SSE close behind."\n      - text: Otherwise.`),
    );
    const pick = (long: number, sse: number) => evaluateCheckpoint(l.checkpoints[0]!, resultOf(1, { "long-poll": { p50: long }, sse: { p50: sse } })).explanation!;
    expect(pick(9, 8)).toMatchObject({ text: "SSE first.", variant: 0 });
    expect(pick(9, 19)).toMatchObject({ text: "SSE far behind.", variant: 1 });
    expect(pick(9, 13)).toMatchObject({ text: "Long polling first, SSE close behind.", variant: 2 });
    expect(pick(19, 30)).toMatchObject({ text: "Otherwise.", variant: 3 });
  });

  test("a tie names every transport and satisfies = for each; a value not measured is none and says so", () => {
    const l = parseLab("labs/01-x.md", withExplain(`\n      - when: "{answer} = sse and {answer} = long-poll and {detectMs of sse} = none"\n        text: "{answer} tied; SSE noticed after {detectMs of sse}."\n      - text: No tie.`));
    expect(evaluateCheckpoint(l.checkpoints[0]!, resultOf(1, { "long-poll": { p50: 9 }, sse: { p50: 9 } })).explanation!.text).toBe("Long polling and SSE tied; SSE noticed after not measured.");
    // A comparison with a value that was not measured does not hold (only "= none" does).
    const n = parseLab("labs/01-x.md", withExplain(`\n      - when: "{detectMs of sse} < 1000"\n        text: Fast.\n      - text: Unknown.`));
    expect(evaluateCheckpoint(n.checkpoints[0]!, r).explanation!.text).toBe("Unknown.");
  });

  test("numbers read as a learner reads them", () => {
    const l = parseLab("labs/01-x.md", withExplain('"{latency.p50 of long-poll} {latency.p50 of sse} {bytesPerMessage of sse} {requestsPerMessage of sse}"'));
    const text = (p50: number, bytes: number) => evaluateCheckpoint(l.checkpoints[0]!, resultOf(1, { "long-poll": { p50 }, sse: { p50: 1017.3, bytesPerMessage: bytes } })).explanation!.text;
    expect(text(9.04, 417.1)).toBe("9.0 1,017 417 0.1");
    expect(text(0.256, 1024)).toBe("0.26 1,017 1,024 0.1");
  });
});

describe("a broken explanation is refused when the lab file is read, naming the field and the fix", () => {
  test.each([
    ["an unknown metric", '"{speed of sse}"', /checkpoints\[0\]\.explain: \{speed of sse\}: "speed" is not a metric; use one of delivered, lost/],
    ["an unknown transport", '"{latency.p50 of carrier-pigeon}"', /checkpoints\[0\]\.explain: .*"carrier-pigeon" is not a transport; use one of short-poll, long-poll, sse, websocket/],
    ["a transport the lab does not run", '"{latency.p50 of websocket}"', /websocket is not in scenario\.transports/],
    ["an unknown phase", '"{requests of sse during loud}"', /no phase is named "loud"; name one with name: in scenario\.phases/],
    ["a latency within a phase", '"{latency.p50 of sse during quiet}"', /a per-phase value can be requests, delivered, reconnects, reconnectSpreadMs, not latency\.p50/],
    ["a reference that is no reference", '"{fastest}"', /\{fastest\}: write \{answer\}, \{clients\}/],
    ["an unclosed brace", '"{answer was fast"', /a "\{" without its "\}" in "\{answer was fast" \(write "\{\{" for a brace\)/],
    ["a stray closing brace", '"fast}"', /a "\}" without its "\{"/],
    ["a condition that compares nothing", '\n      - when: "{answer} is sse"\n        text: A.\n      - text: B.', /checkpoints\[0\]\.explain\[0\]\.when: "\{answer\} is sse" is not a comparison/],
    ["a transport compared by size", '\n      - when: "{answer} < sse"\n        text: A.\n      - text: B.', /explain\[0\]\.when: .*a transport can only be compared with = or !=/],
    ["a condition on an unknown metric", '\n      - when: "{most speed} = sse"\n        text: A.\n      - text: B.', /explain\[0\]\.when: \{most speed\}: "speed" is not a metric/],
    ["no fallback", '\n      - when: "{answer} = sse"\n        text: A.', /explain\[0\]\.when: the last variant must have no when: it is what is shown when no condition holds/],
    ["a fallback before the end", '\n      - text: A.\n      - text: B.', /explain\[0\]\.when: only the last variant may leave out when/],
    ["a variant without text", '\n      - when: "{answer} = sse"\n      - text: B.', /checkpoints\[0\]\.explain: must be text, or a list of \{ when: CONDITION, text: TEXT \}/],
  ])("%s", (_name, explain, message) => {
    let error: unknown;
    try {
      parseLab("labs/01-x.md", withExplain(explain));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LabFormatError);
    expect((error as Error).message.startsWith("labs/01-x.md: ")).toBe(true);
    expect((error as Error).message).toMatch(message);
  });
});

/**
 * Results as real runs measured them (the figures of the findings in issue #11), and the
 * wording that contradicted them: the claims check catches the old wording, the labs' new
 * explanations pass it.
 */
describe("the labs' explanations agree with what real runs measured", () => {
  const lab01 = resultOf(2, { "short-poll": { p50: 1017.3 }, "long-poll": { p50: 9 }, sse: { p50: 13 }, websocket: { p50: 14 } }, {
    "quiet room": { "short-poll": { requests: 10 } },
  });
  const lab03 = resultOf(2, { "short-poll": { reconnects: 2 }, "long-poll": { reconnects: 6 }, sse: { reconnects: 8 }, websocket: { reconnects: 9 } }, {
    "while reconnecting": { "long-poll": { reconnects: 2 }, sse: { reconnects: 2 }, websocket: { reconnects: 2 } },
    "restart the server": { "short-poll": { reconnects: 1 }, "long-poll": { reconnects: 2 }, sse: { reconnects: 5 }, websocket: { reconnects: 5 } },
    "after the restart": { "short-poll": { reconnects: 1 }, "long-poll": { reconnects: 2 }, sse: { reconnects: 1 }, websocket: { reconnects: 2 } },
  });
  const lab08 = (clients: number, herd: number, jitter: number) =>
    resultOf(clients, { websocket: { reconnects: 2 * clients } }, { "herd returns": { websocket: { reconnectSpreadMs: herd } }, "spread returns": { websocket: { reconnectSpreadMs: jitter } } });

  test.each([
    ["01-polling-tax", "slowest", lab01, "SSE and WebSockets push over a connection that is already open. Long polling is close behind (the answer rides on a held request). Short polling waits for its next tick, one second on average."],
    ["03-reconnect-and-resume", "reconnected", lab03, "25 in this run. Every streaming client reconnects twice (the cut and the restart); pollers reconnect when a request was in flight or refused."],
    ["08-thundering-herd", "herd-spread", lab08(2, 8, 38), "8 ms. Every client waited exactly the same backoff, so they all came back at the same instant — a spike the server must absorb at once."],
    ["08-thundering-herd", "jitter-spread", lab08(2, 8, 38), "38 ms, against 8 ms. Full jitter picks each wait at random below the ceiling, spreading the same clients over the whole interval."],
  ])("%s %s: the old wording is caught, the lab's explanation passes", (id, checkpoint, result, oldWording) => {
    const check = CLAIMS[id]![checkpoint]!;
    expect(() => check(oldWording, new Facts(result))).toThrow();
    check(explanationOf(lab(id), checkpoint, result).text, new Facts(result));
  });

  test("lab 03 counts what was measured: 25 reconnects, not two per streaming client", () => {
    const text = explanationOf(lab("03-reconnect-and-resume"), "reconnected", lab03).text;
    expect(text).toMatch(/^25 in this run, with 2 client\(s\) per transport\./);
    expect(text).toContain("While the server was down, every attempt that was refused counted again — SSE 5, the WebSocket 5");
    expect(text).not.toContain("twice");
  });

  test("lab 01 names the slowest and leaves the order of the three fast ones to the run", () => {
    const text = explanationOf(lab("01-polling-tax"), "slowest", lab01).text;
    expect(text).toMatch(/^Short polling, at 1,017 ms/);
    expect(text).toContain("(long polling in this one)");
  });

  test("lab 08 says a herd was measured only with enough clients and a clear difference", () => {
    const l = lab("08-thundering-herd");
    const cases: Array<[LabResult, RegExp]> = [
      [lab08(1, 0, 0), /^With one client per transport nobody comes back alongside anyone: the spread is 0 ms without jitter and 0 ms with it/],
      [lab08(2, 8, 38), /^Without jitter the 2 WebSocket clients came back 8 ms apart, with jitter 38 ms apart\. With so few clients that says little/],
      [lab08(10, 3, 1169), /^3 ms: every client waited exactly the same backoff \(1 s\), so the 10 clients came back together — with jitter the same clients spread over 1,169 ms/],
      [lab08(10, 30, 60), /^30 ms without jitter against 60 ms with it: this run shows no clear herd/],
    ];
    for (const [result, wording] of cases) {
      expect(explanationOf(l, "herd-spread", result).text).toMatch(wording);
      for (const c of ["herd-spread", "jitter-spread"]) CLAIMS["08-thundering-herd"]![c]!(explanationOf(l, c, result).text, new Facts(result));
    }
  });

  test("lab 04 does not promise stream detection a short black hole never reached", () => {
    const short = resultOf(1, { "short-poll": { detectMs: 5078 }, "long-poll": { detectMs: 11606 }, sse: { detectMs: null }, websocket: { detectMs: null } });
    const full = resultOf(2, { "short-poll": { detectMs: 4942.5 }, "long-poll": { detectMs: 11512 }, sse: { detectMs: 34985.5 }, websocket: { detectMs: 55002 } });
    const l = lab("04-heartbeats-and-zombies");
    for (const r of [short, full]) CLAIMS["04-heartbeats-and-zombies"]!["first-to-notice"]!(explanationOf(l, "first-to-notice", r).text, new Facts(r));
    expect(explanationOf(l, "first-to-notice", short).text).toContain("SSE and the WebSocket did not notice at all in this run");
    expect(explanationOf(l, "first-to-notice", full).text).toContain("SSE 34,986 ms, the WebSocket 55,002 ms");
  });

  test("every explained checkpoint of a headless lab has its claims written down", () => {
    for (const id of ["01-polling-tax", "02-latency-and-bursts", "03-reconnect-and-resume", "04-heartbeats-and-zombies", "05-hostile-mobile-networks", "06-bytes-on-the-wire", "08-thundering-herd", "09-second-instance"]) {
      for (const c of lab(id).checkpoints) if (c.explain) expect(CLAIMS[id]?.[c.id], `${id} ${c.id}`).toBeDefined();
    }
  });
});

test("the example in docs/authoring-labs.md parses and renders", () => {
  const docs = readFileSync(join(packageRoot(), "docs", "authoring-labs.md"), "utf8");
  const example = /\*\*Variants\.\*\*[\s\S]*?```yaml\n([\s\S]*?)```/.exec(docs)![1]!;
  const l = parseLab("labs/10-docs.md", `---\ntitle: T\nsummary: S\nscenario:\n  phases:\n    - idle: 1s\ncheckpoints:\n${example}---\n# Body\n`);
  const r = resultOf(2, { "short-poll": { p50: 1017.3 }, "long-poll": { p50: 9 }, sse: { p50: 13 }, websocket: { p50: 14 } });
  expect(evaluateCheckpoint(l.checkpoints[0]!, r).explanation!.text).toBe(
    "Short polling, at 1,017 ms: a message waits for the next tick. SSE took 13 ms; which of the others came first (long polling here) changes from run to run.",
  );
});

// Lab 07 is browser-only: CI cannot run it headless, so its variants are checked on fixed results here.
test("lab 07 blames the six-connection limit only when the held connections exceed six", () => {
  const l = lab("07-six-connection-limit");
  const r = (clients: number) => resultOf(clients, { "short-poll": { p99: 2400 }, "long-poll": { p99: 9000 }, sse: { p99: 300 } });
  expect(explanationOf(l, "slowest", r(4)).text).toMatch(/^Long polling, in this run: p95 short polling 2,400 ms, long polling 9,000 ms, SSE 300 ms\. 4 long polls and 4 SSE streams each hold a connection open, more than the six/);
  expect(explanationOf(l, "slowest", r(2)).text).toContain("With 2 client(s) of each, the held long polls and SSE streams fit within the six connections");
});

test("lab 09 says so when no WebSocket client had to fail over", () => {
  const l = lab("09-second-instance");
  const r = resultOf(1, { "long-poll": { reconnects: 1, reconnectMs: 33 }, websocket: { reconnects: 0 } });
  const text = explanationOf(l, "failover-websocket", r).text;
  expect(text).toMatch(/^No WebSocket client was on the killed instance in this run/);
  CLAIMS["09-second-instance"]!["failover-websocket"]!(text, new Facts(r));
  const moved = resultOf(1, { websocket: { reconnects: 1, reconnectMs: 309 } });
  expect(explanationOf(l, "failover-websocket", moved).text).toMatch(/^309 ms in this run \(1 reconnect\(s\) of 1 WebSocket client\(s\)/);
});
