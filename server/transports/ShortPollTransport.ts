/**
 * Short polling: `GET …/messages?since=S` (wait=0) answers at once with what is new.
 * The client asks again on a timer; every question costs a full HTTP request.
 */
import { classify, sendJsonText, userOf } from "../http/locals.js";
import type { CloseReason } from "./ConnectionRegistry.js";
import type { PollRequest, PollingTransport, TransportContext } from "./Transport.js";

export class ShortPollTransport implements PollingTransport {
  readonly name = "short-poll" as const;
  constructor(private readonly ctx: TransportContext) {}

  async poll({ res, room, query, declared }: PollRequest): Promise<void> {
    // A history load or gap fill of another transport's client is that transport's cost.
    const transport = declared ?? this.name;
    classify(res, transport);
    // A stream client's history load or gap fill is no poller: its stream makes it present.
    if (transport === this.name) this.ctx.presence.touch(room, userOf(res), transport);
    // A short poll is answered at once: tracked (a drop cuts it) but not held against the user's cap.
    const { connections, feed } = this.ctx;
    connections.admit(this.name, userOf(res), false);
    const untrack = connections.add({ transport: this.name, user: userOf(res), room, drop: () => res.socket?.destroy(), close: () => {} }, false);
    res.once("close", untrack);
    const page = await feed.read(room, query.since, query.limit, query.epoch);
    // Pollers at the same cursor share one page, and one serialisation of it.
    if (sendJsonText(res, 200, feed.pageJson(page))) {
      // Under the transport whose client asked: a stream client's history load is that stream's cost.
      this.ctx.stats.delivered(transport, page.messages.length);
      this.ctx.metrics.delivered(transport, page.messages);
    }
  }

  dropAll(): number {
    return this.ctx.connections.dropAll(this.name);
  }

  async close(_reason?: CloseReason): Promise<void> {
    // Short polls are answered at once; nothing is held open. New ones are refused from now on.
    this.ctx.connections.startClosing();
  }
}
