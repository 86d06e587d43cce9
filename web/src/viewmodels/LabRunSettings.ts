/**
 * The options of a lab's next run — clients per transport, quick, own connection pools — and
 * what they mean in a browser: the connection mode, the clients each transport really runs, and
 * the notes and warnings the run card shows. Plain state for LabSession, which refuses changes
 * while a run is under way.
 */
import type { TransportName } from "../isomorphic/protocol/index.js";
import type { LabDefinition } from "../isomorphic/lab/index.js";
import {
  COMFORTABLE_HELD,
  BROWSER_CONNECTIONS,
  HTTP_TRANSPORTS,
  comfortableClients,
  heldConnections,
  ownPoolOrigin,
  ownPoolsPossible,
} from "./labText.js";

/** "Quick" runs every timed step at this fraction of its length. */
export const QUICK_TIME_SCALE = 0.25;

/**
 * How the lab's clients get their connections in a browser. "own": each its own host name under
 * .localhost, so each has the six connections a browser gives a host, as if in a browser of its
 * own. "shared": all on the page's host, sharing its six (the lesson of a browser-only lab, and
 * what Node does, which has no such limit). "capped": own ones were wanted but the page came from
 * another computer, so the HTTP transports run fewer clients and the WebSocket (not counted
 * against the six) as many as asked.
 */
export type ConnectionMode = "own" | "shared" | "capped";

export class LabRunSettings {
  #clients: number;
  #quick = false;
  /** Wanted: every client on a host name of its own. A browser-only lab's lesson is the browser's one pool. */
  #ownPools: boolean;

  constructor(
    private readonly lab: LabDefinition,
    private readonly options: { baseUrl: string; browser?: boolean | undefined },
  ) {
    this.#clients = lab.scenario.clients;
    this.#ownPools = !lab.browserOnly;
  }


  /** Receiving clients per transport for the next run (the lab's own number to begin with). */
  get clients(): number {
    return this.#clients;
  }

  /** Run the timed steps at a quarter of their length. */
  get quick(): boolean {
    return this.#quick;
  }

  get timeScale(): number {
    return this.#quick ? QUICK_TIME_SCALE : 1;
  }

  /** Whether each client is to get a connection pool of its own (host names under .localhost). */
  get ownPools(): boolean {
    return this.#ownPools;
  }

  /** Change what is given; a client count outside 1–1,000 is ignored. */
  set(options: { clients?: number; quick?: boolean; ownPools?: boolean }): void {
    if (options.clients !== undefined && Number.isInteger(options.clients) && options.clients >= 1 && options.clients <= 1000) this.#clients = options.clients;
    if (options.quick !== undefined) this.#quick = options.quick;
    if (options.ownPools !== undefined) this.#ownPools = options.ownPools;
  }

  /** Can this page give each client its own pool? Only in a browser, on a page from this computer's loopback. */
  get ownPoolsPossible(): boolean {
    return this.options.browser === true && ownPoolsPossible(this.options.baseUrl);
  }

  get connectionMode(): ConnectionMode {
    if (!this.options.browser || !this.#ownPools) return "shared";
    return this.ownPoolsPossible ? "own" : "capped";
  }

  /** The clients each transport runs with the current options. */
  clientsOf(transport: TransportName): number {
    if (this.connectionMode !== "capped" || !HTTP_TRANSPORTS.includes(transport)) return this.#clients;
    return Math.min(this.#clients, comfortableClients(this.lab) ?? this.#clients);
  }

  /** What the connection mode means for this run, in words; null when there is nothing to say. */
  get connectionNote(): string | null {
    switch (this.connectionMode) {
      case "own": {
        if (!this.lab.scenario.transports.some((t) => HTTP_TRANSPORTS.includes(t))) return null;
        const example = new URL(ownPoolOrigin(this.options.baseUrl, this.lab.scenario.transports[0]!, 0)).hostname;
        return (
          `Each client connects to a host name of its own (${example}, …: every name under .localhost is this computer), ` +
          `so the browser's ${BROWSER_CONNECTIONS} connections per host are per client, as if each ran in a browser of its own.`
        );
      }
      case "capped": {
        const capped = this.lab.scenario.transports.filter((t) => this.clientsOf(t) < this.#clients);
        if (capped.length === 0) return null;
        const n = this.clientsOf(capped[0]!);
        const { host, port } = new URL(this.options.baseUrl);
        const ws = this.lab.scenario.transports.includes("websocket") ? `; WebSocket, which the six do not count, runs ${this.#clients}` : "";
        return (
          `This page came from ${host}, another computer, so all the lab's clients share the browser's ${BROWSER_CONNECTIONS} connections to it: ` +
          `${capped.join(", ")} run ${n} client${n === 1 ? "" : "s"} each here instead of ${this.#clients}${ws}. ` +
          `Opened on the server's own computer (http://localhost${port ? `:${port}` : ""}), each client gets connections of its own and all run ${this.#clients}.`
        );
      }
      case "shared":
        return null;
    }
  }

  /** A warning when the clients would hold more connections than a browser comfortably gives one server. */
  get connectionWarning(): string | null {
    if (this.connectionMode !== "shared") return null;
    const held = heldConnections(this.lab, this.#clients);
    if (held <= COMFORTABLE_HELD) return null;
    const fewer = comfortableClients(this.lab);
    return (
      `${held} long polls and SSE streams will stay open, and a browser gives one server ${BROWSER_CONNECTIONS} connections: ` +
      `other requests will queue behind them${fewer ? ` (${fewer} client${fewer === 1 ? "" : "s"} per transport avoid that)` : ""}.`
    );
  }
}
