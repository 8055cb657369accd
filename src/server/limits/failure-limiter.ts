import { addressKey } from "./connection-counter.js";
import { type Clock, monotonicClock, TokenBucket } from "./token-bucket.js";

/** Failures an address may have at once, before the rate applies. */
const BURST = 10;
/** Past this many tracked addresses, those that are back to full are forgotten. */
const SWEEP_AT = 10_000;

/**
 * Failed attempts per client address (IPv6 per /64), for guessable things
 * such as resume tokens: an address that keeps failing is refused before
 * its attempt is even checked. Memory stays bounded: addresses whose
 * allowance has refilled are forgotten.
 */
export class FailureLimiter {
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #perMinute: number;
  readonly #clock: Clock;

  constructor(perMinute: number, clock: Clock = monotonicClock) {
    this.#perMinute = perMinute;
    this.#clock = clock;
  }

  /** Whether `address` may try again. */
  allows(address: string): boolean {
    return this.#buckets.get(addressKey(address))?.has() ?? true;
  }

  /** Counts one failure of `address`. */
  record(address: string): void {
    const key = addressKey(address);
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      if (this.#buckets.size >= SWEEP_AT) this.#sweep();
      bucket = new TokenBucket(this.#perMinute / 60, BURST, this.#clock);
      this.#buckets.set(key, bucket);
    }
    bucket.take();
  }

  /** Addresses tracked (for leak checks). */
  get size(): number {
    return this.#buckets.size;
  }

  #sweep(): void {
    for (const [key, bucket] of this.#buckets) if (bucket.full) this.#buckets.delete(key);
  }
}
