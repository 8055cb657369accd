import type { WebSocketLike } from "./signaling-types.js";

const WS_CONNECTING = 0;
const WS_OPEN = 1;
/** What a close code is when no close event came (the client cut the socket). */
export const ABNORMAL_CLOSURE = 1006;
const noop = (): void => undefined;

/** Our handlers off a socket we are done with; no-ops, since `ws` throws on an unheard error. */
export function detach(socket: WebSocketLike): void {
  socket.onopen = noop;
  socket.onmessage = noop;
  socket.onclose = noop;
  socket.onerror = noop;
}

/** Closes `socket` with a close frame unless it is closing or closed already. */
export function closeIfLive(socket: WebSocketLike, code: number, reason: string): void {
  if (socket.readyState === WS_OPEN || socket.readyState === WS_CONNECTING) {
    socket.close(code, reason);
  }
}

/**
 * Lets go of a socket that still looks open without a close handshake, as
 * a dead network would, so the server keeps our place for a resume. False
 * when that is impossible (an open browser socket): the caller must keep
 * it and close it once the resume has replaced it, since a close frame
 * that got through would end the membership.
 */
export function cutOff(socket: WebSocketLike): boolean {
  detach(socket);
  if (typeof socket.terminate === "function") socket.terminate();
  else if (socket.readyState === WS_CONNECTING) socket.close();
  else return false;
  return true;
}
