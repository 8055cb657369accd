import { randomBytes } from "node:crypto";
import type { WebSocket } from "ws";
import { decodeFrame, encode, type ProtocolError, protocolError } from "../../protocol/index.js";
import type { SignalingContext } from "./context.js";
import { HANDLERS, leaveRoom, type SessionState } from "./handlers.js";
import type { FrameSink } from "./registry.js";

const MAX_ECHOED_TYPE = 64;

/** A random, unguessable peer id (128 bits, base64url). Never reused. */
export function newPeerId(): string {
  return randomBytes(16).toString("base64url");
}

/**
 * One WebSocket's life: decode -> validate -> handle, one message at a time
 * in arrival order (the `Rooms` calls are asynchronous, and a relay must not
 * overtake the join before it). Everything that goes wrong inside is
 * answered on this socket and logged; nothing escapes to the process.
 */
export class Session implements SessionState, FrameSink {
  readonly peerId: string;
  roomId: string | null = null;
  name: string | undefined;
  /** Set by the heartbeat; cleared when a pong arrives. */
  awaitingPong = false;

  readonly #socket: WebSocket;
  readonly #ctx: SignalingContext;
  #queue: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(socket: WebSocket, ctx: SignalingContext, peerId: string) {
    this.peerId = peerId;
    this.#socket = socket;
    this.#ctx = ctx;
  }

  /** Feeds one received frame in; `isBinary` frames are refused. */
  receive(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    if (isBinary) {
      // Queued like any frame, so the answer does not overtake earlier ones.
      this.#enqueue(async () => this.#sendError(protocolError("binary-not-supported")));
      return;
    }
    const text = Array.isArray(data)
      ? Buffer.concat(data).toString("utf8")
      : Buffer.from(data as ArrayBuffer).toString("utf8");
    this.#enqueue(() => this.#handle(text));
  }

  /** The socket is gone: leave the room after whatever is in flight. */
  closed(): Promise<void> {
    this.#closed = true;
    return this.#enqueue(() => leaveRoom(this.#ctx, this));
  }

  send(message: object): void {
    this.sendFrame(encode(message));
  }

  sendFrame(frame: string): void {
    if (this.#socket.readyState === this.#socket.OPEN) this.#socket.send(frame);
  }

  async #handle(text: string): Promise<void> {
    const decoded = decodeFrame(text);
    if (!decoded.ok) return this.#sendError(decoded.error);
    const handler = HANDLERS.get(decoded.type);
    if (!handler) {
      const shown = decoded.type.slice(0, MAX_ECHOED_TYPE);
      return this.#sendError(protocolError("unknown-type", `unknown message type "${shown}"`));
    }
    // A closed session only cleans up; it never joins a room again.
    if (this.#closed) return;
    try {
      await handler(this.#ctx, this, decoded.message, text);
    } catch (error) {
      this.#ctx.logger.error(
        { err: error, peerId: this.peerId, type: decoded.type },
        "unexpected error while handling a message",
      );
      this.#sendError(protocolError("internal"));
    }
  }

  #enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(task).catch((error: unknown) => {
      this.#ctx.logger.error({ err: error, peerId: this.peerId }, "session task failed");
    });
    this.#queue = run;
    return run;
  }

  #sendError(error: ProtocolError): void {
    this.send({ type: "error", code: error.code, message: error.message });
  }
}
