import assert from "node:assert/strict";
import type WebSocket from "ws";
import { type Config, loadConfig } from "../../src/server/config.js";
import {
  type Signalroom,
  type SignalroomOptions,
  startSignalroom,
} from "../../src/server/index.js";
import { TestClient } from "./test-client.js";

/** A real server on a free port, and every client a test opened against it. */
export interface TestServer {
  readonly app: Signalroom;
  /** `ws://127.0.0.1:<port>/ws` */
  readonly wsUrl: string;
  /** `http://127.0.0.1:<port>` */
  readonly httpUrl: string;
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

/** Starts the real server in-process on a free port. */
export async function startTestServer(
  overrides: Partial<Config> = {},
  options: SignalroomOptions = {},
): Promise<TestServer> {
  const app = await startSignalroom(testConfig(overrides), options);
  const httpUrl = app.url;
  const base = httpUrl.replace(/^http/, "ws");
  const clients = new Set<TestClient>();

  const closeClients = async (): Promise<void> => {
    const all = [...clients];
    clients.clear();
    await Promise.all(all.map((client) => client.close()));
  };

  return {
    app,
    wsUrl: `${base}/ws`,
    httpUrl,
    async connect(path = "/ws", ws?: WebSocket.ClientOptions) {
      const client = await TestClient.connect(`${base}${path}`, ws ? { ws } : {});
      clients.add(client);
      return client;
    },
    closeClients,
    async close() {
      await closeClients();
      await app.close();
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
