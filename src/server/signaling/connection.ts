import type { Socket } from "node:net";
import type { WebSocket } from "ws";
import {
  CLOSE_CODES,
  type DecodeResult,
  decodeFrame,
  encode,
  type ProtocolError,
  protocolError,
} from "../../protocol/index.js";
import { MessageLimiter, type Verdict } from "../limits/message-limiter.js";
import { randomId } from "../random-id.js";
import { withSeq } from "../rooms/replay-window.js";
import { type Numbered, type PeerInfo, type Seat, StoreUnavailableError } from "../rooms/rooms.js";
import type { SignalingContext } from "./context.js";
import { HANDLERS, leaveRoom, type SessionState, sendError } from "./handlers.js";
import type { SeatHolder } from "./local-seats.js";

const MAX_ECHOED_TYPE = 64;
/** How long a closing socket may take to say goodbye before it is cut. */
const CLOSE_GRACE_MS = 1000;
/**
 * Messages waiting behind a slow one (a join waiting on a JWKS fetch):
 * past the high mark the socket stops being read, so TCP pushes back on
 * the client instead of the queue growing; reading resumes at the low mark.
 */
const QUEUE_HIGH = 64;
const QUEUE_LOW = 16;
/** Longest request `id` echoed back. */
const MAX_REQUEST_ID_LENGTH = 64;

/** A random, unguessable peer id (128 bits, base64url). Never reused. */
export function newPeerId(): string {
  return randomId(16);
}

export interface ConnectionOptions {
  readonly peerId: string;
  /** `?token=` from the WebSocket URL, if any. */
  readonly connectionToken?: string | undefined;
  /** The client's address (for per-address limits). */
  readonly address: string;
}

/** A frame that arrived before the ones it follows, and the seat gen it is for. */
interface Held {
  readonly gen: number;
  readonly frame: string;
}

/** Frames answered with an error of ours instead of being handled. */
const BINARY: DecodeResult = { ok: false, error: protocolError("binary-not-supported") };
const RATE_LIMITED: DecodeResult = { ok: false, error: protocolError("rate-limited") };

/** The queue when nothing is in it: one for every connection. */
const SETTLED: Promise<void> = Promise.resolve();

/** The frame a kicked member gets last: its socket closes after writing it. */
const KICKED_PREFIX = '{"type":"kicked"';
/** Membership frames, counted for the member's message allowance (see #admit). */
const PEER_JOINED_PREFIX = '{"type":"peer-joined"';
const PEER_LEFT_PREFIX = '{"type":"peer-left"';

/**
 * One WebSocket's life, the part of a participant that does not last: the
 * socket, its limits, its queue, its heartbeat. It speaks for a member (a
 * place in a room, kept by the store, which does last) through its
 * {@link Seat}, from `join` or `resume` until it closes or leaves. Frames
 * for the member are written strictly by `seq`: the store's deliveries and
 * the frames an operation returns may arrive in either order, and a gap is
 * filled from the store. Each message goes limit -> decode ->
 * validate -> authorise -> handle, one at a time in arrival order (the
 * `Rooms` calls are asynchronous, and a relay must not overtake the join
 * before it). Everything that goes wrong inside is answered on this socket
 * and logged; nothing escapes to the process.
 */
export class Connection implements SessionState, SeatHolder {
  /** Fresh per socket; becomes the member's on `resume`. */
  peerId: string;
  readonly connectionToken: string | undefined;
  readonly address: string;
  /** Set by the heartbeat; cleared by any frame or pong from the client. */
  awaitingPong = false;

  readonly #socket: WebSocket;
  readonly #ctx: SignalingContext;
  readonly #limiter: MessageLimiter;
  #idleTimer: NodeJS.Timeout | null = null;
  #queue: Promise<void> = SETTLED;
  #queued = 0;
  /** The `id` of the request being handled, echoed in our replies to it. */
  #replyId: string | number | undefined;
  /** The member this socket speaks for, if any. */
  #seat: Seat | null = null;
  #info: PeerInfo | null = null;
  /** Frames read from the member so far (see #enqueueFrame). */
  #received = 0;
  /** `seq` of the last frame written for the member. */
  #written = 0;
  /** Frames that arrived ahead of a gap, by `seq`, with the seat gen they are for. */
  #held: Map<number, Held> | null = null;
  /** A join or resume for this peer id is in flight: deliveries are held until it returns. */
  #expecting: string | null = null;
  #filling = false;
  /** The socket is gone. */
  #closed = false;
  /** We started closing the socket (join timeout, flood, slow reader, kick). */
  #closing = false;
  /** Frames the limiter dropped since the last queued frame (see #enqueueFrame). */
  #dropsUncounted = 0;
  /** The code we closed with, if we started the close. */
  #closeCode: number | undefined;
  /** `ws` closed the socket for a protocol violation (bad UTF-8, oversize frame). */
  #violated = false;
  /** Others in the member's room, as of the frames written so far. */
  #roomMates = 0;
  /** Membership frames up to this `seq` are already in `#roomMates`. */
  #roomMatesAsOf = 0;

  constructor(socket: WebSocket, ctx: SignalingContext, opts: ConnectionOptions) {
    this.peerId = opts.peerId;
    this.connectionToken = opts.connectionToken;
    this.address = opts.address;
    this.#socket = socket;
    this.#ctx = ctx;
    this.#limiter = new MessageLimiter(ctx.limits.messages);
    this.unseated();
  }

  /** Feeds one received frame in; `isBinary` frames are refused. */
  receive(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    const bytes = Array.isArray(data)
      ? data.reduce((n, b) => n + b.length, 0)
      : (data as Buffer | ArrayBuffer).byteLength;
    this.awaitingPong = false;
    if (!this.#admit(bytes)) return;
    if (isBinary) {
      // Queued like any frame, so the answer does not overtake earlier ones.
      this.#enqueueFrame(BINARY, "");
      return;
    }
    // `ws` hands text frames over as one Buffer (fragments already joined).
    const text = Array.isArray(data) ? Buffer.concat(data).toString() : data.toString();
    const decoded = decodeFrame(text);
    // Only a message addressed to one room-mate is a share of the
    // per-room-mate allowance; a broadcast reaches all of them, and what the
    // server answers itself is one message: either pays the rest now, before
    // it is queued, so a burst of them is refused like a 1:1 client's.
    const mates = this.#seat === null ? 1 : this.#roomMates;
    if (mates > 1 && decoded.ok && !addressed(decoded.type, decoded.message)) {
      if (!this.#obey(this.#limiter.checkRest(1 - 1 / mates))) return;
    }
    this.#enqueueFrame(decoded, text);
  }

  /**
   * A WebSocket ping frame: counted against the same limit as messages (a
   * client could otherwise flood with pings, each answered by a pong), and
   * answered only when admitted. The gateway turns `ws`'s auto-pong off.
   */
  receivePing(data: Buffer): void {
    this.awaitingPong = false;
    if (this.#admit(data.length)) this.#socket.pong(data);
  }

  /** A WebSocket pong frame: proof of life for the heartbeat, and counted too. */
  receivePong(): void {
    this.awaitingPong = false;
    this.#admit(0);
  }

  /** `ws` is closing the socket for a protocol violation (1007, 1009): leave at once. */
  violated(): void {
    this.#violated = true;
  }

  /**
   * The socket is gone (`code` as `ws` reports it: 1006 when no close frame
   * came). After whatever is in flight, its member is parked for `resume`
   * if the socket just dropped, or leaves if the client said goodbye (a
   * close frame) or we closed it for a violation.
   */
  closed(code: number): Promise<void> {
    this.#closed = true;
    this.#clearIdleTimer();
    return this.#enqueue(async () => {
      const seat = this.#seat;
      if (seat && this.#parks(code)) {
        this.unseated();
        const peerLeft = encode({ type: "peer-left", peerId: seat.peerId, reason: "dropped" });
        try {
          const outcome = await this.#ctx.rooms.drop(seat, this.#received, peerLeft);
          this.#ctx.logger.debug({ peerId: seat.peerId, outcome }, "socket dropped");
        } catch (error) {
          await this.#settleFailed(seat, "park", error);
        }
        return;
      }
      // A goodbye from the client is leaving; anything else is losing it.
      const clean = !this.#violated && this.#closeCode === undefined && code !== 1006;
      try {
        await leaveRoom(this.#ctx, this, clean ? "left" : "dropped");
      } catch (error) {
        if (seat) await this.#settleFailed(seat, "leave", error);
        else throw error;
      }
    });
  }

  /**
   * The store failed to park (`failed` "park") or take out ("leave") a
   * closed socket's member: without more, it would stay in its room for
   * good, a ghost the others keep calling. An unreachable store retries by
   * itself once it is back. Otherwise the other way is tried: a member that
   * cannot be parked leaves at once, one that cannot leave is parked so its
   * grace period ends it; either way one `peer-left`, and the operator
   * hears of it.
   */
  async #settleFailed(seat: Seat, failed: "park" | "leave", error: unknown): Promise<void> {
    const { peerId, roomId } = seat;
    const what =
      failed === "park"
        ? "park a dropped socket's member"
        : "take a closed socket's member out of its room";
    if (error instanceof StoreUnavailableError) {
      this.#ctx.logger.warn({ peerId, roomId }, `store unavailable: will ${what} once it is back`);
      return;
    }
    const peerLeft = encode({ type: "peer-left", peerId, reason: "dropped" });
    try {
      if (failed === "park") {
        await this.#ctx.rooms.leave(seat, this.#received, peerLeft);
        this.#ctx.logger.error(
          { err: error, peerId, roomId },
          `could not ${what}; it left instead`,
        );
      } else {
        const outcome = await this.#ctx.rooms.drop(seat, this.#received, peerLeft);
        this.#ctx.logger.error(
          { err: error, peerId, roomId, outcome },
          `could not ${what}; parked it to expire instead`,
        );
      }
    } catch (again) {
      this.#ctx.logger.error(
        { err: error, again, peerId, roomId },
        `could not ${what}, nor the other way: it stays as a ghost`,
      );
    }
  }

  /** Whether a close with `code` keeps the member for `resume`. */
  #parks(code: number): boolean {
    if (this.#violated) return false;
    const ours = this.#closeCode;
    // Closed by us: only a restart (1012), our own fault (1011), or a
    // "reconnect" code (4000-4499, a slow reader).
    if (ours !== undefined) {
      return (
        ours === CLOSE_CODES.serviceRestart ||
        ours === CLOSE_CODES.internalError ||
        (ours >= 4000 && ours <= 4499)
      );
    }
    // No close frame from the client: the network dropped it, or the heartbeat did.
    return code === 1006;
  }

  /** The code we closed the socket with, if we started the close. */
  get closeCode(): number | undefined {
    return this.#closeCode;
  }

  get seat(): Seat | null {
    return this.#seat;
  }

  get info(): PeerInfo | null {
    return this.#info;
  }

  get received(): number {
    return this.#received;
  }

  expect(peerId: string): void {
    this.#expecting = peerId;
    this.#ctx.seats.expect(peerId, this);
  }

  seated(
    seat: Seat,
    info: PeerInfo,
    received: number,
    written: number,
    roomMates: { readonly count: number; readonly asOf: number },
  ): void {
    this.#expecting = null;
    this.#roomMates = roomMates.count;
    this.#roomMatesAsOf = roomMates.asOf;
    this.#seat = seat;
    this.#info = info;
    this.peerId = seat.peerId;
    this.#received = received;
    this.#written = written;
    this.#clearIdleTimer();
    // What arrived meanwhile for an earlier seat is not for this one.
    for (const [seq, held] of this.#held ?? []) {
      if (held.gen !== seat.gen || seq <= written) this.#held?.delete(seq);
    }
    if (this.#held?.size === 0) this.#held = null;
  }

  unseated(): void {
    const peerId = this.#seat?.peerId ?? this.#expecting;
    this.#seat = null;
    this.#info = null;
    this.#expecting = null;
    this.#held = null;
    if (peerId !== null) this.#ctx.seats.release(peerId, this);
    if (this.#closed || this.#closing) return;
    // Out of any room (new, left, refused as full): must join within the timeout.
    this.#clearIdleTimer();
    this.#idleTimer = setTimeout(
      () => this.close(CLOSE_CODES.joinTimeout, "join a room sooner"),
      this.#ctx.limits.joinTimeoutMs,
    );
    this.#idleTimer.unref();
  }

  /** SeatHolder: a numbered frame from the store for our member. */
  offer(gen: number, seq: number, frame: string): void {
    const seat = this.#seat;
    if (seat === null) {
      // The join or resume that makes this seat is still returning.
      if (this.#expecting !== null) this.#hold(seq, gen, frame);
      return;
    }
    if (gen !== seat.gen || seq <= this.#written) return;
    // The usual case: next in line with nothing waiting, written at once.
    if (seq === this.#written + 1 && this.#held === null) {
      this.#writeNext(frame);
      return;
    }
    this.#hold(seq, gen, frame);
    this.#flush();
  }

  writeOwn(frames: readonly Numbered[]): void {
    const seat = this.#seat;
    if (seat === null) return;
    for (const { seq, frame } of frames) {
      if (seq > this.#written) this.#hold(seq, seat.gen, frame);
    }
    this.#flush();
  }

  /** Writes every frame that is next in line; asks the store for the ones missing. */
  #flush(): void {
    this.#flushHeld();
    if (this.#seat !== null && this.#held !== null && !this.#filling) this.#fill();
  }

  /** SeatHolder: frames for the member may have been lost on the way; ask the store. */
  resync(): void {
    if (this.#seat !== null && !this.#filling) this.#fill(true);
  }

  /**
   * Frames are missing before some that arrived: the store has them (an
   * operation's own frames still returning, or pub/sub traffic lost). Asked
   * once the current turn is over, so a gap that fills itself costs nothing.
   * `always`: ask even without a known gap (a resync).
   */
  #fill(always = false): void {
    this.#filling = true;
    setImmediate(async () => {
      try {
        while (
          this.#seat !== null &&
          (always || (this.#held !== null && !this.#held.has(this.#written + 1)))
        ) {
          always = false;
          const seat = this.#seat;
          const frames = await this.#ctx.rooms.framesAfter(seat, this.#written);
          if (seat !== this.#seat) continue;
          if (frames !== null && frames.length === 0 && this.#held === null) break;
          if (frames === null || frames.length === 0) {
            // Gone from the store: the client cannot be made whole here; it
            // reconnects, and its resume tells it to re-join.
            this.#ctx.logger.warn({ peerId: seat.peerId }, "frames missing for a member");
            this.close(CLOSE_CODES.slowConsumer, "frames lost; reconnect");
            return;
          }
          for (const { seq, frame } of frames) {
            if (seq > this.#written) this.#hold(seq, seat.gen, frame);
          }
          this.#flushHeld();
        }
      } catch (error) {
        this.#ctx.logger.error({ err: error, peerId: this.peerId }, "cannot fill a gap");
        if (error instanceof StoreUnavailableError) {
          this.close(CLOSE_CODES.serviceRestart, "store unavailable; reconnect");
        } else {
          this.close(CLOSE_CODES.internalError, "internal error; resume");
        }
      } finally {
        this.#filling = false;
      }
    });
  }

  #flushHeld(): void {
    const held = this.#held;
    if (held === null) return;
    let next = held.get(this.#written + 1);
    while (next !== undefined && this.#seat !== null) {
      held.delete(this.#written + 1);
      if (!this.#writeNext(next.frame)) break;
      next = held.get(this.#written + 1);
    }
    // Empty again (the usual case): a Map per idle connection is memory for nothing.
    if (held.size === 0 && this.#held === held) this.#held = null;
  }

  /** Keeps a frame that cannot be written yet (ahead of a gap, or before the seat exists). */
  #hold(seq: number, gen: number, frame: string): void {
    this.#held ??= new Map();
    this.#held.set(seq, { gen, frame });
  }

  /** Writes the member's next frame; false when it was its last (`kicked`). */
  #writeNext(frame: string): boolean {
    const seq = ++this.#written;
    this.write(withSeq(frame, seq));
    if (seq > this.#roomMatesAsOf) this.#countRoomMates(frame);
    if (frame.startsWith(KICKED_PREFIX)) {
      this.kicked();
      return false;
    }
    return true;
  }

  #countRoomMates(frame: string): void {
    if (frame.startsWith(PEER_JOINED_PREFIX)) this.#roomMates++;
    else if (frame.startsWith(PEER_LEFT_PREFIX) && this.#roomMates > 0) this.#roomMates--;
  }

  /** A host removed our member: the `kicked` frame is written; close with "do not reconnect". */
  kicked(): void {
    this.unseated();
    this.close(CLOSE_CODES.kicked, "removed by a host");
  }

  /** SeatHolder: a resume elsewhere took our member; nothing queued here is handled. */
  replaced(gen: number): void {
    if (this.#seat?.gen !== gen) return;
    this.unseated();
    this.close(CLOSE_CODES.replaced, "resumed on another connection");
  }

  get active(): boolean {
    return !this.#closed && !this.#closing;
  }

  takeJoin(): boolean {
    return this.#limiter.takeJoin();
  }

  /**
   * Sends a message of ours; a reply to a request carries the request's
   * `id`. In a room the store numbers it and keeps it for replay like every
   * frame.
   */
  async send(message: object): Promise<void> {
    const { type, code } = message as { type?: unknown; code?: unknown };
    if (type === "error") this.#ctx.metrics.error(String(code));
    const frame = this.encodeReply(message);
    const seat = this.#seat;
    if (seat === null) return this.write(frame);
    const numbered = await this.#ctx.rooms.reply(seat, this.#received, frame);
    if (numbered !== null) this.writeOwn([numbered]);
  }

  encodeReply(message: object): string {
    return encode(this.#replyId === undefined ? message : { ...message, id: this.#replyId });
  }

  /** Writes a frame to the socket as it is. */
  write(frame: string): void {
    const socket = this.#socket;
    if (socket.readyState !== socket.OPEN || this.#closing) return;
    if (socket.bufferedAmount > this.#ctx.limits.maxBufferedBytes) {
      // A reader this far behind would make us hold its backlog forever.
      this.#ctx.logger.warn({ peerId: this.peerId }, "disconnecting a slow reader");
      this.#ctx.metrics.limit("slow-reader");
      this.close(CLOSE_CODES.slowConsumer, "reading too slowly");
      return;
    }
    this.#cork();
    socket.send(frame);
  }

  /**
   * Holds this turn's frames for the socket and sends them in one `writev`
   * when the turn ends: a join's `joined` and `ready`, or the frames of
   * several messages read at once, cost one system call instead of one
   * each. The kernel's send is most of the server's busy time (see
   * docs/performance.md). `ws` corks around each frame itself; corking
   * nests, so its frames wait for ours.
   */
  #cork(): void {
    // `_socket` is ws's own field: the WebSocket's TCP socket.
    const tcp = (this.#socket as unknown as { _socket?: Socket })._socket;
    // Corked already means corked by us this turn: ws uncorks before send returns.
    if (tcp === undefined || tcp.destroyed || tcp.writableCorked > 0) return;
    tcp.cork();
    process.nextTick(uncork, tcp);
  }

  /**
   * Closes the socket with `code`; cuts it if the close handshake stalls.
   * From then on nothing it sent is handled, queued or not: nothing can be
   * answered any more, and a flood must not cost a log line or a timer each.
   */
  close(code: number, reason: string, graceMs = CLOSE_GRACE_MS): void {
    const socket = this.#socket;
    if (this.#closing || socket.readyState === socket.CLOSED) return;
    this.#closing = true;
    this.#closeCode = code;
    this.#clearIdleTimer();
    socket.close(code, reason);
    // Stop reading a flooder: its backlog would otherwise still be parsed,
    // frame by frame, until the grace period ends (our close frame is still
    // written). Others are read on, so their close reply ends things early.
    if (code === CLOSE_CODES.policyViolation) socket.pause();
    setTimeout(() => socket.terminate(), graceMs).unref();
  }

  /**
   * Applies the message limits to one incoming frame; true when it may be
   * handled. The allowance scales with the room: a member talks to each of
   * its room-mates (an offer and a trickle of candidates per peer).
   */
  #admit(bytes: number): boolean {
    if (this.#closing) return false;
    const scale = this.#seat === null ? 1 : this.#roomMates;
    return this.#obey(this.#limiter.check(bytes, scale));
  }

  /** Acts on the limiter's verdict on one frame; true when it may be handled. */
  #obey(verdict: Verdict): boolean {
    switch (verdict) {
      case "accept":
        return true;
      case "refuse":
        this.#ctx.metrics.limit("messages");
        this.#enqueueFrame(RATE_LIMITED, "");
        return false;
      case "drop":
        this.#ctx.metrics.limit("messages");
        this.#dropsUncounted++;
        return false;
      case "close":
        this.#ctx.metrics.limit("flood-close");
        this.#ctx.logger.warn({ peerId: this.peerId }, "closing a flooding connection");
        this.close(CLOSE_CODES.policyViolation, "rate limit exceeded");
        return false;
    }
  }

  /** Handles one frame; a promise only when the handler had to wait. */
  #handle(decoded: DecodeResult, text: string): void | Promise<void> {
    if (!decoded.ok) return this.#answer(decoded.error);
    const type = decoded.type;
    this.#replyId = requestId(decoded.message);
    let pending: void | Promise<void>;
    try {
      const handler = HANDLERS.get(type);
      if (handler) {
        pending = handler(this.#ctx, this, decoded.message, text);
      } else {
        const shown = type.slice(0, MAX_ECHOED_TYPE);
        pending = sendError(this, protocolError("unknown-type", `unknown message type "${shown}"`));
      }
    } catch (error) {
      return this.#failed(type, error);
    }
    if (pending instanceof Promise) {
      return pending.then(
        () => {
          this.#replyId = undefined;
        },
        (error: unknown) => this.#failed(type, error),
      );
    }
    this.#replyId = undefined;
  }

  /** A handler threw: answer, and close when the member's state may be off. */
  async #failed(type: string, error: unknown): Promise<void> {
    try {
      // A join or resume that failed half-way holds nothing for anyone.
      if (this.#seat === null && this.#expecting !== null) this.unseated();
      if (error instanceof StoreUnavailableError) {
        // Not numbered: the store that numbers frames is what is missing.
        this.#ctx.metrics.error("unavailable");
        this.write(this.encodeReply(errorMessage(protocolError("unavailable"))));
        return;
      }
      this.#ctx.logger.error(
        { err: error, peerId: this.peerId, type },
        "unexpected error while handling a message",
      );
      await this.#answer(protocolError("internal"));
      // In a room, what the store did and what this socket wrote may now
      // disagree (a frame numbered but never written). The store is the
      // truth: close with 1011, the member is parked, and its resume
      // replays exactly what it is missing. Outside a room there is
      // nothing to disagree about, and the socket goes on.
      if (this.#seat !== null) this.close(CLOSE_CODES.internalError, "internal error; resume");
    } finally {
      this.#replyId = undefined;
    }
  }

  /** An error answer that survives the store being unreachable. */
  async #answer(error: ProtocolError): Promise<void> {
    try {
      await sendError(this, error);
    } catch {
      this.#ctx.metrics.error("unavailable");
      this.write(this.encodeReply(errorMessage(protocolError("unavailable"))));
    }
  }

  /**
   * Queues the handling of one client frame, in arrival order. A closing or
   * closed connection handles nothing more (a kicked member's queued join
   * must not take it back into a room). A frame that is handled counts as
   * read for the member (`resumed.received`), and so do the frames the
   * limiter dropped just before it: `received` must count a prefix of what
   * the client sent, never skip a frame that was handled (the client would
   * send it again) nor count one that was not (it would be lost). Drops
   * after the last handled frame stay uncounted: sent again, they arrive
   * for the first time.
   */
  #enqueueFrame(decoded: DecodeResult, text: string): void {
    const dropsBefore = this.#dropsUncounted;
    this.#dropsUncounted = 0;
    if (this.#queued === 0 && this.#ctx.rooms.gate() === null) {
      // Nothing ahead of it: handled now, within this read. Only what has
      // to wait (a join checking its token, a store on the network) takes
      // the queue, and every frame after it waits its turn there.
      if (this.#closed || this.#closing) return;
      if (this.#seat !== null) this.#received += dropsBefore + 1;
      let pending: void | Promise<void>;
      try {
        pending = this.#handle(decoded, text);
      } catch (error) {
        this.#taskFailed(error);
        return;
      }
      if (pending instanceof Promise) this.#enqueue(() => pending);
      return;
    }
    this.#enqueue(async () => {
      const gate = this.#ctx.rooms.gate();
      if (gate !== null) await gate;
      if (this.#closed || this.#closing) return;
      if (this.#seat !== null) this.#received += dropsBefore + 1;
      await this.#handle(decoded, text);
    });
  }

  #enqueue(task: () => Promise<void>): Promise<void> {
    if (++this.#queued === QUEUE_HIGH) this.#socket.pause();
    const run = this.#queue
      .then(task)
      .catch((error: unknown) => this.#taskFailed(error))
      .finally(() => {
        if (--this.#queued === QUEUE_LOW && !this.#closing) this.#socket.resume();
        // Idle again: the shared settled promise, not this chain's last link.
        if (this.#queued === 0 && this.#queue === run) this.#queue = SETTLED;
      });
    this.#queue = run;
    return run;
  }

  #taskFailed(error: unknown): void {
    this.#ctx.logger.error({ err: error, peerId: this.peerId }, "session task failed");
  }

  #clearIdleTimer(): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
  }
}

/** The end of a corked turn (see Connection#cork): what it wrote goes out. */
function uncork(tcp: Socket): void {
  tcp.uncork();
}

/** Relayed types: one addressed with `to` reaches one room-mate (see `receive`). */
const RELAYED = new Set(["offer", "answer", "ice", "message"]);

/** Whether a message goes to one room-mate only (a share of the per-room-mate allowance). */
function addressed(type: string, message: Record<string, unknown>): boolean {
  return RELAYED.has(type) && typeof message.to === "string";
}

/** A client's request `id` (a short string or a finite number), echoed in replies. */
function requestId(message: Record<string, unknown>): string | number | undefined {
  const id = Object.hasOwn(message, "id") ? message.id : undefined;
  if (typeof id === "string" && id.length <= MAX_REQUEST_ID_LENGTH) return id;
  if (typeof id === "number" && Number.isFinite(id)) return id;
  return undefined;
}

function errorMessage(error: ProtocolError): object {
  return { type: "error", code: error.code, message: error.message };
}
