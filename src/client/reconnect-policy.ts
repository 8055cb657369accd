/** How a socket closed, as the WebSocket reported it. */
export interface CloseEvent {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
}

/** What a {@link ReconnectPolicy} knows when it picks the next delay. */
export interface ReconnectContext {
  /** Reconnection attempts made since the connection was lost (0 before the first). */
  readonly retryCount: number;
  /** ms since the connection was lost. */
  readonly elapsedMs: number;
  /**
   * How the last socket closed; null when the client gave up on it itself
   * (a keep-alive ping or a connection attempt timed out).
   */
  readonly closeEvent: CloseEvent | null;
}

/** Decides whether and when {@link SignalingClient} tries to reconnect. */
export interface ReconnectPolicy {
  /** The delay before the next attempt in ms, or null to give up. */
  nextRetryDelayInMs(context: ReconnectContext): number | null;
}

export interface BackoffOptions {
  /** Upper bound of the first delay (retryCount 0), in ms. Default 500. */
  initialDelayMs?: number;
  /** Upper bound of any delay, in ms. Default 10000. */
  maxDelayMs?: number;
  /**
   * Give up once this long has passed since the connection was lost, in ms;
   * `Infinity` never gives up. Default 300000 (5 min).
   */
  maxElapsedMs?: number;
  /** Random source in [0, 1). Default `Math.random`. */
  random?: () => number;
}

/** 2^30 times any sane initial delay is past any sane maximum; beyond it 2^n only risks Infinity. */
const MAX_EXPONENT = 30;

/**
 * Exponential back-off with full jitter: the delay before attempt
 * `retryCount + 1` is uniform in `[0, min(maxDelayMs, initialDelayMs * 2^retryCount))`,
 * so the first retry usually goes almost at once and a crowd of clients
 * cut off together (a server restart) spreads out instead of stampeding.
 * Gives up (null) once `maxElapsedMs` have passed since the loss.
 */
export class BackoffPolicy implements ReconnectPolicy {
  readonly #initialDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #maxElapsedMs: number;
  readonly #random: () => number;

  constructor(options: BackoffOptions = {}) {
    this.#initialDelayMs = nonNegative("initialDelayMs", options.initialDelayMs ?? 500);
    this.#maxDelayMs = nonNegative("maxDelayMs", options.maxDelayMs ?? 10_000);
    const maxElapsedMs = options.maxElapsedMs ?? 300_000;
    this.#maxElapsedMs =
      maxElapsedMs === Number.POSITIVE_INFINITY
        ? maxElapsedMs
        : nonNegative("maxElapsedMs", maxElapsedMs);
    this.#random = options.random ?? Math.random;
  }

  nextRetryDelayInMs(context: ReconnectContext): number | null {
    if (context.elapsedMs >= this.#maxElapsedMs) return null;
    const exponent = Math.min(Math.max(0, context.retryCount), MAX_EXPONENT);
    const ceiling = Math.min(this.#maxDelayMs, this.#initialDelayMs * 2 ** exponent);
    return Math.floor(this.#random() * ceiling);
  }
}

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name} must be a finite number >= 0, got ${value}`);
  }
  return value;
}
