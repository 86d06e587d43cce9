/**
 * The HTTP side every comparison peer shares: POST /send numbers a message per room (idempotent
 * by id: a retried send gets its first seq back) and hands it to the peer's broadcast once;
 * GET /latest?room= answers the newest seq. Nothing is stored. `announce` prints the one JSON
 * line with the URL that `wirelab serve` prints too, so the bench starts both the same way.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";

/** What a peer broadcasts: the shape of wirelab's messages, so the load worker reads seq and text alike. */
export interface PeerMessage {
  seq: number;
  id: string;
  room: string;
  from: { id: string; name: string };
  text: string;
  sentAt: number;
  ts: number;
}

async function body(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

export function createPeerHttp(broadcast: (message: PeerMessage) => void): Server {
  const seqs = new Map<string, number>();
  /** Sends already numbered, by room and id. */
  const seen = new Map<string, number>();
  return createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const answer = (status: number, value: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(value));
    };
    if (req.method === "POST" && url.pathname === "/send") {
      body(req).then(
        (value) => {
          const { room, id, text } = (value ?? {}) as { room?: unknown; id?: unknown; text?: unknown };
          if (typeof room !== "string" || typeof id !== "string" || typeof text !== "string") return answer(400, { error: "room, id and text must be strings" });
          const key = `${room}\n${id}`;
          let seq = seen.get(key);
          if (seq === undefined) {
            seq = (seqs.get(room) ?? 0) + 1;
            seqs.set(room, seq);
            seen.set(key, seq);
            const now = Date.now();
            broadcast({ seq, id, room, from: { id: "u-bench", name: "bench" }, text, sentAt: now, ts: now });
          }
          answer(201, { seq, id });
        },
        () => answer(400, { error: "bad body" }),
      );
      return;
    }
    if (req.method === "GET" && url.pathname === "/latest") {
      answer(200, { latest: seqs.get(url.searchParams.get("room") ?? "") ?? 0 });
      return;
    }
    // A WebSocket peer answers upgrades on the same server; anything else is not the peer's.
    answer(404, { error: "not found" });
  });
}

/** Listen on a free loopback port, print the URL line, and close on SIGTERM (after `close`). */
export function announce(http: Server, peer: string, close: () => void = () => {}): void {
  http.listen(0, "127.0.0.1", () => {
    const address = http.address();
    const port = typeof address === "object" && address ? address.port : 0;
    process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}`, peer })}\n`);
  });
  process.once("SIGTERM", () => {
    close();
    http.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2_000).unref();
  });
}
