/**
 * Turns a client's state changes into reconnect marks for its feed: when the connection was
 * open again, how long it was not, and the cursor it resumed from. A learner then sees in the
 * chat where a cut happened and that nothing before it was asked for twice. DOM-free.
 */
import type { ConnectionState } from "../isomorphic/kit/index.js";
import { Downtime } from "../isomorphic/stats/Downtime.js";
import { formatElapsed, formatMs } from "./format.js";

export interface ReconnectMark {
  /** Counts the marks of one feed from 1: a stable key for views. */
  n: number;
  /** When the connection was open again (ms since the epoch). */
  at: number;
  /** How long it was not open: from leaving "open" until "open" again, in ms. */
  downMs: number;
  /** How long nothing had arrived when the connection was lost, in ms (undefined before any byte). */
  silentMs: number | undefined;
  /** The cursor the client resumed from: the seq of the last message it had (undefined: from the start). */
  resumedFrom: number | undefined;
  /** The learner asked for it (Reconnect, or Disconnect then Reconnect); otherwise the client reconnected on its own. */
  byHand: boolean;
}

export class ReconnectTracker {
  #marks = 0;
  readonly #downtime = new Downtime();
  #silentAtLoss: number | undefined;
  #byHand = false;

  /** The learner starts a connection again (the monitor's connect or reconnect). */
  requested(): void {
    if (this.#downtime.everOpen) this.#byHand = true;
  }

  /**
   * The client's state changed at `at`, with `cursor` its cursor then and `lastByteAt` when it
   * last received anything. Returns a mark when this change is a reconnect: open again after
   * having been open before.
   */
  changed(state: ConnectionState, at: number, cursor: number | undefined, lastByteAt: number | undefined): ReconnectMark | undefined {
    if (state !== "open") {
      if (this.#downtime.left(at)) this.#silentAtLoss = lastByteAt === undefined ? undefined : Math.max(0, at - lastByteAt);
      return undefined;
    }
    const downMs = this.#downtime.opened(at);
    const byHand = this.#byHand;
    this.#byHand = false;
    if (downMs === undefined) return undefined;
    return { n: ++this.#marks, at, downMs, silentMs: this.#silentAtLoss, resumedFrom: cursor, byHand };
  }
}

/** "12 ms", "3.2 s", "1 m 05 s": reconnects are usually short, so short times keep their detail. */
export function formatDowntime(ms: number): string {
  if (ms < 1000) return formatMs(Math.max(0, ms));
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : formatElapsed(ms);
}

/** The divider line in the feed: "reconnected after 3.2 s, resumed from #4". */
export function describeReconnect(mark: ReconnectMark): string {
  const from = mark.resumedFrom === undefined ? "resumed from the start" : `resumed from #${mark.resumedFrom}`;
  return `${mark.byHand ? "reconnected by hand" : "reconnected"} after ${formatDowntime(mark.downMs)}, ${from}`;
}

/** The longer story, for a tooltip: what the client asked for and how quiet the link had been. */
export function explainReconnect(mark: ReconnectMark): string {
  const asked =
    mark.resumedFrom === undefined ? "It asked the server for the recent history." : `It asked the server for every message after #${mark.resumedFrom}, so nothing is lost or shown twice.`;
  const silence = mark.silentMs === undefined ? "" : ` Nothing had arrived for ${formatDowntime(mark.silentMs)} when the connection was lost.`;
  return `${asked}${silence}`;
}
