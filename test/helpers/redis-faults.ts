import type { RedisServer } from "./redis-server.js";

/**
 * Faults of a real redis-server for cluster tests, on top of the
 * `RedisServer` of `redis-server.ts` (kept apart so that file, shared by
 * the conformance suite, need not change). `stop` and `restart` still work
 * on a server killed here: they wait for the exit it already had.
 */

/** SIGKILL, as a crash (no clean close of client sockets); resolves once the pid is gone. */
export async function killRedis(redis: RedisServer): Promise<void> {
  const pid = redis.pid;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return; // Gone already.
  }
  const deadline = Date.now() + 3000;
  // Signal 0 only checks the pid exists; it fails once Node has reaped the child.
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`redis-server ${pid} still there 3 s after SIGKILL`);
}

/**
 * Redis stops answering every client for `ms` (`CLIENT PAUSE ... ALL`):
 * connections stay open but commands wait, as in a stall or a slow failover.
 */
export async function pauseRedis(redis: RedisServer, ms: number): Promise<void> {
  await redis.command("CLIENT", "PAUSE", String(ms), "ALL");
}

/**
 * Closes every subscriber connection (`CLIENT KILL TYPE pubsub`), so nodes
 * lose their subscriptions while their command connections stay up.
 * Resolves with how many were closed.
 */
export async function killPubsubClients(redis: RedisServer): Promise<number> {
  return Number(await redis.command("CLIENT", "KILL", "TYPE", "pubsub"));
}
