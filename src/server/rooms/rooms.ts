/**
 * The one seam between signaling and room state. Everything that must
 * change to run on several nodes sits behind this interface; it is
 * asynchronous even where an implementation could be synchronous, so a
 * Redis-backed version drops in without touching the handlers.
 */
import type { Role } from "../../protocol/index.js";

/** What a room knows of a member. */
export interface PeerInfo {
  readonly peerId: string;
  readonly name?: string | undefined;
  /** Verified user id (join token `sub`), when auth is on. */
  readonly userId?: string | undefined;
  readonly role?: Role | undefined;
}

export type JoinResult =
  /**
   * `others`: the members that were already there, oldest first; `locked`:
   * whether the room is locked (only a join that ignores the lock gets in then).
   */
  | { readonly ok: true; readonly others: readonly PeerInfo[]; readonly locked: boolean }
  | { readonly ok: false; readonly reason: "full" | "locked" };

export type DeliverResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: "unknown-peer" | "not-in-room" };

/**
 * What delivering a frame also does to the receiving session. `kick`: the
 * session forgets its room and closes with 4501 after sending the frame.
 */
export type DeliveryEffect = "kick";

export interface DeliverOptions {
  /** The sender; never receives its own message. */
  readonly from: string;
  /** Only this member; without it every member but `from`. */
  readonly to?: string | undefined;
  /** Refuse (`not-in-room`) unless `from` is a member: true for relays. */
  readonly requireMember?: boolean;
  readonly effect?: DeliveryEffect;
}

export interface JoinOptions {
  /** Capacity of the room if this join creates it; an existing room keeps its own. */
  readonly capacity: number;
  /** Join even if the room is locked (a host of the room). Capacity still holds. */
  readonly ignoreLock?: boolean;
}

export interface Rooms {
  /** Adds `peer` unless the room is full or locked. */
  join(roomId: string, peer: PeerInfo, opts: JoinOptions): Promise<JoinResult>;
  /** Removes a member; returns whether it was there. Deletes the room when it empties. */
  leave(roomId: string, peerId: string): Promise<boolean>;
  /** The members, oldest first; empty for a room that does not exist. */
  members(roomId: string): Promise<readonly PeerInfo[]>;
  /** Locks or unlocks a room; false if there is no such room. */
  setLocked(roomId: string, locked: boolean): Promise<boolean>;
  /** Whether a room exists and is locked. */
  isLocked(roomId: string): Promise<boolean>;
  /** Hands an already-encoded frame to one member or to all but the sender. */
  deliver(roomId: string, frame: string, opts: DeliverOptions): Promise<DeliverResult>;
  /** Counts for health checks, metrics and leak tests. */
  stats(): Promise<RoomStats>;
  close(): Promise<void>;
}

export interface RoomStats {
  readonly rooms: number;
  readonly members: number;
}

/** Hands a frame to a socket held by this process. */
export type DeliverLocal = (peerId: string, frame: string, effect?: DeliveryEffect) => void;
