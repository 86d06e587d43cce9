/**
 * Long polling: `GET …/messages?since=S&wait=MS` is held until a message after S exists or the
 * wait ends. Whatever arrived meanwhile is answered in one batch.
 *
 * A parked poll is one small object (ParkedPoll) in its room's set: the room, not each poll,
 * listens to the feed bus, and nothing waits in a suspended async function while the poll is
 * parked. Thousands of parked polls cost their sockets, and little more (docs/benchmarks.md).
 */
import type { ServerResponse } from "node:http";
import { ERROR_CODES, type PollResponse, type Principal, type TransportName } from "../../web/src/isomorphic/protocol/index.js";
import { WirelabError, sendError } from "../errors.js";
import { toWirelabError } from "../http/api.js";
import { classify, releaseRequestHeaders, sendJsonText, userOf, writable } from "../http/locals.js";
import type { PollQuery } from "../http/params.js";
import type { FeedEvent, FeedSubscription } from "../feed/types.js";
import type { CloseReason, TrackedConnection } from "./ConnectionRegistry.js";
import type { PollRequest, PollingTransport, TransportContext } from "./Transport.js";

const shuttingDown = () => new WirelabError(503, ERROR_CODES.unavailable, "the server is shutting down", { retryAfterSeconds: 1 });

/** The polls of one room that wait for its next message, and the room's one bus subscription. */
interface RoomWatch {
  readonly polls: Set<ParkedPoll>;
  readonly subscription: FeedSubscription;
}

export class LongPollTransport implements PollingTransport {
  readonly name = "long-poll" as const;
  readonly #watches = new Map<string, RoomWatch>();

  constructor(readonly ctx: TransportContext) {}

  async poll({ req, res, room, query, declared }: PollRequest): Promise<void> {
    // A history load or gap fill of another transport's client is that transport's cost.
    const transport = declared ?? this.name;
    classify(res, transport);
    // A stream client's history load or gap fill is no poller: its stream makes it present.
    if (transport === this.name) this.ctx.presence.touch(room, userOf(res), transport);
    const { feed, connections } = this.ctx;
    connections.admit(this.name, userOf(res));
    if (query.since === undefined) {
      this.answer(res, transport, await feed.read(room, undefined, query.limit, query.epoch));
      return;
    }
    // Watch the room, and read only once its subscription is in effect: a message stored after
    // the read then still wakes the poll. A bus that may have missed messages (resync) wakes it too.
    const poll = new ParkedPoll(this, res, userOf(res), room, query, query.since, transport);
    const watch = this.#watch(room);
    watch.polls.add(poll);
    try {
      await watch.subscription.ready;
      const page = await feed.read(room, query.since, query.limit, query.epoch);
      if (page.messages.length > 0 || page.reset || !writable(res) || poll.woken) {
        this.unwatch(poll);
        if (poll.woken && page.messages.length === 0 && !page.reset) return poll.answerNow();
        this.answer(res, transport, page);
        return;
      }
      if (connections.count(this.name) >= this.ctx.config.maxParkedPolls) {
        // Each parked poll holds a socket and a timer: past the cap, come back later.
        throw new WirelabError(503, ERROR_CODES.unavailable, `this server holds at most ${this.ctx.config.maxParkedPolls} long polls at once: poll again later`, { retryAfterSeconds: 2 });
      }
    } catch (error) {
      this.unwatch(poll);
      throw error;
    }
    // Parked: the poll answers by itself when it is woken (a message, the wait, a close).
    releaseRequestHeaders(req);
    poll.park();
  }

  /** The room's watch, made (with its one bus subscription) when its first poll arrives. */
  #watch(room: string): RoomWatch {
    let watch = this.#watches.get(room);
    if (watch) return watch;
    const polls = new Set<ParkedPoll>();
    const subscription = this.ctx.feed.subscribe(room, {
      message: (event: FeedEvent) => {
        for (const poll of polls) if (event.message.seq > poll.since) poll.wake();
      },
      resync: () => {
        for (const poll of polls) poll.wake();
      },
    });
    watch = { polls, subscription };
    this.#watches.set(room, watch);
    return watch;
  }

  /** The poll waits no more; the room stops listening once none of its polls does. */
  unwatch(poll: ParkedPoll): void {
    const watch = this.#watches.get(poll.room);
    if (!watch || !watch.polls.delete(poll) || watch.polls.size > 0) return;
    this.#watches.delete(poll.room);
    watch.subscription.close();
  }

  /** Polls waiting for a room's next message (parked or about to park), for tests and stats. */
  watching(room: string): number {
    return this.#watches.get(room)?.polls.size ?? 0;
  }

  /** Rooms with a bus subscription held for waiting polls. */
  get watchedRooms(): number {
    return this.#watches.size;
  }

  /** Send a page (one serialisation shared by a woken herd), counted under the transport whose client asked. */
  answer(res: ServerResponse, transport: TransportName, page: PollResponse): void {
    const { feed, stats, metrics } = this.ctx;
    if (sendJsonText(res, 200, feed.pageJson(page))) {
      stats.delivered(transport, page.messages.length);
      metrics.delivered(transport, page.messages);
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

/** The wait of a parked poll ended: it reads and answers. */
function waitEnded(poll: ParkedPoll): void {
  poll.wake();
}

/**
 * One long poll from the moment it watches its room until it is answered. Parked, it is tracked
 * by the registry (a drop cuts it, a close answers it) and has a timer for its wait; its
 * behaviour lives on the prototype, so a parked poll holds no closures but its close listener.
 */
class ParkedPoll implements TrackedConnection {
  readonly transport = "long-poll" as const;
  /** A message (or a resync, a close, the wait's end) came: read again and answer. */
  woken = false;
  #timer: NodeJS.Timeout | null = null;
  #untrack: (() => void) | null = null;

  constructor(
    private readonly owner: LongPollTransport,
    private readonly res: ServerResponse,
    readonly user: Principal,
    readonly room: string,
    private readonly query: PollQuery,
    readonly since: number,
    /** The transport whose client asked (see poll()). */
    private readonly declared: TransportName,
  ) {}

  park(): void {
    if (this.woken) {
      this.answerNow();
      return;
    }
    this.#timer = setTimeout(waitEnded, this.query.wait, this);
    // A parked poll is answered at once when the server closes (with a 503 below).
    this.#untrack = this.owner.ctx.connections.add(this);
    this.res.on("close", this.#onClose);
  }

  /** The client went away: nothing to answer, everything to let go of. */
  readonly #onClose = (): void => this.wake();

  wake(): void {
    if (this.woken) return;
    this.woken = true;
    // Not parked yet (still reading): the read that follows sees the message, or it parks no more.
    if (this.#untrack === null) return;
    this.answerNow();
  }

  /** Let go of the wait, then read and answer; a failure is answered as the route would. */
  answerNow(): void {
    this.#release();
    this.#answer().catch((error: unknown) => sendError(this.res, toWirelabError(error, this.owner.ctx.logger)));
  }

  async #answer(): Promise<void> {
    const { res, query } = this;
    if (!writable(res)) return;
    if (this.owner.ctx.connections.closing) throw shuttingDown();
    this.owner.answer(res, this.declared, await this.owner.ctx.feed.read(this.room, this.since, query.limit, query.epoch));
  }

  #release(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.res.off("close", this.#onClose);
    this.#untrack?.();
    this.owner.unwatch(this);
  }

  /** Cut at once, as a network failure would. */
  drop(): void {
    this.res.socket?.destroy();
  }

  /** The server closes: the poll is answered now (503, the server is shutting down). */
  close(): void {
    this.wake();
  }
}
