import { isIPv4, isIPv6 } from "node:net";

/**
 * Open connections per client, for MAX_CONNECTIONS_PER_IP. A client is an
 * IPv4 address, or an IPv6 /64 (see {@link addressKey}).
 */
export class ConnectionCounter {
  readonly #counts = new Map<string, number>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  /** Counts a new connection from `address`; false (and not counted) at the limit. */
  tryAcquire(address: string): boolean {
    const key = addressKey(address);
    const count = this.#counts.get(key) ?? 0;
    if (count >= this.#max) return false;
    this.#counts.set(key, count + 1);
    return true;
  }

  release(address: string): void {
    const key = addressKey(address);
    const count = this.#counts.get(key) ?? 0;
    if (count <= 1) this.#counts.delete(key);
    else this.#counts.set(key, count - 1);
  }

  /** Distinct clients with open connections (for leak checks). */
  get addresses(): number {
    return this.#counts.size;
  }
}

/**
 * What a connection is counted under. IPv4 addresses count as themselves,
 * also when written IPv4-mapped (`::ffff:192.0.2.1`, as a dual-stack
 * listener reports them). IPv6 addresses count by their /64: that is one
 * subscriber's network, and a single host can use any of its 2^64
 * addresses, so counting whole addresses would not limit it at all.
 * Anything else (a proxy's odd header entry) counts verbatim.
 */
export function addressKey(address: string): string {
  const bare = address.replace(/%.*$/, ""); // drop a zone id (fe80::1%eth0)
  if (isIPv4(bare)) return bare;
  if (!isIPv6(bare)) return address;
  const groups = ipv6Groups(bare);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi = 0, lo = 0] = groups.slice(6);
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(":")}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (checked by `isIPv6`). */
function ipv6Groups(address: string): number[] {
  let text = address;
  // An IPv4 tail (::ffff:192.0.2.1) is two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a = 0, b = 0, c = 0, d = 0] = v4.slice(1).map(Number);
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string) => (part === "" ? [] : part.split(":").map((h) => parseInt(h, 16)));
  const [head = "", tail] = text.split("::");
  if (tail === undefined) return parse(head);
  const front = parse(head);
  const back = parse(tail);
  return [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back];
}
