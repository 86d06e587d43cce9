/**
 * Long polling: `GET …/messages?since=S&wait=MS` is held until a message after S exists or the
 * wait ends. Whatever arrived meanwhile is answered in one batch.
 */
import type { Request, Response, Router } from "express";
import { ERROR_CODES } from "../../web/src/protocol/index.js";
import { WirelabError } from "../errors.js";
import { classify, declaredTransport, userOf, writable } from "../http/locals.js";
import { parsePollQuery, parseRoom } from "../http/params.js";
import { ROUTES, type Transport, type TransportContext } from "./Transport.js";

export class LongPollTransport implements Transport {
  readonly name = "long-poll" as const;
  /** Parked polls, with the function that answers each at once. */
  readonly #parked = new Map<Response, () => void>();
  #closing = false;

  constructor(private readonly ctx: TransportContext) {}

  mount(router: Router): void {
    router.get(ROUTES.messages, async (req: Request, res: Response, next) => {
      const room = parseRoom(req.params.room);
      const query = parsePollQuery(req.query);
      if (query.wait === 0) return next();
      // A history load or gap fill of another transport's client is that transport's cost.
      const transport = declaredTransport(req) ?? this.name;
      classify(res, transport);
      // A stream client's history load or gap fill is no poller: its stream makes it present.
      if (transport === this.name) this.ctx.presence.touch(room, userOf(res), transport);
      if (this.#closing) throw new WirelabError(503, ERROR_CODES.unavailable, "the server is shutting down");
      const { feed } = this.ctx;
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
          const timer = setTimeout(woken, query.wait);
          this.#parked.set(res, woken);
          res.once("close", woken);
          await wake;
          clearTimeout(timer);
          res.off("close", woken);
          this.#parked.delete(res);
          if (!writable(res)) return;
          if (this.#closing) throw new WirelabError(503, ERROR_CODES.unavailable, "the server is shutting down");
          page = await feed.read(room, since, query.limit, query.epoch);
        }
        // A woken herd of polls shares one page, and one serialisation of it.
        if (writable(res)) {
          res.status(200).type("application/json").send(feed.pageJson(page));
          this.ctx.stats.delivered(this.name, page.messages.length);
          this.ctx.metrics.delivered(this.name, page.messages);
        }
      } finally {
        subscription?.close();
      }
    });
  }

  get parked(): number {
    return this.#parked.size;
  }

  dropAll(): number {
    const count = this.#parked.size;
    for (const res of this.#parked.keys()) res.socket?.destroy();
    return count;
  }

  async close(): Promise<void> {
    this.#closing = true;
    for (const answer of this.#parked.values()) answer();
  }
}
