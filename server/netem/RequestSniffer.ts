/**
 * Reads the client → server byte stream of one connection just far enough to find each HTTP
 * request head, so the proxy can classify (and re-classify) the connection. It never changes the
 * bytes. It follows Content-Length bodies to find the next request of a keep-alive connection and
 * stops for good where following would cost real parsing: an upgrade (after which the bytes are
 * WebSocket frames), a chunked body, or anything that does not look like HTTP/1.
 */
import { classifyRequest, type ConnectionTransport, type RequestHead } from "./classify.js";

const HEAD_END = Buffer.from("\r\n\r\n");
const REQUEST_LINE = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/;

export class RequestSniffer {
  #state: "head" | "body" | "off" = "head";
  #head: Buffer = Buffer.alloc(0);
  #bodyLeft = 0;

  /** @param maxHeadBytes a head longer than this is not HTTP we care about; stop looking. */
  constructor(private readonly maxHeadBytes = 16 * 1024) {}

  get active(): boolean {
    return this.#state !== "off";
  }

  /** Feed the next client → server bytes; returns the class of the last request head completed in them, if any. */
  feed(chunk: Buffer): ConnectionTransport | undefined {
    let found: ConnectionTransport | undefined;
    let rest = chunk;
    while (rest.length > 0 && this.#state !== "off") {
      if (this.#state === "body") {
        const take = Math.min(this.#bodyLeft, rest.length);
        this.#bodyLeft -= take;
        rest = rest.subarray(take);
        if (this.#bodyLeft === 0) this.#state = "head";
        continue;
      }
      const searchFrom = Math.max(0, this.#head.length - 3);
      this.#head = this.#head.length === 0 ? rest : Buffer.concat([this.#head, rest]);
      rest = Buffer.alloc(0);
      const end = this.#head.indexOf(HEAD_END, searchFrom);
      if (end === -1) {
        if (this.#head.length > this.maxHeadBytes) this.#stop();
        break;
      }
      const text = this.#head.subarray(0, end).toString("latin1");
      rest = this.#head.subarray(end + HEAD_END.length);
      this.#head = Buffer.alloc(0);
      const head = parseHead(text);
      if (!head) {
        this.#stop();
        break;
      }
      found = classifyRequest(head);
      this.#afterHead(head);
    }
    return found;
  }

  #afterHead(head: RequestHead): void {
    const length = head.headers.get("content-length");
    if (head.headers.has("upgrade") || head.headers.has("transfer-encoding") || (length !== undefined && !/^\d{1,15}$/.test(length))) {
      this.#stop();
    } else if (length !== undefined && Number(length) > 0) {
      this.#state = "body";
      this.#bodyLeft = Number(length);
    }
  }

  #stop(): void {
    this.#state = "off";
    this.#head = Buffer.alloc(0);
  }
}

function parseHead(text: string): RequestHead | undefined {
  // RFC 9112 §2.2: a server should ignore empty lines received before a request line.
  const lines = text.replace(/^(\r\n)+/, "").split("\r\n");
  const match = REQUEST_LINE.exec(lines[0] ?? "");
  if (!match) return undefined;
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { method: match[1]!, target: match[2]!, headers };
}
