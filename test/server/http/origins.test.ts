/**
 * Origins and hosts, from Node with real sockets: a foreign Origin is refused (HTTP, SSE and
 * WebSocket upgrades), an allowed one is reflected in CORS, a foreign Host (DNS rebinding) is
 * refused, JSON endpoints want a JSON content type, and a widened allow-list grants no
 * instructor role.
 */
import { OriginPolicy } from "../../../server/http/OriginPolicy.js";
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { WebSocket } from "ws";
import type { Wirelab } from "../../../server/app.js";
import { resolveConfig } from "../../../server/config.js";
import type { WirelabSupervisor } from "../../../server/WirelabSupervisor.js";
import { session, startServer, startSupervisor } from "../../helpers.js";

const EVIL = "http://evil.example";

let server: Wirelab;
let token: string;
let port: number;

beforeAll(async () => {
  server = await startServer();
  port = Number(new URL(server.url).port);
  token = (await session(server)).token;
});

afterAll(async () => {
  await server?.close();
});

/** A raw HTTP exchange, so Host can be anything (fetch will not send a Host of our choosing). */
function raw(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? "GET", headers: options.headers ?? {}, agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON: keep the text
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    // A refusal is immediate; an open stream (the bug) must not hang the test.
    req.setTimeout(5_000, () => req.destroy(new Error("no answer within 5 s (a stream left open?)")));
    req.on("error", reject);
    req.end(options.body);
  });
}

/** A WebSocket upgrade: the HTTP status and body of a refusal, or "open". */
function upgrade(url: string, options: { origin?: string; host?: string } = {}): Promise<{ status: number | "open"; body?: any }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { ...(options.origin && { origin: options.origin }), ...(options.host && { headers: { host: options.host } }) });
    ws.once("open", () => {
      ws.close();
      resolve({ status: "open" });
    });
    ws.once("unexpected-response", (_req, res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    ws.once("error", (error) => reject(error));
  });
}

const wsUrl = (s: { url: string }, t = token) => `${s.url.replace("http", "ws")}/v1/rooms/lobby/ws?token=${t}`;

describe("a foreign Origin", () => {
  test("is refused at the session route, whatever the content type", async () => {
    for (const type of ["text/plain", "application/json"]) {
      const answer = await raw(`${server.url}/v1/session`, {
        method: "POST",
        headers: { origin: EVIL, "content-type": type },
        body: JSON.stringify({ name: "mallory" }),
      });
      expect(answer.status).toBe(403);
      expect(answer.body.error.code).toBe("forbidden_origin");
      expect(answer.headers["access-control-allow-origin"]).toBeUndefined();
    }
  });

  test("gets a 403 preflight, and no CORS leave to read anything", async () => {
    const preflight = await raw(`${server.url}/v1/admin`, {
      method: "OPTIONS",
      headers: { origin: EVIL, "access-control-request-method": "GET", "access-control-request-headers": "authorization" },
    });
    expect(preflight.status).toBe(403);
    expect(preflight.headers["access-control-allow-origin"]).toBeUndefined();
    const admin = await raw(`${server.url}/v1/admin?token=${token}`, { headers: { origin: EVIL } });
    expect(admin.status).toBe(403);
    expect(admin.body.error.code).toBe("forbidden_origin");
  });

  test("cannot stall the server (the confirmed attack: text/plain, token in the query)", async () => {
    const answer = await raw(`${server.url}/v1/admin/stall?token=${token}`, {
      method: "POST",
      headers: { origin: EVIL, "content-type": "text/plain" },
      body: JSON.stringify({ ms: 1000 }),
    });
    expect(answer.status).toBe(403);
    expect(answer.body.error.code).toBe("forbidden_origin");
  });

  test("cannot open an SSE stream", async () => {
    const answer = await raw(`${server.url}/v1/rooms/lobby/events?token=${token}`, { headers: { origin: EVIL } });
    expect(answer.status).toBe(403);
    expect(answer.body.error.code).toBe("forbidden_origin");
  });

  test("cannot open a WebSocket (cross-site WebSocket hijacking)", async () => {
    const refused = await upgrade(wsUrl(server), { origin: EVIL });
    expect(refused).toEqual({ status: 403, body: { error: { code: "forbidden_origin", message: expect.stringContaining("evil.example") } } });
    // "null" is what a sandboxed frame or a file:// page sends: not ours either.
    expect((await upgrade(wsUrl(server), { origin: "null" })).status).toBe(403);
    // Another port on this machine is another origin (another program's page).
    expect((await upgrade(wsUrl(server), { origin: "http://127.0.0.1:9" })).status).toBe(403);
  });
});

describe("the server's own origin, and no Origin at all", () => {
  test("a client without Origin (curl, the Node kit, the CLI) passes", async () => {
    expect((await upgrade(wsUrl(server))).status).toBe("open");
    const sent = await raw(`${server.url}/v1/rooms/lobby/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ id: "no-origin", text: "hi" }),
    });
    expect(sent.status).toBe(201);
  });

  test("its own origin is reflected in CORS, with Vary: Origin, never *", async () => {
    for (const own of [`http://127.0.0.1:${port}`, `http://localhost:${port}`, `http://[::1]:${port}`]) {
      const preflight = await raw(`${server.url}/v1/rooms/lobby/messages`, {
        method: "OPTIONS",
        headers: { origin: own, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers["access-control-allow-origin"]).toBe(own);
      expect(String(preflight.headers.vary)).toMatch(/origin/i);
      expect((await upgrade(wsUrl(server), { origin: own })).status).toBe("open");
    }
    const poll = await raw(`${server.url}/v1/rooms/lobby/messages?token=${token}`, {});
    expect(poll.headers["access-control-allow-origin"]).toBeUndefined();
    expect(String(poll.headers.vary)).toMatch(/origin/i);
  });

  test("the network emulator's port is an origin of the dashboard too", async () => {
    const supervisor: WirelabSupervisor = await startSupervisor();
    try {
      const emulator = `http://127.0.0.1:${supervisor.network!.port}`;
      const { token: t } = await session(supervisor);
      expect((await upgrade(wsUrl(supervisor, t), { origin: emulator })).status).toBe("open");
      // A page on the server's port whose clients cross the emulator.
      const across = await raw(`${emulator}/v1/rooms/lobby/messages?token=${t}`, { headers: { origin: supervisor.url } });
      expect(across.status).toBe(200);
      expect(across.headers["access-control-allow-origin"]).toBe(supervisor.url);
    } finally {
      await supervisor.close();
    }
  });

  test("the session route grants instructor only to the server's own pages", async () => {
    const own = await raw(`${server.url}/v1/session`, {
      method: "POST",
      headers: { origin: `http://localhost:${port}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "me" }),
    });
    expect(own.status).toBe(201);
    expect(own.body.user.role).toBe("instructor");
    // Someone widened the allow-list: that origin may call, but is no instructor without the key.
    const widened = await startServer({ allowedOrigins: ["http://lab.example:3000"] });
    try {
      const answer = await raw(`${widened.url}/v1/session`, {
        method: "POST",
        headers: { origin: "http://lab.example:3000", "content-type": "application/json" },
        body: JSON.stringify({ name: "guest" }),
      });
      expect(answer.status).toBe(201);
      expect(answer.headers["access-control-allow-origin"]).toBe("http://lab.example:3000");
      expect(answer.body.user.role).toBe("learner");
    } finally {
      await widened.close();
    }
  });
});

test("a page opened at a proxy in front of the server (the cluster's front door) is its own", async () => {
  const behindDoor = await startServer({ proxyPorts: [54_321] });
  try {
    const answer = await raw(`${behindDoor.url}/v1/session`, {
      method: "POST",
      headers: { origin: "http://localhost:54321", "content-type": "application/json" },
      body: JSON.stringify({ name: "door" }),
    });
    expect(answer.status).toBe(201);
    expect(answer.body.user.role).toBe("instructor");
  } finally {
    await behindDoor.close();
  }
});

describe("a class server (bound to every address)", () => {
  // A LAN address the test machine may not have: the policy is given it as one of its interfaces.
  const LAN = "192.0.2.77";
  const classPolicy = () => {
    const policy = new OriginPolicy({
      host: "0.0.0.0",
      allowedOrigins: [],
      allowedHosts: [],
      proxyPorts: [],
      emulatorPort: () => 8081,
      interfaces: () => ({ eth0: [{ address: LAN, family: "IPv4", internal: false, netmask: "255.255.255.0", mac: "00:00:00:00:00:00", cidr: `${LAN}/24` }] }),
    });
    policy.listenOn(8080);
    return policy;
  };

  test("pages opened at this machine's own addresses are its own, on the server's and the emulator's port", () => {
    const policy = classPolicy();
    expect(policy.isOwnOrigin(`http://${LAN}:8080`)).toBe(true);
    expect(policy.isOwnOrigin(`http://${LAN}:8081`)).toBe(true);
    expect(policy.hostAllowed(`${LAN}:8080`)).toBe(true);
    // Another port of the same machine, or another machine of the LAN, is not this server.
    expect(policy.isOwnOrigin(`http://${LAN}:9999`)).toBe(false);
    expect(policy.isOwnOrigin("http://192.0.2.78:8080")).toBe(false);
    expect(policy.hostAllowed("192.0.2.78:8080")).toBe(false);
  });

  test("a class server answers its LAN page and still refuses a foreign one", async () => {
    const classServer = await startServer({ host: "0.0.0.0" });
    try {
      const p = new URL(classServer.url).port;
      const local = `http://127.0.0.1:${p}`;
      const answer = await raw(`${classServer.url}/v1/session`, {
        method: "POST",
        headers: { origin: local, "content-type": "application/json" },
        body: JSON.stringify({ name: "pupil" }),
      });
      expect(answer.status).toBe(201);
      expect(answer.headers["access-control-allow-origin"]).toBe(local);
      expect((await upgrade(wsUrl(classServer, answer.body.token), { origin: EVIL })).status).toBe(403);
    } finally {
      await classServer.close();
    }
  });
});

describe("a foreign Host (DNS rebinding)", () => {
  test("is refused on every route, the dashboard and health included", async () => {
    for (const path of ["/", "/healthz", "/v1/session", `/v1/stats?token=${token}`]) {
      const answer = await raw(`${server.url}${path}`, { headers: { host: `evil.example:${port}` } });
      expect(answer.status, path).toBe(403);
      expect(answer.body.error.code).toBe("forbidden_host");
    }
  });

  test("is refused on a WebSocket upgrade, even without an Origin", async () => {
    const refused = await upgrade(wsUrl(server), { host: `evil.example:${port}` });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("forbidden_host");
  });

  test("loopback names, *.localhost and configured names pass; the port does not matter", async () => {
    for (const host of ["localhost", `localhost:${port}`, "ada.localhost:1", "127.0.0.1", "127.3.4.5:80", `[::1]:${port}`]) {
      expect((await raw(`${server.url}/healthz`, { headers: { host } })).status, host).toBe(200);
    }
    const named = await startServer({ allowedHosts: ["wirelab.school.example", "*.lab.example"] });
    try {
      for (const host of ["wirelab.school.example:443", "room1.lab.example", "WIRELAB.school.example"]) {
        expect((await raw(`${named.url}/healthz`, { headers: { host } })).status, host).toBe(200);
      }
      expect((await raw(`${named.url}/healthz`, { headers: { host: "lab.example.evil.example" } })).status).toBe(403);
    } finally {
      await named.close();
    }
  });
});

describe("JSON endpoints", () => {
  test("want Content-Type: application/json (415 otherwise)", async () => {
    const cases: Array<[string, Record<string, string>, string]> = [
      ["/v1/session", { "content-type": "text/plain" }, JSON.stringify({ name: "ada" })],
      ["/v1/session", { "content-type": "application/x-www-form-urlencoded" }, "name=ada"],
      ["/v1/rooms/lobby/messages", { authorization: `Bearer ${token}`, "content-type": "text/plain" }, JSON.stringify({ id: "t", text: "t" })],
      ["/v1/admin/stall", { authorization: `Bearer ${token}` }, ""],
    ];
    for (const [path, headers, body] of cases) {
      const answer = await raw(`${server.url}${path}`, { method: "POST", headers, body });
      expect(answer.status, path).toBe(415);
      expect(answer.body.error.code).toBe("unsupported_media_type");
    }
    const ok = await raw(`${server.url}/v1/session`, {
      method: "POST",
      headers: { "content-type": "Application/JSON; charset=utf-8" },
      body: JSON.stringify({ name: "ada" }),
    });
    expect(ok.status).toBe(201);
  });
});

describe("configuration", () => {
  test("allowed origins and hosts come from options or the environment, and are checked", () => {
    const env = { WIRELAB_ALLOWED_ORIGINS: "http://a.example:8000, https://b.example", WIRELAB_ALLOWED_HOSTS: "a.example,*.b.example" };
    const config = resolveConfig({}, env);
    expect(config.allowedOrigins).toEqual(["http://a.example:8000", "https://b.example"]);
    expect(config.allowedHosts).toEqual(["a.example", "*.b.example"]);
    expect(resolveConfig({}, { WIRELAB_PROXY_PORTS: "8080, 9000" }).proxyPorts).toEqual([8080, 9000]);
    expect(() => resolveConfig({}, { WIRELAB_PROXY_PORTS: "door" })).toThrow(/proxy port/);
    expect(resolveConfig({}, {}).allowedOrigins).toEqual([]);
    expect(() => resolveConfig({ allowedOrigins: ["*"] }, {})).toThrow(/origin/);
    expect(() => resolveConfig({ allowedOrigins: ["http://a.example/path"] }, {})).toThrow(/origin/);
    expect(() => resolveConfig({ allowedHosts: ["a b"] }, {})).toThrow(/host/);
  });
});
