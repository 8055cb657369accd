import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { join } from "node:path";

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

  /** Starts the server on a free port of 127.0.0.1; resolves once it answers `/healthz`. */
  static async start(env: Record<string, string> = {}): Promise<ServerProcess> {
    const server = new ServerProcess(await freePort());
    await server.start(env);
    return server;
  }

  /** `http://127.0.0.1:<port>` */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** What the process wrote so far (logs at `warn` and above), for failure messages. */
  get output(): string {
    return this.#output;
  }

  /** Starts (again) on the same port; resolves once `/healthz` answers 200. */
  async start(env: Record<string, string> = {}): Promise<void> {
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
    await Promise.race([this.#ready(), exited]);
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
    if (child && child.exitCode === null) child.kill("SIGKILL");
  }

  /** Polls `/healthz` (bounded): the process has no other way to say it listens. */
  async #ready(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const response = await fetch(`${this.url}/healthz`);
        if (response.ok) return;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline)
        throw new Error(`no /healthz within ${timeoutMs} ms:\n${this.#output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** A port nobody listens on right now (the kernel's pick for port 0). */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  await once(server, "close");
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}
