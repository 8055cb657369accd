import { type RedisServer, startRedis } from "./redis-server.js";
import { ServerProcess } from "./server-process.js";
import { TestClient } from "./test-client.js";

/** Several server processes sharing rooms through one real redis-server. */
export interface TestCluster {
  readonly redis: RedisServer;
  readonly nodes: readonly ServerProcess[];
  /** A client on node `i`. */
  connect(i: number): Promise<TestClient>;
  /**
   * A client through a "load balancer": the next node in turn that is up
   * and accepts it (a node that is stopped, draining or not ready is
   * skipped), as nginx's round robin with retries does.
   */
  viaBalancer(): Promise<TestClient>;
  /** Takes node `i` out of the balancer (it is paused or about to go). */
  out(i: number): void;
  /** Puts node `i` back. */
  in(i: number): void;
  /** `/healthz` of node `i`. */
  health(i: number): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/** Starts redis and `count` nodes (the built server, `dist/`), each ready before it returns. */
export async function startCluster(
  count: number,
  env: Record<string, string> = {},
): Promise<TestCluster> {
  const redis = await startRedis();
  const nodes: ServerProcess[] = [];
  const out = new Set<number>();
  let turn = 0;
  try {
    for (let i = 0; i < count; i++) {
      nodes.push(
        await ServerProcess.start(
          { REDIS_URL: redis.url, NODE_ID: `node${i}`, WEB_ROOT: "", ...env },
          "/readyz",
        ),
      );
    }
  } catch (error) {
    for (const node of nodes) node.kill();
    await redis.stop();
    throw error;
  }
  const cluster: TestCluster = {
    redis,
    nodes,
    connect: (i) => TestClient.connect((nodes[i] as ServerProcess).wsUrl),
    async viaBalancer() {
      let lastError: unknown;
      for (let tries = 0; tries < 4 * count; tries++) {
        const i = turn++ % count;
        const node = nodes[i] as ServerProcess;
        if (out.has(i) || !node.running) continue;
        try {
          return await TestClient.connect(node.wsUrl, { timeoutMs: 1000 });
        } catch (error) {
          lastError = error;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      throw new Error(`no node accepted a connection: ${String(lastError)}`);
    },
    out: (i) => out.add(i),
    in: (i) => out.delete(i),
    async health(i) {
      const response = await fetch(`${(nodes[i] as ServerProcess).url}/healthz`);
      return (await response.json()) as Record<string, unknown>;
    },
    async close() {
      for (const node of nodes) node.kill();
      await redis.stop();
    },
  };
  return cluster;
}
