/**
 * Webhooks scenario of `npm run bench` (`tsx bench/run.ts webhooks`): does a
 * receiver that is down slow signaling? A join storm (1,000 clients into 500
 * rooms of 2 at once, each join making 2-3 events) against one node without
 * webhooks, one whose WEBHOOK_URL refuses connections (nothing listens), and
 * one whose receiver accepts and never answers (every request waits out its
 * 5 s limit, so the queue fills and later events are dropped). Taking
 * turns, best of 2; prints joins/s, rooms ready/s and join latency with
 * ratios against the node without webhooks, then failed joins (any: exit
 * code 1) and each node's webhooks failed and dropped (from its /metrics).
 * Servers are processes on 127.0.0.1, stopped by pid.
 */
import { createServer, type Server, type Socket } from "node:net";
import { ServerProcess } from "../test/helpers/server-process.js";
import { clockTicks, LIMITS, load, quiet, stop } from "./cluster.js";
import type { JoinResult } from "./relay-load.js";

const JOINERS = Number(process.env.BENCH_WEBHOOK_JOINERS ?? 1000);
const REPEATS = Number(process.env.BENCH_WEBHOOK_REPEATS ?? 2);
const SECRET = "bench-webhook-secret-0123456789";

type Name = "no webhooks" | "receiver refuses" | "receiver hangs";

/** A TCP server that accepts and never answers: the slowest receiver there is. */
async function blackHole(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * `signalroom_webhooks_total` of one node by result (its /metrics, open
 * without METRICS_TOKEN): shows that the webhook path was in play.
 */
async function webhookCounts(node: ServerProcess): Promise<Record<string, number>> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const [, result, value] of text.matchAll(
    /^signalroom_webhooks_total\{result="(\w+)"\} (\d+)$/gm,
  )) {
    counts[result as string] = Number(value);
  }
  return counts;
}

/** A port nothing listens on: taken and released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function webhooks(): Promise<void> {
  const ticks = clockTicks();
  const hole = await blackHole();
  const refused = await closedPort();
  const nodes = new Map<Name, ServerProcess>();
  const results = new Map<Name, JoinResult[]>();
  const sent = new Map<Name, Record<string, number>>();
  const killAll = () => {
    for (const node of nodes.values()) node.kill();
  };
  process.once("exit", killAll);
  try {
    const env = (url: string | null): Record<string, string> =>
      url === null ? LIMITS : { ...LIMITS, WEBHOOK_URL: url, WEBHOOK_SECRET: SECRET };
    nodes.set("no webhooks", await ServerProcess.start(env(null), "/healthz"));
    nodes.set(
      "receiver refuses",
      await ServerProcess.start(env(`http://127.0.0.1:${refused}/hooks`), "/healthz"),
    );
    nodes.set(
      "receiver hangs",
      await ServerProcess.start(env(`http://127.0.0.1:${hole.port}/hooks`), "/healthz"),
    );
    for (let rep = 0; rep < REPEATS; rep++) {
      for (const [name, node] of nodes) {
        const result = await load<JoinResult>({
          mode: "joins",
          urls: [node.wsUrl],
          clients: JOINERS,
          rounds: 1,
          pids: { nodes: [node.pid as number], redis: null },
          clockTicks: ticks,
          deadlineMs: 45_000,
        });
        results.set(name, [...(results.get(name) ?? []), result]);
        await quiet([node]);
      }
    }
    for (const [name, node] of nodes) sent.set(name, await webhookCounts(node));
  } finally {
    for (const node of nodes.values()) await stop(node);
    await hole.close();
    process.off("exit", killAll);
  }

  const best = (name: Name) =>
    (results.get(name) ?? []).reduce((b, x) =>
      (x.joinsPerSecond[0] ?? 0) > (b.joinsPerSecond[0] ?? 0) ? x : b,
    );
  const base = best("no webhooks");
  console.log(
    `\nwebhooks: join storm of ${JOINERS} clients into ${JOINERS / 2} rooms of 2 on one node, ` +
      `best of ${REPEATS}; a receiver that is down must not slow a join (ratios ~1.0)`,
  );
  const names: Name[] = ["no webhooks", "receiver refuses", "receiver hangs"];
  console.log(`${"metric".padEnd(28)}${names.map((n) => n.padStart(18)).join("")}`);
  const row = (metric: string, f: (x: JoinResult) => number, lowerIsBetter: boolean) => {
    const cells = names.map((n) => {
      const value = f(best(n));
      const ratio = n === "no webhooks" ? "" : ` (${(value / f(base)).toFixed(2)})`;
      return `${value.toFixed(value >= 100 ? 0 : 2)}${ratio}`.padStart(18);
    });
    console.log(
      `${metric.padEnd(28)}${cells.join("")}  ${lowerIsBetter ? "lower" : "higher"} is better`,
    );
  };
  row("joins / s", (x) => x.joinsPerSecond[0] ?? 0, false);
  // First join sent -> every room of 2 `ready`: the whole storm, as users see it.
  row("rooms ready / s", (x) => (x.clients / 2) * (1000 / (x.allReadyMs[0] ?? Infinity)), false);
  row("join -> joined p50 (ms)", (x) => x.p50, true);
  row("join -> joined p99 (ms)", (x) => x.p99, true);
  row("node CPU / join (us)", (x) => (x.nodeCpuMs * 1000) / Math.max(1, x.joins), true);
  const failed = (n: Name) => (results.get(n) ?? []).reduce((sum, x) => sum + x.failures, 0);
  const line = (metric: string, cell: (n: Name) => string, note: string) =>
    console.log(`${metric.padEnd(28)}${names.map((n) => cell(n).padStart(18)).join("")}  ${note}`);
  line("failed joins (every repeat)", (n) => String(failed(n)), "MUST be 0");
  line(
    "webhooks failed / dropped",
    (n) => `${sent.get(n)?.failed ?? 0} / ${sent.get(n)?.dropped ?? 0}`,
    "the webhook path was in play",
  );
  const total = names.reduce((sum, n) => sum + failed(n), 0);
  if (total > 0) {
    console.log(`FAIL: ${total} joins failed (over every repeat)`);
    process.exitCode = 1;
  }
}
