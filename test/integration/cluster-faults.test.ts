import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, it } from "node:test";
import { startCluster, type TestCluster } from "../helpers/cluster.js";
import { Participant } from "../helpers/participant.js";
import type { TestClient } from "../helpers/test-client.js";
import { eventually } from "../helpers/wait.js";

/**
 * Faults of a real cluster: three server processes (the built server) and
 * a real redis-server, each stopped by its pid. Clients resume through a
 * round-robin "balancer" over the nodes that are up, as a client behind
 * nginx would.
 */

const CLI = join(import.meta.dirname, "..", "..", "dist", "server", "cli.js");
if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);

const LIVENESS_MS = 7000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The first connection goes to node `i`; every later one through the balancer. */
function pinnedFirst(c: TestCluster, i: number): () => Promise<TestClient> {
  let first = true;
  return () => {
    if (!first) return c.viaBalancer();
    first = false;
    return c.connect(i);
  };
}

/** Two participants in `roomId`, on nodes `i` and `j`, the join exchange consumed. */
async function pair(c: TestCluster, roomId: string, i: number, j: number) {
  const a = await Participant.join(pinnedFirst(c, i), roomId);
  const b = await Participant.join(pinnedFirst(c, j), roomId);
  for (const p of [a, b]) p.read();
  await eventually(() => {
    assert.ok(
      a.others.some((m) => m.type === "ready"),
      JSON.stringify(a.others),
    );
    assert.ok(
      b.others.some((m) => m.type === "ready"),
      JSON.stringify(b.others),
    );
  });
  return { a, b };
}

/** Every message sent arrived exactly once, in order. */
function assertExactlyOnce(from: Participant, to: Participant): void {
  assert.deepEqual(
    to.received,
    Array.from({ length: from.sent }, (_, n) => n),
    `${to.peerId} from ${from.peerId}`,
  );
  assert.equal(to.client.duplicates, 0, "frames seen twice");
}

function peerLefts(p: Participant) {
  return p.others.filter((m) => m.type === "peer-left");
}

describe("a cluster under faults", { timeout: 300_000 }, () => {
  let c: TestCluster | undefined;
  afterEach(async () => {
    await c?.close();
    c = undefined;
  });

  it("SIGKILL of a node: its members resume elsewhere, nothing lost; one that never returns leaves once", async () => {
    c = await startCluster(3, { RESUME_GRACE_MS: "3000" });
    const { a: x, b: y } = await pair(c, "p", 0, 1);
    const z = await Participant.join(() => (c as TestCluster).connect(0), "q");
    const w = await Participant.join(pinnedFirst(c, 2), "q");
    w.read();
    await eventually(() =>
      assert.ok(
        w.others.some((m) => m.type === "ready"),
        "w is ready",
      ),
    );
    x.startSending(20);
    y.startSending(20);
    await sleep(300);

    c.out(0);
    const killedAt = performance.now();
    await (c.nodes[0] as (typeof c.nodes)[0]).crash();
    await sleep(500);
    await eventually(() => assert.equal(peerLefts(w).length, 1, "one peer-left"), {
      timeoutMs: 20_000,
    });
    const after = performance.now() - killedAt;
    console.log(
      `SIGKILL: peer-left for the member that never came back after ${Math.round(after)} ms`,
    );
    assert.ok(after >= LIVENESS_MS - 1000, `peer-left after ${after} ms: before liveness`);
    assert.deepEqual(peerLefts(w)[0], {
      type: "peer-left",
      peerId: z.peerId,
      reason: "dropped",
      seq: peerLefts(w)[0]?.seq,
    });

    x.stopSending();
    y.stopSending();
    await sleep(1000);
    assertExactlyOnce(x, y);
    assertExactlyOnce(y, x);
    assert.ok(x.closes.length >= 1, "x's node died under it");
    assert.deepEqual(peerLefts(x), []);
    assert.deepEqual(peerLefts(y), []);
    await sleep(1000);
    assert.equal(peerLefts(w).length, 1, "exactly one peer-left");
    await Promise.all([x.stop(), y.stop(), w.stop()]);
  });

  it("SIGSTOP past the liveness bound, then SIGCONT: the node is fenced; no double membership, no double delivery", async () => {
    c = await startCluster(3, { RESUME_GRACE_MS: "20000" });
    // u stays on the paused node unaware; x notices and moves at once.
    const { a: u, b: v } = await pair(c, "s1", 0, 1);
    const { a: x, b: y } = await pair(c, "s2", 0, 2);
    // 10 a second: what u's socket buffers during the pause is re-sent in
    // one burst on resume, and must fit the rate limit's burst (200).
    for (const p of [u, v, x, y]) p.startSending(100);
    await sleep(300);
    const node0 = c.nodes[0] as (typeof c.nodes)[0];
    c.out(0);
    node0.pause();
    await sleep(1000);
    // A resume takes over at once, while the old node still looks alive.
    await x.client.terminate();
    await eventually(() => assert.equal(x.closes.length, 1, "x saw its socket close"));
    await sleep(LIVENESS_MS + 2000);
    node0.resume();
    // Woken, it learns it was declared dead and closes its sockets (1012).
    await eventually(() => assert.deepEqual(u.closes, [1012]), { timeoutMs: 10_000 });
    await sleep(1500);
    for (const p of [u, v, x, y]) p.stopSending();
    await sleep(1500);
    assertExactlyOnce(u, v);
    assertExactlyOnce(v, u);
    assertExactlyOnce(x, y);
    assertExactlyOnce(y, x);
    for (const p of [u, v, x, y]) assert.deepEqual(peerLefts(p), []);
    const health = await c.health(1);
    assert.equal(health.members, 4);
    assert.equal(health.parked, 0);
    await Promise.all([u, v, x, y].map((p) => p.stop()));
  });

  it("pub/sub connections killed, and Redis paused: members that stay connected lose nothing", async () => {
    c = await startCluster(2, {});
    const pairs = await Promise.all([0, 1, 2].map((i) => pair(c as TestCluster, `r${i}`, 0, 1)));
    const everyone = pairs.flatMap(({ a, b }) => [a, b]);
    for (const p of everyone) p.startSending(20);
    await sleep(500);

    const killedAt = performance.now();
    await c.redis.command("CLIENT", "KILL", "TYPE", "pubsub");
    const mark = everyone.map((p) => p.received.length);
    await eventually(
      () => {
        for (const [i, p] of everyone.entries()) {
          assert.ok(p.received.length > (mark[i] ?? 0) + 5, "traffic flows");
        }
      },
      {
        timeoutMs: 10_000,
      },
    );
    console.log(
      `CLIENT KILL TYPE pubsub: traffic flowing again after ${Math.round(performance.now() - killedAt)} ms`,
    );

    const pausedAt = performance.now();
    await c.redis.command("CLIENT", "PAUSE", "3000", "ALL");
    await sleep(3000);
    const mark2 = everyone.map((p) => p.received.length);
    await eventually(
      () => {
        for (const [i, p] of everyone.entries()) {
          assert.ok(p.received.length > (mark2[i] ?? 0) + 5, "traffic flows");
        }
      },
      {
        timeoutMs: 10_000,
      },
    );
    console.log(
      `CLIENT PAUSE 3000: traffic flowing again ${Math.round(performance.now() - pausedAt - 3000)} ms after the pause`,
    );

    for (const p of everyone) p.stopSending();
    await sleep(1500);
    for (const { a, b } of pairs) {
      assertExactlyOnce(a, b);
      assertExactlyOnce(b, a);
    }
    for (const p of everyone) {
      assert.deepEqual(p.closes, [], "nobody was disconnected");
      assert.deepEqual(peerLefts(p), []);
    }
    await Promise.all(everyone.map((p) => p.stop()));
  });

  it("Redis down: unavailable, /readyz 503, sockets closed after 5 s; back empty: nodes recover, resumes fail, joins work", async () => {
    c = await startCluster(2, {});
    const a = await c.connect(0);
    const b = await c.connect(1);
    await a.join("down");
    await b.join("down");
    await a.next("peer-joined");
    await a.next("ready");
    await b.next("ready");
    const stoppedAt = performance.now();
    await c.redis.stop();
    a.send({ type: "message", data: "lost?" });
    assert.equal(
      (await a.nextError("unavailable")).message,
      "the server cannot reach its room store; try again shortly",
    );
    for (const i of [0, 1]) {
      await eventually(async () => {
        const response = await fetch(`${(c as TestCluster).nodes[i]?.url}/readyz`);
        assert.equal(response.status, 503);
      });
    }
    const health = await c.health(0);
    assert.equal(health.node, "node0");
    assert.equal(health.redis, "down");
    assert.equal((await a.closed()).code, 1012);
    assert.equal((await b.closed()).code, 1012);
    const closedAfter = performance.now() - stoppedAt;
    console.log(`Redis down: sockets closed with 1012 after ${Math.round(closedAfter)} ms`);
    assert.ok(closedAfter >= 4500, `closed after ${closedAfter} ms`);

    const startedAt = performance.now();
    await c.redis.restart();
    for (const i of [0, 1]) {
      await eventually(
        async () => {
          const response = await fetch(`${(c as TestCluster).nodes[i]?.url}/readyz`);
          assert.equal(response.status, 200);
        },
        { timeoutMs: 10_000 },
      );
    }
    const recovered = performance.now() - startedAt;
    console.log(
      `Redis back (empty): both nodes ready ${Math.round(recovered)} ms after it started`,
    );
    // The rooms went with Redis's data: a resume fails cleanly, a join works.
    const again = await c.connect(1);
    again.send({
      type: "resume",
      peerId: a.peerId,
      resumeToken: a.joinedMessage?.resumeToken,
      lastSeq: a.lastSeq,
    });
    await again.nextError("resume-failed");
    await again.join("down");
    const other = await c.connect(0);
    const joined = await other.join("down");
    assert.deepEqual(joined.peerIds, [again.peerId]);
    await Promise.all([again.close(), other.close()]);
  });

  it("rolling restart: SIGTERM each node in turn while 20 pairs talk: zero lost, zero duplicated, nobody leaves", async () => {
    c = await startCluster(3, {});
    const cluster = c;
    const pairs = [];
    for (let i = 0; i < 20; i++) pairs.push(await pair(cluster, `roll${i}`, i % 3, (i + 1) % 3));
    const everyone = pairs.flatMap(({ a, b }) => [a, b]);
    for (const p of everyone) p.startSending(100);
    await sleep(500);
    for (let i = 0; i < 3; i++) {
      const node = cluster.nodes[i] as (typeof cluster.nodes)[0];
      cluster.out(i);
      const code = await node.stop();
      assert.equal(code, 0, `node${i} exit code`);
      await node.start(
        { REDIS_URL: cluster.redis.url, NODE_ID: `node${i}`, WEB_ROOT: "" },
        "/readyz",
      );
      cluster.in(i);
      await sleep(1000);
    }
    for (const p of everyone) p.stopSending();
    await sleep(2000);
    for (const { a, b } of pairs) {
      assertExactlyOnce(a, b);
      assertExactlyOnce(b, a);
    }
    for (const p of everyone) assert.deepEqual(peerLefts(p), []);
    const moved = everyone.filter((p) => p.closes.includes(1012)).length;
    console.log(
      `rolling restart: ${moved} of ${everyone.length} members moved node, none lost a frame`,
    );
    assert.ok(moved >= everyone.length / 2);
    await Promise.all(everyone.map((p) => p.stop()));
  });
});
