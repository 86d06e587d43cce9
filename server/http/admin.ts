/**
 * The instructor's control API under /v1/admin: server faults and the network emulator.
 * Every route needs the instructor role; every body is checked before anything changes.
 */
import type { Router } from "express";
import { z } from "zod";
import { ERROR_CODES, FAULT_LIMITS, TRANSPORTS, describeIssues } from "../../web/src/isomorphic/protocol/index.js";
import { WirelabError, badRequest } from "../errors.js";
import type { FaultController } from "../FaultController.js";
import type { InstanceDirectory } from "../cluster/InstanceDirectory.js";
import { DROP_MODES, PRESETS, parseConditions, type NetworkEmulator } from "../netem/index.js";
import { jsonBody, requireInstructor } from "./api.js";

const transportSchema = z.enum(TRANSPORTS, { error: `must be one of ${TRANSPORTS.join(", ")}` });

const schemas = {
  drop: z.strictObject({ transport: z.union([transportSchema, z.literal("all")], { error: `must be "all" or one of ${TRANSPORTS.join(", ")}` }) }),
  refuse: z.strictObject({ seconds: z.number().positive("must be > 0").max(FAULT_LIMITS.refuseMaxMs / 1000, `must be at most ${FAULT_LIMITS.refuseMaxMs / 1000}`) }),
  stall: z.strictObject({ ms: z.int("must be an integer").min(1, "must be >= 1").max(FAULT_LIMITS.stallMaxMs, `must be at most ${FAULT_LIMITS.stallMaxMs}`) }),
  restart: z.strictObject({ downtimeMs: z.int("must be an integer").min(0).max(FAULT_LIMITS.restartDowntimeMaxMs, `must be at most ${FAULT_LIMITS.restartDowntimeMaxMs}`).optional() }),
  network: z.strictObject({ transport: transportSchema.optional(), conditions: z.unknown() }),
  networkClear: z.strictObject({ transport: transportSchema.optional() }),
  networkDrop: z.strictObject({
    transport: transportSchema.optional(),
    mode: z.enum(DROP_MODES, { error: `must be one of ${DROP_MODES.join(", ")}` }).optional(),
  }),
  blackhole: z.strictObject({ transport: transportSchema.optional(), on: z.boolean({ error: "must be true or false" }) }),
};

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (!result.success) throw badRequest(ERROR_CODES.invalidBody, describeIssues(result.error));
  return result.data;
}

export function adminRoutes(
  router: Router,
  deps: {
    faults: () => FaultController;
    network: () => NetworkEmulator | null;
    /** The cluster's instances (this one alone without Redis). */
    instances: () => InstanceDirectory;
    /** True when the instances share a feed (Redis), so one can die while the others serve. */
    clustered: boolean;
    maxBodyBytes: number;
  },
): void {
  const admin = router;
  const guard = [requireInstructor, jsonBody(deps.maxBodyBytes)];
  const emulator = (): NetworkEmulator => {
    const network = deps.network();
    if (!network) throw new WirelabError(404, ERROR_CODES.notFound, "the network emulator is not running on this server");
    return network;
  };

  // Every session may know where the emulated network is: learners' clients cross it too.
  admin.get("/network", (_req, res) => {
    const network = deps.network();
    res.json({ port: network?.port ?? null });
  });

  admin.get("/admin", requireInstructor, (_req, res) => {
    const faults = deps.faults();
    const network = deps.network();
    res.json({
      faults: faults.status(),
      canRestart: faults.canRestart,
      network: network ? { url: network.url, ...network.conditions() } : null,
    });
  });

  admin.get("/admin/instances", requireInstructor, async (_req, res) => {
    const directory = deps.instances();
    const instances = await directory.list();
    res.json({ clustered: deps.clustered, instances: instances.map((i) => ({ ...i, self: i.id === directory.info.id })) });
  });

  // A real process death (SIGKILL), not a graceful close: the lesson is the failover.
  admin.post("/admin/instances/:id/kill", ...guard, async (req, res) => {
    if (!deps.clustered) {
      throw new WirelabError(409, ERROR_CODES.unavailable, "only an instance of a cluster (--redis) can be killed: its clients need another to go to; use restart");
    }
    const directory = deps.instances();
    const id = String(req.params.id);
    if (!(await directory.list()).some((i) => i.id === id)) throw new WirelabError(404, ERROR_CODES.notFound, `no instance ${id.slice(0, 40)} in this cluster`);
    res.status(202).json({ killing: id });
    // After the answer has left: the instance may be this very one.
    res.once("finish", () => void directory.order({ kill: id }));
  });

  admin.post("/admin/drop", ...guard, (req, res) => {
    const { transport } = parse(schemas.drop, req.body);
    res.json({ dropped: deps.faults().drop(transport) });
  });

  admin.post("/admin/refuse", ...guard, (req, res) => {
    const { seconds } = parse(schemas.refuse, req.body);
    res.json(deps.faults().refuse(Math.round(seconds * 1000)));
  });

  admin.post("/admin/stall", ...guard, (req, res) => {
    const { ms } = parse(schemas.stall, req.body);
    deps.faults().stall(ms);
    res.status(202).json({ stallMs: ms });
  });

  admin.post("/admin/restart", ...guard, (req, res) => {
    const { downtimeMs = 1_000 } = parse(schemas.restart, req.body);
    const faults = deps.faults();
    if (!faults.canRestart) throw new WirelabError(409, ERROR_CODES.unavailable, "this server instance cannot restart itself");
    res.status(202).json({ restarting: true, downtimeMs });
    faults.restart(downtimeMs);
  });

  admin.get("/admin/network", requireInstructor, (_req, res) => {
    const network = emulator();
    res.json({ url: network.url, ...network.conditions(), presets: PRESETS, connections: network.connections() });
  });

  admin.put("/admin/network", ...guard, (req, res) => {
    const network = emulator();
    const { transport, conditions } = parse(schemas.network, req.body);
    let parsed;
    try {
      parsed = parseConditions(conditions);
    } catch (error) {
      throw badRequest(ERROR_CODES.invalidBody, (error as Error).message);
    }
    const applied = network.setConditions(parsed, transport ? { transport } : {});
    res.json({ transport: transport ?? "all", conditions: applied });
  });

  admin.delete("/admin/network", ...guard, (req, res) => {
    const { transport } = parse(schemas.networkClear, req.body);
    emulator().clearConditions(transport ? { transport } : {});
    res.json(emulator().conditions());
  });

  admin.post("/admin/network/drop", ...guard, (req, res) => {
    const { transport, mode } = parse(schemas.networkDrop, req.body);
    res.json({ dropped: emulator().drop({ ...(transport && { transport }), ...(mode && { mode }) }) });
  });

  admin.post("/admin/network/blackhole", ...guard, (req, res) => {
    const { transport, on } = parse(schemas.blackhole, req.body);
    res.json({ affected: emulator().blackhole({ ...(transport && { transport }), on }) });
  });
}
