import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  BULK_LIMITS,
  joinPair,
  type Pair,
  startTestServer,
  type TestServer,
} from "../helpers/server.js";

const ROOMS = 50;
const MESSAGES_PER_SIDE = 10;
const ORDERED = 500;

describe("many rooms at once", () => {
  let server: TestServer;
  let pairs: Pair[];
  before(async () => {
    server = await startTestServer(BULK_LIMITS);
    pairs = await Promise.all(
      Array.from({ length: ROOMS }, (_, i) => joinPair(server, `iso-${i}`)),
    );
  });
  after(async () => {
    await server.close();
  });

  it(`keeps ${ROOMS} rooms of 2 isolated while all of them talk at once`, async () => {
    assert.deepEqual(await server.app.rooms.stats(), {
      rooms: ROOMS,
      members: 2 * ROOMS,
      parked: 0,
    });
    // Everyone sends before anyone reads, so the traffic of all rooms interleaves.
    pairs.forEach((pair, room) => {
      for (let i = 0; i < MESSAGES_PER_SIDE; i++) {
        pair.a.send({ type: "offer", sdp: `room ${room} a ${i}` });
        pair.b.send({ type: "answer", sdp: `room ${room} b ${i}` });
      }
    });
    await Promise.all(
      pairs.map(async (pair, room) => {
        for (let i = 0; i < MESSAGES_PER_SIDE; i++) {
          assert.deepEqual(await pair.b.next(), {
            type: "offer",
            sdp: `room ${room} a ${i}`,
            from: pair.aId,
          });
          assert.deepEqual(await pair.a.next(), {
            type: "answer",
            sdp: `room ${room} b ${i}`,
            from: pair.bId,
          });
        }
        await pair.a.expectNothing();
        await pair.b.expectNothing();
      }),
    );
  });

  it("keeps one room's leaves from reaching any other room", async () => {
    const half = pairs.slice(0, ROOMS / 2);
    await Promise.all(
      half.map(async (pair) => {
        pair.a.send({ type: "leave" });
        await pair.a.next("left");
        assert.deepEqual(await pair.b.next(), {
          type: "peer-left",
          peerId: pair.aId,
          reason: "left",
        });
      }),
    );
    await Promise.all(pairs.slice(ROOMS / 2).map((pair) => pair.a.expectNothing()));
    await Promise.all(pairs.slice(ROOMS / 2).map((pair) => pair.b.expectNothing()));
    assert.deepEqual(await server.app.rooms.stats(), {
      rooms: ROOMS,
      members: 2 * ROOMS - ROOMS / 2,
      parked: 0,
    });
  });
});

describe("message order", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(BULK_LIMITS);
  });
  after(async () => {
    await server.close();
  });

  it(`delivers ${ORDERED} ice messages in the order they were sent`, async () => {
    const { a, b, aId } = await joinPair(server, "order");
    for (let i = 0; i < ORDERED; i++) {
      a.send({ type: "ice", candidate: { candidate: `candidate:${i}`, sdpMid: "0" }, n: i });
    }
    for (let i = 0; i < ORDERED; i++) {
      assert.deepEqual(await b.next(), {
        type: "ice",
        candidate: { candidate: `candidate:${i}`, sdpMid: "0" },
        n: i,
        from: aId,
      });
    }
    await b.expectNothing();
  });

  it("keeps order across message types and both directions at once", async () => {
    const { a, b, aId, bId } = await joinPair(server, "mixed-order");
    const types = ["offer", "answer", "ice", "message"];
    for (let i = 0; i < ORDERED; i++) {
      a.send({ type: types[i % types.length], n: i });
      b.send({ type: types[(i + 1) % types.length], n: i });
    }
    for (let i = 0; i < ORDERED; i++) {
      assert.deepEqual(await b.next(), { type: types[i % types.length], n: i, from: aId });
      assert.deepEqual(await a.next(), { type: types[(i + 1) % types.length], n: i, from: bId });
    }
    await a.expectNothing();
    await b.expectNothing();
  });

  it("delivers a relay sent right after join only after the join notifications", async () => {
    const a = await server.connect();
    const b = await server.connect();
    const aJoined = await a.join("join-then-offer");
    // b sends join and offer back to back: the offer must not overtake the join.
    b.send({ type: "join", roomId: "join-then-offer" });
    b.send({ type: "offer", sdp: "early" });
    const bJoined = await b.next("joined");
    assert.deepEqual(await b.next(), { type: "ready", isInitiator: true });
    assert.deepEqual(await a.next(), { type: "peer-joined", peerId: bJoined.peerId });
    assert.deepEqual(await a.next(), { type: "ready", isInitiator: false });
    assert.deepEqual(await a.next(), { type: "offer", sdp: "early", from: bJoined.peerId });
    assert.deepEqual(bJoined.peerIds, [aJoined.peerId]);
  });
});
