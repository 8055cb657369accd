import type {
  ErrorMessage,
  JoinedMessage,
  ResumedMessage,
  ServerMessage,
} from "../protocol/index.js";
import { SignalroomError } from "./errors.js";
import { NamedTimers } from "./named-timers.js";
import type { JoinParams, PendingRequest, Requests } from "./requests.js";
import { ResumeLog } from "./resume-log.js";
import { SendQueue } from "./send-queue.js";
import { takeRequestId, takeSeq } from "./server-frames.js";
import type {
  ClosedReason,
  ConnectionState,
  SignalingEvents,
  WebSocketLike,
} from "./signaling-types.js";

/** Why a room request (`kick`, `lock`, `unlock`) failed when the membership was not taken back. */
function lost(): SignalroomError {
  return new SignalroomError(
    "connection-failed",
    "the connection was lost and the room membership with it; the request may or may not have been carried out",
  );
}

/** What a {@link Membership} needs of the connection under it (`SignalingClient`). */
export interface MembershipLink {
  /** The current socket; null between sockets. */
  socket(): WebSocketLike | null;
  state(): ConnectionState;
  /**
   * The connection is usable again: state `open`, then `sendFirst` runs,
   * sockets given up on are closed and `open` is announced. False when a
   * listener closed the client meanwhile.
   */
  reopen(sendFirst?: () => void): boolean;
  /** Gives up on `socket` as dead: one more failed attempt, retried after a back-off. */
  abandon(socket: WebSocketLike, error: SignalroomError): void;
  /** Stops for good. */
  finish(reason: ClosedReason, code: number, message: string): void;
  emit<K extends keyof SignalingEvents>(event: K, payload: SignalingEvents[K]): void;
}

/** Options of {@link Membership}, as resolved by `SignalingClient` (see its options). */
export interface MembershipOptions {
  readonly timeoutMs: number;
  readonly ackIntervalMs: number;
  readonly maxQueued: number;
  readonly maxResend: number;
}

/**
 * The room membership, which outlives sockets (docs/protocol.md: "a member
 * is not a socket"): made by `joined`, taken back on a new socket by
 * `resume`, or made again by a re-join when the server refuses the resume.
 * Every server message passes through here, since a membership is what
 * numbers them; every counted frame we send does too, for the same reason.
 */
export class Membership {
  readonly #link: MembershipLink;
  readonly #requests: Requests;
  readonly #opts: MembershipOptions;
  readonly #log: ResumeLog;
  readonly #queue: SendQueue;
  /** phase: the answer to a resume; ack: the next `ack`. */
  readonly #timers = new NamedTimers<"phase" | "ack">();
  #joined: JoinedMessage | null = null;
  /** The `join` that made the current membership: a re-join repeats it. */
  #joinParams: JoinParams | null = null;
  /** What the current socket is doing before it is `open`: taking the membership back. */
  #phase: "none" | "resuming" | "rejoining" = "none";

  constructor(link: MembershipLink, requests: Requests, options: MembershipOptions) {
    this.#link = link;
    this.#requests = requests;
    this.#opts = options;
    this.#log = new ResumeLog(options.maxResend);
    this.#queue = new SendQueue(options.maxQueued);
  }

  /** The current membership (after a resume, updated from `resumed`), or null outside a room. */
  get joined(): JoinedMessage | null {
    return this.#joined;
  }

  /** A new socket opened after a loss: take the membership back on it. */
  reconnected(socket: WebSocketLike): void {
    if (this.#joined && this.#resumable()) this.#resume(socket);
    else if (this.#joined) this.#rejoin(socket);
    else {
      // Outside a room there is nothing to take back, nor any answer to a room request.
      this.#requests.rejectKept(lost());
      this.#reopen();
    }
  }

  /** The socket went: nothing more is awaited or acknowledged on it. */
  suspend(): void {
    this.#timers.clear("phase");
    this.#timers.clear("ack");
    this.#phase = "none";
  }

  /** Out of the room: `left`, `full`, `kicked`, or a `leave` that may have gone through. */
  end(): void {
    this.#joined = null;
    this.#joinParams = null;
    this.#queue.clear();
    this.#log.endMembership();
    this.#timers.clear("ack");
  }

  /** Forgets everything, as after `close()`. */
  reset(): void {
    this.#timers.clearAll();
    this.end();
    this.#phase = "none";
    this.#log.reset();
  }

  /** Writes one counted frame to the current socket, kept for a resume; returns its number. */
  write(type: string, text: string): number {
    const socket = this.#link.socket();
    if (!socket) throw new SignalroomError("not-connected", "not connected: call connect() first");
    socket.send(text);
    return this.#log.record(type, text);
  }

  /** Writes a message now, or queues it while reconnecting in a room; else `not-connected`. */
  send(message: { type: string; [field: string]: unknown }): void {
    this.post(message.type, JSON.stringify(message));
  }

  /**
   * Writes a frame now (true), or queues it while reconnecting in a room
   * (false: it goes out after a resume, or is dropped by a re-join); else
   * throws `not-connected` (or `queue-full`).
   */
  post(type: string, text: string): boolean {
    const state = this.#link.state();
    if (state === "open") {
      this.write(type, text);
      return true;
    }
    if (state === "reconnecting" && this.#joined) {
      this.#queue.push(type, text);
      return false;
    }
    throw new SignalroomError("not-connected", "not connected: call connect() first");
  }

  /** Handles one message from the server that came on `socket`, the current one. */
  receive(received: ServerMessage, socket: WebSocketLike): void {
    const { message, id } = takeRequestId(received);
    const pending = id === undefined ? undefined : this.#requests.get(id);
    if (this.#phase === "resuming" && message.type === "resumed") {
      this.#onResumed(message as ResumedMessage, socket);
      return;
    }
    if (this.#phase === "resuming" && message.type === "error") {
      this.#onResumeRefused(message as ErrorMessage, socket);
      return;
    }
    if (message.type === "resumed") {
      this.#link.emit(
        "protocol-violation",
        new SignalroomError("bad-server-message", "resumed without a resume"),
      );
      return;
    }
    // `joined` keeps its `seq`: it starts the numbering rather than continuing it.
    if (message.type !== "joined" && !this.#fresh(message)) return;
    pending?.accept(message);
    // A refused report is the SDK's own business (a peer that left as it
    // was sent, an older server): the application hears nothing of it.
    if (message.type === "error" && pending?.type === "call-report") return;
    if (message.type === "joined") {
      this.#start(message as JoinedMessage, pending);
      if (this.#phase === "rejoining") {
        if (!this.#reopen()) return;
        this.#link.emit("joined", message as JoinedMessage);
        this.#link.emit("rejoined", message as JoinedMessage);
        return;
      }
    }
    // `full` comes after the server left the previous room; `kicked` and `left` end it.
    else if (message.type === "full" || message.type === "left" || message.type === "kicked") {
      this.end();
    }
    // Every server message type is an event of the same name.
    this.#link.emit(message.type as keyof SignalingEvents, message as never);
  }

  #resumable(): boolean {
    const joined = this.#joined;
    return !!joined?.resumeToken && (joined.resumeGraceMs ?? 0) > 0;
  }

  #reopen(sendFirst?: () => void): boolean {
    this.#phase = "none";
    this.#timers.clear("phase");
    return this.#link.reopen(sendFirst);
  }

  #resume(socket: WebSocketLike): void {
    const { peerId, resumeToken } = this.#joined as JoinedMessage;
    this.#phase = "resuming";
    const lastSeq = this.#log.resumeFrom();
    // Not counted by the server, so not numbered here.
    socket.send(JSON.stringify({ type: "resume", peerId, resumeToken, lastSeq }));
    const { timeoutMs } = this.#opts;
    this.#timers.set("phase", timeoutMs, () =>
      this.#link.abandon(
        socket,
        new SignalroomError("timeout", `no answer to resume within ${timeoutMs} ms`),
      ),
    );
  }

  #onResumeRefused(error: ErrorMessage, socket: WebSocketLike): void {
    this.#timers.clear("phase");
    if (error.code === "rate-limited") {
      // Our place may still be there: try again later rather than give it up.
      this.#link.abandon(socket, new SignalroomError("rate-limited", error.message));
      return;
    }
    this.#rejoin(socket);
  }

  #onResumed(resumed: ResumedMessage, socket: WebSocketLike): void {
    this.#timers.clear("phase");
    const joined = this.#joined as JoinedMessage;
    const resend = this.#log.resumed(resumed.received);
    if (!resend) {
      // We no longer hold frames the server missed: only a fresh join is honest.
      this.#rejoin(socket);
      return;
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
    const reopened = this.#reopen(() => {
      for (const sent of resend) this.write(sent.type, sent.text);
      for (const queued of this.#queue.take()) this.write(queued.type, queued.text);
      // Room requests were re-sent just now, or their answers follow in the replay.
      this.#requests.resumed();
    });
    if (reopened) this.#link.emit("resumed", resumed);
  }

  /** Joins the room of the lost membership again, on `socket`. */
  #rejoin(socket: WebSocketLike): void {
    const params = this.#joinParams;
    // Queued messages were for peers of the old membership, and room
    // requests too: what the server did with them is not known.
    this.#queue.clear();
    this.#requests.rejectKept(lost());
    if (!params) {
      this.end();
      this.#reopen();
      return;
    }
    this.#phase = "rejoining";
    this.#requests.join(params).catch((error: SignalroomError) => {
      if (socket !== this.#link.socket()) return; // The socket went; reconnecting goes on.
      if (error.code === "timeout" || error.code === "rate-limited") {
        this.#link.abandon(socket, error);
        return;
      }
      this.#link.finish(
        "rejoin-failed",
        1000,
        `cannot join room ${params.roomId} again: ${error.message} (${error.code})`,
      );
    });
  }

  /** Whether a message is new rather than a duplicate by `seq`; strips its `seq`. */
  #fresh(message: ServerMessage): boolean {
    const seq = takeSeq(message);
    if (seq === undefined) return true;
    if (!this.#log.accept(seq)) return false;
    this.#scheduleAck();
    return true;
  }

  #start(joined: JoinedMessage, pending: PendingRequest | undefined): void {
    this.#joined = joined;
    const origin = this.#requests.originOf(pending);
    if (origin) this.#joinParams = origin.join;
    this.#log.startMembership(origin?.frame, joined.seq);
    if (joined.seq !== undefined) this.#scheduleAck();
  }

  /** Acks what was processed, at most once per `ackIntervalMs`, only when there is news. */
  #scheduleAck(): void {
    if (this.#timers.has("ack") || !this.#resumable()) return;
    this.#timers.set("ack", this.#opts.ackIntervalMs, () => {
      if (this.#link.state() !== "open" || !this.#link.socket()) return;
      const seq = this.#log.takeAck();
      if (seq !== null) this.write("ack", JSON.stringify({ type: "ack", seq }));
    });
  }
}
