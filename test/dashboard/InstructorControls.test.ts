/** The network & faults model against a real supervised server with its emulator. */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { WirelabSupervisor } from "../../server/WirelabSupervisor.js";
import { WorkbenchApi } from "../../web/src/isomorphic/kit/WorkbenchApi.js";
import { InstructorControls } from "../../web/src/viewmodels/InstructorControls.js";
import { client, connected, session, startSupervisor, until } from "../helpers.js";

let supervisor: WirelabSupervisor;
let controls: InstructorControls;
let changes = 0;

beforeAll(async () => {
  supervisor = await startSupervisor();
  const { token } = await session(supervisor);
  controls = new InstructorControls(new WorkbenchApi(supervisor.url, token));
  controls.on("change", () => changes++);
  await controls.refresh();
});
afterAll(() => supervisor.close());

const texts = () => controls.describe().map((f) => f.text);

describe("InstructorControls", () => {
  test("reads the presets and the calm state", () => {
    expect(controls.presets).toEqual(expect.arrayContaining(["none", "slow-3g", "flaky-wifi", "offline"]));
    expect(controls.describe()).toEqual([{ text: "network: no emulation", calm: true }]);
    expect(controls.status?.canRestart).toBe(true);
    // On its own, the workbench is no cluster: nothing to kill, the bar shows no instances.
    expect(controls.instances).toMatchObject({ clustered: false, instances: [{ id: supervisor.current.instance, self: true }] });
    expect(changes).toBeGreaterThan(0);
  });

  test("a preset for one transport is applied, read back and described", async () => {
    await controls.applyPreset("slow-3g", "long-poll");
    expect(supervisor.network!.conditions().transports["long-poll"]?.preset).toBe("slow-3g");
    expect(texts()).toContain("long-poll: slow-3g");
    expect(controls.message).toMatchObject({ kind: "ok", text: "Network for long-poll: slow-3g" });
    await controls.applyPreset("none", "all");
    expect(texts()).toEqual(["network: no emulation"]);
  });

  test("black hole on and off", async () => {
    await controls.blackhole(true, "sse");
    expect(texts()).toContain("black hole: sse");
    await controls.blackhole(false, "sse");
    expect(texts().some((t) => t.startsWith("black hole"))).toBe(false);
  });

  test("dropping on the server counts the connections it cut", async () => {
    const { token } = await session(supervisor);
    const ws = client(supervisor, "websocket", token);
    await connected(ws);
    await controls.dropServer("websocket");
    expect(controls.message?.text).toBe("The server dropped websocket connections: 1 connection");
    await until(() => ws.stats.counters.reconnects >= 1, "the client to reconnect");
    ws.close();
  });

  test("a refused call is reported as a message, not thrown", async () => {
    await controls.applyPreset("dial-up", "all");
    expect(controls.message?.kind).toBe("error");
    expect(controls.message?.text).toMatch(/failed: .*preset must be one of/);
    expect(controls.busy).toBeNull();
  });

  test("refusing new connections shows until when", async () => {
    await controls.refuse(1);
    expect(texts().some((t) => /^refusing new connections for \d s$/.test(t))).toBe(true);
    await until(() => supervisor.current.faults.status().refusingUntil === null, "the door to open", 5_000);
  });
});
