import {
  encode,
  type IceServer,
  joinSchema,
  normalizeRoomId,
  protocolError,
  relayEnvelopeSchema,
} from "../../protocol/index.js";
import type { SignalingContext } from "./context.js";
import { relayFrame } from "./relay-frame.js";
import { describeIssues } from "./schema-errors.js";

/** The part of a session the handlers act on. */
export interface SessionState {
  readonly peerId: string;
  roomId: string | null;
  name: string | undefined;
  send(message: object): void;
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
  const { roomId } = room;
  const { name } = parsed.data;

  // As in the origin design: leave the current room first, even if the new one is full.
  await leaveRoom(ctx, session);

  const result = await ctx.rooms.join(
    roomId,
    { peerId: session.peerId, name },
    { capacity: ctx.maxPeers },
  );
  if (!result.ok) return session.send({ type: "full", roomId });

  session.roomId = roomId;
  session.name = name;
  const iceServers: IceServer[] = ctx.iceServers(session.peerId);
  session.send({
    type: "joined",
    roomId,
    peers: result.others.length,
    peerId: session.peerId,
    peerIds: result.others.map((p) => p.peerId),
    members: result.others.map((p) => (p.name === undefined ? { peerId: p.peerId } : p)),
    iceServers,
  });
  if (result.others.length === 0) return;

  const from = session.peerId;
  await ctx.rooms.deliver(
    roomId,
    encode(
      name === undefined
        ? { type: "peer-joined", peerId: from }
        : { type: "peer-joined", peerId: from, name },
    ),
    { from },
  );
  // The origin design's rule: when the room reaches two, the later joiner initiates.
  if (result.others.length === 1) {
    await ctx.rooms.deliver(roomId, encode({ type: "ready", isInitiator: false }), { from });
    session.send({ type: "ready", isInitiator: true });
  }
};

const leave: Handler = async (ctx, session) => {
  const roomId = session.roomId;
  if (roomId === null) return sendError(session, protocolError("not-in-room"));
  await leaveRoom(ctx, session);
  session.send({ type: "left", roomId });
};

const relay: Handler = async (ctx, session, message, text) => {
  const roomId = session.roomId;
  if (roomId === null) return sendError(session, protocolError("not-in-room"));
  const envelope = relayEnvelopeSchema.safeParse({
    type: message.type,
    to: Object.hasOwn(message, "to") ? message.to : undefined,
  });
  if (!envelope.success) {
    return sendError(session, protocolError("bad-message", describeIssues(envelope.error)));
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
    to: envelope.data.to,
  });
  if (!result.ok) sendError(session, protocolError("unknown-peer"));
};

const ping: Handler = async (_ctx, session) => {
  session.send({ type: "pong" });
};

/** Handlers by client message type. A Map, so `__proto__` or `constructor` never resolve. */
export const HANDLERS: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  ["join", join],
  ["leave", leave],
  ["ping", ping],
  ["offer", relay],
  ["answer", relay],
  ["ice", relay],
  ["message", relay],
]);

/** Removes the session from its room, if any, and tells the others. */
export async function leaveRoom(ctx: SignalingContext, session: SessionState): Promise<void> {
  const roomId = session.roomId;
  if (roomId === null) return;
  session.roomId = null;
  const removed = await ctx.rooms.leave(roomId, session.peerId);
  if (!removed) return;
  await ctx.rooms.deliver(roomId, encode({ type: "peer-left", peerId: session.peerId }), {
    from: session.peerId,
  });
}

function sendError(session: SessionState, error: { code: string; message: string }): void {
  session.send({ type: "error", code: error.code, message: error.message });
}
