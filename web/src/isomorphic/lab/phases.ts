/**
 * The phase interpreter of the lab engine: what each kind of scenario phase does to the server,
 * the network and the clients (send at a rate, burst, drop, restart, kill an instance, change the
 * network, black-hole it, refuse, stall, turn jitter off). LabRunner records the phases and their
 * counters; this only carries them out, through the instructor API and the runner's context.
 */
import type { TransportName } from "../protocol/index.js";
import type { WorkbenchApi } from "../kit/WorkbenchApi.js";
import type { Phase } from "./LabDefinition.js";
import type { Receiver } from "./receiversResult.js";

/** What a phase may use of the run: the API, the receiving clients and the runner's clock. */
export interface PhaseContext {
  api: WorkbenchApi;
  receivers: readonly Receiver[];
  /** Send one lab message, through the sender session or (via) a receiving client of that transport. */
  send(via: TransportName | undefined): Promise<void>;
  /** Sleep at the run's time scale; returns early when the run is aborted. */
  wait(ms: number): Promise<void>;
  /** Throws when the run was aborted. */
  checkAborted(): void;
  setJitter(on: boolean): void;
}

export async function runPhase(phase: Phase, ctx: PhaseContext): Promise<void> {
  const { api } = ctx;
  switch (phase.kind) {
    case "idle":
    case "settle":
      return ctx.wait(phase.ms);
    case "send": {
      const count = Math.max(1, Math.round((phase.rate * phase.ms) / 1000));
      const started = Date.now();
      const sends: Promise<void>[] = [];
      for (let i = 0; i < count; i++) {
        ctx.checkAborted();
        const due = started + (i * 1000) / phase.rate;
        if (due > Date.now()) await ctx.wait(due - Date.now());
        sends.push(ctx.send(phase.via));
      }
      await ctx.wait(started + phase.ms - Date.now());
      await Promise.all(sends);
      return;
    }
    case "burst":
      await Promise.all(Array.from({ length: phase.count }, () => ctx.send(phase.via)));
      return;
    case "drop":
      await api.drop(phase.transport);
      return;
    case "restart": {
      await api.restartAndWait(phase.downtimeMs, async (ms) => {
        ctx.checkAborted();
        await ctx.wait(ms);
      });
      return;
    }
    case "kill":
      return killBusiest(api, ctx.receivers);
    case "network":
      await api.setNetwork(phase.conditions, phase.transport);
      return;
    case "blackhole": {
      const affected = ctx.receivers.filter((r) => !phase.transport || r.transport === phase.transport);
      await api.blackhole(true, phase.transport);
      const at = Date.now();
      for (const r of affected) {
        if (r.client.state === "open") {
          r.blackholeAt = at;
          r.blackholed += 1;
        }
      }
      try {
        await ctx.wait(phase.ms);
      } finally {
        for (const r of affected) r.blackholeAt = null;
        await api.blackhole(false, phase.transport);
      }
      return;
    }
    case "refuse":
      await api.refuse(phase.ms);
      return ctx.wait(phase.ms);
    case "stall":
      await api.stall(phase.ms);
      return ctx.wait(phase.ms);
    case "jitter":
      ctx.setJitter(phase.on);
      return;
  }
}

/** SIGKILL the instance serving the most receivers, so the failover is the lesson. */
async function killBusiest(api: WorkbenchApi, receivers: readonly Receiver[]): Promise<void> {
  const { instances } = await api.instances();
  const served = new Map<string, number>();
  for (const r of receivers) if (r.client.instance) served.set(r.client.instance, (served.get(r.client.instance) ?? 0) + 1);
  const target = instances
    .filter((i) => served.has(i.id))
    .sort((a, b) => served.get(b.id)! - served.get(a.id)!)[0];
  if (!target) throw new Error("no instance of the cluster serves the lab's clients");
  await api.killInstance(target.id);
}
