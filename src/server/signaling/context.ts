import type { Logger } from "pino";
import type { IceServer } from "../../protocol/index.js";
import type { TokenVerifier } from "../auth/join-tokens.js";
import type { AddressLimiter } from "../limits/address-limiter.js";
import type { MessagePolicies } from "../limits/message-limiter.js";
import type { Clock } from "../limits/token-bucket.js";
import type { Metrics } from "../observability/metrics.js";
import type { Rooms } from "../rooms/rooms.js";
import type { LocalSeats } from "./local-seats.js";

/** What every session and handler needs; built once by the app. */
export interface SignalingContext {
  readonly rooms: Rooms;
  /** This process's connections by the member they speak for. */
  readonly seats: LocalSeats;
  /** How long a dropped member keeps its place (told to clients in `joined`). */
  readonly graceMs: number;
  /** Refused resumes per client address. */
  readonly resumeFailures: AddressLimiter;
  readonly logger: Logger;
  /** Capacity of a room created without a `maxPeers` claim. */
  readonly maxPeers: number;
  /** Hard ceiling on any room's capacity. */
  readonly maxRoomCapacity: number;
  /** Join-token verification; null when auth is off. */
  readonly verifier: TokenVerifier | null;
  /** ICE servers (with fresh TURN credentials) for a user id. */
  readonly iceServers: (userId: string) => IceServer[];
  readonly limits: SessionLimits;
  readonly clock: Clock;
  /** Counters and histograms for `/metrics`. */
  readonly metrics: Metrics;
}

/** Limits of every connection; the buckets' policies are made once and shared. */
export interface SessionLimits {
  /** Messages, bytes and joins (JOIN_RATE_PER_MINUTE, in bursts of 10) a connection may send. */
  readonly messages: MessagePolicies;
  /** Unsent bytes after which a slow reader is disconnected. */
  readonly maxBufferedBytes: number;
  /** A socket not in a room by then is closed. */
  readonly joinTimeoutMs: number;
}
