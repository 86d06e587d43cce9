/**
 * What a benchmark run is made of: the scenarios and their defaults, the comparison peers and
 * the parameters of a run, as the runner, the workers and the report read them. Parsing the
 * command line into them is options.ts.
 */
import type { TransportName } from "../../web/src/isomorphic/protocol/index.js";

export const SCENARIOS = ["steady", "burst", "fanout", "connect-storm", "reconnect-storm", "hold"] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/**
 * Comparison servers. ws: a bare `ws` broadcast server (the floor); socket.io: one Socket.IO 4
 * server; socket.io-redis: --instances of them on @socket.io/redis-streams-adapter (those three
 * against our WebSocket); socket.io-polling: Socket.IO 4 with its clients on HTTP long-polling
 * only (against our long poll).
 */
export const PEERS = ["ws", "socket.io", "socket.io-redis", "socket.io-polling"] as const;
export type PeerName = (typeof PEERS)[number];
/**
 * Which program served the clients: wirelab itself, the --baseline checkout's server, or a
 * comparison peer. (Format 1 reports name a socket.io-redis run "socket.io".)
 */
export type ServedBy = "wirelab" | "baseline" | PeerName;

/** The wirelab transport a peer is compared with: its column, and the selection it needs. */
export const PEER_TRANSPORT: Record<PeerName, TransportName> = {
  ws: "websocket",
  "socket.io": "websocket",
  "socket.io-redis": "websocket",
  "socket.io-polling": "long-poll",
};

/** Scenarios a peer runs in: it stores nothing and cannot restart, so only the plain chat loads. */
export const PEER_SCENARIOS: readonly ScenarioName[] = ["steady", "fanout"];

export interface ScenarioInfo {
  description: string;
  /** Rooms the clients of one transport are spread over (round robin). */
  rooms: number;
  /** Messages per second sent into each room during the run (0 with bursts). */
  rate: number;
  /** Messages sent into each room at once, every burstIntervalMs (0: steady rate). */
  burstSize: number;
  /** Clients connect all at once (a storm) instead of a bounded number at a time. */
  storm: boolean;
  /** Restart the server part-way through; clients must resume without losing anything. */
  restart: boolean;
  /** Every selected transport runs at once against one server (one column each, shared server figures). */
  together: boolean;
}

/** What a scenario does when no option overrides it. Rooms and rates apply per transport. */
export const SCENARIO_DEFAULTS: Record<ScenarioName, ScenarioInfo> = {
  steady: { description: "steady chat: clients spread over rooms, each room gets a steady rate", rooms: 10, rate: 10, burstSize: 0, storm: false, restart: false, together: false },
  burst: { description: "bursts: every room gets a batch of messages at once, repeatedly", rooms: 10, rate: 0, burstSize: 100, storm: false, restart: false, together: false },
  fanout: { description: "fan-out: every client in one big room, one sender at a steady rate", rooms: 1, rate: 100, burstSize: 0, storm: false, restart: false, together: false },
  "connect-storm": { description: "connect storm: every client connects at the same moment, then a light steady rate", rooms: 10, rate: 2, burstSize: 0, storm: true, restart: false, together: false },
  "reconnect-storm": { description: "reconnect storm: the server restarts mid-run; every client reconnects and resumes", rooms: 10, rate: 5, burstSize: 0, storm: false, restart: true, together: false },
  hold: { description: "hold: every transport's clients open on one server at once, 1 message/s per room", rooms: 100, rate: 1, burstSize: 0, storm: false, restart: false, together: true },
};

/** The parameters a run used, as recorded in the report. */
export interface BenchParameters {
  quick: boolean;
  transports: TransportName[];
  scenarios: ScenarioName[];
  /** Clients per transport. */
  clients: Record<TransportName, number>;
  /** Overrides of every scenario's rooms / rate (null: the scenario's own). */
  rooms: number | null;
  rate: number | null;
  /** Characters of text per message (ASCII, so bytes too). */
  size: number;
  /** Length of the measured window per scenario, after the warm-up. */
  durationMs: number;
  /** Instead of a duration: this many measured messages per room (null: use the duration). */
  messages: number | null;
  warmupMs: number;
  burstSize: number | null;
  burstIntervalMs: number;
  /** How long the server stays down in reconnect-storm. */
  downtimeMs: number;
  /** Short-poll interval of the clients. */
  pollIntervalMs: number;
  /** Long-poll wait of the clients. */
  longPollWaitMs: number;
  /** Reconnect backoff of the clients. */
  backoff: { baseMs: number; capMs: number };
  /** Time allowed after the last send for every client to catch up. */
  settleMs: number;
  /** Load-generator processes. */
  workers: number;
  /** Loopback source addresses connections are spread over. */
  sourceAddresses: string[];
  /** Connections per source address at most (each needs an ephemeral port of its address). */
  connectionsPerAddress: number;
  /** Clients connecting at once per worker outside storms. */
  connectConcurrency: number;
  /** Server RSS samples while connecting (memory vs connections). */
  memorySteps: number;
  /** Each server instance's RSS and event-loop lag are sampled this often over the measured window. */
  sampleIntervalMs: number;
  /** Run every transport at once in every scenario (always for hold). */
  together: boolean;
  /** Comparison servers, in the order given (empty: none). */
  peers: PeerName[];
  /**
   * Another built checkout (absolute path): each wirelab unit runs a second time against its
   * `bin/wirelab.js serve`, for a before/after pair in one run. Null: no baseline.
   */
  baseline: string | null;
  /** Server instances (and peer servers) per run: more than 1 share one Redis, receivers are spread over all, the sender uses the first. */
  instances: number;
  /** The Redis the instances share; null with one instance. */
  redisUrl: string | null;
  /**
   * The server's history store: "file" (a temporary SQLite file, the server's default, as in
   * class) or "memory". reconnect-storm always uses a file: a restart must keep the history.
   */
  store: "file" | "memory";
  /** Write V8 CPU profiles (node --cpu-prof) of the server and the workers into this folder. */
  profileDir: string | null;
  /** Scenario settings after overrides. */
  scenarioSettings: Partial<Record<ScenarioName, ScenarioInfo>>;
}
