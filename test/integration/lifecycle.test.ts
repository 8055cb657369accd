import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { joinPair, startTestServer, type TestServer } from "../helpers/server.js";
import type { TestClient } from "../helpers/test-client.js";
import { within } from "../helpers/wait.js";

const HEARTBEAT_MS = 1000;

describe("connection lifecycle", () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("drops a socket that stops answering heartbeats, and keeps one that answers", async (t) => {
    // Time is the subject: the heartbeat's setInterval runs on a mocked
    // clock that only this test moves, so a loaded machine cannot make a
    // beat early or late. (Only setInterval is mocked; ws and the
    // clients' timeouts keep real timers.)
    t.mock.timers.enable({ apis: ["setInterval"] });
    // A short grace: the dropped member is parked, then announced as gone.
    server = await startTestServer({ heartbeatIntervalMs: HEARTBEAT_MS, resumeGraceMs: 200 });
    const live = await server.connect();
    // A client whose WebSocket layer never answers pings: a dead peer behind a NAT.
    const dead = await server.connect("/ws", { autoPong: false });
    const liveJoined = await live.join("heartbeat");
    const deadJoined = await dead.join("heartbeat");
    await dead.next("ready");
    await live.next("peer-joined");
    await live.next("ready");

    const pinged = (client: TestClient, beat: string) =>
      within(
        new Promise<void>((resolve) => client.ws.once("ping", () => resolve())),
        5000,
        `the ${beat} heartbeat's ping`,
      );
    // A third socket, outside the room, to learn when the server has read
    // what live wrote: live's only answer must be its pong, since any frame
    // from it would count as a sign of life too.
    const probe = await server.connect();

    // First beat: both are pinged; live answers (autoPong), dead does not.
    const firstLive = pinged(live, "first");
    const firstDead = pinged(dead, "first");
    const firstProbe = pinged(probe, "first");
    t.mock.timers.tick(HEARTBEAT_MS);
    await Promise.all([firstLive, firstDead, firstProbe]);
    // ws wrote live's pong before emitting "ping"; the probe's round trip,
    // written after it over loopback, returns once the server has read it.
    await probe.expectNothing();
    assert.equal(dead.isOpen, true, "one unanswered ping is not yet a dead socket");

    // Second beat: the silent socket is dropped, the live one pinged again.
    const secondLive = pinged(live, "second");
    t.mock.timers.tick(HEARTBEAT_MS);
    const dropped = await dead.closed(5000);
    assert.equal(dropped.code, 1006, "the silent socket is cut without a close frame");
    assert.deepEqual(await live.next(), {
      type: "peer-left",
      peerId: deadJoined.peerId,
      reason: "dropped",
    });
    await secondLive;
    assert.equal(live.isOpen, true, "the socket that answers pings stays open");
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
    // Before: something for the shutdown to end (after close() the store is
    // always empty, so counts read then would prove nothing).
    assert.equal(server.app.connections(), 3, "three sockets open before shutdown");
    assert.deepEqual(await server.app.rooms.stats(), { rooms: 1, members: 2, parked: 0 });
    await server.app.close();
    for (const client of [a, b, lonely]) {
      assert.deepEqual(await client.closed(), { code: 1012, reason: "server shutting down" });
    }
    // What matters after: every socket was told 1012 (above) and none is left open.
    assert.equal(server.app.connections(), 0, "sockets left open after shutdown");
    // Closing again is harmless.
    await server.app.close();
  });
});
