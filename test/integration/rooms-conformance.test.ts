import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { mintJoinToken } from "../../src/server/auth/mint-token.js";
import type { Config } from "../../src/server/config.js";
import type { PeerInfo, RoomStats, RoomsOptions } from "../../src/server/rooms/rooms.js";
import { startRedis } from "../helpers/redis-server.js";
import { BULK_LIMITS, startTestServer, type TestServer } from "../helpers/server.js";
import type { Msg, TestClient } from "../helpers/test-client.js";
import { HS_SECRET } from "../helpers/tokens.js";
import { eventually } from "../helpers/wait.js";
import { YieldingMemoryRooms } from "../helpers/yielding-rooms.js";

/**
 * One suite of room semantics, run against every `Rooms` implementation
 * through real servers and real sockets: the memory store; the memory
 * store yielding between every step (a handler that composes several
 * store calls into one protocol action fails here, as it would against
 * Redis); and Redis with three nodes, clients spread over them.
 */

const GRACE_MS = 1500;
const ROUNDS = 100;
const CONFIG: Partial<Config> = {
  ...BULK_LIMITS,
  authSecret: HS_SECRET,
  maxRoomCapacity: 16,
  resumeGraceMs: GRACE_MS,
};

interface Deployment {
  /** A client on node `node` (modulo the number of nodes). */
  connect(node: number): Promise<TestClient>;
  members(roomId: string): Promise<readonly PeerInfo[]>;
  stats(): Promise<RoomStats>;
  close(): Promise<void>;
}

function onNodes(servers: TestServer[], stop: () => Promise<void> = async () => {}): Deployment {
  const first = servers[0] as TestServer;
  return {
    connect: (node) => (servers[node % servers.length] as TestServer).connect(),
    members: (roomId) => first.app.rooms.members(roomId),
    stats: () => first.app.rooms.stats(),
    async close() {
      await Promise.all(servers.map((s) => s.close()));
      await stop();
    },
  };
}

const DEPLOYMENTS: { name: string; start(): Promise<Deployment> }[] = [
  { name: "memory", start: async () => onNodes([await startTestServer(CONFIG)]) },
  {
    name: "memory, yielding between every step",
    start: async () =>
      onNodes([
        await startTestServer(CONFIG, {
          createRooms: (opts: RoomsOptions) => new YieldingMemoryRooms(opts),
        }),
      ]),
  },
  {
    name: "redis, 3 nodes",
    async start() {
      const redis = await startRedis();
      const servers: TestServer[] = [];
      for (let i = 0; i < 3; i++) {
        servers.push(await startTestServer({ ...CONFIG, redisUrl: redis.url, nodeId: `n${i}` }));
      }
      return onNodes(servers, () => redis.stop());
    },
  },
];

const token = (
  room: string,
  sub: string,
  extra: { role?: "host" | "guest"; maxPeers?: number } = {},
) => mintJoinToken({ secret: HS_SECRET }, { room, sub, ...extra });

/** Every frame up to the answer to a ping: what the socket had been sent by then. */
async function drain(client: TestClient): Promise<Msg[]> {
  client.send({ type: "ping" });
  const frames: Msg[] = [];
  for (;;) {
    const message = await client.next(undefined, 10_000);
    if (message.type === "pong") return frames;
    frames.push(message);
  }
}

for (const deployment of DEPLOYMENTS) {
  describe(`rooms conformance: ${deployment.name}`, () => {
    let d: Deployment;
    before(async () => {
      d = await deployment.start();
    });
    after(async () => {
      await d?.close();
    });

    for (const capacity of [2, 16]) {
      it(`admits exactly ${capacity} of 64 concurrent joins, announced consistently, ${ROUNDS} rounds`, async () => {
        const clients = await Promise.all(Array.from({ length: 64 }, (_, i) => d.connect(i)));
        const joinToken = await token("*", "racer", { maxPeers: capacity });
        try {
          for (let round = 0; round < ROUNDS; round++) {
            const roomId = `cap${capacity}-${round}`;
            for (const client of clients) client.send({ type: "join", roomId, token: joinToken });
            const answers = await Promise.all(
              clients.map((c) => c.nextSkipping(["joined", "full"], ["peer-joined", "ready"])),
            );
            const joined = clients.filter((_, i) => answers[i]?.type === "joined");
            assert.equal(joined.length, capacity, `round ${round}: ${joined.length} joined`);
            const members = (await d.members(roomId)).map((m) => m.peerId);
            assert.equal(members.length, capacity);
            // Each member knows every other exactly once: from `joined.peerIds`
            // (those before it) or from `peer-joined` (those after), never both.
            const seen = await Promise.all(joined.map(drain));
            const readies: Msg[] = [];
            joined.forEach((client, i) => {
              const answer = answers[clients.indexOf(client)] as Msg;
              const before = answer.peerIds as string[];
              const frames = seen[i] as Msg[];
              const after = frames.filter((m) => m.type === "peer-joined").map((m) => m.peerId);
              const self = answer.peerId as string;
              assert.deepEqual(
                [...before, ...after, self].sort(),
                [...members].sort(),
                `round ${round}: what ${self} was told`,
              );
              assert.equal(new Set([...before, ...after]).size, before.length + after.length);
              for (const m of frames) {
                assert.ok(["peer-joined", "ready"].includes(m.type), JSON.stringify(m));
                if (m.type === "ready") readies.push({ ...m, peerId: self });
              }
            });
            // `ready` goes to the first two only, when the room reached two;
            // the later joiner initiates.
            assert.deepEqual(
              readies.sort(
                (a, b) => members.indexOf(String(a.peerId)) - members.indexOf(String(b.peerId)),
              ),
              [
                { type: "ready", isInitiator: false, peerId: members[0] },
                { type: "ready", isInitiator: true, peerId: members[1] },
              ],
            );
            for (const client of joined) client.send({ type: "leave" });
            await Promise.all(joined.map((c) => c.nextSkipping("left", ["peer-left"])));
          }
          await eventually(async () =>
            assert.deepEqual(await d.stats(), { rooms: 0, members: 0, parked: 0 }),
          );
        } finally {
          await Promise.all(clients.map((c) => c.close()));
        }
      });
    }

    it("relays in order between members on different nodes", async () => {
      const a = await d.connect(0);
      const b = await d.connect(1);
      try {
        await a.join("order", { token: await token("order", "a") });
        const bId = (await b.join("order", { token: await token("order", "b") })).peerId;
        await a.next("peer-joined");
        await a.next("ready");
        await b.next("ready");
        for (let i = 0; i < 200; i++) b.send({ type: i % 10 ? "ice" : "offer", n: i });
        for (let i = 0; i < 200; i++) {
          assert.deepEqual(await a.next(), { type: i % 10 ? "ice" : "offer", n: i, from: bId });
        }
        await a.expectNothing();
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    it("kicks and locks across nodes: one peer-left each, the lock holds everywhere", async () => {
      const host = await d.connect(0);
      const guest = await d.connect(1);
      const other = await d.connect(2);
      const late = await d.connect(1);
      const cap = { maxPeers: 4 };
      try {
        const hostId = (
          await host.join("k", { token: await token("k", "h", { role: "host", ...cap }) })
        ).peerId;
        const guestId = (await guest.join("k", { token: await token("k", "g") })).peerId;
        await other.join("k", { token: await token("k", "o") });
        await drain(host);
        await drain(guest);
        host.send({ type: "kick", peerId: guestId, id: 7 });
        assert.deepEqual(await guest.next(), { type: "kicked", roomId: "k", by: hostId });
        assert.equal((await guest.closed()).code, 4501);
        const left = { type: "peer-left", peerId: guestId, reason: "kicked" };
        assert.deepEqual(await host.next(), { ...left, id: 7 });
        assert.deepEqual(await other.next(), left);
        host.send({ type: "lock" });
        assert.deepEqual(await host.next(), { type: "locked", roomId: "k", by: hostId });
        assert.deepEqual(await other.next(), { type: "locked", roomId: "k", by: hostId });
        late.send({ type: "join", roomId: "k", token: await token("k", "l") });
        assert.equal((await late.nextError("forbidden")).message, "the room is locked");
        await host.expectNothing();
        await other.expectNothing();
        assert.equal((await d.members("k")).length, 2);
      } finally {
        await Promise.all([host.close(), guest.close(), other.close(), late.close()]);
      }
    });

    it("resumes on another node with what was missed, nobody told", async () => {
      const a = await d.connect(0);
      const b = await d.connect(1);
      const again = await d.connect(2);
      try {
        await a.join("resume", { token: await token("resume", "a") });
        const joined = await b.join("resume", { token: await token("resume", "b") });
        await drain(a);
        await drain(b);
        const lastSeq = b.lastSeq;
        await b.terminate();
        await eventually(async () => assert.equal((await d.stats()).parked, 1));
        for (let i = 0; i < 5; i++) a.send({ type: "message", n: i });
        // a's messages are handled in order before its ping: relayed by then.
        await a.expectNothing();
        again.send({
          type: "resume",
          peerId: joined.peerId,
          resumeToken: joined.resumeToken,
          lastSeq,
        });
        const resumed = await again.next("resumed");
        assert.equal(resumed.seq, lastSeq + 5);
        for (let i = 0; i < 5; i++) assert.equal((await again.next("message")).n, i);
        again.send({ type: "message", n: "back" });
        assert.equal((await a.next("message")).n, "back");
        await a.expectNothing();
        assert.equal((await d.stats()).parked, 0);
      } finally {
        await Promise.all([a.close(), b.close(), again.close()]);
      }
    });

    it("takes one call-report per pair, across a resume on another node, about room-mates only", async () => {
      const a = await d.connect(0);
      const b = await d.connect(1);
      const again = await d.connect(2);
      const report = (peerId: unknown) => ({
        type: "call-report",
        peerId,
        outcome: "connected",
        setupMs: 500,
        iceRestarts: 0,
        local: "host",
        remote: "host",
        protocol: "udp",
      });
      try {
        const joined = await a.join("report", { token: await token("report", "a") });
        const bId = (await b.join("report", { token: await token("report", "b") })).peerId;
        await drain(a);
        await drain(b);
        a.send(report(bId));
        assert.deepEqual(await a.next(), { type: "call-reported", peerId: bId });
        a.send(report(joined.peerId));
        assert.equal((await a.next("error")).code, "unknown-peer");
        // b may report about a too: the rule is per pair, not per room.
        b.send(report(joined.peerId));
        assert.deepEqual(await b.next(), { type: "call-reported", peerId: joined.peerId });
        const lastSeq = a.lastSeq;
        await a.terminate();
        await eventually(async () => assert.equal((await d.stats()).parked, 1));
        again.send({
          type: "resume",
          peerId: joined.peerId,
          resumeToken: joined.resumeToken,
          lastSeq,
        });
        await again.next("resumed");
        again.send(report(bId));
        assert.match(String((await again.nextError("bad-message")).message), /reported already/);
      } finally {
        await Promise.all([a.close(), b.close(), again.close()]);
      }
    });

    it("ends a grace period with exactly one peer-left", async () => {
      const a = await d.connect(0);
      const b = await d.connect(1);
      try {
        await a.join("grace", { token: await token("grace", "a") });
        const bId = (await b.join("grace", { token: await token("grace", "b") })).peerId;
        await drain(a);
        await b.terminate();
        assert.deepEqual(await a.next(undefined, GRACE_MS + 5000), {
          type: "peer-left",
          peerId: bId,
          reason: "dropped",
        });
        await a.expectNothing();
        assert.deepEqual(
          (await d.members("grace")).map((m) => m.peerId),
          [a.peerId],
        );
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });
  });
}
