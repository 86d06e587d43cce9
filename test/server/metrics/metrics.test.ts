/**
 * GET /metrics: Prometheus text that a strict parser accepts, whose counters move with real
 * traffic on every transport, one registry per server, and a Grafana dashboard that only asks
 * for metrics a scrape has.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { WebSocket } from "ws";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Wirelab } from "../../../server/app.js";
import { resolveConfig } from "../../../server/config.js";
import { packageRoot } from "../../../server/paths.js";
import { client, connected, session, startServer, stopsAfterEach, until } from "../../helpers.js";

// ---------------------------------------------------------------------------------------------
// A strict parser of the Prometheus text exposition format 0.0.4.

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Family {
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  help: string;
  samples: Sample[];
}
type Scrape = Map<string, Family>;

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
// Prometheus reads values with Go's strconv.ParseFloat, which takes Inf and NaN in any case
// (prom-client writes "Nan").
const VALUE = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?inf|nan)$/i;

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf("=", i);
    if (eq < 0) throw new Error(`label without "=": ${line}`);
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new Error(`bad label name "${name}": ${line}`);
    if (text[eq + 1] !== '"') throw new Error(`unquoted label value: ${line}`);
    let value = "";
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === "\\") {
        const next = text[++j];
        if (next === "n") value += "\n";
        else if (next === "\\" || next === '"') value += next;
        else throw new Error(`bad escape in label value: ${line}`);
      } else value += text[j];
    }
    if (j >= text.length) throw new Error(`unterminated label value: ${line}`);
    if (name in labels) throw new Error(`label "${name}" given twice: ${line}`);
    labels[name] = value;
    i = j + 1;
    if (i < text.length) {
      if (text[i] !== ",") throw new Error(`expected "," between labels: ${line}`);
      i += 1;
    }
  }
  return labels;
}

/** The family a sample belongs to: its own name, or a histogram's/summary's base name. */
function familyOf(families: Scrape, name: string): string | undefined {
  if (families.has(name)) return name;
  const match = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (!match) return undefined;
  const base = families.get(match[1]!);
  if (base?.type === "histogram" || (base?.type === "summary" && match[2] !== "bucket")) return match[1];
  return undefined;
}

function parsePrometheusText(text: string): Scrape {
  if (!text.endsWith("\n")) throw new Error("the exposition must end with a line feed");
  const families: Scrape = new Map();
  const series = new Set<string>();
  for (const line of text.slice(0, -1).split("\n")) {
    if (line === "") continue;
    if (line.startsWith("#")) {
      const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!meta) continue; // any other comment is allowed
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      if (!NAME.test(name)) throw new Error(`bad metric name: ${line}`);
      const family = families.get(name);
      if (kind === "TYPE") {
        if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(rest)) throw new Error(`bad type: ${line}`);
        if (family?.samples.length) throw new Error(`TYPE after samples: ${line}`);
        if (family && family.type !== "untyped") throw new Error(`TYPE given twice: ${line}`);
        families.set(name, { help: family?.help ?? "", samples: [], type: rest as Family["type"] });
      } else {
        if (family?.help) throw new Error(`HELP given twice: ${line}`);
        families.set(name, { type: family?.type ?? "untyped", samples: family?.samples ?? [], help: rest });
      }
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: -?\d+)?$/.exec(line);
    if (!sample) throw new Error(`not a sample line: ${line}`);
    const [, name, labelText, valueText] = sample as unknown as [string, string, string | undefined, string];
    if (!VALUE.test(valueText)) throw new Error(`bad value: ${line}`);
    const familyName = familyOf(families, name);
    if (!familyName) throw new Error(`sample of a metric without # TYPE: ${line}`);
    const labels = labelText ? parseLabels(labelText, line) : {};
    const key = `${name}{${Object.entries(labels).sort().map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",")}}`;
    if (series.has(key)) throw new Error(`series given twice: ${key}`);
    series.add(key);
    const value = /inf$/i.test(valueText) ? (valueText.startsWith("-") ? -Infinity : Infinity) : /^nan$/i.test(valueText) ? NaN : Number(valueText);
    families.get(familyName)!.samples.push({ name, labels, value });
  }
  for (const [name, family] of families) if (family.type === "histogram") checkHistogram(name, family);
  return families;
}

/** Buckets rise with le, never fall in count, and end at +Inf with the _count. */
function checkHistogram(name: string, family: Family): void {
  const groups = new Map<string, { buckets: Array<[number, number]>; count?: number }>();
  for (const s of family.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const group = groups.get(key) ?? { buckets: [] };
    groups.set(key, group);
    if (s.name === `${name}_bucket`) {
      if (le === undefined) throw new Error(`${name}_bucket without le`);
      group.buckets.push([le === "+Inf" ? Infinity : Number(le), s.value]);
    } else if (s.name === `${name}_count`) group.count = s.value;
  }
  for (const [key, { buckets, count }] of groups) {
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i]![0] > buckets[i - 1]![0]) || buckets[i]![1] < buckets[i - 1]![1]) throw new Error(`${name}${key}: buckets out of order`);
    }
    if (buckets.at(-1)?.[0] !== Infinity || buckets.at(-1)![1] !== count) throw new Error(`${name}${key}: +Inf bucket missing or not the count`);
  }
}

/** The value of the one sample called `name` whose labels are exactly `labels`. */
function valueOf(scrape: Scrape, name: string, labels: Record<string, string> = {}, absent?: number): number {
  const family = scrape.get(familyOf(scrape, name) ?? name);
  const matches = (family?.samples ?? []).filter(
    (s) => s.name === name && Object.keys(s.labels).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (matches.length === 0 && absent !== undefined) return absent;
  if (matches.length !== 1) throw new Error(`expected one sample ${name}${JSON.stringify(labels)}, found ${matches.length}`);
  return matches[0]!.value;
}

async function scrape(server: { url: string }): Promise<Scrape> {
  const response = await fetch(`${server.url}/metrics`);
  expect(response.status).toBe(200);
  return parsePrometheusText(await response.text());
}

/** Wait for an asynchronous condition (a scrape), checking again until it holds. */
async function eventually(condition: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const stops = stopsAfterEach();

test("the parser is strict", () => {
  expect(() => parsePrometheusText("x 1\n")).toThrow(/without # TYPE/);
  expect(() => parsePrometheusText("# TYPE x counter\nx{a=b} 1\n")).toThrow(/unquoted/);
  expect(() => parsePrometheusText("# TYPE x counter\nx 1\nx 2\n")).toThrow(/twice/);
  expect(() => parsePrometheusText("# TYPE x counter\nx one\n")).toThrow(/bad value/);
  expect(() => parsePrometheusText('# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_count 1\n')).toThrow(/out of order/);
  const ok = parsePrometheusText('# HELP x an "x"\n# TYPE x gauge\nx{a="q\\"\\\\",b="2"} -1.5e3\n');
  expect(valueOf(ok, "x", { a: 'q"\\', b: "2" })).toBe(-1500);
});

test("the metrics option must be a boolean", () => {
  expect(resolveConfig({}).metrics).toBe(true);
  expect(() => resolveConfig({ metrics: "no" as never })).toThrow(/metrics must be true or false/);
});

describe("one server with traffic", () => {
  let server: Wirelab;
  let token: string;
  beforeAll(async () => {
    server = await startServer();
    token = (await session(server)).token;
  });
  afterAll(() => server.close());

  test("GET /metrics answers without a token, in Prometheus text, with the process's default metrics", async () => {
    const response = await fetch(`${server.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4; charset=utf-8$/);
    const families = parsePrometheusText(await response.text());
    expect(families.get("nodejs_eventloop_lag_seconds")?.type).toBe("gauge");
    expect(families.get("nodejs_heap_size_used_bytes")?.type).toBe("gauge");
    expect(families.get("process_cpu_user_seconds_total")?.type).toBe("counter");
    expect(families.get("wirelab_connections_open")?.type).toBe("gauge");
    expect(families.get("wirelab_delivery_latency_seconds")?.type).toBe("histogram");
    for (const name of ["messages_in", "messages_out", "http_requests", "bytes_in", "bytes_out", "resumes", "rate_limited", "connections_dropped", "zombies_terminated"]) {
      expect(families.get(`wirelab_${name}_total`)?.type, name).toBe("counter");
    }
  });

  test("counters move with sends over HTTP and WebSocket and deliveries over SSE, WebSocket and long polling", async () => {
    const subscribers = (["sse", "websocket", "long-poll"] as const).map((t) => client(server, t, token, { room: "traffic" }));
    stops.push(() => subscribers.forEach((c) => c.close()));
    await Promise.all(subscribers.map(connected));
    const [sse, ws, longPoll] = subscribers as [typeof subscribers[0], typeof subscribers[0], typeof subscribers[0]];
    const before = await scrape(server);

    await longPoll.send("over HTTP 1");
    await longPoll.send("over HTTP 2");
    await ws.send("over WebSocket 1");
    await ws.send("over WebSocket 2");
    await until(() => subscribers.every((c) => c.received.length === 4), "four deliveries to each subscriber");
    const after = await scrape(server);
    // A series that was not there before (a status code first seen) started from 0.
    const delta = (name: string, labels: Record<string, string>) => valueOf(after, name, labels) - valueOf(before, name, labels, 0);

    expect(delta("wirelab_messages_in_total", { transport: "long-poll" })).toBe(2);
    expect(delta("wirelab_messages_in_total", { transport: "websocket" })).toBe(2);
    expect(delta("wirelab_messages_out_total", { transport: "sse" })).toBe(4);
    expect(delta("wirelab_messages_out_total", { transport: "websocket" })).toBe(4);
    expect(delta("wirelab_messages_out_total", { transport: "long-poll" })).toBeGreaterThanOrEqual(4);
    // Every delivery counted is a latency observed, at the same point.
    for (const transport of ["sse", "websocket", "long-poll"]) {
      expect(delta("wirelab_delivery_latency_seconds_count", { transport }), transport).toBe(delta("wirelab_messages_out_total", { transport }));
      expect(delta("wirelab_delivery_latency_seconds_sum", { transport }), transport).toBeGreaterThanOrEqual(0);
    }
    expect(delta("wirelab_http_requests_total", { transport: "long-poll", status: "201" })).toBe(2);
    expect(valueOf(after, "wirelab_http_requests_total", { transport: "long-poll", status: "200" })).toBeGreaterThanOrEqual(1);
    expect(delta("wirelab_bytes_out_total", { transport: "sse" })).toBeGreaterThan(0);
    expect(delta("wirelab_bytes_in_total", { transport: "websocket" })).toBeGreaterThan(0);
    expect(delta("wirelab_bytes_out_total", { transport: "websocket" })).toBeGreaterThan(0);
    expect(delta("wirelab_bytes_in_total", { transport: "long-poll" })).toBeGreaterThan(0);
    expect(valueOf(after, "wirelab_connections_open", { transport: "sse" })).toBeGreaterThanOrEqual(1);
    expect(valueOf(after, "wirelab_connections_open", { transport: "websocket" })).toBeGreaterThanOrEqual(1);
    // No counter went down between the scrapes (a fall reads as a restart to Prometheus).
    for (const [name, family] of after) {
      if (family.type !== "counter" && family.type !== "histogram") continue;
      for (const s of family.samples) {
        const earlier = before.get(name)?.samples.find((b) => b.name === s.name && JSON.stringify(b.labels) === JSON.stringify(s.labels));
        if (earlier) expect(s.value, `${s.name}${JSON.stringify(s.labels)}`).toBeGreaterThanOrEqual(earlier.value);
      }
    }
  });

  test("an instructor's drop is counted per transport, and the streams' reconnects are resumes", async () => {
    const streams = (["sse", "websocket"] as const).map((t) => client(server, t, token, { room: "drops" }));
    stops.push(() => streams.forEach((c) => c.close()));
    await Promise.all(streams.map(connected));
    const before = await scrape(server);
    const delta = (after: Scrape, name: string, labels: Record<string, string>) => valueOf(after, name, labels) - valueOf(before, name, labels);

    const drop = await fetch(`${server.url}/v1/admin/drop`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ transport: "all" }),
    });
    expect(drop.status).toBe(200);
    const dropped = ((await drop.json()) as { dropped: Record<string, number> }).dropped;
    await eventually(async () => {
      const now = await scrape(server);
      return delta(now, "wirelab_resumes_total", { transport: "sse" }) >= 1 && delta(now, "wirelab_resumes_total", { transport: "websocket" }) >= 1;
    }, "both streams to resume");
    const after = await scrape(server);
    for (const transport of ["short-poll", "long-poll", "sse", "websocket"]) {
      expect(delta(after, "wirelab_connections_dropped_total", { transport, reason: "fault" }), transport).toBe(dropped[transport]);
    }
    expect(dropped.sse).toBeGreaterThanOrEqual(1);
    expect(dropped.websocket).toBeGreaterThanOrEqual(1);
  });

  test("the Grafana dashboard parses and asks only for metrics a scrape has", async () => {
    // Some traffic first, so that every labelled series has a sample.
    server.metrics.rateLimited("dashboard-test");
    const families = await scrape(server);
    const dashboard = JSON.parse(readFileSync(join(packageRoot(), "docs", "grafana-dashboard.json"), "utf8"));
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(typeof dashboard.title).toBe("string");
    const variable = dashboard.templating.list.find((v: { type: string }) => v.type === "datasource");
    expect(variable).toMatchObject({ query: "prometheus" });
    const dsRef = `\${${variable.name}}`;

    const panels: Array<{ title: string; type: string; datasource?: { uid: string }; targets?: Array<{ expr: string }>; panels?: unknown[] }> = [];
    const walk = (list: typeof panels) => {
      for (const p of list) {
        if (p.type === "row") walk((p.panels ?? []) as typeof panels);
        else panels.push(p);
      }
    };
    walk(dashboard.panels);
    expect(panels.length).toBeGreaterThanOrEqual(10);
    const used = new Set<string>();
    const exprs: string[] = [];
    for (const panel of panels) {
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      expect(panel.datasource?.uid, panel.title).toBe(dsRef);
      for (const { expr } of panel.targets!) {
        exprs.push(expr);
        const names = metricNamesIn(expr);
        expect(names.length, `${panel.title}: ${expr}`).toBeGreaterThan(0);
        for (const name of names) {
          const family = familyOf(families, name);
          expect(family, `${panel.title}: ${name} is not in a scrape`).toBeDefined();
          expect(families.get(family!)!.samples.length, `${name} has no samples`).toBeGreaterThan(0);
          used.add(family!);
        }
      }
    }
    // Every wirelab metric has a panel, and so do event-loop lag and heap.
    for (const name of families.keys()) if (name.startsWith("wirelab_")) expect(used, name).toContain(name);
    expect([...used].some((n) => n.startsWith("nodejs_eventloop_lag"))).toBe(true);
    expect([...used].some((n) => n.startsWith("nodejs_heap_size"))).toBe(true);
    for (const q of ["0.5", "0.99"]) {
      expect(exprs.some((e) => e.includes(`histogram_quantile(${q}`) && e.includes("wirelab_delivery_latency_seconds_bucket"))).toBe(true);
    }
    // And docs/metrics.md describes each one.
    const doc = readFileSync(join(packageRoot(), "docs", "metrics.md"), "utf8");
    for (const name of families.keys()) if (name.startsWith("wirelab_")) expect(doc, name).toContain(`\`${name}\``);
  });
});

const PROMQL_WORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or", "unless", "inf", "nan"]);

/**
 * The metric names a PromQL expression reads: identifiers that are neither functions (followed by
 * "("), nor keywords, nor label names (inside {…} matchers and by/without/on (…) lists), nor
 * range durations ([…]) or strings.
 */
function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const names: string[] = [];
  for (const match of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const after = stripped.slice(match.index! + match[0].length).trimStart();
    if (after.startsWith("(") || PROMQL_WORDS.has(match[0].toLowerCase())) continue;
    if (/\d/.test(stripped[match.index! - 1] ?? "")) continue; // a duration's unit, e.g. 5m
    names.push(match[0]);
  }
  return names;
}

test("metricNamesIn reads metric names, not functions, labels or durations", () => {
  expect(metricNamesIn('histogram_quantile(0.99, sum by (le, transport) (rate(wirelab_delivery_latency_seconds_bucket{transport=~"sse|ws"}[$__rate_interval])))')).toEqual(["wirelab_delivery_latency_seconds_bucket"]);
  expect(metricNamesIn("sum(wirelab_connections_open) / 2 + nodejs_heap_size_used_bytes offset 5m")).toEqual(["wirelab_connections_open", "nodejs_heap_size_used_bytes"]);
});

test("slow consumers cut by the server are counted per transport", async () => {
  // Under the "turn" fan-out flush a message is written corked (sent at the end of the turn), so a
  // message larger than the limit is more unsent output than allowed: the first one each stream gets cuts it.
  const server = await startServer({ maxBufferedBytes: 1024, fanoutFlush: "turn" });
  stops.push(() => server.close());
  const { token } = await session(server);
  const ws = new WebSocket(`${server.url.replace("http", "ws")}/v1/rooms/slow/ws?token=${token}`);
  stops.push(() => ws.terminate());
  await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
  const abort = new AbortController();
  stops.push(() => abort.abort());
  const sse = await fetch(`${server.url}/v1/rooms/slow/events`, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
  expect(sse.status).toBe(200);
  await until(() => server.stats.snapshot().transports.sse.connections === 1, "the SSE stream to open");

  const send = await fetch(`${server.url}/v1/rooms/slow/messages`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ id: "m1", text: "é".repeat(2000) }),
  });
  expect(send.status).toBe(201);
  await eventually(async () => {
    const now = await scrape(server);
    return ["sse", "websocket"].every((transport) => valueOf(now, "wirelab_connections_dropped_total", { transport, reason: "slow_consumer" }) >= 1);
  }, "both slow consumers to be counted");
});

test("a WebSocket peer that stops answering pings is terminated and counted as a zombie", async () => {
  const server = await startServer({ wsPingIntervalMs: 50 });
  stops.push(() => server.close());
  const { token } = await session(server);
  // A peer that never pongs: half-open TCP as the server sees it.
  const ws = new WebSocket(`${server.url.replace("http", "ws")}/v1/rooms/zombies/ws?token=${token}`, { autoPong: false });
  stops.push(() => ws.terminate());
  const closed = new Promise<void>((resolve) => ws.once("close", () => resolve()));
  await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
  await closed;
  await eventually(async () => valueOf(await scrape(server), "wirelab_zombies_terminated_total", { transport: "websocket" }) === 1, "the zombie to be counted");
});

test("every server has its own metrics, and closing one leaves the others scraping", async () => {
  const first = await startServer();
  stops.push(() => first.close());
  const second = await startServer();
  stops.push(() => second.close());
  const { token } = await session(first);
  const sent = await fetch(`${first.url}/v1/rooms/own/messages`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ id: "m1", text: "only on the first" }),
  });
  expect(sent.status).toBe(201);
  expect(valueOf(await scrape(first), "wirelab_messages_in_total", { transport: "api" })).toBe(1);
  expect(valueOf(await scrape(second), "wirelab_messages_in_total", { transport: "api" })).toBe(0);

  await first.close();
  const third = await startServer();
  stops.push(() => third.close());
  for (const server of [second, third]) {
    const families = await scrape(server);
    expect(valueOf(families, "wirelab_messages_in_total", { transport: "api" })).toBe(0);
    expect(families.has("nodejs_eventloop_lag_seconds")).toBe(true);
  }
});

test("metrics: false turns GET /metrics off", async () => {
  const server = await startServer({ metrics: false });
  stops.push(() => server.close());
  const response = await fetch(`${server.url}/metrics`);
  expect(response.status).toBe(404);
  expect(((await response.json()) as { error: { code: string } }).error.code).toBe("not_found");
});

test("refusals by a rate limit and by the per-session connection cap are counted under their names", async () => {
  const server = await startServer({ sendsPerSecond: 1, sendBurst: 1, maxConnectionsPerUser: 1 });
  try {
    const { token } = await session(server);
    let refused = 0;
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${server.url}/v1/rooms/lobby/messages`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ id: `m-${i}`, text: "hi" }),
      });
      if (res.status === 429) refused += 1;
    }
    expect(refused).toBeGreaterThan(0);
    const held = new AbortController();
    const first = await fetch(`${server.url}/v1/rooms/lobby/events?token=${token}`, { signal: held.signal });
    expect(first.status).toBe(200);
    const second = await fetch(`${server.url}/v1/rooms/lobby/events?token=${token}`);
    expect(second.status).toBe(429);
    held.abort();
    const after = await scrape(server);
    expect(valueOf(after, "wirelab_rate_limited_total", { limit: "send" })).toBe(refused);
    expect(valueOf(after, "wirelab_rate_limited_total", { limit: "connections-user" })).toBe(1);
  } finally {
    await server.close();
  }
});
