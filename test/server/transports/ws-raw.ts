/**
 * WebSocket at the byte level, for the conformance and fuzz suites: the upgrade handshake written
 * by hand over a net.Socket, client frames built bit by bit (masked or not, any opcode, RSV bits,
 * FIN, any declared length in any length encoding), and the server's frames parsed as they come.
 * Every wait has a deadline, so a server that never answers is reported, not waited for.
 */
import { createHash, randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";

export const OP = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;
/** RSV bits as the 3-bit `rsv` of a frame spec: RSV1 is the high one. */
export const RSV1 = 0b100;
export const RSV2 = 0b010;
export const RSV3 = 0b001;

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const DEADLINE_MS = 5_000;

export interface FrameSpec {
  /** 0–15, reserved ones included. */
  opcode: number;
  payload?: Uint8Array | string;
  /** Default true. */
  fin?: boolean;
  /** 0–7 (RSV1 | RSV2 | RSV3); default 0. */
  rsv?: number;
  /** Default true: RFC 6455 §5.3 says a client MUST mask. */
  masked?: boolean;
  /** Default random; all zeros is a valid key too. */
  maskKey?: Uint8Array;
  /** The length the header claims, when it is not the payload's own: a lie, or one past 2^53 (a bigint). */
  declaredLength?: number | bigint;
  /** The length field's size: the shortest that fits (default), or 16 or 64 bits even for a short payload. */
  lengthBits?: 7 | 16 | 64;
}

const bytesOf = (payload: Uint8Array | string | undefined): Buffer =>
  typeof payload === "string" ? Buffer.from(payload, "utf8") : Buffer.from(payload ?? new Uint8Array());

/** One client frame as bytes, exactly as specified (valid or not). */
export function frame(spec: FrameSpec): Buffer {
  const payload = bytesOf(spec.payload);
  const masked = spec.masked ?? true;
  const declared = BigInt(spec.declaredLength ?? payload.length);
  const bits = spec.lengthBits ?? (declared <= 125n ? 7 : declared <= 0xffffn ? 16 : 64);
  if ((bits === 7 && declared > 125n) || (bits === 16 && declared > 0xffffn)) throw new RangeError(`${declared} does not fit ${bits} bits`);
  const head = [((spec.fin ?? true) ? 0x80 : 0) | ((spec.rsv ?? 0) & 7) << 4 | (spec.opcode & 0x0f)];
  const mask = masked ? 0x80 : 0;
  let length: Buffer;
  if (bits === 7) length = Buffer.from([mask | Number(declared)]);
  else if (bits === 16) {
    length = Buffer.alloc(3);
    length[0] = mask | 126;
    length.writeUInt16BE(Number(declared), 1);
  } else {
    length = Buffer.alloc(9);
    length[0] = mask | 127;
    length.writeBigUInt64BE(declared, 1);
  }
  if (!masked) return Buffer.concat([Buffer.from(head), length, payload]);
  const key = Buffer.from(spec.maskKey ?? randomBytes(4));
  const body = Buffer.from(payload.map((byte, i) => byte ^ key[i % 4]!));
  return Buffer.concat([Buffer.from(head), length, key, body]);
}

export const textFrame = (payload: Uint8Array | string, spec: Partial<FrameSpec> = {}) => frame({ opcode: OP.text, payload, ...spec });

/** A close frame's payload: a 2-byte code and a reason; no code at all is an empty payload. */
export function closePayload(code?: number, reason: Uint8Array | string = ""): Buffer {
  if (code === undefined) return Buffer.alloc(0);
  const buffer = Buffer.alloc(2);
  buffer.writeUInt16BE(code);
  return Buffer.concat([buffer, bytesOf(reason)]);
}

export const closeFrame = (code?: number, reason: Uint8Array | string = "") => frame({ opcode: OP.close, payload: closePayload(code, reason) });

/** A frame the server sent. */
export interface ServerFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  /** A server MUST NOT mask (RFC 6455 §5.1); recorded so a test can say so. */
  masked: boolean;
  payload: Buffer;
}

/** Whole frames at the start of `buffer`, and what is left of an incomplete one. */
export function parseFrames(buffer: Buffer): { frames: ServerFrame[]; rest: Buffer } {
  const frames: ServerFrame[] = [];
  let at = 0;
  for (;;) {
    if (buffer.length - at < 2) break;
    const b0 = buffer[at]!;
    const b1 = buffer[at + 1]!;
    let length = b1 & 0x7f;
    let offset = at + 2;
    if (length === 126) {
      if (buffer.length < offset + 2) break;
      length = buffer.readUInt16BE(offset);
      offset += 2;
    } else if (length === 127) {
      if (buffer.length < offset + 8) break;
      length = Number(buffer.readBigUInt64BE(offset));
      offset += 8;
    }
    const masked = (b1 & 0x80) !== 0;
    const key = masked ? buffer.subarray(offset, offset + 4) : undefined;
    if (masked) offset += 4;
    if (buffer.length < offset + length) break;
    let payload = Buffer.from(buffer.subarray(offset, offset + length));
    if (key) payload = Buffer.from(payload.map((byte, i) => byte ^ key[i % 4]!));
    frames.push({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, masked, payload });
    at = offset + length;
  }
  return { frames, rest: buffer.subarray(at) };
}

/** A close frame's code and reason; code null for an empty payload. */
export function closeOf(frame: ServerFrame): { code: number | null; reason: string } {
  if (frame.payload.length < 2) return { code: null, reason: "" };
  return { code: frame.payload.readUInt16BE(0), reason: frame.payload.subarray(2).toString("utf8") };
}

/** A short, readable form of frames, for failure messages. */
export function show(frames: readonly ServerFrame[]): string {
  const names: Record<number, string> = { 0: "cont", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong" };
  return (
    frames
      .map((f) => {
        const name = names[f.opcode] ?? `op${f.opcode}`;
        if (f.opcode === OP.close) return `close(${JSON.stringify(closeOf(f))})`;
        const body = f.opcode === OP.text ? f.payload.toString("utf8").slice(0, 120) : f.payload.toString("hex").slice(0, 40);
        return `${name}${f.fin ? "" : "…"}(${body})`;
      })
      .join(" ") || "(no frames)"
  );
}

export interface OpenOptions {
  token: string;
  room?: string;
  /** More of the query, after the token: "&since=3". */
  query?: string;
  /** Header lines added to the handshake. */
  headers?: ReadonlyArray<readonly [string, string]>;
  /** Wait for the hello frame before resolving (default true, unless `early`). */
  hello?: boolean;
  /** Bytes written in the same write as the handshake, before its answer (RFC 6455 §4.1 says a client waits). */
  early?: Buffer;
  timeoutMs?: number;
}

/** How a connection ended, as the client saw it. */
export interface Ending {
  /** The server's close frame, if it sent one. */
  close: { code: number | null; reason: string } | null;
  /** Frames after the first close frame: there must be none (RFC 6455 §5.5.1). */
  afterClose: ServerFrame[];
  /** The server ended the TCP connection itself (its FIN came); false: it was reset. */
  serverEnded: boolean;
}

/**
 * One WebSocket connection, spoken by hand. Frames the server sends are queued; `next()` takes
 * them in order.
 */
export class RawWebSocket {
  /** Every frame received, in order. */
  readonly received: ServerFrame[] = [];
  /** The handshake answer's status line, and its headers (lower-case names). */
  status = "";
  headers: Record<string, string> = {};
  /** The hello frame's JSON, once it came. */
  hello: Record<string, unknown> | undefined;
  #taken = 0;
  #buffer = Buffer.alloc(0);
  #ended = false;
  #closed = false;
  #wake: () => void = () => undefined;

  private constructor(readonly socket: Socket) {}

  /** Connect, upgrade (checking the 101 and its Sec-WebSocket-Accept), and by default wait for the hello. */
  static async open(port: number, options: OpenOptions): Promise<RawWebSocket> {
    const { token, room = "lobby", query = "", headers = [], early, hello = early === undefined, timeoutMs = DEADLINE_MS } = options;
    const key = randomBytes(16).toString("base64");
    const socket = connect({ port, host: "127.0.0.1" });
    socket.setNoDelay(true);
    const ws = new RawWebSocket(socket);
    socket.on("error", () => undefined);
    socket.on("end", () => ((ws.#ended = true), ws.#wake()));
    socket.on("close", () => ((ws.#closed = true), ws.#wake()));
    const request = [
      `GET /v1/rooms/${room}/ws?token=${token}${query} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      "Connection: Upgrade",
      "Upgrade: websocket",
      "Sec-WebSocket-Version: 13",
      `Sec-WebSocket-Key: ${key}`,
      ...headers.map(([name, value]) => `${name}: ${value}`),
    ].join("\r\n");
    socket.write(Buffer.concat([Buffer.from(`${request}\r\n\r\n`, "latin1"), early ?? Buffer.alloc(0)]));
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      if (ws.status !== "") return ws.#take(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      const lines = head.subarray(0, end).toString("latin1").split("\r\n");
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(":");
        if (colon > 0) ws.headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      ws.status = lines[0] ?? "";
      ws.#take(head.subarray(end + 4));
    };
    socket.on("data", onData);
    try {
      await ws.#until(() => ws.status !== "", timeoutMs, "the handshake answer");
      if (!/^HTTP\/1\.1 101 /.test(ws.status)) throw new Error(`upgrade refused: ${head.toString("latin1").slice(0, 500)}`);
      const accept = createHash("sha1").update(key + GUID).digest("base64");
      if (ws.headers["sec-websocket-accept"] !== accept) throw new Error(`wrong Sec-WebSocket-Accept: ${ws.headers["sec-websocket-accept"]}`);
      if (hello) {
        const first = await ws.next(timeoutMs);
        const json = first.opcode === OP.text ? (JSON.parse(first.payload.toString("utf8")) as Record<string, unknown>) : undefined;
        if (json?.type !== "hello") throw new Error(`the first frame is not the hello: ${show([first])}`);
        ws.hello = json;
      }
      return ws;
    } catch (error) {
      // A failed open holds no socket.
      socket.destroy();
      throw error;
    }
  }

  #take(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    const { frames, rest } = parseFrames(this.#buffer);
    this.#buffer = Buffer.from(rest);
    this.received.push(...frames);
    if (frames.length > 0) this.#wake();
  }

  /** Wait until `condition` holds, woken by every frame and by the end; throws at the deadline. */
  async #until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms; got ${show(this.received.slice(this.#taken))}${this.#closed ? " and the connection closed" : ""}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 100));
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Write frames (or raw bytes), all in one write. */
  send(...frames: Array<FrameSpec | Buffer>): void {
    this.socket.write(Buffer.concat(frames.map((f) => (Buffer.isBuffer(f) ? f : frame(f)))));
  }

  /** Write bytes a few at a time, each write after the last one left: a frame split across TCP segments. */
  async sendInChunks(bytes: Buffer, size: number): Promise<void> {
    for (let at = 0; at < bytes.length; at += size) {
      await new Promise<void>((resolve) => this.socket.write(bytes.subarray(at, at + size), () => resolve()));
    }
  }

  /** The next frame the server sent. */
  async next(timeoutMs = DEADLINE_MS): Promise<ServerFrame> {
    await this.#until(() => this.received.length > this.#taken || this.#closed, timeoutMs, "frame");
    const next = this.received[this.#taken];
    if (!next) throw new Error(`the connection closed; no frame came after ${show(this.received)}`);
    this.#taken += 1;
    return next;
  }

  /**
   * The next JSON text frame of `type`, passing over only the frames that may come at any time
   * (`message` fan-out, `heartbeat`); anything else first is an error.
   */
  async reply(type: string, timeoutMs = DEADLINE_MS): Promise<Record<string, unknown>> {
    for (;;) {
      const next = await this.next(timeoutMs);
      const json = next.opcode === OP.text ? (JSON.parse(next.payload.toString("utf8")) as Record<string, unknown>) : undefined;
      if (json?.type === type) return json;
      if (json?.type === "message" || json?.type === "heartbeat") continue;
      throw new Error(`expected a ${type} frame, got ${show([next])}`);
    }
  }

  /** The frames not yet taken by next(). */
  pending(): ServerFrame[] {
    return this.received.slice(this.#taken);
  }

  /**
   * Wait for the end: the server's close frame (if any) and its FIN. The client does not answer
   * the close, so a server that waits for the closing handshake instead of closing the TCP
   * connection (RFC 6455 §7.1.1: the server closes first) runs into the deadline.
   */
  async ending(timeoutMs = DEADLINE_MS): Promise<Ending> {
    try {
      await this.#until(() => this.#ended || this.#closed, timeoutMs, "end of the TCP connection");
    } finally {
      this.socket.destroy();
    }
    const frames = this.pending();
    const index = frames.findIndex((f) => f.opcode === OP.close);
    return {
      close: index < 0 ? null : closeOf(frames[index]!),
      afterClose: index < 0 ? [] : frames.slice(index + 1),
      serverEnded: this.#ended,
    };
  }

  /** Half-close: nothing more comes from the client. */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}
