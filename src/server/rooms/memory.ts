import type {
  DeliverLocal,
  DeliverOptions,
  DeliverResult,
  JoinOptions,
  JoinResult,
  PeerInfo,
  RoomStats,
  Rooms,
} from "./rooms.js";

const OK: DeliverResult = { ok: true };
const UNKNOWN_PEER: DeliverResult = { ok: false, reason: "unknown-peer" };
const NOT_IN_ROOM: DeliverResult = { ok: false, reason: "not-in-room" };
const FULL: JoinResult = { ok: false, reason: "full" };
const LOCKED: JoinResult = { ok: false, reason: "locked" };

interface Room {
  /** Insertion order is join order: oldest first. */
  readonly members: Map<string, PeerInfo>;
  readonly capacity: number;
  locked: boolean;
}

/** A read-only view of one room, for consistency checks in tests. */
export interface RoomSnapshot {
  readonly roomId: string;
  readonly members: readonly PeerInfo[];
  readonly capacity: number;
  readonly locked: boolean;
}

/** The default `Rooms`: one process, state in memory. */
export class MemoryRooms implements Rooms {
  readonly #rooms = new Map<string, Room>();
  readonly #deliverLocal: DeliverLocal;
  #members = 0;

  constructor(deliverLocal: DeliverLocal) {
    this.#deliverLocal = deliverLocal;
  }

  async join(roomId: string, peer: PeerInfo, opts: JoinOptions): Promise<JoinResult> {
    let room = this.#rooms.get(roomId);
    if (room?.members.has(peer.peerId)) {
      return { ok: true, others: othersOf(room, peer.peerId), locked: room.locked };
    }
    if (room?.locked && !opts.ignoreLock) return LOCKED;
    if (room && room.members.size >= room.capacity) return FULL;
    if (!room) {
      if (opts.capacity < 1) return FULL;
      room = { members: new Map(), capacity: opts.capacity, locked: false };
      this.#rooms.set(roomId, room);
    }
    const others = [...room.members.values()];
    room.members.set(peer.peerId, peer);
    this.#members++;
    return { ok: true, others, locked: room.locked };
  }

  async leave(roomId: string, peerId: string): Promise<boolean> {
    const room = this.#rooms.get(roomId);
    if (!room?.members.delete(peerId)) return false;
    this.#members--;
    if (room.members.size === 0) this.#rooms.delete(roomId);
    return true;
  }

  async members(roomId: string): Promise<readonly PeerInfo[]> {
    const room = this.#rooms.get(roomId);
    return room ? [...room.members.values()] : [];
  }

  async setLocked(roomId: string, locked: boolean): Promise<boolean> {
    const room = this.#rooms.get(roomId);
    if (!room) return false;
    room.locked = locked;
    return true;
  }

  async isLocked(roomId: string): Promise<boolean> {
    return this.#rooms.get(roomId)?.locked ?? false;
  }

  async deliver(roomId: string, frame: string, opts: DeliverOptions): Promise<DeliverResult> {
    const members = this.#rooms.get(roomId)?.members;
    if (opts.requireMember && !members?.has(opts.from)) return NOT_IN_ROOM;
    if (opts.to !== undefined) {
      if (opts.to === opts.from || !members?.has(opts.to)) return UNKNOWN_PEER;
      this.#deliverLocal(opts.to, frame, opts.effect);
      return OK;
    }
    if (members) {
      for (const peerId of members.keys()) {
        if (peerId !== opts.from) this.#deliverLocal(peerId, frame, opts.effect);
      }
    }
    return OK;
  }

  async stats(): Promise<RoomStats> {
    return { rooms: this.#rooms.size, members: this.#members };
  }

  /** Every room as it is now (tests check invariants with it). */
  snapshot(): RoomSnapshot[] {
    return [...this.#rooms].map(([roomId, room]) => ({
      roomId,
      members: [...room.members.values()],
      capacity: room.capacity,
      locked: room.locked,
    }));
  }

  async close(): Promise<void> {
    this.#rooms.clear();
    this.#members = 0;
  }
}

function othersOf(room: Room, peerId: string): PeerInfo[] {
  return [...room.members.values()].filter((p) => p.peerId !== peerId);
}
