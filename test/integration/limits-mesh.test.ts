import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { manualClock } from "../helpers/clock.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import type { TestClient } from "../helpers/test-client.js";
import { eventually } from "../helpers/wait.js";

/** A browser-sized offer: about 3.7 KB of SDP. */
const SDP = `v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n${"a=rtpmap:111 opus/48000/2\r\n".repeat(136)}`;
/** A browser-sized candidate line (an srflx candidate, about 265 bytes with the envelope). */
const candidate = (i: number) => ({
  candidate: `candidate:842163049 1 udp 1677729535 203.0.113.${i % 250} ${50000 + i} typ srflx raddr 192.168.1.20 rport ${40000 + i} generation 0 ufrag sK9d network-cost 999`,
  sdpMid: "0",
  sdpMLineIndex: 0,
});
const CANDIDATES_PER_PEER = 20;

/** Fills `roomId` with `count` members, each joining after the previous one is in. */
async function fillRoom(server: TestServer, roomId: string, count: number) {
  const members: { client: TestClient; peerId: string }[] = [];
  for (let i = 0; i < count; i++) {
    const client = await server.connect();
    const joined = await client.join(roomId);
    members.push({ client, peerId: String(joined.peerId) });
  }
  // Drain what each got about the later ones (peer-joined, ready).
  for (const [i, { client }] of members.entries()) {
    for (let later = i + 1; later < count; later++) {
      await client.nextSkipping("peer-joined", ["ready"]);
    }
  }
  return members;
}

describe("a mesh newcomer under default limits (room of MAX_ROOM_CAPACITY)", () => {
  let server: TestServer;
  before(async () => {
    // Default rate limits; only the room size is raised to the ceiling (16).
    // The limits' clock stands still: nothing refills while a loaded machine
    // reads, so what gets through is the allowance itself.
    server = await startTestServer({ maxPeers: 16 }, { clock: manualClock().clock });
  });
  afterEach(async () => server.closeClients());
  after(async () => server.close());

  it("gets all 15 offers and 20 candidates per peer delivered at once", async () => {
    const members = await fillRoom(server, "mesh-16", 15);
    const newcomer = await server.connect();
    const joined = await newcomer.join("mesh-16");
    assert.equal(joined.peers, 15);
    const newcomerId = String(joined.peerId);
    for (const { client } of members) await client.next("peer-joined");

    // All at once, as a browser does: an offer to each, then its trickle.
    for (const { peerId } of members) newcomer.send({ type: "offer", sdp: SDP, to: peerId });
    for (let i = 0; i < CANDIDATES_PER_PEER; i++) {
      for (const { peerId } of members) {
        newcomer.send({ type: "ice", candidate: candidate(i), to: peerId });
      }
    }
    const sent = members.length * (1 + CANDIDATES_PER_PEER);
    assert.equal(sent, 315, "more than the 1:1 burst of 200");

    for (const { client, peerId } of members) {
      assert.deepEqual(await client.next("offer"), {
        type: "offer",
        sdp: SDP,
        to: peerId,
        from: newcomerId,
      });
      for (let i = 0; i < CANDIDATES_PER_PEER; i++) {
        assert.deepEqual(await client.next("ice"), {
          type: "ice",
          candidate: candidate(i),
          to: peerId,
          from: newcomerId,
        });
      }
    }
    // Not one refusal.
    await newcomer.expectNothing();
  });

  it("counts the room-mates a member resumes into: its ICE restart to 15 peers all arrives", async () => {
    const members = await fillRoom(server, "mesh-resume", 16);
    const back = members[0] as { client: TestClient; peerId: string };
    const token = String(back.client.joinedMessage?.resumeToken);
    const lastSeq = back.client.lastSeq;
    await back.client.terminate();
    await eventually(async () => {
      assert.equal((await server.app.rooms.stats()).parked, 1, "the dropped member parked");
    });
    const again = await server.connect();
    again.send({ type: "resume", peerId: back.peerId, resumeToken: token, lastSeq });
    const resumed = await again.next("resumed");
    assert.equal((resumed.peerIds as string[]).length, 15);
    const others = members.slice(1);
    for (const { peerId } of others) again.send({ type: "offer", sdp: SDP, to: peerId });
    for (let i = 0; i < CANDIDATES_PER_PEER; i++) {
      for (const { peerId } of others)
        again.send({ type: "ice", candidate: candidate(i), to: peerId });
    }
    for (const { client } of others) {
      assert.equal((await client.next("offer")).from, back.peerId);
      for (let i = 0; i < CANDIDATES_PER_PEER; i++) await client.next("ice");
    }
    await again.expectNothing();
  });

  it("counts room-mates who leave: with one left, a 1:1 allowance again", async () => {
    const members = await fillRoom(server, "mesh-emptying", 16);
    const [a, b] = members as [
      { client: TestClient; peerId: string },
      { client: TestClient; peerId: string },
    ];
    for (const { client } of members.slice(2)) {
      client.send({ type: "leave" });
      await client.nextSkipping("left", ["peer-left"]);
    }
    for (let i = 0; i < 14; i++) {
      await a.client.next("peer-left");
      await b.client.next("peer-left");
    }
    // 250 at once to the one room-mate: the 1:1 burst (less the join's token), then refused.
    for (let i = 0; i < 250; i++)
      a.client.send({ type: "ice", candidate: candidate(i), to: b.peerId });
    await a.client.nextError("rate-limited");
    for (let i = 0; i < 199; i++) await b.client.next("ice");
    await b.client.expectNothing();
  });

  it("still closes a member of that room who floods", async () => {
    const members = await fillRoom(server, "mesh-flood", 16);
    const flooder = members[15]?.client as TestClient;
    let sent = 0;
    while (sent < 20_000 && flooder.isOpen) {
      for (let i = 0; i < 200; i++, sent++) {
        flooder.send({ type: "ice", candidate: candidate(i), to: members[0]?.peerId });
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.deepEqual(await flooder.closed(), { code: 1008, reason: "rate limit exceeded" });
    // At most 15 x 199 addressed messages at once (the join took a whole
    // token before there were room-mates), fewer if the 1 MiB byte burst
    // (not per room-mate) runs out first at ~360 bytes a frame; then 100
    // refusals close it.
    let relayed = 0;
    for (;;) {
      const message = await members[0]?.client.next();
      if (message?.type === "peer-left") break;
      assert.equal(message?.type, "ice");
      relayed++;
    }
    assert.ok(relayed > 2800 && relayed <= 2986, `${relayed} relayed of ${sent}`);
  });

  it("gives a broadcast no room-mate share: it costs what it costs in a 1:1 call", async () => {
    const members = await fillRoom(server, "mesh-broadcast", 16);
    const sender = members[15]?.client as TestClient;
    // A chat message to everyone reaches 15 members: 250 at once would be
    // 3,750 frames. The 1:1 burst (200) goes through, the rest is refused
    // (51 refusals: not yet enough to be closed as a flooder).
    for (let i = 0; i < 250; i++) sender.send({ type: "message", data: i });
    const refused = await sender.nextError("rate-limited");
    assert.equal(refused.message, "too many messages");
    const receiver = members[0]?.client as TestClient;
    let got = 0;
    for (;;) {
      const message = await receiver.next("message");
      assert.equal(message.data, got);
      got++;
      if (got === 199) break;
    }
    // The join took a token: 199 of the burst, then nothing more.
    await receiver.expectNothing();
    assert.equal(sender.isOpen, true);
  });
});

describe("a steady flood (default limits, the server's clock in the test's hand)", () => {
  const time = manualClock();
  let server: TestServer;
  before(async () => {
    server = await startTestServer({}, { clock: time.clock });
  });
  afterEach(async () => server.closeClients());
  after(async () => server.close());

  async function pair(roomId: string) {
    const a = await server.connect();
    const b = await server.connect();
    await a.join(roomId);
    const bJoined = await b.join(roomId);
    await b.next("ready");
    await a.next("peer-joined");
    await a.next("ready");
    return { a, b, bId: String(bJoined.peerId) };
  }

  it("closes a sender that keeps to twice its rate, which a count of refusals in a row never did", async () => {
    const { a, b } = await pair("steady-flood");
    // Spend most of the burst (the join took one token).
    for (let i = 0; i < 150; i++) b.send({ type: "ice", candidate: candidate(i) });
    for (let i = 0; i < 150; i++) await a.next("ice");
    let seconds = 0;
    for (; seconds < 10 && b.isOpen; seconds++) {
      time.advance(1000);
      // 100 a second against 50 allowed: half get through, every second.
      for (let i = 0; i < 100; i++) b.send({ type: "ice", candidate: candidate(i) });
      // The one rate-limited answer of this second says the server read them.
      await b.nextError("rate-limited").catch(() => undefined);
    }
    assert.deepEqual(await b.closed(), { code: 1008, reason: "rate limit exceeded" });
    // 100 refusals per 10 s, 10 a second forgotten, 50 a second refused.
    assert.ok(seconds >= 2 && seconds <= 5, `closed in second ${seconds}`);
  });

  it("never closes a sender that keeps just under its rate", async () => {
    const { a, b, bId } = await pair("steady-legit");
    for (let second = 0; second < 30; second++) {
      time.advance(1000);
      for (let i = 0; i < 45; i++) b.send({ type: "ice", candidate: candidate(i) });
      for (let i = 0; i < 45; i++) {
        assert.deepEqual(await a.next("ice"), { type: "ice", candidate: candidate(i), from: bId });
      }
    }
    assert.equal(b.isOpen, true);
    await b.expectNothing();
  });
});
