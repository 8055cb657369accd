/** Open connections per client address, for MAX_CONNECTIONS_PER_IP. */
export class ConnectionCounter {
  readonly #counts = new Map<string, number>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  /** Counts a new connection from `address`; false (and not counted) at the limit. */
  tryAcquire(address: string): boolean {
    const count = this.#counts.get(address) ?? 0;
    if (count >= this.#max) return false;
    this.#counts.set(address, count + 1);
    return true;
  }

  release(address: string): void {
    const count = this.#counts.get(address) ?? 0;
    if (count <= 1) this.#counts.delete(address);
    else this.#counts.set(address, count - 1);
  }

  /** Distinct addresses with open connections (for leak checks). */
  get addresses(): number {
    return this.#counts.size;
  }
}
