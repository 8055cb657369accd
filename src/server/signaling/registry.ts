import type { DeliveryEffect } from "../rooms/rooms.js";

/** Something a frame can be written to: a local session. */
export interface FrameSink {
  sendFrame(frame: string, effect?: DeliveryEffect): void;
}

/** The sessions connected to this process, by peer id. */
export class LocalPeers {
  readonly #sinks = new Map<string, FrameSink>();

  add(peerId: string, sink: FrameSink): void {
    this.#sinks.set(peerId, sink);
  }

  delete(peerId: string): void {
    this.#sinks.delete(peerId);
  }

  get size(): number {
    return this.#sinks.size;
  }

  /** Writes to the peer's socket if it is connected here; drops it otherwise. */
  deliver = (peerId: string, frame: string, effect?: DeliveryEffect): void => {
    this.#sinks.get(peerId)?.sendFrame(frame, effect);
  };
}
