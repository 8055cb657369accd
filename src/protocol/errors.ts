/**
 * The registry of protocol error codes. Every `error` message the server
 * sends carries one of these codes; `docs/protocol.md` lists exactly these
 * (a unit test keeps the two in step).
 */
export const ERROR_CODES = {
  "bad-json": "message is not valid JSON",
  "bad-message": "message does not match the protocol",
  "unknown-type": "unknown message type",
  "room-id-required": "roomId is required",
  "bad-room-id": "roomId must be 1-128 characters without control characters",
  "not-in-room": "join a room first",
  "unknown-peer": "no such peer in this room",
  unauthorized: "a valid join token is required",
  forbidden: "not allowed",
  "rate-limited": "too many messages",
  "binary-not-supported": "binary frames are not supported; send JSON text",
  "resume-failed": "cannot resume this session; join again",
  unavailable: "the server cannot reach its room store; try again shortly",
  internal: "internal server error",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An error as a value: a stable machine-readable code and a human message. */
export interface ProtocolError {
  readonly code: ErrorCode;
  readonly message: string;
}

/** Builds a {@link ProtocolError}; the message defaults to the registry's. */
export function protocolError(code: ErrorCode, message?: string): ProtocolError {
  return { code, message: message ?? ERROR_CODES[code] };
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERROR_CODES, value);
}
