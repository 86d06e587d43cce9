/**
 * Parsing of the path and query parameters shared by several transports. Each failure is a
 * 400 with a message that names the parameter and what it accepts.
 */
import { ERROR_CODES, EpochSchema, LIMITS, isRoomName } from "../../web/src/isomorphic/protocol/index.js";
import { badRequest } from "../errors.js";

type QueryValue = string | string[] | undefined | unknown;

function single(name: string, value: QueryValue): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw badRequest(ERROR_CODES.badQuery, `${name} must be given once`);
  return value;
}

function integer(name: string, value: QueryValue, min: number, max: number): number | undefined {
  const text = single(name, value);
  if (text === undefined) return undefined;
  const number = /^\d{1,16}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(number) || number < min || number > max) {
    throw badRequest(ERROR_CODES.badQuery, `${name} must be an integer from ${min} to ${max}, got "${text.slice(0, 40)}"`);
  }
  return number;
}

export const BAD_ROOM_MESSAGE = "room must be 1-32 characters of a-z, 0-9 and '-'";

export function parseRoom(value: unknown): string {
  if (typeof value !== "string" || !isRoomName(value)) {
    throw badRequest(ERROR_CODES.badRoom, BAD_ROOM_MESSAGE);
  }
  return value;
}

/** A seq cursor: an integer >= 0, or undefined when absent. */
export function parseSince(value: QueryValue, name = "since"): number | undefined {
  return integer(name, value, 0, Number.MAX_SAFE_INTEGER);
}

/** The room epoch a cursor belongs to: 1-64 characters of A-Z, a-z, 0-9, _ and -; undefined when absent. */
export function parseEpoch(value: QueryValue): string | undefined {
  const text = single("epoch", value);
  if (text === undefined) return undefined;
  if (!EpochSchema.safeParse(text).success) {
    throw badRequest(ERROR_CODES.badQuery, `epoch must be 1-64 characters of A-Z, a-z, 0-9, _ and -, got "${text.slice(0, 40)}"`);
  }
  return text;
}

export interface PollQuery {
  since: number | undefined;
  epoch: string | undefined;
  wait: number;
  limit: number;
}

export function parsePollQuery(query: Record<string, unknown>): PollQuery {
  return {
    since: parseSince(query.since),
    epoch: parseEpoch(query.epoch),
    wait: integer("wait", query.wait, 0, LIMITS.waitMaxMs) ?? 0,
    limit: integer("limit", query.limit, 0, LIMITS.pollLimitMax) ?? LIMITS.pollLimitDefault,
  };
}
