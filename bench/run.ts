/**
 * `npm run bench`: relay throughput, round-trip latency and memory per
 * socket of Signalroom against a baseline measured in the same run (the
 * origin design's relay, bench/baseline-server.ts). Servers and the load
 * generator are separate processes on 127.0.0.1, stopped by pid; every
 * loop is bounded. Prints figures and ratios; asserts nothing.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";

const root = join(import.meta.dirname, "..");
const PAIRS = Number(process.env.BENCH_PAIRS ?? 200);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 2);

interface Target {
  name: string;
  command: string[];
  env: Record<string, string>;
  /** Reads the port from one line of the server's stdout, or null. */
  port: (line: string) => number | null;
}

const targets: Target[] = [
  {
    name: "baseline (origin relay)",
    command: [process.execPath, "--import", "tsx", join(root, "bench", "baseline-server.ts")],
    env: { PORT: "0" },
    port: (line) => (JSON.parse(line) as { listening?: number }).listening ?? null,
  },
  {
    name: "signalroom",
    command: [process.execPath, join(root, "dist", "server", "cli.js")],
    // Throughput is measured with the abuse limits out of the way (400
    // sockets from one address, bursts of 20 in flight); the flood scenario
    // below runs with the defaults.
    env: {
      PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      WEB_ROOT: "",
      MAX_CONNECTIONS_PER_IP: "100000",
      RATE_LIMIT_PER_SECOND: "100000",
      RATE_LIMIT_BURST: "100000",
    },
    port: (line) => {
      const url = (JSON.parse(line) as { url?: string }).url;
      return url ? Number(new URL(url).port) : null;
    },
  },
];

interface Result {
  perSecond: number;
  p50: number;
  p99: number;
  sockets: number;
  idleRssMb: number;
  peakRssMb: number;
}

async function startServer(target: Target): Promise<{ child: ChildProcess; port: number }> {
  const [cmd, ...args] = target.command as [string, ...string[]];
  const child = spawn(cmd, args, {
    env: { ...process.env, ...target.env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${target.name} did not start in 15 s`)),
      15_000,
    );
    lines.on("line", (line) => {
      try {
        const p = target.port(line);
        if (p) {
          clearTimeout(timer);
          resolve(p);
        }
      } catch {
        // not a JSON line
      }
    });
    child.once("exit", (code) => reject(new Error(`${target.name} exited with ${code}`)));
  });
  return { child, port };
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

async function runLoad(port: number): Promise<Omit<Result, "idleRssMb" | "peakRssMb">> {
  const args = {
    url: `ws://127.0.0.1:${port}/`,
    pairs: PAIRS,
    messages: MESSAGES,
    rounds: ROUNDS,
    window: 20,
    payloadBytes: 200,
    deadlineMs: 120_000,
  };
  return runGenerator("load.ts", args);
}

/** Runs a load generator (bench/<script>) as its own process; returns its last JSON line. */
async function runGenerator<T>(script: string, args: object): Promise<T> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(root, "bench", script), JSON.stringify(args)],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`bench/${script} exited with ${code}`);
  return JSON.parse(out.trim().split("\n").pop() ?? "{}") as T;
}

interface FloodResult {
  quietP50: number;
  quietP99: number;
  floodP50: number;
  floodP99: number;
  floodSent: number;
  floodConnections: number;
}

async function measureFlood(target: Target, env: Record<string, string>): Promise<FloodResult> {
  const { child, port } = await startServer({ ...target, env: { ...target.env, ...env } });
  try {
    const args = {
      url: `ws://127.0.0.1:${port}/`,
      rounds: 120,
      flooders: 8,
      floodMessages: 20_000,
      deadlineMs: 120_000,
    };
    return await runGenerator<FloodResult>("flood-load.ts", args);
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  }
}

async function measure(target: Target): Promise<Result> {
  const { child, port } = await startServer(target);
  const pid = child.pid as number;
  try {
    await new Promise((r) => setTimeout(r, 300));
    const idleRssMb = rssMb(pid);
    let peakRssMb = idleRssMb;
    const sampler = setInterval(() => {
      peakRssMb = Math.max(peakRssMb, rssMb(pid));
    }, 50);
    const load = await runLoad(port);
    clearInterval(sampler);
    return { ...load, idleRssMb, peakRssMb };
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  }
}

async function main(): Promise<void> {
  if (!existsSync(join(root, "dist", "server", "cli.js"))) {
    throw new Error("build first: npm run build");
  }
  console.log(
    `bench: ${PAIRS} rooms of 2 (${PAIRS * 2} sockets), ${MESSAGES} relayed ice messages per socket, ` +
      `${ROUNDS} offer/answer round trips per room, best of ${REPEATS}\n`,
  );
  const best = new Map<string, Result>();
  for (let i = 0; i < REPEATS; i++) {
    for (const target of targets) {
      const r = await measure(target);
      const prev = best.get(target.name);
      if (!prev || r.perSecond > prev.perSecond) best.set(target.name, r);
    }
  }
  const base = best.get(targets[0]?.name ?? "") as Result;
  const ours = best.get(targets[1]?.name ?? "") as Result;
  const perSocketKb = (r: Result) => ((r.peakRssMb - r.idleRssMb) * 1024) / r.sockets;
  const rows: [string, number, number, string][] = [
    ["relayed messages / s", base.perSecond, ours.perSecond, "higher is better"],
    ["round trip p50 (ms)", base.p50, ours.p50, "lower is better"],
    ["round trip p99 (ms)", base.p99, ours.p99, "lower is better"],
    ["server RSS idle (MB)", base.idleRssMb, ours.idleRssMb, ""],
    ["server RSS peak (MB)", base.peakRssMb, ours.peakRssMb, ""],
    ["memory per socket (KB)", perSocketKb(base), perSocketKb(ours), "lower is better"],
  ];
  const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(2));
  console.log(
    `${"metric".padEnd(26)}${"baseline".padStart(12)}${"signalroom".padStart(12)}${"ratio".padStart(9)}`,
  );
  for (const [name, b, o, note] of rows) {
    const ratio = b === 0 ? "n/a" : (o / b).toFixed(2);
    console.log(
      `${name.padEnd(26)}${fmt(b).padStart(12)}${fmt(o).padStart(12)}${ratio.padStart(9)}  ${note}`,
    );
  }

  // Flood: one pair's round trips, quiet and while 8 connections flood.
  // Signalroom runs with its default message limits here (the per-address
  // cap is raised only because every socket comes from 127.0.0.1).
  const [baseTarget, oursTarget] = targets as [Target, Target];
  const floodBase = await measureFlood(baseTarget, {});
  const floodOurs = await measureFlood(oursTarget, {
    MAX_CONNECTIONS_PER_IP: "100000",
    RATE_LIMIT_PER_SECOND: "50",
    RATE_LIMIT_BURST: "200",
  });
  console.log("\nflood: offer/answer round trips of one pair, quiet vs while 8 connections flood");
  console.log(`${"".padEnd(26)}${"baseline".padStart(12)}${"signalroom".padStart(12)}`);
  const floodRows: [string, number, number][] = [
    ["quiet p50 (ms)", floodBase.quietP50, floodOurs.quietP50],
    ["quiet p99 (ms)", floodBase.quietP99, floodOurs.quietP99],
    ["under flood p50 (ms)", floodBase.floodP50, floodOurs.floodP50],
    ["under flood p99 (ms)", floodBase.floodP99, floodOurs.floodP99],
    [
      "p50 slowdown (x)",
      floodBase.floodP50 / floodBase.quietP50,
      floodOurs.floodP50 / floodOurs.quietP50,
    ],
    ["flood messages sent", floodBase.floodSent, floodOurs.floodSent],
    ["flood connections used", floodBase.floodConnections, floodOurs.floodConnections],
  ];
  for (const [name, b, o] of floodRows) {
    console.log(`${name.padEnd(26)}${fmt(b).padStart(12)}${fmt(o).padStart(12)}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
