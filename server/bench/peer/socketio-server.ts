/**
 * The comparison peer: a plain Socket.IO 4 chat server (socket.io is a devDependency). Clients
 * join the room named in their handshake query; POST /send stores nothing, numbers the message
 * per room and broadcasts it; GET /latest?room= answers the newest seq. It prints one JSON line
 * with its URL when it listens, like `wirelab serve`.
 *
 * With WIRELAB_PEER_REDIS set, it joins the other peers on that Redis through
 * @socket.io/redis-streams-adapter (the adapter Socket.IO's docs recommend for connection state
 * recovery across servers): a broadcast on one server reaches the sockets of all of them.
 */
import { createServer, type IncomingMessage } from "node:http";
import { createAdapter } from "@socket.io/redis-streams-adapter";
import { Redis } from "ioredis";
import { Server } from "socket.io";

const seqs = new Map<string, number>();
/** Sends already numbered, by room and id: a retried send gets its first seq back. */
const seen = new Map<string, number>();

async function body(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

const http = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://localhost");
  const answer = (status: number, value: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(value));
  };
  if (req.method === "POST" && url.pathname === "/send") {
    body(req).then(
      (value) => {
        const { room, id, text } = value as { room: string; id: string; text: string };
        const key = `${room}\n${id}`;
        let seq = seen.get(key);
        if (seq === undefined) {
          seq = (seqs.get(room) ?? 0) + 1;
          seqs.set(room, seq);
          seen.set(key, seq);
          const now = Date.now();
          io.to(room).emit("message", { seq, id, room, from: { id: "u-bench", name: "bench" }, text, sentAt: now, ts: now });
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
  answer(404, { error: "not found" });
});

const redisUrl = process.env.WIRELAB_PEER_REDIS;
const adapter = redisUrl ? createAdapter(new Redis(redisUrl), { streamName: process.env.WIRELAB_PEER_STREAM ?? "socket.io" }) : undefined;
const io = new Server(http, { transports: ["websocket"], perMessageDeflate: false, serveClient: false, ...(adapter && { adapter }) });
io.on("connection", (socket) => {
  const room = socket.handshake.query.room;
  if (typeof room === "string") void socket.join(room);
});

http.listen(0, "127.0.0.1", () => {
  const address = http.address();
  const port = typeof address === "object" && address ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}`, peer: "socket.io" })}\n`);
});

process.once("SIGTERM", () => {
  io.close();
  http.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2_000).unref();
});
