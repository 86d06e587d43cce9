/**
 * Who is in a room, on which transport, on which instance. Each instance keeps its own members
 * (a stream while it is open, a poller for a while after each poll) and writes them to a
 * PresenceStore with an expiry it renews every few seconds; a store shared through Redis thus
 * shows every instance's members, and an instance that dies without a goodbye drops out once its
 * last renewal expires.
 */
import type { TransportName, User } from "../../web/src/isomorphic/protocol/index.js";

export interface PresenceMember {
  user: User;
  transport: TransportName;
  instance: string;
}

/** Where members are kept: this process's memory, or Redis for a cluster. */
export interface PresenceStore {
  /** Keep these members of a room until `expiresAt` (epoch ms), renewing any already kept. */
  put(room: string, members: readonly string[], expiresAt: number): Promise<void>;
  remove(room: string, member: string): Promise<void>;
  /** Members whose expiry is after `now`. */
  list(room: string, now: number): Promise<string[]>;
}

export interface PresenceOptions {
  /** How long a renewal keeps a member in the store; an instance that dies drops out after at most this. Defaults to 15 s. */
  ttlMs?: number;
  /** How often this instance renews its members. Defaults to ttlMs / 3. */
  renewMs?: number;
  /** How long a poller counts as present after its last poll. Defaults to 35 s (longer than the longest long poll). */
  pollerMs?: number;
  clock?: () => number;
}

interface Local {
  room: string;
  member: string;
  /** Open streams of this member. */
  streams: number;
  /** A poller stays until then (epoch ms); 0 when only streams count. */
  polledUntil: number;
}

export class PresenceTracker {
  readonly #local = new Map<string, Local>();
  readonly #ttlMs: number;
  readonly #pollerMs: number;
  readonly #clock: () => number;
  readonly #timer: NodeJS.Timeout;

  constructor(
    readonly instance: string,
    private readonly store: PresenceStore,
    private readonly onError: (error: unknown) => void = () => {},
    options: PresenceOptions = {},
  ) {
    this.#ttlMs = options.ttlMs ?? 15_000;
    this.#pollerMs = options.pollerMs ?? 35_000;
    this.#clock = options.clock ?? Date.now;
    this.#timer = setInterval(() => this.renew(), options.renewMs ?? this.#ttlMs / 3);
    this.#timer.unref();
  }

  /** A stream opened: present until the returned function is called. */
  join(room: string, user: User, transport: TransportName): () => void {
    const local = this.#entry(room, user, transport);
    local.streams += 1;
    this.#write(local);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      local.streams -= 1;
      if (!this.#present(local, this.#clock())) this.#forget(local);
    };
  }

  /** A poll arrived: present for a while. */
  touch(room: string, user: User, transport: TransportName): void {
    const local = this.#entry(room, user, transport);
    const fresh = local.polledUntil === 0 && local.streams === 0;
    local.polledUntil = this.#clock() + this.#pollerMs;
    // Renewals carry the rest; only a newcomer is written at once.
    if (fresh) this.#write(local);
  }

  /** Every instance's members of a room, sorted by name, then transport. */
  async list(room: string): Promise<PresenceMember[]> {
    const members = (await this.store.list(room, this.#clock())).map((m) => JSON.parse(m) as PresenceMember);
    return members.sort((a, b) => a.user.name.localeCompare(b.user.name) || a.transport.localeCompare(b.transport) || a.instance.localeCompare(b.instance));
  }

  /** Members this instance holds now, for /v1/stats. */
  get localMembers(): number {
    const now = this.#clock();
    let count = 0;
    for (const local of this.#local.values()) if (this.#present(local, now)) count += 1;
    return count;
  }

  /** Renew every member still present here; forget pollers that stopped polling. */
  renew(): void {
    const now = this.#clock();
    const byRoom = new Map<string, string[]>();
    for (const local of [...this.#local.values()]) {
      if (!this.#present(local, now)) {
        this.#forget(local);
        continue;
      }
      let members = byRoom.get(local.room);
      if (!members) byRoom.set(local.room, (members = []));
      members.push(local.member);
    }
    for (const [room, members] of byRoom) this.store.put(room, members, now + this.#ttlMs).catch(this.onError);
  }

  close(): void {
    clearInterval(this.#timer);
  }

  #entry(room: string, user: User, transport: TransportName): Local {
    const member = JSON.stringify({ user: { id: user.id, name: user.name }, transport, instance: this.instance } satisfies PresenceMember);
    const key = `${room}\n${member}`;
    let local = this.#local.get(key);
    if (!local) this.#local.set(key, (local = { room, member, streams: 0, polledUntil: 0 }));
    return local;
  }

  #present(local: Local, now: number): boolean {
    return local.streams > 0 || local.polledUntil > now;
  }

  #write(local: Local): void {
    this.store.put(local.room, [local.member], this.#clock() + this.#ttlMs).catch(this.onError);
  }

  #forget(local: Local): void {
    this.#local.delete(`${local.room}\n${local.member}`);
    this.store.remove(local.room, local.member).catch(this.onError);
  }
}

/** Presence of one instance on its own: the store is this process's memory. */
export class LocalPresenceStore implements PresenceStore {
  readonly #rooms = new Map<string, Map<string, number>>();

  async put(room: string, members: readonly string[], expiresAt: number): Promise<void> {
    let kept = this.#rooms.get(room);
    if (!kept) this.#rooms.set(room, (kept = new Map()));
    for (const member of members) kept.set(member, expiresAt);
  }

  async remove(room: string, member: string): Promise<void> {
    const kept = this.#rooms.get(room);
    kept?.delete(member);
    if (kept?.size === 0) this.#rooms.delete(room);
  }

  async list(room: string, now: number): Promise<string[]> {
    const kept = this.#rooms.get(room);
    if (!kept) return [];
    for (const [member, expiresAt] of kept) if (expiresAt <= now) kept.delete(member);
    return [...kept.keys()];
  }
}
