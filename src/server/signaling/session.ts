import { randomBytes } from "node:crypto";
import type { WebSocket } from "ws";
import {
  CLOSE_CODES,
  decodeFrame,
  encode,
  type ProtocolError,
  protocolError,
} from "../../protocol/index.js";
import { MessageLimiter } from "../limits/message-limiter.js";
import { TokenBucket } from "../limits/token-bucket.js";
import type { DeliveryEffect, PeerInfo } from "../rooms/rooms.js";
import type { SignalingContext } from "./context.js";
import { HANDLERS, leaveRoom, type SessionState } from "./handlers.js";
import type { FrameSink } from "./registry.js";

const MAX_ECHOED_TYPE = 64;
/** How long a closing socket may take to say goodbye before it is cut. */
const CLOSE_GRACE_MS = 1000;
/** Joins a connection may make at once, before JOIN_RATE_PER_MINUTE applies. */
const JOIN_BURST = 10;

/** A random, unguessable peer id (128 bits, base64url). Never reused. */
export function newPeerId(): string {
  return randomBytes(16).toString("base64url");
}

export interface SessionOptions {
  readonly peerId: string;
  /** `?token=` from the WebSocket URL, if any. */
  readonly connectionToken?: string | undefined;
}

/**
 * One WebSocket's life: limit -> decode -> validate -> authorise -> handle,
 * one message at a time in arrival order (the `Rooms` calls are
 * asynchronous, and a relay must not overtake the join before it).
 * Everything that goes wrong inside is answered on this socket and logged;
 * nothing escapes to the process.
 */
export class Session implements SessionState, FrameSink {
  readonly peerId: string;
  readonly connectionToken: string | undefined;
  roomId: string | null = null;
  member: PeerInfo | null = null;
  /** Set by the heartbeat; cleared when a pong arrives. */
  awaitingPong = false;

  readonly #socket: WebSocket;
  readonly #ctx: SignalingContext;
  readonly #limiter: MessageLimiter;
  readonly #joins: TokenBucket;
  #joinTimer: NodeJS.Timeout | null;
  #queue: Promise<void> = Promise.resolve();
  #closed = false;
  /** We started closing the socket (join timeout, flood, slow reader, kick). */
  #closing = false;

  constructor(socket: WebSocket, ctx: SignalingContext, opts: SessionOptions) {
    this.peerId = opts.peerId;
    this.connectionToken = opts.connectionToken;
    this.#socket = socket;
    this.#ctx = ctx;
    this.#limiter = new MessageLimiter(ctx.limits.messages, ctx.clock);
    this.#joins = new TokenBucket(ctx.limits.joinsPerMinute / 60, JOIN_BURST, ctx.clock);
    this.#joinTimer = setTimeout(
      () => this.close(CLOSE_CODES.joinTimeout, "join a room sooner"),
      ctx.limits.joinTimeoutMs,
    );
    this.#joinTimer.unref();
  }

  /** Feeds one received frame in; `isBinary` frames are refused. */
  receive(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    if (!this.#admit()) return;
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

  /**
   * A WebSocket ping frame: counted against the same limit as messages (a
   * client could otherwise flood with pings, each answered by a pong), and
   * answered only when admitted. The gateway turns `ws`'s auto-pong off.
   */
  receivePing(data: Buffer): void {
    if (this.#admit()) this.#socket.pong(data);
  }

  /** A WebSocket pong frame: proof of life for the heartbeat, and counted too. */
  receivePong(): void {
    this.awaitingPong = false;
    this.#admit();
  }

  /** The socket is gone: leave the room after whatever is in flight. */
  closed(): Promise<void> {
    this.#closed = true;
    this.#clearJoinTimer();
    return this.#enqueue(() => leaveRoom(this.#ctx, this));
  }

  takeJoin(): boolean {
    return this.#joins.take();
  }

  joined(): void {
    this.#clearJoinTimer();
  }

  send(message: object): void {
    this.sendFrame(encode(message));
  }

  sendFrame(frame: string, effect?: DeliveryEffect): void {
    const socket = this.#socket;
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > this.#ctx.limits.maxBufferedBytes) {
      // A reader this far behind would make us hold its backlog forever.
      this.#ctx.logger.warn({ peerId: this.peerId }, "disconnecting a slow reader");
      this.close(CLOSE_CODES.slowConsumer, "reading too slowly");
      return;
    }
    socket.send(frame);
    if (effect === "kick") {
      // The kicker removes the membership; this side only forgets it.
      this.roomId = null;
      this.member = null;
      this.close(CLOSE_CODES.kicked, "removed by a host");
    }
  }

  /**
   * Closes the socket with `code`; cuts it if the close handshake stalls.
   * Once closing, frames still arriving are ignored: nothing can be
   * answered any more, and a flood must not cost a log line or a timer each.
   */
  close(code: number, reason: string): void {
    const socket = this.#socket;
    if (this.#closing || socket.readyState === socket.CLOSED) return;
    this.#closing = true;
    socket.close(code, reason);
    // Stop reading: a flooder's backlog would otherwise still be parsed,
    // frame by frame, until the grace period ends. Our close frame is
    // still written; the client's answer is not needed.
    socket.pause();
    setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
  }

  /** Applies the message limit to one incoming frame; true when it may be handled. */
  #admit(): boolean {
    if (this.#closing) return false;
    switch (this.#limiter.check()) {
      case "accept":
        return true;
      case "refuse":
        this.#enqueue(async () => this.#sendError(protocolError("rate-limited")));
        return false;
      case "drop":
        return false;
      case "close":
        this.#ctx.logger.warn({ peerId: this.peerId }, "closing a flooding connection");
        this.close(CLOSE_CODES.policyViolation, "rate limit exceeded");
        return false;
    }
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

  #clearJoinTimer(): void {
    if (this.#joinTimer) clearTimeout(this.#joinTimer);
    this.#joinTimer = null;
  }

  #sendError(error: ProtocolError): void {
    this.send({ type: "error", code: error.code, message: error.message });
  }
}
