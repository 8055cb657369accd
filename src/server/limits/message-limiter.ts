import { type Clock, monotonicClock, TokenBucket } from "./token-bucket.js";

export interface MessageLimits {
  readonly perSecond: number;
  readonly burst: number;
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
  readonly #closeAfter: number;
  readonly #clock: Clock;
  #refusedInARow = 0;
  #lastToldAt = Number.NEGATIVE_INFINITY;

  constructor(limits: MessageLimits, clock: Clock = monotonicClock) {
    this.#bucket = new TokenBucket(limits.perSecond, limits.burst, clock);
    this.#closeAfter = limits.closeAfter;
    this.#clock = clock;
  }

  check(): Verdict {
    if (this.#bucket.take()) {
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
