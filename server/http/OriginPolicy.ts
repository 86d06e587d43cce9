/**
 * Which browser pages may talk to this server (Origin), and under which names it may be reached
 * (Host). Tokens are bearer tokens, not cookies, but on a loopback workbench any page could get
 * itself one: so a page from a foreign origin may neither call the API nor open a stream or a
 * WebSocket (cross-site WebSocket hijacking), and a foreign Host is refused (DNS rebinding: a
 * foreign name that resolves to 127.0.0.1 arrives with that name in Host).
 *
 * Browsers always send Origin on cross-origin requests, on non-GET same-origin requests and on
 * every WebSocket handshake, and a page cannot forge or remove it. A request without Origin is not a
 * browser's cross-site request (curl, the Node kit, the CLI) and passes.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { isIP } from "node:net";
import { networkInterfaces } from "node:os";
import type { NextFunction, Request, Response } from "express";
import type { Logger } from "pino";
import { ERROR_CODES, INSTANCE_HEADER, TRANSPORT_HEADER } from "../../web/src/isomorphic/protocol/index.js";
import { WirelabError, sendError } from "../errors.js";

export interface OriginPolicyOptions {
  /** The address the server binds: 0.0.0.0 or :: (every address) makes this machine's addresses its own. */
  host: string;
  /** Further origins that may call (config.allowedOrigins), normalised by resolveConfig. */
  allowedOrigins: readonly string[];
  /** Further Host names (config.allowedHosts): exact, or "*.name" for subdomains. */
  allowedHosts: readonly string[];
  /** Ports of proxies in front of this server (config.proxyPorts: the cluster's front door). */
  proxyPorts: readonly number[];
  /** The network emulator's port, once it listens (it starts after the server), or null. */
  emulatorPort: () => number | null;
  /** This machine's network interfaces. Defaults to os.networkInterfaces (tests give a LAN address a machine may lack). */
  interfaces?: () => ReturnType<typeof networkInterfaces>;
}

/** Bound on remembered Host values: a flood of distinct allowed names (*.localhost) stops being remembered. */
const MAX_REMEMBERED_HOSTS = 256;

/** Least time between two re-reads of the network interfaces on a miss. */
const REREAD_INTERFACES_MS = 5_000;

const WILDCARDS = new Set(["0.0.0.0", "::", "[::]", ""]);

/** A Host header value or a host as URL.hostname spells it ("[::1]" for IPv6), lower case; null if not a host. */
function hostnameOf(host: string): string | null {
  try {
    const { hostname } = new URL(`http://${host}`);
    // "localhost." is "localhost" to a resolver.
    return hostname.endsWith(".") ? hostname.slice(0, -1) : hostname;
  } catch {
    return null;
  }
}

const bracketed = (address: string) => (address.includes(":") ? `[${address}]` : address);
const unbracketed = (hostname: string) => hostname.replace(/^\[(.*)\]$/, "$1");
const isLocalhostName = (h: string) => h === "localhost" || h.endsWith(".localhost");
const isLoopbackIpv4 = (h: string) => isIP(h) === 4 && h.startsWith("127.");

export class OriginPolicy {
  readonly #options: OriginPolicyOptions;
  readonly #allowedOrigins: ReadonlySet<string>;
  readonly #wildcard: boolean;
  readonly #boundHost: string | null;
  #serverPort: number | null = null;
  #addresses = new Set<string>();
  #addressesReadAt = 0;
  /** Host values that pass whatever the interfaces do (loopback, the bound name, the allow-list). */
  readonly #alwaysAllowed = new Set<string>();

  constructor(options: OriginPolicyOptions) {
    this.#options = options;
    this.#allowedOrigins = new Set(options.allowedOrigins);
    this.#wildcard = WILDCARDS.has(options.host);
    this.#boundHost = this.#wildcard ? null : hostnameOf(bracketed(options.host));
    this.#readAddresses();
  }

  /** The port actually bound (known only after listen when the config asked for 0). */
  listenOn(port: number): void {
    this.#serverPort = port;
  }

  /** May a request with this Host header be served? (No Host: not a browser, which always sends one.) */
  hostAllowed(host: string | undefined): boolean {
    if (host === undefined) return true;
    // Every request asks, and a server hears few Host values: remember those that always pass.
    if (this.#alwaysAllowed.has(host)) return true;
    const h = hostnameOf(host);
    if (h === null) return false;
    const always = isLocalhostName(h) || isLoopbackIpv4(h) || h === "[::1]" || h === this.#boundHost ||
      this.#options.allowedHosts.some((name) => (name.startsWith("*.") ? h.endsWith(name.slice(1)) : h === name));
    if (always && this.#alwaysAllowed.size < MAX_REMEMBERED_HOSTS) this.#alwaysAllowed.add(host);
    return always || this.#isMachineAddress(h);
  }

  /** May a page of this origin call? Absent (not a browser's cross-site request) passes. */
  originAllowed(origin: string | undefined): boolean {
    if (origin === undefined) return true;
    return this.#allowedOrigins.has(origin.toLowerCase()) || this.isOwnOrigin(origin);
  }

  /**
   * Is this one of the server's own pages: a loopback name (or, bound to every address, one of this
   * machine's addresses) on the server's port, the emulator's or a proxy's? Those are served by this server
   * alone, whatever the allow-list says; only they (or no browser at all) get the loopback
   * workbench's automatic instructor role.
   */
  isOwnOrigin(origin: string): boolean {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      // "null" (a sandboxed frame, a file:// page) and garbage are nobody's own.
      return false;
    }
    if (url.protocol !== "http:" || url.origin !== origin.toLowerCase()) return false;
    const port = url.port === "" ? 80 : Number(url.port);
    const emulator = this.#options.emulatorPort();
    const ours = port === this.#serverPort || (emulator !== null && emulator !== 0 && port === emulator) || this.#options.proxyPorts.includes(port);
    if (!ours) return false;
    const h = url.hostname;
    if (isLocalhostName(h) || h === "127.0.0.1" || h === "[::1]" || h === this.#boundHost) return true;
    // Bound to every address, every address of this machine on this port is this server.
    return this.#wildcard && (isLoopbackIpv4(h) || this.#isMachineAddress(h));
  }

  #readAddresses(): void {
    const addresses = Object.values((this.#options.interfaces ?? networkInterfaces)()).flatMap((list) => (list ?? []).map((a) => hostnameOf(bracketed(a.address))));
    this.#addresses = new Set(addresses.filter((a): a is string => a !== null));
    this.#addressesReadAt = Date.now();
  }

  /**
   * One of this machine's IP literals? Re-reads the interfaces on a miss (an address may have come
   * up since), at most once a few seconds: a flood of foreign Host literals must not cost a system
   * call per request.
   */
  #isMachineAddress(h: string): boolean {
    if (this.#addresses.has(h)) return true;
    if (isIP(unbracketed(h)) === 0) return false;
    if (Date.now() - this.#addressesReadAt < REREAD_INTERFACES_MS) return false;
    this.#readAddresses();
    return this.#addresses.has(h);
  }

  /** Why a request (or an upgrade) is refused, or null: the Host first, then the Origin. */
  refusal(req: IncomingMessage): WirelabError | null {
    const { host, origin } = req.headers;
    if (lacksHost(req)) return new WirelabError(400, ERROR_CODES.badRequest, "an HTTP/1.1 request must send a Host header");
    if (!this.hostAllowed(host)) {
      return new WirelabError(
        403,
        ERROR_CODES.forbiddenHost,
        `this server does not answer to the host name "${String(host).slice(0, 100)}" (add it to WIRELAB_ALLOWED_HOSTS if it is yours)`,
      );
    }
    if (!this.originAllowed(origin)) {
      return new WirelabError(
        403,
        ERROR_CODES.forbiddenOrigin,
        `pages from ${String(origin).slice(0, 100)} may not use this server (add it to WIRELAB_ALLOWED_ORIGINS if it is yours)`,
      );
    }
    return null;
  }
}

/** Log a refusal once, with what a reader needs to see who tried what. */
export function logRefusal(log: Logger, req: IncomingMessage & { originalUrl?: string }, error: WirelabError): void {
  // Inside a router req.url is relative to its mount point; originalUrl is the whole path.
  const path = (req.originalUrl ?? req.url)?.split("?")[0];
  log.warn(
    { status: error.status, code: error.code, method: req.method, path, host: req.headers.host, origin: req.headers.origin },
    error.code === ERROR_CODES.forbiddenHost ? "refused a request for a foreign host name" : "refused a request from a foreign origin",
  );
}

/**
 * An HTTP/1.1 request without Host, which a server must refuse with 400 (RFC 9112 §3.2). The
 * server answers it here, with the JSON body, rather than with Node's empty one (requireHostHeader).
 */
function lacksHost(req: IncomingMessage): boolean {
  return req.headers.host === undefined && req.httpVersionMajor === 1 && req.httpVersionMinor >= 1;
}

/** Every request: a foreign Host gets 403 before anything else (the dashboard and /healthz too), a missing one 400; false when refused. */
export function admitHost(policy: OriginPolicy, log: Logger, req: IncomingMessage, res: ServerResponse): boolean {
  if (policy.hostAllowed(req.headers.host) && !lacksHost(req)) return true;
  const error = policy.refusal(req)!;
  if (error.status === 403) logRefusal(log, req, error);
  sendError(res, error);
  return false;
}

/**
 * The API: a foreign Origin gets 403 (its preflights too); an allowed one is reflected, never *,
 * so the answer is readable by that page alone. Preflights are cached so a send pays one per URL.
 */
export function checkOrigin(policy: OriginPolicy, log: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!admitOrigin(policy, log, req, res)) return;
    if (req.method === "OPTIONS") {
      res.setHeader("access-control-allow-methods", "GET, POST, PUT, DELETE");
      res.setHeader("access-control-allow-headers", `authorization, content-type, ${TRANSPORT_HEADER}, last-event-id`);
      res.setHeader("access-control-max-age", "7200");
      res.status(204).end();
      return;
    }
    next();
  };
}

/**
 * The Origin check of checkOrigin for a request outside express (the poll route): refuses a
 * foreign page with 403 and returns false, or sets the CORS answer headers and returns true.
 */
export function admitOrigin(policy: OriginPolicy, log: Logger, req: IncomingMessage, res: ServerResponse): boolean {
  // The answer depends on Origin: caches must keep one per origin.
  res.setHeader("vary", "Origin");
  const origin = req.headers.origin;
  if (!policy.originAllowed(origin)) {
    const error = policy.refusal(req)!;
    logRefusal(log, req, error);
    sendError(res, error);
    return false;
  }
  if (origin !== undefined) {
    res.setHeader("access-control-allow-origin", origin);
    // Only a cross-origin page needs leave to read the instance header.
    res.setHeader("access-control-expose-headers", INSTANCE_HEADER);
  }
  return true;
}
