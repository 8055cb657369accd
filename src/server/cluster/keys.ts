import { createHash } from "node:crypto";

/**
 * Key names in Redis. Every key of a room shares the room's hash tag, so a
 * room's script touches one slot (Redis Cluster); the cluster-wide keys
 * (epoch, live nodes, parked members) share another. Room ids are user
 * input (any characters, braces included), so the tag is a hash of the id.
 */
export const CLUSTER = {
  /** Changes when Redis lost its data: every node notices and starts over. */
  epoch: "sr:{c}:epoch",
  /** Live nodes by their last heartbeat (server time, ms). */
  nodes: "sr:{c}:nodes",
  /** Nodes declared dead: they may never act again under that name. */
  fenced: "sr:{c}:fenced",
  /** Parked members (`<room tag>|<peer id>`) by the end of their grace period. */
  parked: "sr:{c}:parked",
  /** Which node reaps (dead nodes, expired grace periods). */
  reaper: "sr:{c}:reaper",
  /** Cluster-wide counts for /healthz (rooms, members, parked). */
  stats: "sr:{c}:stats",
  /**
   * Room ids that may exist (the admin API's list): a superset, added on
   * creation and removed on deletion after the room's own script, so
   * whoever reads it checks each room itself.
   */
  rooms: "sr:{c}:rooms",
} as const;

/** The hash tag of a room: 22 base64url characters of SHA-256 of its id. */
export function roomTag(roomId: string): string {
  return createHash("sha256").update(roomId).digest("base64url").slice(0, 22);
}

/** The room's hash; the scripts reach the room's other keys by its prefix. */
export function roomKey(tag: string): string {
  return `sr:{r:${tag}}:room`;
}

/** Which room a peer id is in (for `resume`, which names only the peer). */
export function peerKey(peerId: string): string {
  return `sr:{p:${peerId}}`;
}

/** The members (`<room tag>|<peer id>`) whose socket a node holds (or held). */
export function nodeSeatsKey(node: string): string {
  return `sr:{n:${node}}:seats`;
}

/** The pub/sub channel of a node (the scripts append the node name to this). */
export const CHANNEL_PREFIX = "sr:ch:";
