/**
 * The dashboard's "network & faults" bar as a model: each verb calls the admin API, then reads
 * the status back, and keeps a one-line account of what happened for the view. DOM-free.
 */
import { Emitter } from "../isomorphic/kit/Emitter.js";
import type { AdminStatus, InstancesStatus, NetworkStatus, WorkbenchApi } from "../isomorphic/kit/WorkbenchApi.js";
import { TRANSPORTS, type TransportName } from "../isomorphic/protocol/index.js";

export type Target = TransportName | "all";

export interface ControlsMessage {
  kind: "ok" | "error";
  text: string;
  at: number;
}

export interface InstructorControlsEvents {
  [name: string]: (...args: never[]) => void;
  change: () => void;
}

const scope = (target: Target) => (target === "all" ? "every transport" : target);

export class InstructorControls extends Emitter<InstructorControlsEvents> {
  #status: AdminStatus | null = null;
  #network: NetworkStatus | null = null;
  #instances: InstancesStatus | null = null;
  #busy: string | null = null;
  #message: ControlsMessage | null = null;

  constructor(
    private readonly api: WorkbenchApi,
    private readonly clock: () => number = Date.now,
  ) {
    super();
  }

  get status(): AdminStatus | null {
    return this.#status;
  }

  get network(): NetworkStatus | null {
    return this.#network;
  }

  /** The action under way, e.g. "restarting", or null. */
  get busy(): string | null {
    return this.#busy;
  }

  get message(): ControlsMessage | null {
    return this.#message;
  }

  /** The cluster's instances, when the workbench runs as one (null before the first read). */
  get instances(): InstancesStatus | null {
    return this.#instances;
  }

  get presets(): string[] {
    return Object.keys(this.#network?.presets ?? {});
  }

  /** Read the server's fault status and the emulator's conditions. */
  async refresh(): Promise<void> {
    try {
      this.#status = await this.api.status();
      this.#network = this.#status.network ? await this.api.network() : null;
      this.#instances = await this.api.instances();
    } catch (error) {
      this.#say("error", `Could not read the controls: ${(error as Error).message}`);
    }
    this.emit("change");
  }

  /** What is in force now, one fact each, for the status line; `calm` when it changes nothing. */
  describe(now = this.clock()): Array<{ text: string; calm: boolean }> {
    const facts: Array<{ text: string; calm: boolean }> = [];
    const net = this.#network;
    if (net) {
      const all = net.default.preset ?? "custom";
      facts.push({ text: `network: ${all === "none" ? "no emulation" : all}`, calm: all === "none" });
      for (const t of TRANSPORTS) {
        const own = net.transports[t];
        if (own) facts.push({ text: `${t}: ${own.preset ?? "custom"}`, calm: own.preset === "none" });
      }
      if (net.blackhole.all) facts.push({ text: "black hole: every transport", calm: false });
      else if (net.blackhole.transports.length) facts.push({ text: `black hole: ${net.blackhole.transports.join(", ")}`, calm: false });
    }
    const until = this.#status?.faults.refusingUntil;
    if (until && until > now) facts.push({ text: `refusing new connections for ${Math.ceil((until - now) / 1000)} s`, calm: false });
    return facts;
  }

  applyPreset(preset: string, target: Target): Promise<void> {
    return this.#act("applying", `Network for ${scope(target)}: ${preset}`, () =>
      target === "all" && preset === "none" ? this.api.clearNetwork() : this.api.setNetwork(preset, target === "all" ? undefined : target),
    );
  }

  blackhole(on: boolean, target: Target): Promise<void> {
    const text = on ? `Black hole for ${scope(target)}: no byte passes, nobody is told` : `Black hole lifted for ${scope(target)}`;
    return this.#act("black hole", text, () => this.api.blackhole(on, target === "all" ? undefined : target));
  }

  cutNetwork(mode: "reset" | "close", target: Target): Promise<void> {
    return this.#act("cutting", `Cut ${scope(target)} connections on the network (${mode === "reset" ? "RST" : "FIN"})`, async () => {
      const { dropped } = await this.api.cutNetwork(mode, target === "all" ? undefined : target);
      return `${dropped} connection${dropped === 1 ? "" : "s"}`;
    });
  }

  dropServer(target: Target): Promise<void> {
    return this.#act("dropping", `The server dropped ${scope(target)} connections`, async () => {
      const { dropped } = await this.api.drop(target);
      const total = Object.values(dropped).reduce((a, b) => a + (b ?? 0), 0);
      return `${total} connection${total === 1 ? "" : "s"}`;
    });
  }

  async refuse(seconds: number): Promise<void> {
    // Not read back: a new connection would be refused now. The answer says until when.
    await this.#act(
      "refusing",
      `The server refuses new connections for ${seconds} s`,
      async () => {
        const faults = await this.api.refuse(seconds * 1000);
        if (this.#status) this.#status = { ...this.#status, faults };
      },
      false,
    );
    this.#refreshAfter(seconds * 1000);
  }

  stall(seconds: number): Promise<void> {
    return this.#act("stalling", `The server's event loop is blocked for ${seconds} s`, () => this.api.stall(seconds * 1000));
  }

  /** Kill one instance of the cluster (SIGKILL); the panels it served fail over to another. */
  async killInstance(id: string): Promise<void> {
    await this.#act("killing", `Instance ${id} killed (SIGKILL): its clients fail over`, () => this.api.killInstance(id), false);
    // A dead instance stays listed until its entry expires (15 s); read again after that.
    this.#refreshAfter(16_000);
  }

  async restart(downtimeSeconds: number): Promise<void> {
    await this.#act("restarting", `The server restarts (down for ${downtimeSeconds} s)`, () => this.api.restart(downtimeSeconds * 1000), false);
    this.#refreshAfter(downtimeSeconds * 1000);
  }

  /** Read the status again once a timed fault is over, so the view does not show it forever. */
  #refreshAfter(ms: number): void {
    setTimeout(() => void this.refresh(), ms + 500);
  }

  async #act(busy: string, text: string, call: () => Promise<unknown>, refresh = true): Promise<void> {
    this.#busy = busy;
    this.emit("change");
    try {
      const detail = await call();
      this.#say("ok", typeof detail === "string" ? `${text}: ${detail}` : text);
      if (refresh) await this.refresh();
    } catch (error) {
      this.#say("error", `${text} — failed: ${(error as Error).message}`);
    } finally {
      this.#busy = null;
      this.emit("change");
    }
  }

  #say(kind: ControlsMessage["kind"], text: string): void {
    this.#message = { kind, text, at: this.clock() };
  }
}
