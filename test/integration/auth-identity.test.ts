import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import type { MintOptions } from "../../src/server/auth/mint-token.js";
import { mintJoinToken } from "../../src/server/auth/mint-token.js";
import type { Config } from "../../src/server/config.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import type { TestClient } from "../helpers/test-client.js";
import { HS_SECRET } from "../helpers/tokens.js";

const mint = (opts: MintOptions) => mintJoinToken({ secret: HS_SECRET }, opts);

describe("identity from join tokens", () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("puts role and userId in joined, and userId, role and name in members and peer-joined", async () => {
    server = await startTestServer({ authSecret: HS_SECRET });
    const a = await server.connect();
    const b = await server.connect();
    const hostToken = await mint({ room: "id", sub: "alice", role: "host", name: "Alice" });
    // The token's name wins over the name the client asks for.
    const aJoined = await a.join("id", { token: hostToken, name: "Mallory" });
    assert.deepEqual(aJoined, {
      type: "joined",
      roomId: "id",
      peers: 0,
      peerId: aJoined.peerId,
      peerIds: [],
      members: [],
      iceServers: [],
      role: "host",
      userId: "alice",
      resumeToken: aJoined.resumeToken,
      resumeGraceMs: 20000,
    });

    // Without a name claim, join.name is used; without a role claim, guest.
    const bJoined = await b.join("id", {
      token: await mint({ room: "id", sub: "bob" }),
      name: "Bob",
    });
    assert.deepEqual(bJoined, {
      type: "joined",
      roomId: "id",
      peers: 1,
      peerId: bJoined.peerId,
      peerIds: [aJoined.peerId],
      members: [{ peerId: aJoined.peerId, name: "Alice", userId: "alice", role: "host" }],
      iceServers: [],
      role: "guest",
      userId: "bob",
      resumeToken: bJoined.resumeToken,
      resumeGraceMs: 20000,
    });
    assert.deepEqual(await b.next(), { type: "ready", isInitiator: true });
    assert.deepEqual(await a.next(), {
      type: "peer-joined",
      peerId: bJoined.peerId,
      name: "Bob",
      userId: "bob",
      role: "guest",
    });
    assert.deepEqual(await a.next(), { type: "ready", isInitiator: false });
  });

  it("leaves name out when neither the token nor the join has one", async () => {
    server = await startTestServer({ authSecret: HS_SECRET, maxPeers: 3 });
    const a = await server.connect();
    const b = await server.connect();
    await a.join("anon", { token: await mint({ room: "anon", sub: "u1" }) });
    const bJoined = await b.join("anon", { token: await mint({ room: "anon", sub: "u2" }) });
    assert.deepEqual(await a.next("peer-joined"), {
      type: "peer-joined",
      peerId: bJoined.peerId,
      userId: "u2",
      role: "guest",
    });
  });

  it("sends no userId or role without auth", async () => {
    server = await startTestServer();
    const a = await server.connect();
    const b = await server.connect();
    // A token sent to a server without auth is ignored, claims and all.
    const token = await mint({ room: "open", sub: "alice", role: "host", name: "Alice" });
    const aJoined = await a.join("open", { name: "A", token });
    assert.deepEqual(aJoined, {
      type: "joined",
      roomId: "open",
      peers: 0,
      peerId: aJoined.peerId,
      peerIds: [],
      members: [],
      iceServers: [],
      resumeToken: aJoined.resumeToken,
      resumeGraceMs: 20000,
    });
    const bJoined = await b.join("open", { name: "B" });
    assert.deepEqual(bJoined.members, [{ peerId: aJoined.peerId, name: "A" }]);
    assert.equal(Object.hasOwn(bJoined, "role"), false);
    assert.equal(Object.hasOwn(bJoined, "userId"), false);
    assert.deepEqual(await a.next("peer-joined"), {
      type: "peer-joined",
      peerId: bJoined.peerId,
      name: "B",
    });
  });
});

describe("room capacity from the maxPeers claim", () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const start = async (overrides: Partial<Config>) => {
    server = await startTestServer({ authSecret: HS_SECRET, ...overrides });
    return server;
  };

  /**
   * Joins `count` clients to `roomId` (the first with `claims.first` as its
   * maxPeers, the others with `claims.others`) and reads what each join
   * told the members, so their inboxes are empty afterwards.
   */
  async function fill(
    s: TestServer,
    roomId: string,
    count: number,
    claims: { first?: number; others?: number },
  ): Promise<TestClient[]> {
    const clients: TestClient[] = [];
    for (let i = 0; i < count; i++) {
      const maxPeers = i === 0 ? claims.first : claims.others;
      const client = await s.connect();
      const token = await mint({ room: roomId, sub: `u${i}`, ...(maxPeers ? { maxPeers } : {}) });
      const joined = await client.join(roomId, { token });
      assert.equal(joined.peers, i);
      if (i === 1) await client.next("ready");
      for (const earlier of clients) {
        assert.equal((await earlier.next("peer-joined")).peerId, joined.peerId);
        if (i === 1) await earlier.next("ready");
      }
      clients.push(client);
    }
    return clients;
  }

  /** A further joiner (with `maxPeers` in its token, if given) gets `full`; nobody hears of it. */
  async function expectFull(
    s: TestServer,
    roomId: string,
    members: readonly TestClient[],
    maxPeers?: number,
  ): Promise<void> {
    const before = await s.app.rooms.stats();
    const late = await s.connect();
    const token = await mint({ room: roomId, sub: "late", ...(maxPeers ? { maxPeers } : {}) });
    late.send({ type: "join", roomId, token });
    assert.deepEqual(await late.next(), { type: "full", roomId });
    await late.expectNothing();
    assert.deepEqual(await s.app.rooms.stats(), before);
    assert.equal((await s.app.rooms.members(roomId)).length, members.length);
    for (const member of members) await member.expectNothing();
  }

  it("lets the token that creates a room set its capacity", async () => {
    const s = await start({});
    const members = await fill(s, "three", 3, { first: 3 });
    await expectFull(s, "three", members);
  });

  it("never goes above maxRoomCapacity", async () => {
    const s = await start({ maxRoomCapacity: 4 });
    const members = await fill(s, "ceiling", 4, { first: 50 });
    await expectFull(s, "ceiling", members, 50);
  });

  it("ignores a later joiner's claim for an existing room", async () => {
    const s = await start({});
    const members = await fill(s, "fixed", 2, { others: 10 });
    await expectFull(s, "fixed", members, 10);
  });

  it("uses the maxPeers option without a claim", async () => {
    const s = await start({ maxPeers: 3 });
    const members = await fill(s, "configured", 3, {});
    await expectFull(s, "configured", members);
  });
});
