/**
 * The refusals and measures shared by the feed stores' size limits (StoreLimits in types.ts).
 */
import { ERROR_CODES } from "../../web/src/isomorphic/protocol/index.js";
import { WirelabError } from "../errors.js";
import type { StoreLimits } from "./types.js";

/** Limits a store constructed without them uses: none beyond its history limit (the server always passes its configured ones). */
export const NO_ROOM_LIMITS: Omit<StoreLimits, "historyLimit"> = {
  maxRooms: Number.MAX_SAFE_INTEGER,
  maxRoomHistoryBytes: Number.MAX_SAFE_INTEGER,
};

/**
 * 507 Insufficient Storage: the server cannot store this room, however often it is asked (the
 * room cap is the operator's). Existing rooms are unaffected.
 */
export function tooManyRooms(maxRooms: number): WirelabError {
  return new WirelabError(507, ERROR_CODES.tooManyRooms, `this server holds at most ${maxRooms} rooms: send to an existing room`);
}
