/**
 * Short polling: `GET …/messages?since=S` (wait=0) answers at once with what is new.
 * The client asks again on a timer; every question costs a full HTTP request.
 */
import type { Request, Response, Router } from "express";
import { classify, declaredTransport, userOf, writable } from "../http/locals.js";
import { parsePollQuery, parseRoom } from "../http/params.js";
import type { CloseReason } from "./ConnectionRegistry.js";
import { ROUTES, type Transport, type TransportContext } from "./Transport.js";

export class ShortPollTransport implements Transport {
  readonly name = "short-poll" as const;
  constructor(private readonly ctx: TransportContext) {}

  mount(router: Router): void {
    router.get(ROUTES.messages, async (req: Request, res: Response, next) => {
      const room = parseRoom(req.params.room);
      const query = parsePollQuery(req.query);
      if (query.wait > 0) return next();
      // A history load or gap fill of another transport's client is that transport's cost.
      const transport = declaredTransport(req) ?? this.name;
      classify(res, transport);
      // A stream client's history load or gap fill is no poller: its stream makes it present.
      if (transport === this.name) this.ctx.presence.touch(room, userOf(res), transport);
      // A short poll is answered at once: tracked (a drop cuts it) but not held against the user's cap.
      const { connections } = this.ctx;
      connections.admit(this.name, userOf(res), false);
      const untrack = connections.add({ transport: this.name, user: userOf(res), room, drop: () => res.socket?.destroy(), close: () => {} }, false);
      res.once("close", untrack);
      const page = await this.ctx.feed.read(room, query.since, query.limit, query.epoch);
      // Pollers at the same cursor share one page, and one serialisation of it.
      if (writable(res)) {
        res.status(200).type("application/json").send(this.ctx.feed.pageJson(page));
        // Under the transport whose client asked: a stream client's history load is that stream's cost.
        this.ctx.stats.delivered(transport, page.messages.length);
        this.ctx.metrics.delivered(transport, page.messages);
      }
    });
  }

  dropAll(): number {
    return this.ctx.connections.dropAll(this.name);
  }

  async close(_reason?: CloseReason): Promise<void> {
    // Short polls are answered at once; nothing is held open. New ones are refused from now on.
    this.ctx.connections.startClosing();
  }
}
