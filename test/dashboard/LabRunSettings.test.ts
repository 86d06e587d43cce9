/** A lab's run options and what they mean in a browser: pure, on lab 01 (four transports, held connections). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { parseLab } from "../../web/src/isomorphic/lab/index.js";
import { LabRunSettings, QUICK_TIME_SCALE } from "../../web/src/viewmodels/LabRunSettings.js";
import { comfortableClients } from "../../web/src/viewmodels/labText.js";
import { packageRoot } from "../../server/paths.js";

const lab = parseLab("labs/01-polling-tax.md", readFileSync(join(packageRoot(), "labs", "01-polling-tax.md"), "utf8"));

test("starts from the lab's own client count; refuses counts outside 1 to 1,000; quick is a quarter of the time", () => {
  const settings = new LabRunSettings(lab, { baseUrl: "http://127.0.0.1:8080" });
  expect(settings.clients).toBe(lab.scenario.clients);
  settings.set({ clients: 0 });
  settings.set({ clients: 1_001 });
  settings.set({ clients: 2.5 });
  expect(settings.clients).toBe(lab.scenario.clients);
  settings.set({ clients: 40, quick: true });
  expect(settings.clients).toBe(40);
  expect(settings.timeScale).toBe(QUICK_TIME_SCALE);
});

test("outside a browser every client shares the one connection pool, and runs as many as asked", () => {
  const settings = new LabRunSettings(lab, { baseUrl: "http://127.0.0.1:8080" });
  settings.set({ clients: 40 });
  expect(settings.connectionMode).toBe("shared");
  expect(settings.clientsOf("long-poll")).toBe(40);
  expect(settings.connectionNote).toBeNull();
});

test("in a browser on this computer each client gets a pool of its own; from another computer the HTTP transports are capped", () => {
  const local = new LabRunSettings(lab, { baseUrl: "http://localhost:8080", browser: true });
  expect(local.connectionMode).toBe("own");
  expect(local.connectionNote).toMatch(/short-poll-1\.localhost/);

  const remote = new LabRunSettings(lab, { baseUrl: "http://192.168.1.20:8080", browser: true });
  remote.set({ clients: 40 });
  expect(remote.connectionMode).toBe("capped");
  expect(remote.clientsOf("long-poll")).toBe(comfortableClients(lab));
  // WebSockets do not count against the browser's six connections.
  expect(remote.clientsOf("websocket")).toBe(40);
  expect(remote.connectionNote).toMatch(/192\.168\.1\.20/);

  remote.set({ ownPools: false });
  expect(remote.connectionMode).toBe("shared");
  expect(remote.connectionWarning).toMatch(/queue/);
});
