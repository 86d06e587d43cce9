/**
 * FeedStore on better-sqlite3: a file (history survives restarts) or ":memory:".
 * A room's last seq lives in its own row, so pruning history never reuses a seq; the row also
 * holds the room's epoch, drawn when the room is first used, so a wiped file (or memory) is a new epoch.
 */
import Database from "better-sqlite3";
import type { Message } from "../../web/src/protocol/index.js";
import type { AppendResult, FeedStore, MessageDraft, RoomBounds } from "./types.js";

interface Row {
  seq: number;
  id: string;
  room: string;
  from_id: string;
  from_name: string;
  text: string;
  sent_at: number | null;
  ts: number;
}

const COLUMNS = "seq, id, room, from_id, from_name, text, sent_at, ts";
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
  readonly #after: Database.Statement<[string, number, number], Row>;
  readonly #latest: Database.Statement<[string, number], Row>;
  readonly #room: Database.Statement<[string], { last_seq: number; epoch: string }>;
  readonly #newRoom: Database.Statement<[string], { last_seq: number; epoch: string }>;
  readonly #oldest: Database.Statement<[string], { seq: number | null }>;

  constructor(file: string, historyLimit: number) {
    this.#db = new Database(file);
    // WAL with synchronous=NORMAL: a committed message survives a process crash without an fsync per message.
    this.#db.pragma("journal_mode = WAL");
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
    // Files written before epochs existed: give each room one now.
    const roomColumns = this.#db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('rooms')").all();
    if (!roomColumns.some((c) => c.name === "epoch")) this.#db.exec("ALTER TABLE rooms ADD COLUMN epoch TEXT");
    this.#db.exec(`UPDATE rooms SET epoch = ${NEW_EPOCH} WHERE epoch IS NULL`);
    const existing = this.#db.prepare<[string, string, string], Row>(
      `SELECT ${COLUMNS} FROM messages WHERE room = ? AND from_id = ? AND id = ?`,
    );
    const nextSeq = this.#db.prepare<[string], { last_seq: number }>(
      `INSERT INTO rooms (room, last_seq, epoch) VALUES (?, 1, ${NEW_EPOCH})
       ON CONFLICT (room) DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq`,
    );
    const insert = this.#db.prepare(
      `INSERT INTO messages (${COLUMNS}) VALUES (@seq, @id, @room, @from_id, @from_name, @text, @sent_at, @ts)`,
    );
    const prune = this.#db.prepare<[string, number]>("DELETE FROM messages WHERE room = ? AND seq <= ?");
    this.#appendTx = this.#db.transaction((room: string, draft: MessageDraft, ts: number): AppendResult => {
      const found = existing.get(room, draft.from.id, draft.id);
      if (found) return { message: toMessage(found), created: false };
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
      insert.run(row);
      if (seq > historyLimit) prune.run(room, seq - historyLimit);
      return { message: toMessage(row), created: true };
    });
    this.#after = this.#db.prepare(`SELECT ${COLUMNS} FROM messages WHERE room = ? AND seq > ? ORDER BY seq LIMIT ?`);
    this.#latest = this.#db.prepare(
      `SELECT * FROM (SELECT ${COLUMNS} FROM messages WHERE room = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq`,
    );
    this.#room = this.#db.prepare("SELECT last_seq, epoch FROM rooms WHERE room = ?");
    this.#newRoom = this.#db.prepare(
      `INSERT INTO rooms (room, last_seq, epoch) VALUES (?, 0, ${NEW_EPOCH})
       ON CONFLICT (room) DO UPDATE SET last_seq = last_seq RETURNING last_seq, epoch`,
    );
    this.#oldest = this.#db.prepare("SELECT MIN(seq) AS seq FROM messages WHERE room = ?");
  }

  async append(room: string, draft: MessageDraft, ts: number): Promise<AppendResult> {
    return this.#appendTx(room, draft, ts);
  }

  async after(room: string, afterSeq: number, limit: number): Promise<Message[]> {
    return this.#after.all(room, afterSeq, limit).map(toMessage);
  }

  async latest(room: string, limit: number): Promise<Message[]> {
    return this.#latest.all(room, limit).map(toMessage);
  }

  async bounds(room: string): Promise<RoomBounds> {
    // A room gets its epoch when it is first used, read or written: a client that joined it
    // empty must still be able to tell it from a later, wiped and refilled one.
    const row = this.#room.get(room) ?? this.#newRoom.get(room)!;
    const latest = row.last_seq;
    const oldest = latest === 0 ? 0 : (this.#oldest.get(room)?.seq ?? 0);
    return { oldest, latest, epoch: row.epoch };
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }
}
