import type { PeerRemovedReason } from "signalroom/client";
import { addTile, type Tile } from "./tiles.js";

/** Who a peer is, when we can tell: the verified user id, else the name they gave. */
function identityOf(name: string | undefined, userId: string | undefined): string | null {
  if (userId) return `user:${userId}`;
  if (name) return `name:${name}`;
  return null;
}

interface Entry {
  readonly tile: Tile;
  readonly identity: string | null;
}

/**
 * The remote tiles by peer id, and who each one is. A re-join (after the
 * server lost our place) gives everyone a new peer id: the tiles of the
 * old ids wait a while for their person to come back under a new one, so
 * the grid does not jump and nobody who did not leave is announced as
 * having left.
 */
export class Roster {
  readonly #tiles = new Map<string, Entry>();
  /** Tiles of a re-join's old peer ids, by identity, until their person is back. */
  readonly #waiting = new Map<string, { tile: Tile; timer: ReturnType<typeof setTimeout> }>();
  readonly #waitMs: number;

  /** `waitMs`: how long a re-join's tile waits for its person. Default 30000. */
  constructor(waitMs = 30_000) {
    this.#waitMs = waitMs;
  }

  get(peerId: string): Tile | undefined {
    return this.#tiles.get(peerId)?.tile;
  }

  values(): Tile[] {
    return [...this.#tiles.values()].map((e) => e.tile);
  }

  /** Whether this person has a tile already (here, or waiting after a re-join). */
  has(name: string | undefined, userId: string | undefined): boolean {
    const identity = identityOf(name, userId);
    if (identity === null) return false;
    if (this.#waiting.has(identity)) return true;
    return [...this.#tiles.values()].some((e) => e.identity === identity);
  }

  /** A tile for a peer: the one its person had before a re-join, or a new one. */
  add(peerId: string, name: string | undefined, userId: string | undefined): Tile {
    const identity = identityOf(name, userId);
    const waiting = identity === null ? undefined : this.#waiting.get(identity);
    let tile: Tile;
    if (identity !== null && waiting) {
      clearTimeout(waiting.timer);
      this.#waiting.delete(identity);
      tile = waiting.tile;
      tile.setPeerId(peerId);
      tile.setState("new");
    } else {
      tile = addTile(peerId);
    }
    tile.setName(name);
    this.#tiles.set(peerId, { tile, identity });
    return tile;
  }

  /**
   * Removes a peer's tile. Returns the name to announce as gone (left,
   * removed, dropped), or null when nobody left: a re-join (the tile waits
   * for its person), the call ending, or someone who is here already under
   * a newer peer id.
   */
  remove(peerId: string, reason: PeerRemovedReason): string | null {
    const entry = this.#tiles.get(peerId);
    if (!entry) return null;
    this.#tiles.delete(peerId);
    const { tile, identity } = entry;
    if (reason === "rejoin" && identity !== null && !this.#waiting.has(identity)) {
      tile.setState("disconnected");
      const timer = setTimeout(() => {
        this.#waiting.delete(identity);
        tile.remove();
      }, this.#waitMs);
      this.#waiting.set(identity, { tile, timer });
      return null;
    }
    const label = tile.label;
    tile.remove();
    if (reason === "ended" || reason === "rejoin") return null;
    const stillHere = [...this.#tiles.values()].some((e) => e.identity === identity);
    return identity !== null && stillHere ? null : label;
  }

  /** Removes every tile, waiting ones included; nobody is announced. */
  clear(): void {
    for (const { tile } of this.#tiles.values()) tile.remove();
    this.#tiles.clear();
    for (const { tile, timer } of this.#waiting.values()) {
      clearTimeout(timer);
      tile.remove();
    }
    this.#waiting.clear();
  }
}
