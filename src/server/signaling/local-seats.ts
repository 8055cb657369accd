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
  // Usually one holder per member; two while a resume on this process
  // takes over from a socket here (each picks frames by its seat gen).
  readonly #byPeer = new Map<string, SeatHolder[]>();
  #onFenced: (reason: string) => void = () => {};

  /** `holder` speaks for `peerId` from now on (a join or resume is under way). */
  expect(peerId: string, holder: SeatHolder): void {
    const holders = this.#byPeer.get(peerId);
    if (holders === undefined) this.#byPeer.set(peerId, [holder]);
    else if (!holders.includes(holder)) holders.push(holder);
  }

  /** `holder` no longer speaks for `peerId` (unless another took its place already). */
  release(peerId: string, holder: SeatHolder): void {
    const holders = this.#byPeer.get(peerId);
    if (holders === undefined) return;
    const rest = holders.filter((h) => h !== holder);
    if (rest.length === 0) this.#byPeer.delete(peerId);
    else this.#byPeer.set(peerId, rest);
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
    const holders = this.#byPeer.get(peerId);
    if (holders === undefined) return;
    for (let i = 0; i < holders.length; i++) (holders[i] as SeatHolder).offer(gen, seq, frame);
  }

  replaced(peerId: string, gen: number): void {
    for (const holder of this.#byPeer.get(peerId) ?? []) holder.replaced(gen);
  }

  resync(): void {
    for (const holders of this.#byPeer.values()) for (const holder of holders) holder.resync();
  }

  fenced(reason: string): void {
    this.#onFenced(reason);
  }
}
