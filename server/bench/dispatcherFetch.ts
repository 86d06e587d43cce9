/**
 * A `fetch` for the load generator's polls, on undici's dispatcher API (`Agent.request`) instead
 * of its WHATWG fetch. The kit only reads a response's status, a header and its whole text, and
 * fetch's spec machinery (Request and Response objects, web streams, abort plumbing) cost a load
 * worker more CPU per long poll than the server spends answering it (profiled in
 * docs/benchmarks.md): with two cores shared, the generator would be what is measured.
 * Bodies are strings (all the kit sends); event streams have their own client (NodeEventSource).
 */
import type { Agent } from "undici";
import type { FetchLike } from "../../web/src/isomorphic/kit/index.js";

/** The part of a Response the kit reads, backed by a body already read in full. */
class TextResponse {
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null };

  constructor(
    readonly status: number,
    headers: Record<string, string | string[] | undefined>,
    readonly body: string,
  ) {
    this.ok = status >= 200 && status < 300;
    this.headers = {
      get: (name) => {
        const value = headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
      },
    };
  }

  async text(): Promise<string> {
    return this.body;
  }

  async json(): Promise<unknown> {
    return JSON.parse(this.body);
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = Buffer.from(this.body);
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  }
}

export function dispatcherFetch(agent: Agent): FetchLike {
  return (async (input: string | URL, init: RequestInit = {}) => {
    const url = typeof input === "string" ? new URL(input) : input;
    if (init.body !== undefined && init.body !== null && typeof init.body !== "string") {
      throw new TypeError("dispatcherFetch sends string bodies only");
    }
    const { statusCode, headers, body } = await agent.request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: (init.method ?? "GET") as "GET",
      headers: init.headers as Record<string, string> | undefined,
      body: init.body ?? null,
      signal: init.signal ?? null,
    });
    return new TextResponse(statusCode, headers, await body.text());
  }) as unknown as FetchLike;
}
