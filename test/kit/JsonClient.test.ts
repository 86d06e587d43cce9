/**
 * The one JSON client of the HTTP API (admin, labs, CLI, bench): against a real server, and a
 * bare Node server where an answer must be odd on purpose (no JSON, a Retry-After, no answer).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, test } from "vitest";
import { HttpError, JsonClient, WorkbenchApi, emulatorUrl } from "../../web/src/isomorphic/kit/index.js";
import { session, startServer, stopsAfterEach } from "../helpers.js";

const stops = stopsAfterEach();

async function bare(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  stops.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("JsonClient against wirelab", () => {
  test("sends the token it is given, reading a token source at every request", async () => {
    const server = await startServer({ autoInstructor: false, instructorKey: "the-instructor-key" });
    stops.push(() => server.close());
    const good = (await session(server)).token;
    let current = "not-a-token";
    const api = new JsonClient(server.url, { token: () => current });
    await expect(api.get("/v1/stats")).rejects.toMatchObject({ status: 401, code: "unauthorized" });
    current = good;
    expect(await api.get<{ uptimeMs: number }>("/v1/stats")).toHaveProperty("uptimeMs");
  });

  test("a refusal is an HttpError with the server's status, code and message", async () => {
    const server = await startServer();
    stops.push(() => server.close());
    const api = new JsonClient(server.url, { token: (await session(server)).token });
    const error = await api.request("POST", "/v1/rooms/r/messages", { id: "x" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpError);
    expect(error).toMatchObject({ status: 400, code: "invalid_body", retryable: false });
    expect((error as HttpError).message).toMatch(/text/);
  });

  test("createSession passes the instructor key in the body; a wrong key is a 403", async () => {
    const server = await startServer({ autoInstructor: false, instructorKey: "the-instructor-key" });
    stops.push(() => server.close());
    expect((await JsonClient.createSession(server.url, "ms-lee", { instructorKey: "the-instructor-key" })).user.role).toBe("instructor");
    expect((await JsonClient.createSession(server.url, "ada")).user.role).toBe("learner");
    await expect(JsonClient.createSession(server.url, "eve", { instructorKey: "a-wrong-guess" })).rejects.toMatchObject({ status: 403, code: "forbidden" });
  });

  test("healthy() is true for a server that answers and false for a port nobody listens on", async () => {
    const server = await startServer();
    const url = server.url;
    expect(await new JsonClient(url).healthy()).toBe(true);
    await server.close();
    expect(await new JsonClient(url).healthy()).toBe(false);
  });
});

describe("JsonClient against odd answers", () => {
  test("an answer without JSON is an HttpError invalid_response, whatever its status", async () => {
    const url = await bare((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end("<h1>a proxy page</h1>"));
    await expect(new JsonClient(url).get("/v1/stats")).rejects.toMatchObject({ status: 200, code: "invalid_response" });
  });

  test("Retry-After reaches the error as retryAfterMs, and 429 is worth retrying", async () => {
    const url = await bare((_req, res) =>
      res.writeHead(429, { "content-type": "application/json", "retry-after": "3" }).end(JSON.stringify({ error: { code: "rate_limited", message: "slow down" } })));
    const error = (await new JsonClient(url).get("/v1/stats").catch((e: unknown) => e)) as HttpError;
    expect(error).toMatchObject({ status: 429, code: "rate_limited", message: "slow down", retryAfterMs: 3_000, rateLimited: true, retryable: true });
  });

  test("text() returns a non-JSON body and still turns a refusal into an HttpError", async () => {
    const url = await bare((req, res) => {
      if (req.headers.authorization !== "Bearer t") res.writeHead(403, { "content-type": "application/json" }).end(JSON.stringify({ error: { code: "forbidden", message: "instructors only" } }));
      else res.writeHead(200, { "content-type": "text/csv" }).end("a,b\n1,2\n");
    });
    expect(await new JsonClient(url, { token: "t" }).text("/x.csv")).toBe("a,b\n1,2\n");
    await expect(new JsonClient(url, { token: "u" }).text("/x.csv")).rejects.toMatchObject({ status: 403, code: "forbidden" });
  });

  test("a server that never answers is given up after timeoutMs", async () => {
    const url = await bare(() => {});
    await expect(new JsonClient(url, { timeoutMs: 200 }).get("/v1/stats")).rejects.toMatchObject({ name: "TimeoutError" });
  });
});

describe("WorkbenchApi on the same client", () => {
  test("an instructor call by a learner is the server's 403, as an HttpError", async () => {
    const server = await startServer({ autoInstructor: false, instructorKey: "the-instructor-key" });
    stops.push(() => server.close());
    await expect(new WorkbenchApi(server.url, (await session(server)).token).status()).rejects.toMatchObject({ status: 403, code: "forbidden" });
  });

  test("emulatorUrl puts the announced port on the host the server was reached at", () => {
    expect(emulatorUrl("http://192.168.1.20:8080", "http://0.0.0.0:8081")).toBe("http://192.168.1.20:8081");
    expect(emulatorUrl("http://localhost:8080/labs", "http://127.0.0.1:9000")).toBe("http://localhost:9000");
  });
});
