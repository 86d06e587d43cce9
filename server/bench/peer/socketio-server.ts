/**
 * The Socket.IO comparison peer: a plain Socket.IO 4 chat server (socket.io is a devDependency).
 * Clients join the room named in their handshake query; a send (peerHttp) is broadcast with
 * `io.to(room).emit`.
 *
 * WIRELAB_PEER_TRANSPORT=polling serves HTTP long-polling only (the socket.io-polling peer);
 * otherwise WebSocket only. With WIRELAB_PEER_REDIS set, it joins the other peers on that Redis
 * through @socket.io/redis-streams-adapter (the adapter Socket.IO's docs recommend for connection
 * state recovery across servers): a broadcast on one server reaches the sockets of all of them.
 */
import { createAdapter } from "@socket.io/redis-streams-adapter";
import { Redis } from "ioredis";
import { Server } from "socket.io";
import { announce, createPeerHttp } from "./peerHttp.js";

const http = createPeerHttp((message) => io.to(message.room).emit("message", message));

const polling = process.env.WIRELAB_PEER_TRANSPORT === "polling";
const redisUrl = process.env.WIRELAB_PEER_REDIS;
const adapter = redisUrl ? createAdapter(new Redis(redisUrl), { streamName: process.env.WIRELAB_PEER_STREAM ?? "socket.io" }) : undefined;
const io = new Server(http, { transports: [polling ? "polling" : "websocket"], perMessageDeflate: false, serveClient: false, ...(adapter && { adapter }) });
io.on("connection", (socket) => {
  const room = socket.handshake.query.room;
  if (typeof room === "string") void socket.join(room);
});

announce(http, polling ? "socket.io-polling" : "socket.io", () => io.close());
