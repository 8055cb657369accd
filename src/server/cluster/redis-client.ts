import { createClient } from "redis";

/** How soon a lost connection to Redis is retried: fast, so a node recovers within 2 s. */
const RETRY_CAP_MS = 500;

/**
 * A node-redis client as the cluster uses it. Commands fail at once while
 * Redis is unreachable (`disableOfflineQueue`): a queued write replayed
 * seconds later would act on a room that moved on, and a request that
 * cannot be served is answered `unavailable` instead.
 */
export function newRedisClient(url: string) {
  return createClient({
    url,
    RESP: 2,
    disableOfflineQueue: true,
    pingInterval: 1000,
    socket: {
      connectTimeout: 2000,
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, RETRY_CAP_MS),
    },
  });
}

export type Redis = ReturnType<typeof newRedisClient>;
