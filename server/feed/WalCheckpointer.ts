/**
 * Checkpoints a SQLite file's WAL from a worker thread, so the main thread never does. With
 * better-sqlite3 every statement runs on the event loop, and SQLite's automatic checkpoint (every
 * 1,000 WAL pages: every few hundred messages) copies the WAL into the file and fsyncs both inside
 * the commit that crosses the mark: several ms, far more when the disk is busy, during which no
 * subscriber of any room is written to. A PASSIVE checkpoint from another connection never blocks
 * the writer, and is not a commit, so the store's PRAGMA data_version does not move.
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

/** The worker: its own connection to the file, a PASSIVE checkpoint every interval. CommonJS, as eval workers are. */
const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.sqlite);
const db = new Database(workerData.file, { fileMustExist: true });
const timer = setInterval(() => {
  try {
    const [result] = db.pragma("wal_checkpoint(PASSIVE)");
    parentPort.postMessage({ checkpointed: result.checkpointed });
  } catch (error) {
    parentPort.postMessage({ error: String(error && error.message || error) });
  }
}, workerData.intervalMs);
parentPort.on("message", () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export class WalCheckpointer {
  readonly #worker: Worker;
  readonly #exited: Promise<void>;
  /** Checkpoints the worker has run (each copies whatever the WAL held, maybe nothing). */
  checkpoints = 0;

  /** `failed` is told when the worker cannot checkpoint (then the caller checkpoints as before). */
  constructor(file: string, intervalMs: number, failed: (error: Error) => void) {
    const sqlite = createRequire(import.meta.url).resolve("better-sqlite3");
    this.#worker = new Worker(WORKER, { eval: true, workerData: { file, intervalMs, sqlite } });
    let reported = false;
    const fail = (error: Error) => {
      if (reported) return;
      reported = true;
      failed(error);
    };
    this.#worker.on("message", (message: { checkpointed?: number; error?: string }) => {
      if (message.error !== undefined) fail(new Error(message.error));
      else this.checkpoints += 1;
    });
    this.#worker.on("error", fail);
    this.#exited = new Promise((resolve) => this.#worker.once("exit", () => resolve()));
    // A store nobody closed must not keep the process alive. After the listeners: adding a
    // "message" listener refs the worker's port again.
    this.#worker.unref();
  }

  /** Stop checkpointing and close the worker's connection. */
  async close(): Promise<void> {
    // Awaited, the worker's exit must keep the process alive: a server restarting in place has
    // closed everything else by now, and with the worker unref'd the process would end right here.
    this.#worker.ref();
    this.#worker.postMessage("close");
    await this.#exited;
  }
}
