/**
 * Short polling: `GET …/messages?since=S` (wait=0) answers at once with what is new.
 * The client asks again on a timer; every question costs a full HTTP request.
 */
import type { Request, Response, Router } from "express";
import { classify, declaredTransport, userOf, writable } from "../http/locals.js";
import { parsePollQuery, parseRoom } from "../http/params.js";
import { ROUTES, type Transport, type TransportContext } from "./Transport.js";

export class ShortPollTransport implements Transport {
  readonly name = "short-poll" as const;
  readonly #inFlight = new Set<Response>();

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
      this.#inFlight.add(res);
      res.once("close", () => this.#inFlight.delete(res));
      const page = await this.ctx.feed.read(room, query.since, query.limit, query.epoch);
      // Pollers at the same cursor share one page, and one serialisation of it.
      if (writable(res)) {
        res.status(200).type("application/json").send(this.ctx.feed.pageJson(page));
        this.ctx.stats.delivered(this.name, page.messages.length);
        this.ctx.metrics.delivered(this.name, page.messages);
      }
    });
  }

  dropAll(): number {
    const count = this.#inFlight.size;
    for (const res of this.#inFlight) res.socket?.destroy();
    return count;
  }

  async close(): Promise<void> {
    // Short polls are answered at once; nothing is held open.
  }
}
