import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import { type Nginx, startNginx } from "../helpers/nginx.js";
import { type RedisServer, startRedis } from "../helpers/redis-server.js";
import { ServerProcess } from "../helpers/server-process.js";
import { callErrors, type Person, startCall } from "./call-watch.js";
import {
  assertE2eEnvironment,
  assertNoCspViolations,
  launchChromium,
  selectedCandidateTypes,
  waitForFramesBeyond,
  waitForStatus,
} from "./harness.js";

/**
 * A real call between two Chromium pages whose signaling sockets sit on
 * two different server nodes: the built server twice, sharing rooms
 * through a real redis-server, behind a real nginx doing plain round
 * robin (no stickiness). The pages load the web app from nginx, so their
 * WebSocket goes through it too; offer, answer and candidates can only
 * reach the other page through Redis.
 */

const NODE_IDS = ["node-a", "node-b"] as const;
/** Reloads of a page allowed to get the two sockets onto different nodes. */
const MAX_RELOADS = 6;

interface Health {
  node: string;
  redis: string;
  connections: number;
  rooms: number;
  members: number;
}

describe("a 1:1 call across two cluster nodes behind nginx, in real Chromium", () => {
  let redis: RedisServer | undefined;
  const nodes: ServerProcess[] = [];
  let nginx: Nginx | undefined;
  let browser: Browser | undefined;

  before(async () => {
    assertE2eEnvironment();
    const started = Date.now();
    redis = await startRedis();
    const env = { REDIS_URL: redis.url, SHUTDOWN_DRAIN_MS: "2000" };
    // The nodes and Chromium start side by side; whatever did start is
    // kept (and stopped in `after`) even when something else failed.
    // No WEB_ROOT: each node serves the built web app (dist/web) itself.
    const [nodesStarted, launched] = await Promise.all([
      Promise.allSettled(
        NODE_IDS.map((id) => ServerProcess.start({ ...env, NODE_ID: id }, "/readyz")),
      ),
      Promise.allSettled([launchChromium()]),
    ]);
    for (const result of nodesStarted) if (result.status === "fulfilled") nodes.push(result.value);
    const [chromium] = launched;
    if (chromium?.status === "fulfilled") browser = chromium.value;
    const failed = [...nodesStarted, ...launched].find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
    nginx = await startNginx(nodes.map((node) => node.port));
    console.log(`# redis, 2 nodes, nginx and Chromium up in ${Date.now() - started} ms`);
  });

  after(async () => {
    await browser?.close();
    await nginx?.stop();
    // SIGTERM to each node's pid; a node drains (bounded) and exits.
    const codes = await Promise.all(nodes.map((node) => node.stop()));
    await redis?.stop();
    assertNoCspViolations();
    assert.deepEqual(callErrors, [], "no call errors in the pages");
    assert.ok(
      codes.every((code) => code === 0),
      `the nodes exit cleanly (codes ${JSON.stringify(codes)}):\n${nodes.map((n) => n.output).join("\n")}`,
    );
  });

  /** Each node's own `/healthz` (straight to the node, not through nginx). */
  async function health(): Promise<Health[]> {
    return Promise.all(
      nodes.map(async (node) => {
        const response = await fetch(`${node.url}/healthz`);
        assert.equal(response.status, 200, `/healthz of ${node.url}:\n${node.output}`);
        return (await response.json()) as Health;
      }),
    );
  }

  /**
   * Sockets per node once the two pages hold exactly two between them
   * (a socket a reloaded page closed is gone; bounded).
   */
  async function socketsPerNode(): Promise<number[]> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const counts = (await health()).map((h) => h.connections);
      if (counts.reduce((a, b) => a + b, 0) === 2) return counts;
      if (Date.now() > deadline) {
        throw new Error(
          `the nodes hold ${JSON.stringify(counts)} sockets, not 2 in all:\n${nodes.map((n) => n.output).join("\n")}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it("two pages through nginx land on different nodes, connect, and video plays both ways", {
    timeout: 90_000,
  }, async () => {
    assert.ok(browser && nginx);
    const started = Date.now();
    const room = `cluster-${Date.now()}`;
    const people: Person[] = await startCall(browser, nginx.httpUrl, room);
    const [alice, bob] = people as [Person, Person];

    // Round robin usually splits the two sockets; when it did not, Bob
    // reloads (leaving and joining again) until his socket is on the other
    // node. A page load makes the same number of requests each time, so
    // its socket tends to land where it did before: on every other try,
    // one extra request through nginx first shifts the turn.
    let counts = await socketsPerNode();
    let reloads = 0;
    while (!counts.every((n) => n === 1)) {
      assert.ok(
        reloads < MAX_RELOADS,
        `both sockets stayed on one node after ${reloads} reloads: ${JSON.stringify(counts)}`,
      );
      reloads++;
      if (reloads % 2 === 0) await fetch(`${nginx.httpUrl}/readyz`);
      await bob.page.reload();
      await Promise.all([
        waitForStatus(alice.page, "connected"),
        waitForStatus(bob.page, "connected"),
      ]);
      counts = await socketsPerNode();
    }
    console.log(`# sockets per node ${JSON.stringify(counts)} after ${reloads} reload(s) of Bob`);

    // Each node knows itself, is connected to Redis, and sees the shared
    // room: one room, both members, although it holds only one of them.
    const report = await health();
    assert.deepEqual(
      report.map((h) => h.node),
      [...NODE_IDS],
    );
    for (const h of report) {
      assert.equal(h.redis, "up", `${h.node} is connected to Redis`);
      assert.equal(h.connections, 1, `${h.node} holds one of the two sockets`);
      assert.equal(h.rooms, 1, `${h.node} sees the one room cluster-wide`);
      assert.equal(h.members, 2, `${h.node} sees both members cluster-wide`);
    }

    // The call is connected on both sides, and media flows: decoded
    // frames of the remote video keep increasing on each page.
    await Promise.all(people.map((p) => waitForStatus(p.page, "connected")));
    for (const { page } of people) {
      const first = await waitForFramesBeyond(page, 0);
      const later = await waitForFramesBeyond(page, first);
      assert.ok(later > first, `frames decoded grew from ${first} to ${later}`);
      const connection = await page.evaluate(
        () =>
          (globalThis as unknown as { signalroom: { peerConnection: RTCPeerConnection | null } })
            .signalroom.peerConnection?.connectionState ?? null,
      );
      assert.equal(connection, "connected", "the peer connection is connected");
      const pair = await selectedCandidateTypes(page);
      assert.ok(pair, "a candidate pair is selected");
    }
    console.log(
      `# selected candidate pair: ${JSON.stringify(await selectedCandidateTypes(bob.page))}`,
    );
    assert.equal(await alice.page.textContent(".tile.remote .label"), "Bob");
    assert.equal(await bob.page.textContent(".tile.remote .label"), "Alice");
    console.log(`# call across nodes connected with media in ${Date.now() - started} ms`);

    for (const p of people) await p.context.close();
  });
});
