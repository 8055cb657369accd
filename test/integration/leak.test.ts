import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { BULK_LIMITS, startTestServer, type TestServer } from "../helpers/server.js";
import type { TestClient } from "../helpers/test-client.js";
import { eventually } from "../helpers/wait.js";

const CYCLES = 10_000;
const WORKERS = 40;
const ROOMS = 25;
/** Workers connect from these loopback addresses, so the per-address tables have several keys to forget. */
const SOURCES = ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"];

/** Messages other sockets cause at their own pace; a worker may see them at any time. */
const BACKGROUND = ["peer-joined", "peer-left", "ready", "message"];

/** A small seeded PRNG (mulberry32), so a failing run can be replayed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("no leaks after churn", () => {
  let server: TestServer;
  before(async () => {
    // Terminated sockets park their members: a short grace lets them expire.
    server = await startTestServer({ ...BULK_LIMITS, resumeGraceMs: 50 });
  });
  after(async () => {
    await server.close();
  });

  it(`leaves no rooms, members or connections after ${CYCLES} join cycles`, async () => {
    let started = 0;
    /** The most addresses the connection counter held at once, sampled as workers start. */
    let busiest = 0;
    const tally = { joined: 0, full: 0, left: 0, closed: 0, terminated: 0, inFlight: 0 };

    async function worker(seed: number): Promise<void> {
      const random = prng(seed);
      const from = { localAddress: SOURCES[seed % SOURCES.length] };
      let client: TestClient = await server.connect("/ws", from);
      busiest = Math.max(busiest, server.app.addresses().connections);
      let inRoom = false;
      const replace = async (end: "close" | "terminate") => {
        if (end === "close") await client.close(1000);
        else await client.terminate();
        client = await server.connect("/ws", from);
        inRoom = false;
      };

      while (started < CYCLES) {
        started++;
        const roomId = `churn-${Math.floor(random() * ROOMS)}`;
        client.send({ type: "join", roomId });
        const action = random();
        if (action < 0.08) {
          // Gone while the join is still in flight.
          tally.inFlight++;
          await replace("terminate");
          continue;
        }
        const reply = await client.nextSkipping(["joined", "full"], BACKGROUND);
        inRoom = reply.type === "joined";
        if (inRoom) tally.joined++;
        else tally.full++;

        if (action < 0.4) {
          client.send({ type: "leave" });
          if (inRoom) await client.nextSkipping("left", BACKGROUND);
          else assert.equal((await client.nextSkipping("error", BACKGROUND)).code, "not-in-room");
          inRoom = false;
          tally.left++;
        } else if (action < 0.55) {
          if (inRoom) client.send({ type: "message", data: seed });
          // Stay: the next join leaves this room first.
        } else if (action < 0.7) {
          tally.closed++;
          await replace("close");
        } else if (action < 0.85) {
          tally.terminated++;
          await replace("terminate");
        }
        // Otherwise stay in the room; the next join moves this socket on.
      }
      if (random() < 0.5) await client.close(1000);
      else await client.terminate();
    }

    await Promise.all(Array.from({ length: WORKERS }, (_, i) => worker(i + 1)));
    assert.equal(started, CYCLES);
    // Every kind of ending actually happened.
    for (const [kind, count] of Object.entries(tally)) assert.ok(count > 0, `no ${kind} cycles`);

    // The server counted connections per address while they were open ...
    assert.ok(
      busiest >= 2,
      `at most ${busiest} addresses counted at once while ${WORKERS} workers churned`,
    );

    // Clients saw their sockets close; the server notices on its own schedule.
    // Bounded polling on the counters themselves, not a fixed wait.
    await eventually(
      async () => {
        assert.equal(server.app.connections(), 0, "open connections");
        assert.deepEqual(
          await server.app.rooms.stats(),
          { rooms: 0, members: 0, parked: 0 },
          "rooms, members and parked members",
        );
        assert.equal(server.app.seated(), 0, "members seated on this process (the local registry)");
        // ... and forgot every address once its last socket was gone.
        assert.equal(
          server.app.addresses().connections,
          0,
          "addresses still counted as having open connections",
        );
      },
      { timeoutMs: 30_000, intervalMs: 50, what: "the server to forget every churned socket" },
    );
    // Nothing here was a refused resume: the resume-failure table holds no address
    // (at most the few loopback addresses used, were any refused).
    const { resumeFailures, iceServers } = server.app.addresses();
    assert.ok(
      resumeFailures + iceServers <= SOURCES.length,
      `${resumeFailures + iceServers} addresses in the address limiters from ${SOURCES.length} sources`,
    );
    const health = (await (await fetch(`${server.httpUrl}/healthz`)).json()) as Record<
      string,
      unknown
    >;
    assert.equal(health.connections, 0);
    assert.equal(health.rooms, 0);
    assert.equal(health.members, 0);
  });
});
