/**
 * The sender of a run: posts messages into rooms on a schedule (a steady rate, or bursts),
 * retrying each with the same id until the server acknowledges it, so a restart loses nothing
 * and duplicates nothing. Each text starts with its mark and its precise send time.
 */
import { Agent } from "undici";
import { HttpError, JsonClient, isRetryable } from "../../web/src/isomorphic/kit/JsonClient.js";
import { sleep } from "../../web/src/isomorphic/kit/backoff.js";
import { dispatcherFetch } from "./dispatcherFetch.js";
import { preciseNow } from "./protocol.js";

/**
 * The sender's own connections, kept open and bounded: a send waits for one of them rather than
 * opening a new connection whenever the server is slow to answer (a fresh connection to a busy
 * server waits for its accept behind every readable socket, and sends then came seconds late).
 */
const senderFetch = dispatcherFetch(new Agent({ connections: 16, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 60_000 }));

/** Where messages go: wirelab's HTTP send, or a peer's. */
export interface SendTarget {
  /** Resolves once the server acknowledged the message; a refusal is an HttpError. */
  post(room: string, id: string, text: string): Promise<void>;
  /** The newest seq of a room, as the server knows it. */
  latest(room: string): Promise<number>;
}

/** `token` is read at every request: a long run's session is refreshed underneath it. */
export function wirelabTarget(baseUrl: string, token: () => string): SendTarget {
  const api = new JsonClient(baseUrl, { token, fetch: senderFetch });
  return {
    post: async (room, id, text) => {
      await api.request("POST", `/v1/rooms/${room}/messages`, { id, text, sentAt: Math.floor(Date.now()) });
    },
    latest: async (room) => (await api.get<{ next: number }>(`/v1/rooms/${room}/messages?limit=0`)).next,
  };
}

/** A peer's /send and /latest, over the same sender connections as wirelab's, so the sender costs both the same. */
export function peerTarget(baseUrl: string): SendTarget {
  const api = new JsonClient(baseUrl, { fetch: senderFetch });
  return {
    post: async (room, id, text) => {
      await api.request("POST", "/send", { room, id, text });
    },
    latest: async (room) => (await api.get<{ latest: number }>(`/latest?room=${room}`)).latest,
  };
}

export interface Schedule {
  rooms: string[];
  /** "w" (warm-up) or "m" (measured). */
  mark: string;
  /** Steady: messages per second per room. */
  rate: number;
  /** Bursts: messages per room at once (0 for a steady rate). */
  burstSize: number;
  burstIntervalMs: number;
  /** Length of the phase; ignored when `messages` is set. */
  durationMs: number;
  /** Messages per room instead of a duration. */
  messages: number | null;
}

const MAX_IN_FLIGHT = 256;
/** How long one message is retried (a restarting server comes back well within it). */
const RETRY_FOR_MS = 30_000;

export class Publisher {
  #inFlight = 0;
  #waiters: Array<() => void> = [];
  #counter = 0;
  sent = 0;
  failures = 0;
  readonly errors: string[] = [];

  constructor(
    private readonly target: SendTarget,
    private readonly size: number,
    private readonly prefix: string,
  ) {}

  /** Run one phase of sends; resolves when every send of it is acknowledged or given up. */
  async run(schedule: Schedule, signal?: AbortSignal): Promise<void> {
    const sends: Promise<void>[] = [];
    const started = preciseNow();
    if (schedule.burstSize > 0) {
      const bursts = schedule.messages !== null
        ? Math.max(1, Math.ceil(schedule.messages / schedule.burstSize))
        : Math.max(1, Math.round(schedule.durationMs / schedule.burstIntervalMs));
      for (let b = 0; b < bursts && !signal?.aborted; b++) {
        await sleepUntil(started + b * schedule.burstIntervalMs);
        for (let i = 0; i < schedule.burstSize; i++) for (const room of schedule.rooms) sends.push(this.#send(room, schedule.mark));
      }
      // The phase lasts its full time, so the next one starts on schedule.
      await sleepUntil(started + bursts * schedule.burstIntervalMs);
    } else {
      const perRoom = schedule.messages ?? Math.max(1, Math.round((schedule.rate * schedule.durationMs) / 1000));
      const gap = 1000 / schedule.rate;
      const stagger = gap / schedule.rooms.length;
      for (let k = 0; k < perRoom && !signal?.aborted; k++) {
        for (const [i, room] of schedule.rooms.entries()) {
          const due = started + k * gap + i * stagger;
          if (due > preciseNow() + 0.5) await sleepUntil(due);
          sends.push(this.#send(room, schedule.mark));
        }
      }
      await sleepUntil(started + perRoom * gap);
    }
    await Promise.all(sends);
  }

  text(mark: string): string {
    const head = `${mark} ${preciseNow().toFixed(3)} `;
    return head.length >= this.size ? head.slice(0, this.size) : head + ".".repeat(this.size - head.length);
  }

  async #send(room: string, mark: string): Promise<void> {
    const id = `${this.prefix}${mark}${++this.#counter}`;
    // The send time is when the schedule says, even if the sender has to queue it (no coordinated
    // omission); a retry is the same message, late.
    const text = this.text(mark);
    await this.#acquire();
    const giveUpAt = Date.now() + RETRY_FOR_MS;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          await this.target.post(room, id, text);
          this.sent += 1;
          return;
        } catch (error) {
          // A network error or a 5xx: the server may be restarting. Same id, again.
          if (!isRetryable(error)) throw new Error(`the server refused a send: HTTP ${(error as HttpError).status} ${(error as HttpError).code}`);
        }
        if (Date.now() > giveUpAt) throw new Error(`a send to ${room} was not acknowledged within ${RETRY_FOR_MS / 1000} s`);
        await sleep(Math.min(50 * 2 ** attempt, 500));
      }
    } catch (error) {
      this.failures += 1;
      if (this.errors.length < 10) this.errors.push((error as Error).message);
    } finally {
      this.#release();
    }
  }

  async #acquire(): Promise<void> {
    while (this.#inFlight >= MAX_IN_FLIGHT) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    this.#inFlight += 1;
  }

  #release(): void {
    this.#inFlight -= 1;
    this.#waiters.shift()?.();
  }
}

function sleepUntil(at: number): Promise<void> {
  const ms = at - preciseNow();
  return ms > 0 ? sleep(ms) : Promise.resolve();
}
