import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "../helpers/server.js";
import type { Msg, TestClient } from "../helpers/test-client.js";

/**
 * A client written for the origin design (seed article, sections 5-7): it
 * sends exactly the origin's frames and reads only the fields the origin
 * client reads. Types it does not know (our additions, such as
 * `peer-joined`) fall through its `switch` and are ignored.
 */
const ORIGIN_TYPES = new Set([
  "joined",
  "full",
  "ready",
  "offer",
  "answer",
  "ice",
  "left",
  "peer-left",
  "error",
]);

async function originNext(client: TestClient): Promise<Msg> {
  for (;;) {
    const message = await client.next();
    if (ORIGIN_TYPES.has(message.type)) return message;
  }
}

const OFFER_SDP = {
  type: "offer",
  sdp: "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n",
};
const ANSWER_SDP = {
  type: "answer",
  sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n",
};
const CANDIDATE_A = {
  candidate: "candidate:842163049 1 udp 1677729535 203.0.113.7 51234 typ srflx",
  sdpMid: "0",
  sdpMLineIndex: 0,
};
const CANDIDATE_B = {
  candidate: "candidate:1 1 udp 2122260223 192.168.1.20 40000 typ host",
  sdpMid: "0",
  sdpMLineIndex: 0,
};

describe("an origin-design client works unchanged", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.close();
  });

  it("joins, negotiates, exchanges ICE and leaves", async () => {
    const first = await server.connect("/");
    const second = await server.connect("/");

    first.sendRaw('{"type":"join","roomId":"1001"}');
    const firstJoined = await originNext(first);
    assert.equal(firstJoined.type, "joined");
    assert.equal(firstJoined.roomId, "1001");
    assert.equal(firstJoined.peers, 0);

    second.sendRaw('{"type":"join","roomId":"1001"}');
    const secondJoined = await originNext(second);
    assert.equal(secondJoined.type, "joined");
    assert.equal(secondJoined.roomId, "1001");
    assert.equal(secondJoined.peers, 1);

    // The later joiner is the initiator.
    const secondReady = await originNext(second);
    assert.equal(secondReady.type, "ready");
    assert.equal(secondReady.isInitiator, true);
    const firstReady = await originNext(first);
    assert.equal(firstReady.type, "ready");
    assert.equal(firstReady.isInitiator, false);

    // Initiator -> offer; receiver -> answer; then ICE both ways.
    second.sendRaw(JSON.stringify({ type: "offer", sdp: OFFER_SDP }));
    const offer = await originNext(first);
    assert.equal(offer.type, "offer");
    assert.deepEqual(offer.sdp, OFFER_SDP);

    first.sendRaw(JSON.stringify({ type: "answer", sdp: ANSWER_SDP }));
    const answer = await originNext(second);
    assert.equal(answer.type, "answer");
    assert.deepEqual(answer.sdp, ANSWER_SDP);

    first.sendRaw(JSON.stringify({ type: "ice", candidate: CANDIDATE_A }));
    second.sendRaw(JSON.stringify({ type: "ice", candidate: CANDIDATE_B }));
    const iceAtSecond = await originNext(second);
    assert.equal(iceAtSecond.type, "ice");
    assert.deepEqual(iceAtSecond.candidate, CANDIDATE_A);
    const iceAtFirst = await originNext(first);
    assert.equal(iceAtFirst.type, "ice");
    assert.deepEqual(iceAtFirst.candidate, CANDIDATE_B);

    second.sendRaw('{"type":"leave"}');
    const left = await originNext(second);
    assert.equal(left.type, "left");
    const peerLeft = await originNext(first);
    assert.equal(peerLeft.type, "peer-left");

    first.sendRaw('{"type":"leave"}');
    assert.equal((await originNext(first)).type, "left");
    assert.deepEqual(await server.app.rooms.stats(), { rooms: 0, members: 0, parked: 0 });
  });

  it("gets full for a third participant", async () => {
    const clients = [
      await server.connect("/"),
      await server.connect("/"),
      await server.connect("/"),
    ];
    // One after the other: with clients spread over several nodes, only
    // the order in which joins reach the store decides who is third.
    for (const client of clients.slice(0, 2)) {
      client.sendRaw('{"type":"join","roomId":"1002"}');
      assert.equal((await originNext(client)).type, "joined");
    }
    const third = clients[2];
    assert.ok(third);
    third.sendRaw('{"type":"join","roomId":"1002"}');
    const full = await originNext(third);
    assert.equal(full.type, "full");
    assert.equal(full.roomId, "1002");
  });

  it("gets the origin's error messages", async () => {
    const client = await server.connect("/");
    client.sendRaw('{"type":"join","roomId":""}');
    const noRoom = await originNext(client);
    assert.equal(noRoom.type, "error");
    assert.equal(noRoom.message, "roomId is required");

    client.sendRaw(JSON.stringify({ type: "offer", sdp: OFFER_SDP }));
    const notInRoom = await originNext(client);
    assert.equal(notInRoom.type, "error");
    assert.equal(notInRoom.message, "join a room first");
  });

  it("sees peer-left when the other side's tab closes", async () => {
    const first = await server.connect("/");
    const second = await server.connect("/");
    first.sendRaw('{"type":"join","roomId":"1003"}');
    assert.equal((await originNext(first)).type, "joined");
    second.sendRaw('{"type":"join","roomId":"1003"}');
    assert.equal((await originNext(second)).type, "joined");
    assert.equal((await originNext(first)).type, "ready");
    // A closing tab sends a close frame (1001): the member leaves at once.
    await second.close(1001);
    assert.equal((await originNext(first)).type, "peer-left");
  });
});
