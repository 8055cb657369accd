/**
 * The servers `npm run bench` compares, each started fresh as its own
 * process on 127.0.0.1 and stopped by its pid:
 *
 *  - the origin design's relay (bench/baseline-server.ts), the baseline
 *    every ratio is against;
 *  - a raw `ws` forwarder (bench/raw-forwarder.ts), no parsing at all: the
 *    floor any relay on `ws` could reach, shown for scale;
 *  - Signalroom as shipped (the built `dist/server/cli.js`), with join
 *    tokens (HS256) checked on every join, validation, limits and metrics
 *    on; the abuse limits are raised only so that 100 rooms' traffic from
 *    one address is not refused.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { mintJoinToken } from "../src/server/auth/mint-token.js";
import { ServerProcess } from "../test/helpers/server-process.js";

const root = join(import.meta.dirname, "..");

/** The HS256 secret Signalroom checks join tokens with in the benchmark. */
export const BENCH_AUTH_SECRET = "bench-join-token-secret-0123456789abcdef";

/** The bulk limits (test/helpers/server.ts BULK_LIMITS) as the CLI reads them. */
export const LIMITS: Record<string, string> = {
  WEB_ROOT: "",
  LOG_LEVEL: "warn",
  MAX_CONNECTIONS_PER_IP: "100000",
  RATE_LIMIT_PER_SECOND: "100000",
  RATE_LIMIT_BURST: "100000",
  RATE_LIMIT_BYTES_PER_SECOND: String(1024 * 1024 * 1024),
  RATE_LIMIT_CLOSE_AFTER: "1000000",
  JOIN_RATE_PER_MINUTE: "100000",
  SHUTDOWN_DRAIN_MS: "2000",
};

/** A server under test, running. */
export interface Running {
  readonly pid: number;
  /** Where clients connect (loopback). */
  readonly wsUrl: string;
  /** Stops it by its pid (SIGTERM, then SIGKILL after 5 s). */
  stop(): Promise<void>;
}

export interface Contender {
  /** As printed in tables. */
  readonly name: string;
  /** Short key for results and docs. */
  readonly key: "baseline" | "raw" | "signalroom";
  /** A join token to send with every join, if the server checks them. */
  readonly token: string | undefined;
  start(env?: Record<string, string>): Promise<Running>;
}

/** A bench server script (bench/<script>) that prints `{"listening": port}`. */
function scriptServer(script: string): (env?: Record<string, string>) => Promise<Running> {
  return async (env = {}) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(root, "bench", script)], {
      env: { ...process.env, PORT: "0", ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${script} did not start in 15 s`)), 15_000);
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
        try {
          const listening = (JSON.parse(line) as { listening?: number }).listening;
          if (listening) {
            clearTimeout(timer);
            resolve(listening);
          }
        } catch {
          // not a JSON line
        }
      });
      child.once("exit", (code) => reject(new Error(`${script} exited with ${code}`)));
    });
    return { pid: child.pid as number, wsUrl: `ws://127.0.0.1:${port}/`, stop: () => kill(child) };
  };
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

/** The three contenders; Signalroom's token admits any room for an hour. */
export async function contenders(): Promise<{
  baseline: Contender;
  raw: Contender;
  signalroom: Contender;
}> {
  const token = await mintJoinToken(
    { secret: BENCH_AUTH_SECRET },
    { room: "*", sub: "bench", ttl: "1h" },
  );
  return {
    baseline: {
      name: "origin design",
      key: "baseline",
      token: undefined,
      start: scriptServer("baseline-server.ts"),
    },
    raw: {
      name: "raw ws forwarder",
      key: "raw",
      token: undefined,
      start: scriptServer("raw-forwarder.ts"),
    },
    signalroom: {
      name: "signalroom",
      key: "signalroom",
      token,
      start: (env = {}) => startSignalroom({ ...LIMITS, AUTH_SECRET: BENCH_AUTH_SECRET, ...env }),
    },
  };
}

/** The built server with exactly `env` (on top of the bench's environment). */
export async function startSignalroom(env: Record<string, string>): Promise<Running> {
  const server = await ServerProcess.start(env);
  return {
    pid: server.pid as number,
    wsUrl: server.wsUrl,
    stop: async () => {
      const timer = setTimeout(() => server.kill(), 5000);
      await server.stop().catch(() => server.kill());
      clearTimeout(timer);
    },
  };
}

/**
 * The traffic every relay scenario sends: every 10th message an `offer` of
 * a browser's SDP size, the others `ice` candidates as Chrome trickles
 * them; every member acks once a second, as the SDK does.
 */
export const TRAFFIC = {
  offerEvery: 10,
  iceBytes: 265,
  offerBytes: 3700,
  drainMs: 5000,
  ackEveryMs: 1000,
} as const;

export function clockTicks(): number {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
  } catch {
    return 100;
  }
}

/** CPU time of a process so far (user + system, every thread), in ms. */
export function cpuMs(pid: number, ticks: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name may hold spaces and parentheses: fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of stat(5); fields[0] is field 3.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticks;
}

/** Resident memory of a process now, in KB. */
export function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length === 0
    ? Number.NaN
    : s.length % 2
      ? (s[mid] as number)
      : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
