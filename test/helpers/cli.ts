import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { within } from "./wait.js";

const ROOT = join(import.meta.dirname, "..", "..");
const CLI = join(ROOT, "src", "server", "cli.ts");

/** How a `signalroom` process ended and what it printed. */
export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `signalroom ...args` (the source CLI through tsx) with only `env`
 * (and PATH) in its environment, and waits, bounded by `timeoutMs`, for it
 * to exit; a process still running at the end is killed by its pid.
 */
export async function runSignalroom(
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<CliRun> {
  const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  try {
    const [code, signal] = (await within(
      Promise.race([
        once(child, "close"),
        once(child, "error").then(([error]) => Promise.reject(error)),
      ]),
      timeoutMs,
      `signalroom ${args.join(" ")} ${JSON.stringify(env)} to exit (stdout: ${stdout}, stderr: ${stderr})`,
    )) as [number | null, NodeJS.Signals | null];
    return { code, signal, stdout, stderr };
  } finally {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      process.kill(child.pid, "SIGKILL");
    }
  }
}
