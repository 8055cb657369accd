export { type Signalroom, type SignalroomOptions, startSignalroom } from "./app.js";
export {
  createTokenVerifier,
  type Identity,
  type TokenVerifier,
  tokenAdmits,
} from "./auth/join-tokens.js";
export { type MintOptions, mintJoinToken, type SigningKey } from "./auth/mint-token.js";
export { iceServersFor, mintTurnCredential, type TurnCredential } from "./auth/turn-credentials.js";
export { authEnabled, type Config, ConfigError, helpText, loadConfig, OPTIONS } from "./config.js";
export { MemoryRooms, type RoomSnapshot } from "./rooms/memory.js";
export type {
  DeliverResult,
  DropOutcome,
  JoinOutcome,
  JoinRequest,
  KickFrames,
  KickOutcome,
  LocalDelivery,
  LockFrames,
  LockOutcome,
  Numbered,
  PeerInfo,
  ResumeOutcome,
  ResumeRefusal,
  ResumeRequest,
  RoomStats,
  Rooms,
  RoomsOptions,
  Seat,
} from "./rooms/rooms.js";
export { StoreUnavailableError } from "./rooms/rooms.js";
