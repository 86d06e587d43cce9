/**
 * fast-check arbitraries for HTTP requests to every route the server mounts (server/app.ts,
 * server/http/*.ts): wrong methods, mangled paths and room names, query parameters at and past
 * their limits, header garbage (authorization, content-type, content-length, origin, host,
 * upgrade, expect), arbitrary JSON, bodies that are almost what a zod schema wants, and raw bytes.
 * Shared by the HTTP fuzz suite and the memory check, which replays the same inputs.
 */
import fc from "fast-check";
import { pollingTaxResult } from "../../labResults.js";
import type { RequestSpec } from "./rawHttp.js";

/** Every route of the server, with `:param` where a path parameter goes. */
export const ROUTES: ReadonlyArray<readonly [method: string, path: string]> = [
  ["GET", "/healthz"],
  ["GET", "/readyz"],
  ["GET", "/metrics"],
  ["GET", "/"],
  ["POST", "/v1/session"],
  ["GET", "/v1/session/options"],
  ["POST", "/v1/session/refresh"],
  ["GET", "/v1/stats"],
  ["GET", "/v1/rooms/:room/presence"],
  ["GET", "/v1/rooms/:room/messages"],
  ["POST", "/v1/rooms/:room/messages"],
  ["GET", "/v1/rooms/:room/events"],
  ["GET", "/v1/rooms/:room/ws"],
  ["GET", "/v1/labs"],
  ["GET", "/v1/labs/:id"],
  ["POST", "/v1/class/checkin"],
  ["GET", "/v1/class"],
  ["PUT", "/v1/class/assignment"],
  ["PUT", "/v1/class/settings"],
  ["POST", "/v1/class/submissions"],
  ["GET", "/v1/class/submissions"],
  ["GET", "/v1/class/submissions.csv"],
  ["GET", "/v1/class/submissions/mine"],
  ["GET", "/v1/class/submissions/:id"],
  ["GET", "/v1/network"],
  ["GET", "/v1/admin"],
  ["GET", "/v1/admin/instances"],
  ["POST", "/v1/admin/instances/:id/kill"],
  ["POST", "/v1/admin/drop"],
  ["POST", "/v1/admin/refuse"],
  ["POST", "/v1/admin/stall"],
  ["POST", "/v1/admin/restart"],
  ["GET", "/v1/admin/network"],
  ["PUT", "/v1/admin/network"],
  ["DELETE", "/v1/admin/network"],
  ["POST", "/v1/admin/network/drop"],
  ["POST", "/v1/admin/network/blackhole"],
];

/** Rooms the fuzz may read and write: few, so it never reaches the room cap (a 507 is not about garbage). */
export const FUZZ_ROOMS = ["lobby", "fuzz-a", "fuzz-b", "a", "0", "-", "z".repeat(32)] as const;

/** A room path segment: one of the pool, or one that is not a room name. */
export const roomSegment: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...FUZZ_ROOMS) },
  fc.constantFrom("Lobby", "a".repeat(33), "lob.by", "lob%62y", "%", "%zz", "%E0%A4%A", "%00", "%2F", "..", "%2e%2e", "%C3%A9", "lobby%20", "", "😀", "l\u0000b"),
  fc.string({ unit: "binary-ascii", maxLength: 40 }).map((s) => encodeURIComponent(s)),
  fc.string({ maxLength: 40 }),
);

/** A lab id, submission id or instance id segment. */
const idSegment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("01-polling-tax", "03-reconnect-and-resume", "README", "../package", "..%2Fpackage.json", "%", "%zz", "nope", "x".repeat(300)),
  fc.string({ maxLength: 60 }).map((s) => encodeURIComponent(s)),
);

/** Numbers as a query or header value may spell them: valid, at the limits, and not quite numbers. */
export const numberText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("0", "1", "-1", "1.5", "1e3", "0x10", "+1", " 1", "1 ", "", "NaN", "Infinity", "-0", "00", "007", "9007199254740991", "9007199254740992", "99999999999999999", "1000", "1001", "30000", "30001", "٣"),
  fc.integer({ min: -2_000, max: 2_000 }).map(String),
  fc.bigInt({ min: 0n, max: 10n ** 20n }).map(String),
  fc.double().map(String),
  fc.string({ maxLength: 12 }),
);

/** `wait` values that never hold a poll longer than 300 ms: the fuzz must not sit in long polls. */
const waitText = numberText.filter((s) => !(/^\d{1,16}$/.test(s) && Number(s) > 300 && Number(s) <= 30_000));

/** A query string (with its "?", or empty): the feed's parameters and others, repeated, raw or encoded. */
export function queryString(token: string): fc.Arbitrary<string> {
  const pair = fc.oneof(
    fc.tuple(fc.constant("since"), numberText),
    fc.tuple(fc.constant("limit"), numberText),
    fc.tuple(fc.constant("wait"), waitText),
    fc.tuple(fc.constant("epoch"), fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), fc.string({ maxLength: 70 }), fc.constant("e".repeat(65)))),
    fc.tuple(fc.constant("token"), fc.oneof(fc.constant(token), fc.string({ maxLength: 30 }), fc.constant(`${token}=`))),
    fc.tuple(fc.constant("transport"), fc.oneof(fc.constantFrom("sse", "websocket", "short-poll", "long-poll", "api", "SSE"), fc.string({ maxLength: 10 }))),
    fc.tuple(fc.constant("lab"), fc.oneof(fc.constant("01-polling-tax"), fc.string({ maxLength: 120 }))),
    fc.tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 20 })),
  );
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant("") },
    {
      weight: 4,
      arbitrary: fc
        .tuple(fc.array(pair, { maxLength: 5 }), fc.constantFrom("encoded", "encoded", "raw", "brackets"))
        .map(([pairs, style]) =>
          pairs.length === 0
            ? "?"
            : `?${pairs
                .map(([k, v]) =>
                  style === "raw" ? `${k}=${v}` : style === "brackets" ? `${encodeURIComponent(k)}[]=${encodeURIComponent(v)}` : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`,
                )
                .join("&")}`,
        ),
    },
  );
}

/** A request target: a real route with its parameters filled, mangled, or something else altogether. */
export function target(token: string): fc.Arbitrary<{ method: string; path: string }> {
  const route = fc.constantFrom(...ROUTES).chain(([method, path]) =>
    fc.record({
      method: fc.constant(method),
      path: fc.tuple(roomSegment, idSegment).map(([room, id]) => path.replace(":room", room).replace(":id", id)),
    }),
  );
  const mangled = route.chain(({ method, path }) =>
    fc.constantFrom(
      { method, path: `${path}/` },
      { method, path: path.toUpperCase() },
      { method, path: path.replace(/\//g, "//") },
      { method, path: `/${path}` },
      { method, path: `${path}/..` },
      { method, path: `${path}%` },
      { method, path: `${path};x=1` },
      { method, path: `${path}#frag` },
      { method, path: `http://127.0.0.1${path}` },
      { method, path: `http://[${path}` },
    ),
  );
  const other = fc.record({
    method: fc.constant("GET"),
    path: fc.oneof(
      fc.webPath(),
      fc.constantFrom("*", "//", "///", "/\\\\", "//@", "http://%/", "/v1", "/v1/", "/v1/rooms", "/v1/rooms/lobby", "/v1/rooms//messages", "/index.html", "/../../etc/passwd"),
      fc.string({ maxLength: 30 }).map((s) => `/${encodeURIComponent(s)}`),
    ),
  });
  return fc
    .tuple(fc.oneof({ weight: 4, arbitrary: route }, { weight: 2, arbitrary: mangled }, { weight: 1, arbitrary: other }), queryString(token), method)
    .map(([t, query, m]) => ({ method: m ?? t.method, path: `${t.path}${query}` }));
}

/** The route's own method mostly (undefined), else another one or garbage. */
const method: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 5, arbitrary: fc.constant(undefined) },
  fc.constantFrom("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND", "get", "BREW"),
);

/** Header lines, each optional: what clients send, at and past what the server accepts. */
export function headers(token: string, port: number): fc.Arbitrary<Array<[string, string]>> {
  const own = `http://127.0.0.1:${port}`;
  const optional = (name: string, value: fc.Arbitrary<string>, weight = 1) =>
    fc.oneof({ weight, arbitrary: value.map((v) => [[name, v] as [string, string]]) }, { weight: 1, arbitrary: fc.constant([] as Array<[string, string]>) });
  return fc
    .tuple(
      optional("Host", fc.oneof({ weight: 8, arbitrary: fc.constant(`127.0.0.1:${port}`) }, fc.constantFrom("localhost", "evil.example", "", "[::", "127.0.0.1:1", "xn--")), 8),
      optional(
        "Authorization",
        fc.oneof(
          { weight: 4, arbitrary: fc.constant(`Bearer ${token}`) },
          fc.constantFrom(`Bearer ${token}=`, `bearer ${token}`, `Bearer  ${token}`, "Bearer", "Bearer not.a.jwt", `Basic ${Buffer.from("a:b").toString("base64")}`, `Bearer ${token.replace(/-/g, "+")}`),
          fc.string({ maxLength: 40 }).map((s) => `Bearer ${s}`),
        ),
        3,
      ),
      optional(
        "Content-Type",
        fc.oneof(
          { weight: 4, arbitrary: fc.constant("application/json") },
          fc.constantFrom("application/json; charset=utf-8", "APPLICATION/JSON", "application/json; charset=latin1", "application/json; charset=utf-16", "application/json; charset=nope", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json, text/plain", ";", ""),
        ),
        2,
      ),
      optional("Origin", fc.constantFrom(own, `http://localhost:${port}`, "null", "http://evil.example", "HTTP://127.0.0.1", "garbage")),
      optional("X-Wirelab-Transport", fc.constantFrom("sse", "websocket", "short-poll", "long-poll", "nope")),
      optional("Last-Event-ID", numberText),
      optional("Content-Encoding", fc.constantFrom("gzip", "deflate", "br", "identity", "zstd-xx")),
      optional("Expect", fc.constantFrom("100-continue", "nonsense")),
      optional("Upgrade", fc.constantFrom("websocket", "h2c", "garbage")),
      optional("Sec-WebSocket-Version", fc.constantFrom("13", "8", "99")),
      // Extra headers: mostly printable values, which reach the routes; at times control bytes, which the parser refuses.
      fc.array(
        fc.tuple(
          fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/),
          fc.oneof({ weight: 4, arbitrary: fc.string({ maxLength: 30 }) }, { weight: 1, arbitrary: fc.string({ unit: "binary-ascii", maxLength: 30 }) }),
        ),
        { maxLength: 2 },
      ),
    )
    .map(([host, auth, type, origin, transport, lastEventId, encoding, expect, upgrade, version, extra]) => {
      const lines = [...host, ...auth, ...type, ...origin, ...transport, ...lastEventId, ...encoding, ...expect, ...upgrade, ...version, ...extra];
      // An Upgrade header goes with "Connection: Upgrade", or it is not an upgrade request.
      if (upgrade.length > 0) lines.push(["Connection", "Upgrade"], ["Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="]);
      return lines;
    });
}

/** A valid check-in, the starting point of the wrong ones. */
export const VALID_CHECKIN = {
  page: "fuzzpage-0001",
  now: 1_795_931_000_000,
  view: "workbench",
  clients: [{ transport: "sse", state: "open", lastByteAt: 1_795_931_000_000 }],
  events: [{ id: 1, link: "sse", downAt: 1_795_930_999_000, at: 1_795_931_000_000, resumedFrom: 3 }],
  latency: { sse: [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] },
};

/** Valid bodies per route, the starting point of "structured but wrong". */
export const VALID_BODIES: Readonly<Record<string, unknown>> = {
  "/v1/session": { name: "ada" },
  "/v1/rooms/:room/messages": { id: "m-1", text: "hello", sentAt: 1_795_931_000_000 },
  "/v1/class/checkin": VALID_CHECKIN,
  "/v1/class/assignment": { lab: "01-polling-tax" },
  "/v1/class/settings": { jitter: true },
  "/v1/class/submissions": { result: pollingTaxResult(), answers: { fastest: "sse" } },
  "/v1/admin/drop": { transport: "sse" },
  "/v1/admin/refuse": { seconds: 10 },
  "/v1/admin/stall": { ms: 3000 },
  "/v1/admin/restart": { downtimeMs: 1000 },
  "/v1/admin/network": { conditions: "slow-3g", transport: "sse" },
  "/v1/admin/network/drop": { transport: "sse", mode: "reset" },
  "/v1/admin/network/blackhole": { on: true },
};

/** Values of the wrong type, at the edges of a range, or of a size no field takes. */
export const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, -0, 1e308, -1e308, 2 ** 53, "", " ", "\u0000", "\ud800", "😀".repeat(1001), "x".repeat(2001), "i".repeat(65), [], {}, [null], { "": 1 }, "__proto__"),
  fc.jsonValue({ maxDepth: 2 }),
  fc.string({ unit: "binary", maxLength: 80 }),
  fc.integer(),
);

/**
 * Almost `valid`: each field kept, replaced with a wrong value, dropped, or joined by unknown
 * fields (nested objects and arrays mutated the same way, one level down); and at times the whole
 * thing wrapped in an array, turned into a string, or replaced by something else.
 */
export function almost(valid: unknown, depth = 0): fc.Arbitrary<unknown> {
  if (Array.isArray(valid)) {
    return fc.oneof(
      fc.constant(valid),
      valid.length > 0 ? fc.tuple(...valid.map((v) => almost(v, depth + 1))) : fc.constant(valid),
      fc.array(wrongValue, { maxLength: 3 }),
      wrongValue,
    );
  }
  if (valid === null || typeof valid !== "object") return fc.oneof({ weight: 2, arbitrary: fc.constant(valid) }, { weight: 1, arbitrary: wrongValue });
  const entries = Object.entries(valid as Record<string, unknown>);
  const field = ([key, value]: [string, unknown]) =>
    fc.oneof(
      { weight: 4, arbitrary: fc.constant([key, value] as const) },
      { weight: 1, arbitrary: (depth < 2 ? almost(value, depth + 1) : wrongValue).map((v) => [key, v] as const) },
      { weight: 1, arbitrary: fc.constant(null) },
    );
  const object = fc
    .tuple(fc.tuple(...entries.map(field)), fc.oneof({ weight: 4, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(fc.tuple(fc.string({ maxLength: 12 }), wrongValue), { maxLength: 2 }) }))
    .map(([kept, extra]) => {
      const out: Record<string, unknown> = {};
      for (const pair of kept) if (pair) out[pair[0]] = pair[1];
      for (const [k, v] of extra) Object.defineProperty(out, k, { value: v, enumerable: true, configurable: true, writable: true });
      return out;
    });
  return depth > 0 ? object : fc.oneof({ weight: 8, arbitrary: object }, { weight: 1, arbitrary: object.map((o) => [o]) }, { weight: 1, arbitrary: wrongValue });
}

/** A body: none, arbitrary JSON, almost the route's valid body, raw bytes, or one over the size limit. */
export function body(routePath: string | undefined): fc.Arbitrary<Uint8Array | undefined> {
  const valid = routePath === undefined ? undefined : VALID_BODIES[routePath];
  const json = (value: fc.Arbitrary<unknown>) => value.map((v) => new TextEncoder().encode(JSON.stringify(v) ?? "null"));
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.json({ maxDepth: 3 }).map((s) => new TextEncoder().encode(s)) },
    { weight: valid === undefined ? 1 : 5, arbitrary: json(almost(valid ?? { x: 1 })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
    { weight: 1, arbitrary: fc.constantFrom(new TextEncoder().encode(`{"id":"a","text":"${"x".repeat(70_000)}"}`), new TextEncoder().encode("{\"a\":" + "[".repeat(5_000))) },
  );
}

/** The route template a path was made from, for its valid body. */
function templateOf(path: string): string | undefined {
  const bare = path.split("?")[0]!;
  return ROUTES.map(([, p]) => p).find((p) => new RegExp(`^${p.replace(/:[a-z]+/g, "[^/]*").replace(/\./g, "\\.")}$`).test(bare));
}

/** Bodies the admin routes would act on (close the port, block the loop): the fuzz must not take the server down on purpose. */
export function harmful(spec: RequestSpec): boolean {
  const path = spec.target.split("?")[0]!.toLowerCase().replace(/\/+$/, "");
  if (!/\/admin\/(refuse|stall|restart)$/.test(path) || spec.body === undefined) return false;
  try {
    const value = JSON.parse(new TextDecoder().decode(spec.body)) as Record<string, unknown>;
    return typeof value === "object" && value !== null && Object.keys(value).every((k) => k === "seconds" || k === "ms" || k === "downtimeMs");
  } catch {
    return false;
  }
}

/** Any request to any route: the whole request as a RequestSpec. */
export function anyRequest(token: string, port: number): fc.Arbitrary<RequestSpec> {
  return fc
    .tuple(target(token), headers(token, port), fc.constantFrom("length", "length", "length", "length", "shorter", "longer", "chunked", "both", "none"))
    .chain(([t, h, framing]) =>
      body(templateOf(t.path)).map((b): RequestSpec => ({ method: t.method, target: t.path, headers: h, body: b, framing: framing as RequestSpec["framing"] })),
    )
    .filter((spec) => !harmful(spec));
}
