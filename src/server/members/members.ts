import type { DeliveryEffect } from "../rooms/rooms.js";
import { Member, newResumeToken } from "./member.js";
import { withSeq } from "./replay-window.js";

export interface MembersOptions {
  /** How long a parked member keeps its place; 0: members are never parked. */
  readonly graceMs: number;
  /** Bounds of each member's replay window. */
  readonly bufferFrames: number;
  readonly bufferBytes: number;
  /** A parked member's grace period ended; it is already forgotten here. */
  readonly onExpired: (member: Member) => void;
}

/** Why a resume was refused; never told to the client (all refusals look alike). */
export type ClaimRefusal = "unknown" | "bad-token" | "gap";

export type ClaimResult =
  | { readonly ok: true; readonly member: Member; readonly frames: readonly string[] }
  /** `member`: the token was right but the frames needed are gone; the caller ends it. */
  | { readonly ok: false; readonly reason: ClaimRefusal; readonly member?: Member };

/**
 * The members of this process's rooms by peer id, connected or parked.
 * Rooms deliver to members, not to sockets: a frame for a parked member
 * waits in its replay window.
 */
export class Members {
  readonly #byPeer = new Map<string, Member>();
  readonly #opts: MembersOptions;
  #parked = 0;
  // The last frame delivered and its UTF-8 length: a broadcast hands the
  // same string to every member, so it is measured once.
  #lastFrame = "";
  #lastBytes = 0;

  constructor(opts: MembersOptions) {
    this.#opts = opts;
  }

  get graceMs(): number {
    return this.#opts.graceMs;
  }

  /** A new member with a fresh resume token (returned once, never stored). */
  create(
    peerId: string,
    roomId: string,
    info: Member["info"],
  ): { member: Member; resumeToken: string } {
    const resumeToken = newResumeToken();
    const member = new Member(peerId, roomId, info, resumeToken, {
      frames: this.#opts.bufferFrames,
      bytes: this.#opts.bufferBytes,
    });
    const previous = this.#byPeer.get(peerId);
    if (previous) this.end(previous);
    this.#byPeer.set(peerId, member);
    return { member, resumeToken };
  }

  get(peerId: string): Member | undefined {
    return this.#byPeer.get(peerId);
  }

  /** The `Rooms` store's delivery: numbers the frame for the member and writes it if connected. */
  deliver = (peerId: string, frame: string, effect?: DeliveryEffect): void => {
    const member = this.#byPeer.get(peerId);
    if (!member) return;
    if (frame !== this.#lastFrame) {
      this.#lastFrame = frame;
      this.#lastBytes = Buffer.byteLength(frame);
    }
    if (effect !== "kick") {
      member.push(frame, this.#lastBytes);
      return;
    }
    // The kicker removes the membership from the room; here it ends, and
    // its socket (if any) gets the frame and closes with "do not reconnect".
    const socket = member.connection;
    member.connection = null;
    const seq = member.push(frame, this.#lastBytes);
    this.end(member);
    socket?.kicked(withSeq(frame, seq));
  };

  /**
   * Keeps a member whose socket dropped for the grace period; frames for it
   * wait in its replay window. False when resume is off (the caller removes it).
   */
  park(member: Member): boolean {
    if (this.#opts.graceMs === 0 || this.#byPeer.get(member.peerId) !== member) return false;
    member.connection = null;
    if (member.graceTimer) return true;
    this.#parked++;
    member.graceTimer = setTimeout(() => {
      if (this.#byPeer.get(member.peerId) !== member) return;
      this.end(member);
      this.#opts.onExpired(member);
    }, this.#opts.graceMs);
    member.graceTimer.unref();
    return true;
  }

  /**
   * Checks a resume. On success the member is no longer parked (its grace
   * timer stopped) and the frames after `lastSeq` are returned numbered;
   * the caller attaches the new socket synchronously, before anything else
   * can be delivered.
   */
  claim(peerId: string, token: string, lastSeq: number): ClaimResult {
    const member = this.#byPeer.get(peerId);
    if (!member) return { ok: false, reason: "unknown" };
    if (!member.tokenMatches(token)) return { ok: false, reason: "bad-token" };
    const frames = member.framesAfter(lastSeq);
    if (frames === null) return { ok: false, reason: "gap", member };
    member.ack(lastSeq);
    this.#unpark(member);
    return { ok: true, member, frames };
  }

  /** Forgets a member (left, kicked, expired, or replaced by a new join); true if it was here. */
  end(member: Member): boolean {
    if (this.#byPeer.get(member.peerId) !== member) return false;
    this.#byPeer.delete(member.peerId);
    this.#unpark(member);
    return true;
  }

  /** Members held, and how many of them are parked. */
  stats(): { readonly members: number; readonly parked: number } {
    return { members: this.#byPeer.size, parked: this.#parked };
  }

  /** Forgets everyone without announcing anything (the process is stopping). */
  close(): void {
    for (const member of this.#byPeer.values()) this.#unpark(member);
    this.#byPeer.clear();
  }

  #unpark(member: Member): void {
    if (!member.graceTimer) return;
    clearTimeout(member.graceTimer);
    member.graceTimer = null;
    this.#parked--;
  }
}
