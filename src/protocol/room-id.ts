import { type ProtocolError, protocolError } from "./errors.js";

/** The `room` claim of a join token that admits any room; never a room id. */
export const ANY_ROOM = "*";

/** Longest room id accepted, in UTF-16 code units after trimming. */
export const MAX_ROOM_ID_LENGTH = 128;

// C0 controls, DEL and C1 controls; also the line/paragraph separators,
// which break log lines and some UIs.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export type RoomIdResult = { ok: true; roomId: string } | { ok: false; error: ProtocolError };

/**
 * Normalises a `join.roomId` as the origin design does (`String(roomId).trim()`)
 * and validates it. Strings and finite numbers are accepted; a missing,
 * null or blank id is `room-id-required` (the origin design's message).
 */
export function normalizeRoomId(raw: unknown): RoomIdResult {
  if (raw === undefined || raw === null || raw === "") {
    return { ok: false, error: protocolError("room-id-required") };
  }
  if (typeof raw === "number") {
    if (!Number.isFinite(raw)) {
      return { ok: false, error: protocolError("bad-room-id", "roomId must be a finite number") };
    }
  } else if (typeof raw !== "string") {
    return {
      ok: false,
      error: protocolError("bad-message", `roomId must be a string or a number, not ${kind(raw)}`),
    };
  }
  const roomId = String(raw).trim();
  if (roomId === "") return { ok: false, error: protocolError("room-id-required") };
  if (roomId.length > MAX_ROOM_ID_LENGTH) {
    return {
      ok: false,
      error: protocolError("bad-room-id", `roomId is longer than ${MAX_ROOM_ID_LENGTH} characters`),
    };
  }
  if (roomId === ANY_ROOM) {
    // `*` is a join token's "any room": a room of that name would let a
    // backend that mints tokens for user-chosen rooms mint a master key.
    return { ok: false, error: protocolError("bad-room-id", "roomId * is reserved") };
  }
  if (CONTROL_CHARS.test(roomId)) {
    return { ok: false, error: protocolError("bad-room-id", "roomId contains control characters") };
  }
  return { ok: true, roomId };
}

function kind(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}
