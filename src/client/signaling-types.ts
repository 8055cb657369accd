import type {
  AnswerMessage,
  AppMessage,
  CallReportedMessage,
  ErrorMessage,
  FullMessage,
  IceMessage,
  JoinedMessage,
  KickedMessage,
  LeftMessage,
  LockedMessage,
  OfferMessage,
  PeerJoinedMessage,
  PeerLeftMessage,
  PongMessage,
  ReadyMessage,
  RelayedMessage,
  ResumedMessage,
  UnlockedMessage,
} from "../protocol/index.js";
import type { SignalroomError } from "./errors.js";
import type { CloseEvent } from "./reconnect-policy.js";

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

/** A WebSocket class, called with the server URL only. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

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

/** Payload of the final `closed` event. */
export interface ClosedEvent {
  readonly reason: ClosedReason;
  /** The last socket's close code (1006 when none came; 1000 for `client` and `rejoin-failed`). */
  readonly code: number;
  /** For people: what ended the connection. */
  readonly message: string;
}

/** Payload of the `reconnecting` event, emitted before each wait. */
export interface ReconnectingEvent {
  /** 1 for the first attempt after a loss. */
  readonly attempt: number;
  /** How long the client waits before this attempt. */
  readonly delayMs: number;
  /** How the last socket closed; null when the client gave up on it (a timeout). */
  readonly closeEvent: CloseEvent | null;
}

/** Events of `SignalingClient`: one per server message type, plus the connection's. */
export interface SignalingEvents {
  /** On every change of `SignalingClient.state`. */
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
  /** The server took a `call-report` of ours (see `MeshCall`'s `reportCalls`). */
  "call-reported": CallReportedMessage;
  /** Something arrived that is not a protocol message; it is dropped. */
  "protocol-violation": SignalroomError;
}

/** Messages a client may relay to its peers. */
export type OutgoingRelay = OfferMessage | AnswerMessage | IceMessage | AppMessage;
