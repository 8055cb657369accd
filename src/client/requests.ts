import type {
  CallReportedMessage,
  CallReportMessage,
  ErrorMessage,
  FullMessage,
  JoinedMessage,
  JoinMessage,
  LeftMessage,
  LockedMessage,
  PeerLeftMessage,
  PongMessage,
  ServerMessage,
  UnlockedMessage,
} from "../protocol/index.js";
import { type ClientErrorCode, SignalroomError } from "./errors.js";

/** A `call-report` as the SDK makes it (the `type` is added when sent). */
export type CallReport = DistributiveOmit<CallReportMessage, "type">;
/** `Omit` applied to each member of a union (plain `Omit` would merge them). */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** What a `join()` asked for; a re-join after a refused resume repeats it. */
export interface JoinParams {
  readonly roomId: string;
  readonly name?: string | undefined;
  readonly token?: string | undefined;
}

/** A `join` sent, and the number of the frame that carried it (see `ResumeLog`). */
export interface JoinOrigin {
  readonly frame: number;
  readonly join: JoinParams;
}

/** A request awaiting its answer; `accept` turns the answer into a result or an error. */
export interface PendingRequest {
  readonly type: string;
  /** Number of the frame that carried the request (0 for a room request queued while reconnecting). */
  readonly frame: number;
  readonly join: JoinParams | undefined;
  /**
   * A room request (`kick`, `lock`, `unlock`): it outlives a connection
   * loss, since a resume re-sends it or replays its answer.
   */
  readonly kept: boolean;
  readonly accept: (answer: ServerMessage) => void;
  readonly reject: (error: SignalroomError) => void;
}

/** Timers as `setTimeout` and `clearTimeout` make them. */
export interface RequestTimers {
  set(run: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const REAL_TIMERS: RequestTimers = {
  set: (run, ms) => setTimeout(run, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** How {@link Requests} sends. */
export interface RequestsOptions {
  /** How long a request waits for its answer (while connected). */
  readonly timeoutMs: number;
  /** Writes one counted frame and returns its number; throws when it cannot. */
  readonly write: (type: string, text: string) => number;
  /**
   * Writes a room message now (true), or queues it while reconnecting in a
   * room (false); throws `not-connected` or `queue-full` when it can do neither.
   */
  readonly post: (type: string, text: string) => boolean;
  /** The answer timers; default the real ones (tests inject their own). */
  readonly timers?: RequestTimers | undefined;
}

/**
 * The request/answer pairs of the protocol (`join`, `leave`, `ping`, and
 * the host's `kick`, `lock`, `unlock`) as promises. Requests awaiting their
 * answer are kept by the `id` the server echoes, so an error about an
 * earlier relay can never be taken for the answer to a request.
 *
 * `join`, `leave` and `ping` fail when the connection drops. The room
 * requests do not: like `send()`, they are queued while reconnecting, and a
 * resume either re-sends them (the server had not read them) or replays
 * their answer, so they wait for it; the time they wait counts only while
 * connected. They fail when the membership is not taken back.
 */
export class Requests {
  readonly #timeoutMs: number;
  readonly #write: (type: string, text: string) => number;
  readonly #post: (type: string, text: string) => boolean;
  readonly #pending = new Map<string, PendingRequest>();
  readonly #clock: RequestTimers;
  /** The answer timers of the requests that are waiting while connected. */
  readonly #timers = new Map<string, unknown>();
  #nextId = 1;
  /** The last join sent, for a `joined` that does not echo its request id. */
  #lastJoin: JoinOrigin | null = null;

  constructor(options: RequestsOptions) {
    this.#timeoutMs = options.timeoutMs;
    this.#write = options.write;
    this.#post = options.post;
    this.#clock = options.timers ?? REAL_TIMERS;
  }

  /**
   * Sends `join`; resolves with `joined`, rejects with `room-full` on
   * `full` or with the server's error code.
   */
  join(params: JoinParams): Promise<JoinedMessage> {
    const message: JoinMessage = { type: "join", roomId: params.roomId };
    if (params.name !== undefined) message.name = params.name;
    if (params.token !== undefined) message.token = params.token;
    const interpret = (answer: ServerMessage) => {
      if (answer.type === "joined") return answer as JoinedMessage;
      if (answer.type === "full") {
        return new SignalroomError("room-full", `room ${(answer as FullMessage).roomId} is full`);
      }
      return undefined;
    };
    return this.#send(message, interpret, { join: params });
  }

  /** Sends `leave`; resolves with `left`. */
  leave(): Promise<LeftMessage> {
    return this.#send({ type: "leave" }, (answer) =>
      answer.type === "left" ? (answer as LeftMessage) : undefined,
    );
  }

  /** Sends `ping`; resolves with `pong`. */
  ping(): Promise<PongMessage> {
    return this.#send({ type: "ping" }, (answer) =>
      answer.type === "pong" ? (answer as PongMessage) : undefined,
    );
  }

  /** Sends `lock` (a room request); resolves with the `locked` that answers it. */
  lock(): Promise<LockedMessage> {
    return this.#send(
      { type: "lock" },
      (answer) => (answer.type === "locked" ? (answer as LockedMessage) : undefined),
      { kept: true },
    );
  }

  /** Sends `unlock` (a room request); resolves with the `unlocked` that answers it. */
  unlock(): Promise<UnlockedMessage> {
    return this.#send(
      { type: "unlock" },
      (answer) => (answer.type === "unlocked" ? (answer as UnlockedMessage) : undefined),
      { kept: true },
    );
  }

  /**
   * Sends a `call-report` (a room request, so a resume does not lose it);
   * resolves with the `call-reported` that answers it.
   */
  reportCall(report: CallReport): Promise<CallReportedMessage> {
    return this.#send(
      { ...report, type: "call-report" },
      (answer) => (answer.type === "call-reported" ? (answer as CallReportedMessage) : undefined),
      { kept: true },
    );
  }

  /** Sends `kick` (a room request); resolves with the `peer-left` (reason `kicked`) that answers it. */
  kick(peerId: string): Promise<PeerLeftMessage> {
    return this.#send(
      { type: "kick", peerId },
      (answer) => (answer.type === "peer-left" ? (answer as PeerLeftMessage) : undefined),
      { kept: true },
    );
  }

  /**
   * Sends `message` with a fresh request `id` and settles with the answer
   * that echoes it: `interpret` turns it into the result (or an error), or
   * undefined to keep waiting; an `error` answer rejects with its code.
   * Rejects with `timeout` after `timeoutMs` connected, and with the
   * write's error when it cannot be sent. `join` marks the request as a
   * join; `kept` makes it a room request (see the class).
   */
  #send<T>(
    message: { type: string; [field: string]: unknown },
    interpret: (answer: ServerMessage) => T | SignalroomError | undefined,
    options: { join?: JoinParams; kept?: boolean } = {},
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const id = `c${this.#nextId++}`;
      const settle = (result: T | SignalroomError) => {
        this.#forget(id);
        if (result instanceof SignalroomError) reject(result);
        else resolve(result);
      };
      const accept = (answer: ServerMessage) => {
        if (answer.type === "error") {
          const error = answer as ErrorMessage;
          return settle(new SignalroomError(error.code as ClientErrorCode, error.message));
        }
        const result = interpret(answer);
        if (result !== undefined) settle(result);
      };
      const { join, kept = false } = options;
      const text = JSON.stringify({ ...message, id });
      let frame = 0;
      let written = true;
      try {
        if (kept) written = this.#post(message.type, text);
        else frame = this.#write(message.type, text);
      } catch (error) {
        reject(error as SignalroomError);
        return;
      }
      if (join) this.#lastJoin = { frame, join };
      this.#pending.set(id, { type: message.type, frame, join, kept, accept, reject });
      // A queued room request starts waiting once it is written, after a resume.
      if (written) this.#arm(id);
    });
  }

  /** Starts the answer timer of a waiting request, unless it runs already. */
  #arm(id: string): void {
    if (this.#timers.has(id)) return;
    const timer = this.#clock.set(() => {
      const request = this.#pending.get(id);
      this.#forget(id);
      request?.reject(new SignalroomError("timeout", `no answer within ${this.#timeoutMs} ms`));
    }, this.#timeoutMs);
    this.#timers.set(id, timer);
  }

  /** Stops waiting for `id`: no timer, no pending entry. */
  #forget(id: string): void {
    if (this.#timers.has(id)) this.#clock.clear(this.#timers.get(id));
    this.#timers.delete(id);
    this.#pending.delete(id);
  }

  /** The request a reply's `id` answers, if it still waits. */
  get(id: string): PendingRequest | undefined {
    return this.#pending.get(id);
  }

  /** Whether a request of this type still waits for its answer. */
  has(type: string): boolean {
    return [...this.#pending.values()].some((request) => request.type === type);
  }

  /**
   * The join a `joined` answers: the request it echoes, or else the last
   * join sent; null when no join was sent since {@link forgetJoins}.
   */
  originOf(answered: PendingRequest | undefined): JoinOrigin | null {
    if (answered?.join) return { frame: answered.frame, join: answered.join };
    return this.#lastJoin;
  }

  /** Rejects every waiting request with `error` (the client stopped). */
  rejectAll(error: SignalroomError): void {
    this.#rejectWhere(() => true, error);
  }

  /**
   * The connection dropped: requests that cannot outlive it are rejected
   * with `error`; room requests stop their timers until {@link resumed}.
   */
  dropped(error: SignalroomError): void {
    for (const timer of this.#timers.values()) this.#clock.clear(timer);
    this.#timers.clear();
    this.#rejectWhere((request) => !request.kept, error);
  }

  /** The membership was resumed: room requests wait for their answer again. */
  resumed(): void {
    for (const [id, request] of this.#pending) if (request.kept) this.#arm(id);
  }

  /** The membership was not taken back (a re-join, or none): room requests fail with `error`. */
  rejectKept(error: SignalroomError): void {
    this.#rejectWhere((request) => request.kept, error);
  }

  #rejectWhere(which: (request: PendingRequest) => boolean, error: SignalroomError): void {
    for (const [id, request] of [...this.#pending]) {
      if (!which(request)) continue;
      this.#forget(id);
      request.reject(error);
    }
  }

  /** Forgets the last join sent, as after `close()`. */
  forgetJoins(): void {
    this.#lastJoin = null;
  }
}
