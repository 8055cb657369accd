import {
  BucketPolicy,
  type Clock,
  covers,
  monotonicClock,
  refilled,
  spent,
  TokenBucket,
} from "./token-bucket.js";

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
  /**
   * Joins per minute, sustained, in bursts of `joinBurst`: a connection
   * hopping from room to room costs the store a join and a leave each
   * time. Unlimited when absent.
   */
  readonly joinsPerMinute?: number;
  readonly joinBurst?: number;
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
 * Joins have an allowance of their own ({@link takeJoin}), refused by the
 * caller with its own error rather than counted as a flood.
 */
export class MessageLimiter {
  readonly #policies: MessagePolicies;
  /*
   * The message, byte and join allowances are levels here, not a
   * TokenBucket each, all refilled to `#last`: every connection has them,
   * so an object and a clock reading apiece were memory and time on every
   * message (about 190 B per idle connection, and two clock readings of
   * three per relayed message).
   */
  #messages: number;
  #bytes: number;
  #joins: number;
  #last: number;
  /** Made at the first refusal: most connections never have one. */
  #refusals: Refusals | null = null;
  #closing = false;

  /** `limits` as policies made once for every connection, or limits of its own. */
  constructor(limits: MessagePolicies | MessageLimits, clock: Clock = monotonicClock) {
    const policies =
      limits instanceof MessagePolicies ? limits : new MessagePolicies(limits, clock);
    this.#policies = policies;
    this.#messages = policies.messages.burst;
    this.#bytes = policies.bytes?.burst ?? 0;
    this.#joins = policies.joins?.burst ?? 0;
    this.#last = policies.messages.clock();
  }

  /** Spends one join of the allowance; false, spending nothing, when none is left. */
  takeJoin(): boolean {
    if (this.#policies.joins === null) return true;
    this.#refill();
    if (!covers(this.#joins, 1)) return false;
    this.#joins = spent(this.#joins, 1);
    return true;
  }

  /**
   * The rest of a message's cost, known once it is read: a broadcast, or a
   * message the server answers itself, costs a whole message whatever the
   * room size (only a message addressed to one room-mate is a share of the
   * per-room-mate allowance). Judged like a message of its own.
   */
  checkRest(cost: number): Verdict {
    if (this.#closing) return "close";
    this.#refill();
    if (!covers(this.#messages, cost)) return this.#refused();
    this.#messages = spent(this.#messages, cost);
    return "accept";
  }

  /**
   * Judges one incoming frame of `bytes` bytes, from a member with `scale`
   * room-mates (1 outside a room): each message costs 1/scale of a token.
   * Neither allowance is charged unless both cover the frame.
   */
  check(bytes = 0, scale = 1): Verdict {
    if (this.#closing) return "close";
    const cost = scale > 1 ? 1 / scale : 1;
    this.#refill();
    const byteLimit = this.#policies.bytes !== null;
    if (!covers(this.#messages, cost) || (byteLimit && !covers(this.#bytes, bytes))) {
      return this.#refused();
    }
    this.#messages = spent(this.#messages, cost);
    if (byteLimit) this.#bytes = spent(this.#bytes, bytes);
    return "accept";
  }

  /** The allowances, refilled for the time since the last message (one clock reading). */
  #refill(): void {
    const { messages, bytes, joins } = this.#policies;
    const now = messages.clock();
    const elapsed = now - this.#last;
    this.#last = now;
    this.#messages = refilled(messages, this.#messages, elapsed);
    if (bytes !== null) this.#bytes = refilled(bytes, this.#bytes, elapsed);
    if (joins !== null) this.#joins = refilled(joins, this.#joins, elapsed);
  }

  #refused(): Verdict {
    this.#refusals ??= { bucket: new TokenBucket(this.#policies.refusals), toldAt: -Infinity };
    if (!this.#refusals.bucket.take()) {
      this.#closing = true;
      return "close";
    }
    const now = this.#policies.refusals.clock();
    if (now - this.#refusals.toldAt < 1000) return "drop";
    this.#refusals.toldAt = now;
    return "refuse";
  }
}

/** Refusals counted towards closing, and when the client was last told of one. */
interface Refusals {
  readonly bucket: TokenBucket;
  toldAt: number;
}

/**
 * The buckets' policies for one set of limits, made once per server: each
 * connection's limiter then holds only its buckets' levels.
 */
export class MessagePolicies {
  readonly messages: BucketPolicy;
  readonly bytes: BucketPolicy | null;
  readonly joins: BucketPolicy | null;
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
    this.joins =
      limits.joinsPerMinute === undefined
        ? null
        : new BucketPolicy(limits.joinsPerMinute / 60, limits.joinBurst ?? 1, clock);
    this.refusals = new BucketPolicy(
      (limits.closeAfter * 1000) / REFUSAL_WINDOW_MS,
      // The closing refusal is the one that finds the bucket empty.
      limits.closeAfter - 1,
      clock,
    );
  }
}
