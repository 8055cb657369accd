import { randomFillSync } from "node:crypto";

/** Bytes drawn from the system's CSPRNG at once (64 ids of 16 bytes). */
const POOL_BYTES = 1024;
const pool = Buffer.alloc(POOL_BYTES);
let offset = POOL_BYTES;

/**
 * `bytes` random bytes as base64url, from the same CSPRNG as `randomBytes`
 * but refilled a kilobyte at a time: a join needs a peer id and a resume
 * token (and a new room its sid), and one `randomBytes` call each was a
 * visible share of a join's CPU. Every byte is handed out once, never again.
 */
export function randomId(bytes: number): string {
  if (bytes > POOL_BYTES) throw new RangeError(`at most ${POOL_BYTES} bytes`);
  if (offset + bytes > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const id = pool.toString("base64url", offset, offset + bytes);
  offset += bytes;
  return id;
}
