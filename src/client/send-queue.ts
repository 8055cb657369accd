import { SignalroomError } from "./errors.js";

/** A message waiting for the connection to come back, ready to write. */
export interface QueuedFrame {
  readonly type: string;
  /** The frame as it will be written. */
  readonly text: string;
}

/**
 * What `send()`, `kick()` and `lock()` take while reconnecting in a room:
 * written in order once the membership is resumed, dropped on a re-join
 * (they were for peers of the old membership). Bounded, so an app that
 * keeps sending through a long outage fails loudly instead of growing.
 */
export class SendQueue {
  readonly #max: number;
  #frames: QueuedFrame[] = [];

  /** @param max frames held at most (`SignalingClientOptions.maxQueued`). */
  constructor(max: number) {
    this.#max = max;
  }

  /** Queues one frame; throws `queue-full` when `max` already wait. */
  push(type: string, text: string): void {
    if (this.#frames.length >= this.#max) {
      throw new SignalroomError(
        "queue-full",
        `${this.#max} messages already wait for the connection to come back`,
      );
    }
    this.#frames.push({ type, text });
  }

  /** Empties the queue, returning what it held, oldest first. */
  take(): QueuedFrame[] {
    return this.#frames.splice(0);
  }

  /** Drops everything queued. */
  clear(): void {
    this.#frames = [];
  }
}
