export type {
  ErrorCode,
  IceServer,
  JoinedMessage,
  Member,
  RelayedMessage,
  ResumedMessage,
  ServerMessage,
} from "../protocol/index.js";
export { CLOSE_CODES, ERROR_CODES, shouldReconnect } from "../protocol/index.js";
export { Emitter, type Listener } from "./emitter.js";
export { type ClientErrorCode, SignalroomError } from "./errors.js";
export {
  MeshCall,
  type MeshCallEvents,
  type MeshCallOptions,
  type MeshPeer,
} from "./mesh-call.js";
export { type NegotiationSignal, Negotiator, type NegotiatorOptions } from "./negotiator.js";
export {
  type CallState,
  OneToOneCall,
  type OneToOneCallEvents,
  type OneToOneCallOptions,
} from "./one-to-one-call.js";
export {
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
export {
  type ClosedEvent,
  type ClosedReason,
  type ConnectionState,
  type OutgoingRelay,
  type ReconnectingEvent,
  SignalingClient,
  type SignalingClientOptions,
  type SignalingEvents,
  type WebSocketConstructor,
  type WebSocketLike,
} from "./signaling-client.js";
export { relayFromSignal, signalFromRelay } from "./wire.js";
