import { createHmac, randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { RoomEvent } from "../rooms/rooms.js";

/** What happened to one event, as counted. */
export type WebhookResult = "delivered" | "failed" | "dropped";

export interface WebhookSenderOptions {
  readonly url: string;
  /** Signs every request (see {@link signature}). */
  readonly secret: string;
  readonly logger: Logger;
  readonly count?: (result: WebhookResult) => void;
  /** Events waiting at most; past it new ones are dropped (and counted). */
  readonly queueSize?: number;
  /** Attempts per event, the first included. */
  readonly attempts?: number;
  /** Wait before the first retry; doubled each time, up to 30 s. */
  readonly backoffMs?: number;
  /** One request's time limit. */
  readonly timeoutMs?: number;
}

/** The header that carries the signature: `t=<unix seconds>,v1=<hex HMAC-SHA256>`. */
export const SIGNATURE_HEADER = "Signalroom-Signature";

/**
 * The signature of `body` sent at `timestamp` (unix seconds): HMAC-SHA256
 * under the secret of `"<timestamp>.<body>"`, the way Stripe signs its
 * webhooks. A receiver recomputes it, compares in constant time, and
 * refuses a timestamp more than a few minutes old, so a captured request
 * cannot be replayed later.
 */
export function signature(secret: string, timestamp: number, body: string): string {
  return createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
}

/**
 * POSTs room events to one URL, in the order they happened, one at a time
 * (so a receiver sees each room's events in order), with bounded retries
 * and back-off. Signaling never waits for it: `send` only queues, and a
 * full queue (the receiver is down for long) drops new events and counts
 * them.
 */
export class WebhookSender {
  readonly #opts: Required<Omit<WebhookSenderOptions, "count">> &
    Pick<WebhookSenderOptions, "count">;
  readonly #queue: { readonly id: string; readonly body: string }[] = [];
  #running = false;
  #closed = false;
  #droppedUnlogged = 0;
  #wake: (() => void) | null = null;

  constructor(options: WebhookSenderOptions) {
    this.#opts = {
      queueSize: 1000,
      attempts: 5,
      backoffMs: 1000,
      timeoutMs: 5000,
      ...options,
    };
  }

  /** Queues `event`; never blocks, never throws. */
  send(event: RoomEvent): void {
    if (this.#closed) return;
    if (this.#queue.length >= this.#opts.queueSize) {
      this.#opts.count?.("dropped");
      if (this.#droppedUnlogged++ === 0) {
        this.#opts.logger.warn(
          { queueSize: this.#opts.queueSize },
          "webhook queue full: dropping events until the receiver catches up",
        );
      }
      return;
    }
    const id = randomUUID();
    const { type, ...rest } = event;
    this.#queue.push({
      id,
      body: JSON.stringify({ id, event: type, createdAt: Date.now(), ...rest }),
    });
    if (!this.#running) void this.#drain();
  }

  /** Events waiting (for tests and health). */
  get pending(): number {
    return this.#queue.length;
  }

  /** Stops: no new events, no more retries; what is still queued is dropped (and said). */
  close(): void {
    this.#closed = true;
    this.#wake?.();
    if (this.#queue.length > 0) {
      this.#opts.logger.warn({ events: this.#queue.length }, "webhook events not sent at shutdown");
    }
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      for (let next = this.#queue[0]; next !== undefined && !this.#closed; next = this.#queue[0]) {
        const delivered = await this.#deliver(next.id, next.body);
        this.#queue.shift();
        this.#opts.count?.(delivered ? "delivered" : "failed");
        if (this.#droppedUnlogged > 1) {
          this.#opts.logger.warn({ dropped: this.#droppedUnlogged }, "webhook events dropped");
        }
        if (this.#queue.length === 0) this.#droppedUnlogged = 0;
      }
    } finally {
      this.#running = false;
    }
  }

  async #deliver(id: string, body: string): Promise<boolean> {
    const { url, secret, attempts, timeoutMs, logger } = this.#opts;
    let wait = this.#opts.backoffMs;
    for (let attempt = 1; attempt <= attempts && !this.#closed; attempt++) {
      const timestamp = Math.floor(Date.now() / 1000);
      let problem: string;
      try {
        const res = await fetch(url, {
          method: "POST",
          headers: {
            "Content-Type": "application/json",
            "Signalroom-Event-Id": id,
            [SIGNATURE_HEADER]: `t=${timestamp},v1=${signature(secret, timestamp, body)}`,
          },
          body,
          signal: AbortSignal.timeout(timeoutMs),
          redirect: "error",
        });
        await res.body?.cancel();
        if (res.ok) return true;
        problem = `HTTP ${res.status}`;
      } catch (error) {
        problem = (error as Error).message;
      }
      if (attempt === attempts) {
        logger.warn({ eventId: id, attempts, problem }, "webhook not delivered; giving up on it");
        return false;
      }
      logger.debug({ eventId: id, attempt, problem }, "webhook failed; retrying");
      await this.#sleep(wait);
      wait = Math.min(wait * 2, 30_000);
    }
    return false;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        resolve();
      }, ms);
      timer.unref();
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
    });
  }
}
