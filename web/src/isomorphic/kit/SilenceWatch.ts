/**
 * Notices a stream that fell silent: no data and no heartbeat for longer than its bound. A
 * black-holed TCP connection stays "open" for minutes; only the missing heartbeats tell.
 */
export interface SilenceWatch {
  /** Something arrived: the silence starts again from now. */
  seen(): void;
  stop(): void;
}

/**
 * `dead(silentMs)` runs once, after `boundMs()` ms without a `seen()`; the bound is read at every
 * check, so it may change (once the stream's hello announced the heartbeat) and may be undefined
 * (not watched yet). One timer per stream that checks a few times per bound, not a timer reset
 * per message.
 */
export function watchSilence(clock: () => number, boundMs: () => number | undefined, dead: (silentMs: number) => void): SilenceWatch {
  let last = clock();
  let stopped = false;
  const check = () => {
    if (stopped) return;
    const bound = boundMs();
    const silent = clock() - last;
    if (bound !== undefined && silent > bound) {
      stop();
      dead(silent);
      return;
    }
    timer = setTimeout(check, Math.max(50, Math.min((bound ?? 1_000) / 4, 1_000)));
  };
  let timer = setTimeout(check, 50);
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
  };
  return { seen: () => (last = clock()), stop };
}
