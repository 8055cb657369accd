import type { Logger } from "pino";
import type { IceServer } from "../../protocol/index.js";
import type { Rooms } from "../rooms/rooms.js";

/** What every session and handler needs; built once by the app. */
export interface SignalingContext {
  readonly rooms: Rooms;
  readonly logger: Logger;
  /** Room capacity for new rooms. */
  readonly maxPeers: number;
  /** ICE servers to hand a peer that joins. */
  readonly iceServers: (peerId: string) => IceServer[];
}
