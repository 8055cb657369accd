import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { BULK_LIMITS, joinPair, startTestServer, type TestServer } from "../helpers/server.js";

/** Joins a connection may make at once (JOIN_BURST in src/server/app.ts). */
const JOIN_BURST = 10;

describe("join rate per connection (6 per minute, burst 10)", () => {
  let now = 0;
  let server: TestServer;
  before(async () => {
    // Messages unlimited, so only the join limit is under test.
    server = await startTestServer({ ...BULK_LIMITS, joinsPerMinute: 6 }, { clock: () => now });
  });
  afterEach(async () => server.closeClients());
  after(async () => server.close());

  it("refuses the join after the burst and leaves every room as it was", async () => {
    const { a, b, aId, bId } = await joinPair(server, "home");
    // a has spent one join; it hops between two rooms of its own for the rest.
    for (let i = 1; i < JOIN_BURST; i++) {
      a.send({ type: "join", roomId: `hop-${i % 2}` });
      await a.next("joined");
      if (i === 1) {
        assert.deepEqual(await b.next(), { type: "peer-left", peerId: aId, reason: "left" });
      }
    }
    // Back home through a join that would be refused: nothing may change.
    assert.deepEqual(await server.app.rooms.stats(), { rooms: 2, members: 2, parked: 0 });
    a.send({ type: "join", roomId: "home" });
    const refused = await a.nextError("rate-limited");
    assert.equal(refused.message, "too many joins; slow down");
    await b.expectNothing();
    assert.deepEqual(await server.app.rooms.stats(), { rooms: 2, members: 2, parked: 0 });
    assert.deepEqual(
      (await server.app.rooms.members("home")).map((m) => m.peerId),
      [bId],
    );
    // a is still in its last room: a relay there is answered by nobody, but not refused.
    a.send({ type: "message", data: "still here" });
    await a.expectNothing();

    // Ten seconds later there is one more join (6 a minute), and only one.
    now += 10_000;
    a.send({ type: "join", roomId: "home" });
    const joined = await a.next("joined");
    assert.deepEqual(joined.peerIds, [bId]);
    assert.deepEqual(await b.next(), { type: "peer-joined", peerId: aId });
    assert.deepEqual(await b.next(), { type: "ready", isInitiator: false });
    await a.next("ready");
    a.send({ type: "join", roomId: "hop-0" });
    await a.nextError("rate-limited");
    await b.expectNothing();
  });

  it("counts joins per connection: another connection has its own burst", async () => {
    const greedy = await server.connect();
    for (let i = 0; i < JOIN_BURST; i++) await greedy.join(`greedy-${i}`);
    greedy.send({ type: "join", roomId: "greedy-x" });
    await greedy.nextError("rate-limited");
    const other = await server.connect();
    for (let i = 0; i < JOIN_BURST; i++) await other.join(`other-${i}`);
  });

  it("does not spend joins on invalid join messages", async () => {
    const client = await server.connect();
    for (let i = 0; i < 50; i++) {
      client.send({ type: "join", roomId: "" });
      await client.nextError("room-id-required");
    }
    for (let i = 0; i < JOIN_BURST; i++) await client.join(`valid-${i}`);
  });
});

/**
 * The join timeout under test. The timeout is the subject, so it stays
 * short, but 2 s rather than 1 s: the socket that joins "in time" must get
 * its join read within it, even on a loaded machine.
 */
const JOIN_TIMEOUT_MS = 2000;

describe(`join timeout (${JOIN_TIMEOUT_MS} ms)`, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ joinTimeoutMs: JOIN_TIMEOUT_MS });
  });
  after(async () => server.close());

  it("closes a socket that never joins with 4002, and keeps one that joined in time", async () => {
    const punctual = await server.connect();
    await punctual.join("on-time");
    const idle = await server.connect();
    // Messages other than join do not count as joining.
    idle.send({ type: "ping" });
    await idle.next("pong");
    const closed = await idle.closed(JOIN_TIMEOUT_MS + 10_000);
    assert.deepEqual(closed, { code: 4002, reason: "join a room sooner" });
    // punctual's timer was set first, so it would have fired by now.
    assert.equal(punctual.isOpen, true);
    await punctual.expectNothing();
    await server.closeClients();
  });

  it("does not count a full room as joining", async () => {
    const { a, b } = await joinPair(server, "crowded");
    const late = await server.connect();
    late.send({ type: "join", roomId: "crowded" });
    await late.next("full");
    assert.equal((await late.closed(JOIN_TIMEOUT_MS + 10_000)).code, 4002);
    assert.equal(a.isOpen && b.isOpen, true);
    await server.closeClients();
  });
});
