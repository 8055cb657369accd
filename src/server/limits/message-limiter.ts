import { type Clock, monotonicClock, TokenBucket } from "./token-bucket.js";

export interface MessageLimits {
  readonly perSecond: number;
  readonly burst: number;
  /**
   * Bytes per second, sustained; bursts of four seconds' worth (at least
   * one frame of `maxFrameBytes`). Counting messages alone would let one
   * member broadcast 64 KiB frames at the message rate to every room-mate.
   */
  readonly bytesPerSecond?: number;
  readonly maxFrameBytes?: number;
  /** Refused messages in a row after which the connection is closed. */
  readonly closeAfter: number;
}

/** What to do with one incoming message. */
export type Verdict =
  | "accept"
  /** Drop it and tell the client (`rate-limited`). */
  | "refuse"
  /** Drop it silently: the client was told less than a second ago. */
  | "drop"
  /** The client keeps flooding: close the connection (1008). */
  | "close";

/**
 * Per-connection flood control. Refusals are answered at most once a
 * second, so a flood is never amplified by our replies.
 */
export class MessageLimiter {
  readonly #bucket: TokenBucket;
  readonly #bytes: TokenBucket | null;
  readonly #closeAfter: number;
  readonly #clock: Clock;
  #refusedInARow = 0;
  #lastToldAt = Number.NEGATIVE_INFINITY;

  constructor(limits: MessageLimits, clock: Clock = monotonicClock) {
    this.#bucket = new TokenBucket(limits.perSecond, limits.burst, clock);
    this.#bytes =
      limits.bytesPerSecond === undefined
        ? null
        : new TokenBucket(
            limits.bytesPerSecond,
            Math.max(limits.bytesPerSecond * 4, limits.maxFrameBytes ?? 0),
            clock,
          );
    this.#closeAfter = limits.closeAfter;
    this.#clock = clock;
  }

  /** Judges one incoming frame of `bytes` bytes. */
  check(bytes = 0): Verdict {
    if (this.#bucket.take() && (this.#bytes === null || this.#bytes.take(bytes))) {
      this.#refusedInARow = 0;
      return "accept";
    }
    this.#refusedInARow++;
    if (this.#refusedInARow >= this.#closeAfter) return "close";
    const now = this.#clock();
    if (now - this.#lastToldAt < 1000) return "drop";
    this.#lastToldAt = now;
    return "refuse";
  }
}
