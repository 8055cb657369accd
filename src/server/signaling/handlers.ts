import {
  ackSchema,
  encode,
  type IceServer,
  joinSchema,
  kickSchema,
  MAX_PEER_ID_LENGTH,
  normalizeRoomId,
  type PeerLeftReason,
  type ProtocolError,
  protocolError,
  type Role,
  resumeSchema,
} from "../../protocol/index.js";
import { type Identity, tokenAdmits } from "../auth/join-tokens.js";
import type { Member } from "../members/member.js";
import type { PeerInfo } from "../rooms/rooms.js";
import type { SignalingContext } from "./context.js";
import { relayFrame } from "./relay-frame.js";
import { describeIssues } from "./schema-errors.js";

/** The part of a connection the handlers act on. */
export interface SessionState {
  /** This connection's peer id (the member's, once it joined or resumed). */
  readonly peerId: string;
  /** The member this connection speaks for, if any. */
  readonly member: Member | null;
  /** The member's room, if any. */
  readonly roomId: string | null;
  /** A token given on the WebSocket URL (`?token=`), used when `join` carries none. */
  readonly connectionToken: string | undefined;
  /** The client's address, for per-address limits. */
  readonly address: string;
  /** Speaks for `member` from now on. */
  attach(member: Member): void;
  /** Lets go of the member; returns it. */
  detach(): Member | null;
  /** Spends one join from this connection's allowance; false when exhausted. */
  takeJoin(): boolean;
  /** Called whenever the connection ends up in no room. */
  leftRoom(): void;
  /** False once the socket is closing or closed (kicked, flooding, gone). */
  readonly active: boolean;
  /** Sends a message of ours (numbered in a room). */
  send(message: object): void;
  /** Sends an encoded frame of ours (numbered in a room). */
  sendFrame(frame: string): void;
  /** Sends a reply that is never numbered (`resumed`). */
  sendUnnumbered(message: object): void;
  /** Writes an already numbered frame to the socket. */
  write(frame: string): void;
}

export type Handler = (
  ctx: SignalingContext,
  session: SessionState,
  message: Record<string, unknown>,
  text: string,
) => Promise<void>;

const join: Handler = async (ctx, session, message) => {
  const room = normalizeRoomId(Object.hasOwn(message, "roomId") ? message.roomId : undefined);
  if (!room.ok) return sendError(session, room.error);
  const parsed = joinSchema.safeParse(message);
  if (!parsed.success) {
    return sendError(session, protocolError("bad-message", describeIssues(parsed.error)));
  }
  if (!session.takeJoin()) {
    return sendError(session, protocolError("rate-limited", "too many joins; slow down"));
  }
  const { roomId } = room;

  // Authorise before anything changes: a refused join leaves every room as it was.
  let identity: Identity | undefined;
  if (ctx.verifier) {
    const token = parsed.data.token ?? session.connectionToken;
    if (token === undefined) {
      return sendError(session, protocolError("unauthorized", "a join token is required"));
    }
    const verified = await ctx.verifier.verify(token);
    if (!verified.ok) {
      if (verified.error.code === "internal") {
        ctx.logger.error(
          { err: verified.cause, peerId: session.peerId },
          "cannot verify a join token",
        );
      }
      return sendError(session, verified.error);
    }
    if (!tokenAdmits(verified.identity, roomId)) {
      return sendError(session, protocolError("forbidden", "the join token is for another room"));
    }
    identity = verified.identity;
  }

  // A locked room refuses before anything changes, like a refused token (a
  // lock taken between this check and the join below is still honoured).
  // A host whose token admits the room always gets in: otherwise a locked
  // room whose hosts all dropped could never be unlocked again.
  const isHost = identity?.role === "host";
  if (!isHost && (await ctx.rooms.isLocked(roomId))) {
    return sendError(session, protocolError("forbidden", "the room is locked"));
  }

  // As in the origin design: leave the current room first, even if the new one is full.
  await leaveRoom(ctx, session, "left");

  // Every await above may have let a kick or a close through: a session
  // that is going away must not land in a room (nor be announced there).
  if (!session.active) return;
  const member = memberInfo(session.peerId, identity?.name ?? parsed.data.name, identity);
  const capacity = Math.min(identity?.maxPeers ?? ctx.maxPeers, ctx.maxRoomCapacity);
  const result = await ctx.rooms.join(roomId, member, { capacity, ignoreLock: isHost });
  if (result.ok && !session.active) {
    await ctx.rooms.leave(roomId, session.peerId);
    return;
  }
  if (!result.ok) {
    if (result.reason === "locked") {
      return sendError(session, protocolError("forbidden", "the room is locked"));
    }
    return session.send({ type: "full", roomId });
  }

  const { member: place, resumeToken } = ctx.members.create(session.peerId, roomId, member);
  session.attach(place);
  const iceServers: IceServer[] = ctx.iceServers(identity?.sub ?? session.peerId);
  // The first numbered frame of this membership: seq 1.
  session.send({
    type: "joined",
    roomId,
    peers: result.others.length,
    peerId: session.peerId,
    peerIds: result.others.map((p) => p.peerId),
    members: result.others.map(publicMember),
    iceServers,
    ...(identity ? { role: identity.role, userId: identity.sub } : {}),
    // Only a host gets into a locked room: it needs to know, to unlock it.
    ...(result.locked ? { locked: true } : {}),
    resumeToken,
    resumeGraceMs: ctx.members.graceMs,
  });
  // `joined` is never replayed: whoever resumes has read it (it holds the
  // token), and the token must not outlive in memory as text what the
  // member keeps only as a hash.
  place.ack(place.lastSeq);
  if (result.others.length === 0) return;

  const from = session.peerId;
  await ctx.rooms.deliver(roomId, encode({ type: "peer-joined", ...publicMember(member) }), {
    from,
  });
  // The origin design's rule: when the room reaches two, the later joiner initiates.
  if (result.others.length === 1) {
    await ctx.rooms.deliver(roomId, encode({ type: "ready", isInitiator: false }), { from });
    session.send({ type: "ready", isInitiator: true });
  }
};

const leave: Handler = async (ctx, session) => {
  const roomId = session.roomId;
  if (roomId === null) return sendError(session, protocolError("not-in-room"));
  await leaveRoom(ctx, session, "left");
  session.send({ type: "left", roomId });
};

const relay: Handler = async (ctx, session, message, text) => {
  const roomId = session.roomId;
  if (roomId === null) return sendError(session, protocolError("not-in-room"));
  // The hot path: the envelope is `type` (known by now) and an optional `to`.
  const to = Object.hasOwn(message, "to") ? message.to : undefined;
  if (
    to !== undefined &&
    (typeof to !== "string" || to.length === 0 || to.length > MAX_PEER_ID_LENGTH)
  ) {
    return sendError(
      session,
      protocolError(
        "bad-message",
        `to must be a peer id (a string of 1-${MAX_PEER_ID_LENGTH} characters)`,
      ),
    );
  }
  const frame = relayFrame(text, message, session.peerId);
  if (frame === null) {
    return sendError(
      session,
      protocolError("bad-message", "message is nested too deeply to relay"),
    );
  }
  const result = await ctx.rooms.deliver(roomId, frame, {
    from: session.peerId,
    to,
    requireMember: true,
  });
  if (!result.ok) sendError(session, protocolError(result.reason));
};

const kick: Handler = async (ctx, session, message) => {
  const roomId = hostRoom(session);
  if (typeof roomId !== "string") return sendError(session, roomId);
  const parsed = kickSchema.safeParse(message);
  if (!parsed.success) {
    return sendError(session, protocolError("bad-message", describeIssues(parsed.error)));
  }
  const target = parsed.data.peerId;
  if (target === session.peerId) {
    return sendError(
      session,
      protocolError("bad-message", "a host cannot kick itself; send leave"),
    );
  }
  const kicked = encode({ type: "kicked", roomId, by: session.peerId });
  const delivered = await ctx.rooms.deliver(roomId, kicked, {
    from: session.peerId,
    to: target,
    requireMember: true,
    effect: "kick",
  });
  if (!delivered.ok) return sendError(session, protocolError(delivered.reason));
  if (!(await ctx.rooms.leave(roomId, target))) {
    // It went meanwhile (left, or another host was quicker): its peer-left
    // is on its way; the host still gets an answer to its request.
    return sendError(session, protocolError("unknown-peer", "that member is already gone"));
  }
  const left = { type: "peer-left", peerId: target, reason: "kicked" } as const;
  await ctx.rooms.deliver(roomId, encode(left), { from: session.peerId });
  // The host's copy is the answer to its request (with its `id`).
  session.send(left);
};

const setLock =
  (locked: boolean): Handler =>
  async (ctx, session) => {
    const roomId = hostRoom(session);
    if (typeof roomId !== "string") return sendError(session, roomId);
    await ctx.rooms.setLocked(roomId, locked);
    const message = { type: locked ? "locked" : "unlocked", roomId, by: session.peerId };
    await ctx.rooms.deliver(roomId, encode(message), { from: session.peerId });
    // The host's copy is the answer to its request (with its `id`).
    session.send(message);
  };

const ping: Handler = async (_ctx, session) => {
  session.send({ type: "pong" });
};

/**
 * Takes a parked (or still connected) member back on this socket. Every
 * refusal is the same frame, whatever the cause, so a guesser learns
 * nothing; refusals are limited per address. On success, `resumed` is
 * written first, then the frames after `lastSeq`, then live traffic: the
 * attach and the replay happen in one synchronous step, so nothing can be
 * delivered in between.
 */
const resume: Handler = async (ctx, session, message) => {
  const parsed = resumeSchema.safeParse(message);
  if (!parsed.success) {
    return sendError(session, protocolError("bad-message", describeIssues(parsed.error)));
  }
  if (session.member !== null) {
    return sendError(
      session,
      protocolError("bad-message", "resume only on a connection that is in no room"),
    );
  }
  if (!ctx.resumeFailures.allows(session.address)) {
    return sendError(session, protocolError("rate-limited", "too many refused resumes; join"));
  }
  if (!session.takeJoin()) {
    return sendError(session, protocolError("rate-limited", "too many joins; slow down"));
  }
  const { peerId, resumeToken, lastSeq } = parsed.data;
  // The room's members now, read before the synchronous take-over below.
  const candidate = ctx.members.get(peerId);
  const others = candidate
    ? (await ctx.rooms.members(candidate.roomId)).filter((p) => p.peerId !== peerId)
    : [];
  if (!session.active) return;
  const claim = ctx.members.claim(peerId, resumeToken, lastSeq);
  if (!claim.ok) {
    ctx.resumeFailures.record(session.address);
    ctx.logger.debug({ reason: claim.reason }, "refused a resume");
    // The owner asked (right token) but what it missed is gone: its place
    // is useless now, and holding it would keep it out of its own room. A
    // socket it may still have (blackholed, unnoticed) goes with it.
    if (claim.member) {
      claim.member.connection?.replaced();
      await endMember(ctx, claim.member, "dropped");
    }
    return sendError(session, protocolError("resume-failed"));
  }
  const member = claim.member;
  member.connection?.replaced();
  session.attach(member);
  const { info } = member;
  session.sendUnnumbered({
    type: "resumed",
    roomId: member.roomId,
    peerId,
    peerIds: others.map((p) => p.peerId),
    members: others.map(publicMember),
    iceServers: ctx.iceServers(info.userId ?? peerId),
    ...(info.role !== undefined ? { role: info.role } : {}),
    ...(info.userId !== undefined ? { userId: info.userId } : {}),
    resumeToken,
    received: member.received,
    seq: member.lastSeq,
  });
  for (const frame of claim.frames) session.write(frame);
  ctx.logger.debug({ peerId, replayed: claim.frames.length }, "member resumed");
};

/** The client processed everything up to `seq`: the replay window lets go of it. */
const ack: Handler = async (_ctx, session, message) => {
  const parsed = ackSchema.safeParse(message);
  if (!parsed.success) {
    return sendError(session, protocolError("bad-message", describeIssues(parsed.error)));
  }
  // An ack racing a leave is stale, not wrong: nothing to do outside a room.
  const member = session.member;
  if (member && !member.ack(parsed.data.seq)) {
    sendError(session, protocolError("bad-message", "ack of a seq that was never sent"));
  }
};

/** Handlers by client message type. A Map, so `__proto__` or `constructor` never resolve. */
export const HANDLERS: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  ["join", join],
  ["leave", leave],
  ["ping", ping],
  ["kick", kick],
  ["lock", setLock(true)],
  ["unlock", setLock(false)],
  ["resume", resume],
  ["ack", ack],
  ["offer", relay],
  ["answer", relay],
  ["ice", relay],
  ["message", relay],
]);

/** Takes the connection's member, if any, out of its room and tells the others. */
export async function leaveRoom(
  ctx: SignalingContext,
  session: SessionState,
  reason: PeerLeftReason,
): Promise<void> {
  const member = session.detach();
  if (member === null) return;
  session.leftRoom();
  await endMember(ctx, member, reason);
}

/** Ends a member: out of its room, and the others get `peer-left`. */
export async function endMember(
  ctx: SignalingContext,
  member: Member,
  reason: PeerLeftReason,
): Promise<void> {
  ctx.members.end(member);
  await announceGone(ctx, member, reason);
}

/**
 * Removes an ended member from its room and tells the others (also when
 * its grace period ran out).
 */
export async function announceGone(
  ctx: SignalingContext,
  member: Member,
  reason: PeerLeftReason,
): Promise<void> {
  const { roomId, peerId } = member;
  if (!(await ctx.rooms.leave(roomId, peerId))) return;
  await ctx.rooms.deliver(roomId, encode({ type: "peer-left", peerId, reason }), {
    from: peerId,
  });
}

/** The room of a host, or why the session may not act as one. */
function hostRoom(session: SessionState): string | ProtocolError {
  if (session.roomId === null) return protocolError("not-in-room");
  if (session.member?.info.role !== "host") {
    return protocolError("forbidden", "only a host can do that");
  }
  return session.roomId;
}

function memberInfo(
  peerId: string,
  name: string | undefined,
  identity: Identity | undefined,
): PeerInfo {
  return {
    peerId,
    ...(name !== undefined ? { name } : {}),
    ...(identity ? { userId: identity.sub, role: identity.role satisfies Role } : {}),
  };
}

/** A member as the others see it: no undefined fields on the wire. */
function publicMember(member: PeerInfo): PeerInfo {
  const out: { peerId: string; name?: string; userId?: string; role?: Role } = {
    peerId: member.peerId,
  };
  if (member.name !== undefined) out.name = member.name;
  if (member.userId !== undefined) out.userId = member.userId;
  if (member.role !== undefined) out.role = member.role;
  return out;
}

/** Answers the session with an `error`. */
export function sendError(session: Pick<SessionState, "send">, error: ProtocolError): void {
  session.send({ type: "error", code: error.code, message: error.message });
}
