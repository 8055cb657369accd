import { createHash } from "node:crypto";
import {
  ackSchema,
  callReportSchema,
  encode,
  type IceServer,
  joinSchema,
  kickSchema,
  MAX_CALL_REPORT_BYTES,
  MAX_PEER_ID_LENGTH,
  normalizeRoomId,
  type PeerLeftReason,
  type ProtocolError,
  protocolError,
  type Role,
  resumeSchema,
} from "../../protocol/index.js";
import { type Identity, tokenAdmits } from "../auth/join-tokens.js";
import { randomId } from "../random-id.js";
import type { DeliverResult, Numbered, PeerInfo, Seat } from "../rooms/rooms.js";
import type { SignalingContext } from "./context.js";
import { relayFrame } from "./relay-frame.js";
import { describeIssues } from "./schema-errors.js";

/** The part of a connection the handlers act on. */
export interface SessionState {
  /** This connection's peer id (the member's, once it joined or resumed). */
  readonly peerId: string;
  /** The member this connection speaks for, if any: what it believes; the store decides. */
  readonly seat: Seat | null;
  /** What the room knows of that member (its role, for host actions). */
  readonly info: PeerInfo | null;
  /** Frames read from the member so far (kept with the member by the store). */
  readonly received: number;
  /** A token given on the WebSocket URL (`?token=`), used when `join` carries none. */
  readonly connectionToken: string | undefined;
  /** The client's address, for per-address limits. */
  readonly address: string;
  /** A join or resume for `peerId` is about to reach the store: hold what arrives for it. */
  expect(peerId: string): void;
  /**
   * Speaks for `seat` from now on. `written`: the last `seq` the client has
   * (0 before `joined`, the client's `lastSeq` on resume).
   */
  seated(seat: Seat, info: PeerInfo, received: number, written: number, roomMates: RoomMates): void;
  /** In no room any more (left, kicked, refused, or the join/resume came to nothing). */
  unseated(): void;
  /** Spends one join from this connection's allowance; false when exhausted. */
  takeJoin(): boolean;
  /** False once the socket is closing or closed (kicked, flooding, gone). */
  readonly active: boolean;
  /** Sends a message of ours (numbered by the store in a room). */
  send(message: object): Promise<void>;
  /** Encodes a reply of ours (with the request's `id`), not sent. */
  encodeReply(message: object): string;
  /** Writes frames the store numbered for this member, in `seq` order. */
  writeOwn(frames: readonly Numbered[]): void;
  /** Writes a frame as it is, never numbered (`resumed`, `joined` with its seq). */
  write(frame: string): void;
}

/** How many others are in the member's room, as of the frame numbered `asOf`. */
export interface RoomMates {
  readonly count: number;
  readonly asOf: number;
}

export type Handler = (
  ctx: SignalingContext,
  session: SessionState,
  message: Record<string, unknown>,
  text: string,
) => void | Promise<void>;

const join: Handler = async (ctx, session, message) => {
  const room = normalizeRoomId(Object.hasOwn(message, "roomId") ? message.roomId : undefined);
  if (!room.ok) {
    ctx.metrics.join("bad-message");
    return sendError(session, room.error);
  }
  const parsed = joinSchema.safeParse(message);
  if (!parsed.success) {
    ctx.metrics.join("bad-message");
    return sendError(session, protocolError("bad-message", describeIssues(parsed.error)));
  }
  if (!session.takeJoin()) {
    ctx.metrics.join("rate-limited");
    ctx.metrics.limit("joins");
    return sendError(session, protocolError("rate-limited", "too many joins; slow down"));
  }
  const { roomId } = room;

  // Authorise before anything changes: a refused join leaves every room as it was.
  let identity: Identity | undefined;
  if (ctx.verifier) {
    const token = parsed.data.token ?? session.connectionToken;
    if (token === undefined) {
      ctx.metrics.join("unauthorized");
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
      ctx.metrics.join(verified.error.code === "internal" ? "error" : "unauthorized");
      return sendError(session, verified.error);
    }
    if (!tokenAdmits(verified.identity, roomId)) {
      ctx.metrics.join("forbidden");
      return sendError(session, protocolError("forbidden", "the join token is for another room"));
    }
    identity = verified.identity;
  }
  // An await above may have let a kick or a close through: a session that
  // is going away must not land in a room (nor be announced there).
  if (!session.active) return;

  const peerId = session.peerId;
  const peer = memberInfo(peerId, identity?.name ?? parsed.data.name, identity);
  const resumeToken = newResumeToken();
  const current = session.seat;
  session.expect(peerId);
  // One atomic step of the store: leave the current room (as in the origin
  // design, even if the new one is full), check the lock and the capacity,
  // join, and announce; nothing can come in between.
  const result = await ctx.rooms.join({
    roomId,
    peer,
    capacity: Math.min(identity?.maxPeers ?? ctx.maxPeers, ctx.maxRoomCapacity),
    raiseCapacity: identity?.role === "host" && identity.maxPeers !== undefined,
    // A host whose token admits the room always gets in: otherwise a locked
    // room whose hosts all dropped could never be unlocked again.
    ignoreLock: identity?.role === "host",
    tokenHash: hashToken(resumeToken),
    current,
    received: session.received,
    frames: {
      peerJoined: encode({ type: "peer-joined", ...publicMember(peer) }),
      readyOthers: encode({ type: "ready", isInitiator: false }),
      readySelf: session.encodeReply({ type: "ready", isInitiator: true }),
      peerLeft: encode({ type: "peer-left", peerId, reason: "left" }),
    },
  });
  if (!result.ok) {
    // Refused for a lock, a connection stays where it was; for a full room it left.
    if (result.left || current === null) session.unseated();
    // Kicked or taken over meanwhile: that socket is closing, nothing to answer.
    if (result.reason === "stale") return session.unseated();
    if (result.reason === "locked") {
      ctx.metrics.join("locked");
      return sendError(session, protocolError("forbidden", "the room is locked"));
    }
    ctx.metrics.join("full");
    return session.send({ type: "full", roomId });
  }
  ctx.metrics.join("ok");
  session.seated(result.seat, peer, 0, 0, {
    count: result.others.length,
    asOf: result.joinedSeq,
  });
  const iceServers: IceServer[] = ctx.iceServers(identity?.sub ?? peerId);
  // `joined` is never kept for replay: whoever resumes has read it (it holds
  // the token), and the token must not outlive as text what the store
  // keeps only as a hash.
  session.writeOwn([
    {
      seq: result.joinedSeq,
      frame: session.encodeReply({
        type: "joined",
        roomId,
        peers: result.others.length,
        peerId,
        peerIds: result.others.map((p) => p.peerId),
        members: result.others.map(publicMember),
        iceServers,
        ...(identity ? { role: identity.role, userId: identity.sub } : {}),
        // Only a host gets into a locked room: it needs to know, to unlock it.
        ...(result.locked ? { locked: true } : {}),
        resumeToken,
        resumeGraceMs: ctx.graceMs,
      }),
    },
    ...result.own,
  ]);
};

const leave: Handler = async (ctx, session) => {
  const seat = session.seat;
  if (seat === null) return sendError(session, protocolError("not-in-room"));
  await leaveRoom(ctx, session, "left");
  await session.send({ type: "left", roomId: seat.roomId });
};

/**
 * Synchronous all the way when the store is (memory): the frame is handed
 * on within the read that brought it. A promise only when something waits.
 */
const relay: Handler = (ctx, session, message, text) => {
  const started = performance.now();
  const seat = session.seat;
  if (seat === null) return sendError(session, protocolError("not-in-room"));
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
  const frame = relayFrame(text, message, seat.peerId);
  if (frame === null) {
    return sendError(
      session,
      protocolError("bad-message", "message is nested too deeply to relay"),
    );
  }
  const result = ctx.rooms.relay(seat, session.received, frame, to);
  if (result instanceof Promise) {
    return result.then((r) => relayed(ctx, session, r, message.type as string, text, started));
  }
  return relayed(ctx, session, result, message.type as string, text, started);
};

/** The store's answer to a relay: counted, or the sender told why not. */
function relayed(
  ctx: SignalingContext,
  session: SessionState,
  result: DeliverResult,
  type: string,
  text: string,
  started: number,
): void | Promise<void> {
  if (!result.ok) {
    if (result.reason === "not-in-room") session.unseated();
    return sendError(session, protocolError(result.reason));
  }
  ctx.metrics.relayed(type, Buffer.byteLength(text), (performance.now() - started) / 1000);
}

const kick: Handler = async (ctx, session, message) => {
  const seat = hostSeat(session);
  if (!("gen" in seat)) return sendError(session, seat);
  const parsed = kickSchema.safeParse(message);
  if (!parsed.success) {
    return sendError(session, protocolError("bad-message", describeIssues(parsed.error)));
  }
  const target = parsed.data.peerId;
  if (target === seat.peerId) {
    return sendError(
      session,
      protocolError("bad-message", "a host cannot kick itself; send leave"),
    );
  }
  const left = { type: "peer-left", peerId: target, reason: "kicked" } as const;
  const result = await ctx.rooms.kick(seat, session.received, target, {
    kicked: encode({ type: "kicked", roomId: seat.roomId, by: seat.peerId }),
    peerLeft: encode(left),
    // The host's copy is the answer to its request (with its `id`).
    reply: session.encodeReply(left),
  });
  if (!result.ok) {
    if (result.reason === "not-in-room") session.unseated();
    return sendError(session, protocolError(result.reason));
  }
  session.writeOwn(result.own);
};

const setLock =
  (locked: boolean): Handler =>
  async (ctx, session) => {
    const seat = hostSeat(session);
    if (!("gen" in seat)) return sendError(session, seat);
    const message = { type: locked ? "locked" : "unlocked", roomId: seat.roomId, by: seat.peerId };
    const result = await ctx.rooms.setLocked(seat, session.received, locked, {
      announce: encode(message),
      // The host's copy is the answer to its request (with its `id`).
      reply: session.encodeReply(message),
    });
    if (!result.ok) {
      session.unseated();
      return sendError(session, protocolError(result.reason));
    }
    session.writeOwn(result.own);
  };

const ping: Handler = async (_ctx, session) => {
  await session.send({ type: "pong" });
};

/**
 * Takes a parked (or still connected) member back on this socket. Every
 * refusal is the same frame, whatever the cause, so a guesser learns
 * nothing; refusals are limited per address. On success, `resumed` is
 * written first, then the frames after `lastSeq`, then live traffic (the
 * connection writes by `seq`, so nothing overtakes the replay).
 */
const resume: Handler = async (ctx, session, message) => {
  const parsed = resumeSchema.safeParse(message);
  if (!parsed.success) {
    return sendError(session, protocolError("bad-message", describeIssues(parsed.error)));
  }
  if (session.seat !== null) {
    return sendError(
      session,
      protocolError("bad-message", "resume only on a connection that is in no room"),
    );
  }
  if (!ctx.resumeFailures.allows(session.address)) {
    ctx.metrics.resume("rate-limited");
    ctx.metrics.limit("resume-failures");
    return sendError(session, protocolError("rate-limited", "too many refused resumes; join"));
  }
  if (!session.takeJoin()) {
    ctx.metrics.resume("rate-limited");
    ctx.metrics.limit("joins");
    return sendError(session, protocolError("rate-limited", "too many joins; slow down"));
  }
  const { peerId, resumeToken, lastSeq } = parsed.data;
  session.expect(peerId);
  const result = await ctx.rooms.resume({
    peerId,
    tokenHash: hashToken(resumeToken),
    lastSeq,
    peerLeft: encode({ type: "peer-left", peerId, reason: "dropped" }),
  });
  if (!result.ok) {
    session.unseated();
    ctx.resumeFailures.take(session.address);
    ctx.logger.debug({ reason: result.reason }, "refused a resume");
    ctx.metrics.resume("failed");
    return sendError(session, protocolError("resume-failed"));
  }
  ctx.metrics.resume("ok");
  const { info, others, seat } = result;
  session.write(
    session.encodeReply({
      type: "resumed",
      roomId: seat.roomId,
      peerId,
      peerIds: others.map((p) => p.peerId),
      members: others.map(publicMember),
      iceServers: ctx.iceServers(info.userId ?? peerId),
      ...(info.role !== undefined ? { role: info.role } : {}),
      ...(info.userId !== undefined ? { userId: info.userId } : {}),
      resumeToken,
      received: result.received,
      seq: result.lastSeq,
    }),
  );
  session.seated(seat, info, result.received, lastSeq, {
    count: others.length,
    asOf: result.lastSeq,
  });
  session.writeOwn(result.frames);
  ctx.logger.debug({ peerId, replayed: result.frames.length }, "member resumed");
};

/**
 * How one of the member's peer connections came to be (or did not): one
 * per room-mate, checked by the store, then counted. Refused reports never
 * move a metric. A failure is logged with the ids an operator needs to
 * find the people involved; only validated fields are ever logged.
 */
const callReport: Handler = async (ctx, session, message, text) => {
  const seat = session.seat;
  if (seat === null) return sendError(session, protocolError("not-in-room"));
  if (Buffer.byteLength(text) > MAX_CALL_REPORT_BYTES) {
    return sendError(
      session,
      protocolError("bad-message", `a call-report is at most ${MAX_CALL_REPORT_BYTES} bytes`),
    );
  }
  const parsed = callReportSchema.safeParse(message);
  if (!parsed.success) {
    return sendError(session, protocolError("bad-message", describeIssues(parsed.error)));
  }
  const report = parsed.data;
  const result = await ctx.rooms.report(
    seat,
    session.received,
    report.peerId,
    session.encodeReply({ type: "call-reported", peerId: report.peerId }),
  );
  if (!result.ok) {
    if (result.reason === "not-in-room") session.unseated();
    if (result.reason === "duplicate") {
      return sendError(
        session,
        protocolError("bad-message", "that connection was reported already (one per peer)"),
      );
    }
    return sendError(session, protocolError(result.reason));
  }
  ctx.metrics.callReport(report);
  const ids = { roomId: seat.roomId, peerId: seat.peerId, remotePeerId: report.peerId };
  if (report.outcome === "failed") {
    ctx.logger.warn(
      { ...ids, reason: report.reason, setupMs: report.setupMs, iceRestarts: report.iceRestarts },
      "a peer connection failed to connect",
    );
  } else {
    ctx.logger.debug(
      {
        ...ids,
        local: report.local,
        remote: report.remote,
        protocol: report.protocol,
        setupMs: report.setupMs,
      },
      "a peer connection connected",
    );
  }
  session.writeOwn(result.own);
};

/** The client processed everything up to `seq`: the replay window lets go of it. */
const ack: Handler = async (ctx, session, message) => {
  const parsed = ackSchema.safeParse(message);
  if (!parsed.success) {
    return sendError(session, protocolError("bad-message", describeIssues(parsed.error)));
  }
  // An ack racing a leave is stale, not wrong: nothing to do outside a room.
  const seat = session.seat;
  if (seat && !(await ctx.rooms.ack(seat, session.received, parsed.data.seq))) {
    return sendError(session, protocolError("bad-message", "ack of a seq that was never sent"));
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
  ["call-report", callReport],
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
  const seat = session.seat;
  if (seat === null) return;
  session.unseated();
  const { peerId } = seat;
  await ctx.rooms.leave(seat, session.received, encode({ type: "peer-left", peerId, reason }));
}

/** The seat of a host, or why the session may not act as one. */
function hostSeat(session: SessionState): Seat | ProtocolError {
  if (session.seat === null) return protocolError("not-in-room");
  if (session.info?.role !== "host") return protocolError("forbidden", "only a host can do that");
  return session.seat;
}

/** A resume token: 128 random bits, base64url. */
function newResumeToken(): string {
  return randomId(16);
}

/** What the store keeps of a resume token: so a heap dump or a store dump resumes nobody. */
function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
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
export function sendError(
  session: Pick<SessionState, "send">,
  error: ProtocolError,
): Promise<void> {
  return session.send({ type: "error", code: error.code, message: error.message });
}
