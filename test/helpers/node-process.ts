import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { freePort } from "./free-port.js";

/**
 * One Signalroom server process run from source (`tsx src/server/cli.ts`),
 * so cluster tests exercise the code as it is, with no `npm run build`
 * first. Unlike `ServerProcess` (the built `dist/` CLI, restartable on the
 * same port) a node here is started once and stopped once: a test that
 * wants a node back starts a new one, as an orchestrator would.
 */
export interface NodeProcess {
  readonly port: number;
  readonly pid: number;
  /** `http://127.0.0.1:<port>` */
  readonly httpUrl: string;
  /** `ws://127.0.0.1:<port>/ws` */
  readonly wsUrl: string;
  /** Resolves when the process has exited, however that happened. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Sends `signal` (a drain, for SIGTERM); SIGKILL after 15 s. Resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** SIGKILL, as a crash: no drain. Resolves once it is gone. */
  kill(): Promise<void>;
  /** SIGSTOP: its sockets stay open but nothing runs (a hung or partitioned node). */
  pause(): void;
  /** SIGCONT after `pause`. */
  resume(): void;
}

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 15_000;

// A test that fails (or forgets `stop`) must not leave servers behind that
// hold ports and Redis registrations for the next run.
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/**
 * Starts a server process (env merged onto `process.env`, with HOST, a free
 * PORT, LOG_LEVEL=warn and WEB_ROOT="" as defaults) and resolves once its
 * `/readyz` answers 200, which in cluster mode means it has registered in
 * Redis, not merely that it listens.
 */
export async function startNode(
  env: Record<string, string>,
  opts: { name?: string } = {},
): Promise<NodeProcess> {
  // The free port may be taken between our probe and the server's listen;
  // only then is trying another one right (a port the caller chose is not
  // ours to change).
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(env, opts.name ?? "node");
    } catch (error) {
      const portClash = error instanceof Error && error.message.includes("EADDRINUSE");
      if (!portClash || env.PORT !== undefined || attempt >= 3) throw error;
    }
  }
}

async function launch(env: Record<string, string>, name: string): Promise<NodeProcess> {
  const merged: Record<string, string | undefined> = {
    ...process.env,
    HOST: "127.0.0.1",
    PORT: String(await freePort()),
    LOG_LEVEL: "warn",
    WEB_ROOT: "",
    ...env,
  };
  const port = Number(merged.PORT);
  const child = spawn(process.execPath, ["--import", "tsx", "src/server/cli.ts"], {
    cwd: REPO_ROOT,
    env: merged,
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let output = "";
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
    // Spawn failures come as 'error' with no 'exit'; without a listener they crash the runner.
    child.once("error", (error) => {
      output += `spawn error: ${error.message}\n`;
      running.delete(child);
      resolve({ code: null, signal: null });
    });
  });
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const httpUrl = `http://127.0.0.1:${port}`;
  const tail = () => output.slice(-4000);

  const node: NodeProcess = {
    port,
    pid: child.pid ?? -1,
    httpUrl,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    exited,
    output: () => output,
    async stop(signal = "SIGTERM") {
      if (!gone()) {
        child.kill(signal);
        // A paused node cannot act on the signal until it runs again.
        child.kill("SIGCONT");
        const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }
      return (await exited).code;
    },
    async kill() {
      if (!gone()) child.kill("SIGKILL");
      await exited;
    },
    pause: () => void child.kill("SIGSTOP"),
    resume: () => void child.kill("SIGCONT"),
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (gone() || child.pid === undefined) {
      await exited;
      throw new Error(`${name} exited before it was ready (${child.exitCode}):\n${tail()}`);
    }
    try {
      // Bounded per probe: a process that accepted but hangs must not stall the loop.
      const response = await fetch(`${httpUrl}/readyz`, { signal: AbortSignal.timeout(1000) });
      await response.body?.cancel();
      if (response.status === 200) return node;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await node.kill();
      throw new Error(`${name}: no 200 from /readyz within ${READY_TIMEOUT_MS} ms:\n${tail()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
