import {
  type AnswerMessage,
  type AppMessage,
  type ErrorMessage,
  type FullMessage,
  type IceMessage,
  type JoinedMessage,
  type JoinMessage,
  type KickedMessage,
  type LeftMessage,
  type LockedMessage,
  type OfferMessage,
  type PeerJoinedMessage,
  type PeerLeftMessage,
  type PongMessage,
  RELAY_TYPES,
  type ReadyMessage,
  type RelayedMessage,
  type ResumedMessage,
  type ServerMessage,
  serverMessageSchema,
  shouldReconnect,
  type UnlockedMessage,
} from "../protocol/index.js";
import { Emitter } from "./emitter.js";
import { type ClientErrorCode, SignalroomError } from "./errors.js";
import { BackoffPolicy, type CloseEvent, type ReconnectPolicy } from "./reconnect-policy.js";

export type { CloseEvent } from "./reconnect-policy.js";

/** The part of the WebSocket API the client uses; the browser's and `ws`'s both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onclose: ((event: { code: number; reason: string; wasClean: boolean }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  /** Cuts the connection without a close handshake (`ws` has it; browsers do not). */
  terminate?(): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface SignalingClientOptions {
  /** `ws://` or `wss://` URL of the server (path `/` or `/ws`). */
  url: string;
  /** WebSocket implementation; defaults to the global one (browsers, Node 22+). */
  WebSocket?: WebSocketConstructor;
  /**
   * How long opening a socket, `join`, `leave`, `ping`, a keep-alive ping
   * and a resume wait for an answer, in ms. Default 10000.
   */
  timeoutMs?: number;
  /**
   * Interval of keep-alive pings, in ms; 0 disables. They keep idle
   * connections open through proxies and NATs, and a ping unanswered
   * within `timeoutMs` declares the socket dead, so with the defaults a
   * dead connection is noticed within 25 s. Default 15000.
   */
  keepAliveMs?: number;
  /**
   * When and whether to reconnect after the connection is lost; `false`
   * never reconnects. Default `new BackoffPolicy()` (full-jitter back-off,
   * 500 ms to 10 s, giving up after 5 minutes).
   */
  reconnect?: ReconnectPolicy | false;
  /** Least time between two `ack`s, in ms. Default 1000. */
  ackIntervalMs?: number;
  /** Messages `send()` may queue while reconnecting; one more throws `queue-full`. Default 256. */
  maxQueued?: number;
  /** Sent frames kept to re-send those the server missed, when resuming. Default 512. */
  maxResend?: number;
}

/**
 * `idle` (never connected), `connecting` (the first socket is opening),
 * `open`, `reconnecting` (lost; waiting, opening a socket, resuming or
 * re-joining), `closed` (final until `connect()` starts over).
 */
export type ConnectionState = "idle" | "connecting" | "open" | "reconnecting" | "closed";

/**
 * Why the client stopped for good: `client` (`close()` was called),
 * `refused` (a close code that must not reconnect: kicked 4501, replaced
 * 4502, 1008, ...), `gave-up` (the reconnect policy returned null, or the
 * first `connect()` failed), `rejoin-failed` (the resume was refused and
 * the re-join was refused too: full, locked, unauthorized).
 */
export type ClosedReason = "client" | "refused" | "gave-up" | "rejoin-failed";

export interface ClosedEvent {
  readonly reason: ClosedReason;
  /** The last socket's close code (1006 when none came; 1000 for `client` and `rejoin-failed`). */
  readonly code: number;
  readonly message: string;
}

export interface ReconnectingEvent {
  /** 1 for the first attempt after a loss. */
  readonly attempt: number;
  /** How long the client waits before this attempt. */
  readonly delayMs: number;
  /** How the last socket closed; null when the client gave up on it (a timeout). */
  readonly closeEvent: CloseEvent | null;
}

/** Events of {@link SignalingClient}: one per server message type, plus the connection's. */
export interface SignalingEvents {
  /** On every change of {@link SignalingClient.state}. */
  state: { state: ConnectionState };
  /** A socket is being opened (the first one, or a reconnection attempt). */
  connecting: undefined;
  /** The connection is usable (state `open`): first time, and after every reconnection. */
  open: undefined;
  /** The connection was lost; the next attempt comes after `delayMs`. */
  reconnecting: ReconnectingEvent;
  /** The membership was taken back after a reconnection: same peer id, nothing lost. */
  resumed: ResumedMessage;
  /** The resume was refused and the client joined the same room again (new peer id); follows `joined`. */
  rejoined: JoinedMessage;
  /** Final: the client stopped and will not reconnect. `connect()` starts over. */
  closed: ClosedEvent;
  joined: JoinedMessage;
  full: FullMessage;
  ready: ReadyMessage;
  "peer-joined": PeerJoinedMessage;
  "peer-left": PeerLeftMessage;
  left: LeftMessage;
  offer: RelayedMessage<"offer">;
  answer: RelayedMessage<"answer">;
  ice: RelayedMessage<"ice">;
  message: RelayedMessage<"message">;
  pong: PongMessage;
  /** A host removed you from the room; the server closes the socket (4501) next. */
  kicked: KickedMessage;
  /** A host locked the room: nobody else can join. */
  locked: LockedMessage;
  unlocked: UnlockedMessage;
  /** An `error` message from the server. */
  error: ErrorMessage;
  /** Something arrived that is not a protocol message; it is dropped. */
  "protocol-violation": SignalroomError;
}

/** Messages a client may relay to its peers. */
export type OutgoingRelay = OfferMessage | AnswerMessage | IceMessage | AppMessage;

interface JoinParams {
  readonly roomId: string;
  readonly name?: string | undefined;
  readonly token?: string | undefined;
}

/** A request awaiting its answer; `accept` turns the answer into a result or an error. */
interface Pending {
  readonly type: string;
  /** Number of the frame that carried the request (see `#written`). */
  readonly frame: number;
  readonly join: JoinParams | undefined;
  readonly accept: (answer: ServerMessage) => void;
  readonly reject: (error: SignalroomError) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

type TimerName = "retry" | "connect" | "phase" | "ack";

interface SentFrame {
  readonly frame: number;
  readonly type: string;
  readonly text: string;
}

/** Frame types never re-sent after a resume: stale (ack, ping) or requests rejected at the drop. */
const NOT_RESENT: ReadonlySet<string> = new Set(["ack", "ping", "join", "leave"]);
const RELAYED: ReadonlySet<string> = new Set(RELAY_TYPES);
const WS_CONNECTING = 0;
const WS_OPEN = 1;
/** What a close code is when no close event came (the client cut the socket). */
const ABNORMAL = 1006;
const noop = (): void => undefined;

/**
 * Speaks the Signalroom protocol over a WebSocket: typed events for every
 * server message, promises for the request/answer pairs, and automatic
 * reconnection: when the connection is lost it reconnects with back-off,
 * resumes the room membership (nothing lost or delivered twice), or joins
 * the same room again when the server refuses the resume.
 *
 * ```ts
 * const client = new SignalingClient({ url: "wss://example.org/ws" });
 * await client.connect();
 * const joined = await client.join("standup", { name: "Ada" });
 * client.on("offer", (msg) => ...);
 * client.on("closed", ({ reason }) => ...); // only when it gave up for good
 * ```
 */
export class SignalingClient extends Emitter<SignalingEvents> {
  readonly #opts: {
    url: string;
    WebSocket: WebSocketConstructor | undefined;
    timeoutMs: number;
    keepAliveMs: number;
    reconnect: ReconnectPolicy | false;
    ackIntervalMs: number;
    maxQueued: number;
    maxResend: number;
  };
  #socket: WebSocketLike | null = null;
  /** Sockets given up for dead that could not be cut (browsers): closed once we are back. */
  #stale: WebSocketLike[] = [];
  #state: ConnectionState = "idle";
  /** What the current socket is doing before it is `open`: taking a membership back. */
  #phase: "none" | "resuming" | "rejoining" = "none";
  #joined: JoinedMessage | null = null;
  /** The `join` that made the current membership: a re-join repeats it. */
  #joinParams: JoinParams | null = null;
  /** Requests awaiting their answer, by the `id` the server echoes. */
  readonly #pending = new Map<string, Pending>();
  #nextId = 1;
  /** The last join sent, for a `joined` that does not echo its request id. */
  #lastJoin: { frame: number; join: JoinParams } | null = null;
  #connectWaiters: { resolve: () => void; reject: (error: SignalroomError) => void }[] = [];

  // Resume bookkeeping. Frames we send are numbered 1, 2, ... since connect()
  // (the resume frame not, as the server does not count it); the membership
  // started at frame `#base` (its join), so the server has read
  // `#written - #base` of ours when nothing was lost.
  #written = 0;
  #base = 0;
  /** The last frames sent, oldest first, for re-sending after a resume. */
  #outbox: SentFrame[] = [];
  /** Messages `send()` took while reconnecting, sent once we are back in the room. */
  #queue: { type: string; text: string }[] = [];
  /** Highest `seq` processed in this membership; at or below it is a duplicate. */
  #lastSeq = 0;
  #ackedSeq = 0;

  // Reconnection.
  #lostAt: number | null = null;
  #attempts = 0;
  #probing = false;
  /** retry: the back-off wait; connect: opening a socket; phase: the answer to a resume; ack. */
  readonly #timers = new Map<TimerName, ReturnType<typeof setTimeout>>();
  #keepAlive: ReturnType<typeof setInterval> | null = null;
  #stopOnline: (() => void) | null = null;

  constructor(options: SignalingClientOptions) {
    super();
    this.#opts = {
      url: options.url,
      WebSocket: options.WebSocket,
      timeoutMs: options.timeoutMs ?? 10_000,
      keepAliveMs: options.keepAliveMs ?? 15_000,
      reconnect: options.reconnect ?? new BackoffPolicy(),
      ackIntervalMs: options.ackIntervalMs ?? 1000,
      maxQueued: options.maxQueued ?? 256,
      maxResend: options.maxResend ?? 512,
    };
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** Your peer id in the current room, or null outside a room. Kept while reconnecting. */
  get peerId(): string | null {
    return this.#joined?.peerId ?? null;
  }

  /** The room you are in, or null. Kept while reconnecting. */
  get roomId(): string | null {
    return this.#joined?.roomId ?? null;
  }

  /**
   * Opens the connection; resolves when it is open. While connecting or
   * reconnecting it waits for that attempt; once `closed` it starts over.
   * A first connection that fails rejects (`connection-failed`, or
   * `timeout`) and is not retried: the state goes to `closed` (`gave-up`).
   */
  connect(): Promise<void> {
    if (this.#state === "open") return Promise.resolve();
    if (this.#state === "idle" || this.#state === "closed") {
      if (!this.#webSocketClass()) {
        return Promise.reject(
          new SignalroomError(
            "connection-failed",
            "no WebSocket implementation: pass options.WebSocket",
          ),
        );
      }
    }
    const waiting = new Promise<void>((resolve, reject) => {
      this.#connectWaiters.push({ resolve, reject });
    });
    if (this.#state === "idle" || this.#state === "closed") {
      this.#listenOnline();
      this.#setState("connecting");
      this.#openSocket();
    }
    return waiting;
  }

  /**
   * Joins a room (leaving the current one, as the server does). Resolves
   * with `joined`; rejects with code `room-full` when the room is full, or
   * with the server's error code (`room-id-required`, `unauthorized`, ...).
   * After a connection loss the client joins this room again by itself
   * when it cannot resume.
   */
  join(roomId: string, opts: { name?: string; token?: string } = {}): Promise<JoinedMessage> {
    return this.#whenOpen(() => this.#join({ roomId, name: opts.name, token: opts.token }));
  }

  /** Leaves the current room; resolves with `left`. */
  leave(): Promise<LeftMessage> {
    return this.#whenOpen(() =>
      this.#request({ type: "leave" }, (answer) =>
        answer.type === "left" ? (answer as LeftMessage) : undefined,
      ),
    );
  }

  /** Round trip to the server; resolves with the time it took in ms. */
  ping(): Promise<number> {
    const started = Date.now();
    return this.#whenOpen(() => this.#ping()).then(() => Date.now() - started);
  }

  /** Host only: removes a member. Refusals arrive as `error` events. Queued while reconnecting. */
  kick(peerId: string): void {
    this.#sendOrQueue({ type: "kick", peerId });
  }

  /** Host only: locks the room (`lock(false)` unlocks). Queued while reconnecting. */
  lock(locked = true): void {
    this.#sendOrQueue({ type: locked ? "lock" : "unlock" });
  }

  /**
   * Relays a message to the other members (or to `message.to` only).
   * While reconnecting in a room it is queued and sent, in order, once the
   * membership is resumed (dropped if the client has to re-join instead);
   * throws `queue-full` past `maxQueued`, and `not-connected` when there
   * is no connection to wait for.
   */
  send(message: OutgoingRelay): void {
    this.#sendOrQueue(message);
  }

  /**
   * Closes the connection for good (code 1000: the server lets the room
   * know at once). The state is `closed` and `closed` (reason `client`)
   * is emitted before this returns; pending requests are rejected with
   * `connection-failed`. `connect()` may be called again right away.
   */
  close(): void {
    if (this.#state === "idle" || this.#state === "closed") return;
    this.#finish("client", 1000, "client closed");
  }

  // ---------------------------------------------------------------- sockets

  #webSocketClass(): WebSocketConstructor | undefined {
    return this.#opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  }

  #openSocket(): void {
    this.emit("connecting", undefined);
    // A `connecting` listener may have closed the client.
    if (this.#state !== "connecting" && this.#state !== "reconnecting") return;
    const Ctor = this.#webSocketClass() as WebSocketConstructor;
    const url = this.#opts.url;
    let socket: WebSocketLike;
    try {
      socket = new Ctor(url);
    } catch (error) {
      this.#lost(
        null,
        new SignalroomError("connection-failed", `cannot open ${url}`, { cause: error }),
      );
      return;
    }
    this.#socket = socket;
    this.#setTimer("connect", this.#opts.timeoutMs, () =>
      this.#declareDead(
        socket,
        new SignalroomError("timeout", `no connection to ${url} within ${this.#opts.timeoutMs} ms`),
      ),
    );
    socket.onopen = () => {
      if (socket === this.#socket) this.#opened(socket);
    };
    socket.onerror = () => {
      // A close event always follows; it carries the code.
    };
    socket.onclose = (event) => {
      if (socket !== this.#socket) return;
      detach(socket);
      const closeEvent = { code: event.code, reason: event.reason, wasClean: event.wasClean };
      const message =
        this.#state === "connecting"
          ? `cannot connect to the signaling server (close ${event.code}${event.reason ? `: ${event.reason}` : ""})`
          : `connection closed (${event.code})`;
      this.#lost(closeEvent, new SignalroomError("connection-failed", message));
    };
    socket.onmessage = (event) => {
      if (socket === this.#socket) this.#onMessage(event.data, socket);
    };
  }

  #opened(socket: WebSocketLike): void {
    this.#clearTimer("connect");
    if (this.#state === "connecting") {
      this.#becomeOpen();
      this.#announceOpen();
    } else if (this.#joined && this.#resumable()) {
      this.#resume(socket);
    } else if (this.#joined) {
      this.#rejoin(socket);
    } else {
      // Outside a room there is nothing to take back.
      this.#becomeOpen();
      this.#closeStale();
      this.#announceOpen();
    }
  }

  /**
   * Gives up on a socket that still looks open (a keep-alive ping or an
   * answer timed out): cut without a close handshake, as a dead network
   * would, so the server keeps our place for a resume.
   */
  #declareDead(socket: WebSocketLike | null, error: SignalroomError): void {
    if (socket === null || socket !== this.#socket) return;
    detach(socket);
    if (typeof socket.terminate === "function") socket.terminate();
    else if (socket.readyState === WS_CONNECTING) socket.close();
    // A browser can only close with a close frame, which would end the
    // membership if it got through; the resume replaces the socket instead.
    else this.#stale.push(socket);
    this.#lost(null, error);
  }

  /** The current socket is gone (closed, or given up on): reconnect or stop. */
  #lost(closeEvent: CloseEvent | null, error: SignalroomError): void {
    this.#socket = null;
    this.#clearTimer("connect");
    this.#clearTimer("phase");
    this.#clearTimer("ack");
    this.#stopKeepAlive();
    this.#phase = "none";
    // A leave that may have gone through: do not take the room back.
    const leaving = [...this.#pending.values()].some((p) => p.type === "leave");
    this.#rejectPending(error);
    const code = closeEvent?.code ?? ABNORMAL;
    if (this.#state === "connecting") {
      this.#finish("gave-up", code, error.message, error);
      return;
    }
    if (!shouldReconnect(code)) {
      this.#finish("refused", code, closeEvent?.reason || `closed with code ${code}`);
      return;
    }
    if (this.#opts.reconnect === false) {
      this.#finish("gave-up", code, `connection lost (${code}); reconnect is off`);
      return;
    }
    if (leaving) this.#endMembership();
    if (this.#lostAt === null) {
      this.#lostAt = Date.now();
      this.#attempts = 0;
    }
    this.#scheduleRetry(closeEvent);
  }

  #scheduleRetry(closeEvent: CloseEvent | null): void {
    const policy = this.#opts.reconnect;
    if (policy === false) return;
    const delay = policy.nextRetryDelayInMs({
      retryCount: this.#attempts,
      elapsedMs: Date.now() - (this.#lostAt ?? Date.now()),
      closeEvent,
    });
    if (delay === null) {
      const code = closeEvent?.code ?? ABNORMAL;
      this.#finish("gave-up", code, `gave up reconnecting after ${this.#attempts} attempts`);
      return;
    }
    const delayMs = Number.isFinite(delay) ? Math.max(0, delay) : 0;
    this.#setTimer("retry", delayMs, () => this.#retryNow());
    this.#setState("reconnecting");
    if (this.#state !== "reconnecting") return;
    this.emit("reconnecting", { attempt: this.#attempts + 1, delayMs, closeEvent });
  }

  #retryNow(): void {
    this.#clearTimer("retry");
    if (this.#state !== "reconnecting" || this.#socket) return;
    this.#attempts++;
    this.#openSocket();
  }

  /** The browser says the network is back: retry now instead of after the back-off. */
  #listenOnline(): void {
    if (this.#stopOnline) return;
    const target = globalThis as {
      addEventListener?: (type: string, listener: () => void) => void;
      removeEventListener?: (type: string, listener: () => void) => void;
    };
    if (typeof target.addEventListener !== "function") return;
    const listener = () => {
      if (this.#state === "reconnecting" && this.#timers.has("retry")) this.#retryNow();
      // The network changed under an open socket: find out now whether it survived.
      else if (this.#state === "open") this.#probe();
    };
    target.addEventListener("online", listener);
    this.#stopOnline = () => target.removeEventListener?.("online", listener);
  }

  // ---------------------------------------------------------------- taking the room back

  #resumable(): boolean {
    const joined = this.#joined;
    return !!joined?.resumeToken && (joined.resumeGraceMs ?? 0) > 0;
  }

  #resume(socket: WebSocketLike): void {
    const joined = this.#joined as JoinedMessage;
    this.#phase = "resuming";
    // The resume tells the server what we processed; no separate ack needed.
    this.#ackedSeq = this.#lastSeq;
    // Not counted by the server, so not numbered here.
    socket.send(
      JSON.stringify({
        type: "resume",
        peerId: joined.peerId,
        resumeToken: joined.resumeToken,
        lastSeq: this.#lastSeq,
      }),
    );
    this.#setTimer("phase", this.#opts.timeoutMs, () =>
      this.#declareDead(
        socket,
        new SignalroomError("timeout", `no answer to resume within ${this.#opts.timeoutMs} ms`),
      ),
    );
  }

  #onResumeRefused(error: ErrorMessage, socket: WebSocketLike): void {
    this.#clearTimer("phase");
    if (error.code === "rate-limited") {
      // Our place may still be there: try again later rather than give it up.
      this.#declareDead(socket, new SignalroomError("rate-limited", error.message));
      return;
    }
    this.#rejoin(socket);
  }

  #onResumed(resumed: ResumedMessage, socket: WebSocketLike): void {
    this.#clearTimer("phase");
    const joined = this.#joined as JoinedMessage;
    const from = this.#base + resumed.received + 1;
    const oldest = this.#outbox[0]?.frame ?? this.#written + 1;
    if (from <= this.#written && oldest > from) {
      // We no longer hold frames the server missed: only a fresh join is honest.
      this.#rejoin(socket);
      return;
    }
    const resend: SentFrame[] = [];
    for (const sent of this.#outbox) {
      if (sent.frame < from) continue;
      // What follows a join was meant for another membership.
      if (sent.type === "join") break;
      if (!NOT_RESENT.has(sent.type)) resend.push(sent);
    }
    this.#joined = {
      ...joined,
      roomId: resumed.roomId,
      peerId: resumed.peerId,
      peerIds: resumed.peerIds,
      peers: resumed.peerIds.length,
      members: resumed.members ?? joined.members,
      iceServers: resumed.iceServers ?? joined.iceServers,
      resumeToken: resumed.resumeToken,
    };
    this.#outbox = [];
    this.#base = this.#written - resumed.received;
    this.#becomeOpen();
    for (const sent of resend) this.#write(sent.type, sent.text);
    for (const queued of this.#queue.splice(0)) this.#write(queued.type, queued.text);
    this.#closeStale();
    if (!this.#announceOpen()) return;
    this.emit("resumed", resumed);
  }

  /** Joins the room of the lost membership again, on `socket`. */
  #rejoin(socket: WebSocketLike): void {
    const params = this.#joinParams;
    // Queued messages were for peers of the old membership.
    this.#queue = [];
    if (!params) {
      this.#endMembership();
      this.#becomeOpen();
      this.#closeStale();
      this.#announceOpen();
      return;
    }
    this.#phase = "rejoining";
    this.#join(params).catch((error: SignalroomError) => {
      if (socket !== this.#socket) return; // The socket went; reconnecting goes on.
      if (error.code === "timeout" || error.code === "rate-limited") {
        this.#declareDead(socket, error);
        return;
      }
      this.#finish(
        "rejoin-failed",
        1000,
        `cannot join room ${params.roomId} again: ${error.message} (${error.code})`,
      );
    });
  }

  // ---------------------------------------------------------------- requests and sending

  #whenOpen<T>(request: () => Promise<T>): Promise<T> {
    if (this.#state !== "open") {
      const message =
        this.#state === "reconnecting"
          ? "not connected: reconnecting"
          : "not connected: call connect() first";
      return Promise.reject(new SignalroomError("not-connected", message));
    }
    return request();
  }

  #join(params: JoinParams): Promise<JoinedMessage> {
    const message: JoinMessage = { type: "join", roomId: params.roomId };
    if (params.name !== undefined) message.name = params.name;
    if (params.token !== undefined) message.token = params.token;
    return this.#request(
      message,
      (answer) => {
        if (answer.type === "joined") return answer as JoinedMessage;
        if (answer.type === "full") {
          return new SignalroomError("room-full", `room ${(answer as FullMessage).roomId} is full`);
        }
        return undefined;
      },
      params,
    );
  }

  #ping(): Promise<PongMessage> {
    return this.#request({ type: "ping" }, (answer) =>
      answer.type === "pong" ? (answer as PongMessage) : undefined,
    );
  }

  /**
   * Sends `message` with a fresh request `id` on the current socket and
   * settles with the answer that echoes it: `interpret` turns it into the
   * result (or an error); an `error` answer rejects with its code. Answers
   * are matched by id, so an error about an earlier relay can never be
   * taken for this answer.
   */
  #request<T>(
    message: { type: string },
    interpret: (answer: ServerMessage) => T | SignalroomError | undefined,
    join?: JoinParams,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const id = `c${this.#nextId++}`;
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new SignalroomError("timeout", `no answer within ${this.#opts.timeoutMs} ms`));
      }, this.#opts.timeoutMs);
      const accept = (answer: ServerMessage) => {
        if (answer.type === "error") {
          const error = answer as ErrorMessage;
          return settle(new SignalroomError(error.code as ClientErrorCode, error.message));
        }
        const result = interpret(answer);
        if (result !== undefined) settle(result);
      };
      const settle = (result: T | SignalroomError) => {
        this.#pending.delete(id);
        clearTimeout(timer);
        if (result instanceof SignalroomError) reject(result);
        else resolve(result);
      };
      try {
        this.#write(message.type, JSON.stringify({ ...message, id }));
      } catch (error) {
        clearTimeout(timer);
        reject(error as SignalroomError);
        return;
      }
      const frame = this.#written;
      if (join) this.#lastJoin = { frame, join };
      this.#pending.set(id, { type: message.type, frame, join, accept, reject, timer });
    });
  }

  #sendOrQueue(message: { type: string; [field: string]: unknown }): void {
    if (this.#state === "open") {
      this.#write(message.type, JSON.stringify(message));
      return;
    }
    if (this.#state === "reconnecting" && this.#joined) {
      if (this.#queue.length >= this.#opts.maxQueued) {
        throw new SignalroomError(
          "queue-full",
          `${this.#opts.maxQueued} messages already wait for the connection to come back`,
        );
      }
      this.#queue.push({ type: message.type, text: JSON.stringify(message) });
      return;
    }
    throw new SignalroomError("not-connected", "not connected: call connect() first");
  }

  /** Writes one counted frame to the current socket and keeps it for a resume. */
  #write(type: string, text: string): void {
    const socket = this.#socket;
    if (!socket) throw new SignalroomError("not-connected", "not connected: call connect() first");
    socket.send(text);
    this.#written++;
    // Pings and acks are kept too (never re-sent): a gap is told by the oldest frame held.
    this.#outbox.push({ frame: this.#written, type, text });
    if (this.#outbox.length > this.#opts.maxResend) this.#outbox.shift();
  }

  #rejectPending(error: SignalroomError): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const request of pending) {
      clearTimeout(request.timer);
      request.reject(error);
    }
  }

  // ---------------------------------------------------------------- receiving

  #onMessage(data: unknown, socket: WebSocketLike): void {
    if (typeof data !== "string") {
      this.emit(
        "protocol-violation",
        new SignalroomError("bad-server-message", "binary frame from server"),
      );
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch (error) {
      this.emit(
        "protocol-violation",
        new SignalroomError("bad-server-message", "server sent invalid JSON", { cause: error }),
      );
      return;
    }
    const parsed = serverMessageSchema.safeParse(value);
    if (!parsed.success) {
      this.emit(
        "protocol-violation",
        new SignalroomError(
          "bad-server-message",
          `unexpected server message: ${parsed.error.message}`,
        ),
      );
      return;
    }
    // The schema passes unknown fields through, so this is the sender's whole payload.
    this.#dispatch(parsed.data as ServerMessage, socket);
  }

  #dispatch(received: ServerMessage, socket: WebSocketLike): void {
    let message = received;
    let pending: Pending | undefined;
    // Our requests' ids come back on the server's own replies only; a
    // relayed payload's `id` is the sending peer's business, never ours.
    if (!RELAYED.has(received.type) && Object.hasOwn(received, "id")) {
      const { id, ...rest } = received as ServerMessage & { id?: unknown };
      message = rest as ServerMessage;
      if (typeof id === "string") pending = this.#pending.get(id);
    }
    if (this.#phase === "resuming" && message.type === "resumed") {
      this.#onResumed(message as ResumedMessage, socket);
      return;
    }
    if (this.#phase === "resuming" && message.type === "error") {
      this.#onResumeRefused(message as ErrorMessage, socket);
      return;
    }
    if (message.type === "resumed") {
      this.emit(
        "protocol-violation",
        new SignalroomError("bad-server-message", "resumed without a resume"),
      );
      return;
    }
    if (message.type !== "joined" && !this.#fresh(message)) return;
    pending?.accept(message);
    if (message.type === "joined") {
      this.#startMembership(message as JoinedMessage, pending);
      if (this.#phase === "rejoining") {
        this.#becomeOpen();
        this.#closeStale();
        if (!this.#announceOpen()) return;
        this.emit("joined", message as JoinedMessage);
        this.emit("rejoined", message as JoinedMessage);
        return;
      }
    }
    // `full` comes after the server left the previous room; `kicked` and `left` end it.
    else if (message.type === "full" || message.type === "left" || message.type === "kicked") {
      this.#endMembership();
    }
    // Every server message type is an event of the same name.
    this.emit(message.type as keyof SignalingEvents, message as never);
  }

  /**
   * Whether a numbered frame is new (and then strips its `seq`, which is
   * the SDK's business): at or below the last processed one it is a
   * duplicate, dropped. Unnumbered frames (outside a room) are always new.
   */
  #fresh(message: ServerMessage): boolean {
    if (!Object.hasOwn(message, "seq")) return true;
    const { seq } = message as { seq?: unknown };
    delete (message as { seq?: unknown }).seq;
    if (typeof seq !== "number") return true;
    if (seq <= this.#lastSeq) return false;
    this.#lastSeq = seq;
    this.#scheduleAck();
    return true;
  }

  #startMembership(joined: JoinedMessage, pending: Pending | undefined): void {
    this.#joined = joined;
    const origin = pending?.join ? pending : this.#lastJoin;
    if (origin?.join) {
      const { frame } = origin;
      this.#joinParams = origin.join;
      this.#base = frame;
      this.#outbox = this.#outbox.filter((sent) => sent.frame > frame);
    }
    this.#lastSeq = joined.seq ?? 0;
    this.#ackedSeq = 0;
    if (joined.seq !== undefined) this.#scheduleAck();
  }

  #endMembership(): void {
    this.#joined = null;
    this.#joinParams = null;
    this.#queue = [];
    this.#lastSeq = 0;
    this.#ackedSeq = 0;
    this.#clearTimer("ack");
  }

  /** Acks what was processed, at most once per `ackIntervalMs`, only when there is news. */
  #scheduleAck(): void {
    if (this.#timers.has("ack") || !this.#resumable()) return;
    this.#setTimer("ack", this.#opts.ackIntervalMs, () => {
      if (this.#state !== "open" || !this.#socket || this.#lastSeq <= this.#ackedSeq) return;
      this.#ackedSeq = this.#lastSeq;
      this.#write("ack", JSON.stringify({ type: "ack", seq: this.#lastSeq }));
    });
  }

  // ---------------------------------------------------------------- state

  #setState(state: ConnectionState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emit("state", { state });
  }

  #becomeOpen(): void {
    this.#state = "open";
    this.#phase = "none";
    this.#lostAt = null;
    this.#attempts = 0;
    this.#clearTimer("phase");
    this.#startKeepAlive();
  }

  /** Tells everyone the connection is open; false if a listener closed it meanwhile. */
  #announceOpen(): boolean {
    this.emit("state", { state: "open" });
    if (this.#state !== "open") return false;
    this.emit("open", undefined);
    for (const waiter of this.#connectWaiters.splice(0)) waiter.resolve();
    return this.#state === "open";
  }

  /** Stops for good: everything is reset, `closed` is emitted. */
  #finish(
    reason: ClosedReason,
    code: number,
    message: string,
    error = new SignalroomError("connection-failed", `connection closed (${message})`),
  ): void {
    const socket = this.#socket;
    this.#socket = null;
    if (socket) {
      detach(socket);
      if (socket.readyState === WS_OPEN || socket.readyState === WS_CONNECTING) {
        socket.close(1000, reason === "client" ? "client closed" : reason);
      }
    }
    this.#closeStale();
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    this.#stopKeepAlive();
    this.#stopOnline?.();
    this.#stopOnline = null;
    this.#rejectPending(error);
    this.#endMembership();
    this.#phase = "none";
    this.#outbox = [];
    this.#written = 0;
    this.#base = 0;
    this.#lastJoin = null;
    this.#lostAt = null;
    this.#attempts = 0;
    this.#probing = false;
    this.#setState("closed");
    this.emit("closed", { reason, code, message });
    for (const waiter of this.#connectWaiters.splice(0)) waiter.reject(error);
  }

  /** Sockets we gave up on while they looked open: the server has moved on from them by now. */
  #closeStale(): void {
    for (const socket of this.#stale.splice(0)) {
      if (socket.readyState === WS_OPEN || socket.readyState === WS_CONNECTING) {
        socket.close(1000, "superseded");
      }
    }
  }

  #setTimer(name: TimerName, ms: number, run: () => void): void {
    this.#clearTimer(name);
    this.#timers.set(
      name,
      setTimeout(() => {
        this.#timers.delete(name);
        run();
      }, ms),
    );
  }

  #clearTimer(name: TimerName): void {
    const timer = this.#timers.get(name);
    if (timer !== undefined) clearTimeout(timer);
    this.#timers.delete(name);
  }

  #startKeepAlive(): void {
    this.#stopKeepAlive();
    if (this.#opts.keepAliveMs <= 0) return;
    this.#keepAlive = setInterval(() => this.#probe(), this.#opts.keepAliveMs);
  }

  #stopKeepAlive(): void {
    if (this.#keepAlive !== null) clearInterval(this.#keepAlive);
    this.#keepAlive = null;
  }

  /** A ping that must come back within `timeoutMs`, or the socket is declared dead. */
  #probe(): void {
    if (this.#state !== "open" || this.#probing) return;
    const socket = this.#socket;
    this.#probing = true;
    this.#ping().then(
      () => {
        this.#probing = false;
      },
      (error: SignalroomError) => {
        this.#probing = false;
        if (error.code === "timeout") this.#declareDead(socket, error);
      },
    );
  }
}

/** Our handlers off a socket we are done with; no-ops, since `ws` throws on an unheard error. */
function detach(socket: WebSocketLike): void {
  socket.onopen = noop;
  socket.onmessage = noop;
  socket.onclose = noop;
  socket.onerror = noop;
}
