import { z } from "zod";
import type { CallReportMessage } from "./call-report.js";
import type { ErrorCode } from "./errors.js";

/**
 * Message schemas: the single source of the wire types used by the server
 * and the client SDK. Unknown extra fields are accepted everywhere
 * (forward compatibility); the server never re-serialises a relayed
 * payload, so these schemas check envelopes, not SDP.
 */

/** Longest display name accepted in `join.name`. */
export const MAX_NAME_LENGTH = 64;
/** Longest peer id accepted in `to` (ours are 22 characters). */
export const MAX_PEER_ID_LENGTH = 64;
/** Longest join token accepted. */
export const MAX_TOKEN_LENGTH = 8192;

export const peerIdSchema = z.string().min(1).max(MAX_PEER_ID_LENGTH);

export const RELAY_TYPES = ["offer", "answer", "ice", "message"] as const;
export type RelayType = (typeof RELAY_TYPES)[number];

// ---------------------------------------------------------------- client -> server

/**
 * An optional request id on `join`, `leave`, `ping`, `kick`, `lock`,
 * `unlock`: the server echoes it in its direct replies (`joined`, `full`,
 * `left`, `pong`, `error`, ...), so a client can tell which request an
 * answer belongs to.
 */
export type RequestId = string | number;

export const joinSchema = z.looseObject({
  type: z.literal("join"),
  // Checked by normalizeRoomId (after trimming, as the origin design does).
  roomId: z.union([z.string(), z.number()]),
  token: z.string().max(MAX_TOKEN_LENGTH).optional(),
  name: z.string().max(MAX_NAME_LENGTH).optional(),
});

export const leaveSchema = z.looseObject({ type: z.literal("leave") });
/** Host only: removes a member from the room. */
export const kickSchema = z.looseObject({ type: z.literal("kick"), peerId: peerIdSchema });
/** Host only: a locked room refuses new joins. */
export const lockSchema = z.looseObject({ type: z.literal("lock") });
export const unlockSchema = z.looseObject({ type: z.literal("unlock") });
export const pingSchema = z.looseObject({ type: z.literal("ping") });

/** Longest resume token accepted (ours are 22 characters). */
export const MAX_RESUME_TOKEN_LENGTH = 256;
/** Largest `seq` / `lastSeq` accepted: a member never gets near it. */
export const MAX_SEQ = Number.MAX_SAFE_INTEGER;

const seqSchema = z.number().int().min(0).max(MAX_SEQ);

/**
 * Takes a parked place back on a new socket: the first message on it,
 * instead of `join`. `lastSeq`: the highest `seq` the client has processed
 * (0 if none).
 */
export const resumeSchema = z.looseObject({
  type: z.literal("resume"),
  peerId: peerIdSchema,
  resumeToken: z.string().min(1).max(MAX_RESUME_TOKEN_LENGTH),
  lastSeq: seqSchema,
});
/** The client has processed every frame up to `seq`; the server may forget them. */
export const ackSchema = z.looseObject({ type: z.literal("ack"), seq: seqSchema });

export type JoinMessage = z.infer<typeof joinSchema>;
export type LeaveMessage = z.infer<typeof leaveSchema>;
export type PingMessage = z.infer<typeof pingSchema>;
export type KickMessage = z.infer<typeof kickSchema>;
export type LockMessage = z.infer<typeof lockSchema>;
export type UnlockMessage = z.infer<typeof unlockSchema>;
export type ResumeMessage = z.infer<typeof resumeSchema>;
export type AckMessage = z.infer<typeof ackSchema>;

/** Session description as our SDK sends it; other clients may send any payload. */
export interface OfferMessage {
  type: "offer";
  sdp: string;
  to?: string;
  [extra: string]: unknown;
}
export interface AnswerMessage {
  type: "answer";
  sdp: string;
  to?: string;
  [extra: string]: unknown;
}
export interface IceMessage {
  type: "ice";
  /** `null` marks the end of candidates. */
  candidate: RTCIceCandidateInitLike | null;
  to?: string;
  [extra: string]: unknown;
}
export interface AppMessage {
  type: "message";
  data?: unknown;
  to?: string;
  [extra: string]: unknown;
}

/** The fields of `RTCIceCandidateInit`, declared here so protocol/ needs no DOM types. */
export interface RTCIceCandidateInitLike {
  candidate?: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

export type ClientMessage =
  | JoinMessage
  | LeaveMessage
  | PingMessage
  | KickMessage
  | LockMessage
  | UnlockMessage
  | ResumeMessage
  | AckMessage
  | OfferMessage
  | AnswerMessage
  | IceMessage
  | AppMessage
  | CallReportMessage;

export const CLIENT_TYPES = [
  "join",
  "leave",
  "ping",
  "kick",
  "lock",
  "unlock",
  "resume",
  "ack",
  "call-report",
  ...RELAY_TYPES,
] as const;
export type ClientType = (typeof CLIENT_TYPES)[number];

// ---------------------------------------------------------------- server -> client

export const iceServerSchema = z.looseObject({
  urls: z.union([z.string(), z.array(z.string())]),
  username: z.string().optional(),
  credential: z.string().optional(),
});
export type IceServer = z.infer<typeof iceServerSchema>;

export const ROLES = ["host", "guest"] as const;
export type Role = (typeof ROLES)[number];

export const memberSchema = z.looseObject({
  peerId: z.string(),
  name: z.string().optional(),
  /** The verified user id (`sub` of the join token); only when auth is on. */
  userId: z.string().optional(),
  /** Only when auth is on. */
  role: z.enum(ROLES).optional(),
});
export type Member = z.infer<typeof memberSchema>;

export const joinedSchema = z.looseObject({
  type: z.literal("joined"),
  roomId: z.string(),
  /** Number of other members (as in the origin design). */
  peers: z.number().int().nonnegative(),
  peerId: z.string(),
  /** The other members, oldest first. */
  peerIds: z.array(z.string()),
  /** The other members with what is known of them, oldest first. */
  members: z.array(memberSchema).optional(),
  iceServers: z.array(iceServerSchema).optional(),
  /** Your role in the room; only when auth is on. */
  role: z.enum(ROLES).optional(),
  /** Your verified user id; only when auth is on. */
  userId: z.string().optional(),
  /** True when the room is locked (only a host of the room gets in then). */
  locked: z.boolean().optional(),
  /** Proof for `resume`: stable for this membership, never shown to others. */
  resumeToken: z.string().optional(),
  /** How long a dropped socket's place is kept for `resume`; 0: resume is off. */
  resumeGraceMs: z.number().int().nonnegative().optional(),
  /** 1: the first numbered frame of this membership. */
  seq: z.number().int().optional(),
});
/**
 * The first frame on a socket after a successful `resume`; not numbered
 * and never replayed. The missed frames follow with their original `seq`.
 */
export const resumedSchema = z.looseObject({
  type: z.literal("resumed"),
  roomId: z.string(),
  peerId: z.string(),
  /** The other members now, oldest first. */
  peerIds: z.array(z.string()),
  members: z.array(memberSchema).optional(),
  iceServers: z.array(iceServerSchema).optional(),
  /** The same token: it is stable for the member's life. */
  resumeToken: z.string(),
  /**
   * Frames the server has read from this member since its `joined` (every
   * type, acks and pings included, `resume` frames not): re-send what came after.
   */
  received: z.number().int().nonnegative(),
  /** The `seq` of the last frame the server sent to this member. */
  seq: z.number().int().nonnegative(),
  role: z.enum(ROLES).optional(),
  userId: z.string().optional(),
});
export const fullSchema = z.looseObject({ type: z.literal("full"), roomId: z.string() });
export const readySchema = z.looseObject({ type: z.literal("ready"), isInitiator: z.boolean() });
export const peerJoinedSchema = z.looseObject({
  type: z.literal("peer-joined"),
  peerId: z.string(),
  name: z.string().optional(),
  userId: z.string().optional(),
  role: z.enum(ROLES).optional(),
});
/**
 * Why a member is gone: `left` (it sent `leave`, or closed its socket with a
 * close frame), `kicked` (a host removed it), `dropped` (its connection was
 * lost and not resumed in time, or the server closed it for a violation).
 */
export const PEER_LEFT_REASONS = ["left", "kicked", "dropped"] as const;
export type PeerLeftReason = (typeof PEER_LEFT_REASONS)[number];
export const peerLeftSchema = z.looseObject({
  type: z.literal("peer-left"),
  peerId: z.string(),
  // Any string: a newer server may add reasons.
  reason: z.custom<PeerLeftReason | (string & {})>((v) => typeof v === "string").optional(),
});
export const leftSchema = z.looseObject({ type: z.literal("left"), roomId: z.string() });
export const pongSchema = z.looseObject({ type: z.literal("pong") });
/** You were removed from the room by a host; the socket closes with 4501. */
export const kickedSchema = z.looseObject({
  type: z.literal("kicked"),
  roomId: z.string(),
  by: z.string(),
});
/** To every member when a host locks or unlocks the room. */
export const lockedSchema = z.looseObject({
  type: z.literal("locked"),
  roomId: z.string(),
  by: z.string(),
});
export const unlockedSchema = z.looseObject({
  type: z.literal("unlocked"),
  roomId: z.string(),
  by: z.string(),
});
export const errorSchema = z.looseObject({
  type: z.literal("error"),
  // Any string: a client must not reject an error because a newer server
  // added a code. Our own codes are ERROR_CODES.
  code: z.custom<ErrorCode | (string & {})>((value) => typeof value === "string"),
  message: z.string(),
});
/** The answer to an accepted `call-report` (with the request's `id`); see call-report.ts. */
export const callReportedSchema = z.looseObject({
  type: z.literal("call-reported"),
  peerId: z.string(),
});
export const relayedSchema = z.looseObject({
  type: z.enum(RELAY_TYPES),
  from: z.string(),
});

export const serverMessageSchema = z.discriminatedUnion("type", [
  joinedSchema,
  resumedSchema,
  fullSchema,
  readySchema,
  peerJoinedSchema,
  peerLeftSchema,
  leftSchema,
  pongSchema,
  kickedSchema,
  lockedSchema,
  unlockedSchema,
  errorSchema,
  callReportedSchema,
  relayedSchema,
]);

export type JoinedMessage = z.infer<typeof joinedSchema>;
export type ResumedMessage = z.infer<typeof resumedSchema>;
export type FullMessage = z.infer<typeof fullSchema>;
export type ReadyMessage = z.infer<typeof readySchema>;
export type PeerJoinedMessage = z.infer<typeof peerJoinedSchema>;
export type PeerLeftMessage = z.infer<typeof peerLeftSchema>;
export type LeftMessage = z.infer<typeof leftSchema>;
export type PongMessage = z.infer<typeof pongSchema>;
export type KickedMessage = z.infer<typeof kickedSchema>;
export type LockedMessage = z.infer<typeof lockedSchema>;
export type UnlockedMessage = z.infer<typeof unlockedSchema>;
export type ErrorMessage = z.infer<typeof errorSchema>;
export type CallReportedMessage = z.infer<typeof callReportedSchema>;
/** A relayed message: the sender's payload plus `from`. */
export type RelayedMessage<T extends RelayType = RelayType> = {
  type: T;
  from: string;
  to?: string;
  [extra: string]: unknown;
};

export type ServerMessage =
  | JoinedMessage
  | ResumedMessage
  | FullMessage
  | ReadyMessage
  | PeerJoinedMessage
  | PeerLeftMessage
  | LeftMessage
  | PongMessage
  | KickedMessage
  | LockedMessage
  | UnlockedMessage
  | ErrorMessage
  | CallReportedMessage
  | RelayedMessage;

export type ServerType = ServerMessage["type"];
