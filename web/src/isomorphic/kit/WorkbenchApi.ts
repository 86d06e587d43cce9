/**
 * The instructor's side of the HTTP API: server stats, faults and the network emulator. Used by
 * the lab engine and the dashboard's control bar; isomorphic like the rest of the kit.
 */
import type { StatsResponse, TransportName } from "../protocol/index.js";
import type {
  CheckinRequest,
  CheckinResponse,
  ClassResponse,
  ClassSettings,
  Submission,
  SubmissionRequest,
  SubmissionSummary,
} from "../protocol/class.js";
import { sleep } from "./backoff.js";
import { JsonClient, type FetchLike } from "./JsonClient.js";

export interface AdminStatus {
  faults: { refusingUntil: number | null };
  canRestart: boolean;
  network: { url: string; default: unknown; transports: Record<string, unknown>; blackhole: { all: boolean; transports: TransportName[] } } | null;
}

/** One instance of the workbench, as GET /v1/admin/instances lists it. */
export interface InstanceInfo {
  id: string;
  url: string;
  pid: number;
  startedAt: number;
  /** The instance that answered this call. */
  self: boolean;
}

export interface InstancesStatus {
  /** Instances share a feed (Redis): one can be killed while the others serve. */
  clustered: boolean;
  instances: InstanceInfo[];
}

export interface PresetInfo {
  description: string;
  source: string;
}

export interface NetworkStatus {
  url: string;
  default: { preset: string | null; blackhole: boolean };
  transports: Partial<Record<TransportName, { preset: string | null; blackhole: boolean }>>;
  blackhole: { all: boolean; transports: TransportName[] };
  presets: Record<string, PresetInfo>;
  connections: Array<{ id: number; transport: TransportName | "other" | null; state: string }>;
}

/**
 * The network emulator's origin as reachable from `baseUrl`: its announced port on the host the
 * server was reached at (a class server announces 0.0.0.0, which no other machine can dial).
 */
export function emulatorUrl(baseUrl: string, announced: string): string {
  const url = new URL(baseUrl);
  url.port = new URL(announced).port;
  return url.origin;
}

export class WorkbenchApi {
  readonly #api: JsonClient;

  constructor(
    readonly baseUrl: string,
    /** The token, or where to read the current one (tokens are refreshed). */
    token: string | (() => string),
    fetchImpl?: FetchLike,
  ) {
    this.#api = new JsonClient(baseUrl, { token, ...(fetchImpl && { fetch: fetchImpl }) });
  }

  stats(): Promise<StatsResponse> {
    return this.#call("GET", "/v1/stats");
  }

  /** The network emulator's port (any session may ask), or null when the server runs none. */
  async networkPort(): Promise<number | null> {
    return (await this.#call<{ port: number | null }>("GET", "/v1/network")).port;
  }

  status(): Promise<AdminStatus> {
    return this.#call("GET", "/v1/admin");
  }

  network(): Promise<NetworkStatus> {
    return this.#call("GET", "/v1/admin/network");
  }

  /** End the emulated connections (of one transport) with an RST or a clean FIN. */
  cutNetwork(mode: "reset" | "close", transport?: TransportName): Promise<{ dropped: number }> {
    return this.#call("POST", "/v1/admin/network/drop", { mode, ...(transport && { transport }) });
  }

  drop(transport: TransportName | "all"): Promise<{ dropped: Partial<Record<TransportName, number>> }> {
    return this.#call("POST", "/v1/admin/drop", { transport });
  }

  instances(): Promise<InstancesStatus> {
    return this.#call("GET", "/v1/admin/instances");
  }

  /** SIGKILL one instance of a cluster: a real process death, its clients fail over. */
  killInstance(id: string): Promise<unknown> {
    return this.#call("POST", `/v1/admin/instances/${encodeURIComponent(id)}/kill`, {});
  }

  restart(downtimeMs: number): Promise<unknown> {
    return this.#call("POST", "/v1/admin/restart", { downtimeMs });
  }

  /**
   * Restart in place, then resolve once the new instance answers /healthz (the old one goes
   * first). `wait` sleeps between checks: a lab passes its own, which stops when the lab is aborted.
   */
  async restartAndWait(downtimeMs: number, wait: (ms: number) => Promise<void> = sleep): Promise<void> {
    await this.restart(downtimeMs);
    const deadline = Date.now() + downtimeMs + 30_000;
    await wait(Math.min(200, downtimeMs));
    while (!(await this.healthy())) {
      if (Date.now() > deadline) throw new Error("the server did not come back after the restart");
      await wait(100);
    }
  }

  refuse(ms: number): Promise<AdminStatus["faults"]> {
    return this.#call("POST", "/v1/admin/refuse", { seconds: ms / 1000 });
  }

  stall(ms: number): Promise<unknown> {
    return this.#call("POST", "/v1/admin/stall", { ms });
  }

  setNetwork(conditions: unknown, transport?: TransportName): Promise<unknown> {
    return this.#call("PUT", "/v1/admin/network", { conditions, ...(transport && { transport }) });
  }

  clearNetwork(transport?: TransportName): Promise<unknown> {
    return this.#call("DELETE", "/v1/admin/network", transport ? { transport } : {});
  }

  blackhole(on: boolean, transport?: TransportName): Promise<unknown> {
    return this.#call("POST", "/v1/admin/network/blackhole", { on, ...(transport && { transport }) });
  }

  /** A page reports to its class (any session); the answer says what the class is asked to do. */
  checkin(report: CheckinRequest): Promise<CheckinResponse> {
    return this.#call("POST", "/v1/class/checkin", report);
  }

  /** The roster, timeline and latency of the class (instructor). */
  classView(): Promise<ClassResponse> {
    return this.#call("GET", "/v1/class");
  }

  assign(lab: string | null): Promise<ClassSettings> {
    return this.#call("PUT", "/v1/class/assignment", { lab });
  }

  setClassJitter(jitter: boolean): Promise<ClassSettings> {
    return this.#call("PUT", "/v1/class/settings", { jitter });
  }

  submit(submission: SubmissionRequest): Promise<SubmissionSummary> {
    return this.#call("POST", "/v1/class/submissions", submission);
  }

  /** Everyone's submissions (instructor), of one lab when given. */
  async submissions(lab?: string): Promise<SubmissionSummary[]> {
    const query = lab === undefined ? "" : `?lab=${encodeURIComponent(lab)}`;
    return (await this.#call<{ submissions: SubmissionSummary[] }>("GET", `/v1/class/submissions${query}`)).submissions;
  }

  /** This session's own submissions. */
  async mySubmissions(): Promise<SubmissionSummary[]> {
    return (await this.#call<{ submissions: SubmissionSummary[] }>("GET", "/v1/class/submissions/mine")).submissions;
  }

  submission(id: string): Promise<Submission> {
    return this.#call("GET", `/v1/class/submissions/${encodeURIComponent(id)}`);
  }

  /** Every submission (of one lab) as CSV (instructor). */
  submissionsCsv(lab?: string): Promise<string> {
    const query = lab === undefined ? "" : `?lab=${encodeURIComponent(lab)}`;
    return this.#api.text(`/v1/class/submissions.csv${query}`);
  }

  /** True once the server answers /healthz. */
  healthy(): Promise<boolean> {
    return this.#api.healthy();
  }

  #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.#api.request<T>(method, path, body);
  }
}
