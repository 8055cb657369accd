/**
 * The one seam between signaling and room state. Everything that must
 * change to run on several nodes sits behind this interface; it is
 * asynchronous even where an implementation could be synchronous, so a
 * Redis-backed version drops in without touching the handlers.
 */

/** What a room knows of a member. */
export interface PeerInfo {
  readonly peerId: string;
  readonly name?: string | undefined;
}

export type JoinResult =
  /** `others`: the members that were already there, oldest first. */
  | { readonly ok: true; readonly others: readonly PeerInfo[] }
  | { readonly ok: false; readonly reason: "full" };

export type DeliverResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: "unknown-peer" };

export interface DeliverOptions {
  /** The sender; never receives its own message. */
  readonly from: string;
  /** Only this member; without it every member but `from`. */
  readonly to?: string | undefined;
}

export interface Rooms {
  /** Adds `peer` unless the room holds `capacity` members already. */
  join(roomId: string, peer: PeerInfo, opts: { readonly capacity: number }): Promise<JoinResult>;
  /** Removes a member; returns whether it was there. Deletes the room when it empties. */
  leave(roomId: string, peerId: string): Promise<boolean>;
  /** The members, oldest first; empty for a room that does not exist. */
  members(roomId: string): Promise<readonly PeerInfo[]>;
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
export type DeliverLocal = (peerId: string, frame: string) => void;
