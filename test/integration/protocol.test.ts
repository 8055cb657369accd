import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { joinPair, startTestServer, type TestServer } from "../helpers/server.js";

const PEER_ID = /^[A-Za-z0-9_-]{22}$/;

describe("protocol: 1:1 rooms", () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startTestServer();
  });
  afterEach(async () => {
    await server.close();
  });
  const memberIds = async (roomId: string) =>
    (await server.app.rooms.members(roomId)).map((member) => member.peerId);

  it("answers join with joined carrying the whole room", async () => {
    const a = await server.connect();
    const b = await server.connect();

    a.send({ type: "join", roomId: "1001" });
    const aJoined = await a.next("joined");
    const aId = aJoined.peerId;
    assert.match(String(aId), PEER_ID);
    assert.deepEqual(aJoined, {
      type: "joined",
      roomId: "1001",
      peers: 0,
      peerId: aId,
      peerIds: [],
      members: [],
      iceServers: [],
      resumeToken: aJoined.resumeToken,
      resumeGraceMs: 20000,
    });
    // 128 random bits, base64url; never the peer id.
    assert.match(String(aJoined.resumeToken), PEER_ID);
    assert.notEqual(aJoined.resumeToken, aId);

    b.send({ type: "join", roomId: "1001" });
    const bJoined = await b.next("joined");
    const bId = bJoined.peerId;
    assert.match(String(bId), PEER_ID);
    assert.notEqual(aId, bId);
    assert.deepEqual(bJoined, {
      type: "joined",
      roomId: "1001",
      peers: 1,
      peerId: bId,
      peerIds: [aId],
      members: [{ peerId: aId }],
      iceServers: [],
      resumeToken: bJoined.resumeToken,
      resumeGraceMs: 20000,
    });
    assert.notEqual(bJoined.resumeToken, aJoined.resumeToken);

    // The later joiner initiates; the earlier one hears about it first.
    assert.deepEqual(await b.next(), { type: "ready", isInitiator: true });
    assert.deepEqual(await a.next(), { type: "peer-joined", peerId: bId });
    assert.deepEqual(await a.next(), { type: "ready", isInitiator: false });
    await a.expectNothing();
    await b.expectNothing();
    assert.deepEqual(await server.app.rooms.stats(), { rooms: 1, members: 2, parked: 0 });
  });

  it("carries display names in members and peer-joined", async () => {
    const a = await server.connect();
    const b = await server.connect();
    const aJoined = await a.join("names", { name: "Alice" });
    const bJoined = await b.join("names", { name: "Bob" });
    assert.deepEqual(bJoined.members, [{ peerId: aJoined.peerId, name: "Alice" }]);
    assert.deepEqual(await a.next(), { type: "peer-joined", peerId: bJoined.peerId, name: "Bob" });
  });

  it("normalises room ids with String(roomId).trim()", async () => {
    const a = await server.connect();
    const b = await server.connect();
    const aJoined = await a.join(1001);
    assert.equal(aJoined.roomId, "1001");
    const bJoined = await b.join(" 1001 ");
    assert.equal(bJoined.roomId, "1001");
    assert.equal(bJoined.peers, 1);
    assert.deepEqual(bJoined.peerIds, [aJoined.peerId]);
    assert.deepEqual(await server.app.rooms.stats(), { rooms: 1, members: 2, parked: 0 });
  });

  it("tells a third joiner the room is full and leaves the room untouched", async () => {
    const { a, b, aId, bId } = await joinPair(server, "1001");
    const c = await server.connect();
    c.send({ type: "join", roomId: " 1001" });
    assert.deepEqual(await c.next(), { type: "full", roomId: "1001" });
    await a.expectNothing();
    await b.expectNothing();
    assert.deepEqual(await memberIds("1001"), [aId, bId]);
    assert.deepEqual(await server.app.rooms.stats(), { rooms: 1, members: 2, parked: 0 });
    // c is in no room: its relays are refused, and nobody hears from it.
    c.send({ type: "offer", sdp: "x" });
    assert.deepEqual(await c.next(), {
      type: "error",
      code: "not-in-room",
      message: "join a room first",
    });
    await a.expectNothing();
    await b.expectNothing();
  });

  for (const type of ["offer", "answer", "ice", "message"]) {
    it(`relays ${type} both ways with from set and the payload unchanged`, async () => {
      const { a, b, aId, bId } = await joinPair(server, `relay-${type}`);
      const payload = {
        type,
        sdp: { type: "offer", sdp: "v=0\r\no=- 46117 2 IN IP4 127.0.0.1\r\ns=-\r\n" },
        candidate: { candidate: "candidate:1 1 udp 2122260223 10.0.0.1 54321 typ host" },
        data: { text: 'héllo ✓ \u2028 "quoted"', n: -0.5, list: [1, null, true, { x: [] }] },
        empty: {},
      };
      // Spellings a re-serialisation would change: exact big integers, 1.0, escapes.
      const sent = `${JSON.stringify(payload).slice(0, -1)},"big":12345678901234567890,"one":1.0,"esc":"\\u00e9"}`;
      a.sendRaw(sent);
      const text = await b.nextText();
      assert.deepEqual(JSON.parse(text), { ...JSON.parse(sent), from: aId });
      // Forwarded as written, not re-serialised: the sender's bytes, then `from`.
      assert.equal(text, `${sent.slice(0, -1)},"from":"${aId}"}`);

      b.send({ type, data: "back" });
      assert.deepEqual(await a.next(), { type, data: "back", from: bId });
      await a.expectNothing();
      await b.expectNothing();
    });
  }

  it("addresses a relay with to", async () => {
    const { a, b, bId, aId } = await joinPair(server, "to");
    a.send({ type: "ice", candidate: null, to: bId });
    assert.deepEqual(await b.next(), { type: "ice", candidate: null, to: bId, from: aId });
    await a.expectNothing();
  });

  it("answers leave with left, tells the other peer-left, and deletes the empty room", async () => {
    const { a, b, aId } = await joinPair(server, "leave");
    a.send({ type: "leave" });
    assert.deepEqual(await a.next(), { type: "left", roomId: "leave" });
    assert.deepEqual(await b.next(), { type: "peer-left", peerId: aId, reason: "left" });
    assert.deepEqual(await server.app.rooms.stats(), { rooms: 1, members: 1, parked: 0 });

    // a is out: its relays are refused and b hears nothing.
    a.send({ type: "offer", sdp: "late" });
    assert.deepEqual(await a.next(), {
      type: "error",
      code: "not-in-room",
      message: "join a room first",
    });
    await b.expectNothing();

    b.send({ type: "leave" });
    assert.deepEqual(await b.next(), { type: "left", roomId: "leave" });
    assert.deepEqual(await server.app.rooms.stats(), { rooms: 0, members: 0, parked: 0 });
    b.send({ type: "leave" });
    assert.deepEqual(await b.next(), {
      type: "error",
      code: "not-in-room",
      message: "join a room first",
    });
  });

  it("sends ready again when a room refills to two", async () => {
    const { a, b, aId } = await joinPair(server, "refill");
    b.send({ type: "leave" });
    await b.next("left");
    await a.next("peer-left");
    const c = await server.connect();
    const cJoined = await c.join("refill");
    assert.deepEqual(cJoined.peerIds, [aId]);
    assert.deepEqual(await c.next(), { type: "ready", isInitiator: true });
    assert.deepEqual(await a.next(), { type: "peer-joined", peerId: cJoined.peerId });
    assert.deepEqual(await a.next(), { type: "ready", isInitiator: false });
  });

  it("answers ping with pong", async () => {
    const a = await server.connect();
    a.send({ type: "ping" });
    assert.deepEqual(await a.next(), { type: "pong" });
    await a.join("p");
    a.send({ type: "ping", extra: 1 });
    assert.deepEqual(await a.next(), { type: "pong" });
  });

  it("leaves the first room when joining another", async () => {
    const { a, b, aId, bId } = await joinPair(server, "first");
    const joined = await a.join("second");
    assert.deepEqual(joined, {
      type: "joined",
      roomId: "second",
      peers: 0,
      peerId: aId,
      peerIds: [],
      members: [],
      iceServers: [],
      resumeToken: joined.resumeToken,
      resumeGraceMs: 20000,
    });
    assert.deepEqual(await b.next(), { type: "peer-left", peerId: aId, reason: "left" });
    assert.deepEqual(await memberIds("first"), [bId]);
    assert.deepEqual(await memberIds("second"), [aId]);
    // a now talks to room "second" only.
    a.send({ type: "offer", sdp: "x" });
    await a.expectNothing();
    await b.expectNothing();
  });

  it("leaves the current room even when the next one is full, as the origin design does", async () => {
    const { a, b, aId, bId } = await joinPair(server, "home");
    const full = await joinPair(server, "elsewhere");
    a.send({ type: "join", roomId: "elsewhere" });
    assert.deepEqual(await a.next(), { type: "full", roomId: "elsewhere" });
    assert.deepEqual(await b.next(), { type: "peer-left", peerId: aId, reason: "left" });
    assert.deepEqual(await memberIds("home"), [bId]);
    a.send({ type: "offer", sdp: "x" });
    await a.nextError("not-in-room");
    await full.a.expectNothing();
    await full.b.expectNothing();
  });

  it("admits exactly two of many simultaneous joiners", async () => {
    const clients = await Promise.all(Array.from({ length: 10 }, () => server.connect()));
    for (const client of clients) client.send({ type: "join", roomId: "rush" });
    const replies = await Promise.all(clients.map((client) => client.next()));
    const joined = replies.filter((reply) => reply.type === "joined");
    assert.equal(joined.length, 2);
    assert.deepEqual(
      replies.filter((reply) => reply.type !== "joined"),
      Array.from({ length: 8 }, () => ({ type: "full", roomId: "rush" })),
    );
    assert.deepEqual(joined.map((reply) => reply.peers).sort(), [0, 1]);
    assert.equal((await memberIds("rush")).length, 2);
  });

  it("ignores unknown extra fields, and a token while auth is off", async () => {
    const a = await server.connect();
    a.send({ type: "join", roomId: "extra", token: "not.checked.here", future: { x: 1 } });
    const joined = await a.next("joined");
    assert.equal(joined.roomId, "extra");
    assert.equal(Object.hasOwn(joined, "future"), false);
    a.send({ type: "leave", future: true });
    assert.deepEqual(await a.next(), { type: "left", roomId: "extra" });
  });

  it("removes a member whose socket closes, and tells the other", async () => {
    const { a, b, aId, bId } = await joinPair(server, "close");
    assert.deepEqual(await b.close(1000), { code: 1000, reason: "" });
    assert.deepEqual(await a.next(), { type: "peer-left", peerId: bId, reason: "left" });
    assert.deepEqual(await memberIds("close"), [aId]);
  });

  it("removes a member whose connection drops without a close handshake once its grace is over", async () => {
    await server.close();
    server = await startTestServer({ resumeGraceMs: 300 });
    const { a, b, aId, bId } = await joinPair(server, "drop");
    const closed = await b.terminate();
    assert.equal(closed.code, 1006);
    // Parked: nobody is told at once (the client may resume) ...
    await a.expectNothing();
    assert.deepEqual(await memberIds("drop"), [aId, bId]);
    // ... and when RESUME_GRACE_MS is over, it is gone.
    assert.deepEqual(await a.next(), { type: "peer-left", peerId: bId, reason: "dropped" });
    assert.deepEqual(await memberIds("drop"), [aId]);
    a.send({ type: "leave" });
    await a.next("left");
    assert.deepEqual(await server.app.rooms.stats(), { rooms: 0, members: 0, parked: 0 });
  });

  it("answers a join without a room id with room-id-required", async () => {
    const a = await server.connect();
    for (const join of [
      { type: "join" },
      { type: "join", roomId: "" },
      { type: "join", roomId: "   " },
      { type: "join", roomId: null },
    ]) {
      a.send(join);
      assert.deepEqual(await a.next(), {
        type: "error",
        code: "room-id-required",
        message: "roomId is required",
      });
    }
    assert.deepEqual(await server.app.rooms.stats(), { rooms: 0, members: 0, parked: 0 });
    await a.join("after-errors");
  });

  it("refuses relays and leave outside a room with not-in-room", async () => {
    const a = await server.connect();
    for (const message of [
      { type: "offer", sdp: "x" },
      { type: "answer", sdp: "x" },
      { type: "ice", candidate: null },
      { type: "message", data: 1 },
      { type: "leave" },
    ]) {
      a.send(message);
      assert.deepEqual(await a.next(), {
        type: "error",
        code: "not-in-room",
        message: "join a room first",
      });
    }
  });
});

describe("protocol: mesh rooms (maxPeers 3)", () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startTestServer({ maxPeers: 3 });
  });
  afterEach(async () => {
    await server.close();
  });

  it("sends ready only when the room reaches two, and peer-joined to everyone already there", async () => {
    const { a, b, aId, bId } = await joinPair(server, "mesh");
    const c = await server.connect();
    const cJoined = await c.join("mesh", { name: "Carol" });
    assert.deepEqual(cJoined.peerIds, [aId, bId]);
    assert.deepEqual(cJoined.members, [{ peerId: aId }, { peerId: bId }]);
    assert.equal(cJoined.peers, 2);
    const joinedNote = { type: "peer-joined", peerId: cJoined.peerId, name: "Carol" };
    assert.deepEqual(await a.next(), joinedNote);
    assert.deepEqual(await b.next(), joinedNote);
    await a.expectNothing();
    await b.expectNothing();
    await c.expectNothing();

    const d = await server.connect();
    d.send({ type: "join", roomId: "mesh" });
    assert.deepEqual(await d.next(), { type: "full", roomId: "mesh" });
  });

  it("relays without to to every other member, and with to to one", async () => {
    const { a, b, aId, bId } = await joinPair(server, "mesh-relay");
    const c = await server.connect();
    await c.join("mesh-relay");
    await a.next("peer-joined");
    await b.next("peer-joined");

    c.send({ type: "offer", sdp: "to all" });
    const cId = (await a.next("offer")).from;
    assert.deepEqual(await b.next(), { type: "offer", sdp: "to all", from: cId });

    c.send({ type: "offer", sdp: "to b", to: bId });
    assert.deepEqual(await b.next(), { type: "offer", sdp: "to b", to: bId, from: cId });
    await a.expectNothing();
    await c.expectNothing();
    assert.notEqual(aId, cId);
  });
});
