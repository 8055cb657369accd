import assert from "node:assert/strict";
import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, afterEach, before, describe, it } from "node:test";
import { signature } from "../../src/server/webhooks/webhook-sender.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { eventually } from "../helpers/wait.js";

const ADMIN_TOKEN = "webhooks-admin-token-0123456789";
const SECRET = "webhook-secret-0123456789";
/** `npm run test:cluster` runs this file against 3 nodes. */
const CLUSTER_NODES = Number(process.env.SIGNALROOM_TEST_NODES ?? "1");

interface Received {
  readonly id: string;
  readonly event: string;
  readonly roomId: string;
  readonly peerId?: string;
  readonly peer?: { peerId: string; name?: string };
  readonly reason?: string;
  readonly createdAt: number;
  readonly seq: number;
  readonly roomSid: string;
}

/**
 * A real HTTP receiver, verifying every request the way a receiver should:
 * the signature over `<t>.<body>` in constant time, and a fresh timestamp.
 * `failFirst` answers 500 to that many requests before accepting.
 */
async function startReceiver(failFirst = 0) {
  const events: Received[] = [];
  const problems: string[] = [];
  let failures = failFirst;
  let requests = 0;
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      requests++;
      const body = Buffer.concat(chunks).toString();
      const header = String(req.headers["signalroom-signature"] ?? "");
      const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
      if (!match) problems.push(`bad signature header: ${header}`);
      else {
        const [, t, v1] = match;
        const expected = Buffer.from(signature(SECRET, Number(t), body), "hex");
        if (!timingSafeEqual(expected, Buffer.from(v1 as string, "hex"))) {
          problems.push("signature does not verify");
        }
        if (Math.abs(Date.now() / 1000 - Number(t)) > 300) problems.push("stale timestamp");
      }
      if (req.method !== "POST") problems.push(`method ${req.method}`);
      if (req.headers["content-type"] !== "application/json") problems.push("content type");
      if (failures > 0) {
        failures--;
        res.writeHead(500).end();
        return;
      }
      const parsed = JSON.parse(body) as Received;
      if (req.headers["signalroom-event-id"] !== parsed.id) problems.push("event id header");
      events.push(parsed);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    events,
    problems,
    requests: () => requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** What a room's story looks like in events, ids and times left out. */
const story = (events: readonly Received[], roomId: string) =>
  events
    .filter((e) => e.roomId === roomId)
    .map((e) => [e.event, e.peer?.peerId ?? e.peerId ?? "", e.reason ?? ""].join(" ").trim());

describe("webhooks (WEBHOOK_URL, WEBHOOK_SECRET)", () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let server: TestServer;
  before(async () => {
    receiver = await startReceiver();
    server = await startTestServer({
      webhookUrl: receiver.url,
      webhookSecret: SECRET,
      resumeGraceMs: 200,
      adminToken: ADMIN_TOKEN,
      maxPeers: 3,
    });
  });
  afterEach(async () => server.closeClients());
  after(async () => {
    await server.close();
    await receiver.close();
  });

  it("tells a room's life in order, signed, each event once", async () => {
    const a = await server.connect();
    const aId = String((await a.join("hooks-life", { name: "Ada" })).peerId);
    const b = await server.connect();
    const bId = String((await b.join("hooks-life")).peerId);
    await b.next("ready");
    b.send({ type: "leave" });
    await b.next("left");
    const c = await server.connect();
    const cId = String((await c.join("hooks-life")).peerId);
    await c.terminate(); // dropped: parked, then its grace period (200 ms) ends
    await eventually(async () => {
      assert.equal((await server.app.rooms.stats()).members, 1, "c's grace period over");
    });
    await a.close(1000);

    await eventually(
      () => assert.equal(story(receiver.events, "hooks-life").length, 8, "all eight events"),
      { what: "the room's events at the receiver" },
    );
    const expected = [
      "room-started",
      `peer-joined ${aId}`,
      `peer-joined ${bId}`,
      `peer-left ${bId} left`,
      `peer-joined ${cId}`,
      `peer-left ${cId} dropped`,
      `peer-left ${aId} left`,
      "room-finished",
    ];
    const told = story(receiver.events, "hooks-life");
    // Each event exactly once, also with several nodes (each sent by the
    // node whose store operation made it).
    assert.deepEqual([...told].sort(), [...expected].sort());
    // In order from one node; events made on different nodes at nearly the
    // same moment may arrive in either order (docs/deployment.md §8), and
    // their numbers put them back: 1, 2, ... in the room's one life.
    if (CLUSTER_NODES === 1) assert.deepEqual(told, expected);
    const life = receiver.events.filter((e) => e.roomId === "hooks-life");
    const sorted = [...life].sort((x, y) => x.seq - y.seq);
    assert.deepEqual(story(sorted, "hooks-life"), expected);
    assert.deepEqual(
      sorted.map((e) => e.seq),
      expected.map((_, i) => i + 1),
    );
    assert.equal(new Set(life.map((e) => e.roomSid)).size, 1, "one roomSid for the room's life");
    assert.match(life[0]?.roomSid ?? "", /^[A-Za-z0-9_-]{12}$/);
    const joined = receiver.events.find((e) => e.event === "peer-joined" && e.peer?.peerId === aId);
    assert.deepEqual(joined?.peer, { peerId: aId, name: "Ada" });
    const ids = new Set(receiver.events.map((e) => e.id));
    assert.equal(ids.size, receiver.events.length, "every event once, with its own id");
    assert.deepEqual(receiver.problems, []);
  });

  it("numbers kicks and a closed room too, and a room's next life starts over with a new sid", async () => {
    const admin = (method: string, path: string, body?: object) =>
      fetch(`${server.httpUrl}/api/admin/rooms/${path}`, {
        method,
        headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    const lives: string[] = [];
    for (let life = 0; life < 2; life++) {
      const a = await server.connect();
      const aId = String((await a.join("hooks-closed")).peerId);
      const b = await server.connect();
      const bId = String((await b.join("hooks-closed")).peerId);
      const c = await server.connect();
      const cId = String((await c.join("hooks-closed")).peerId);
      assert.equal((await admin("POST", "hooks-closed/kick", { peerId: bId })).status, 200);
      assert.equal((await b.closed()).code, 4501);
      assert.equal((await admin("DELETE", "hooks-closed")).status, 200);
      await Promise.all([a.closed(), c.closed()]);
      const expected = [
        "room-started",
        `peer-joined ${aId}`,
        `peer-joined ${bId}`,
        `peer-joined ${cId}`,
        `peer-left ${bId} kicked`,
        `peer-left ${aId} kicked`,
        `peer-left ${cId} kicked`,
        "room-finished",
      ];
      const mine = () =>
        receiver.events.filter((e) => e.roomId === "hooks-closed" && !lives.includes(e.roomSid));
      await eventually(() => assert.equal(mine().length, 8, "eight events"), {
        what: "the closed room's events",
      });
      const sorted = mine().sort((x, y) => x.seq - y.seq);
      assert.deepEqual(story(sorted, "hooks-closed"), expected);
      assert.deepEqual(
        sorted.map((e) => e.seq),
        [1, 2, 3, 4, 5, 6, 7, 8],
      );
      const sids = new Set(sorted.map((e) => e.roomSid));
      assert.equal(sids.size, 1);
      lives.push(...sids);
    }
    assert.notEqual(lives[0], lives[1], "each life of the room has its own sid");
  });
});

describe("webhooks to a receiver that fails at first", () => {
  it("retries with back-off and keeps the order", async () => {
    const receiver = await startReceiver(2);
    const server = await startTestServer({ webhookUrl: receiver.url, webhookSecret: SECRET });
    try {
      const a = await server.connect();
      await a.join("hooks-retry");
      await a.close(1000);
      // Two 500s, then the four events, in order (back-off 1 s, then 2 s).
      await eventually(() => assert.equal(receiver.events.length, 4, "four events delivered"), {
        timeoutMs: 15_000,
        what: "the events after two refusals",
      });
      assert.deepEqual(
        receiver.events.map((e) => [e.event, e.seq]),
        [
          ["room-started", 1],
          ["peer-joined", 2],
          ["peer-left", 3],
          ["room-finished", 4],
        ],
      );
      assert.equal(receiver.requests(), 2 + receiver.events.length);
      assert.deepEqual(receiver.problems, []);
    } finally {
      await server.close();
      await receiver.close();
    }
  });
});
