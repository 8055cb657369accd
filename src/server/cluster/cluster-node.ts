import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { LocalDelivery } from "../rooms/rooms.js";
import { CHANNEL_PREFIX, CLUSTER, nodeSeatsKey } from "./keys.js";
import * as lua from "./lua.js";
import type { Redis } from "./redis-client.js";
import type { RedisRooms } from "./redis-rooms.js";
import { Script } from "./script.js";

const BEAT = new Script(lua.BEAT);
const REAP_NODES = new Script(lua.REAP_NODES);
const REAPER_LOCK = new Script(`
if redis.call('GET', KEYS[1]) == ARGV[1] or redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`);

/** Longest the jobs after a heartbeat (retries, reaping) may take before the next round. */
const JOBS_TIMEOUT_MS = 30_000;
/** Members parked or expired per reaper round, at most (the rest wait for the next). */
const REAP_BATCH = 200;

export interface ClusterNodeOptions {
  /** Commands. */
  readonly redis: Redis;
  /** Pub/sub (a connection in subscriber mode can do nothing else); replaced when it goes deaf. */
  readonly subscriber: Redis;
  /** `NODE_ID`: this node's name; each incarnation adds a suffix. */
  readonly name: string;
  readonly livenessMs: number;
  readonly graceMs: number;
  readonly delivery: LocalDelivery;
  readonly logger: Logger;
  /** Heartbeat interval (2000). */
  readonly beatMs?: number;
  /** Redis unreachable this long: sockets close with a reconnect code (5000). */
  readonly outageMs?: number;
}

type Counts = { readonly rooms?: number; readonly members?: number; readonly parked?: number };

/**
 * This process as a member of the cluster: its heartbeat, its channel,
 * and the jobs one node does for all (declaring silent nodes dead, parking
 * their members, ending grace periods).
 *
 * - **Incarnations.** The node's key is its name plus a random suffix, new
 *   whenever it starts over; a key once declared dead never acts again.
 * - **Lease.** A node that has not had a heartbeat acknowledged for nearly
 *   the liveness bound may have been declared dead: it stops writing what
 *   its channel brings (the frames stay in the members' streams) until a
 *   beat goes through; told it was fenced, it closes every socket with a
 *   reconnect code and starts over under a new key.
 * - **Epoch.** A random value kept in Redis. Gone or changed means Redis
 *   lost its data: the rooms are gone, so every socket is closed the same
 *   way, resumes fail, and clients join again.
 * - **Self-ping.** A node publishes to its own channel every beat; a ping
 *   not back within two beats means the subscription is broken: it
 *   subscribes again and every socket here fills what it missed from the
 *   streams.
 */
export class ClusterNode {
  readonly #opts: Required<ClusterNodeOptions>;
  #sub: Redis;
  #key: string;
  #rooms: RedisRooms | null = null;
  #epoch: string | null = null;
  #subscribed = false;
  #registered = false;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  /** When the last acknowledged beat was sent (monotonic ms); 0: never. */
  #lastBeatSent = 0;
  /** Beats acknowledged in a row at a steady pace (a reaper judges others only when steady). */
  #steady = 0;
  #outageSince: number | null = null;
  #fencedForOutage = false;
  #pingSent = 0;
  #pingSentAt = 0;
  #pingSeen = 0;
  #resyncOnPing = false;
  /** The heartbeat under way, if any (a lapsed lease waits for it). */
  #beating: Promise<void> | null = null;

  constructor(opts: ClusterNodeOptions) {
    this.#opts = { beatMs: 2000, outageMs: 5000, ...opts };
    this.#key = incarnation(opts.name);
    this.#sub = opts.subscriber;
    this.#watch(this.#sub);
    // Noticed as it happens, not at the next heartbeat.
    opts.redis.on("error", (error: unknown) => this.#noteOutage(error));
  }

  #watch(subscriber: Redis): void {
    subscriber.on("ready", () => {
      // node-redis subscribes again by itself; what was published while
      // the connection was down is in the streams: fill once the channel
      // is proven to work again.
      this.#resyncOnPing = true;
    });
  }

  /** This incarnation's key: its channel and its name in the live set. */
  get key(): string {
    return this.#key;
  }

  get name(): string {
    return this.#opts.name;
  }

  attach(rooms: RedisRooms): void {
    this.#rooms = rooms;
  }

  /** Registers, subscribes and starts beating; resolves after the first attempt. */
  async start(): Promise<void> {
    await this.#tick();
  }

  /** Live (beating, subscribed, lease held) and Redis reachable. */
  ready(): boolean {
    return (
      !this.#closed &&
      this.#registered &&
      this.#subscribed &&
      this.#opts.redis.isReady &&
      this.#sub.isReady &&
      this.#outageSince === null &&
      !this.#leaseLapsed()
    );
  }

  /**
   * Null while the lease holds (or Redis is simply down: requests then get
   * `unavailable`). Lapsed, as after a pause: settles after a heartbeat,
   * which either renews the lease or finds the node fenced.
   */
  gate(): Promise<void> | null {
    if (this.#closed || this.#outageSince !== null || !this.#leaseLapsed()) return null;
    if (this.#beating === null) {
      if (this.#timer) clearTimeout(this.#timer);
      void this.#tick();
    }
    return this.#beating;
  }

  /** Redis state for /healthz. */
  state(): "up" | "down" | "starting" {
    if (this.ready()) return "up";
    return this.#registered ? "down" : "starting";
  }

  /** Adjusts the cluster-wide counts (best effort: /healthz only). */
  count(delta: Counts): void {
    const redis = this.#opts.redis;
    if (!redis.isReady) return;
    const work: Promise<unknown>[] = [];
    for (const [field, by] of Object.entries(delta)) {
      if (by) work.push(redis.hIncrBy(CLUSTER.stats, field, by));
    }
    Promise.all(work).catch(() => {});
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    const { redis } = this.#opts;
    const subscriber = this.#sub;
    try {
      // Our members were parked as their sockets closed: leave the live set
      // so nobody waits for our death to be noticed.
      if (redis.isReady) await redis.zRem(CLUSTER.nodes, this.#key);
    } catch {
      // Stopping anyway.
    }
    await Promise.allSettled([subscriber.close(), redis.close()]);
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => void this.#tick(), this.#opts.beatMs);
    this.#timer.unref();
  }

  #tick(): Promise<void> {
    this.#beating ??= this.#beat().finally(() => {
      this.#beating = null;
    });
    return this.#beating;
  }

  /**
   * One heartbeat, then the jobs that ride on it. The heartbeat is bounded
   * in time: a command that hangs (a half-open connection, a paused Redis)
   * must not stop the heartbeats, or the node would wedge with its lease
   * lapsed. The jobs after it are bounded too, but their failure is only
   * logged: the next beat tries again.
   */
  async #beat(): Promise<void> {
    const sentAt = performance.now();
    try {
      let redisNow: number | null;
      try {
        redisNow = await withTimeout(this.#heartbeat(sentAt), 2 * this.#opts.beatMs, "heartbeat");
      } catch (error) {
        this.#steady = 0;
        this.#noteOutage(error);
        return;
      }
      if (redisNow === null) return;
      try {
        await withTimeout(this.#jobs(redisNow), JOBS_TIMEOUT_MS, "reaping");
      } catch (error) {
        this.#opts.logger.warn({ err: error }, "cluster housekeeping failed; retrying");
      }
    } finally {
      this.#schedule();
    }
  }

  /** Beats; returns Redis's clock (ms), or null when the node had to start over. */
  async #heartbeat(sentAt: number, retry = true): Promise<number | null> {
    const { redis, logger } = this.#opts;
    if (!redis.isReady) throw new Error("redis is not connected");
    if (this.#epoch === null || !this.#subscribed) await this.#register();
    const r = (await BEAT.run(
      redis,
      [CLUSTER.epoch, CLUSTER.nodes, CLUSTER.fenced],
      [this.#key, this.#epoch as string],
    )) as string[];
    if (r[0] !== "ok") {
      await this.#startOver(r[0] as string);
      // Registered again under the new name at once, not a beat later.
      return retry ? this.#heartbeat(sentAt, false) : null;
    }
    const lapsed = this.#leaseLapsed() || this.#fencedForOutage;
    this.#steady =
      sentAt - this.#lastBeatSent < 2 * this.#opts.beatMs + 1000 ? this.#steady + 1 : 0;
    this.#lastBeatSent = sentAt;
    this.#registered = true;
    if (this.#outageSince !== null) logger.info("redis reachable again");
    this.#outageSince = null;
    this.#fencedForOutage = false;
    // Frames that came while the lease was in doubt were not written.
    if (lapsed) this.#opts.delivery.resync();
    await this.#checkChannel();
    return Number(r[1]);
  }

  async #jobs(redisNow: number): Promise<void> {
    await this.#rooms?.retryPending();
    await this.#reap(redisNow);
  }

  /** Redis is out of reach: from now, sockets close after `outageMs` unless it comes back. */
  #noteOutage(error: unknown): void {
    if (this.#closed || this.#outageSince !== null) return;
    this.#outageSince = performance.now();
    this.#opts.logger.warn({ err: error }, "redis unreachable");
    const since = this.#outageSince;
    setTimeout(() => {
      if (this.#outageSince !== since || this.#fencedForOutage || this.#closed) return;
      this.#fencedForOutage = true;
      this.#opts.delivery.fenced("redis unreachable");
    }, this.#opts.outageMs).unref();
  }

  /** Adopts the cluster's epoch (creating it on an empty Redis) and subscribes. */
  async #register(): Promise<void> {
    const { redis } = this.#opts;
    const subscriber = this.#sub;
    await redis.set(CLUSTER.epoch, randomBytes(12).toString("base64url"), { condition: "NX" });
    this.#epoch = await redis.get(CLUSTER.epoch);
    if (!this.#subscribed) {
      try {
        await withTimeout(
          subscriber.subscribe(CHANNEL_PREFIX + this.#key, this.#onMessage),
          this.#opts.beatMs,
          "subscribe",
        );
      } catch (error) {
        // Its state is unknown now: the next attempt uses a new connection.
        await this.#replaceSubscriber();
        throw error;
      }
      this.#subscribed = true;
    }
  }

  /** Fenced, or Redis lost its data: close every socket, then live on under a new key. */
  async #startOver(reason: string): Promise<void> {
    const { logger, delivery } = this.#opts;
    const subscriber = this.#sub;
    logger.warn({ reason, node: this.#key }, "this node must start over; closing its sockets");
    this.#registered = false;
    if (reason !== "fenced") this.#epoch = null;
    const old = this.#key;
    this.#key = incarnation(this.#opts.name);
    delivery.fenced(reason);
    if (this.#subscribed) {
      this.#subscribed = false;
      await subscriber.unsubscribe(CHANNEL_PREFIX + old).catch(() => {});
    }
  }

  #leaseLapsed(): boolean {
    return (
      this.#lastBeatSent === 0 ||
      performance.now() - this.#lastBeatSent > this.#opts.livenessMs - this.#opts.beatMs / 2
    );
  }

  #onMessage = (message: string): void => {
    const kind = message[0];
    if (kind === "d") {
      const a = message.indexOf("\n", 2);
      const b = message.indexOf("\n", a + 1);
      const c = message.indexOf("\n", b + 1);
      // Not written while the lease is in doubt: the frame is in the stream.
      if (this.#leaseLapsed()) return;
      this.#opts.delivery.deliver(
        message.slice(2, a),
        Number(message.slice(a + 1, b)),
        Number(message.slice(b + 1, c)),
        message.slice(c + 1),
      );
    } else if (kind === "r") {
      const a = message.indexOf("\n", 2);
      this.#opts.delivery.replaced(message.slice(2, a), Number(message.slice(a + 1)));
    } else if (kind === "p") {
      this.#pingSeen = Math.max(this.#pingSeen, Number(message.slice(2)));
      if (this.#resyncOnPing && this.#pingSeen === this.#pingSent) {
        this.#resyncOnPing = false;
        this.#opts.delivery.resync();
      }
    }
  };

  async #replaceSubscriber(): Promise<Redis> {
    const old = this.#sub;
    const fresh = old.duplicate();
    fresh.on("error", () => {});
    this.#watch(fresh);
    this.#sub = fresh;
    old.destroy();
    await fresh.connect();
    return fresh;
  }

  /** Self-ping through our own channel; subscribes again when one does not come back. */
  async #checkChannel(): Promise<void> {
    const { redis, logger, beatMs } = this.#opts;
    const channel = CHANNEL_PREFIX + this.#key;
    const now = performance.now();
    if (this.#pingSeen < this.#pingSent) {
      if (now - this.#pingSentAt < 2 * beatMs) return;
      // Deaf: a new connection, not a repair of one whose state is unknown.
      logger.warn({ node: this.#key }, "own channel silent; subscribing again");
      this.#subscribed = false;
      const fresh = await this.#replaceSubscriber();
      await fresh.subscribe(channel, this.#onMessage);
      this.#subscribed = true;
      this.#resyncOnPing = true;
    }
    this.#pingSentAt = now;
    await redis.publish(channel, `p\n${++this.#pingSent}`);
  }

  /** One node at a time declares silent nodes dead and ends grace periods. */
  async #reap(redisNow: number): Promise<void> {
    const { redis, logger, beatMs, livenessMs, graceMs } = this.#opts;
    const rooms = this.#rooms;
    if (rooms === null) return;
    const mine = await REAPER_LOCK.run(redis, [CLUSTER.reaper], [this.#key, 3 * beatMs]);
    // After Redis itself stalled (every beat late at once), judge nobody
    // until this node has beaten steadily again.
    if (Number(mine) !== 1 || this.#steady < 2) return;
    const dead = (await REAP_NODES.run(
      redis,
      [CLUSTER.nodes, CLUSTER.fenced],
      [livenessMs],
    )) as string[];
    for (const node of dead) {
      const entries = await redis.sMembers(nodeSeatsKey(node));
      logger.warn({ node, members: entries.length }, "a node went silent; parking its members");
      for (const entry of entries) {
        if (graceMs > 0) {
          await redis.zAdd(CLUSTER.parked, { score: redisNow + graceMs, value: entry });
        }
        const until = await rooms.orphan(entry, node);
        if (until !== null) await redis.zAdd(CLUSTER.parked, { score: until, value: entry });
        else await redis.zRem(CLUSTER.parked, entry);
      }
      await redis.del(nodeSeatsKey(node));
    }
    const due = await redis.zRangeByScore(CLUSTER.parked, "-inf", redisNow, {
      LIMIT: { offset: 0, count: REAP_BATCH },
    });
    for (const entry of due) {
      const result = await rooms.expire(entry);
      if (result.state === "later") {
        await redis.zAdd(CLUSTER.parked, { score: result.until, value: entry });
      } else {
        await redis.zRem(CLUSTER.parked, entry);
      }
    }
  }
}

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function incarnation(name: string): string {
  return `${name}.${randomBytes(4).toString("hex")}`;
}
