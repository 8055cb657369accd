import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { PeerInfo } from "../rooms/rooms.js";
import { ReplayWindow, withSeq } from "./replay-window.js";

/** What a member writes through while it has a socket: its connection. */
export interface MemberSocket {
  /** Writes a frame (already numbered) to the socket. */
  write(frame: string): void;
  /** A host removed the member: write `frame` (the `kicked`), then close with 4501. */
  kicked(frame: string): void;
  /** A `resume` on another socket took the member over: close with 4502, handle nothing more. */
  replaced(): void;
}

/** A resume token: 128 random bits, base64url. */
export function newResumeToken(): string {
  return randomBytes(16).toString("base64url");
}

function hashToken(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}

/**
 * A place in a room: what lasts while sockets come and go. It outlives the
 * connection that joined (a socket dropped without a close frame parks it
 * for the grace period) and can be taken back by `resume` on a new socket.
 * The resume token is kept only as a hash, so a heap dump or a log of the
 * member shows nothing that resumes it.
 */
export class Member {
  readonly peerId: string;
  readonly roomId: string;
  /** What the others see of this member. */
  readonly info: PeerInfo;
  /** Frames read from this member's clients since its `joined` (`resume` frames not). */
  received = 0;
  /** The socket it speaks through, or null while parked. */
  connection: MemberSocket | null = null;
  /** Set while parked: ends the member when the grace period is over. */
  graceTimer: NodeJS.Timeout | null = null;
  readonly #tokenHash: Buffer;
  readonly #window: ReplayWindow;

  constructor(
    peerId: string,
    roomId: string,
    info: PeerInfo,
    token: string,
    window: { frames: number; bytes: number },
  ) {
    this.peerId = peerId;
    this.roomId = roomId;
    this.info = info;
    this.#tokenHash = hashToken(token);
    this.#window = new ReplayWindow(window.frames, window.bytes);
  }

  /** `seq` of the last frame sent to this member. */
  get lastSeq(): number {
    return this.#window.last;
  }

  /**
   * Numbers a frame for this member, keeps it until acknowledged, and
   * writes it to the socket if there is one. `bytes` is the frame's UTF-8
   * length (computed once for every recipient of a broadcast).
   */
  push(frame: string, bytes: number): number {
    const seq = this.#window.push(frame, bytes);
    this.connection?.write(withSeq(frame, seq));
    return seq;
  }

  /** The client processed every frame up to `seq`; false if we never sent that one. */
  ack(seq: number): boolean {
    if (seq > this.#window.last) return false;
    this.#window.ack(seq);
    return true;
  }

  /** Whether `token` is this member's resume token (constant time). */
  tokenMatches(token: string): boolean {
    return timingSafeEqual(hashToken(token), this.#tokenHash);
  }

  /** The numbered frames after `lastSeq`; null when some are gone (or never were). */
  framesAfter(lastSeq: number): string[] | null {
    return this.#window.since(lastSeq)?.map(({ seq, frame }) => withSeq(frame, seq)) ?? null;
  }
}
