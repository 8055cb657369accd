import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { RoomsOptions } from "../rooms/rooms.js";
import { ClusterNode } from "./cluster-node.js";
import { newRedisClient } from "./redis-client.js";
import { RedisRooms } from "./redis-rooms.js";

export interface ClusterOptions extends RoomsOptions {
  readonly url: string;
  /** `NODE_ID`; defaults to a random name unique to this process. */
  readonly nodeId?: string | undefined;
  readonly livenessMs: number;
  readonly logger: Logger;
}

export interface Cluster {
  readonly rooms: RedisRooms;
  readonly node: ClusterNode;
}

/**
 * Connects to Redis and joins the cluster. Resolves once the first
 * registration was tried: a node started while Redis is down comes up not
 * ready (`/readyz` 503) and registers by itself when Redis appears.
 */
export async function joinCluster(opts: ClusterOptions): Promise<Cluster> {
  const redis = newRedisClient(opts.url);
  const subscriber = newRedisClient(opts.url);
  const log = opts.logger.child({ component: "cluster" });
  // node-redis emits `error` on every failed connection attempt; it
  // reconnects by itself, so these are reported once per outage, by the node.
  redis.on("error", () => {});
  subscriber.on("error", () => {});
  const node = new ClusterNode({
    redis,
    subscriber,
    name: opts.nodeId ?? `node-${randomBytes(4).toString("hex")}`,
    livenessMs: opts.livenessMs,
    graceMs: opts.graceMs,
    delivery: opts.delivery,
    logger: log,
  });
  const rooms = new RedisRooms(redis, node, opts);
  node.attach(rooms);
  await Promise.allSettled([redis.connect(), subscriber.connect()]);
  await node.start();
  log.info({ node: node.key, ready: node.ready() }, "joined the cluster");
  return { rooms, node };
}
