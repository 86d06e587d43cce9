/**
 * The address a request really comes from. A connection that crossed the built-in network
 * emulator reaches the server from the emulator's own socket on 127.0.0.1, so every learner of a
 * class would share one address — one rate limit, one connection cap. The emulator runs in the
 * same process and records here, for each socket it opens to the server, whose connection it
 * carries; the server reads it back by the (address, port) it sees. Only in-process code can
 * register, so nothing a client sends can claim another address.
 */
import type { Socket } from "node:net";

const proxied = new Map<string, string>();

const keyOf = (address: string | undefined, port: number | undefined) => `${address}|${port}`;

function plain(address: string | undefined): string {
  const text = address ?? "unknown";
  // IPv4-mapped IPv6 ("::ffff:1.2.3.4") counts as the IPv4 address.
  return text.startsWith("::ffff:") ? text.slice(7) : text;
}

/** Record that `upstream` (the emulator's socket to the server) carries `client`'s connection. */
export function recordProxied(upstream: Socket, client: Socket): void {
  const origin = plain(client.remoteAddress);
  upstream.once("connect", () => {
    const key = keyOf(plain(upstream.localAddress), upstream.localPort);
    proxied.set(key, origin);
    upstream.once("close", () => proxied.delete(key));
  });
}

/** The client's address as one key: through the emulator, the address of the client it carries. */
export function clientAddress(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string {
  const address = plain(socket.remoteAddress);
  return proxied.get(keyOf(address, socket.remotePort)) ?? address;
}
