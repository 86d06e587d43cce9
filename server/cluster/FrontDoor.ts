/**
 * A TCP front door for several wirelab instances: each new connection goes to the next instance
 * in turn (no stickiness), and one that refuses is skipped for the next. It forwards bytes and
 * nothing else: any instance can serve any request, because every cursor is held by the client
 * and the history is shared (docs/scaling.md).
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";

export interface Backend {
  host: string;
  port: number;
}

export class FrontDoor {
  #next = 0;
  readonly #sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    private readonly backends: readonly Backend[],
  ) {}

  static async start(backends: readonly Backend[], listen: { host?: string; port?: number } = {}): Promise<FrontDoor> {
    if (backends.length === 0) throw new TypeError("the front door needs at least one instance");
    let door: FrontDoor | undefined;
    const server = createServer((client) => door!.#accept(client));
    door = new FrontDoor(server, backends);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(listen.port ?? 0, listen.host ?? "127.0.0.1", () => resolve());
    });
    return door;
  }

  get url(): string {
    const address = this.server.address() as { address: string; port: number };
    return `http://${address.address}:${address.port}`;
  }

  #accept(client: Socket): void {
    this.#sockets.add(client);
    client.once("close", () => this.#sockets.delete(client));
    client.on("error", () => client.destroy());
    client.pause();
    this.#connect(client, 0);
  }

  /** Try the next instance; on refusal try the one after, until every one has refused. */
  #connect(client: Socket, tried: number): void {
    if (client.destroyed) return;
    if (tried >= this.backends.length) {
      client.destroy();
      return;
    }
    const backend = this.backends[this.#next++ % this.backends.length]!;
    const upstream = createConnection(backend);
    let connected = false;
    upstream.once("connect", () => {
      connected = true;
      this.#sockets.add(upstream);
      upstream.once("close", () => this.#sockets.delete(upstream));
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
      client.once("close", () => upstream.destroy());
      upstream.once("close", () => client.destroy());
    });
    upstream.on("error", () => {
      if (connected) upstream.destroy();
      else this.#connect(client, tried + 1);
    });
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
