/** What a client can observe of its own traffic. Plain data, so any view can render it. */

export interface ClientCounters {
  /** HTTP requests made (polls, sends, history fills, the SSE GET, the WebSocket upgrade). */
  requests: number;
  /** Payload bytes received that this client can observe (bodies, SSE data, frame payloads). */
  bytesIn: number;
  /** Payload bytes sent that this client can observe. */
  bytesOut: number;
  /** Connection attempts after the first. */
  reconnects: number;
  /** Messages emitted, in order, once each. */
  messages: number;
  /** Messages received again and dropped. */
  duplicates: number;
  /** Gaps in the stream that were filled from history. */
  gapsFilled: number;
  /** Times the server said the cursor was outside its history. */
  resets: number;
  /**
   * Connections given up as dead because of silence: a stream with no data and no heartbeat
   * within its bound, or a request (poll, send) that timed out. Each is followed by a reconnect.
   */
  zombies: number;
  /** Session tokens renewed: refreshed in time (same user), or replaced by a new session after expiry. */
  tokenRenewals: number;
}

export class ClientStats {
  readonly counters: ClientCounters = {
    requests: 0,
    bytesIn: 0,
    bytesOut: 0,
    reconnects: 0,
    messages: 0,
    duplicates: 0,
    gapsFilled: 0,
    resets: 0,
    zombies: 0,
    tokenRenewals: 0,
  };
  /** Recent latency samples in ms (arrival − sentAt), oldest first, at most `maxSamples`. */
  readonly latencies: number[] = [];
  /** Every latency sample ever taken, also those shifted out of `latencies`. */
  latencyCount = 0;

  constructor(private readonly maxSamples = 10_000) {}

  addLatency(ms: number): void {
    this.latencyCount += 1;
    this.latencies.push(ms);
    if (this.latencies.length > this.maxSamples) this.latencies.shift();
  }
}

/** UTF-8 length of a string without allocating an encoded copy. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}
