import { timingSafeEqual } from "node:crypto";
import { ReplayWindow } from "./replay-window.js";
import type {
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
  ReportOutcome,
  ResumeOutcome,
  ResumeRequest,
  RoomChange,
  RoomDetail,
  RoomStats,
  RoomSummary,
  Rooms,
  RoomsOptions,
  Seat,
} from "./rooms.js";
import { leftReason, newRoomSid } from "./rooms.js";

const OK: DeliverResult = { ok: true };
const UNKNOWN_PEER = { ok: false, reason: "unknown-peer" } as const;
const NOT_IN_ROOM = { ok: false, reason: "not-in-room" } as const;
const DUPLICATE = { ok: false, reason: "duplicate" } as const;

/** A member as the store keeps it: what lasts while its sockets come and go. */
interface MemberState {
  readonly peerId: string;
  readonly roomId: string;
  readonly info: PeerInfo;
  /**
   * Hex, as the request had it: a Buffer per member would be a slice of
   * Node's shared 8 KB pool and keep the whole slab alive for the member's
   * life. Decoded only to compare, on resume.
   */
  readonly tokenHash: string;
  readonly window: ReplayWindow;
  received: number;
  gen: number;
  /** A socket speaks for it now (false while parked). */
  attached: boolean;
  /** Set while parked: ends the member when the grace period is over. */
  graceTimer: NodeJS.Timeout | null;
  /** Room-mates it sent a `call-report` about; made at the first. */
  reported: Set<string> | null;
}

interface Room {
  /** Insertion order is join order: oldest first. */
  readonly members: Map<string, MemberState>;
  capacity: number;
  locked: boolean;
  /** Names this life of the room in its events. */
  readonly sid: string;
  /** The number of the last event of the room (room-started is 1). */
  events: number;
}

/** A read-only view of one room, for consistency checks in tests. */
export interface RoomSnapshot {
  readonly roomId: string;
  readonly members: readonly PeerInfo[];
  readonly capacity: number;
  readonly locked: boolean;
}

/**
 * The default `Rooms`: one process, state in memory. Every operation runs
 * to completion without waiting, so each is atomic by construction.
 */
export class MemoryRooms implements Rooms {
  readonly #rooms = new Map<string, Room>();
  readonly #byPeer = new Map<string, MemberState>();
  readonly #opts: RoomsOptions;
  readonly #delivery: LocalDelivery;
  #parked = 0;
  /** Seat generations are unique in the process: a late frame never passes for a newer seat's. */
  #nextGen = 1;

  constructor(opts: RoomsOptions) {
    this.#opts = opts;
    this.#delivery = opts.delivery;
  }

  async join(req: JoinRequest): Promise<JoinOutcome> {
    return this.joinNow(req);
  }

  /** {@link join} without the promise (subclasses that interleave steps call it). */
  protected joinNow(req: JoinRequest): JoinOutcome {
    const { roomId, peer } = req;
    let room = this.#rooms.get(roomId);
    const current = req.current ? this.#seated(req.current) : null;
    if (req.current && !current) return { ok: false, reason: "stale", left: false };
    if (current) current.received = req.received;
    // A locked room refuses before anything changes, like a refused token.
    if (room?.locked && !req.ignoreLock) {
      return { ok: false, reason: "locked", left: false };
    }
    // As in the origin design: leave the current room first, even if the new one is full.
    if (current) this.#remove(current, req.frames.peerLeft);
    room = this.#rooms.get(roomId);
    if (room && req.raiseCapacity && req.capacity > room.capacity) room.capacity = req.capacity;
    if (room && room.members.size >= room.capacity) {
      return { ok: false, reason: "full", left: current !== null };
    }
    if (!room) {
      if (req.capacity < 1) return { ok: false, reason: "full", left: current !== null };
      room = {
        members: new Map(),
        capacity: req.capacity,
        locked: false,
        sid: newRoomSid(),
        events: 0,
      };
      this.#rooms.set(roomId, room);
      this.#event(room, { type: "room-started", roomId });
    }
    const others = [...room.members.values()];
    const previous = this.#byPeer.get(peer.peerId);
    if (previous) this.#remove(previous, req.frames.peerLeft);
    const member: MemberState = {
      peerId: peer.peerId,
      roomId,
      info: peer,
      tokenHash: req.tokenHash,
      window: new ReplayWindow(this.#opts.bufferFrames, this.#opts.bufferBytes),
      received: 0,
      gen: this.#nextGen++,
      attached: true,
      graceTimer: null,
      reported: null,
    };
    room.members.set(peer.peerId, member);
    this.#byPeer.set(peer.peerId, member);
    this.#event(room, { type: "peer-joined", roomId, peer });
    // `joined` is seq 1 and never replayed: it holds the plain token.
    const joinedSeq = member.window.push("");
    member.window.ack(joinedSeq);
    const own: Numbered[] = [];
    if (others.length > 0) {
      for (const other of others) this.#push(other, req.frames.peerJoined);
      // The origin design's rule: when the room reaches two, the later joiner initiates.
      if (others.length === 1) {
        this.#push(others[0] as MemberState, req.frames.readyOthers);
        own.push(this.#own(member, req.frames.readySelf));
      }
    }
    return {
      ok: true,
      seat: seatOf(member),
      others: others.map((m) => m.info),
      locked: room.locked,
      joinedSeq,
      own,
    };
  }

  async leave(seat: Seat, received: number, peerLeft: string): Promise<boolean> {
    return this.leaveNow(seat, received, peerLeft);
  }

  protected leaveNow(seat: Seat, received: number, peerLeft: string): boolean {
    const member = this.#seated(seat);
    if (!member) return false;
    member.received = received;
    this.#remove(member, peerLeft);
    return true;
  }

  async drop(seat: Seat, received: number, peerLeft: string): Promise<DropOutcome> {
    return this.dropNow(seat, received, peerLeft);
  }

  protected dropNow(seat: Seat, received: number, peerLeft: string): DropOutcome {
    const member = this.#seated(seat);
    if (!member) return "stale";
    member.received = received;
    if (this.#opts.graceMs === 0) {
      this.#remove(member, peerLeft);
      return "left";
    }
    member.attached = false;
    if (!member.graceTimer) {
      this.#parked++;
      member.graceTimer = setTimeout(() => this.#expire(member), this.#opts.graceMs);
      member.graceTimer.unref();
    }
    return "parked";
  }

  // Declared as the seam has it, so a subclass may wait (the tests' yielding store).
  relay(
    seat: Seat,
    received: number,
    frame: string,
    to: string | undefined,
  ): DeliverResult | Promise<DeliverResult> {
    return this.relayNow(seat, received, frame, to);
  }

  protected relayNow(
    seat: Seat,
    received: number,
    frame: string,
    to: string | undefined,
  ): DeliverResult {
    const member = this.#seated(seat);
    if (!member) return NOT_IN_ROOM;
    member.received = received;
    const room = this.#rooms.get(member.roomId) as Room;
    if (to !== undefined) {
      const target = to === seat.peerId ? undefined : room.members.get(to);
      if (!target) return UNKNOWN_PEER;
      this.#push(target, frame);
      return OK;
    }
    for (const other of room.members.values()) {
      if (other !== member) this.#push(other, frame);
    }
    return OK;
  }

  async reply(seat: Seat, received: number, frame: string): Promise<Numbered | null> {
    return this.replyNow(seat, received, frame);
  }

  protected replyNow(seat: Seat, received: number, frame: string): Numbered | null {
    const member = this.#seated(seat);
    if (!member) return null;
    member.received = received;
    return this.#own(member, frame);
  }

  async kick(
    seat: Seat,
    received: number,
    target: string,
    frames: KickFrames,
  ): Promise<KickOutcome> {
    return this.kickNow(seat, received, target, frames);
  }

  protected kickNow(seat: Seat, received: number, target: string, frames: KickFrames): KickOutcome {
    const member = this.#seated(seat);
    if (!member) return NOT_IN_ROOM;
    member.received = received;
    const room = this.#rooms.get(member.roomId) as Room;
    const victim = target === seat.peerId ? undefined : room.members.get(target);
    if (!victim) return UNKNOWN_PEER;
    this.#push(victim, frames.kicked);
    this.#forget(victim, "kicked");
    for (const other of room.members.values()) {
      if (other !== member) this.#push(other, frames.peerLeft);
    }
    return { ok: true, own: [this.#own(member, frames.reply)] };
  }

  async setLocked(
    seat: Seat,
    received: number,
    locked: boolean,
    frames: LockFrames,
  ): Promise<LockOutcome> {
    return this.setLockedNow(seat, received, locked, frames);
  }

  protected setLockedNow(
    seat: Seat,
    received: number,
    locked: boolean,
    frames: LockFrames,
  ): LockOutcome {
    const member = this.#seated(seat);
    if (!member) return NOT_IN_ROOM;
    member.received = received;
    const room = this.#rooms.get(member.roomId) as Room;
    room.locked = locked;
    for (const other of room.members.values()) {
      if (other !== member) this.#push(other, frames.announce);
    }
    return { ok: true, own: [this.#own(member, frames.reply)] };
  }

  async report(
    seat: Seat,
    received: number,
    peerId: string,
    reply: string,
  ): Promise<ReportOutcome> {
    return this.reportNow(seat, received, peerId, reply);
  }

  protected reportNow(seat: Seat, received: number, peerId: string, reply: string): ReportOutcome {
    const member = this.#seated(seat);
    if (!member) return NOT_IN_ROOM;
    member.received = received;
    const room = this.#rooms.get(member.roomId) as Room;
    if (peerId === seat.peerId || !room.members.has(peerId)) return UNKNOWN_PEER;
    member.reported ??= new Set();
    if (member.reported.has(peerId)) return DUPLICATE;
    member.reported.add(peerId);
    return { ok: true, own: [this.#own(member, reply)] };
  }

  async ack(seat: Seat, received: number, seq: number): Promise<boolean> {
    return this.ackNow(seat, received, seq);
  }

  protected ackNow(seat: Seat, received: number, seq: number): boolean {
    const member = this.#seated(seat);
    // An ack racing a leave is stale, not wrong.
    if (!member) return true;
    member.received = received;
    if (seq > member.window.last) return false;
    member.window.ack(seq);
    return true;
  }

  async resume(req: ResumeRequest): Promise<ResumeOutcome> {
    return this.resumeNow(req);
  }

  protected resumeNow(req: ResumeRequest): ResumeOutcome {
    const member = this.#byPeer.get(req.peerId);
    if (!member) return { ok: false, reason: "unknown" };
    const presented = Buffer.from(req.tokenHash, "hex");
    const held = Buffer.from(member.tokenHash, "hex");
    if (presented.length !== held.length) return { ok: false, reason: "bad-token" };
    if (!timingSafeEqual(presented, held)) return { ok: false, reason: "bad-token" };
    const frames = member.window.since(req.lastSeq);
    if (frames === null) {
      // The owner asked (right token) but what it missed is gone: its place
      // is useless now, and holding it would keep it out of its own room.
      if (member.attached) this.#delivery.replaced(member.peerId, member.gen);
      this.#remove(member, req.peerLeft);
      return { ok: false, reason: "gap" };
    }
    if (member.attached) this.#delivery.replaced(member.peerId, member.gen);
    member.window.ack(req.lastSeq);
    this.#unpark(member);
    member.gen = this.#nextGen++;
    member.attached = true;
    const room = this.#rooms.get(member.roomId) as Room;
    return {
      ok: true,
      seat: seatOf(member),
      info: member.info,
      others: [...room.members.values()].filter((m) => m !== member).map((m) => m.info),
      received: member.received,
      lastSeq: member.window.last,
      frames,
    };
  }

  async framesAfter(seat: Seat, seq: number): Promise<readonly Numbered[] | null> {
    return this.framesAfterNow(seat, seq);
  }

  protected framesAfterNow(seat: Seat, seq: number): readonly Numbered[] | null {
    const member = this.#seated(seat);
    return member ? member.window.since(seq) : null;
  }

  async listRooms(limit: number): Promise<readonly RoomSummary[]> {
    const out: RoomSummary[] = [];
    for (const [roomId, room] of this.#rooms) {
      if (out.length >= limit) break;
      out.push({
        roomId,
        members: room.members.size,
        capacity: room.capacity,
        locked: room.locked,
      });
    }
    return out;
  }

  async inspectRoom(roomId: string): Promise<RoomDetail | null> {
    const room = this.#rooms.get(roomId);
    if (!room) return null;
    return {
      roomId,
      capacity: room.capacity,
      locked: room.locked,
      members: [...room.members.values()].map((m) => ({ ...m.info, connected: m.attached })),
    };
  }

  async evict(
    roomId: string,
    peerId: string | null,
    frames: { readonly kicked: string; readonly peerLeft: string },
  ): Promise<readonly string[]> {
    return this.evictNow(roomId, peerId, frames);
  }

  protected evictNow(
    roomId: string,
    peerId: string | null,
    frames: { readonly kicked: string; readonly peerLeft: string },
  ): readonly string[] {
    const room = this.#rooms.get(roomId);
    if (!room) return [];
    const targets =
      peerId === null
        ? [...room.members.values()]
        : [room.members.get(peerId)].filter((m) => m !== undefined);
    for (const target of targets) {
      this.#push(target, frames.kicked);
      this.#forget(target, "kicked");
    }
    if (peerId !== null && targets.length > 0) {
      for (const other of room.members.values()) this.#push(other, frames.peerLeft);
    }
    return targets.map((t) => t.peerId);
  }

  async members(roomId: string): Promise<readonly PeerInfo[]> {
    const room = this.#rooms.get(roomId);
    return room ? [...room.members.values()].map((m) => m.info) : [];
  }

  async stats(): Promise<RoomStats> {
    return { rooms: this.#rooms.size, members: this.#byPeer.size, parked: this.#parked };
  }

  ready(): boolean {
    return true;
  }

  gate(): null {
    return null;
  }

  /** Every room as it is now (tests check invariants with it). */
  snapshot(): RoomSnapshot[] {
    return [...this.#rooms].map(([roomId, room]) => ({
      roomId,
      members: [...room.members.values()].map((m) => m.info),
      capacity: room.capacity,
      locked: room.locked,
    }));
  }

  async close(): Promise<void> {
    for (const member of this.#byPeer.values()) this.#unpark(member);
    this.#byPeer.clear();
    this.#rooms.clear();
  }

  /** The member a seat speaks for, unless a resume took it over or it ended. */
  #seated(seat: Seat): MemberState | null {
    const member = this.#byPeer.get(seat.peerId);
    return member && member.gen === seat.gen && member.roomId === seat.roomId ? member : null;
  }

  /** Numbers a frame for a member and hands it to its socket, if it has one. */
  #push(member: MemberState, frame: string): void {
    const seq = member.window.push(frame);
    if (member.attached) this.#delivery.deliver(member.peerId, member.gen, seq, frame);
  }

  /** Numbers a frame for a member's own request; the caller writes it. */
  #own(member: MemberState, frame: string): Numbered {
    return { seq: member.window.push(frame), frame };
  }

  /** Out of its room and forgotten; the others get `peerLeft`. */
  #remove(member: MemberState, peerLeft: string): void {
    if (!this.#forget(member, leftReason(peerLeft))) return;
    const room = this.#rooms.get(member.roomId);
    if (!room) return;
    for (const other of room.members.values()) this.#push(other, peerLeft);
  }

  /** Out of its room (deleted when it empties) and forgotten; no member told (events are). */
  #forget(member: MemberState, reason: string): boolean {
    if (this.#byPeer.get(member.peerId) !== member) return false;
    this.#byPeer.delete(member.peerId);
    this.#unpark(member);
    member.attached = false;
    const { roomId, peerId } = member;
    const room = this.#rooms.get(roomId);
    if (!room) return true;
    room.members.delete(peerId);
    this.#event(room, { type: "peer-left", roomId, peerId, reason });
    if (room.members.size === 0) {
      this.#rooms.delete(roomId);
      this.#event(room, { type: "room-finished", roomId });
    }
    return true;
  }

  /** Numbers a change of `room` and tells whoever listens (webhooks). */
  #event(room: Room, change: RoomChange): void {
    room.events++;
    this.#opts.events?.({ ...change, seq: room.events, roomSid: room.sid });
  }

  #expire(member: MemberState): void {
    member.graceTimer = null;
    this.#parked--;
    if (this.#byPeer.get(member.peerId) !== member) return;
    this.#remove(member, this.#opts.expiredFrame(member.peerId));
  }

  #unpark(member: MemberState): void {
    if (!member.graceTimer) return;
    clearTimeout(member.graceTimer);
    member.graceTimer = null;
    this.#parked--;
  }
}

function seatOf(member: MemberState): Seat {
  return { peerId: member.peerId, roomId: member.roomId, gen: member.gen };
}
