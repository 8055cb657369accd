import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, describe, it } from "node:test";
import { upgradeStatus } from "../helpers/http.js";
import { TcpProxy } from "../helpers/tcp-proxy.js";
import { TestClient } from "../helpers/test-client.js";
import { eventually, within } from "../helpers/wait.js";

const CLI = join(import.meta.dirname, "..", "..", "src", "server", "cli.ts");

interface Running {
  readonly child: ChildProcess;
  readonly port: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** How long a CLI process may take to start listening, or to exit when it should at once. */
const PROCESS_MS = 20_000;

/** The real CLI in its own process (signals are the point), on a free port of 127.0.0.1. */
async function startCli(env: Record<string, string>): Promise<Running> {
  const child = spawn(process.execPath, ["--import", "tsx", CLI], {
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", WEB_ROOT: "", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = once(child, "exit").then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  try {
    const port = await within(listeningPort(child), PROCESS_MS, "the CLI to say it is listening");
    return { child, port, exited };
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
}

/** The port the CLI says it listens on (its stdout's "listening on" line). */
async function listeningPort(child: ChildProcess): Promise<number> {
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  for await (const line of lines) {
    const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(line);
    if (match) return Number(match[1]);
  }
  throw new Error("the server exited before listening");
}

/** `running.exited`, failing (instead of hanging) if the process is still there after `timeoutMs`. */
function exitOf(
  running: Running,
  timeoutMs = PROCESS_MS,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return within(running.exited, timeoutMs, `the CLI process ${running.child.pid} to exit`);
}

describe("SIGTERM drain (the real CLI process)", () => {
  let running: Running | undefined;
  let proxy: TcpProxy | undefined;
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
    if (running && running.child.exitCode === null && running.child.signalCode === null) {
      running.child.kill("SIGKILL");
      await exitOf(running);
    }
    running = undefined;
  });

  it("stops being ready, refuses upgrades, closes sockets with 1012 and exits 0 within the drain", async () => {
    const drainMs = 1500;
    running = await startCli({ SHUTDOWN_DRAIN_MS: String(drainMs) });
    const base = `127.0.0.1:${running.port}`;
    assert.equal((await fetch(`http://${base}/readyz`)).status, 200);
    const polite = await TestClient.connect(`ws://${base}/ws`);
    await polite.join("drain");
    // A client whose network died: it never answers the close, so the drain runs its course.
    proxy = await TcpProxy.start(running.port);
    const gone = await TestClient.connect(proxy.wsUrl());
    await gone.join("drain");
    await polite.next("peer-joined");
    proxy.blackhole();

    const sentAt = performance.now();
    running.child.kill("SIGTERM");
    assert.deepEqual(await polite.closed(), { code: 1012, reason: "server shutting down" });
    const ready = await fetch(`http://${base}/readyz`);
    assert.equal(ready.status, 503);
    assert.deepEqual(await ready.json(), { status: "draining" });
    assert.equal(await upgradeStatus(`ws://${base}/ws`), 503);

    assert.deepEqual(await exitOf(running), { code: 0, signal: null });
    const took = performance.now() - sentAt;
    console.log(`drain: exited 0 after ${Math.round(took)} ms (SHUTDOWN_DRAIN_MS ${drainMs})`);
    assert.ok(took >= drainMs - 100, `exited after ${took} ms, before the stuck socket's drain`);
  });

  it("exits at once when every socket closes promptly", async () => {
    running = await startCli({ SHUTDOWN_DRAIN_MS: "60000" });
    const client = await TestClient.connect(`ws://127.0.0.1:${running.port}/ws`);
    await client.join("quick");
    running.child.kill("SIGTERM");
    assert.equal((await client.closed()).code, 1012);
    // "At once": well before the 60 s drain.
    assert.deepEqual(await exitOf(running), { code: 0, signal: null });
  });

  it("exits at once on a second SIGTERM or SIGINT", async () => {
    for (const second of ["SIGTERM", "SIGINT"] as const) {
      running = await startCli({ SHUTDOWN_DRAIN_MS: "60000" });
      proxy = await TcpProxy.start(running.port);
      const stuck = await TestClient.connect(proxy.wsUrl());
      await stuck.join("stuck");
      proxy.blackhole();
      running.child.kill("SIGTERM");
      // Draining: not ready any more.
      await eventually(
        async () => {
          assert.equal(
            (await fetch(`http://127.0.0.1:${running?.port}/readyz`)).status,
            503,
            "/readyz while draining",
          );
        },
        { what: "/readyz to answer 503 after SIGTERM" },
      );
      running.child.kill(second);
      assert.deepEqual(await exitOf(running), {
        code: second === "SIGTERM" ? 143 : 130,
        signal: null,
      });
      await proxy.close();
      proxy = undefined;
    }
  });
});
