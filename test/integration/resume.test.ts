import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { afterEach, describe, it } from "node:test";
import type { Config } from "../../src/server/config.js";
import { manualClock } from "../helpers/clock.js";
import { upgradeStatus } from "../helpers/http.js";
import { joinPair, startTestServer, type TestServer } from "../helpers/server.js";
import { TcpProxy } from "../helpers/tcp-proxy.js";
import { TestClient } from "../helpers/test-client.js";
import { eventually, within } from "../helpers/wait.js";

/** The same `error` for every refused resume, whatever the cause. */
const REFUSED = {
  type: "error",
  code: "resume-failed",
  message: "cannot resume this session; join again",
};

describe("resume", () => {
  let server: TestServer;
  let proxy: TcpProxy | undefined;
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
    await server.close();
  });

  async function start(overrides: Partial<Config> = {}): Promise<TestServer> {
    server = await startTestServer(overrides);
    return server;
  }

  /** A client whose connection runs through a proxy the test can break. */
  async function throughProxy(): Promise<TestClient> {
    proxy ??= await TcpProxy.start(server.app.port);
    return TestClient.connect(proxy.wsUrl());
  }

  it("numbers every frame to a member from 1 on joined, replies included", async () => {
    await start();
    const a = await server.connect();
    a.send({ type: "ping" });
    assert.equal(
      Object.hasOwn(await a.nextNumbered("pong"), "seq"),
      false,
      "no seq outside a room",
    );
    a.send({ type: "join", roomId: "n" });
    const joined = await a.nextNumbered("joined");
    assert.equal(joined.seq, 1);
    assert.equal(typeof joined.resumeToken, "string");
    assert.equal(joined.resumeGraceMs, 20000);
    a.send({ type: "ping" });
    assert.equal((await a.nextNumbered("pong")).seq, 2);
    a.send({ type: "bogus" });
    assert.equal((await a.nextNumbered("error")).seq, 3);
    const b = await server.connect();
    await b.join("n");
    assert.equal((await a.nextNumbered("peer-joined")).seq, 4);
    assert.equal((await a.nextNumbered("ready")).seq, 5);
    // Each member has its own numbering.
    assert.equal((await b.nextNumbered("ready")).seq, 2);
    a.send({ type: "leave" });
    const left = await a.nextNumbered("left");
    assert.equal(Object.hasOwn(left, "seq"), false, "left: no longer a member");
  });

  it("parks a dropped member silently and gives it back with what it missed, in order", async () => {
    await start();
    const { a, b, aId, bId } = await joinPair(server, "park");
    const joined = { seq: b.lastSeq };
    // b's token comes from its joined; ask again through a fresh pair of sockets.
    const bToken = await tokenOf(server, b);
    assert.equal((await b.terminate()).code, 1006);
    await eventually(async () => assert.equal((await server.app.rooms.stats()).parked, 1));
    // Nobody is told; frames for b wait.
    a.send({ type: "message", data: "m1" });
    a.send({ type: "offer", sdp: "o1" });
    await a.expectNothing();
    assert.deepEqual(
      (await server.app.rooms.members("park")).map((m) => m.peerId),
      [aId, bId],
    );

    const again = await server.connect();
    again.send({ type: "resume", peerId: bId, resumeToken: bToken.token, lastSeq: joined.seq });
    const resumed = await again.next("resumed");
    assert.deepEqual(resumed, {
      type: "resumed",
      roomId: "park",
      peerId: bId,
      peerIds: [aId],
      members: [{ peerId: aId }],
      iceServers: [],
      resumeToken: bToken.token,
      received: bToken.received,
      seq: joined.seq + 3,
    });
    // The missed frames, with their original numbers (pong to tokenOf's ping first).
    const replayed = [
      await again.nextNumbered(),
      await again.nextNumbered(),
      await again.nextNumbered(),
    ];
    assert.deepEqual(
      replayed.map((m) => [m.seq, m.type]),
      [
        [joined.seq + 1, "pong"],
        [joined.seq + 2, "message"],
        [joined.seq + 3, "offer"],
      ],
    );
    assert.deepEqual(replayed[1], { type: "message", data: "m1", from: aId, seq: joined.seq + 2 });
    // Live traffic goes on, numbered after them, both ways.
    a.send({ type: "message", data: "live" });
    assert.deepEqual(await again.nextNumbered("message"), {
      type: "message",
      data: "live",
      from: aId,
      seq: joined.seq + 4,
    });
    again.send({ type: "message", data: "back" });
    assert.deepEqual(await a.next("message"), { type: "message", data: "back", from: bId });
    assert.equal((await server.app.rooms.stats()).parked, 0);
  });

  it("replays frames written into a blackholed socket before the server noticed, once", async () => {
    await start();
    const a = await server.connect();
    await a.join("hole");
    const b = await throughProxy();
    const bJoined = await b.join("hole");
    await b.next("ready");
    await a.next("peer-joined");
    await a.next("ready");
    const processed = b.lastSeq;

    proxy?.blackhole();
    for (let i = 0; i < 5; i++) a.send({ type: "message", data: i });
    await a.expectNothing(); // the server has handled (and written) all five

    const again = await server.connect();
    again.send({
      type: "resume",
      peerId: bJoined.peerId,
      resumeToken: bJoined.resumeToken,
      lastSeq: processed,
    });
    const resumed = await again.next("resumed");
    assert.equal(resumed.seq, processed + 5);
    const data: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      const m = await again.nextNumbered("message");
      assert.equal(m.seq, processed + 1 + i);
      data.push(m.data);
    }
    assert.deepEqual(data, [0, 1, 2, 3, 4]);
    await again.expectNothing();
  });

  it("tells the client how many of its frames were read, so it re-sends exactly the rest", async () => {
    await start();
    const a = await server.connect();
    const aJoined = await a.join("resend");
    const b = await throughProxy();
    const bJoined = await b.join("resend");
    await b.next("ready");
    await a.next("peer-joined");
    await a.next("ready");

    // Read by the server: 2 frames since joined.
    b.send({ type: "message", data: "read-1" });
    b.send({ type: "ping" });
    await b.next("pong");
    assert.deepEqual(await a.next("message"), {
      type: "message",
      data: "read-1",
      from: bJoined.peerId,
    });
    // Sent into the void: the server never reads these.
    proxy?.blackhole();
    b.send({ type: "message", data: "lost-1" });
    b.send({ type: "message", data: "lost-2" });

    const again = await server.connect();
    again.send({
      type: "resume",
      peerId: bJoined.peerId,
      resumeToken: bJoined.resumeToken,
      lastSeq: b.lastSeq,
    });
    const resumed = await again.next("resumed");
    assert.equal(resumed.received, 2, "join and resume frames do not count; message and ping do");
    again.send({ type: "message", data: "lost-1" });
    again.send({ type: "message", data: "lost-2" });
    assert.deepEqual(await a.next("message"), {
      type: "message",
      data: "lost-1",
      from: bJoined.peerId,
    });
    assert.deepEqual(await a.next("message"), {
      type: "message",
      data: "lost-2",
      from: bJoined.peerId,
    });
    await a.expectNothing();
    assert.notEqual(aJoined.peerId, bJoined.peerId);
  });

  it("closes a socket that is replaced by a resume with 4502, and it handles nothing more", async () => {
    await start();
    const { a, b, bId } = await joinPair(server, "replace");
    const { token } = await tokenOf(server, b);
    const again = await server.connect();
    again.send({ type: "resume", peerId: bId, resumeToken: token, lastSeq: b.lastSeq });
    await again.next("resumed");
    assert.deepEqual(await b.closed(), { code: 4502, reason: "resumed on another connection" });
    // The old socket's member is the new socket's now; nobody left.
    a.send({ type: "message", data: "to-new" });
    assert.deepEqual(await again.next("message"), {
      type: "message",
      data: "to-new",
      from: a.peerId,
    });
    await a.expectNothing();
  });

  it("never keeps joined (with its token) for replay", async () => {
    await start();
    const { b, bId } = await joinPair(server, "token");
    const { token } = await tokenOf(server, b);
    await b.terminate();
    const again = await server.connect();
    again.send({ type: "resume", peerId: bId, resumeToken: token, lastSeq: 0 });
    assert.deepEqual(await again.next(), REFUSED);
  });

  it("refuses wrong tokens, unknown and expired places alike, and the socket may join", async () => {
    await start({ resumeGraceMs: 200 });
    const { a, b, bId } = await joinPair(server, "refuse");
    const { token } = await tokenOf(server, b);
    await b.terminate();
    const probe = await server.connect();
    const attempts = [
      { peerId: bId, resumeToken: "not-the-token", lastSeq: 0 },
      { peerId: "no-such-peer", resumeToken: token, lastSeq: 0 },
      { peerId: bId, resumeToken: `${token}x`, lastSeq: 0 },
    ];
    for (const attempt of attempts) {
      probe.send({ type: "resume", ...attempt });
      assert.deepEqual(await probe.next(), REFUSED);
    }
    // Grace over: the right token gets the same answer.
    assert.deepEqual(await a.next("peer-left"), {
      type: "peer-left",
      peerId: bId,
      reason: "dropped",
    });
    probe.send({ type: "resume", peerId: bId, resumeToken: token, lastSeq: 0 });
    assert.deepEqual(await probe.next(), REFUSED);
    // The refused socket is still usable.
    const joined = await probe.join("refuse");
    assert.equal(joined.peers, 1);
  });

  it("refuses a resume whose frames fell out of the replay window, and frees the place", async () => {
    await start({ resumeBufferMessages: 4 });
    const { a, b, bId } = await joinPair(server, "overflow");
    const { token } = await tokenOf(server, b);
    const lastSeq = b.lastSeq;
    await b.terminate();
    await eventually(async () => assert.equal((await server.app.rooms.stats()).parked, 1));
    for (let i = 0; i < 5; i++) a.send({ type: "message", data: i });
    await a.expectNothing();
    const again = await server.connect();
    again.send({ type: "resume", peerId: bId, resumeToken: token, lastSeq });
    assert.deepEqual(await again.next(), REFUSED);
    // The owner asked: its useless place is given up at once (the room of two has room again).
    assert.deepEqual(await a.next("peer-left"), {
      type: "peer-left",
      peerId: bId,
      reason: "dropped",
    });
    assert.equal((await again.join("overflow")).peers, 1);
  });

  it("forgets acknowledged frames: a resume from before an ack is refused", async () => {
    await start();
    const { a, b, bId } = await joinPair(server, "ack");
    const { token } = await tokenOf(server, b);
    const before = b.lastSeq;
    a.send({ type: "message", data: "x" });
    await b.next("message");
    b.send({ type: "ack", seq: b.lastSeq });
    b.send({ type: "ack", seq: b.lastSeq + 5 });
    assert.equal((await b.nextError("bad-message")).message, "ack of a seq that was never sent");
    b.send({ type: "ack", seq: -1 });
    await b.nextError("bad-message");
    await b.terminate();
    const again = await server.connect();
    again.send({ type: "resume", peerId: bId, resumeToken: token, lastSeq: before });
    assert.deepEqual(await again.next(), REFUSED);
  });

  it("leaves at once on a clean close or a leave, as the origin design does", async () => {
    await start();
    const first = await joinPair(server, "clean");
    await first.b.close(1000);
    assert.deepEqual(await first.a.next("peer-left"), {
      type: "peer-left",
      peerId: first.bId,
      reason: "left",
    });
    const second = await joinPair(server, "clean2");
    second.b.send({ type: "leave" });
    await second.b.next("left");
    assert.deepEqual(await second.a.next("peer-left"), {
      type: "peer-left",
      peerId: second.bId,
      reason: "left",
    });
    assert.equal((await server.app.rooms.stats()).parked, 0);
  });

  it("leaves at once when resume is off (RESUME_GRACE_MS=0)", async () => {
    await start({ resumeGraceMs: 0 });
    const { a, b, bId } = await joinPair(server, "off");
    const joined = await tokenOf(server, b);
    assert.equal(joined.graceMs, 0);
    await b.terminate();
    assert.deepEqual(await a.next("peer-left"), {
      type: "peer-left",
      peerId: bId,
      reason: "dropped",
    });
  });

  it("announces peer-left when the grace period ends, not before", async () => {
    const graceMs = 400;
    await start({ resumeGraceMs: graceMs });
    const { a, b, bId } = await joinPair(server, "grace");
    await b.terminate();
    await eventually(async () => assert.equal((await server.app.rooms.stats()).parked, 1));
    const parkedAt = performance.now();
    assert.deepEqual(await a.next("peer-left"), {
      type: "peer-left",
      peerId: bId,
      reason: "dropped",
    });
    const waited = performance.now() - parkedAt;
    console.log(
      `grace: peer-left ${Math.round(waited)} ms after parking (RESUME_GRACE_MS ${graceMs})`,
    );
    assert.ok(waited >= graceMs - 50, `peer-left after ${waited} ms, before the grace was over`);
    assert.deepEqual(await server.app.rooms.stats(), { rooms: 1, members: 1, parked: 0 });
  });

  it("limits refused resumes per address", async () => {
    await start({ resumeFailuresPerMinute: 1 });
    const probe = await server.connect();
    for (let i = 0; i < 10; i++) {
      probe.send({ type: "resume", peerId: `guess-${i}`, resumeToken: "guess", lastSeq: 0 });
      assert.deepEqual(await probe.next(), REFUSED);
    }
    // Another socket from the same address is limited too.
    const other = await server.connect();
    other.send({ type: "resume", peerId: "guess-x", resumeToken: "guess", lastSeq: 0 });
    const limited = await other.nextError("rate-limited");
    assert.match(String(limited.message), /resume/);
  });

  it("answers hostile resume frames with bad-message, and resume inside a room too", async () => {
    await start();
    const probe = await server.connect();
    for (const bad of [
      { type: "resume" },
      { type: "resume", peerId: "p", resumeToken: "t" },
      { type: "resume", peerId: "p", resumeToken: "t", lastSeq: -1 },
      { type: "resume", peerId: "p", resumeToken: "t", lastSeq: 1.5 },
      { type: "resume", peerId: "p", resumeToken: "t", lastSeq: "3" },
      { type: "resume", peerId: "", resumeToken: "t", lastSeq: 0 },
      { type: "resume", peerId: "p".repeat(65), resumeToken: "t", lastSeq: 0 },
      { type: "resume", peerId: "p", resumeToken: "t".repeat(257), lastSeq: 0 },
      { type: "resume", peerId: { $ne: 1 }, resumeToken: "t", lastSeq: 0 },
      { type: "ack" },
      { type: "ack", seq: "1" },
    ]) {
      probe.send(bad);
      await probe.nextError("bad-message");
    }
    const { a } = await joinPair(server, "inside");
    a.send({ type: "resume", peerId: "p", resumeToken: "t", lastSeq: 0 });
    assert.equal(
      (await a.nextError("bad-message")).message,
      "resume only on a connection that is in no room",
    );
    // An ack outside a room is stale, not wrong.
    probe.send({ type: "ack", seq: 3 });
    await probe.expectNothing();
  });

  it("never lets a client forge seq: a relayed payload's own seq is replaced", async () => {
    await start();
    const { a, b, aId } = await joinPair(server, "forge");
    a.send({ type: "message", data: 1, seq: 999999 });
    const got = await b.nextNumbered("message");
    assert.deepEqual(got, { type: "message", data: 1, from: aId, seq: b.lastSeq });
    assert.notEqual(got.seq, 999999);
  });

  it("counts frames the rate limiter dropped as read, so the client re-sends none it need not", async () => {
    const time = manualClock();
    server = await startTestServer(
      { rateLimitPerSecond: 1, rateLimitBurst: 2, rateLimitCloseAfter: 100 },
      { clock: time.clock },
    );
    const { a, b, bId } = await joinPair(server, "drops");
    const { token } = await tokenOf(server, b); // 1 frame, and the ping's token
    time.advance(10_000);
    // One TCP write, so the limiter judges all five before anything is answered.
    const tcp = (b.ws as unknown as { _socket: Socket })._socket;
    tcp.cork();
    for (let i = 1; i <= 5; i++) b.send({ type: "message", data: i });
    tcp.uncork();
    await b.nextError("rate-limited"); // the third; the fourth and fifth are dropped unanswered
    time.advance(10_000);
    b.send({ type: "message", data: 6 });
    for (const data of [1, 2, 6]) {
      assert.deepEqual(await a.next("message"), { type: "message", data, from: bId });
    }
    const lastSeq = b.lastSeq;
    await b.terminate();
    const again = await server.connect();
    again.send({ type: "resume", peerId: bId, resumeToken: token, lastSeq });
    // ping, 5 messages (2 relayed, 1 refused, 2 dropped), 1 more relayed.
    assert.equal((await again.next("resumed")).received, 7);
    await a.expectNothing();
  });

  it("keeps a parked member's place in the room, but counts it against no address", async () => {
    await start({ maxConnectionsPerIp: 2 });
    const { a, b } = await joinPair(server, "seat");
    await b.terminate();
    await eventually(async () => assert.equal((await server.app.rooms.stats()).parked, 1));
    // The room of two is still full: the parked member holds its place ...
    assert.equal(server.app.connections(), 1);
    const third = await server.connect();
    third.send({ type: "join", roomId: "seat" });
    assert.deepEqual(await third.next(), { type: "full", roomId: "seat" });
    await third.close();
    await eventually(() => assert.equal(server.app.connections(), 1));
    // ... but no socket: besides a's, the address may open one more (of 2).
    assert.equal(await upgradeStatus(server.wsUrl), 101);
    await a.expectNothing();
  });

  it("finds a blackholed socket within two heartbeat intervals and parks its member", async (t) => {
    // Time is the subject: the heartbeat's setInterval runs on a mocked
    // clock this test moves beat by beat, so a loaded machine can neither
    // hurry nor delay a beat. (Only setInterval is mocked.)
    t.mock.timers.enable({ apis: ["setInterval"] });
    const intervalMs = 1000;
    await start({ heartbeatIntervalMs: intervalMs });
    const a = await server.connect();
    await a.join("beat");
    const b = await throughProxy();
    await b.join("beat");
    await a.next("peer-joined");
    await a.next("ready");
    proxy?.blackhole();
    const parked = async () => (await server.app.rooms.stats()).parked;

    // First beat: b's ping goes into the void; a answers its own.
    const aPinged = new Promise<void>((resolve) => a.ws.once("ping", () => resolve()));
    t.mock.timers.tick(intervalMs);
    await within(aPinged, 5000, "the first heartbeat's ping to a");
    await a.expectNothing(); // and the server has read a's pong
    assert.equal(await parked(), 0, "one unanswered ping is not yet a dead socket");

    // Second beat: b has sent nothing since the first: cut, and its member parked.
    t.mock.timers.tick(intervalMs);
    await eventually(async () => assert.equal(await parked(), 1, "members parked"), {
      what: "b's member parked after the second heartbeat",
    });
    // Parked, not gone: the room still holds it and nobody was told.
    await a.expectNothing();
  });
});

/**
 * The resume token and `received` of a member, read from its own frames:
 * the test joined it with `join`, whose `joined` carried the token. Sends a
 * ping and reads the pong, so `received` (frames read since joined) is 1
 * more than before.
 */
async function tokenOf(
  _server: TestServer,
  client: TestClient,
): Promise<{ token: string; received: number; graceMs: number }> {
  const joined = client.joinedMessage;
  assert.ok(joined, "the client has joined");
  client.send({ type: "ping" });
  await client.next("pong");
  return {
    token: String(joined.resumeToken),
    received: client.framesSent,
    graceMs: Number(joined.resumeGraceMs),
  };
}
