import { ErrorReply } from "redis";
import {
  type DeliverResult,
  type DropOutcome,
  type JoinOutcome,
  type JoinRequest,
  type KickFrames,
  type KickOutcome,
  type LockFrames,
  type LockOutcome,
  leftReason,
  type MemberSummary,
  type Numbered,
  newRoomSid,
  type PeerInfo,
  type ReportOutcome,
  type ResumeOutcome,
  type ResumeRequest,
  type RoomDetail,
  type RoomStats,
  type RoomSummary,
  type Rooms,
  type RoomsOptions,
  type Seat,
  StoreUnavailableError,
} from "../rooms/rooms.js";
import type { ClusterNode } from "./cluster-node.js";
import { CHANNEL_PREFIX, CLUSTER, nodeSeatsKey, peerKey, roomKey, roomTag } from "./keys.js";
import * as lua from "./lua.js";
import type { Redis } from "./redis-client.js";
import { type LuaReply, Script } from "./script.js";

const SCRIPTS = {
  join: new Script(lua.JOIN),
  leave: new Script(lua.LEAVE),
  drop: new Script(lua.DROP),
  relay: new Script(lua.RELAY),
  reply: new Script(lua.REPLY),
  kick: new Script(lua.KICK),
  lock: new Script(lua.LOCK),
  report: new Script(lua.REPORT),
  ack: new Script(lua.ACK),
  resume: new Script(lua.RESUME),
  framesAfter: new Script(lua.FRAMES_AFTER),
  expire: new Script(lua.EXPIRE),
  orphan: new Script(lua.ORPHAN),
  members: new Script(lua.MEMBERS),
  inspect: new Script(lua.INSPECT),
  evict: new Script(lua.EVICT),
};

/** A webhook event's number in its room, as a script returned it. */
interface EventNumber {
  readonly seq: number;
  readonly roomSid: string;
}

/** The event number and room sid a script returned at `at` and `at + 1`. */
function eventOf(r: readonly LuaReply[], at: number): EventNumber {
  return { seq: Number(r[at]), roomSid: String(r[at + 1] ?? "") };
}

/** How long a peer id -> room index entry outlives a crash that kept it from being deleted. */
const PEER_INDEX_TTL_MS = 7 * 24 * 3600 * 1000;
const OK: DeliverResult = { ok: true };
/** Leaves and parks waiting for Redis to come back, at most (then the reaper's liveness rule applies). */
const MAX_PENDING = 100_000;

/**
 * `Rooms` in Redis, for several nodes behind a plain load balancer. Every
 * operation is one Lua script on the room's keys (one slot), so capacity,
 * locks, announcements and numbering are exact across nodes. Frames for a
 * member are numbered and kept in its stream by the script, and published
 * to the node that holds its socket; a node that misses a publish fills
 * the gap from the stream. Which node holds which member, liveness, fencing
 * and grace expiry are the {@link ClusterNode}'s.
 */
export class RedisRooms implements Rooms {
  readonly #redis: Redis;
  readonly #node: ClusterNode;
  readonly #opts: RoomsOptions;
  readonly #window: [string, string, string];
  readonly #pending = new Map<string, () => Promise<unknown>>();

  constructor(redis: Redis, node: ClusterNode, opts: RoomsOptions) {
    this.#redis = redis;
    this.#node = node;
    this.#opts = opts;
    this.#window = [String(opts.bufferFrames), String(opts.bufferBytes), CHANNEL_PREFIX];
  }

  async join(req: JoinRequest): Promise<JoinOutcome> {
    const { roomId, peer } = req;
    const tag = roomTag(roomId);
    if (req.current !== null) {
      // Leaving the current room and joining the new one are two atomic
      // steps (two rooms, two slots). A lock refuses before anything
      // changes, as in one process; a lock taken in between is still
      // honoured by the join itself.
      const locked = await this.#call(() => this.#redis.hGet(roomKey(tag), "locked"));
      if (locked === "1" && !req.ignoreLock) return { ok: false, reason: "locked", left: false };
      if (!(await this.#leave(req.current, req.received, req.frames.peerLeft))) {
        return { ok: false, reason: "stale", left: false };
      }
    }
    const entry = `${tag}|${peer.peerId}`;
    // Indexes first: a crash after the script must not leave a member that
    // nobody can find (for resume, or to park when this node dies).
    await this.#call(() =>
      Promise.all([
        this.#redis.set(peerKey(peer.peerId), tag, { PX: PEER_INDEX_TTL_MS }),
        this.#redis.sAdd(nodeSeatsKey(this.#node.key), entry),
      ]),
    );
    const reply = await this.#room(SCRIPTS.join, tag, [
      peer.peerId,
      JSON.stringify(peer),
      req.tokenHash,
      req.capacity,
      req.ignoreLock ? 1 : 0,
      this.#node.key,
      req.frames.peerJoined,
      req.frames.readyOthers,
      req.frames.readySelf,
      roomId,
      req.frames.peerLeft,
      req.raiseCapacity ? 1 : 0,
      newRoomSid(),
    ]);
    const r = reply as LuaReply[];
    const left = req.current !== null;
    if (r[0] !== "ok") {
      this.#forgetSeat(entry, peer.peerId);
      return { ok: false, reason: r[0] === "locked" ? "locked" : "full", left };
    }
    const [, gen, locked, created, ownSeq, joinedEvent, sid] = r as [
      string,
      string,
      number,
      number,
      number,
      number,
      string,
    ];
    this.#node.count({ rooms: Number(created), members: 1 });
    const seq = Number(joinedEvent);
    const roomSid = String(sid);
    if (Number(created) === 1) {
      this.#redis.sAdd(CLUSTER.rooms, roomId).catch(() => {});
      this.#opts.events?.({ type: "room-started", roomId, seq: seq - 1, roomSid });
    }
    this.#opts.events?.({ type: "peer-joined", roomId, peer, seq, roomSid });
    return {
      ok: true,
      seat: { peerId: peer.peerId, roomId, gen: Number(gen) },
      others: r.slice(7).map(parseInfo),
      locked: locked === 1,
      joinedSeq: 1,
      own: ownSeq ? [{ seq: Number(ownSeq), frame: req.frames.readySelf }] : [],
    };
  }

  async leave(seat: Seat, received: number, peerLeft: string): Promise<boolean> {
    return this.#retried(() => this.#leave(seat, received, peerLeft), seat);
  }

  async #leave(seat: Seat, received: number, peerLeft: string): Promise<boolean> {
    const r = (await this.#room(SCRIPTS.leave, roomTag(seat.roomId), [
      seat.peerId,
      seat.gen,
      received,
      peerLeft,
    ])) as LuaReply[];
    if (r[0] !== "ok") return false;
    this.#gone(seat, Number(r[1]), Number(r[2]), leftReason(peerLeft), eventOf(r, 3));
    return true;
  }

  async drop(seat: Seat, received: number, peerLeft: string): Promise<DropOutcome> {
    return this.#retried(() => this.#drop(seat, received, peerLeft), seat);
  }

  /**
   * Tries again what closing sockets could not tell Redis (called after
   * every acknowledged heartbeat). Without this, a member whose socket
   * closed during an outage would stay in its room as a ghost.
   */
  async retryPending(): Promise<void> {
    for (const [peerId, work] of [...this.#pending]) {
      try {
        await work();
        this.#pending.delete(peerId);
      } catch (error) {
        if (!(error instanceof StoreUnavailableError)) this.#pending.delete(peerId);
        return;
      }
    }
  }

  async #retried<T>(work: () => Promise<T>, seat: Seat): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof StoreUnavailableError && this.#pending.size < MAX_PENDING) {
        this.#pending.set(seat.peerId, work);
      }
      throw error;
    }
  }

  async #drop(seat: Seat, received: number, peerLeft: string): Promise<DropOutcome> {
    const tag = roomTag(seat.roomId);
    const entry = `${tag}|${seat.peerId}`;
    if (this.#opts.graceMs > 0) {
      // Scheduled before the script: if this node dies right after it, the
      // member is still found and expired (the reaper checks the real deadline).
      await this.#call(() =>
        this.#redis.zAdd(CLUSTER.parked, { score: Date.now() + this.#opts.graceMs, value: entry }),
      );
    }
    const r = (await this.#room(SCRIPTS.drop, tag, [
      seat.peerId,
      seat.gen,
      received,
      peerLeft,
      this.#opts.graceMs,
    ])) as LuaReply[];
    if (r[0] === "stale") return "stale";
    this.#forgetSeat(entry);
    if (r[0] === "left") {
      this.#gone(seat, Number(r[1]), Number(r[2]), leftReason(peerLeft), eventOf(r, 3));
      return "left";
    }
    await this.#call(() => this.#redis.zAdd(CLUSTER.parked, { score: Number(r[1]), value: entry }));
    if (Number(r[2]) === 0) this.#node.count({ parked: 1 });
    this.#expireOnTime(entry, this.#opts.graceMs);
    return "parked";
  }

  async relay(
    seat: Seat,
    received: number,
    frame: string,
    to: string | undefined,
  ): Promise<DeliverResult> {
    const r = await this.#room(SCRIPTS.relay, roomTag(seat.roomId), [
      seat.peerId,
      seat.gen,
      received,
      frame,
      to ?? "",
    ]);
    if (r === "ok") return OK;
    return { ok: false, reason: r === "unknown-peer" ? "unknown-peer" : "not-in-room" };
  }

  async reply(seat: Seat, received: number, frame: string): Promise<Numbered | null> {
    const seq = Number(
      await this.#room(SCRIPTS.reply, roomTag(seat.roomId), [
        seat.peerId,
        seat.gen,
        received,
        frame,
      ]),
    );
    return seq > 0 ? { seq, frame } : null;
  }

  async kick(
    seat: Seat,
    received: number,
    target: string,
    frames: KickFrames,
  ): Promise<KickOutcome> {
    const tag = roomTag(seat.roomId);
    const r = (await this.#room(SCRIPTS.kick, tag, [
      seat.peerId,
      seat.gen,
      received,
      target,
      frames.kicked,
      frames.peerLeft,
      frames.reply,
    ])) as LuaReply[];
    if (r[0] !== "ok") {
      return { ok: false, reason: r[0] === "unknown-peer" ? "unknown-peer" : "not-in-room" };
    }
    const node = String(r[2] ?? "");
    this.#node.count({ members: -1, parked: -Number(r[3]) });
    this.#forgetSeat(`${tag}|${target}`, target, node);
    this.#left(seat.roomId, target, "kicked", 0, eventOf(r, 4));
    return { ok: true, own: [{ seq: Number(r[1]), frame: frames.reply }] };
  }

  async setLocked(
    seat: Seat,
    received: number,
    locked: boolean,
    frames: LockFrames,
  ): Promise<LockOutcome> {
    const r = (await this.#room(SCRIPTS.lock, roomTag(seat.roomId), [
      seat.peerId,
      seat.gen,
      received,
      locked ? 1 : 0,
      frames.announce,
      frames.reply,
    ])) as LuaReply[];
    if (r[0] !== "ok") return { ok: false, reason: "not-in-room" };
    return { ok: true, own: [{ seq: Number(r[1]), frame: frames.reply }] };
  }

  async report(
    seat: Seat,
    received: number,
    peerId: string,
    reply: string,
  ): Promise<ReportOutcome> {
    const r = (await this.#room(SCRIPTS.report, roomTag(seat.roomId), [
      seat.peerId,
      seat.gen,
      received,
      peerId,
      reply,
    ])) as LuaReply[];
    if (r[0] === "ok") return { ok: true, own: [{ seq: Number(r[1]), frame: reply }] };
    const reason = r[0] === "unknown-peer" || r[0] === "duplicate" ? r[0] : "not-in-room";
    return { ok: false, reason };
  }

  async ack(seat: Seat, received: number, seq: number): Promise<boolean> {
    const r = await this.#room(SCRIPTS.ack, roomTag(seat.roomId), [
      seat.peerId,
      seat.gen,
      received,
      seq,
    ]);
    return r !== "never";
  }

  async resume(req: ResumeRequest): Promise<ResumeOutcome> {
    const tag = await this.#call(() => this.#redis.get(peerKey(req.peerId)));
    if (tag === null) return { ok: false, reason: "unknown" };
    const entry = `${tag}|${req.peerId}`;
    await this.#call(() => this.#redis.sAdd(nodeSeatsKey(this.#node.key), entry));
    const r = (await this.#room(SCRIPTS.resume, tag, [
      req.peerId,
      req.tokenHash,
      req.lastSeq,
      this.#node.key,
      req.peerLeft,
    ])) as LuaReply[];
    if (r[0] !== "ok") {
      this.#forgetSeat(entry);
      if (r[0] === "gap") {
        this.#node.count({ rooms: -Number(r[1]), members: -1, parked: -Number(r[2]) });
        this.#forgetSeat(entry, req.peerId, String(r[3] ?? ""));
        this.#left(
          String(r[4] ?? ""),
          req.peerId,
          leftReason(req.peerLeft),
          Number(r[1]),
          eventOf(r, 5),
        );
        return { ok: false, reason: "gap" };
      }
      return { ok: false, reason: r[0] === "bad-token" ? "bad-token" : "unknown" };
    }
    const [, gen, info, recv, seq, wasParked, oldNode] = r as [
      string,
      string,
      string,
      string,
      number,
      number,
      string,
    ];
    if (oldNode !== "" && oldNode !== this.#node.key) this.#forgetSeat(entry, undefined, oldNode);
    if (wasParked === 1) this.#node.count({ parked: -1 });
    const roomId = String(r[8]);
    const count = Number(r[9]);
    const frames: Numbered[] = [];
    for (let i = 0; i < count; i++) {
      frames.push({ seq: Number(r[10 + 2 * i]), frame: String(r[11 + 2 * i]) });
    }
    return {
      ok: true,
      seat: { peerId: req.peerId, roomId, gen: Number(gen) },
      info: parseInfo(info),
      others: r.slice(10 + 2 * count).map(parseInfo),
      received: Number(recv),
      lastSeq: Number(seq),
      frames,
    };
  }

  async framesAfter(seat: Seat, seq: number): Promise<readonly Numbered[] | null> {
    const r = (await this.#room(SCRIPTS.framesAfter, roomTag(seat.roomId), [
      seat.peerId,
      seat.gen,
      seq,
    ])) as LuaReply[];
    if (r[0] !== "ok") return null;
    const frames: Numbered[] = [];
    for (let i = 1; i + 1 < r.length; i += 2) {
      frames.push({ seq: Number(r[i]), frame: String(r[i + 1]) });
    }
    return frames;
  }

  async listRooms(limit: number): Promise<readonly RoomSummary[]> {
    const ids = await this.#call(() => this.#redis.sMembers(CLUSTER.rooms));
    const found = await Promise.all(ids.slice(0, limit).map((id) => this.inspectRoom(id)));
    return found.flatMap((room, i) => {
      if (room === null) {
        // Left in the index by a node that died between a room's end and its removal here.
        this.#redis.sRem(CLUSTER.rooms, ids[i] as string).catch(() => {});
        return [];
      }
      return [{ ...room, members: room.members.length }];
    });
  }

  async inspectRoom(roomId: string): Promise<RoomDetail | null> {
    const r = (await this.#room(SCRIPTS.inspect, roomTag(roomId), [])) as LuaReply[];
    if (r[0] !== "ok") return null;
    const members: MemberSummary[] = [];
    for (let i = 3; i + 1 < r.length; i += 2) {
      members.push({ ...parseInfo(r[i] as LuaReply), connected: String(r[i + 1]) === "0" });
    }
    return { roomId, capacity: Number(r[1]), locked: String(r[2]) === "1", members };
  }

  async evict(
    roomId: string,
    peerId: string | null,
    frames: { readonly kicked: string; readonly peerLeft: string },
  ): Promise<readonly string[]> {
    const tag = roomTag(roomId);
    const r = (await this.#room(SCRIPTS.evict, tag, [
      peerId ?? "",
      frames.kicked,
      frames.peerLeft,
    ])) as LuaReply[];
    if (r[0] !== "ok") return [];
    const deleted = Number(r[1]);
    const roomSid = String(r[2] ?? "");
    const removed: { peer: string; seq: number }[] = [];
    for (let i = 3; i + 3 < r.length; i += 4) {
      const peer = String(r[i]);
      removed.push({ peer, seq: Number(r[i + 3]) });
      this.#node.count({ members: -1, parked: -Number(r[i + 2]) });
      this.#forgetSeat(`${tag}|${peer}`, peer, String(r[i + 1] ?? ""));
    }
    if (deleted === 1) this.#node.count({ rooms: -1 });
    removed.forEach(({ peer, seq }, i) => {
      const last = deleted === 1 && i === removed.length - 1 ? 1 : 0;
      this.#left(roomId, peer, "kicked", last, { seq, roomSid });
    });
    return removed.map(({ peer }) => peer);
  }

  async members(roomId: string): Promise<readonly PeerInfo[]> {
    const r = (await this.#room(SCRIPTS.members, roomTag(roomId), [])) as LuaReply[];
    return r.map(parseInfo);
  }

  async stats(): Promise<RoomStats> {
    const counts = await this.#call(() => this.#redis.hGetAll(CLUSTER.stats));
    const n = (field: string) => Math.max(0, Number(counts[field] ?? 0));
    return { rooms: n("rooms"), members: n("members"), parked: n("parked") };
  }

  ready(): boolean {
    return this.#node.ready();
  }

  gate(): Promise<void> | null {
    return this.#node.gate();
  }

  async close(): Promise<void> {
    await this.#node.close();
  }

  /** Ends the grace period of a parked member if it is over (the reaper's). */
  async expire(
    entry: string,
  ): Promise<
    { readonly state: "gone" | "expired" } | { readonly state: "later"; readonly until: number }
  > {
    const [tag, peerId] = splitEntry(entry);
    const r = (await this.#room(SCRIPTS.expire, tag, [
      peerId,
      this.#opts.expiredFrame(peerId),
    ])) as LuaReply[];
    if (r[0] === "later") return { state: "later", until: Number(r[1]) };
    if (r[0] === "expired") {
      this.#node.count({ rooms: -Number(r[1]), members: -1, parked: -1 });
      this.#deletePeerIndex(peerId);
      this.#left(String(r[2] ?? ""), peerId, "dropped", Number(r[1]), eventOf(r, 3));
      return { state: "expired" };
    }
    return { state: "gone" };
  }

  /**
   * Ends a grace period on time from this node (best effort: the reaper
   * ends it anyway, within a heartbeat, if this node is gone by then).
   */
  #expireOnTime(entry: string, inMs: number): void {
    const timer = setTimeout(async () => {
      try {
        const result = await this.expire(entry);
        if (result.state === "later") {
          this.#expireOnTime(entry, Math.max(50, result.until - Date.now()));
        } else {
          await this.#redis.zRem(CLUSTER.parked, entry);
        }
      } catch {
        // The reaper will.
      }
    }, inMs + 20);
    timer.unref();
  }

  /** Parks a member whose node died (the reaper's); returns its grace deadline, if parked. */
  async orphan(entry: string, deadNode: string): Promise<number | null> {
    const [tag, peerId] = splitEntry(entry);
    const r = (await this.#room(SCRIPTS.orphan, tag, [
      peerId,
      deadNode,
      this.#opts.graceMs,
      this.#opts.expiredFrame(peerId),
    ])) as LuaReply[];
    if (r[0] === "parked") {
      this.#node.count({ parked: 1 });
      return Number(r[1]);
    }
    if (r[0] === "left") {
      this.#node.count({ rooms: -Number(r[1]), members: -1 });
      this.#deletePeerIndex(peerId);
      this.#left(String(r[2] ?? ""), peerId, "dropped", Number(r[1]), eventOf(r, 3));
    }
    return null;
  }

  /** A member left (or was removed): counts and indexes follow. */
  #gone(
    seat: Seat,
    roomDeleted: number,
    wasParked: number,
    reason: string,
    event: EventNumber,
  ): void {
    this.#node.count({ rooms: -roomDeleted, members: -1, parked: -wasParked });
    this.#forgetSeat(`${roomTag(seat.roomId)}|${seat.peerId}`, seat.peerId);
    this.#left(seat.roomId, seat.peerId, reason, roomDeleted, event);
  }

  /** Events for a member that left, and its room if that emptied it (which leaves the index). */
  #left(
    roomId: string,
    peerId: string,
    reason: string,
    roomDeleted: number,
    { seq, roomSid }: EventNumber,
  ): void {
    if (roomId === "") return;
    if (roomDeleted === 1) this.#redis.sRem(CLUSTER.rooms, roomId).catch(() => {});
    const events = this.#opts.events;
    if (!events) return;
    events({ type: "peer-left", roomId, peerId, reason, seq, roomSid });
    if (roomDeleted === 1) events({ type: "room-finished", roomId, seq: seq + 1, roomSid });
  }

  /**
   * Index entries that no longer hold: best effort, since the indexes are
   * supersets by design (whoever reads them checks the member itself).
   */
  #forgetSeat(entry: string, peerId?: string, node = this.#node.key): void {
    const work: Promise<unknown>[] = [];
    if (node !== "") work.push(this.#redis.sRem(nodeSeatsKey(node), entry));
    if (peerId !== undefined) work.push(this.#redis.del(peerKey(peerId)));
    Promise.all(work).catch(() => {});
  }

  #deletePeerIndex(peerId: string): void {
    this.#redis.del(peerKey(peerId)).catch(() => {});
  }

  #room(script: Script, tag: string, args: (string | number)[]): Promise<LuaReply> {
    return this.#call(() => script.run(this.#redis, [roomKey(tag)], [...this.#window, ...args]));
  }

  /** Runs a command; a Redis that cannot be reached is `unavailable`, not a crash. */
  async #call<T>(command: () => Promise<T>): Promise<T> {
    if (!this.#redis.isReady) throw new StoreUnavailableError("redis is not connected");
    try {
      return await command();
    } catch (error) {
      if (error instanceof ErrorReply) throw error;
      throw new StoreUnavailableError("redis is unreachable", { cause: error });
    }
  }
}

function parseInfo(raw: LuaReply): PeerInfo {
  return JSON.parse(String(raw)) as PeerInfo;
}

function splitEntry(entry: string): [tag: string, peerId: string] {
  const bar = entry.indexOf("|");
  return [entry.slice(0, bar), entry.slice(bar + 1)];
}
