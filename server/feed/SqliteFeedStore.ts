/**
 * FeedStore on better-sqlite3: a file (history survives restarts) or ":memory:".
 * A room's last seq lives in its own row, so pruning history never reuses a seq; the row also
 * holds the room's epoch, drawn when the room is first used, so a wiped file (or memory) is a new epoch,
 * and the bytes of history it holds (each message row keeps its JSON's size), so pruning by bytes
 * needs no scan.
 */
import Database from "better-sqlite3";
import type { Message } from "../../web/src/isomorphic/protocol/index.js";
import { NO_ROOM_LIMITS, tooManyRooms } from "./limits.js";
import { RecentMessages } from "./RecentMessages.js";
import { WalCheckpointer } from "./WalCheckpointer.js";
import type { AppendResult, FeedEvent, FeedStore, HistoryPage, MessageDraft, RoomBounds, StoreLimits } from "./types.js";

interface Row {
  bytes?: number;
  seq: number;
  id: string;
  room: string;
  from_id: string;
  from_name: string;
  text: string;
  sent_at: number | null;
  ts: number;
}

/** Messages kept in memory per room (RecentMessages), and what all rooms' together may weigh. */
const RECENT_PER_ROOM = 256;
const RECENT_BUDGET_BYTES = 16 * 1024 * 1024;
/** How often the WAL of a file is checkpointed off the event loop: it holds at most about this much of writes. */
const CHECKPOINT_INTERVAL_MS = 1_000;

const COLUMNS = "seq, id, room, from_id, from_name, text, sent_at, ts";
/**
 * SQL for the UTF-8 size of a stored message's JSON, for rows written before sizes were kept.
 * SQLite's JSON matches JSON.stringify's but for a few control-character escapes: near enough.
 */
const JSON_BYTES = `length(CAST(json_object('seq', seq, 'id', id, 'room', room, 'from', json_object('id', from_id, 'name', from_name), 'text', text, 'ts', ts) AS BLOB))
  + CASE WHEN sent_at IS NULL THEN 0 ELSE length(',"sentAt":' || sent_at) END`;
/** SQL for a fresh epoch: 8 random hex digits. */
const NEW_EPOCH = "lower(hex(randomblob(4)))";

function toMessage(row: Row): Message {
  // Key order as documented: seq, id, room, from, text, sentAt?, ts.
  return {
    seq: row.seq,
    id: row.id,
    room: row.room,
    from: { id: row.from_id, name: row.from_name },
    text: row.text,
    ...(row.sent_at !== null && { sentAt: row.sent_at }),
    ts: row.ts,
  };
}

export class SqliteFeedStore implements FeedStore {
  readonly #db: Database.Database;
  readonly #appendTx: (room: string, draft: MessageDraft, ts: number) => AppendResult;
  readonly #after: Database.Statement<[string, number, number], Row & { bytes: number }>;
  readonly #latest: Database.Statement<[string, number], Row & { bytes: number }>;
  readonly #room: Database.Statement<[string], { last_seq: number; epoch: string }>;
  readonly #newRoom: Database.Statement<[string], { last_seq: number; epoch: string }>;
  readonly #oldest: Database.Statement<[string], { seq: number | null }>;
  readonly #roomCount: Database.Statement<[], { count: number }>;
  readonly #maxRooms: number;
  /**
   * Each room's bounds, as last read. Every poll asks for them (twice, for a parked one), so they
   * are kept in memory: this connection's own appends drop a room's entry, and another connection's
   * commits (PRAGMA data_version moves, checked once per event-loop turn) drop them all, so an answer
   * is never staler than the file was at the start of the turn.
   */
  readonly #bounds = new Map<string, RoomBounds>();
  readonly #dataVersion: Database.Statement<[], number>;
  /** The newest messages of each room, as this connection appended them: most reads ask for these. */
  readonly #recent = new RecentMessages(RECENT_PER_ROOM, RECENT_BUDGET_BYTES);
  readonly #prunedThrough: () => number;
  #seenVersion = -1;
  #versionChecked = false;
  #checkpointer: WalCheckpointer | undefined;

  /**
   * `checkpointIntervalMs`: how often a worker thread checkpoints the WAL of a file (0: SQLite's
   * automatic checkpoint on this connection, inside the commit that fills 1,000 WAL pages).
   */
  constructor(file: string, historyLimit: number, limits: Partial<Omit<StoreLimits, "historyLimit">> = {}, checkpointIntervalMs = CHECKPOINT_INTERVAL_MS) {
    const { maxRooms, maxRoomHistoryBytes } = { ...NO_ROOM_LIMITS, ...limits };
    this.#maxRooms = maxRooms;
    this.#db = new Database(file);
    // WAL with synchronous=NORMAL: a committed message survives a process crash without an fsync per
    // message; the fsyncs happen at checkpoints, which a file's WalCheckpointer runs off the event loop.
    const journal = this.#db.pragma("journal_mode = WAL", { simple: true });
    this.#db.pragma("synchronous = NORMAL");
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS rooms (room TEXT PRIMARY KEY, last_seq INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS messages (
        room TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL,
        from_id TEXT NOT NULL, from_name TEXT NOT NULL, text TEXT NOT NULL,
        sent_at INTEGER, ts INTEGER NOT NULL,
        PRIMARY KEY (room, seq)
      ) WITHOUT ROWID;
      CREATE UNIQUE INDEX IF NOT EXISTS messages_by_client_id ON messages (room, from_id, id);
    `);
    // Files written before epochs or history sizes existed: give each room an epoch, and measure
    // each message and room once, in one transaction, so a crash midway leaves the file as it was.
    const columnsOf = (table: string) => this.#db.prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('${table}')`).all().map((c) => c.name);
    this.#db.transaction(() => {
      if (!columnsOf("rooms").includes("epoch")) this.#db.exec("ALTER TABLE rooms ADD COLUMN epoch TEXT");
      this.#db.exec(`UPDATE rooms SET epoch = ${NEW_EPOCH} WHERE epoch IS NULL`);
      if (!columnsOf("messages").includes("bytes")) {
        this.#db.exec(`ALTER TABLE messages ADD COLUMN bytes INTEGER; UPDATE messages SET bytes = ${JSON_BYTES}`);
      }
      if (!columnsOf("rooms").includes("history_bytes")) {
        this.#db.exec(`ALTER TABLE rooms ADD COLUMN history_bytes INTEGER NOT NULL DEFAULT 0;
          UPDATE rooms SET history_bytes = (SELECT COALESCE(SUM(bytes), 0) FROM messages WHERE messages.room = rooms.room)`);
      }
    })();
    const existing = this.#db.prepare<[string, string, string], Row>(
      `SELECT ${COLUMNS} FROM messages WHERE room = ? AND from_id = ? AND id = ?`,
    );
    const nextSeq = this.#db.prepare<[string], { last_seq: number }>(
      `INSERT INTO rooms (room, last_seq, epoch, history_bytes) VALUES (?, 1, ${NEW_EPOCH}, 0)
       ON CONFLICT (room) DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq`,
    );
    const insert = this.#db.prepare(
      `INSERT INTO messages (${COLUMNS}, bytes) VALUES (@seq, @id, @room, @from_id, @from_name, @text, @sent_at, @ts, @bytes)`,
    );
    const addBytes = this.#db.prepare<[number, string], { history_bytes: number }>(
      "UPDATE rooms SET history_bytes = history_bytes + ? WHERE room = ? RETURNING history_bytes",
    );
    const oldestSizes = this.#db.prepare<[string], { seq: number; bytes: number }>("SELECT seq, bytes FROM messages WHERE room = ? ORDER BY seq");
    const prune = this.#db.prepare<[string, number]>("DELETE FROM messages WHERE room = ? AND seq <= ?");
    let prunedThrough = 0;
    this.#appendTx = this.#db.transaction((room: string, draft: MessageDraft, ts: number): AppendResult => {
      prunedThrough = 0;
      const found = existing.get(room, draft.from.id, draft.id);
      if (found) return { message: toMessage(found), created: false };
      if (!this.#room.get(room) && this.#roomCount.get()!.count >= maxRooms) throw tooManyRooms(maxRooms);
      const seq = nextSeq.get(room)!.last_seq;
      const row: Row = {
        seq,
        id: draft.id,
        room,
        from_id: draft.from.id,
        from_name: draft.from.name,
        text: draft.text,
        sent_at: draft.sentAt ?? null,
        ts,
      };
      const message = toMessage(row);
      const json = JSON.stringify(message);
      const bytes = Buffer.byteLength(json);
      insert.run({ ...row, bytes });
      const historyBytes = addBytes.get(bytes, room)!.history_bytes;
      // Prune the oldest while the room holds more messages or bytes than it may; never the newest.
      const countCut = seq - historyLimit;
      let excess = historyBytes - maxRoomHistoryBytes;
      let cut = 0;
      let freed = 0;
      if (countCut > 0 || excess > 0) {
        for (const old of oldestSizes.iterate(room)) {
          if (old.seq >= seq || (old.seq > countCut && excess <= 0)) break;
          cut = old.seq;
          freed += old.bytes;
          excess -= old.bytes;
        }
      }
      if (cut > 0) {
        prune.run(room, cut);
        addBytes.get(-freed, room);
      }
      prunedThrough = cut;
      return { message, created: true, json };
    });
    const selected = `${COLUMNS}, bytes`;
    this.#after = this.#db.prepare(`SELECT ${selected} FROM messages WHERE room = ? AND seq > ? ORDER BY seq LIMIT ?`);
    this.#latest = this.#db.prepare(`SELECT ${selected} FROM messages WHERE room = ? ORDER BY seq DESC LIMIT ?`);
    this.#room = this.#db.prepare("SELECT last_seq, epoch FROM rooms WHERE room = ?");
    this.#newRoom = this.#db.prepare(
      `INSERT INTO rooms (room, last_seq, epoch, history_bytes) VALUES (?, 0, ${NEW_EPOCH}, 0)
       ON CONFLICT (room) DO UPDATE SET last_seq = last_seq RETURNING last_seq, epoch`,
    );
    this.#oldest = this.#db.prepare("SELECT MIN(seq) AS seq FROM messages WHERE room = ?");
    this.#roomCount = this.#db.prepare("SELECT COUNT(*) AS count FROM rooms");
    this.#dataVersion = this.#db.prepare<[], number>("PRAGMA data_version").pluck();
    this.#prunedThrough = () => prunedThrough;
    if (journal === "wal" && checkpointIntervalMs > 0) {
      this.#db.pragma("wal_autocheckpoint = 0");
      this.#checkpointer = new WalCheckpointer(file, checkpointIntervalMs, () => {
        // Without the worker, the WAL would grow for ever: checkpoint here again, as SQLite does.
        if (this.#db.open) this.#db.pragma("wal_autocheckpoint = 1000");
      });
    }
  }

  /** Checkpoints run off the event loop so far (0 for a memory store, or with checkpointIntervalMs 0). */
  get checkpoints(): number {
    return this.#checkpointer?.checkpoints ?? 0;
  }

  async append(room: string, draft: MessageDraft, ts: number): Promise<AppendResult> {
    this.#checkVersion();
    const result = this.#appendTx(room, draft, ts);
    if (result.created) {
      this.#bounds.delete(room);
      this.#recent.add(room, { message: result.message, json: result.json! }, this.#prunedThrough());
    }
    return result;
  }

  async after(room: string, afterSeq: number, limit: number, maxBytes: number): Promise<HistoryPage> {
    this.#checkVersion();
    return this.#recent.after(room, afterSeq, limit, maxBytes) ?? readWithin(this.#after.iterate(room, afterSeq, limit), maxBytes);
  }

  async latest(room: string, limit: number, maxBytes: number): Promise<HistoryPage> {
    const page = readWithin(this.#latest.iterate(room, limit), maxBytes);
    page.events.reverse();
    return page;
  }

  async bounds(room: string): Promise<RoomBounds> {
    this.#checkVersion();
    const known = this.#bounds.get(room);
    if (known) return { ...known };
    const bounds = this.#readBounds(room);
    // A room over the cap is not created, so it has no bounds to remember.
    if (bounds.epoch !== "") this.#bounds.set(room, bounds);
    return { ...bounds };
  }

  /** Forget what memory holds of the file when another connection has committed to it since. */
  #checkVersion(): void {
    // Asked once per event-loop turn: a herd of woken polls in one turn shares the check.
    if (this.#versionChecked) return;
    this.#versionChecked = true;
    setImmediate(() => (this.#versionChecked = false));
    const version = this.#dataVersion.get()!;
    if (version !== this.#seenVersion) {
      this.#bounds.clear();
      this.#recent.clear();
      this.#seenVersion = version;
    }
  }

  #readBounds(room: string): RoomBounds {
    // A room gets its epoch when it is first used, read or written: a client that joined it
    // empty must still be able to tell it from a later, wiped and refilled one. Over the room
    // cap, reading a room creates nothing: it is empty and has no epoch.
    let row = this.#room.get(room);
    if (!row) {
      if (this.#roomCount.get()!.count >= this.#maxRooms) return { oldest: 0, latest: 0, epoch: "" };
      row = this.#newRoom.get(room)!;
    }
    const latest = row.last_seq;
    const oldest = latest === 0 ? 0 : (this.#oldest.get(room)?.seq ?? 0);
    return { oldest, latest, epoch: row.epoch };
  }

  async close(): Promise<void> {
    await this.#checkpointer?.close();
    // The last connection to close checkpoints what is left and removes the WAL.
    if (this.#db.open) this.#db.close();
  }
}

/**
 * Rows from an iterator until their stored sizes reach maxBytes (at least one): the iterator is
 * closed there, so no more rows are read than are sent.
 */
function readWithin(rows: IterableIterator<Row & { bytes: number }>, maxBytes: number): HistoryPage {
  const events: FeedEvent[] = [];
  let bytes = 0;
  for (const row of rows) {
    if (events.length > 0 && bytes >= maxBytes) return { events, truncated: true };
    const message = toMessage(row);
    events.push({ message, json: JSON.stringify(message) });
    bytes += row.bytes;
  }
  return { events, truncated: false };
}
