/**
 * What each lab's explanations claim, checked against a measured result. Written apart from the
 * explanation engine (web/src/isomorphic/lab/explain.ts): it reads the result's figures itself, so an
 * explanation that states a number or an outcome the run did not measure fails here — whether the
 * lab file or the engine is wrong. Used by labs-cli.test.ts on every headless run and by
 * labs-explain.test.ts on fixed results (including the wording that contradicted real runs).
 */
import { expect } from "vitest";
import type { LabResult } from "../web/src/isomorphic/lab/index.js";
import type { TransportName } from "../web/src/isomorphic/protocol/index.js";

type Metric = "latency.p50" | "latency.p99" | "reconnects" | "reconnectMs" | "detectMs" | "bytesPerMessage";
type PhaseCounter = "requests" | "delivered" | "reconnects" | "reconnectSpreadMs";

/** The facts an explanation may state, read straight from the result. */
export class Facts {
  constructor(readonly result: LabResult) {}

  get clients(): number {
    return this.result.parameters.clients;
  }

  of(metric: Metric, transport: TransportName): number | null {
    const t = this.result.transports.find((x) => x.transport === transport)!;
    switch (metric) {
      case "latency.p50":
        return t.latency.p50;
      case "latency.p99":
        return t.latency.p99;
      case "reconnectMs":
        return t.reconnectMs.meanMs;
      case "detectMs":
        return t.detectMs?.meanMs ?? null;
      default:
        return t[metric];
    }
  }

  during(phase: string, counter: PhaseCounter, transport: TransportName): number {
    const record = this.result.phases.find((p) => p.name === phase);
    if (!record) throw new Error(`no phase "${phase}" in the result`);
    return record.transports[transport]![counter];
  }

  total(metric: "reconnects" | "lost" | "duplicated"): number {
    return this.result.transports.reduce((sum, t) => sum + t[metric], 0);
  }

  /** The transports with the least (or most) of a metric, ignoring those not measured. */
  extreme(metric: Metric, which: "least" | "most"): TransportName[] {
    const measured = this.result.transports.map((t) => [t.transport, this.of(metric, t.transport)] as const).filter((e): e is readonly [TransportName, number] => e[1] !== null);
    const best = (which === "least" ? Math.min : Math.max)(...measured.map(([, v]) => v));
    return measured.filter(([, v]) => v === best).map(([t]) => t);
  }
}

/** A number as a learner reads it in a sentence (the same rounding any renderer must use). */
export function n(value: number | null): string {
  if (value === null) return "not measured";
  if (Number.isInteger(value)) return value.toLocaleString("en-US");
  if (Math.abs(value) < 1) return String(Number(value.toPrecision(2)));
  if (Math.abs(value) < 10) return value.toFixed(1);
  return Math.round(value).toLocaleString("en-US");
}

const WORDS: Record<TransportName, RegExp> = {
  "short-poll": /^short polling/i,
  "long-poll": /^long polling/i,
  sse: /^SSE/,
  websocket: /^the WebSocket/i,
};

/** The explanation starts by naming one of `transports` (its answer). */
function startsWithOneOf(text: string, transports: TransportName[]): void {
  expect(transports.some((t) => WORDS[t]!.test(text)), `"${text.slice(0, 60)}…" should start with ${transports.join(" or ")}`).toBe(true);
}

/** `text` says "phrase" only if `holds`: a claim about the outcome must be true of the run. */
function onlyIf(text: string, phrase: string | RegExp, holds: boolean, why: string): void {
  const says = typeof phrase === "string" ? text.includes(phrase) : phrase.test(text);
  if (says) expect(holds, `the explanation says "${String(phrase)}" but ${why}`).toBe(true);
}

const NAMES: Record<TransportName, string> = { "short-poll": "short polling", "long-poll": "long polling", sse: "SSE", websocket: "the WebSocket" };

type Check = (text: string, facts: Facts) => void;
const TRANSPORTS: TransportName[] = ["short-poll", "long-poll", "sse", "websocket"];

/** Lab → checkpoint → what its explanation must agree with. Every explained checkpoint of a headless lab has one. */
export const CLAIMS: Record<string, Record<string, Check>> = {
  "01-polling-tax": {
    "quiet-requests": (text, f) => {
      for (const t of TRANSPORTS) expect(text).toContain(n(f.during("quiet room", "requests", t)));
      onlyIf(text, "came back empty", f.during("quiet room", "delivered", "short-poll") === 0, "short polling delivered messages in the quiet room");
      onlyIf(text, "carried nothing", f.during("quiet room", "delivered", "sse") === 0 && f.during("quiet room", "delivered", "websocket") === 0, "a stream delivered in the quiet room");
    },
    slowest: (text, f) => {
      startsWithOneOf(text, f.extreme("latency.p50", "most"));
      for (const t of TRANSPORTS) expect(text).toContain(`${n(f.of("latency.p50", t))} ms`);
      const others = (["long-poll", "sse", "websocket"] as const).map((t) => f.of("latency.p50", t)!);
      onlyIf(text, "under 100 ms", others.every((v) => v < 100), `the medians were ${others.join(", ")} ms`);
      // The old wording: a fixed order of the three fastest, which real runs did not keep.
      onlyIf(text, /SSE and WebSockets push over a connection that is already open\. Long polling is close behind/, f.extreme("latency.p50", "least").every((t) => t === "sse" || t === "websocket"), "long polling was the fastest");
      const least = text.match(/\(([^()]+) in this one\)/);
      if (least) expect(least[1]).toBe(f.extreme("latency.p50", "least").map((t) => NAMES[t]).join(" and "));
    },
    "short-poll-latency": (text, f) => {
      const p50 = f.of("latency.p50", "short-poll");
      expect(text.startsWith(`${n(p50)} ms`)).toBe(true);
      // "About 1,000 ms" is claimed for this run only when the run is near it.
      onlyIf(text, "before anyone asks for it", p50 !== null && p50 >= 700 && p50 <= 1300, `short polling's median was ${p50} ms`);
    },
  },
  "02-latency-and-bursts": {
    "burst-requests": (text, f) => {
      const requests = f.during("burst", "requests", "long-poll");
      expect(text.startsWith(`${n(requests)} requests for 200 messages to ${f.clients} client(s)`)).toBe(true);
      onlyIf(text, "a few batches", requests < 200, `long polling made ${requests} requests`);
      onlyIf(text, "Far fewer than 200", requests < 100, `long polling made ${requests} requests`);
    },
    "worst-tail": (text, f) => {
      startsWithOneOf(text, f.extreme("latency.p99", "most"));
      for (const t of TRANSPORTS) expect(text).toContain(`${n(f.of("latency.p99", t))} ms`);
      onlyIf(text, "its tail is its interval", f.extreme("latency.p99", "most").includes("short-poll"), "short polling did not have the worst tail");
    },
  },
  "03-reconnect-and-resume": {
    reconnected: (text, f) => {
      expect(text.startsWith(`${n(f.total("reconnects"))} in this run`), text).toBe(true);
      for (const t of TRANSPORTS) expect(text).toContain(n(f.during("while reconnecting", "reconnects", t)));
      const twice = (["sse", "websocket"] as const).every((t) => f.of("reconnects", t) === 2 * f.clients);
      onlyIf(text, /reconnects twice/, twice, `SSE and the WebSocket reconnected ${f.of("reconnects", "sse")} and ${f.of("reconnects", "websocket")} times with ${f.clients} client(s) each`);
      // Each stream client was cut twice (the drop, the restart). Its first attempt after the cut may
      // fall within the drop phase itself, so the claim is checked over the whole run.
      onlyIf(text, "must reconnect after each cut", (["sse", "websocket"] as const).every((t) => f.of("reconnects", t)! >= 2 * f.clients), "a stream did not reconnect after each cut");
    },
    "lost-after-restart": (_text, f) => expect(f.total("lost")).toBe(0),
    "seen-twice": (_text, f) => expect(f.total("duplicated")).toBe(0),
  },
  "04-heartbeats-and-zombies": {
    "first-to-notice": (text, f) => {
      startsWithOneOf(text, f.extreme("detectMs", "least"));
      for (const t of TRANSPORTS) if (f.of("detectMs", t) !== null) expect(text).toContain(`${n(f.of("detectMs", t))} ms`);
      onlyIf(text, "SSE and the WebSocket did not notice at all in this run", f.of("detectMs", "sse") === null && f.of("detectMs", "websocket") === null, "a stream noticed");
      onlyIf(text, "the WebSocket did not notice", f.of("detectMs", "websocket") === null, "the WebSocket noticed");
      expect(text).not.toContain("not measured ms");
    },
  },
  "05-hostile-mobile-networks": {
    "most-reconnects": (text, f) => {
      onlyIf(text, "no connection was reset", f.total("reconnects") === 0, `there were ${f.total("reconnects")} reconnects`);
      if (f.total("reconnects") > 0) {
        startsWithOneOf(text, f.extreme("reconnects", "most"));
        for (const t of TRANSPORTS) expect(text).toContain(`${n(f.of("reconnects", t))} for`);
      }
    },
  },
  "06-bytes-on-the-wire": {
    heaviest: (text, f) => {
      startsWithOneOf(text, f.extreme("bytesPerMessage", "most"));
      for (const t of TRANSPORTS) expect(text).toContain(n(f.of("bytesPerMessage", t)));
    },
    lightest: (text, f) => {
      startsWithOneOf(text, f.extreme("bytesPerMessage", "least"));
      const [sse, ws] = [f.of("bytesPerMessage", "sse")!, f.of("bytesPerMessage", "websocket")!];
      onlyIf(text, /within 10 %|within a few bytes/, Math.max(sse, ws) <= 1.1 * Math.min(sse, ws), `SSE put ${sse} and the WebSocket ${ws} bytes per message`);
    },
  },
  "08-thundering-herd": {
    "herd-spread": (text, f) => herdClaims(text, f, "herd returns"),
    "jitter-spread": (text, f) => herdClaims(text, f, "spread returns"),
  },
  "09-second-instance": {
    "failover-websocket": (text, f) => {
      const ms = f.of("reconnectMs", "websocket");
      onlyIf(text, "No WebSocket client was on the killed instance", ms === null, "a WebSocket client failed over");
      if (ms !== null) expect(text.startsWith(`${n(ms)} ms in this run`), text).toBe(true);
      expect(text).not.toContain("not measured ms");
    },
    "failover-fastest": (text, f) => startsWithOneOf(text, f.extreme("reconnectMs", "least")),
    lost: (_text, f) => expect(f.total("lost")).toBe(0),
    duplicated: (_text, f) => expect(f.total("duplicated")).toBe(0),
    "no-sticky-session": (_text, f) => expect(f.total("lost")).toBe(0),
  },
};

/** Lab 08: both spreads are stated as measured, and "a herd" only when the run showed one. */
function herdClaims(text: string, f: Facts, answered: "herd returns" | "spread returns"): void {
  const herd = f.during("herd returns", "reconnectSpreadMs", "websocket");
  const jitter = f.during("spread returns", "reconnectSpreadMs", "websocket");
  expect(text.startsWith(`${n(answered === "herd returns" ? herd : jitter)} ms`) || text.includes(`${n(answered === "herd returns" ? herd : jitter)} ms`)).toBe(true);
  expect(text).toContain(`${n(answered === "herd returns" ? jitter : herd)} ms`);
  const showed = jitter > 4 * herd && jitter >= 200 && f.clients >= 5;
  onlyIf(text, /came back together|spread out instead of together|all came back at the same instant/, showed, `the spreads were ${herd} ms without and ${jitter} ms with jitter, ${f.clients} client(s)`);
  onlyIf(text, /spreading the same clients over the whole interval/, showed, `the jittered spread was ${jitter} ms`);
  onlyIf(text, "With one client per transport", f.clients === 1, `there were ${f.clients} clients`);
  onlyIf(text, "no clear herd", !showed, "the run showed a herd");
}
