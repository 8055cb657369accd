import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.js";

const REDIS_SERVER = "/usr/bin/redis-server";

/** A real `redis-server` on 127.0.0.1, persistence off, started and stopped by pid. */
export interface RedisServer {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Sends one command over a fresh connection; the raw reply text. */
  command(...args: string[]): Promise<string>;
  /** SIGTERM, wait for exit. */
  stop(): Promise<void>;
  /** Starts again on the same port: empty, since nothing persists. */
  restart(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** Starts Debian's redis-server on a free port; fails loudly when it is not installed. */
export async function startRedis(): Promise<RedisServer> {
  if (!existsSync(REDIS_SERVER)) {
    throw new Error(
      `${REDIS_SERVER} not found: run apt-get install -y redis-server (sh scripts/test.sh does)`,
    );
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "signalroom-redis-"));
  let child = await launch(port, dir);
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return child.pid as number;
    },
    command: (...args) => command(port, args),
    async stop() {
      await terminate(child);
      rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      await terminate(child);
      child = await launch(port, dir);
    },
  };
  return server;
}

async function launch(port: number, dir: string): Promise<ChildProcess> {
  mkdirSync(dir, { recursive: true });
  const child = spawn(
    REDIS_SERVER,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
  );
  running.add(child);
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited:\n${output}`);
    try {
      if ((await command(port, ["PING"])) === "PONG") return child;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`redis-server did not answer PING within 10 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function terminate(child: ChildProcess): Promise<void> {
  running.delete(child);
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
  await exited;
  clearTimeout(timer);
}

/** One command in RESP over its own TCP connection; the first reply line (or bulk) as text. */
function command(port: number, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let data = "";
    socket.setTimeout(5000, () => socket.destroy(new Error("redis command timed out")));
    socket.on("error", reject);
    socket.on("connect", () => {
      socket.write(
        `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`,
      );
    });
    socket.on("data", (chunk) => {
      data += chunk.toString();
      const end = data.indexOf("\r\n");
      if (end < 0) return;
      const kind = data[0];
      if (kind === "$") {
        const length = Number(data.slice(1, end));
        if (length < 0) return finish(null);
        if (data.length < end + 2 + length + 2) return;
        return finish(data.slice(end + 2, end + 2 + length));
      }
      if (kind === "*") {
        // Arrays are not needed by the tests beyond "it answered".
        return finish(data.slice(0, end));
      }
      if (kind === "-") return finish(null, new Error(data.slice(1, end)));
      return finish(data.slice(1, end));
    });
    function finish(value: string | null, error?: Error): void {
      socket.destroy();
      if (error) reject(error);
      else resolve(value ?? "");
    }
  });
}
