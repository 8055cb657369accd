/**
 * WebSocket close codes the server uses. Standard codes first; our own
 * codes come in two ranges so a client knows whether to retry:
 * 4000-4499 "reconnect (and resume)", 4500-4999 "do not reconnect".
 */
export const CLOSE_CODES = {
  /** Server shutting down for good (or the client navigated away). */
  goingAway: 1001,
  /** Invalid UTF-8 in a text frame. */
  invalidPayload: 1007,
  /** Policy violation: flooding past the rate limit. (A refused origin is HTTP 403, before any WebSocket.) */
  policyViolation: 1008,
  /** A frame larger than the configured limit. */
  messageTooBig: 1009,
  /** The server failed unexpectedly while handling a member's message; the member is parked: resume. */
  internalError: 1011,
  /** The server is restarting; reconnect. */
  serviceRestart: 1012,
  /** Ours: the client read too slowly and its unsent backlog hit the bound; reconnect. */
  slowConsumer: 4001,
  /** Ours: the socket did not join a room in time; reconnect when ready to join. */
  joinTimeout: 4002,
  /** Ours: a host removed you from the room; do not reconnect. */
  kicked: 4501,
  /** Ours: a `resume` on another socket took this member over; do not reconnect this socket. */
  replaced: 4502,
} as const;

export type CloseCode = (typeof CLOSE_CODES)[keyof typeof CLOSE_CODES] | number;

/** First of our own codes after which the client should reconnect. */
export const RECONNECT_RANGE = { min: 4000, max: 4499 } as const;
/** Our own codes after which the client must not reconnect (kicked, revoked). */
export const NO_RECONNECT_RANGE = { min: 4500, max: 4999 } as const;

/**
 * Whether a client should try to reconnect after the socket closed with
 * `code`. Protocol-level rejections (1007, 1008, 1009) and the 4500-4999
 * range are final; network drops, restarts and 4000-4499 are not.
 */
export function shouldReconnect(code: number): boolean {
  if (code >= NO_RECONNECT_RANGE.min && code <= NO_RECONNECT_RANGE.max) return false;
  if (code >= RECONNECT_RANGE.min && code <= RECONNECT_RANGE.max) return true;
  switch (code) {
    case CLOSE_CODES.invalidPayload:
    case CLOSE_CODES.policyViolation:
    case CLOSE_CODES.messageTooBig:
    case 1000:
      return false;
    default:
      return true;
  }
}
