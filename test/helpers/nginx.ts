import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.js";

const NGINX = "/usr/sbin/nginx";

/** A real nginx on 127.0.0.1, round robin over several server nodes, HTTP and WebSocket. */
export interface Nginx {
  readonly port: number;
  readonly pid: number;
  /** `http://127.0.0.1:<port>` */
  readonly httpUrl: string;
  /** `ws://127.0.0.1:<port>/ws` */
  readonly wsUrl: string;
  /** SIGTERM (nginx's fast shutdown, which also ends its workers); SIGKILL after 3 s. */
  stop(): Promise<void>;
}

/**
 * The nginx config the cluster tests run, and the one the docs show: one
 * upstream, plain round robin (no stickiness: a client that reconnects may
 * land on any node, which is what clustering must survive), WebSocket
 * upgrades passed through, and reads that outlast idle signaling sockets.
 * Every path is relative, so it resolves inside the prefix (`-p`).
 * `user` is for running as root, where nginx's default user (nobody)
 * could not write the temp dirs in a private tmp dir.
 */
export function nginxConfig(
  listenPort: number,
  upstreams: readonly number[],
  opts: { user?: string } = {},
): string {
  const servers = upstreams.map((port) => `    server 127.0.0.1:${port};`).join("\n");
  return `${opts.user ? `user ${opts.user};\n` : ""}# One worker: round robin state is per worker, so more would make the order nondeterministic.
worker_processes 1;
pid nginx.pid;

events {
  worker_connections 1024;
}

http {
  access_log off;
  client_body_temp_path client_body_temp;
  proxy_temp_path proxy_temp;
  fastcgi_temp_path fastcgi_temp;
  uwsgi_temp_path uwsgi_temp;
  scgi_temp_path scgi_temp;

  # "Connection: upgrade" only when the client asked for an upgrade.
  map $http_upgrade $connection_upgrade {
    default upgrade;
    ''      close;
  }

  upstream signalroom {
${servers}
  }

  server {
    listen 127.0.0.1:${listenPort};

    location / {
      proxy_pass http://signalroom;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      # A signaling socket may sit idle for a long time between calls.
      proxy_read_timeout 3600s;
      proxy_send_timeout 3600s;
    }
  }
}
`;
}

// nginx's master ends its workers on SIGTERM; a SIGKILL would orphan them
// holding the port, so the exit hook asks nicely (it cannot wait anyway).
const running = new Map<ChildProcess, string>();
process.once("exit", () => {
  for (const [child, dir] of running) {
    child.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Starts nginx in the foreground in front of `upstreams` (ports on 127.0.0.1). */
export async function startNginx(
  upstreams: readonly number[],
  opts: { port?: number } = {},
): Promise<Nginx> {
  if (!existsSync(NGINX)) {
    throw new Error(`${NGINX} not found: run apt-get install -y nginx-light`);
  }
  // Another process may take the free port before nginx binds it; then try another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(opts.port ?? (await freePort()), upstreams);
    } catch (error) {
      const portClash = error instanceof Error && error.message.includes("Address already in use");
      if (!portClash || opts.port !== undefined || attempt >= 3) throw error;
    }
  }
}

async function launch(port: number, upstreams: readonly number[]): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), "signalroom-nginx-"));
  const conf = join(dir, "nginx.conf");
  const errorLog = join(dir, "error.log");
  const user = process.getuid?.() === 0 ? "root" : undefined;
  writeFileSync(conf, nginxConfig(port, upstreams, user ? { user } : {}));
  const child = spawn(NGINX, ["-g", "daemon off;", "-p", `${dir}/`, "-c", conf, "-e", errorLog], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.set(child, dir);
  let output = "";
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.once("error", (error) => {
      output += `spawn error: ${error.message}\n`;
      resolve();
    });
  }).then(() => {
    running.delete(child);
  });
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const logs = () => {
    const log = existsSync(errorLog) ? readFileSync(errorLog, "utf8") : "";
    return `${output}${log}`.slice(-4000);
  };

  const nginx: Nginx = {
    port,
    pid: child.pid ?? -1,
    httpUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    async stop() {
      if (!gone()) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
        await exited;
        clearTimeout(timer);
      }
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };

  const deadline = Date.now() + 10_000;
  for (;;) {
    if (gone() || child.pid === undefined) {
      await exited;
      const why = logs();
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`nginx exited while starting:\n${why}`);
    }
    // The pid file is written only once nginx has bound its port, so an
    // accepted connection is nginx's and not whoever else took the port.
    if (existsSync(join(dir, "nginx.pid")) && (await accepts(port))) return nginx;
    if (Date.now() > deadline) {
      const why = logs();
      await nginx.stop();
      throw new Error(`nginx did not listen on ${port} within 10 s:\n${why}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Whether a TCP connection to 127.0.0.1:`port` is accepted (nginx has no readiness endpoint). */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.setTimeout(1000, () => socket.destroy(new Error("timeout")));
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
