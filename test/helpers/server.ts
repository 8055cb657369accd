import assert from "node:assert/strict";
import type WebSocket from "ws";
import { type Config, loadConfig } from "../../src/server/config.js";
import {
  type Signalroom,
  type SignalroomOptions,
  startSignalroom,
} from "../../src/server/index.js";
import { startRedis } from "./redis-server.js";
import { TestClient } from "./test-client.js";

/** A real server on a free port, and every client a test opened against it. */
export interface TestServer {
  readonly app: Signalroom;
  /** `ws://127.0.0.1:<port>/ws` */
  readonly wsUrl: string;
  /** `http://127.0.0.1:<port>` */
  readonly httpUrl: string;
  /** Every node's `httpUrl` (one, unless clustered). */
  readonly httpUrls: readonly string[];
  /** Opens a client (tracked, so `close` closes it). `path` defaults to `/ws`. */
  connect(path?: string, ws?: WebSocket.ClientOptions): Promise<TestClient>;
  /** Closes every client opened through `connect`. */
  closeClients(): Promise<void>;
  /** Closes every client, then the server. */
  close(): Promise<void>;
}

/** The config every integration test starts from: port 0, loopback, quiet, no web app. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return loadConfig({
    overrides: { port: 0, host: "127.0.0.1", logLevel: "silent", webRoot: "", ...overrides },
  });
}

/**
 * Limits raised far above anything a test sends, for tests that are about
 * volume (many sockets from one address, bursts of messages, join churn)
 * rather than about the limits themselves.
 */
export const BULK_LIMITS: Partial<Config> = {
  maxConnectionsPerIp: 100_000,
  rateLimitPerSecond: 100_000,
  rateLimitBurst: 100_000,
  rateLimitBytesPerSecond: 1024 * 1024 * 1024,
  rateLimitCloseAfter: 1_000_000,
  joinsPerMinute: 100_000,
};

/**
 * With `SIGNALROOM_TEST_NODES=<n>` (n > 1; `npm run test:cluster` sets 3),
 * every test server is a cluster instead: a real redis-server and n nodes
 * in this process sharing it, with `connect` spreading clients over the
 * nodes in turn. The protocol suites run unchanged against it.
 */
const CLUSTER_NODES = Number(process.env.SIGNALROOM_TEST_NODES ?? "1");

/** Starts the real server in-process on a free port (or a cluster, see above). */
export async function startTestServer(
  overrides: Partial<Config> = {},
  options: SignalroomOptions = {},
): Promise<TestServer> {
  if (CLUSTER_NODES > 1 && options.createRooms === undefined && overrides.redisUrl === undefined) {
    return startTestCluster(CLUSTER_NODES, overrides, options);
  }
  const app = await startSignalroom(testConfig(overrides), options);
  return around([app], async () => {});
}

async function startTestCluster(
  count: number,
  overrides: Partial<Config>,
  options: SignalroomOptions,
): Promise<TestServer> {
  const redis = await startRedis();
  const apps: Signalroom[] = [];
  for (let i = 0; i < count; i++) {
    apps.push(
      await startSignalroom(
        testConfig({ ...overrides, redisUrl: redis.url, nodeId: `node${i}` }),
        options,
      ),
    );
  }
  return around(apps, () => redis.stop());
}

/** A test server over one app, or over the nodes of a cluster (clients spread in turn). */
function around(apps: Signalroom[], stop: () => Promise<void>): TestServer {
  const first = apps[0] as Signalroom;
  const app: Signalroom =
    apps.length === 1
      ? first
      : {
          url: first.url,
          port: first.port,
          metricsUrl: first.metricsUrl,
          rooms: first.rooms,
          logger: first.logger,
          connections: () => apps.reduce((n, a) => n + a.connections(), 0),
          seated: () => apps.reduce((n, a) => n + a.seated(), 0),
          addresses: () => {
            const sum = { connections: 0, resumeFailures: 0, iceServers: 0 };
            for (const a of apps) {
              const each = a.addresses();
              sum.connections += each.connections;
              sum.resumeFailures += each.resumeFailures;
              sum.iceServers += each.iceServers;
            }
            return sum;
          },
          close: async () => {
            await Promise.all(apps.map((a) => a.close()));
          },
        };
  const clients = new Set<TestClient>();
  let turn = 0;

  const closeClients = async (): Promise<void> => {
    const all = [...clients];
    clients.clear();
    await Promise.all(all.map((client) => client.close()));
  };

  const wsBase = (a: Signalroom) => a.url.replace(/^http/, "ws");
  return {
    app,
    wsUrl: `${wsBase(first)}/ws`,
    httpUrl: first.url,
    httpUrls: apps.map((a) => a.url),
    async connect(path = "/ws", ws?: WebSocket.ClientOptions) {
      const target = apps[turn++ % apps.length] as Signalroom;
      const client = await TestClient.connect(`${wsBase(target)}${path}`, ws ? { ws } : {});
      clients.add(client);
      return client;
    },
    closeClients,
    async close() {
      await closeClients();
      await app.close();
      await stop();
    },
  };
}

/** Two clients joined to `roomId` with the `joined`/`peer-joined`/`ready` exchange consumed. */
export interface Pair {
  readonly a: TestClient;
  readonly b: TestClient;
  readonly aId: string;
  readonly bId: string;
}

/** Connects two clients and joins both to `roomId` (a first, b second). */
export async function joinPair(server: TestServer, roomId: string): Promise<Pair> {
  const a = await server.connect();
  const b = await server.connect();
  const aJoined = await a.join(roomId);
  const bJoined = await b.join(roomId);
  await b.next("ready");
  await a.next("peer-joined");
  await a.next("ready");
  return { a, b, aId: String(aJoined.peerId), bId: String(bJoined.peerId) };
}

/** Proves a pair still relays both ways: a -> b and b -> a, with `from` set. */
export async function assertPairWorks(pair: Pair, tag = "still-works"): Promise<void> {
  pair.a.send({ type: "message", data: `${tag}:a` });
  assert.deepEqual(await pair.b.next("message"), {
    type: "message",
    data: `${tag}:a`,
    from: pair.aId,
  });
  pair.b.send({ type: "message", data: `${tag}:b` });
  assert.deepEqual(await pair.a.next("message"), {
    type: "message",
    data: `${tag}:b`,
    from: pair.bId,
  });
}
