import type { LocalDelivery } from "../rooms/rooms.js";

/** What the store reaches on a connection of this process. */
export interface SeatHolder {
  /** A numbered frame for this connection's member (seat `gen`). */
  offer(gen: number, seq: number, frame: string): void;
  /** A resume elsewhere took the member of seat `gen` over. */
  replaced(gen: number): void;
  /** Fetches from the store whatever was numbered for the member after what was written. */
  resync(): void;
}

/**
 * This process's connections by the member they speak for: the store's
 * {@link LocalDelivery}. A connection registers before its `join` or
 * `resume` reaches the store, so frames the store hands over while the
 * operation is still returning are held by the connection, not lost.
 */
export class LocalSeats implements LocalDelivery {
  // Usually one holder per member, kept as itself: an array for each
  // would be about 60 B more per connection. Two or more (an array) while
  // a resume on this process takes over from a socket here; each picks
  // frames by its seat gen.
  readonly #byPeer = new Map<string, SeatHolder | SeatHolder[]>();
  #onFenced: (reason: string) => void = () => {};

  /** `holder` speaks for `peerId` from now on (a join or resume is under way). */
  expect(peerId: string, holder: SeatHolder): void {
    const held = this.#byPeer.get(peerId);
    if (held === undefined) this.#byPeer.set(peerId, holder);
    else if (Array.isArray(held)) {
      if (!held.includes(holder)) held.push(holder);
    } else if (held !== holder) this.#byPeer.set(peerId, [held, holder]);
  }

  /** `holder` no longer speaks for `peerId` (unless another took its place already). */
  release(peerId: string, holder: SeatHolder): void {
    const held = this.#byPeer.get(peerId);
    if (held === holder) {
      this.#byPeer.delete(peerId);
    } else if (Array.isArray(held)) {
      const rest = held.filter((h) => h !== holder);
      this.#byPeer.set(peerId, rest.length === 1 ? (rest[0] as SeatHolder) : rest);
    }
  }

  /** Members with a socket here. */
  get size(): number {
    return this.#byPeer.size;
  }

  /** Who closes every socket when the node is fenced (the gateway). */
  onFenced(listener: (reason: string) => void): void {
    this.#onFenced = listener;
  }

  deliver(peerId: string, gen: number, seq: number, frame: string): void {
    const held = this.#byPeer.get(peerId);
    if (held === undefined) return;
    if (!Array.isArray(held)) return held.offer(gen, seq, frame);
    for (let i = 0; i < held.length; i++) (held[i] as SeatHolder).offer(gen, seq, frame);
  }

  replaced(peerId: string, gen: number): void {
    for (const holder of holdersOf(this.#byPeer.get(peerId))) holder.replaced(gen);
  }

  resync(): void {
    for (const held of this.#byPeer.values()) for (const holder of holdersOf(held)) holder.resync();
  }

  fenced(reason: string): void {
    this.#onFenced(reason);
  }
}

function holdersOf(held: SeatHolder | SeatHolder[] | undefined): readonly SeatHolder[] {
  if (held === undefined) return [];
  return Array.isArray(held) ? held : [held];
}
