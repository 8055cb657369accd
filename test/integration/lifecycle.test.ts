import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { joinPair, startTestServer, type TestServer } from "../helpers/server.js";

describe("connection lifecycle", () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("drops a socket that stops answering heartbeats, and keeps one that answers", async () => {
    // A short grace: the dropped member is parked, then announced as gone.
    server = await startTestServer({ heartbeatIntervalMs: 1000, resumeGraceMs: 200 });
    const live = await server.connect();
    // A client whose WebSocket layer never answers pings: a dead peer behind a NAT.
    const dead = await server.connect("/ws", { autoPong: false });
    const liveJoined = await live.join("heartbeat");
    const deadJoined = await dead.join("heartbeat");
    await dead.next("ready");
    await live.next("peer-joined");
    await live.next("ready");

    let pings = 0;
    const twoPings = new Promise<void>((resolve) => {
      live.ws.on("ping", () => {
        pings++;
        if (pings === 2) resolve();
      });
    });
    // First beat: a ping goes unanswered. Second beat: the socket is dropped.
    assert.equal((await dead.closed()).code, 1006);
    assert.deepEqual(await live.next(), {
      type: "peer-left",
      peerId: deadJoined.peerId,
      reason: "dropped",
    });
    await twoPings;
    assert.equal(live.isOpen, true);
    await live.expectNothing();
    assert.deepEqual(
      (await server.app.rooms.members("heartbeat")).map((m) => m.peerId),
      [liveJoined.peerId],
    );
  });

  it("closes every socket with 1012 on shutdown", async () => {
    server = await startTestServer();
    const { a, b } = await joinPair(server, "shutdown");
    const lonely = await server.connect();
    await server.app.close();
    for (const client of [a, b, lonely]) {
      assert.deepEqual(await client.closed(), { code: 1012, reason: "server shutting down" });
    }
    assert.equal(server.app.connections(), 0);
    assert.deepEqual(await server.app.rooms.stats(), { rooms: 0, members: 0, parked: 0 });
    // Closing again is harmless.
    await server.app.close();
  });
});
