/**
 * Wire contract v1, shared by the server and every client (browser and Node).
 * The zod schemas are the single source of truth for what is valid on the wire;
 * docs/protocol.md describes the same contract for people.
 */
import { z } from "zod";

export const PROTOCOL_VERSION = 1;

export const TRANSPORTS = ["short-poll", "long-poll", "sse", "websocket"] as const;
export type TransportName = (typeof TRANSPORTS)[number];

export function isTransportName(value: unknown): value is TransportName {
  return typeof value === "string" && (TRANSPORTS as readonly string[]).includes(value);
}

/**
 * Header (on sends) or query parameter (on GETs, which must stay free of custom headers to avoid
 * CORS preflights) by which a client names the transport a request belongs to, so the server's
 * stats and the network emulator count it there: a WebSocket client's history load is WebSocket cost.
 */
export const TRANSPORT_HEADER = "x-wirelab-transport";
export const TRANSPORT_PARAM = "transport";

/**
 * Response header naming the server instance that answered (a fresh id at every start), also
 * sent as `instance` in the WebSocket and SSE hello. A client sees from it that its requests
 * crossed a restart or moved to another instance of a cluster. Optional in v1: clients must not
 * require it.
 */
export const INSTANCE_HEADER = "wirelab-instance";

export const LIMITS = {
  roomPattern: /^[a-z0-9-]{1,32}$/,
  idMaxLength: 64,
  textMaxLength: 2000,
  nameMaxLength: 32,
  pollLimitDefault: 50,
  pollLimitMax: 1000,
  waitMaxMs: 30_000,
} as const;

/**
 * What the admin API's fault routes accept (server/http/admin.ts). The lab format holds its phases
 * to the same bounds, so a lab that asks for more is refused when it is read, not halfway through a run.
 */
export const FAULT_LIMITS = {
  refuseMaxMs: 300_000,
  stallMaxMs: 30_000,
  restartDowntimeMaxMs: 60_000,
} as const;

export const DEFAULT_ROOM = "lobby";

export function isRoomName(value: string): boolean {
  return LIMITS.roomPattern.test(value);
}

const epochMs = z.number().int().nonnegative();

/**
 * A string of at most `max` UTF-16 code units (what JavaScript's `length` and an HTML
 * `maxlength` count). zod's own max() counts code points, so 2,000 emoji would pass as 2,000.
 */
const utf16 = (min: number, max: number, label: string) =>
  z
    .string()
    .min(min, `${label} must not be empty`)
    .refine((value) => value.length <= max, `${label} must be at most ${max} characters (UTF-16 code units)`);

export const ROLES = ["learner", "instructor"] as const;
export type Role = (typeof ROLES)[number];

export const SessionRequestSchema = z.object({
  name: z
    .string()
    .trim()
    .pipe(utf16(1, LIMITS.nameMaxLength, "name")),
  /** The instructor key printed at server start; grants the instructor role (admin API). */
  instructorKey: z.string().max(200).optional(),
  /** The class code a class server may ask learners for (`wirelab serve --class-code`). */
  classCode: z.string().max(200).optional(),
});
export type SessionRequest = z.infer<typeof SessionRequestSchema>;

export const UserSchema = z.object({ id: z.string(), name: z.string() });
export type User = z.infer<typeof UserSchema>;

/** The holder of a session token: a user and the role the token grants. */
export const PrincipalSchema = UserSchema.extend({ role: z.enum(ROLES) });
export type Principal = z.infer<typeof PrincipalSchema>;

export const SessionResponseSchema = z.object({
  token: z.string(),
  user: PrincipalSchema,
  expiresAt: epochMs,
});
export type SessionResponse = z.infer<typeof SessionResponseSchema>;

export const SendRequestSchema = z.object({
  id: utf16(1, LIMITS.idMaxLength, "id"),
  text: utf16(1, LIMITS.textMaxLength, "text"),
  sentAt: epochMs.optional(),
});
export type SendRequest = z.infer<typeof SendRequestSchema>;

export const MessageSchema = z.object({
  seq: z.number().int().positive(),
  id: z.string(),
  room: z.string(),
  from: UserSchema,
  text: z.string(),
  sentAt: epochMs.optional(),
  ts: epochMs,
});
export type Message = z.infer<typeof MessageSchema>;

export const SendResponseSchema = z.object({ seq: z.number().int().positive(), id: z.string(), ts: epochMs });
export type SendResponse = z.infer<typeof SendResponseSchema>;

/**
 * A room's epoch names one run of its seqs; a room that was wiped starts a new one. Clients send
 * back the epoch their cursor came from (`?epoch=`), so a cursor from a wiped room is reset rather
 * than read against new seqs. Absent for a room that holds nothing yet; optional in v1.
 */
export const EpochSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

export const PollResponseSchema = z.object({
  messages: z.array(MessageSchema),
  next: z.number().int().nonnegative(),
  oldest: z.number().int().nonnegative(),
  epoch: EpochSchema.optional(),
  reset: z.literal(true).optional(),
  /**
   * Present and true when the server cut the page short of `limit` at its byte budget: more
   * messages follow `next`, so ask again at once. Optional in v1: clients must not require it.
   */
  more: z.literal(true).optional(),
});
export type PollResponse = z.infer<typeof PollResponseSchema>;

/** Client → server WebSocket commands. */
export const ClientFrameSchema = z.discriminatedUnion("type", [
  SendRequestSchema.extend({ type: z.literal("send") }),
  /** A refreshed token of the same user (POST /v1/session/refresh): extends this connection's life. */
  z.object({ type: z.literal("refresh"), token: z.string().min(1).max(4096) }),
]);
export type ClientFrame = z.infer<typeof ClientFrameSchema>;

/** Server → client WebSocket frames. */
export const ServerFrameSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("hello"),
    protocol: z.number().int(),
    next: z.number().int().nonnegative(),
    epoch: EpochSchema.optional(),
    instance: z.string().optional(),
    /** The server sends something at least this often (a heartbeat frame when idle). */
    heartbeatMs: z.number().int().positive().optional(),
  }),
  z.object({ type: z.literal("message"), message: MessageSchema }),
  z.object({ type: z.literal("ack"), id: z.string(), seq: z.number().int().positive(), ts: epochMs }),
  z.object({ type: z.literal("reset"), oldest: z.number().int().nonnegative() }),
  z.object({
    type: z.literal("error"),
    code: z.string(),
    message: z.string(),
    id: z.string().optional(),
    /** With `rate_limited`: when the refused send may be sent again, in ms. */
    retryAfterMs: z.number().int().nonnegative().optional(),
  }),
  /** Sent on a connection that was idle for heartbeatMs: the link is alive. */
  z.object({ type: z.literal("heartbeat") }),
  /** A `refresh` was accepted: the connection now lives until `expiresAt`. */
  z.object({ type: z.literal("refreshed"), expiresAt: epochMs }),
]);
export type ServerFrame = z.infer<typeof ServerFrameSchema>;

/** SSE `event: hello` data, sent once before any replay. */
export const SseHelloSchema = z.object({
  protocol: z.number().int(),
  next: z.number().int().nonnegative(),
  epoch: EpochSchema.optional(),
  instance: z.string().optional(),
  /** The server sends an event at least this often (`event: heartbeat` when idle). */
  heartbeatMs: z.number().int().positive().optional(),
});
/** SSE `event: expired` data: the stream's token ran out; refresh it and reconnect. */
export const SseExpiredSchema = z.object({ reason: z.string() });
export const SseResetSchema = z.object({ oldest: z.number().int().nonnegative() });

export const ErrorBodySchema = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** Machine-readable error codes used in HTTP error bodies and WebSocket error frames. */
export const ERROR_CODES = {
  unauthorized: "unauthorized",
  forbidden: "forbidden",
  /** A browser page from an origin this server does not serve (cross-site request or WebSocket). */
  forbiddenOrigin: "forbidden_origin",
  /** A Host header naming none of this server's names (DNS rebinding). */
  forbiddenHost: "forbidden_host",
  /** A JSON endpoint was sent something that does not say Content-Type: application/json. */
  unsupportedMediaType: "unsupported_media_type",
  invalidJson: "invalid_json",
  invalidBody: "invalid_body",
  invalidCommand: "invalid_command",
  binaryFrame: "binary_frame",
  badRoom: "bad_room",
  badQuery: "bad_query",
  payloadTooLarge: "payload_too_large",
  notFound: "not_found",
  upgradeRequired: "upgrade_required",
  internal: "internal",
  unavailable: "unavailable",
  /** The request is not HTTP the server can parse. */
  badRequest: "bad_request",
  /** The request line or headers are larger than the server reads (a long URL, say). */
  headersTooLarge: "headers_too_large",
  /** Over a rate limit: wait (Retry-After) and try again. */
  rateLimited: "rate_limited",
  /** Over a connection cap (per user or per process): close a connection or try later. */
  tooManyConnections: "too_many_connections",
  /** A send would create a room beyond the server's room cap (HTTP 507). */
  tooManyRooms: "too_many_rooms",
  /** The class holds as many pages or submissions as it may (HTTP 507). */
  classFull: "class_full",
  /** The class server asks for its class code to join (HTTP 403). */
  classCodeRequired: "class_code_required",
} as const;

/** WebSocket close codes (RFC 6455 §7.4.1) used by the server. */
export const CLOSE_CODES = {
  normal: 1000,
  goingAway: 1001,
  invalidPayload: 1007,
  policyViolation: 1008,
  messageTooBig: 1009,
  internalError: 1011,
  /** The server restarts (SIGTERM, an in-place restart): reconnect shortly. */
  serviceRestart: 1012,
  tryAgainLater: 1013,
} as const;

/** The close reason (with 1008) and SSE event of a stream whose token ran out. */
export const TOKEN_EXPIRED_REASON = "token expired";

export interface TrafficSnapshot {
  /** Requests in flight or streams open right now. */
  connections: number;
  /** HTTP requests started (a WebSocket upgrade counts as one). */
  requests: number;
  /** Bytes read from the socket, headers included. */
  bytesIn: number;
  /** Bytes written to the socket, headers and framing included. */
  bytesOut: number;
  /** Messages handed to clients. */
  delivered: number;
}

export type StatsBucket = TransportName | "api";
export interface StatsResponse {
  uptimeMs: number;
  transports: Record<TransportName, TrafficSnapshot>;
  /** Requests that belong to no transport: sessions, stats, sends without a transport header. */
  api: TrafficSnapshot;
  /** The instance that answered (each instance of a cluster counts its own traffic). */
  instance?: string;
  /** Room members this instance holds (streams open, pollers seen lately). */
  presence?: { members: number };
}

/** GET /v1/rooms/{room}/presence: who is in the room, over every instance. */
export interface PresenceResponse {
  room: string;
  members: Array<{ user: User; transport: TransportName; instance: string }>;
}

/** Render zod issues as one readable sentence: "text: text must not be empty". */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => (issue.path.length ? `${issue.path.join(".")}: ${issue.message}` : issue.message))
    .join("; ");
}
