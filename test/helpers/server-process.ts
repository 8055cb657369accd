import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { freePort } from "./free-port.js";

const CLI = join(import.meta.dirname, "..", "..", "dist", "server", "cli.js");

/**
 * The built server (`dist/server/cli.js`) as its own process, for tests
 * that stop and start it again on the same port, as an operator's restart
 * does. Stopped by its pid only.
 */
export class ServerProcess {
  readonly port: number;
  #child: ChildProcess | null = null;
  #output = "";

  private constructor(port: number) {
    this.port = port;
  }

  /**
   * Starts the server on a free port of 127.0.0.1; resolves once it answers
   * `/healthz` (or `/readyz`, for a node that must have joined its cluster).
   */
  static async start(
    env: Record<string, string> = {},
    ready: "/healthz" | "/readyz" = "/healthz",
  ): Promise<ServerProcess> {
    const server = new ServerProcess(await freePort());
    await server.start(env, ready);
    return server;
  }

  /** `ws://127.0.0.1:<port>/ws` */
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  /** The process id while it runs. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Whether the process is running (it may be stopped by SIGSTOP). */
  get running(): boolean {
    return this.#child !== null && this.#child.exitCode === null;
  }

  /** `http://127.0.0.1:<port>` */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** What the process wrote so far (logs at `warn` and above), for failure messages. */
  get output(): string {
    return this.#output;
  }

  /** Starts (again) on the same port; resolves once `ready` answers 200. */
  async start(
    env: Record<string, string> = {},
    ready: "/healthz" | "/readyz" = "/healthz",
  ): Promise<void> {
    if (this.#child) throw new Error("the server process is running already");
    const child = spawn(
      process.execPath,
      [CLI, "--port", String(this.port), "--host", "127.0.0.1"],
      {
        env: { ...process.env, LOG_LEVEL: "warn", ...env },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    this.#child = child;
    child.stdout?.on("data", (chunk: Buffer) => {
      this.#output += chunk.toString();
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      this.#output += chunk.toString();
    });
    const exited = once(child, "exit").then(([code]) => {
      throw new Error(`the server exited (${code}) while starting:\n${this.#output}`);
    });
    await Promise.race([this.#ready(ready), exited]);
    exited.catch(() => undefined);
  }

  /** SIGTERM, as an operator's restart sends; resolves with the exit code. */
  async stop(): Promise<number | null> {
    const child = this.#child;
    if (!child) return null;
    this.#child = null;
    if (child.exitCode !== null) return child.exitCode;
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    const [code] = await exited;
    return code as number | null;
  }

  /** Kills the process if it is still running (for `after`). */
  kill(): void {
    const child = this.#child;
    this.#child = null;
    if (child && child.exitCode === null) {
      child.kill("SIGCONT");
      child.kill("SIGKILL");
    }
  }

  /** SIGKILL, as a crash: no drain, no goodbye; resolves once it is gone. */
  async crash(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (!child || child.exitCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGKILL");
    await exited;
  }

  /** SIGSTOP: the process stays, its sockets stay open, nothing runs. */
  pause(): void {
    this.#child?.kill("SIGSTOP");
  }

  /** SIGCONT after {@link pause}. */
  resume(): void {
    this.#child?.kill("SIGCONT");
  }

  /** Polls `path` (bounded): the process has no other way to say it is up. */
  async #ready(path: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const response = await fetch(`${this.url}${path}`);
        if (response.ok) return;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline)
        throw new Error(`no ${path} within ${timeoutMs} ms:\n${this.#output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
