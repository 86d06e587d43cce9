/**
 * The memory check of the HTTP fuzzing: fuzz-http's inputs (one seed, so every round sends exactly
 * the same requests) replayed round after round to a real `wirelab serve` in a child process, so
 * that none of this process's allocations count. After each round, once the server holds no
 * connection, it collects its garbage (a preload that only adds a signal handler: gc() under
 * --expose-gc) and reports its heap and external memory. The first round is the warm-up (rooms,
 * pages, sessions, check-ins and submissions are made, caches fill); after it the same work must
 * not leave more behind each time: trend.ts's verdict (the soak's) over the rounds, with a limit
 * well under what keeping each body the server parsed would add (computed from the answers and
 * printed) and well over the rise of a server that leaks nothing.
 *
 * FUZZ_SEED=n replays other inputs (the seed is printed).
 */
import type { ChildProcess } from "node:child_process";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ServerProcess } from "../../../server/ServerProcess.js";
import { trendOf } from "../../../server/soak/trend.js";
import { SessionResponseSchema } from "../../../web/src/isomorphic/protocol/index.js";
import { FUZZ_ROOMS, ROUTES, VALID_BODIES, anyRequest, body, harmful } from "./httpInputs.js";
import { describe as show, encodeRequest, rawHttp, type RequestSpec } from "./rawHttp.js";

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_407);
/** Rounds of the same requests; the first is the warm-up. */
const ROUNDS = 8;
const REQUESTS_PER_ROUND = 800;
/**
 * A rise of the fitted line over the rounds after the warm-up that is growth (trend.ts asks it of
 * the absolute rise and of 1% of the start). A server that leaks nothing rises some 80 KiB over
 * them (the last of its warm-up); one that kept each body it parsed, 1 MiB (the test checks the
 * inputs carry that much). Rounds and requests are as many as it takes to set the two apart.
 */
const LIMIT = { relative: 0.01, absolute: 256 * 1024 };

/**
 * Loaded into the server with --import: on SIGUSR2 a full collection (twice: what the first frees
 * may let go of more), then the heap and external memory, as one JSON line on stdout.
 */
const PRELOAD = `
import { writeSync } from "node:fs";
process.on("SIGUSR2", () => {
  globalThis.gc();
  globalThis.gc();
  const m = process.memoryUsage();
  writeSync(1, JSON.stringify({ afterGc: { heapUsed: m.heapUsed, external: m.external, rss: m.rss } }) + "\\n");
});`;

interface Sample {
  heapUsed: number;
  external: number;
  rss: number;
}

let server: ServerProcess;
let port: number;
let token: string;
/** The child's stdout so far: where the preload's samples arrive. */
let stdout = "";

beforeAll(async () => {
  server = await ServerProcess.start(["--memory"], {
    // --jitless: as V8 compiles the hot paths, their code and its metadata (deoptimisation data,
    // feedback, relocation info) grow for many rounds, some 65 KiB a round of this load (heap
    // snapshot diffs), which is no object the server keeps. The interpreter holds the same objects.
    // The preload as a data: URL (no spaces: NODE_OPTIONS splits on them).
    NODE_OPTIONS: `--expose-gc --jitless --import=data:text/javascript,${encodeURIComponent(PRELOAD)}`,
  });
  server.child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
  port = Number(new URL(server.url).port);
  const created = await rawHttp(port, `POST /v1/session HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 14\r\nConnection: close\r\n\r\n{"name":"ada"}`, { halfClose: false });
  token = SessionResponseSchema.parse(JSON.parse(created.body.toString("utf8"))).token;
  console.log(`fuzz-memory: seed ${SEED}, ${ROUNDS} rounds of ${REQUESTS_PER_ROUND} requests, server pid ${server.pid}`);
}, 60_000);
afterAll(() => server?.stop());

/** Collect the child's garbage and read what it holds. */
async function sample(child: ChildProcess): Promise<Sample> {
  const seen = stdout.length;
  child.kill("SIGUSR2");
  const deadline = Date.now() + 10_000;
  for (;;) {
    const line = /\{"afterGc":(\{[^}]*\})\}/.exec(stdout.slice(seen));
    if (line) return JSON.parse(line[1]!) as Sample;
    if (Date.now() > deadline) throw new Error("the server did not report its memory");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Until the server holds no connection but the one asking (/v1/stats counts it under api). */
async function idle(): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const answer = await rawHttp(port, `GET /v1/stats HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`, { halfClose: false });
    if (answer.status !== 200) throw new Error(`/v1/stats answered ${answer.raw.slice(0, 300) || "nothing"}`);
    const stats = JSON.parse(answer.body.toString("utf8")) as { transports: Record<string, { connections: number }>; api: { connections: number } };
    const open = Object.values(stats.transports).reduce((sum, t) => sum + t.connections, 0) + stats.api.connections - 1;
    if (open <= 0) return;
    if (Date.now() > deadline) throw new Error(`the server still holds ${open} connections`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Bytes no header may hold (RFC 9110 §5.5): a request with one is refused by the parser. */
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/g;

const isStream = (body: string) => /event:hello\n[^]*?\n\n/.test(body);

/** One request as fuzz-http sends it: its status and error code. */
async function send(spec: RequestSpec): Promise<{ status: number; code: string | undefined }> {
  const bytes = encodeRequest(spec);
  const answer = await rawHttp(port, bytes, { head: spec.method.toUpperCase() === "HEAD", halfClose: spec.framing === "longer", until: isStream, timeoutMs: 5_000 });
  expect(answer.status, `a 5xx for client input\n${show(bytes, answer)}`).toBeLessThan(500);
  return { status: answer.status, code: /^\{"error":\{"code":"([a-z_]+)"/.exec(answer.body.toString("utf8"))?.[1] };
}

/**
 * fuzz-http's inputs: any request (anyRequest), most with their header values cleaned of control
 * bytes so they reach the routes rather than the parser's refusal; and well-formed requests with
 * the almost-right bodies of every JSON route (httpInputs' body()), so the server parses, stores
 * and refuses bodies too, as fuzz-http's "structured but wrong" part makes it.
 */
function fuzzInputs(): fc.Arbitrary<{ spec: RequestSpec; json: boolean }> {
  const cleaned = anyRequest(token, port).map((spec) => ({ ...spec, headers: spec.headers.map(([k, v]) => [k.replace(CONTROL, ""), v.replace(CONTROL, "")] as const) }));
  const json = fc
    .constantFrom(...ROUTES.filter(([method, path]) => (method === "POST" || method === "PUT") && VALID_BODIES[path] !== undefined))
    .chain(([method, path]) =>
      fc.tuple(fc.constantFrom(...FUZZ_ROOMS), body(path)).map(
        ([room, b]): RequestSpec => ({
          method,
          target: path.replace(":room", room).replace(":id", "fuzz"),
          headers: [["Host", `127.0.0.1:${port}`], ["Authorization", `Bearer ${token}`], ["Content-Type", "application/json"]],
          body: b,
        }),
      ),
    )
    .filter((spec) => !harmful(spec));
  const garbage = fc.oneof({ weight: 1, arbitrary: anyRequest(token, port) }, { weight: 2, arbitrary: cleaned });
  return fc
    .oneof({ weight: 3, arbitrary: garbage.map((spec) => ({ spec, json: false })) }, { weight: 2, arbitrary: json.map((spec) => ({ spec, json: true })) })
    .filter(({ spec }) => !restarts(spec));
}

/**
 * A restart with no body is a restart (downtimeMs is optional): harmful() lets it through because
 * fuzz-http's server has no supervisor to restart it, but this one has, and a new instance would
 * start the count again.
 */
function restarts(spec: RequestSpec): boolean {
  return /\/admin\/restart\/?$/i.test(spec.target.split("?")[0]!) && (spec.body === undefined || spec.body.length === 0);
}

/**
 * Did the server parse this well-formed request's body as JSON (so that it could have kept it)?
 * Every answer but those given before the parse or for a body that is no JSON.
 */
function parsed(spec: RequestSpec, { status, code }: { status: number; code: string | undefined }): boolean {
  const before = ["invalid_json", "payload_too_large", "unsupported_media_type", "unauthorized", "rate_limited", "bad_request", "bad_room"];
  return spec.body !== undefined && (status < 300 || (code !== undefined && !before.includes(code)));
}

describe("memory across rounds of the same fuzz inputs", () => {
  test("after the warm-up round, what the server holds does not grow from round to round", async () => {
    const inputs = fc.sample(fuzzInputs(), { seed: SEED, numRuns: REQUESTS_PER_ROUND });
    const samples: Sample[] = [];
    const statuses: string[] = [];
    /** The bytes of the bodies the server parsed in a round: what keeping each request's body would keep. */
    let parsedBytes = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const counts = new Map<number, number>();
      parsedBytes = 0;
      for (const { spec, json } of inputs) {
        const answer = await send(spec);
        counts.set(answer.status, (counts.get(answer.status) ?? 0) + 1);
        if (json && parsed(spec, answer)) parsedBytes += spec.body!.length;
      }
      statuses.push([...counts].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(" "));
      await idle();
      samples.push(await sample(server.child));
    }
    /** What the server holds: its heap, and the memory outside it (buffers). */
    const held = (s: Sample) => s.heapUsed + s.external;
    const trend = trendOf(samples.map((s, round) => ({ t: round, value: held(s) })), LIMIT, 1 / (ROUNDS - 1));
    const kb = (n: number | null) => (n === null ? "-" : `${Math.round(n / 1024)} KiB`);
    const report = [
      `bodies the server parsed per round: ${kb(parsedBytes)} (as JSON text; kept as objects they take more)`,
      ...samples.map((s, round) => `round ${round}: heap ${kb(s.heapUsed)} + external ${kb(s.external)} = ${kb(held(s))}; rss ${kb(s.rss)}; ${statuses[round]}`),
      `after the warm-up: ${kb(trend.start)} → ${kb(trend.end)}, a rise of ${kb(trend.end! - trend.start!)} (limit ${kb(LIMIT.absolute)}): ${trend.growing ? "GROWING" : "flat"}`,
    ].join("\n");
    console.log(report);
    // The limit catches a leak of the parsed bodies alone: over the rounds after the warm-up they would add more than twice it.
    expect((ROUNDS - 2) * parsedBytes, `too few bodies to tell a leak of them from noise\n${report}`).toBeGreaterThan(2 * LIMIT.absolute);
    expect(trend.samples, report).toBe(ROUNDS - 1);
    expect(trend.growing, `the server holds more after each round of the same requests\n${report}`).toBe(false);
    // The server lived through all of it and still answers.
    const health = await rawHttp(port, `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`, { halfClose: false });
    expect(health.status).toBe(200);
    expect(server.child.exitCode).toBeNull();
  }, 240_000);
});
