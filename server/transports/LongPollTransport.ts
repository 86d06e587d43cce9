/**
 * Long polling: `GET …/messages?since=S&wait=MS` is held until a message after S exists or the
 * wait ends. Whatever arrived meanwhile is answered in one batch.
 */
import { ERROR_CODES } from "../../web/src/protocol/index.js";
import { WirelabError } from "../errors.js";
import { classify, sendJsonText, userOf, writable } from "../http/locals.js";
import type { CloseReason } from "./ConnectionRegistry.js";
import type { PollRequest, PollingTransport, TransportContext } from "./Transport.js";

const shuttingDown = () => new WirelabError(503, ERROR_CODES.unavailable, "the server is shutting down", { retryAfterSeconds: 1 });

export class LongPollTransport implements PollingTransport {
  readonly name = "long-poll" as const;

  constructor(private readonly ctx: TransportContext) {}

  async poll({ res, room, query, declared }: PollRequest): Promise<void> {
    // A history load or gap fill of another transport's client is that transport's cost.
    const transport = declared ?? this.name;
    classify(res, transport);
    // A stream client's history load or gap fill is no poller: its stream makes it present.
    if (transport === this.name) this.ctx.presence.touch(room, userOf(res), transport);
    const { feed, connections } = this.ctx;
    connections.admit(this.name, userOf(res));
    const since = query.since;

    // Subscribe, and read only once the subscription is in effect: a message stored after the
    // read then still wakes us. A bus that may have missed messages (resync) wakes us too.
    let woken: () => void = () => {};
    const wake = new Promise<void>((resolve) => (woken = resolve));
    const subscription = since === undefined ? null : feed.subscribe(room, {
      message: (event) => {
        if (event.message.seq > since) woken();
      },
      resync: () => woken(),
    });
    try {
      await subscription?.ready;
      let page = await feed.read(room, since, query.limit, query.epoch);
      if (page.messages.length === 0 && !page.reset && since !== undefined && writable(res)) {
        if (connections.count(this.name) >= this.ctx.config.maxParkedPolls) {
          // Each parked poll holds a socket, a subscription and a timer: past the cap, come back later.
          throw new WirelabError(503, ERROR_CODES.unavailable, `this server holds at most ${this.ctx.config.maxParkedPolls} long polls at once: poll again later`, { retryAfterSeconds: 2 });
        }
        const timer = setTimeout(woken, query.wait);
        // A parked poll is answered at once when the server closes (with a 503 below).
        const untrack = connections.add({
          transport: this.name,
          user: userOf(res),
          room,
          drop: () => res.socket?.destroy(),
          close: () => woken(),
        });
        res.once("close", woken);
        await wake;
        clearTimeout(timer);
        res.off("close", woken);
        untrack();
        if (!writable(res)) return;
        if (connections.closing) throw shuttingDown();
        page = await feed.read(room, since, query.limit, query.epoch);
      }
      // A woken herd of polls shares one page, and one serialisation of it.
      if (sendJsonText(res, 200, feed.pageJson(page))) {
        // Under the transport whose client asked: a stream client's history load is that stream's cost.
        this.ctx.stats.delivered(transport, page.messages.length);
        this.ctx.metrics.delivered(transport, page.messages);
      }
    } finally {
      subscription?.close();
    }
  }

  get parked(): number {
    return this.ctx.connections.count(this.name);
  }

  dropAll(): number {
    return this.ctx.connections.dropAll(this.name);
  }

  close(reason: CloseReason = "shutdown"): Promise<void> {
    return this.ctx.connections.closeAll(this.name, reason);
  }
}
