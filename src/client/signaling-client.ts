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
  type ServerMessage,
  serverMessageSchema,
  type UnlockedMessage,
} from "../protocol/index.js";
import { Emitter } from "./emitter.js";
import { type ClientErrorCode, SignalroomError } from "./errors.js";

/** The part of the WebSocket API the client uses; the browser's and `ws`'s both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onclose: ((event: { code: number; reason: string; wasClean: boolean }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface SignalingClientOptions {
  /** `ws://` or `wss://` URL of the server (path `/` or `/ws`). */
  url: string;
  /** WebSocket implementation; defaults to the global one (browsers, Node 22+). */
  WebSocket?: WebSocketConstructor;
  /** How long `connect`, `join`, `leave` and `ping` wait for an answer, in ms. Default 10000. */
  timeoutMs?: number;
  /**
   * Interval of application-level pings that keep idle connections open
   * through proxies and NATs, in ms; 0 disables. Default 25000.
   */
  keepAliveMs?: number;
}

export type ConnectionState = "idle" | "connecting" | "open" | "closed";

/** Why the connection closed. */
export interface CloseEvent {
  code: number;
  reason: string;
  wasClean: boolean;
}

/** Events of {@link SignalingClient}: one per server message type, plus the connection's. */
export interface SignalingEvents {
  open: undefined;
  close: CloseEvent;
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

/** A request awaiting its answer; `accept` turns the answer into a result or an error. */
interface Pending {
  readonly accept: (answer: ServerMessage) => void;
  readonly reject: (error: SignalroomError) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

/**
 * Speaks the Signalroom protocol over one WebSocket: typed events for
 * every server message, promises for the request/answer pairs.
 *
 * ```ts
 * const client = new SignalingClient({ url: "wss://example.org/ws" });
 * await client.connect();
 * const joined = await client.join("standup", { name: "Ada" });
 * client.on("offer", (msg) => ...);
 * ```
 */
export class SignalingClient extends Emitter<SignalingEvents> {
  readonly #opts: Required<Omit<SignalingClientOptions, "WebSocket">> & {
    WebSocket: WebSocketConstructor | undefined;
  };
  #socket: WebSocketLike | null = null;
  #state: ConnectionState = "idle";
  #joined: JoinedMessage | null = null;
  /** Requests awaiting their answer, by the `id` the server echoes. */
  readonly #pending = new Map<string, Pending>();
  #nextId = 1;
  #keepAlive: ReturnType<typeof setInterval> | null = null;

  constructor(options: SignalingClientOptions) {
    super();
    this.#opts = {
      url: options.url,
      WebSocket: options.WebSocket,
      timeoutMs: options.timeoutMs ?? 10_000,
      keepAliveMs: options.keepAliveMs ?? 25_000,
    };
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** Your peer id in the current room, or null outside a room. */
  get peerId(): string | null {
    return this.#joined?.peerId ?? null;
  }

  /** The room you are in, or null. */
  get roomId(): string | null {
    return this.#joined?.roomId ?? null;
  }

  /** Opens the WebSocket; resolves when it is open. */
  connect(): Promise<void> {
    if (this.#state === "open") return Promise.resolve();
    if (this.#state === "connecting") {
      return new Promise((resolve, reject) => {
        const offOpen = this.once("open", () => {
          offClose();
          resolve();
        });
        const offClose = this.once("close", (e) => {
          offOpen();
          reject(connectionFailed(e));
        });
      });
    }
    const Ctor =
      this.#opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Ctor) {
      return Promise.reject(
        new SignalroomError(
          "connection-failed",
          "no WebSocket implementation: pass options.WebSocket",
        ),
      );
    }
    this.#state = "connecting";
    return new Promise<void>((resolve, reject) => {
      let socket: WebSocketLike;
      try {
        socket = new Ctor(this.#opts.url);
      } catch (error) {
        this.#state = "closed";
        reject(
          new SignalroomError("connection-failed", `cannot open ${this.#opts.url}`, {
            cause: error,
          }),
        );
        return;
      }
      this.#socket = socket;
      const timer = setTimeout(() => {
        reject(
          new SignalroomError(
            "timeout",
            `no connection to ${this.#opts.url} within ${this.#opts.timeoutMs} ms`,
          ),
        );
        socket.close();
      }, this.#opts.timeoutMs);
      socket.onopen = () => {
        clearTimeout(timer);
        this.#state = "open";
        this.#startKeepAlive();
        this.emit("open", undefined);
        resolve();
      };
      socket.onerror = () => {
        // A close event always follows; it carries the code.
      };
      socket.onclose = (event) => {
        clearTimeout(timer);
        const wasOpen = this.#state === "open";
        this.#onClose({ code: event.code, reason: event.reason, wasClean: event.wasClean });
        if (!wasOpen) reject(connectionFailed(event));
      };
      socket.onmessage = (event) => this.#onMessage(event.data);
    });
  }

  /**
   * Joins a room (leaving the current one, as the server does). Resolves
   * with `joined`; rejects with code `room-full` when the room is full, or
   * with the server's error code (`room-id-required`, `unauthorized`, ...).
   */
  join(roomId: string, opts: { name?: string; token?: string } = {}): Promise<JoinedMessage> {
    const message: JoinMessage = { type: "join", roomId };
    if (opts.name !== undefined) message.name = opts.name;
    if (opts.token !== undefined) message.token = opts.token;
    return this.#request(message, (answer) => {
      if (answer.type === "joined") return answer as JoinedMessage;
      if (answer.type === "full") {
        return new SignalroomError("room-full", `room ${(answer as FullMessage).roomId} is full`);
      }
      return undefined;
    });
  }

  /** Leaves the current room; resolves with `left`. */
  leave(): Promise<LeftMessage> {
    return this.#request({ type: "leave" }, (answer) =>
      answer.type === "left" ? (answer as LeftMessage) : undefined,
    );
  }

  /** Round trip to the server; resolves with the time it took in ms. */
  async ping(): Promise<number> {
    const started = Date.now();
    await this.#request({ type: "ping" }, (answer) =>
      answer.type === "pong" ? (answer as PongMessage) : undefined,
    );
    return Date.now() - started;
  }

  /** Host only: removes a member. Refusals arrive as `error` events. */
  kick(peerId: string): void {
    this.#sendRaw({ type: "kick", peerId });
  }

  /** Host only: locks the room (`lock(false)` unlocks). Everyone gets `locked`/`unlocked`. */
  lock(locked = true): void {
    this.#sendRaw({ type: locked ? "lock" : "unlock" });
  }

  /** Relays a message to the other members (or to `message.to` only). */
  send(message: OutgoingRelay): void {
    this.#sendRaw(message);
  }

  /** Closes the connection (code 1000). Pending requests are rejected. */
  close(): void {
    const socket = this.#socket;
    if (!socket) return;
    socket.close(1000, "client closed");
  }

  /**
   * Sends `message` with a fresh request `id` and settles with the answer
   * that echoes it: `interpret` turns it into the result (or an error);
   * an `error` answer rejects with its code. Answers are matched by id, so
   * an error about an earlier relay can never be taken for this answer.
   */
  #request<T>(
    message: object,
    interpret: (answer: ServerMessage) => T | SignalroomError | undefined,
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
        this.#sendRaw({ ...message, id });
      } catch (error) {
        clearTimeout(timer);
        reject(error as SignalroomError);
        return;
      }
      this.#pending.set(id, { accept, reject, timer });
    });
  }

  #sendRaw(message: object): void {
    const socket = this.#socket;
    if (!socket || this.#state !== "open") {
      throw new SignalroomError("not-connected", "not connected: call connect() first");
    }
    socket.send(JSON.stringify(message));
  }

  #onMessage(data: unknown): void {
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
    this.#dispatch(parsed.data as ServerMessage);
  }

  #dispatch(received: ServerMessage): void {
    let message = received;
    // Our requests' ids come back on the server's own replies only; a
    // relayed payload's `id` is the sending peer's business, never ours.
    if (!RELAYED.has(received.type) && Object.hasOwn(received, "id")) {
      const { id, ...rest } = received as ServerMessage & { id?: unknown };
      message = rest as ServerMessage;
      if (typeof id === "string") this.#pending.get(id)?.accept(message);
    }
    if (message.type === "joined") this.#joined = message as JoinedMessage;
    // `full` comes after the server left the previous room; `kicked` and `left` end it.
    else if (message.type === "full" || message.type === "left" || message.type === "kicked") {
      this.#joined = null;
    }
    // Every server message type is an event of the same name.
    this.emit(message.type as keyof SignalingEvents, message as never);
  }

  #onClose(event: CloseEvent): void {
    this.#state = "closed";
    this.#socket = null;
    this.#joined = null;
    if (this.#keepAlive) clearInterval(this.#keepAlive);
    this.#keepAlive = null;
    const error = new SignalroomError("connection-failed", `connection closed (${event.code})`);
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const request of pending) {
      clearTimeout(request.timer);
      request.reject(error);
    }
    this.emit("close", event);
  }

  #startKeepAlive(): void {
    if (this.#opts.keepAliveMs <= 0) return;
    this.#keepAlive = setInterval(() => {
      // Through ping() so that every pong is matched to its own request.
      if (this.#state === "open") this.ping().catch(() => undefined);
    }, this.#opts.keepAliveMs);
  }
}

const RELAYED: ReadonlySet<string> = new Set(RELAY_TYPES);

function connectionFailed(event: { code: number; reason: string }): SignalroomError {
  return new SignalroomError(
    "connection-failed",
    `cannot connect to the signaling server (close ${event.code}${event.reason ? `: ${event.reason}` : ""})`,
  );
}
