import { addressKey } from "./connection-counter.js";
import { type Clock, monotonicClock, TokenBucket } from "./token-bucket.js";

/** Past this many tracked addresses, those that are back to full are forgotten. */
const SWEEP_AT = 10_000;

/**
 * An allowance per client address (IPv6 per /64): `perMinute` sustained,
 * `burst` at once. Used for failures (refused resumes: an address that
 * keeps guessing is refused before its attempt is even checked) and for
 * requests (`/api/ice-servers`). Memory stays bounded: addresses whose
 * allowance has refilled are forgotten.
 */
export class AddressLimiter {
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #perMinute: number;
  readonly #burst: number;
  readonly #clock: Clock;

  constructor(perMinute: number, burst: number, clock: Clock = monotonicClock) {
    this.#perMinute = perMinute;
    this.#burst = burst;
    this.#clock = clock;
  }

  /** Whether `address` has allowance left, spending none. */
  allows(address: string): boolean {
    return this.#buckets.get(addressKey(address))?.has() ?? true;
  }

  /** Spends one of `address`'s allowance (a failure that counts); false when none was left. */
  take(address: string): boolean {
    const key = addressKey(address);
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      if (this.#buckets.size >= SWEEP_AT) this.#sweep();
      bucket = new TokenBucket(this.#perMinute / 60, this.#burst, this.#clock);
      this.#buckets.set(key, bucket);
    }
    return bucket.take();
  }

  /** Addresses tracked (for leak checks). */
  get size(): number {
    return this.#buckets.size;
  }

  #sweep(): void {
    for (const [key, bucket] of this.#buckets) if (bucket.full) this.#buckets.delete(key);
  }
}
