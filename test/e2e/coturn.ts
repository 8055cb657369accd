import { type ChildProcess, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const TURNSERVER = "/usr/bin/turnserver";

export interface Coturn {
  readonly port: number;
  /** `turn:127.0.0.1:<port>?transport=udp` */
  readonly url: string;
  readonly secret: string;
  /** Freezes the process (SIGSTOP): relayed media stops, nobody is told, as on a dead path. */
  pause(): void;
  /** Lets a paused process go on (SIGCONT). */
  resume(): void;
  stop(): Promise<void>;
}

/**
 * Starts a real coturn on 127.0.0.1 with `use-auth-secret` (the TURN REST
 * API convention our server mints for), its own config file in a temp dir,
 * and stops it by pid. Ports are above 1024: Chromium ignores TURN servers
 * on lower ports other than 53, 80 and 443.
 */
export async function startCoturn(secret: string, port = 34780): Promise<Coturn> {
  if (!existsSync(TURNSERVER)) {
    throw new Error(
      `coturn not found at ${TURNSERVER}. Install it: apt-get update && apt-get install -y coturn`,
    );
  }
  const dir = await mkdtemp(join(tmpdir(), "signalroom-coturn-"));
  const config = join(dir, "turnserver.conf");
  await writeFile(
    config,
    [
      "listening-ip=127.0.0.1",
      "relay-ip=127.0.0.1",
      `listening-port=${port}`,
      "min-port=49152",
      "max-port=49352",
      "use-auth-secret",
      `static-auth-secret=${secret}`,
      "realm=signalroom.test",
      // Only inside the test's loopback-only network namespace: in production
      // this would let clients relay into the server's own loopback services.
      "allow-loopback-peers",
      "no-cli",
      "no-tls",
      "no-dtls",
      "fingerprint",
      "no-software-attribute",
      "log-file=stdout",
      "simple-log",
      `pidfile=${join(dir, "turnserver.pid")}`,
      `userdb=${join(dir, "turndb")}`,
      "",
    ].join("\n"),
  );
  const child: ChildProcess = spawn(TURNSERVER, ["-c", config], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  child.stdout?.on("data", (d: Buffer) => {
    log += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    log += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const signal = (name: NodeJS.Signals) => {
    if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, name);
  };
  const stop = async () => {
    // A paused process must go on to hear the SIGTERM.
    signal("SIGCONT");
    if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, "SIGTERM");
    const timer = setTimeout(
      () =>
        child.pid !== undefined && child.exitCode === null && process.kill(child.pid, "SIGKILL"),
      3000,
    );
    await exited;
    clearTimeout(timer);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForStun(port, 10_000, () => child.exitCode !== null);
  } catch (error) {
    await stop();
    throw new Error(`coturn did not start: ${(error as Error).message}\n${log.slice(-2000)}`);
  }
  return {
    port,
    url: `turn:127.0.0.1:${port}?transport=udp`,
    secret,
    pause: () => signal("SIGSTOP"),
    resume: () => signal("SIGCONT"),
    stop,
  };
}

/** Sends STUN binding requests until one is answered (bounded by `timeoutMs`). */
async function waitForStun(port: number, timeoutMs: number, dead: () => boolean): Promise<void> {
  const socket = createSocket("udp4");
  const request = Buffer.alloc(20);
  request.writeUInt16BE(0x0001, 0); // Binding request
  request.writeUInt16BE(0, 2);
  request.writeUInt32BE(0x2112a442, 4); // magic cookie
  for (let i = 8; i < 20; i++) request[i] = (Math.random() * 256) | 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(
        () => reject(new Error(`no STUN answer on ${port} in ${timeoutMs} ms`)),
        timeoutMs,
      );
      const tick = setInterval(() => {
        if (dead()) {
          clearTimeout(deadline);
          clearInterval(tick);
          reject(new Error("turnserver exited"));
          return;
        }
        socket.send(request, port, "127.0.0.1");
      }, 100);
      socket.on("message", (msg) => {
        if (msg.length >= 20 && msg.readUInt16BE(0) === 0x0101) {
          clearTimeout(deadline);
          clearInterval(tick);
          resolve();
        }
      });
    });
  } finally {
    socket.close();
  }
}
