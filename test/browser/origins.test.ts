/**
 * A foreign web page in a real Chromium (served by a second tiny HTTP server, so another origin)
 * tries what any page the user visits could try against a loopback workbench: make itself a
 * session, read /v1/admin and stall the server with a token it got elsewhere, open the room's
 * WebSocket. Each is refused, and the server's log says so. The same calls from the server's own
 * page, on the server's port and on the network emulator's, still work.
 */
import { createServer, type Server } from "node:http";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { WirelabSupervisor } from "../../server/WirelabSupervisor.js";
import { TEST_SECRET, session, tempDir } from "../helpers.js";
import { launchChromium } from "./chromium.js";

const PAGE = "<!doctype html><title>a page</title><p>nothing to see</p>";

let supervisor: WirelabSupervisor;
let foreign: Server;
let foreignUrl: string;
let webRoot: ReturnType<typeof tempDir>;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let page: Page;
let token: string;
const logLines: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  webRoot = tempDir();
  writeFileSync(join(webRoot.dir, "index.html"), PAGE);
  // The server's own log, kept so the test can read what it refused.
  const logger = pino({ level: "info" }, { write: (line: string) => void logLines.push(JSON.parse(line)) });
  supervisor = await WirelabSupervisor.start({ port: 0, memory: true, secret: TEST_SECRET, webRoot: webRoot.dir }, logger);
  token = (await session(supervisor)).token;
  foreign = createServer((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end(PAGE));
  await new Promise<void>((resolve) => foreign.listen(0, "127.0.0.1", resolve));
  foreignUrl = `http://127.0.0.1:${(foreign.address() as { port: number }).port}/`;
  browser = await launchChromium({ width: 800, height: 600 });
  page = browser.context.pages()[0] ?? (await browser.context.newPage());
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await supervisor?.close();
  await new Promise((resolve) => foreign?.close(resolve));
  webRoot?.cleanup();
});

interface Attempts {
  sessionPlain: string;
  sessionJson: string;
  admin: string;
  stall: string;
  websocket: string[];
}

/** Run the four attempts in the page against `base`; each ends as a status, a role, or an error name. */
function attempt(base: string): Promise<Attempts> {
  return page.evaluate(
    async ({ base, token }) => {
      const outcome = async (answer: Promise<Response>) => {
        try {
          const response = await answer;
          const body = await response.json().catch(() => null);
          return `${response.status}${body?.user ? ` ${body.user.role}` : ""}`;
        } catch (error) {
          return (error as Error).name;
        }
      };
      const name = JSON.stringify({ name: "mallory" });
      const websocket = await new Promise<string[]>((resolve) => {
        const events: string[] = [];
        const ws = new WebSocket(`${base.replace("http", "ws")}/v1/rooms/lobby/ws?token=${token}`);
        ws.onopen = () => {
          events.push("open");
          ws.close();
        };
        ws.onerror = () => events.push("error");
        ws.onclose = () => resolve([...events, "close"]);
      });
      return {
        // A text/plain body is a "simple" request: no preflight asks first.
        sessionPlain: await outcome(fetch(`${base}/v1/session`, { method: "POST", body: name })),
        sessionJson: await outcome(fetch(`${base}/v1/session`, { method: "POST", headers: { "content-type": "application/json" }, body: name })),
        admin: await outcome(fetch(`${base}/v1/admin`, { headers: { authorization: `Bearer ${token}` } })),
        stall: await outcome(fetch(`${base}/v1/admin/stall?token=${token}`, { method: "POST", body: JSON.stringify({ ms: 50 }) })),
        websocket,
      };
    },
    { base, token },
  );
}

const refusals = (origin: string) =>
  logLines.filter((l) => l.origin === origin && l.status === 403).map((l) => `${l.method} ${String(l.path)}`);

describe("a foreign page", () => {
  test("is refused everything, on the server's port and on the emulator's", async () => {
    await page.goto(foreignUrl);
    const origin = new URL(foreignUrl).origin;
    for (const base of [supervisor.url, supervisor.network!.url]) {
      const tried = await attempt(base);
      // The browser learns nothing: no CORS leave, so every fetch fails as a network error.
      expect(tried, base).toEqual({ sessionPlain: "TypeError", sessionJson: "TypeError", admin: "TypeError", stall: "TypeError", websocket: ["error", "close"] });
    }
    // The server saw and refused each: the simple requests, the preflights, the upgrade.
    const refused = refusals(origin);
    for (const what of ["POST /v1/session", "OPTIONS /v1/session", "OPTIONS /v1/admin", "POST /v1/admin/stall", "GET /v1/rooms/lobby/ws"]) {
      expect(refused, what).toContain(what);
    }
    expect(logLines.some((l) => l.fault === "stall")).toBe(false);
  });
});

describe("the server's own page", () => {
  test("still gets sessions (instructor on loopback), admin and the WebSocket", async () => {
    const own = { sessionPlain: "415", sessionJson: "201 instructor", admin: "200", stall: "415", websocket: ["open", "close"] };
    await page.goto(`${supervisor.url}/`);
    // Same origin, and across to the emulator (the dashboard's panels cross it).
    expect(await attempt(supervisor.url)).toEqual(own);
    expect(await attempt(supervisor.network!.url)).toEqual(own);
    // A page loaded through the emulator calls the server's port.
    await page.goto(`${supervisor.network!.url}/`);
    expect(await attempt(supervisor.url)).toEqual(own);
  });
});
