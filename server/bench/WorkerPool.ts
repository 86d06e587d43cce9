/**
 * The load workers, seen from the coordinator: forked Node processes running worker.js, each
 * answering requests over IPC and ticking its delivery counts every 250 ms.
 */
import { fork, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../paths.js";
import type { ConnectReply, ConnectSpec, GroupResult, WorkerMessage, WorkerRequest, WorkerTick } from "./protocol.js";

/**
 * A larger young generation: every delivery leaves short-lived garbage (the frame's string, the
 * parsed message, events), and fewer, larger scavenges cost the load generator less.
 */
const WORKER_FLAGS = ["--max-semi-space-size=64"];

type Pending = { resolve(value: unknown): void; reject(error: Error): void };
type RequestBody = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never;

class LoadWorker {
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #exited = false;
  /** The latest cumulative counts this worker reported. */
  last: WorkerTick | null = null;

  constructor(readonly child: ChildProcess) {
    child.on("message", (message: WorkerMessage) => {
      if ("tick" in message) {
        this.last = message;
        return;
      }
      const pending = this.#pending.get(message.id);
      if (!pending) return;
      this.#pending.delete(message.id);
      if (message.ok) pending.resolve(message.value);
      else pending.reject(new Error(`bench worker ${child.pid}: ${message.error}`));
    });
    child.once("exit", (code, signal) => {
      this.#exited = true;
      for (const pending of this.#pending.values()) pending.reject(new Error(`bench worker ${child.pid} exited (${code ?? signal})`));
      this.#pending.clear();
    });
  }

  request<T>(body: RequestBody): Promise<T> {
    if (this.#exited) return Promise.reject(new Error(`bench worker ${this.child.pid} is not running`));
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.child.send({ ...body, id });
    });
  }

  async stop(): Promise<void> {
    if (this.#exited) return;
    const exited = once(this.child, "exit");
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

export class WorkerPool {
  private constructor(readonly workers: LoadWorker[]) {}

  static async start(count: number, nodeFlags: string[] = []): Promise<WorkerPool> {
    const entry = join(packageRoot(), "dist", "node", "server", "bench", "worker.js");
    if (!existsSync(entry)) throw new Error(`the bench worker is not built (${entry} is missing): run npm run build`);
    const workers = Array.from({ length: count }, () => {
      const child = fork(entry, [], { execArgv: [...WORKER_FLAGS, ...nodeFlags], stdio: ["ignore", "inherit", "inherit", "ipc"], serialization: "advanced" });
      return new LoadWorker(child);
    });
    await Promise.all(workers.map((w) => once(w.child, "spawn")));
    return new WorkerPool(workers);
  }

  get size(): number {
    return this.workers.length;
  }

  get pids(): number[] {
    return this.workers.map((w) => w.child.pid!);
  }

  /** Open clients on one worker. */
  connect(worker: number, spec: ConnectSpec): Promise<ConnectReply> {
    return this.workers[worker]!.request<ConnectReply>({ op: "connect", spec });
  }

  async mark(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.request({ op: "mark" })));
  }

  async collect(latest: Record<string, number>, timeoutMs: number, afterRestart = false): Promise<GroupResult[]> {
    const replies = await Promise.all(this.workers.map((w) => w.request<GroupResult[]>({ op: "collect", latest, timeoutMs, afterRestart })));
    return replies.flat();
  }

  async closeClients(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.request({ op: "close" })));
    for (const w of this.workers) w.last = null;
  }

  /** Cumulative deliveries per group, summed over workers, as of their latest ticks. */
  counts(): { delivered: Record<string, number>; measured: Record<string, number> } {
    const delivered: Record<string, number> = {};
    const measured: Record<string, number> = {};
    for (const w of this.workers) {
      for (const [group, n] of Object.entries(w.last?.delivered ?? {})) delivered[group] = (delivered[group] ?? 0) + n;
      for (const [group, n] of Object.entries(w.last?.measured ?? {})) measured[group] = (measured[group] ?? 0) + n;
    }
    return { delivered, measured };
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop()));
  }
}
