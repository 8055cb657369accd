import type {
  ErrorMessage,
  FullMessage,
  JoinedMessage,
  JoinMessage,
  LeftMessage,
  PongMessage,
  ServerMessage,
} from "../protocol/index.js";
import { type ClientErrorCode, SignalroomError } from "./errors.js";

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
  /** Number of the frame that carried the request. */
  readonly frame: number;
  readonly join: JoinParams | undefined;
  readonly accept: (answer: ServerMessage) => void;
  readonly reject: (error: SignalroomError) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

/**
 * The request/answer pairs of the protocol (`join`, `leave`, `ping`) as
 * promises. Requests awaiting their answer are kept by the `id` the server
 * echoes, so an error about an earlier relay can never be taken for the
 * answer to a request.
 */
export class Requests {
  readonly #timeoutMs: number;
  readonly #write: (type: string, text: string) => number;
  readonly #pending = new Map<string, PendingRequest>();
  #nextId = 1;
  /** The last join sent, for a `joined` that does not echo its request id. */
  #lastJoin: JoinOrigin | null = null;

  /**
   * @param options.timeoutMs how long a request waits for its answer.
   * @param options.write writes one counted frame and returns its number; throws when it cannot.
   */
  constructor(options: { timeoutMs: number; write: (type: string, text: string) => number }) {
    this.#timeoutMs = options.timeoutMs;
    this.#write = options.write;
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
    return this.#send(message, interpret, params);
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

  /**
   * Sends `message` with a fresh request `id` and settles with the answer
   * that echoes it: `interpret` turns it into the result (or an error), or
   * undefined to keep waiting; an `error` answer rejects with its code.
   * Rejects with `timeout` after `timeoutMs`, and with the write's error
   * when it cannot be sent. `join` marks the request as a join.
   */
  #send<T>(
    message: { type: string },
    interpret: (answer: ServerMessage) => T | SignalroomError | undefined,
    join?: JoinParams,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const id = `c${this.#nextId++}`;
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new SignalroomError("timeout", `no answer within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
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
      let frame: number;
      try {
        frame = this.#write(message.type, JSON.stringify({ ...message, id }));
      } catch (error) {
        clearTimeout(timer);
        reject(error as SignalroomError);
        return;
      }
      if (join) this.#lastJoin = { frame, join };
      this.#pending.set(id, { type: message.type, frame, join, accept, reject, timer });
    });
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

  /** Rejects every waiting request with `error` (the connection went). */
  rejectAll(error: SignalroomError): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const request of pending) {
      clearTimeout(request.timer);
      request.reject(error);
    }
  }

  /** Forgets the last join sent, as after `close()`. */
  forgetJoins(): void {
    this.#lastJoin = null;
  }
}
