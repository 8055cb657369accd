import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { type MintOptions, mintJoinToken } from "../../src/server/auth/mint-token.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import type { TestClient } from "../helpers/test-client.js";
import { HS_SECRET } from "../helpers/tokens.js";

const mint = (opts: MintOptions) => mintJoinToken({ secret: HS_SECRET }, opts);

/**
 * A room's size is fixed by whoever creates it, unless a host's token
 * names a larger one: then the host's join raises it (up to
 * MAX_ROOM_CAPACITY), so a guest who arrives first with the default
 * (MAX_PEERS) does not decide how big the host's call can be.
 */
describe("a host token's maxPeers and an existing room (MAX_PEERS 2, MAX_ROOM_CAPACITY 6)", () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startTestServer({ authSecret: HS_SECRET, maxPeers: 2, maxRoomCapacity: 6 });
  });
  afterEach(async () => server.close());

  async function guest(roomId: string, sub: string): Promise<TestClient> {
    const client = await server.connect();
    client.send({ type: "join", roomId, token: await mint({ room: roomId, sub }) });
    return client;
  }

  it("raises the capacity a guest's early join set, even when the room is full at the old size", async () => {
    const first = await guest("raise", "g1");
    await first.next("joined");
    const second = await guest("raise", "g2");
    await second.next("joined");
    const third = await guest("raise", "g3");
    assert.equal((await third.next()).type, "full", "two is the default size");

    // The host comes with maxPeers 4: it gets in (a third member) and the room now holds 4.
    const host = await server.connect();
    const hostJoined = await host.join("raise", {
      token: await mint({ room: "raise", sub: "host", role: "host", maxPeers: 4 }),
    });
    assert.equal(hostJoined.peers, 2);
    const fourth = await guest("raise", "g4");
    assert.equal((await fourth.next()).type, "joined");
    const fifth = await guest("raise", "g5");
    assert.equal((await fifth.next()).type, "full");
  });

  it("never shrinks a room, and never goes past MAX_ROOM_CAPACITY", async () => {
    const bigHost = await server.connect();
    await bigHost.join("ceiling", {
      token: await mint({ room: "ceiling", sub: "h1", role: "host", maxPeers: 100 }),
    });
    const smallHost = await server.connect();
    await smallHost.join("ceiling", {
      token: await mint({ room: "ceiling", sub: "h2", role: "host", maxPeers: 2 }),
    });
    // Six in all (the ceiling), though the second host asked for 2.
    for (let i = 3; i <= 6; i++) {
      const client = await guest("ceiling", `g${i}`);
      assert.equal((await client.next()).type, "joined", `member ${i}`);
    }
    const seventh = await guest("ceiling", "g7");
    assert.equal((await seventh.next()).type, "full");
  });

  it("does not let a guest's token raise it", async () => {
    const first = await guest("guests-only", "g1");
    await first.next("joined");
    const second = await guest("guests-only", "g2");
    await second.next("joined");
    const bigGuest = await server.connect();
    bigGuest.send({
      type: "join",
      roomId: "guests-only",
      token: await mint({ room: "guests-only", sub: "g3", maxPeers: 6 }),
    });
    assert.equal((await bigGuest.next()).type, "full");
  });
});
