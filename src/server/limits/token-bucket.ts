/**
 * Slack when comparing against a whole token: refills are sums of floating
 * fractions, and 0.1 added ten times is 0.9999999999999999, which would
 * hold a token back for a whole extra refill step.
 */
const EPSILON = 1e-9;

/** Milliseconds since some fixed point; injected so tests control time. */
export type Clock = () => number;

export const monotonicClock: Clock = () => performance.now();

/*
 * A bucket's arithmetic, for holders that keep levels of their own rather
 * than a TokenBucket each (see MessageLimiter: several levels refilled
 * over one shared clock reading).
 */

/** `level` after `elapsedMs` of refilling under `policy`. */
export function refilled(policy: BucketPolicy, level: number, elapsedMs: number): number {
  return Math.min(policy.burst, level + elapsedMs * policy.perMs);
}

/** Whether `level` holds `cost` tokens. */
export function covers(level: number, cost: number): boolean {
  return level >= cost - EPSILON;
}

/** `level` less `cost`, never below empty (`covers` allows a hair less). */
export function spent(level: number, cost: number): number {
  return Math.max(0, level - cost);
}

/**
 * How a kind of bucket fills: `burst` tokens at most, refilled at
 * `perSecond`. Made once and shared by every bucket of the kind, so a
 * bucket holds only its own state (a connection has several).
 */
export class BucketPolicy {
  readonly perMs: number;
  readonly burst: number;
  readonly clock: Clock;

  constructor(perSecond: number, burst: number, clock: Clock = monotonicClock) {
    this.perMs = perSecond / 1000;
    this.burst = burst;
    this.clock = clock;
  }
}

/**
 * A token bucket: `burst` tokens at most, refilled at `perSecond`. Each
 * `take()` spends one token if there is one. O(1), no timers.
 */
export class TokenBucket {
  readonly #policy: BucketPolicy;
  #tokens: number;
  #last: number;

  constructor(policy: BucketPolicy);
  constructor(perSecond: number, burst: number, clock?: Clock);
  constructor(policy: BucketPolicy | number, burst = 0, clock: Clock = monotonicClock) {
    const p = typeof policy === "number" ? new BucketPolicy(policy, burst, clock) : policy;
    this.#policy = p;
    this.#tokens = p.burst;
    this.#last = p.clock();
  }

  /** Spends `cost` tokens (default 1); false, spending none, when there are fewer. */
  take(cost = 1): boolean {
    if (!this.has(cost)) return false;
    this.#tokens = spent(this.#tokens, cost);
    return true;
  }

  /** Whether `cost` tokens (default 1) are there, spending none. */
  has(cost = 1): boolean {
    const p = this.#policy;
    const now = p.clock();
    this.#tokens = refilled(p, this.#tokens, now - this.#last);
    this.#last = now;
    return covers(this.#tokens, cost);
  }

  /** Whether the bucket is full (it can be forgotten: a new one is the same). */
  get full(): boolean {
    return this.has(this.#policy.burst);
  }
}
