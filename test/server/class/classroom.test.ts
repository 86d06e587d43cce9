/**
 * The class API on a real class server (learners unless they bring the key), on both stores:
 * SQLite for one instance, Redis for a cluster. Pages check in and make the roster, the timeline
 * and the latency distribution; the instructor assigns a lab; learners submit results, which the
 * server judges itself, keeps across a restart and exports as CSV.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { WirelabSupervisor } from "../../../server/WirelabSupervisor.js";
import type { WirelabOptions } from "../../../server/config.js";
import { LATENCY_BUCKETS_MS, type CheckinRequest } from "../../../web/src/isomorphic/protocol/class.js";
import { startSupervisor, stopsAfterEach, tempDir } from "../../helpers.js";
import { SHARED_REDIS, deleteKeys, testPrefix } from "../../redis.js";
import { pollingTaxResult } from "../../labResults.js";

const KEY = "class-key-for-tests";
const stops = stopsAfterEach();

async function enter(url: string, name: string, extra: Record<string, unknown> = {}): Promise<{ token: string; id: string; role: string }> {
  const response = await fetch(`${url}/v1/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name, ...extra }) });
  const body = await response.json();
  if (response.status !== 201) throw new Error(`join ${name}: ${response.status} ${JSON.stringify(body)}`);
  return { token: body.token, id: body.user.id, role: body.user.role };
}

async function call(url: string, token: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${url}/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body !== undefined && { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  let json: any = undefined;
  try {
    json = JSON.parse(text);
  } catch {
    // CSV
  }
  return { status: response.status, body: json, text, headers: response.headers };
}

function checkin(page: string, overrides: Partial<CheckinRequest> = {}): CheckinRequest {
  return { page, now: Date.now(), view: "workbench", clients: [], events: [], latency: {}, ...overrides };
}

const backends: Array<[string, () => Promise<{ options: WirelabOptions; cleanup(): Promise<void> }>]> = [
  [
    "SQLite",
    async () => {
      const dir = tempDir();
      return { options: { dataFile: join(dir.dir, "class.db") }, cleanup: async () => dir.cleanup() };
    },
  ],
  [
    "Redis",
    async () => {
      const prefix = testPrefix();
      return { options: { redisUrl: SHARED_REDIS, redisPrefix: prefix }, cleanup: () => deleteKeys(SHARED_REDIS, prefix) };
    },
  ],
];

describe.each(backends)("a class on %s", (_name, backend) => {
  let server: WirelabSupervisor;
  let cleanup: () => Promise<void>;
  let instructor: string;

  beforeAll(async () => {
    const made = await backend();
    cleanup = made.cleanup;
    server = await startSupervisor({ autoInstructor: false, instructorKey: KEY, networkPort: null, ...made.options });
    instructor = (await enter(server.url, "Grace", { instructorKey: KEY })).token;
  });
  afterAll(async () => {
    await server.close();
    await cleanup();
  });

  test("pages check in: the roster names each learner with their clients, on the server's clock", async () => {
    const ada = await enter(server.url, "Ada");
    const serverNow = Date.now();
    // Ada's clock is a minute slow: her times are moved onto the server's.
    const slow = serverNow - 60_000;
    const answer = await call(server.url, ada.token, "POST", "/class/checkin", checkin("page-ada-1", {
      now: slow,
      view: "lab",
      lab: "01-polling-tax",
      clients: [{ transport: "sse", state: "open", instance: "abc", lastByteAt: slow - 2_000 }],
      events: [{ id: 1, link: "sse", downAt: slow - 5_000, at: slow - 4_000, resumedFrom: 7 }],
      latency: { sse: [3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1] },
    }));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ assignment: null, jitter: true });
    const view = await call(server.url, instructor, "GET", "/class");
    expect(view.status).toBe(200);
    const entry = view.body.roster.find((r: { page: string }) => r.page === "page-ada-1");
    expect(entry).toMatchObject({ user: { id: ada.id, name: "Ada", role: "learner" }, view: "lab", lab: "01-polling-tax", instance: server.current.instance });
    expect(Math.abs(entry.clients[0].lastByteAt - (serverNow - 2_000))).toBeLessThan(5_000);
    const event = view.body.timeline.find((e: { page: string }) => e.page === "page-ada-1");
    expect(event).toMatchObject({ link: "sse", resumedFrom: 7, user: { name: "Ada" } });
    expect(event.at - event.downAt).toBe(1_000);
    expect(Math.abs(event.at - (serverNow - 4_000))).toBeLessThan(5_000);
    expect(view.body.latency.sse).toHaveLength(LATENCY_BUCKETS_MS.length + 1);
  });

  test("the latency distribution sums every page's buckets", async () => {
    const before = (await call(server.url, instructor, "GET", "/class")).body.latency.websocket ?? new Array(12).fill(0);
    for (const name of ["Bo", "Cy"]) {
      const learner = await enter(server.url, name);
      const buckets = new Array(LATENCY_BUCKETS_MS.length + 1).fill(0);
      buckets[2] = 5;
      expect((await call(server.url, learner.token, "POST", "/class/checkin", checkin(`page-${name}-x`, { latency: { websocket: buckets } }))).status).toBe(200);
    }
    const after = (await call(server.url, instructor, "GET", "/class")).body.latency.websocket;
    expect(after[2] - before[2]).toBe(10);
  });

  test("a check-in with bad fields is a 400 that names them; another session cannot take over a page", async () => {
    const ada = await enter(server.url, "Ada");
    const bad = await call(server.url, ada.token, "POST", "/class/checkin", { page: "x", now: -1, view: "elsewhere", clients: [], events: [], latency: {} });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("invalid_body");
    expect(bad.body.error.message).toMatch(/page/);
    expect(bad.body.error.message).toMatch(/view/);
    const tooMany = await call(server.url, ada.token, "POST", "/class/checkin", checkin("page-many", { events: Array.from({ length: 101 }, (_, id) => ({ id, link: "page" as const, downAt: 1, at: 2 })) }));
    expect(tooMany.status).toBe(400);
    expect((await call(server.url, ada.token, "POST", "/class/checkin", "{not json")).status).toBe(400);
    expect((await call(server.url, ada.token, "POST", "/class/checkin", checkin("page-owned-by-ada"))).status).toBe(200);
    const mallory = await enter(server.url, "Mallory");
    const takeover = await call(server.url, mallory.token, "POST", "/class/checkin", checkin("page-owned-by-ada"));
    expect(takeover.status).toBe(403);
  });

  test("the instructor assigns a lab: every check-in hears it, and it survives a restart", async () => {
    const ada = await enter(server.url, "Ada");
    expect((await call(server.url, instructor, "PUT", "/class/assignment", { lab: "99-no-such-lab" })).status).toBe(404);
    expect((await call(server.url, instructor, "PUT", "/class/assignment", { lab: 3 })).status).toBe(400);
    const first = await call(server.url, instructor, "PUT", "/class/assignment", { lab: "03-reconnect-and-resume" });
    expect(first.status).toBe(200);
    const heard = await call(server.url, ada.token, "POST", "/class/checkin", checkin("page-ada-assign"));
    expect(heard.body.assignment).toMatchObject({ lab: "03-reconnect-and-resume", id: first.body.assignment.id });
    // Assigning again is a new assignment: pages that already opened it open it again.
    const again = await call(server.url, instructor, "PUT", "/class/assignment", { lab: "03-reconnect-and-resume" });
    expect(again.body.assignment.id).not.toBe(first.body.assignment.id);
    expect((await call(server.url, instructor, "PUT", "/class/settings", { jitter: false })).body.jitter).toBe(false);
    await server.restart(50);
    const afterRestart = await call(server.url, ada.token, "POST", "/class/checkin", checkin("page-ada-assign"));
    expect(afterRestart.status).toBe(200);
    expect(afterRestart.body).toMatchObject({ assignment: { id: again.body.assignment.id }, jitter: false });
    await call(server.url, instructor, "PUT", "/class/settings", { jitter: true });
    expect((await call(server.url, instructor, "PUT", "/class/assignment", { lab: null })).body.assignment).toBeNull();
  });

  test("submissions are judged by the server, replace a learner's earlier one, survive a restart and export as CSV", async () => {
    const ada = await enter(server.url, "Ada Lovelace");
    const bo = await enter(server.url, "=HYPERLINK(\"x\")");
    const result = pollingTaxResult();
    // Ada: right about the most requests and the slowest; wrong about short poll's median.
    const first = await call(server.url, ada.token, "POST", "/class/submissions", { result, answers: { "quiet-requests": "short-poll", slowest: "sse", "short-poll-latency": "2000" } });
    expect(first.status).toBe(201);
    const second = await call(server.url, ada.token, "POST", "/class/submissions", { result, answers: { "quiet-requests": "short-poll", slowest: "short-poll", "short-poll-latency": "2000" } });
    expect(second.status).toBe(201);
    const byId = Object.fromEntries(second.body.checks.map((c: { id: string }) => [c.id, c]));
    expect(byId["quiet-requests"]).toMatchObject({ given: "short-poll", answer: "short-poll", right: true });
    expect(byId.slowest).toMatchObject({ given: "short-poll", answer: "short-poll", right: true });
    expect(byId["short-poll-latency"]).toMatchObject({ given: "2000", answer: "1000", right: false });
    // Unanswered checkpoints are wrong, not missing.
    expect(byId["nothing-lost"]).toMatchObject({ given: null, right: false });
    expect((await call(server.url, bo.token, "POST", "/class/submissions", { result, answers: { slowest: "websocket" } })).status).toBe(201);

    await server.restart(50);
    const list = await call(server.url, instructor, "GET", "/class/submissions?lab=01-polling-tax");
    expect(list.status).toBe(200);
    const names = list.body.submissions.map((s: { user: { name: string } }) => s.user.name);
    // Ada's second submission replaced her first.
    expect(names.filter((n: string) => n === "Ada Lovelace")).toHaveLength(1);
    expect(names).toContain("=HYPERLINK(\"x\")");
    expect(list.body.submissions.find((s: { user: { name: string } }) => s.user.name === "Ada Lovelace").id).toBe(second.body.id);

    const csv = await call(server.url, instructor, "GET", "/class/submissions.csv?lab=01-polling-tax");
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toMatch(/^text\/csv/);
    expect(csv.headers.get("content-disposition")).toMatch(/attachment; filename="01-polling-tax-submissions.csv"/);
    const lines = csv.text.trim().split("\r\n");
    expect(lines[0]).toMatch(/^lab,name,user,submitted,right,of,quiet-requests answer,quiet-requests right,slowest answer/);
    const ada0 = lines.find((l) => l.includes("Ada Lovelace"))!;
    expect(ada0).toMatch(/^01-polling-tax,Ada Lovelace,[^,]+,\d{4}-\d\d-\d\dT[^,]+,2,5,short-poll,yes,short-poll,yes,2000,no/);
    // A name a spreadsheet would run as a formula is quoted as text.
    expect(csv.text).toContain(`"'=HYPERLINK(""x"")"`);

    // Ada reads her own; Bo may not read Ada's; nobody finds what does not exist.
    expect((await call(server.url, ada.token, "GET", `/class/submissions/${second.body.id}`)).body.result.lab.id).toBe("01-polling-tax");
    expect((await call(server.url, ada.token, "GET", "/class/submissions/mine")).body.submissions.map((s: { id: string }) => s.id)).toEqual([second.body.id]);
    const other = await call(server.url, bo.token, "GET", `/class/submissions/${second.body.id}`);
    expect(other.status).toBe(403);
    expect(other.body.error.code).toBe("forbidden");
    expect((await call(server.url, instructor, "GET", `/class/submissions/${second.body.id}`)).status).toBe(200);
    expect((await call(server.url, bo.token, "GET", "/class/submissions/00000000-0000-0000-0000-000000000000")).status).toBe(404);
  });

  test("a submission is checked: not a lab result, an unknown lab or too large is refused with a reason", async () => {
    const ada = await enter(server.url, "Ada");
    const result = pollingTaxResult();
    const broken = await call(server.url, ada.token, "POST", "/class/submissions", { result: { ...result, transports: "many" }, answers: {} });
    expect(broken.status).toBe(400);
    expect(broken.body.error.message).toMatch(/result\.transports/);
    const unknown = await call(server.url, ada.token, "POST", "/class/submissions", { result: { ...result, lab: { id: "99-nope", title: "x" } }, answers: {} });
    expect(unknown.status).toBe(404);
    const huge = { result: { ...result, timeline: Array.from({ length: 4_000 }, (_, t) => ({ t, transport: "sse", delivered: 1, requests: 1, latencyP50: 1.123456789 })) }, answers: { x: "y".repeat(200) } };
    const padded = { ...huge, answers: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`q${i}`, "z".repeat(200)])) };
    const tooLarge = await call(server.url, ada.token, "POST", "/class/submissions", JSON.stringify(padded).replace("\"answers\"", `"pad":"${"p".repeat(600_000)}","answers"`));
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body.error.code).toBe("payload_too_large");
  });
});

describe("who may do what on a class server", () => {
  let server: WirelabSupervisor;
  beforeAll(async () => {
    server = await startSupervisor({ autoInstructor: false, instructorKey: KEY, networkPort: 0 });
  });
  afterAll(() => server.close());

  // Every route that needs the instructor: the class's and the network & faults controls.
  const INSTRUCTOR_ROUTES: Array<[string, string, unknown?]> = [
    ["GET", "/class"],
    ["PUT", "/class/assignment", { lab: "01-polling-tax" }],
    ["PUT", "/class/settings", { jitter: false }],
    ["GET", "/class/submissions"],
    ["GET", "/class/submissions.csv"],
    ["GET", "/admin"],
    ["GET", "/admin/instances"],
    ["POST", "/admin/instances/abc/kill", {}],
    ["POST", "/admin/drop", { transport: "all" }],
    ["POST", "/admin/refuse", { seconds: 1 }],
    ["POST", "/admin/stall", { ms: 10 }],
    ["POST", "/admin/restart", {}],
    ["GET", "/admin/network"],
    ["PUT", "/admin/network", { conditions: { down: { latencyMs: 10 } } }],
    ["DELETE", "/admin/network", {}],
    ["POST", "/admin/network/drop", {}],
    ["POST", "/admin/network/blackhole", { on: true }],
  ];

  test("a learner's token gets 403 on every instructor route, and nothing changes", async () => {
    const learner = await enter(server.url, "Ada");
    expect(learner.role).toBe("learner");
    for (const [method, path, body] of INSTRUCTOR_ROUTES) {
      const answer = await call(server.url, learner.token, method, path, body);
      expect(answer.status, `${method} ${path}`).toBe(403);
      expect(answer.body.error.code, `${method} ${path}`).toBe("forbidden");
    }
    const instructor = (await enter(server.url, "Grace", { instructorKey: KEY })).token;
    const settings = await call(server.url, instructor, "GET", "/class");
    expect(settings.body).toMatchObject({ assignment: null, jitter: true });
    expect(server.restarts).toBe(0);
  });

  test("a forged or altered role claim is refused", async () => {
    const learner = await enter(server.url, "Ada");
    const [header, payload, signature] = learner.token.split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
    expect(claims.role).toBe("learner");
    const altered = `${header}.${Buffer.from(JSON.stringify({ ...claims, role: "instructor" })).toString("base64url")}.${signature}`;
    const unsigned = `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${Buffer.from(JSON.stringify({ ...claims, role: "instructor" })).toString("base64url")}.`;
    const { SignJWT } = await import("jose");
    const otherKey = await new SignJWT({ name: "Ada", role: "instructor" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(claims.sub)
      .setIssuer("wirelab")
      .setIssuedAt()
      .setExpirationTime("10m")
      .sign(new TextEncoder().encode("a-secret-that-is-not-the-servers"));
    for (const [what, token] of [["altered payload", altered], ["alg none", unsigned], ["signed with another key", otherKey]] as const) {
      const answer = await call(server.url, token, "GET", "/class");
      expect(answer.status, what).toBe(401);
      expect(answer.body.error.code, what).toBe("unauthorized");
    }
  });

  test("the key is taken from the session request's body only, never from a URL", async () => {
    const viaQuery = await fetch(`${server.url}/v1/session?instructorKey=${KEY}&key=${KEY}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "Eve" }),
    });
    expect(viaQuery.status).toBe(201);
    expect((await viaQuery.json()).user.role).toBe("learner");
    // Nor does a token in the URL of a learner carry more than the token says.
    const learner = await enter(server.url, "Ada");
    const answer = await fetch(`${server.url}/v1/class?token=${learner.token}&instructorKey=${KEY}`);
    expect(answer.status).toBe(403);
  });
});

describe("a class code", () => {
  test("learners must give it to join; the instructor joins with the key alone", async () => {
    const server = await startSupervisor({ autoInstructor: false, instructorKey: KEY, classCode: "blue-42", networkPort: null });
    stops.push(() => server.close());
    expect(await (await fetch(`${server.url}/v1/session/options`)).json()).toMatchObject({ classCode: true });
    const attempt = (body: Record<string, unknown>) =>
      fetch(`${server.url}/v1/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "Ada", ...body }) }).then(async (r) => ({ status: r.status, body: await r.json() }));
    const none = await attempt({});
    expect(none.status).toBe(403);
    expect(none.body.error).toMatchObject({ code: "class_code_required", message: expect.stringMatching(/class code/) });
    expect((await attempt({ classCode: "blue-43" })).body.error.message).toMatch(/not right/);
    expect((await attempt({ classCode: " blue-42 " })).status).toBe(201);
    const instructor = await attempt({ instructorKey: KEY });
    expect(instructor.status).toBe(201);
    expect(instructor.body.user.role).toBe("instructor");
  });

  test("wrong class codes are guesses at a secret: they draw on the address's budget of wrong keys", async () => {
    const server = await startSupervisor({ autoInstructor: false, instructorKey: KEY, classCode: "blue-42", networkPort: null, instructorKeyFailuresPerMinute: 2 });
    stops.push(() => server.close());
    const attempt = (classCode: string) =>
      fetch(`${server.url}/v1/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "Eve", classCode }) }).then(async (r) => ({ status: r.status, body: await r.json() }));
    expect((await attempt("red-1")).status).toBe(403);
    expect((await attempt("red-2")).status).toBe(403);
    const throttled = await attempt("blue-42");
    expect(throttled.status).toBe(429);
    expect(throttled.body.error.code).toBe("rate_limited");
  });

  test("without one, the join form is told so", async () => {
    const server = await startSupervisor({ autoInstructor: false, instructorKey: KEY, networkPort: null });
    stops.push(() => server.close());
    expect(await (await fetch(`${server.url}/v1/session/options`)).json()).toMatchObject({ classCode: false, joinUrls: [expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/$/)] });
  });
});

describe("a class on a cluster", () => {
  test("a page that checks in with one instance, and its hand-in, are seen through another", async () => {
    const prefix = testPrefix();
    const { startServer } = await import("../../helpers.js");
    const options = { autoInstructor: false, instructorKey: KEY, redisUrl: SHARED_REDIS, redisPrefix: prefix };
    const a = await startServer(options);
    const b = await startServer(options);
    stops.push(() => deleteKeys(SHARED_REDIS, prefix), () => a.close(), () => b.close());
    const ada = await enter(a.url, "Ada");
    const instructor = (await enter(b.url, "Grace", { instructorKey: KEY })).token;
    expect((await call(a.url, ada.token, "POST", "/class/checkin", checkin("page-on-a"))).status).toBe(200);
    expect((await call(a.url, ada.token, "POST", "/class/submissions", { result: pollingTaxResult(), answers: { slowest: "short-poll" } })).status).toBe(201);
    const view = await call(b.url, instructor, "GET", "/class");
    expect(view.body.roster.find((r: { page: string }) => r.page === "page-on-a")).toMatchObject({ user: { name: "Ada" }, instance: a.instance });
    const list = await call(b.url, instructor, "GET", "/class/submissions");
    expect(list.body.submissions.map((s: { user: { name: string } }) => s.user.name)).toEqual(["Ada"]);
    // An assignment made through b reaches a page checking in with a.
    await call(b.url, instructor, "PUT", "/class/assignment", { lab: "02-latency-and-bursts" });
    expect((await call(a.url, ada.token, "POST", "/class/checkin", checkin("page-on-a"))).body.assignment.lab).toBe("02-latency-and-bursts");
  });
});
