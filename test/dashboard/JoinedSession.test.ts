/**
 * The page's joined session, against real servers: joining gives a running keeper with the user
 * and everything the views need; the form's words for a refusal; which clients run for which
 * view; an assignment and the class's jitter reaching a learner; leaving; a token that ran out.
 */
import { EventSource } from "eventsource";
import { WebSocket } from "ws";
import { describe, expect, test } from "vitest";
import type { FetchLike } from "../../web/src/isomorphic/kit/JsonClient.js";
import { JoinedSession, SESSION_EXPIRED_TEXT, joinErrorText, joinFormStart, type JoinRequest, type JoinedSessionOptions } from "../../web/src/viewmodels/JoinedSession.js";
import { TRANSPORTS, startServer, stopsAfterEach, until } from "../helpers.js";

const stops = stopsAfterEach();

const clientOptions = { EventSource: EventSource as never, WebSocket: WebSocket as never, intervalMs: 50, waitMs: 5_000, backoff: { baseMs: 50, capMs: 200 } };

async function server(options: Parameters<typeof startServer>[0] = {}) {
  const started = await startServer(options);
  stops.push(() => started.close());
  return started;
}

async function join(on: { url: string }, request: JoinRequest, options: Partial<JoinedSessionOptions> = {}): Promise<JoinedSession> {
  const joined = await JoinedSession.join(request, { baseUrl: on.url, clientOptions, checkinMs: 50, tickMs: 100, ...options });
  stops.push(() => joined.leave());
  return joined;
}

/** A Storage in memory. */
function memoryStorage() {
  const items = new Map<string, string>();
  return { items, getItem: (key: string) => items.get(key) ?? null, setItem: (key: string, value: string) => void items.set(key, value) };
}

/** The platform's fetch, counting the requests to each path. */
function countingFetch(): { fetch: FetchLike; count(path: string): number } {
  const counts = new Map<string, number>();
  const fetch: FetchLike = (input, init) => {
    const path = new URL(input instanceof Request ? input.url : String(input)).pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    return globalThis.fetch(input, init);
  };
  return { fetch, count: (path) => counts.get(path) ?? 0 };
}

test("joining gives a running keeper with the user, the room and what the labs need, and remembers the name", async () => {
  const on = await server();
  const storage = memoryStorage();
  const joined = await join(on, { name: "ada", room: "js-lobby" }, { storage: () => storage, joinUrls: ["http://10.0.0.5:8080/"] });
  expect(joined.user).toMatchObject({ name: "ada", role: "instructor" }); // loopback: everyone is the instructor
  expect(joined.keeper.state).toBe("running");
  expect(joined.room).toBe("js-lobby");
  expect(joined.feedUrl).toBe(on.url); // no network emulator in front of this server
  expect(joined.left).toBe(false);
  expect(joined.labEnv).toMatchObject({ baseUrl: on.url, role: "instructor", joinUrls: ["http://10.0.0.5:8080/"], learner: { name: "ada" } });
  expect(joined.labEnv.token()).toBe(joined.keeper.token);
  expect((await joined.catalog.list()).labs.map((lab) => lab.id)).toContain("03-reconnect-and-resume");
  // The form offers the name next time, and the room and key field the address asks for.
  expect(storage.items.get("wirelab.name")).toBe("ada");
  expect(joinFormStart(new URL(`${on.url}/?room=js-lobby&instructor`), () => storage)).toEqual({ name: "ada", room: "js-lobby", instructor: true });
  expect(joinFormStart(new URL(`${on.url}/?room=${"x".repeat(500)}`))).toEqual({ name: "", room: "lobby", instructor: false });
  const refusing = () => ({ getItem: (): string | null => { throw new Error("storage is disabled"); } });
  expect(joinFormStart(new URL(on.url), refusing).name).toBe("");
});

test("the workbench's four clients run while the workbench is shown, reported to the class; another view closes them", async () => {
  const on = await server();
  const joined = await join(on, { name: "ada", room: "js-views" });
  let changes = 0;
  joined.on("change", () => changes++);
  const first = await joined.show("workbench");
  expect(first).toBe(joined.workbench);
  expect(first!.keeper).toBe(joined.keeper);
  await until(() => TRANSPORTS.every((t) => first!.monitors[t].state === "open"), "all four open");
  expect(joined.link.report().clients.map((c) => c.transport).sort()).toEqual([...TRANSPORTS].sort());
  expect(joined.link.report().view).toBe("workbench");

  expect(await joined.show("lab", "03-reconnect-and-resume")).toBeUndefined();
  expect(joined.workbench).toBeUndefined();
  for (const t of TRANSPORTS) expect(first!.monitors[t].state).toBe("closed");
  expect(joined.link.report()).toMatchObject({ view: "lab", lab: "03-reconnect-and-resume", clients: [] });
  expect(changes).toBe(1);

  // Back on the workbench: a new one, on the same session.
  const second = await joined.show("workbench");
  expect(second).not.toBe(first);
  expect(second!.user).toEqual(first!.user);
  await until(() => TRANSPORTS.every((t) => second!.monitors[t].state === "open"), "all four open again");
  expect(joined.link.report().clients).toHaveLength(4);
  expect(changes).toBe(2);
});

test("joining into another view than the workbench opens none of its clients", async () => {
  const on = await server();
  const joined = await join(on, { name: "ada", room: "js-labs-first" });
  const unstarted = joined.workbench!;
  await joined.show("labs");
  expect(joined.workbench).toBeUndefined();
  for (const t of TRANSPORTS) expect(unstarted.monitors[t].counters.requests).toBe(0);
});

test("leaving stops the keeper, the check-ins and the workbench, and nothing starts again", async () => {
  const on = await server();
  const counting = countingFetch();
  const joined = await join(on, { name: "ada", room: "js-leave" }, { fetch: counting.fetch });
  const workbench = (await joined.show("workbench"))!;
  await until(() => counting.count("/v1/class/checkin") >= 2, "two check-ins");
  joined.leave();
  expect(joined.left).toBe(true);
  expect(joined.keeper.state).toBe("stopped");
  expect(joined.workbench).toBeUndefined();
  for (const t of TRANSPORTS) expect(workbench.monitors[t].state).toBe("closed");
  const checkins = counting.count("/v1/class/checkin");
  expect(await joined.show("workbench")).toBeUndefined();
  await new Promise((r) => setTimeout(r, 300)); // six check-in intervals
  expect(counting.count("/v1/class/checkin")).toBeLessThanOrEqual(checkins + 1); // one may have been under way
  expect(joined.workbench).toBeUndefined();
});

describe("on a class server (learners give the class code, the instructor the key)", () => {
  const instructorKey = "the-class-instructor-key";
  const classOptions = { autoInstructor: false, instructorKey, classCode: "blue-42" };

  test("a refusal is the server's words, as the join form shows them, and the name is not remembered", async () => {
    const on = await server(classOptions);
    const storage = memoryStorage();
    const refusal = (request: JoinRequest) => join(on, request, { storage: () => storage }).then(() => "joined", joinErrorText);
    expect(await refusal({ name: "ms-lee", room: "js-class", instructorKey: "not-the-class-key" })).toBe("Could not join: the instructor key is not valid");
    expect(await refusal({ name: "student", room: "js-class", classCode: "red-1" })).toBe("Could not join: the class code is not right: ask your instructor");
    expect(await refusal({ name: "student", room: "js-class" })).toBe("Could not join: this class asks for its class code: ask your instructor");
    expect(storage.items.size).toBe(0);
    const learner = await join(on, { name: "student", room: "js-class", classCode: "blue-42" }, { storage: () => storage });
    expect(learner.user.role).toBe("learner");
    expect(storage.items.get("wirelab.name")).toBe("student");
  });

  test("too many wrong keys: the form says when to try again", async () => {
    const on = await server({ ...classOptions, instructorKeyFailuresPerMinute: 1 });
    const wrong = () => join(on, { name: "guess", room: "js-class", instructorKey: "wrong" }).then(() => "joined", joinErrorText);
    expect(await wrong()).toBe("Could not join: the instructor key is not valid");
    expect(await wrong()).toMatch(/^Could not join: too many wrong instructor keys or class codes from this address: wait before trying again \(try again in \d+ s\)$/);
  });

  test("a learner hears the instructor's assignment, by the lab's title, and the class's jitter; only the instructor has the class view", async () => {
    const on = await server(classOptions);
    const instructor = await join(on, { name: "ms-lee", room: "js-class", instructorKey });
    const learner = await join(on, { name: "student", room: "js-class", classCode: "blue-42" });
    await Promise.all([instructor.show("class"), learner.show("labs")]);
    expect(instructor.classMonitor).toBeDefined();
    expect(instructor.classControls).toBeDefined();
    await learner.show("class");
    expect(learner.classMonitor).toBeUndefined();

    const assigned: Array<{ id: string; title: string }> = [];
    learner.on("assigned", (lab) => assigned.push(lab));
    instructor.on("assigned", (lab) => assigned.push(lab)); // the instructor's own page stays where it is
    await instructor.classMonitor!.assign("03-reconnect-and-resume");
    await until(() => assigned.length > 0, "the learner to hear the assignment");
    expect(assigned).toEqual([{ id: "03-reconnect-and-resume", title: "Reconnect and resume" }]);

    expect(learner.random()).toBeLessThan(0.999_999);
    await instructor.classMonitor!.setJitter(false);
    await until(() => !learner.link.jitter, "the learner to hear jitter is off");
    expect(learner.random()).toBe(0.999_999); // each client waits its full backoff
    await new Promise((r) => setTimeout(r, 200));
    expect(assigned).toHaveLength(1); // once per assignment
  });
});

test("a token the server refuses to refresh (it ran out): the session leaves and says so", async () => {
  const on = await server({ tokenTtlSeconds: 2 });
  // The keeper's refresh reaches the server only after the token has run out: the server says 401.
  let expiresAt = Infinity;
  const late: FetchLike = async (input, init) => {
    if (String(input instanceof Request ? input.url : input).endsWith("/v1/session/refresh")) {
      await until(() => Date.now() > expiresAt + 200, "the token to run out", 5_000);
    }
    return globalThis.fetch(input, init);
  };
  const joined = await join(on, { name: "ada", room: "js-expired" }, { fetch: late });
  expiresAt = joined.keeper.expiresAt;
  const texts: string[] = [];
  joined.on("expired", (text) => texts.push(text));
  await joined.show("labs");
  await until(() => texts.length > 0, "the session to expire", 8_000);
  expect(texts).toEqual([SESSION_EXPIRED_TEXT]);
  expect(joined.left).toBe(true);
  expect(joined.keeper.state).toBe("stopped");
}, 15_000);
