// First: zod's JIT must be off before src/protocol builds its schemas (see zod-jitless.ts).
import "./zod-jitless.js";
import {
  type CallReportedMessage,
  type JoinedMessage,
  type LeftMessage,
  type LockedMessage,
  type PeerLeftMessage,
  shouldReconnect,
  type UnlockedMessage,
} from "../protocol/index.js";
import { Emitter } from "./emitter.js";
import { SignalroomError } from "./errors.js";
import { Membership, type MembershipLink } from "./membership.js";
import { NamedTimers } from "./named-timers.js";
import { onOnline } from "./online.js";
import { Outage } from "./outage.js";
import type { CloseEvent } from "./reconnect-policy.js";
import { type CallReport, Requests } from "./requests.js";
import { parseServerFrame } from "./server-frames.js";
import {
  type ResolvedOptions,
  type SignalingClientOptions,
  withDefaults,
} from "./signaling-options.js";
import type {
  ClosedReason,
  ConnectionState,
  OutgoingRelay,
  SignalingEvents,
  WebSocketConstructor,
  WebSocketLike,
} from "./signaling-types.js";
import { ABNORMAL_CLOSURE, closeIfLive, cutOff, detach } from "./socket-ops.js";

// These types were declared here before the split; importers of this module keep finding them.
export type { CloseEvent } from "./reconnect-policy.js";
export type { SignalingClientOptions } from "./signaling-options.js";
export type * from "./signaling-types.js";

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
  // The connection's state machine lives here: sockets, states, retries, keep-alive. What
  // outlives a socket (the membership, its numbering, taking it back) is Membership's.
  readonly #opts: ResolvedOptions;
  #socket: WebSocketLike | null = null;
  /** Sockets given up for dead that could not be cut (browsers): closed once we are back. */
  #stale: WebSocketLike[] = [];
  #state: ConnectionState = "idle";
  readonly #requests: Requests;
  readonly #membership: Membership;
  #connectWaiters: { resolve: () => void; reject: (error: SignalroomError) => void }[] = [];
  readonly #outage: Outage;
  #probing = false;
  /** retry: the back-off wait; connect: opening a socket. */
  readonly #timers = new NamedTimers<"retry" | "connect">();
  #keepAlive: ReturnType<typeof setInterval> | null = null;
  #stopOnline: (() => void) | null = null;

  constructor(options: SignalingClientOptions) {
    super();
    this.#opts = withDefaults(options);
    this.#requests = new Requests({
      timeoutMs: this.#opts.timeoutMs,
      write: (type, text) => this.#membership.write(type, text),
      post: (type, text) => this.#membership.post(type, text),
    });
    const link: MembershipLink = {
      socket: () => this.#socket,
      state: () => this.#state,
      reopen: (sendFirst) => {
        this.#becomeOpen();
        sendFirst?.();
        this.#closeStale();
        return this.#announceOpen();
      },
      abandon: (socket, error) => this.#declareDead(socket, error),
      finish: (reason, code, message) => this.#finish(reason, code, message),
      emit: (event, payload) => this.emit(event, payload),
    };
    this.#membership = new Membership(link, this.#requests, this.#opts);
    this.#outage = new Outage(this.#opts.reconnect);
  }

  /** See {@link ConnectionState}. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** Your peer id in the current room, or null outside a room. Kept while reconnecting. */
  get peerId(): string | null {
    return this.#membership.joined?.peerId ?? null;
  }

  /** The room you are in, or null. Kept while reconnecting. */
  get roomId(): string | null {
    return this.#membership.joined?.roomId ?? null;
  }

  /**
   * Opens the connection; resolves when it is open. While connecting or
   * reconnecting it waits for that attempt; once `closed` it starts over.
   * A first connection that fails rejects (`connection-failed`, or
   * `timeout`) and is not retried: the state goes to `closed` (`gave-up`).
   */
  connect(): Promise<void> {
    if (this.#state === "open") return Promise.resolve();
    const fresh = this.#state === "idle" || this.#state === "closed";
    if (fresh && !this.#webSocketClass()) {
      return Promise.reject(
        new SignalroomError(
          "connection-failed",
          "no WebSocket implementation: pass options.WebSocket",
        ),
      );
    }
    const waiting = new Promise<void>((resolve, reject) => {
      this.#connectWaiters.push({ resolve, reject });
    });
    if (fresh) {
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
    return this.#whenOpen(() =>
      this.#requests.join({ roomId, name: opts.name, token: opts.token }),
    );
  }

  /** Leaves the current room; resolves with `left`. */
  leave(): Promise<LeftMessage> {
    return this.#whenOpen(() => this.#requests.leave());
  }

  /** Round trip to the server; resolves with the time it took in ms. */
  ping(): Promise<number> {
    const started = Date.now();
    return this.#whenOpen(() => this.#requests.ping()).then(() => Date.now() - started);
  }

  /**
   * Tells the server how a peer connection came to be (or did not): see
   * `call-report` in docs/protocol.md. The calls send one per remote peer
   * by themselves (their `reportCalls` option); use this for connections
   * of your own. Resolves with `call-reported`; rejects with the server's
   * code (`unknown-peer`, `bad-message` for a second report about the same
   * peer or a bad field, `unknown-type` from a server older than it);
   * queued while reconnecting, like {@link kick}. A refusal is not an
   * `error` event.
   */
  reportCall(report: CallReport): Promise<CallReportedMessage> {
    return this.#requests.reportCall(report);
  }

  /**
   * Host only: removes `peerId` from the room (the server closes its
   * connection with 4501). Resolves with the `peer-left` (reason `kicked`)
   * that answers it; the others get theirs, and so do this client's
   * `peer-left` listeners. Rejects with the server's code: `forbidden` (not
   * a host), `unknown-peer` (nobody of that id in the room), `bad-message`
   * (yourself), `not-in-room`; with `not-connected` or `queue-full` when it
   * cannot be sent; with `timeout` when no answer comes within `timeoutMs`
   * of being sent. While reconnecting in a room it is queued; it waits
   * through the outage and settles after a resume, or rejects with
   * `connection-failed` when the client has to join again.
   */
  kick(peerId: string): Promise<PeerLeftMessage> {
    return this.#requests.kick(peerId);
  }

  /**
   * Host only: locks the room, so that nobody but its hosts can join.
   * Resolves with the `locked` that answers it (every member gets one).
   * Refusals and failures as for {@link kick}. `lock(false)` is
   * {@link unlock}.
   */
  lock(locked?: true): Promise<LockedMessage>;
  lock(locked: false): Promise<UnlockedMessage>;
  lock(locked: boolean): Promise<LockedMessage | UnlockedMessage>;
  lock(locked = true): Promise<LockedMessage | UnlockedMessage> {
    return locked ? this.#requests.lock() : this.#requests.unlock();
  }

  /** Host only: unlocks the room. Resolves with the `unlocked` that answers it; see {@link lock}. */
  unlock(): Promise<UnlockedMessage> {
    return this.#requests.unlock();
  }

  /**
   * Relays a message to the other members (or to `message.to` only).
   * While reconnecting in a room it is queued and sent, in order, once the
   * membership is resumed (dropped if the client has to re-join instead);
   * throws `queue-full` past `maxQueued`, and `not-connected` when there
   * is no connection to wait for.
   */
  send(message: OutgoingRelay): void {
    this.#membership.send(message);
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
    const { url, timeoutMs } = this.#opts;
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
    this.#timers.set("connect", timeoutMs, () =>
      this.#declareDead(
        socket,
        new SignalroomError("timeout", `no connection to ${url} within ${timeoutMs} ms`),
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
    this.#timers.clear("connect");
    if (this.#state === "connecting") {
      this.#becomeOpen();
      this.#announceOpen();
    } else {
      this.#membership.reconnected(socket);
    }
  }

  /** Gives up on a socket that still looks open (a keep-alive ping or an answer timed out). */
  #declareDead(socket: WebSocketLike | null, error: SignalroomError): void {
    if (socket === null || socket !== this.#socket) return;
    if (!cutOff(socket)) this.#stale.push(socket);
    this.#lost(null, error);
  }

  /** The current socket is gone (closed, or given up on): reconnect or stop. */
  #lost(closeEvent: CloseEvent | null, error: SignalroomError): void {
    this.#socket = null;
    this.#timers.clear("connect");
    this.#membership.suspend();
    this.#stopKeepAlive();
    // A leave that may have gone through: do not take the room back.
    const leaving = this.#requests.has("leave");
    // Room requests (kick, lock) wait: a resume re-sends them or replays their answer.
    this.#requests.dropped(error);
    const code = closeEvent?.code ?? ABNORMAL_CLOSURE;
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
    if (leaving) this.#membership.end();
    this.#outage.begin();
    const delayMs = this.#outage.nextDelay(closeEvent);
    if (delayMs === null) {
      const attempts = this.#outage.attempts;
      this.#finish("gave-up", code, `gave up reconnecting after ${attempts} attempts`);
      return;
    }
    this.#timers.set("retry", delayMs, () => this.#retryNow());
    this.#setState("reconnecting");
    if (this.#state !== "reconnecting") return;
    this.emit("reconnecting", { attempt: this.#outage.attempts + 1, delayMs, closeEvent });
  }

  #retryNow(): void {
    this.#timers.clear("retry");
    if (this.#state !== "reconnecting" || this.#socket) return;
    this.#outage.attempt();
    this.#openSocket();
  }

  /** The browser says the network is back: retry now instead of after the back-off. */
  #listenOnline(): void {
    this.#stopOnline ??= onOnline(() => {
      if (this.#state === "reconnecting" && this.#timers.has("retry")) this.#retryNow();
      // The network changed under an open socket: find out now whether it survived.
      else if (this.#state === "open") this.#probe();
    });
  }

  // ---------------------------------------------------------------- requests and receiving

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

  #onMessage(data: unknown, socket: WebSocketLike): void {
    const parsed = parseServerFrame(data);
    if (parsed instanceof SignalroomError) this.emit("protocol-violation", parsed);
    else this.#membership.receive(parsed, socket);
  }

  // ---------------------------------------------------------------- state

  #setState(state: ConnectionState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emit("state", { state });
  }

  #becomeOpen(): void {
    this.#state = "open";
    this.#outage.end();
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
      closeIfLive(socket, 1000, reason === "client" ? "client closed" : reason);
    }
    this.#closeStale();
    this.#timers.clearAll();
    this.#stopKeepAlive();
    this.#stopOnline?.();
    this.#stopOnline = null;
    this.#requests.rejectAll(error);
    this.#membership.reset();
    this.#requests.forgetJoins();
    this.#outage.end();
    this.#probing = false;
    this.#setState("closed");
    this.emit("closed", { reason, code, message });
    for (const waiter of this.#connectWaiters.splice(0)) waiter.reject(error);
  }

  /** Sockets we gave up on while they looked open: the server has moved on from them by now. */
  #closeStale(): void {
    for (const socket of this.#stale.splice(0)) closeIfLive(socket, 1000, "superseded");
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
    this.#requests.ping().then(
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
