import type { CloseEvent, ReconnectPolicy } from "./reconnect-policy.js";

/**
 * One loss of the connection as a {@link ReconnectPolicy} sees it: since
 * when, and how many attempts were made. It lasts from the loss until the
 * connection is open again, through any number of failed attempts, so the
 * policy's give-up time counts from the first loss.
 */
export class Outage {
  readonly #policy: ReconnectPolicy | false;
  readonly #now: () => number;
  #since: number | null = null;
  #attempts = 0;

  /**
   * @param policy `false` never retries.
   * @param now the clock, in ms. Default `Date.now`.
   */
  constructor(policy: ReconnectPolicy | false, now: () => number = Date.now) {
    this.#policy = policy;
    this.#now = now;
  }

  /** Attempts made since the loss (0 before the first). */
  get attempts(): number {
    return this.#attempts;
  }

  /** The connection was lost: the outage starts, unless one is under way. */
  begin(): void {
    if (this.#since !== null) return;
    this.#since = this.#now();
    this.#attempts = 0;
  }

  /** The policy's delay before the next attempt (finite, not negative), or null to give up. */
  nextDelay(closeEvent: CloseEvent | null): number | null {
    if (this.#policy === false) return null;
    const now = this.#now();
    const delay = this.#policy.nextRetryDelayInMs({
      retryCount: this.#attempts,
      elapsedMs: now - (this.#since ?? now),
      closeEvent,
    });
    if (delay === null) return null;
    return Number.isFinite(delay) ? Math.max(0, delay) : 0;
  }

  /** An attempt starts. */
  attempt(): void {
    this.#attempts++;
  }

  /** The connection is open again, or stopped for good. */
  end(): void {
    this.#since = null;
    this.#attempts = 0;
  }
}
