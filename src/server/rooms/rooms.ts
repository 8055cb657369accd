/**
 * The one seam between signaling and room state. Everything that must
 * change to run on several nodes sits behind this interface.
 *
 * Each method is one atomic step of the store, including what it
 * announces: a join returns the members it joined and delivers
 * `peer-joined` and `ready` in the same step; a leave, a kick, a lock, a
 * resume and a grace expiry likewise. A handler never composes several
 * calls into one protocol action, because between two awaits another node
 * (or another socket of this node) can change the room.
 *
 * The store is the one source of truth for membership and for what lasts
 * of a member: its place, its resume token (as a hash), the numbering of
 * the frames it is sent, its replay window and the count of frames read
 * from it. A connection only holds a {@link Seat}: which member it speaks
 * for, and which generation of that member's sockets it is. Every call a
 * connection makes carries its seat; a seat that a `resume` elsewhere has
 * superseded acts on nothing.
 *
 * Frames are handed over already encoded, without `seq`: the store numbers
 * them per recipient, and the recipient's node appends `"seq":N` when it
 * writes (see `withSeq`).
 */

import type { Role } from "../../protocol/index.js";
import { randomId } from "../random-id.js";

/** What a room knows of a member. */
export interface PeerInfo {
  readonly peerId: string;
  readonly name?: string | undefined;
  /** Verified user id (join token `sub`), when auth is on. */
  readonly userId?: string | undefined;
  readonly role?: Role | undefined;
}

/** Which member a connection speaks for, and which of its sockets it is. */
export interface Seat {
  readonly peerId: string;
  readonly roomId: string;
  /**
   * New with every `join` and every `resume`, never reused for the same
   * peer id: an older seat is stale and acts on nothing, and a frame
   * numbered for an earlier membership never passes for this one's.
   */
  readonly gen: number;
}

/** A frame (as encoded, without `seq`) and the `seq` it has for its recipient. */
export interface Numbered {
  readonly seq: number;
  readonly frame: string;
}

/**
 * Where a store hands frames for sockets held by this process. Calls may
 * arrive in any order relative to what an operation returns: the receiver
 * writes by `seq` and asks {@link Rooms.framesAfter} for any gap.
 */
export interface LocalDelivery {
  /**
   * A numbered frame for the socket with seat `gen` of member `peerId`.
   * After a `kicked` frame the socket closes with 4501.
   */
  deliver(peerId: string, gen: number, seq: number, frame: string): void;
  /** A `resume` on another socket took `peerId` over: its socket of seat `gen` closes with 4502. */
  replaced(peerId: string, gen: number): void;
  /**
   * This node can no longer vouch for its sockets (declared dead while
   * paused, store lost or restarted empty): every socket closes with a
   * reconnect code; their members resume elsewhere or re-join.
   */
  fenced(reason: string): void;
  /**
   * Frames may have been published here and lost (the subscription broke,
   * or the node held back while its lease was in doubt): every socket
   * fills what it is missing from the store.
   */
  resync(): void;
}

/**
 * Every frame a member's own request produces for itself, numbered, in
 * order; the caller writes them (replies carry the request's `id`).
 */
export type Own = readonly Numbered[];

export interface JoinRequest {
  readonly roomId: string;
  readonly peer: PeerInfo;
  /**
   * Capacity of the room if this join creates it. An existing room keeps
   * its own, unless `raiseCapacity` and `capacity` is larger.
   */
  readonly capacity: number;
  /**
   * A host whose token names the room's size: an existing room grows to
   * `capacity` (never shrinks), so a guest who came first with the default
   * does not fix the size of the host's room.
   */
  readonly raiseCapacity: boolean;
  /** Join even if the room is locked (a host of the room). Capacity still holds. */
  readonly ignoreLock: boolean;
  /** SHA-256 (hex) of the new member's resume token. */
  readonly tokenHash: string;
  /**
   * The seat the connection holds now, left first, as in the origin design,
   * even when the new room turns out full (not when it is locked: a refused
   * join because of a lock changes nothing).
   */
  readonly current: Seat | null;
  /** Frames read from the current member so far (see {@link Rooms.relay}). */
  readonly received: number;
  readonly frames: {
    /** To the members already there. */
    readonly peerJoined: string;
    /** To the one other member when the room reaches two. */
    readonly readyOthers: string;
    /** To the joiner when the room reaches two (a reply: carries the join's `id`). */
    readonly readySelf: string;
    /** To the others of the room left (`current`). */
    readonly peerLeft: string;
  };
}

export type JoinOutcome =
  /**
   * `others`: the members already there, oldest first. `joinedSeq`: the
   * `seq` of the `joined` frame the caller writes (never kept for replay:
   * it holds the plain resume token). `own`: frames for the joiner after it.
   */
  | {
      readonly ok: true;
      readonly seat: Seat;
      readonly others: readonly PeerInfo[];
      readonly locked: boolean;
      readonly joinedSeq: number;
      readonly own: Own;
    }
  /** `left`: whether the connection's current seat was left (it was, unless `locked`). */
  | { readonly ok: false; readonly reason: "full" | "locked"; readonly left: boolean }
  /**
   * `current` was stale (kicked, expired or resumed elsewhere meanwhile):
   * nothing changed; the connection is on its way out.
   */
  | { readonly ok: false; readonly reason: "stale"; readonly left: false };

export type DeliverResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: "unknown-peer" | "not-in-room" };

/** What a kick announces: to the target, to the others, and the host's answer. */
export interface KickFrames {
  readonly kicked: string;
  readonly peerLeft: string;
  readonly reply: string;
}

/** What a lock or unlock announces: to the others, and the host's answer. */
export interface LockFrames {
  readonly announce: string;
  readonly reply: string;
}

export type KickOutcome =
  | { readonly ok: true; readonly own: Own }
  | { readonly ok: false; readonly reason: "unknown-peer" | "not-in-room" };

export type ReportOutcome =
  | { readonly ok: true; readonly own: Own }
  | { readonly ok: false; readonly reason: "unknown-peer" | "not-in-room" | "duplicate" };

export type LockOutcome =
  | { readonly ok: true; readonly own: Own }
  | { readonly ok: false; readonly reason: "not-in-room" };

/** Why a resume was refused; never told to the client (all refusals look alike). */
export type ResumeRefusal = "unknown" | "bad-token" | "gap";

export interface ResumeRequest {
  readonly peerId: string;
  /** SHA-256 (hex) of the token the client presented. */
  readonly tokenHash: string;
  /** The last `seq` the client processed. */
  readonly lastSeq: number;
  /** To the others if the token is right but frames after `lastSeq` are gone: the place ends. */
  readonly peerLeft: string;
}

export type ResumeOutcome =
  | {
      readonly ok: true;
      readonly seat: Seat;
      readonly info: PeerInfo;
      readonly others: readonly PeerInfo[];
      /** Frames read from the member since its `joined`. */
      readonly received: number;
      /** `seq` of the last frame numbered for the member. */
      readonly lastSeq: number;
      /** The frames after the client's `lastSeq`, oldest first. */
      readonly frames: readonly Numbered[];
    }
  | { readonly ok: false; readonly reason: ResumeRefusal };

/** What happened to a member whose socket dropped. */
export type DropOutcome = "parked" | "left" | "stale";

/**
 * Every method that acts for a member takes its seat and `received`: how
 * many frames have been read from the member so far (kept with the member,
 * so a resume on any node reports it exactly).
 */
export interface Rooms {
  join(request: JoinRequest): Promise<JoinOutcome>;
  /** Leaves; `peerLeft` goes to the others. False when the seat was stale. */
  leave(seat: Seat, received: number, peerLeft: string): Promise<boolean>;
  /**
   * The socket dropped: keeps the place for the grace period (frames for
   * it wait in its replay window), or leaves with `peerLeft` when resume
   * is off. `stale` when a resume took the seat over already.
   */
  drop(seat: Seat, received: number, peerLeft: string): Promise<DropOutcome>;
  /**
   * A relayed frame to `to`, or to every member but the sender. The one
   * operation on every message's path, so a store that can do it without
   * waiting (memory) answers at once, not with a promise: the connection
   * then relays within the read that brought the frame, no queue step, no
   * promise per hop. A store that must wait (Redis) returns a promise.
   */
  relay(
    seat: Seat,
    received: number,
    frame: string,
    to: string | undefined,
  ): DeliverResult | Promise<DeliverResult>;
  /** A reply of ours to the member itself, numbered; null when the seat is stale. */
  reply(seat: Seat, received: number, frame: string): Promise<Numbered | null>;
  /**
   * A host removes `target`: it gets `kicked` (and its socket closes with
   * 4501), the others `peerLeft`, the host `reply`.
   */
  kick(seat: Seat, received: number, target: string, frames: KickFrames): Promise<KickOutcome>;
  /** Locks or unlocks the seat's room: the others get `announce`, the caller `reply`. */
  setLocked(
    seat: Seat,
    received: number,
    locked: boolean,
    frames: LockFrames,
  ): Promise<LockOutcome>;
  /**
   * Takes the member's `call-report` on its connection to `peerId`: one per
   * pair for the membership's life (it outlives resumes, so a report sent
   * again after one is `duplicate`), only for a room-mate. Accepted, the
   * member gets `reply`.
   */
  report(seat: Seat, received: number, peerId: string, reply: string): Promise<ReportOutcome>;
  /** The client processed every frame up to `seq`; false if that `seq` was never sent. */
  ack(seat: Seat, received: number, seq: number): Promise<boolean>;
  /** Takes a member back on a new socket (the old one, if any, is `replaced`). */
  resume(request: ResumeRequest): Promise<ResumeOutcome>;
  /** The frames numbered for the seat after `seq` (to fill a gap); null when gone or stale. */
  framesAfter(seat: Seat, seq: number): Promise<readonly Numbered[] | null>;
  /** The members, oldest first; empty for a room that does not exist. */
  members(roomId: string): Promise<readonly PeerInfo[]>;
  /** Rooms as an operator sees them (the admin API), at most `limit`. */
  listRooms(limit: number): Promise<readonly RoomSummary[]>;
  /** One room and its members as an operator sees them; null when there is none. */
  inspectRoom(roomId: string): Promise<RoomDetail | null>;
  /**
   * Removes members as an operator: `peerId`, or every member when null.
   * Each gets `frames.kicked` last (its socket closes with 4501); when one
   * is removed, the others get `frames.peerLeft`. Returns the ids removed
   * (empty: no such room or member).
   */
  evict(
    roomId: string,
    peerId: string | null,
    frames: { readonly kicked: string; readonly peerLeft: string },
  ): Promise<readonly string[]>;
  /** Counts for health checks, metrics and leak tests (cluster-wide where shared). */
  stats(): Promise<RoomStats>;
  /** Whether the store can serve requests now (readiness). */
  ready(): boolean;
  /**
   * Null when a client's frame may be handled now. Otherwise a promise that
   * settles once the node knows whether it still speaks for its members: a
   * node woken from a pause must not act on frames its sockets buffered
   * meanwhile before it learns it was declared dead (then its sockets close
   * and those frames are never counted as read; the client re-sends them on
   * the node it resumes on).
   */
  gate(): Promise<void> | null;
  /** Hands this node's places over (draining) and lets go of the store. */
  close(): Promise<void>;
}

export interface RoomStats {
  readonly rooms: number;
  readonly members: number;
  /** Members whose socket dropped, kept for `resume`. */
  readonly parked: number;
}

/** What a store is built from: where it hands frames for local sockets, and its bounds. */
export interface RoomsOptions {
  readonly delivery: LocalDelivery;
  /** How long a dropped member keeps its place; 0: never parked. */
  readonly graceMs: number;
  /** Bounds of each member's replay window. */
  readonly bufferFrames: number;
  readonly bufferBytes: number;
  /** The others' `peer-left` when a parked member's grace period ends. */
  readonly expiredFrame: (peerId: string) => string;
  /**
   * Told of every change of membership, once, by whoever made it (in a
   * cluster: the node whose store operation made it), in the order the
   * store made them. For webhooks; must not throw or block.
   */
  readonly events?: (event: RoomEvent) => void;
}

/** A room, as the admin API lists it. */
export interface RoomSummary {
  readonly roomId: string;
  readonly members: number;
  readonly capacity: number;
  readonly locked: boolean;
}

/** A member as the admin API shows it: connected now, or parked for resume. */
export interface MemberSummary extends PeerInfo {
  readonly connected: boolean;
}

export interface RoomDetail extends Omit<RoomSummary, "members"> {
  readonly members: readonly MemberSummary[];
}

/**
 * A change of a room's membership, as webhooks report it. `seq` numbers a
 * room's events (`room-started` is 1, then one more per event, `room-finished`
 * last); `roomSid` names the room's life, from its `room-started` to its
 * `room-finished` (a room of the same id started later has another). In a
 * cluster each node sends the events it made, so they can arrive out of
 * order across nodes: `roomSid` and `seq` put them back.
 */
export type RoomEvent = RoomChange & { readonly seq: number; readonly roomSid: string };

/** What changed in a room; {@link RoomEvent} adds its number. */
export type RoomChange =
  | { readonly type: "room-started"; readonly roomId: string }
  | { readonly type: "peer-joined"; readonly roomId: string; readonly peer: PeerInfo }
  | {
      readonly type: "peer-left";
      readonly roomId: string;
      readonly peerId: string;
      /** As the others' `peer-left` says: left, dropped, kicked. */
      readonly reason: string;
    }
  | { readonly type: "room-finished"; readonly roomId: string };

/** A new room's sid: 72 random bits, base64url (12 characters). */
export function newRoomSid(): string {
  return randomId(9);
}

/** The `reason` of an encoded `peer-left` frame (what a webhook reports). */
export function leftReason(peerLeft: string): string {
  try {
    const { reason } = JSON.parse(peerLeft) as { reason?: unknown };
    return typeof reason === "string" ? reason : "left";
  } catch {
    return "left";
  }
}

/** A store that could not be reached or answered wrongly: requests get `unavailable`. */
export class StoreUnavailableError extends Error {
  override readonly name = "StoreUnavailableError";
}
