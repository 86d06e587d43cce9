/**
 * The floor of the comparison: a bare `ws` 8 broadcast server. A client joins the room named in
 * its connect URL (`/?room=NAME`); a send is serialised once and that one buffer handed to
 * `ws.send` of every socket in the room (as a text frame). No store, no sequencer, no resume.
 */
import { WebSocket, WebSocketServer } from "ws";
import { announce, createPeerHttp } from "./peerHttp.js";

const rooms = new Map<string, Set<WebSocket>>();

const http = createPeerHttp((message) => {
  const sockets = rooms.get(message.room);
  if (!sockets) return;
  // One JSON.stringify and one UTF-8 encoding per message, whatever the room's size.
  const frame = Buffer.from(JSON.stringify(message));
  for (const socket of sockets) if (socket.readyState === WebSocket.OPEN) socket.send(frame, { binary: false });
});

const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
wss.on("connection", (socket, req) => {
  const room = new URL(req.url ?? "/", "http://localhost").searchParams.get("room");
  if (!room) {
    socket.close(1008, "join a room: ?room=NAME");
    return;
  }
  let members = rooms.get(room);
  if (!members) rooms.set(room, (members = new Set()));
  members.add(socket);
  socket.on("close", () => members.delete(socket));
  // A client reset must not bring the peer down; its close follows.
  socket.on("error", () => {});
});

announce(http, "ws", () => {
  for (const client of wss.clients) client.terminate();
  wss.close();
});
