import type {
  DeliverLocal,
  DeliverOptions,
  DeliverResult,
  JoinResult,
  PeerInfo,
  RoomStats,
  Rooms,
} from "./rooms.js";

const OK: DeliverResult = { ok: true };
const UNKNOWN_PEER: DeliverResult = { ok: false, reason: "unknown-peer" };
const FULL: JoinResult = { ok: false, reason: "full" };

/**
 * The default `Rooms`: one process, state in memory. A room is a Map from
 * peer id to member, whose insertion order is join order (oldest first).
 */
export class MemoryRooms implements Rooms {
  readonly #rooms = new Map<string, Map<string, PeerInfo>>();
  readonly #deliverLocal: DeliverLocal;
  #members = 0;

  constructor(deliverLocal: DeliverLocal) {
    this.#deliverLocal = deliverLocal;
  }

  async join(roomId: string, peer: PeerInfo, opts: { capacity: number }): Promise<JoinResult> {
    let room = this.#rooms.get(roomId);
    if (room?.has(peer.peerId)) return { ok: true, others: othersOf(room, peer.peerId) };
    if (room && room.size >= opts.capacity) return FULL;
    if (!room) {
      if (opts.capacity < 1) return FULL;
      room = new Map();
      this.#rooms.set(roomId, room);
    }
    const others = [...room.values()];
    room.set(peer.peerId, peer);
    this.#members++;
    return { ok: true, others };
  }

  async leave(roomId: string, peerId: string): Promise<boolean> {
    const room = this.#rooms.get(roomId);
    if (!room?.delete(peerId)) return false;
    this.#members--;
    if (room.size === 0) this.#rooms.delete(roomId);
    return true;
  }

  async members(roomId: string): Promise<readonly PeerInfo[]> {
    const room = this.#rooms.get(roomId);
    return room ? [...room.values()] : [];
  }

  async deliver(roomId: string, frame: string, opts: DeliverOptions): Promise<DeliverResult> {
    const room = this.#rooms.get(roomId);
    if (opts.to !== undefined) {
      if (opts.to === opts.from || !room?.has(opts.to)) return UNKNOWN_PEER;
      this.#deliverLocal(opts.to, frame);
      return OK;
    }
    if (room) {
      for (const peerId of room.keys()) {
        if (peerId !== opts.from) this.#deliverLocal(peerId, frame);
      }
    }
    return OK;
  }

  async stats(): Promise<RoomStats> {
    return { rooms: this.#rooms.size, members: this.#members };
  }

  async close(): Promise<void> {
    this.#rooms.clear();
    this.#members = 0;
  }
}

function othersOf(room: Map<string, PeerInfo>, peerId: string): PeerInfo[] {
  return [...room.values()].filter((p) => p.peerId !== peerId);
}
