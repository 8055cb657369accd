// First: zod's JIT must be off before src/protocol builds its schemas (see zod-jitless.ts).
import "./zod-jitless.js";

export type {
  CallFailureReason,
  CallReportedMessage,
  CandidateProtocol,
  CandidateType,
  ErrorCode,
  IceServer,
  JoinedMessage,
  LockedMessage,
  Member,
  PeerLeftMessage,
  PeerLeftReason,
  RelayedMessage,
  RelayProtocol,
  ResumedMessage,
  ServerMessage,
  UnlockedMessage,
} from "../protocol/index.js";
export { CLOSE_CODES, ERROR_CODES, shouldReconnect } from "../protocol/index.js";
export { Emitter, type Listener } from "./emitter.js";
export { type ClientErrorCode, SignalroomError } from "./errors.js";
export {
  MeshCall,
  type MeshCallEvents,
  type MeshCallOptions,
  type MeshPeer,
  type PeerRemovedReason,
} from "./mesh-call.js";
export { type NegotiationSignal, Negotiator, type NegotiatorOptions } from "./negotiator.js";
export {
  type CallState,
  OneToOneCall,
  type OneToOneCallEvents,
  type OneToOneCallOptions,
} from "./one-to-one-call.js";
export {
  MEDIA_KINDS,
  type MediaKind,
  PeerLink,
  type PeerLinkEvents,
  type PeerLinkOptions,
  type RTCPeerConnectionConstructor,
} from "./peer-link.js";
export {
  type BackoffOptions,
  BackoffPolicy,
  type CloseEvent,
  type ReconnectContext,
  type ReconnectPolicy,
} from "./reconnect-policy.js";
export type { CallReport } from "./requests.js";
export { DEFAULT_SETUP_TIMEOUT_MS, type SetupOutcome } from "./setup-watch.js";
export { SignalingClient } from "./signaling-client.js";
export type { SignalingClientOptions } from "./signaling-options.js";
export type {
  ClosedEvent,
  ClosedReason,
  ConnectionState,
  OutgoingRelay,
  ReconnectingEvent,
  SignalingEvents,
  WebSocketConstructor,
  WebSocketLike,
} from "./signaling-types.js";
export { relayFromSignal, signalFromRelay } from "./wire.js";
