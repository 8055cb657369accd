/**
 * Cluster scenario of `npm run bench` (`tsx bench/run.ts cluster`): what
 * sharing rooms through Redis costs, against one node with its rooms in
 * memory (no REDIS_URL) under the same load, in the same run.
 *
 *  1. Relay: 50 rooms of 2 under a fixed open-loop rate of 2,000 relayed
 *     messages/s in all (the a's send 1,000/s, every 10th an `offer` of
 *     ~3.7 KB, the others `ice` of ~265 B; each b echoes the ice and answers
 *     the offer with an `answer` of the same size), with the two members of
 *     every room on the SAME node, then on DIFFERENT nodes (3 nodes, rooms
 *     spread over them): round trip p50/p99, and CPU per relayed message
 *     summed over the node processes, redis-server's apart. (At 4,000/s
 *     the cluster and the generator take ~1.6 of a 2-core machine's cores:
 *     it holds when nothing else runs, but anything else tips the open-loop
 *     queue into growing without bound; BENCH_CLUSTER_RATE=4000 asks.)
 *  2. Join storm: 1,000 clients joining 500 rooms of 2 at once, spread over
 *     the 3 nodes (the two members of a room on different nodes).
 *
 * The single node and the cluster are up together and the configurations
 * take turns, best of 2 each, so the noise of a shared machine falls on
 * all of them alike. BENCH_CLUSTER_RATE, _PAIRS, _SECONDS, _JOINERS and
 * _REPEATS change the load.
 *
 * Every server (the built `dist/server/cli.js`) and redis-server is its own
 * process on 127.0.0.1, stopped by its pid; the load comes from
 * bench/relay-load.ts, a process of its own, which reads the servers' CPU
 * (utime + stime of /proc/<pid>/stat) at the edges of its measured window.
 * Abuse limits are raised out of the way. Every loop is bounded.
 */
import { spawn } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { type RedisServer, startRedis } from "../test/helpers/redis-server.js";
import { ServerProcess } from "../test/helpers/server-process.js";
import type { JoinResult, RelayResult } from "./relay-load.js";
import { clockTicks, LIMITS, TRAFFIC } from "./targets.js";

export { clockTicks, LIMITS };

const root = join(import.meta.dirname, "..");
const NODES = 3;
const PAIRS = Number(process.env.BENCH_CLUSTER_PAIRS ?? 50);
/** Relayed messages a second offered in all: the a's send half, the b's echoes are the rest. */
const RATE = Number(process.env.BENCH_CLUSTER_RATE ?? 2000);
const MEASURE_MS = Number(process.env.BENCH_CLUSTER_SECONDS ?? 6) * 1000;
const WARMUP_MS = 2000;
const JOINERS = Number(process.env.BENCH_CLUSTER_JOINERS ?? 1000);
const REPEATS = Number(process.env.BENCH_CLUSTER_REPEATS ?? 2);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs bench/relay-load.ts as its own process; its last JSON line. */
export async function load<T>(args: object): Promise<T> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(root, "bench", "relay-load.ts"), JSON.stringify(args)],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`bench/relay-load.ts exited with ${code}`);
  return JSON.parse(out.trim().split("\n").pop() ?? "{}") as T;
}

/** SIGTERM (SIGKILL after 5 s), by pid. */
export async function stop(node: ServerProcess): Promise<void> {
  const timer = setTimeout(() => node.kill(), 5000);
  await node.stop().catch(() => node.kill());
  clearTimeout(timer);
}

/** Waits (bounded) until no node holds a socket, so one phase does not bleed into the next. */
export async function quiet(nodes: ServerProcess[]): Promise<void> {
  const end = Date.now() + 10_000;
  for (const node of nodes) {
    while (Date.now() < end) {
      try {
        const health = (await (await fetch(`${node.url}/healthz`)).json()) as {
          connections?: number;
        };
        if (health.connections === 0) break;
      } catch {
        // ask again
      }
      await sleep(100);
    }
  }
  await sleep(500);
}

interface Setup {
  nodes: ServerProcess[];
  redis: RedisServer | null;
}

function relayArgs(setup: Setup, pairs: { a: string; b: string }[], ticks: number) {
  return {
    mode: "relay",
    pairs,
    rate: RATE / 2,
    ...TRAFFIC,
    warmupMs: WARMUP_MS,
    measureMs: MEASURE_MS,
    pids: { nodes: setup.nodes.map((n) => n.pid as number), redis: setup.redis?.pid ?? null },
    clockTicks: ticks,
    deadlineMs: WARMUP_MS + MEASURE_MS + 45_000,
  };
}

function joinArgs(setup: Setup, ticks: number) {
  return {
    mode: "joins",
    urls: setup.nodes.map((n) => n.wsUrl),
    clients: JOINERS,
    rounds: 1,
    pids: { nodes: setup.nodes.map((n) => n.pid as number), redis: setup.redis?.pid ?? null },
    clockTicks: ticks,
    deadlineMs: 45_000,
  };
}

const fmt = (n: number) =>
  !Number.isFinite(n) ? "-" : Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(2);

type Relay = "in-memory" | "same node" | "cross node";

export async function cluster(): Promise<void> {
  const ticks = clockTicks();
  const started = Date.now();
  const load1 = loadavg()[0] ?? 0;
  const relays = new Map<Relay, RelayResult[]>();
  const storms = new Map<"in-memory" | "cluster", JoinResult[]>();
  let single: ServerProcess | null = null;
  let redis: RedisServer | null = null;
  const nodes: ServerProcess[] = [];
  // Should this process die mid-run, its servers go with it (by pid).
  const killAll = () => {
    for (const node of [single, ...nodes]) node?.kill();
  };
  process.once("exit", killAll);
  try {
    // One node with its rooms in memory, and a cluster: redis-server and
    // 3 nodes, each ready (/readyz) before the next. Both stay up, so the
    // configurations can take turns (the noise of a shared machine then
    // falls on all of them alike); an idle cluster costs ~1 % of a core.
    single = await ServerProcess.start(LIMITS, "/healthz");
    redis = await startRedis();
    for (let i = 0; i < NODES; i++) {
      nodes.push(
        await ServerProcess.start(
          { ...LIMITS, REDIS_URL: redis.url, NODE_ID: `bench${i}` },
          "/readyz",
        ),
      );
    }
    const mem: Setup = { nodes: [single], redis: null };
    const clustered: Setup = { nodes, redis };
    const url = (i: number) => (nodes[i % NODES] as ServerProcess).wsUrl;
    const placements: [Relay, Setup, { a: string; b: string }[]][] = [
      [
        "in-memory",
        mem,
        Array.from({ length: PAIRS }, () => ({
          a: mem.nodes[0]?.wsUrl ?? "",
          b: mem.nodes[0]?.wsUrl ?? "",
        })),
      ],
      ["same node", clustered, Array.from({ length: PAIRS }, (_, i) => ({ a: url(i), b: url(i) }))],
      [
        "cross node",
        clustered,
        Array.from({ length: PAIRS }, (_, i) => ({ a: url(i), b: url(i + 1) })),
      ],
    ];
    for (let rep = 0; rep < REPEATS; rep++) {
      for (const [name, setup, pairs] of placements) {
        const result = await load<RelayResult>(relayArgs(setup, pairs, ticks));
        relays.set(name, [...(relays.get(name) ?? []), result]);
        await quiet(setup.nodes);
      }
    }
    for (let rep = 0; rep < REPEATS; rep++) {
      for (const [name, setup] of [
        ["in-memory", mem],
        ["cluster", clustered],
      ] as const) {
        const result = await load<JoinResult>(joinArgs(setup, ticks));
        storms.set(name, [...(storms.get(name) ?? []), result]);
        await quiet(setup.nodes);
      }
    }
  } finally {
    if (single) await stop(single);
    for (const node of nodes) await stop(node);
    await redis?.stop();
    process.off("exit", killAll);
  }

  // Best of the repeats: the least disturbed by whatever else runs here.
  const bestRelay = (name: Relay) =>
    (relays.get(name) ?? []).reduce((b, x) => (x.p99 < b.p99 ? x : b));
  const memRelay = bestRelay("in-memory");
  const sameRelay = bestRelay("same node");
  const crossRelay = bestRelay("cross node");
  const bestStorm = (name: "in-memory" | "cluster") =>
    (storms.get(name) ?? []).reduce((b, x) =>
      (x.joinsPerSecond[0] ?? 0) > (b.joinsPerSecond[0] ?? 0) ? x : b,
    );
  const memJoins = bestStorm("in-memory");
  const clusterJoins = bestStorm("cluster");

  const r = sameRelay;
  console.log(
    `\ncluster: ${PAIRS} rooms of 2, open loop, ${RATE} relayed messages/s offered: the a's send ` +
      `${RATE / 2}/s on a fixed schedule (every 10th an offer of ${r.offerBytes} B, ` +
      `the others ice of ${r.iceBytes} B), each b echoes the ice and answers the offer (same size);\n` +
      `in-memory: 1 node, no REDIS_URL; same node / cross node: ${NODES} nodes + redis-server, a room's ` +
      `2 members on one node / on two different nodes, rooms spread over the ${NODES};\n` +
      `round trip a -> b -> a timed from the scheduled send; CPU = utime+stime (/proc/<pid>/stat) over ` +
      `${MEASURE_MS / 1000} s after ${WARMUP_MS / 1000} s warm-up, per relayed message; ` +
      `best of ${REPEATS} (by p99), taking turns; load average ${load1.toFixed(1)} on ${cpus().length} cores at the start`,
  );
  console.log(
    `${"metric".padEnd(34)}${"in-memory".padStart(11)}${"same node".padStart(11)}${"cross node".padStart(11)}` +
      `${"same/mem".padStart(10)}${"cross/mem".padStart(10)}${"cross/same".padStart(11)}`,
  );
  const perMsg = (cpuMs: number, x: RelayResult) => (cpuMs * 1000) / Math.max(1, x.relayed);
  const pctCore = (cpuMs: number, x: RelayResult) => cpuMs / 10 / Math.max(1e-9, x.seconds);
  const relayRow = (name: string, f: (x: RelayResult) => number, note = "") => {
    const [m, s, c] = [f(memRelay), f(sameRelay), f(crossRelay)];
    const ratio = (x: number, y: number) =>
      !Number.isFinite(x) || !Number.isFinite(y) || y === 0 ? "-" : (x / y).toFixed(2);
    console.log(
      `${name.padEnd(34)}${fmt(m).padStart(11)}${fmt(s).padStart(11)}${fmt(c).padStart(11)}` +
        `${ratio(s, m).padStart(10)}${ratio(c, m).padStart(10)}${ratio(c, s).padStart(11)}  ${note}`,
    );
  };
  const noRedis = (x: RelayResult, v: number) => (x === memRelay ? Number.NaN : v);
  relayRow("round trip p50 (ms)", (x) => x.p50, "lower is better");
  relayRow("round trip p99 (ms)", (x) => x.p99, "lower is better");
  relayRow("offer/answer round trip p50 (ms)", (x) => x.offerP50);
  relayRow("offer/answer round trip p99 (ms)", (x) => x.offerP99);
  relayRow("relayed messages / s (achieved)", (x) => x.relayed / x.seconds, `offered ${RATE}`);
  relayRow("node CPU / relayed msg (us)", (x) => perMsg(x.nodeCpuMs, x), "summed over the nodes");
  relayRow("redis CPU / relayed msg (us)", (x) => noRedis(x, perMsg(x.redisCpuMs, x)));
  relayRow("nodes + redis / relayed msg (us)", (x) => perMsg(x.nodeCpuMs + x.redisCpuMs, x));
  relayRow("nodes CPU (% of a core)", (x) => pctCore(x.nodeCpuMs, x));
  relayRow("redis CPU (% of a core)", (x) => noRedis(x, pctCore(x.redisCpuMs, x)));
  relayRow("load generator CPU (% of a core)", (x) => pctCore(x.loadCpuMs, x));
  relayRow("generator send lag max (ms)", (x) => x.maxSendLagMs, "its own lateness");
  relayRow("round trips unanswered", (x) => x.unanswered, "MUST be 0");

  console.log(
    `\njoin storm: ${JOINERS} clients, sockets open first, send join at once to ${JOINERS / 2} rooms ` +
      `of 2; ${NODES} nodes: client j on node j % ${NODES} (a room's 2 members on different nodes); ` +
      `best of ${REPEATS} (by joins/s), taking turns`,
  );
  console.log(
    `${"metric".padEnd(34)}${"in-memory".padStart(11)}${`${NODES} nodes`.padStart(11)}${"ratio".padStart(10)}`,
  );
  const joinRow = (name: string, f: (x: JoinResult) => number, note = "") => {
    const [m, c] = [f(memJoins), f(clusterJoins)];
    const ratio = !Number.isFinite(m) || !Number.isFinite(c) || m === 0 ? "-" : (c / m).toFixed(2);
    console.log(
      `${name.padEnd(34)}${fmt(m).padStart(11)}${fmt(c).padStart(11)}${ratio.padStart(10)}  ${note}`,
    );
  };
  joinRow("joins / s", (x) => x.joinsPerSecond[0] ?? 0, "higher is better");
  joinRow("join -> joined p50 (ms)", (x) => x.p50);
  joinRow("join -> joined p99 (ms)", (x) => x.p99);
  joinRow("first join -> every room ready (ms)", (x) => x.allReadyMs[0] ?? 0);
  joinRow("node CPU / join (us)", (x) => (x.nodeCpuMs * 1000) / Math.max(1, x.joins));
  joinRow("redis CPU / join (us)", (x) =>
    x === memJoins ? Number.NaN : (x.redisCpuMs * 1000) / Math.max(1, x.joins),
  );
  joinRow("failed joins", (x) => x.failures, "MUST be 0");
  console.log(`(cluster scenario: ${((Date.now() - started) / 1000).toFixed(0)} s)`);

  const all = [...relays.values(), ...storms.values()].flat();
  const errors = all.flatMap((x) => Object.entries(x.errors));
  if (errors.length > 0) {
    console.log(`errors received: ${errors.map(([c, n]) => `${c} ${n}`).join(", ")}`);
  }
  const lost = [...relays.values()].flat().reduce((n, x) => n + x.unanswered, 0);
  const failed = [...storms.values()].flat().reduce((n, x) => n + x.failures, 0);
  if (lost > 0 || failed > 0) {
    console.log(`FAIL: ${lost} round trips unanswered, ${failed} joins failed (over every repeat)`);
    process.exitCode = 1;
  }
}
