/** A frame kept for re-sending after a resume. */
export interface SentFrame {
  /** Its number: frames sent are counted 1, 2, ... since `connect()`. */
  readonly frame: number;
  readonly type: string;
  /** The frame exactly as written to the socket. */
  readonly text: string;
}

/** Frame types never re-sent after a resume: stale (ack, ping) or requests rejected at the drop. */
const NOT_RESENT: ReadonlySet<string> = new Set(["ack", "ping", "join", "leave"]);

/**
 * The client's half of resume (docs/protocol.md, "Reconnection"), without
 * sockets or timers: which of our frames the server may have missed, and
 * which of its frames we have processed.
 *
 * Outgoing: frames are numbered 1, 2, ... since `connect()` (the `resume`
 * frame not, as the server does not count it). The membership started at
 * frame `base` (its `join`), so the server has read `written - base` of
 * ours when nothing was lost; `resumed.received` says how many it did read,
 * and the rest is re-sent from the last `maxResend` frames kept.
 *
 * Incoming: `lastSeq` is the highest `seq` processed in this membership;
 * anything at or below it is a duplicate. `ackedSeq` is what the server has
 * been told, so an `ack` goes out only when there is news.
 */
export class ResumeLog {
  readonly #maxResend: number;
  #written = 0;
  #base = 0;
  /** The last frames sent, oldest first. */
  #outbox: SentFrame[] = [];
  #lastSeq = 0;
  #ackedSeq = 0;

  /** @param maxResend sent frames kept for re-sending (`SignalingClientOptions.maxResend`). */
  constructor(maxResend: number) {
    this.#maxResend = maxResend;
  }

  /** Frames sent since `connect()` (or the last {@link reset}). */
  get written(): number {
    return this.#written;
  }

  /** Highest `seq` processed in this membership; 0 before any. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Counts a frame just written to the socket and keeps it; returns its number. */
  record(type: string, text: string): number {
    this.#written++;
    // Pings and acks are kept too (never re-sent): a gap is told by the oldest frame held.
    this.#outbox.push({ frame: this.#written, type, text });
    if (this.#outbox.length > this.#maxResend) this.#outbox.shift();
    return this.#written;
  }

  /**
   * A `joined` began a membership. `joinFrame` is the number of the `join`
   * that made it (undefined when unknown: the counting origin stays); `seq`
   * is the `joined` frame's own, from which the server numbers.
   */
  startMembership(joinFrame: number | undefined, seq: number | undefined): void {
    if (joinFrame !== undefined) {
      this.#base = joinFrame;
      // Frames up to the join were read by the previous membership, if any.
      this.#outbox = this.#outbox.filter((sent) => sent.frame > joinFrame);
    }
    this.#lastSeq = seq ?? 0;
    this.#ackedSeq = 0;
  }

  /** The membership is over: the next one numbers from scratch. */
  endMembership(): void {
    this.#lastSeq = 0;
    this.#ackedSeq = 0;
  }

  /** Whether a frame numbered `seq` is new; if so it becomes the last processed. */
  accept(seq: number): boolean {
    if (seq <= this.#lastSeq) return false;
    this.#lastSeq = seq;
    return true;
  }

  /** The `seq` to acknowledge now, or null when the server already knows it. */
  takeAck(): number | null {
    if (this.#lastSeq <= this.#ackedSeq) return null;
    this.#ackedSeq = this.#lastSeq;
    return this.#lastSeq;
  }

  /** The `lastSeq` of a `resume` frame; the resume acknowledges it, so no `ack` is owed. */
  resumeFrom(): number {
    this.#ackedSeq = this.#lastSeq;
    return this.#lastSeq;
  }

  /**
   * The server resumed us having read `received` frames since our `join`.
   * Returns the frames to send again, in order, and counts from the resume
   * on; or null, changing nothing, when a frame the server missed is no
   * longer kept (only a fresh join is honest then).
   */
  resumed(received: number): SentFrame[] | null {
    const from = this.#base + received + 1;
    const oldest = this.#outbox[0]?.frame ?? this.#written + 1;
    if (from <= this.#written && oldest > from) return null;
    const resend: SentFrame[] = [];
    for (const sent of this.#outbox) {
      if (sent.frame < from) continue;
      // What follows a join was meant for another membership.
      if (sent.type === "join") break;
      if (!NOT_RESENT.has(sent.type)) resend.push(sent);
    }
    this.#outbox = [];
    // Re-sent frames get new numbers as they are written, and the server counts them again.
    this.#base = this.#written - received;
    return resend;
  }

  /** Forgets everything, as after `close()`: the next `connect()` counts from 1. */
  reset(): void {
    this.#outbox = [];
    this.#written = 0;
    this.#base = 0;
    this.endMembership();
  }
}
