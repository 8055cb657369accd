import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import WebSocket, { WebSocketServer } from "ws";
import { freePort } from "../helpers/free-port.js";
import { type Nginx, startNginx } from "../helpers/nginx.js";
import { killPubsubClients, killRedis, pauseRedis } from "../helpers/redis-faults.js";
import { type RedisServer, startRedis } from "../helpers/redis-server.js";
import { ServerProcess } from "../helpers/server-process.js";
import { TestClient } from "../helpers/test-client.js";
import { within } from "../helpers/wait.js";

/** How long any single event of the harness may take before the test fails, in ms. */
const EVENT_MS = 10_000;

/**
 * The cluster harness checks itself: a real redis-server, real nginx in
 * front of plain servers, and server processes from source. When a
 * cluster test fails, this says whether the harness or the server is at
 * fault.
 */

/** A plain HTTP + WebSocket server that answers with its own name (and the X-Forwarded-For it saw). */
async function namedServer(name: string): Promise<{ port: number; server: Server }> {
  const server = createServer((_req, res) => res.end(name));
  const wss = new WebSocketServer({ server, path: "/ws" });
  wss.on("connection", (socket, req) => {
    socket.send(`${name} ${req.headers["x-forwarded-for"] ?? "-"}`);
    socket.on("message", (data) => socket.send(`echo ${String(data)}`));
  });
  const port = await freePort();
  server.listen(port, "127.0.0.1");
  await within(once(server, "listening"), EVENT_MS, `server ${name} listening`);
  return { port, server };
}

function nextText(socket: WebSocket): Promise<string> {
  return within(
    once(socket, "message").then(([data]) => String(data)),
    EVENT_MS,
    "a message on the WebSocket through nginx",
  );
}

describe("cluster harness", { timeout: 60_000 }, () => {
  let redis: RedisServer;
  const cleanups: (() => Promise<unknown>)[] = [];

  before(async () => {
    redis = await startRedis();
    cleanups.push(() => redis.stop());
  });

  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it("runs a real redis-server that forgets everything on restart", async () => {
    assert.equal(await redis.command("PING"), "PONG");
    assert.equal(await redis.command("SET", "k", "v"), "OK");
    assert.equal(await redis.command("GET", "k"), "v");
    const { port, pid } = redis;
    await redis.restart();
    assert.equal(redis.port, port);
    assert.notEqual(redis.pid, pid);
    assert.equal(await redis.command("GET", "k"), "", "persistence is off");
  });

  it("pauses redis, closes its subscribers, and survives a SIGKILL + restart", async () => {
    const started = Date.now();
    await pauseRedis(redis, 300);
    assert.equal(await redis.command("PING"), "PONG");
    assert.ok(Date.now() - started >= 250, "PING waited out the pause");

    const subscriber = connect(redis.port, "127.0.0.1");
    subscriber.write("*2\r\n$9\r\nSUBSCRIBE\r\n$2\r\nch\r\n");
    // The subscribe confirmation.
    await within(once(subscriber, "data"), EVENT_MS, "redis to confirm the SUBSCRIBE");
    const closed = within(once(subscriber, "close"), EVENT_MS, "redis to close its subscriber");
    assert.equal(await killPubsubClients(redis), 1);
    await closed;

    await killRedis(redis);
    // Refused, because nothing listens any more: not the command's own
    // 5 s timeout, which a redis that still runs but hangs would give too.
    await assert.rejects(redis.command("PING"), { code: "ECONNREFUSED" });
    await redis.restart();
    assert.equal(await redis.command("PING"), "PONG");
  });

  it("runs nginx round robin over two upstreams, HTTP and WebSocket", async () => {
    const a = await namedServer("a");
    const b = await namedServer("b");
    cleanups.push(async () => {
      for (const { server } of [a, b]) {
        server.closeAllConnections();
        server.close();
      }
    });
    const nginx: Nginx = await startNginx([a.port, b.port]);
    cleanups.push(() => nginx.stop());

    const names = [];
    for (let i = 0; i < 2; i++) names.push(await (await fetch(nginx.httpUrl)).text());
    assert.deepEqual(names.sort(), ["a", "b"], "two requests in a row reach both upstreams");

    const socket = new WebSocket(nginx.wsUrl);
    const hello = nextText(socket);
    await within(once(socket, "open"), EVENT_MS, "the WebSocket through nginx to open");
    assert.match(await hello, /^[ab] 127\.0\.0\.1$/, "upgraded, with X-Forwarded-For");
    socket.send("hi");
    assert.equal(await nextText(socket), "echo hi");
    socket.close();
    await within(once(socket, "close"), EVENT_MS, "the WebSocket through nginx to close");
  });

  it("runs server nodes (the built server) on redis, behind nginx", async () => {
    const nodes: ServerProcess[] = [];
    cleanups.push(async () => {
      for (const node of nodes) node.kill();
    });
    for (const id of ["h0", "h1"]) {
      nodes.push(await ServerProcess.start({ REDIS_URL: redis.url, NODE_ID: id }, "/readyz"));
    }
    const [n0, n1] = nodes as [ServerProcess, ServerProcess];
    const nginx = await startNginx([n0.port, n1.port]);
    cleanups.push(() => nginx.stop());

    // Two clients through nginx land on different nodes and still share the room.
    const first = await TestClient.connect(nginx.wsUrl);
    const second = await TestClient.connect(nginx.wsUrl);
    await first.join("harness-room");
    await second.join("harness-room");
    await first.next("peer-joined");
    await Promise.all([first.next("ready"), second.next("ready")]);
    await Promise.all([first.close(), second.close()]);

    // A paused node keeps its socket but answers nothing; resumed, it does again.
    n1.pause();
    // The timeout is the point here: a stopped process still accepts the TCP
    // connection (the kernel does) but never answers. Anything else (refused,
    // reset: the process is gone) is a different failure.
    await assert.rejects(fetch(`${n1.url}/readyz`, { signal: AbortSignal.timeout(300) }), {
      name: "TimeoutError",
    });
    n1.resume();
    assert.equal((await fetch(`${n1.url}/readyz`)).status, 200);

    assert.equal(await n0.stop(), 0, `a drained node exits 0:\n${n0.output}`);
    await n1.crash();
    assert.equal(n1.running, false);
  });
});
