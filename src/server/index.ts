export { type Signalroom, type SignalroomOptions, startSignalroom } from "./app.js";
export { type Config, ConfigError, helpText, loadConfig } from "./config.js";
export { MemoryRooms } from "./rooms/memory.js";
export type {
  DeliverLocal,
  DeliverOptions,
  DeliverResult,
  JoinResult,
  PeerInfo,
  RoomStats,
  Rooms,
} from "./rooms/rooms.js";
