/**
 * Lab 08 for a class of 30: thirty learners' pages (a ClassLink each, with the workbench's four
 * clients, whose backoff reads the class's jitter) on one class server. The instructor's
 * ClassMonitor restarts the server without jitter, then with it; every learner's clients come
 * back after each restart and each wave names all thirty. The spreads are printed (they are
 * measurements, not assertions: a noisy machine moves them).
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import type { WirelabSupervisor } from "../../../server/WirelabSupervisor.js";
import type { FeedClient } from "../../../web/src/isomorphic/kit/index.js";
import { ClassLink } from "../../../web/src/viewmodels/ClassLink.js";
import { ClassMonitor } from "../../../web/src/viewmodels/ClassMonitor.js";
import { TRANSPORTS } from "../../../web/src/isomorphic/protocol/index.js";
import { client, startSupervisor, until } from "../../helpers.js";

const KEY = "class-key-for-tests";
const CLASS_SIZE = 30;
let server: WirelabSupervisor;
const links: ClassLink[] = [];
const clients: FeedClient[] = [];

async function enter(name: string, extra: Record<string, unknown> = {}) {
  const response = await fetch(`${server.url}/v1/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name, ...extra }) });
  return (await response.json()) as { token: string };
}

beforeAll(async () => {
  // Thirty learners from one address: sessions and stream opens are per address.
  server = await startSupervisor({ autoInstructor: false, instructorKey: KEY, networkPort: null, sessionsPerMinute: 100, connectsPerMinute: 1_000 });
  for (let i = 0; i < CLASS_SIZE; i++) {
    const { token } = await enter(`learner-${String(i + 1).padStart(2, "0")}`);
    const link = new ClassLink({ baseUrl: server.url, token: () => token, intervalMs: 1_000 });
    for (const transport of TRANSPORTS) {
      // The dashboard's timings: short poll every 2 s, backoff from 500 ms.
      const c = client(server, transport, token, { room: "storm", intervalMs: 2_000, backoff: { baseMs: 500, capMs: 8_000 }, random: () => (link.jitter ? Math.random() : 0.999_999) });
      link.watch(c);
      c.connect();
      clients.push(c);
    }
    link.start();
    links.push(link);
  }
  await until(() => clients.every((c) => c.state === "open"), "every learner's clients to open", 30_000);
}, 60_000);

afterAll(async () => {
  for (const link of links) link.stop();
  for (const c of clients) c.close();
  await server?.close();
});

test("a class of 30 reconnects after a restart without jitter and with it; each wave names every learner", async () => {
  const monitor = new ClassMonitor({ baseUrl: server.url, token: () => instructorToken, intervalMs: 1_000 });
  const instructorToken = (await enter("Grace", { instructorKey: KEY })).token;
  monitor.start();
  try {
    await until(() => monitor.roster.filter((r) => r.user.role === "learner").length === CLASS_SIZE, "the whole class in the roster", 15_000);
    for (const [i, jitter] of [false, true].entries()) {
      await monitor.restartStorm(jitter, 1_000);
      expect(monitor.message).toMatch(/^Restarted/);
      await until(() => (monitor.waves()[i]?.pages ?? 0) === CLASS_SIZE && (monitor.waves()[i]?.spreadByLink.websocket !== undefined), `wave ${i + 1} to name everyone`, 40_000);
      await until(() => clients.every((c) => c.state === "open"), "every client open again", 40_000);
      // Let the last check-ins of the wave arrive.
      await new Promise((r) => setTimeout(r, 2_500));
      await monitor.refresh();
      const wave = monitor.waves()[i]!;
      expect(wave.pages).toBe(CLASS_SIZE);
      expect(wave.reconnects).toBeGreaterThanOrEqual(CLASS_SIZE * 3);
      console.log(`class of ${CLASS_SIZE}, restart ${jitter ? "with full jitter" : "without jitter"}: ${wave.reconnects} clients back; first to last: WebSocket ${wave.spreadByLink.websocket} ms, SSE ${wave.spreadByLink.sse} ms, long poll ${wave.spreadByLink["long-poll"]} ms, all ${wave.spreadMs} ms; restart to last ${wave.lastMs} ms`);
    }
  } finally {
    monitor.stop();
  }
}, 180_000);
