import { BucketPolicy, type Clock, monotonicClock, TokenBucket } from "./token-bucket.js";

/** The window over which refusals are counted towards closing (see `closeAfter`). */
export const REFUSAL_WINDOW_MS = 10_000;

export interface MessageLimits {
  /** Messages per second, sustained, for a member with one room-mate (or none). */
  readonly perSecond: number;
  /** Messages at once, for a member with one room-mate (or none). */
  readonly burst: number;
  /**
   * Bytes per second, sustained; bursts of four seconds' worth (at least
   * one frame of `maxFrameBytes`). Counting messages alone would let one
   * member broadcast 64 KiB frames at the message rate to every room-mate.
   * Not scaled by room size: bytes are what a broadcast amplifies.
   */
  readonly bytesPerSecond?: number;
  readonly maxFrameBytes?: number;
  /**
   * Refused messages within {@link REFUSAL_WINDOW_MS} after which the
   * connection is closed: a client that keeps exceeding its rate, whether
   * in one burst or steadily, is a flooder, not a member in a hurry.
   */
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
 * Per-connection flood control. The message allowance grows with the
 * number of room-mates (`scale`): a member of a mesh room of 16 sends an
 * offer and a trickle of candidates to each of 15 others when it joins,
 * which is fifteen times a 1:1 call's burst and just as legitimate. Only
 * messages addressed to one room-mate get the share: anything else is
 * charged the rest once read (see {@link checkRest}), so a broadcast, which
 * reaches all of them, costs what it costs in a 1:1 call.
 * Refusals are answered at most once a second, so a flood is never
 * amplified by our replies; refusals are counted in a leaky bucket
 * (`closeAfter` per {@link REFUSAL_WINDOW_MS}), so a steady flood is closed
 * as surely as a burst, while a member who overshot once is not.
 */
export class MessageLimiter {
  readonly #policies: MessagePolicies;
  readonly #bucket: TokenBucket;
  readonly #bytes: TokenBucket | null;
  /** Made at the first refusal: most connections never have one. */
  #refusals: TokenBucket | null = null;
  #closing = false;
  #lastToldAt = Number.NEGATIVE_INFINITY;

  /** `limits` as policies made once for every connection, or limits of its own. */
  constructor(limits: MessagePolicies | MessageLimits, clock: Clock = monotonicClock) {
    const policies =
      limits instanceof MessagePolicies ? limits : new MessagePolicies(limits, clock);
    this.#policies = policies;
    this.#bucket = new TokenBucket(policies.messages);
    this.#bytes = policies.bytes === null ? null : new TokenBucket(policies.bytes);
  }

  /**
   * The rest of a message's cost, known once it is read: a broadcast, or a
   * message the server answers itself, costs a whole message whatever the
   * room size (only a message addressed to one room-mate is a share of the
   * per-room-mate allowance). Judged like a message of its own.
   */
  checkRest(cost: number): Verdict {
    if (this.#closing) return "close";
    if (this.#bucket.take(cost)) return "accept";
    return this.#refused();
  }

  /**
   * Judges one incoming frame of `bytes` bytes, from a member with `scale`
   * room-mates (1 outside a room): each message costs 1/scale of a token.
   */
  check(bytes = 0, scale = 1): Verdict {
    if (this.#closing) return "close";
    const cost = scale > 1 ? 1 / scale : 1;
    if (this.#bucket.has(cost) && (this.#bytes === null || this.#bytes.take(bytes))) {
      this.#bucket.take(cost);
      return "accept";
    }
    return this.#refused();
  }

  #refused(): Verdict {
    this.#refusals ??= new TokenBucket(this.#policies.refusals);
    if (!this.#refusals.take()) {
      this.#closing = true;
      return "close";
    }
    const now = this.#policies.refusals.clock();
    if (now - this.#lastToldAt < 1000) return "drop";
    this.#lastToldAt = now;
    return "refuse";
  }
}

/**
 * The buckets' policies for one set of limits, made once per server: each
 * connection's limiter then holds only its buckets' levels.
 */
export class MessagePolicies {
  readonly messages: BucketPolicy;
  readonly bytes: BucketPolicy | null;
  readonly refusals: BucketPolicy;

  constructor(limits: MessageLimits, clock: Clock = monotonicClock) {
    this.messages = new BucketPolicy(limits.perSecond, limits.burst, clock);
    this.bytes =
      limits.bytesPerSecond === undefined
        ? null
        : new BucketPolicy(
            limits.bytesPerSecond,
            Math.max(limits.bytesPerSecond * 4, limits.maxFrameBytes ?? 0),
            clock,
          );
    this.refusals = new BucketPolicy(
      (limits.closeAfter * 1000) / REFUSAL_WINDOW_MS,
      // The closing refusal is the one that finds the bucket empty.
      limits.closeAfter - 1,
      clock,
    );
  }
}
