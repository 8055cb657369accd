import type { ErrorCode } from "../protocol/index.js";

/**
 * Why a client operation failed. Server-side protocol errors keep their
 * protocol code; the rest are the client's own.
 */
export type ClientErrorCode =
  | ErrorCode
  /** The room already holds its maximum number of members. */
  | "room-full"
  /** The WebSocket could not be opened or closed before an answer came. */
  | "connection-failed"
  /** The client is not connected (call `connect()` first), or is reconnecting. */
  | "not-connected"
  /** `send()` while reconnecting, with `maxQueued` messages already waiting. */
  | "queue-full"
  /** No answer within the timeout. */
  | "timeout"
  /** A message from the server did not match the protocol. */
  | "bad-server-message"
  /** The browser refused or lacks a WebRTC or media API. */
  | "webrtc-failed";

/** An error with a stable code; `message` is for people. */
export class SignalroomError extends Error {
  override readonly name = "SignalroomError";
  readonly code: ClientErrorCode;

  constructor(code: ClientErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
