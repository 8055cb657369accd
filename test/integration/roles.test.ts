import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { type MintOptions, mintJoinToken } from "../../src/server/auth/mint-token.js";
import { joinPair, startTestServer, type TestServer } from "../helpers/server.js";
import type { Msg, TestClient } from "../helpers/test-client.js";
import { HS_SECRET } from "../helpers/tokens.js";
import { eventually } from "../helpers/wait.js";

const mint = (opts: MintOptions) => mintJoinToken({ secret: HS_SECRET }, opts);

const ONLY_HOSTS = { type: "error", code: "forbidden", message: "only a host can do that" };

interface Room {
  readonly host: TestClient;
  readonly hostId: string;
  readonly guests: readonly { readonly client: TestClient; readonly peerId: string }[];
}

describe("host roles: kick, lock, unlock", () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startTestServer({ authSecret: HS_SECRET });
  });
  afterEach(async () => {
    await server.close();
  });

  /** A host and `guests` guests in `roomId` (capacity 4), every join notice read. */
  async function room(roomId: string, guests: number): Promise<Room> {
    const host = await server.connect();
    const token = await mint({ room: roomId, sub: "host", role: "host", maxPeers: 4 });
    const hostId = String((await host.join(roomId, { token })).peerId);
    const joined: { client: TestClient; peerId: string }[] = [];
    for (let i = 0; i < guests; i++) {
      const client = await server.connect();
      const guestToken = await mint({ room: roomId, sub: `guest${i}` });
      const peerId = String((await client.join(roomId, { token: guestToken })).peerId);
      if (i === 0) await client.next("ready");
      for (const earlier of [host, ...joined.map((g) => g.client)]) {
        assert.equal((await earlier.next("peer-joined")).peerId, peerId);
        if (i === 0) await earlier.next("ready");
      }
      joined.push({ client, peerId });
    }
    return { host, hostId, guests: joined };
  }

  it("kick reaches a parked member: it is gone at once and cannot resume", async () => {
    const { host, guests } = await room("kick-parked", 2);
    const [parked, other] = guests as [(typeof guests)[0], (typeof guests)[0]];
    const token = String(parked.client.joinedMessage?.resumeToken);
    await parked.client.terminate();
    await eventually(async () => assert.equal((await server.app.rooms.stats()).parked, 1));
    host.send({ type: "kick", peerId: parked.peerId });
    assert.deepEqual(await host.next(), {
      type: "peer-left",
      peerId: parked.peerId,
      reason: "kicked",
    });
    assert.deepEqual(await other.client.next(), {
      type: "peer-left",
      peerId: parked.peerId,
      reason: "kicked",
    });
    assert.deepEqual(await server.app.rooms.stats(), { rooms: 1, members: 2, parked: 0 });
    const again = await server.connect();
    again.send({ type: "resume", peerId: parked.peerId, resumeToken: token, lastSeq: 0 });
    await again.nextError("resume-failed");
  });

  it("two hosts kicking the same member at once both get an answer", async () => {
    const { host, guests } = await room("twice", 1);
    const target = guests[0] as Room["guests"][0];
    const second = await server.connect();
    await second.join("twice", {
      token: await mint({ room: "twice", sub: "host2", role: "host" }),
    });
    await host.next("peer-joined");
    await target.client.next("peer-joined");
    host.send({ type: "kick", peerId: target.peerId, id: "a" });
    second.send({ type: "kick", peerId: target.peerId, id: "b" });
    // Each host's answer carries its id; the other's kick may reach it first as a plain peer-left.
    const answerOf = async (client: TestClient): Promise<Msg> => {
      for (;;) {
        const message = await client.next();
        if (message.id !== undefined) return message;
        assert.deepEqual(message, { type: "peer-left", peerId: target.peerId, reason: "kicked" });
      }
    };
    const answers = [await answerOf(host), await answerOf(second)];
    for (const [i, answer] of answers.entries()) {
      assert.equal(answer.id, i === 0 ? "a" : "b", JSON.stringify(answer));
      assert.ok(
        (answer.type === "peer-left" && answer.reason === "kicked") ||
          (answer.type === "error" && answer.code === "unknown-peer"),
        JSON.stringify(answer),
      );
    }
    assert.equal((await target.client.closed()).code, 4501);
  });

  it("kick: the target gets kicked and closes with 4501; the others get peer-left", async () => {
    const { host, hostId, guests } = await room("k", 2);
    const [target, other] = guests as [Room["guests"][0], Room["guests"][0]];
    assert.deepEqual(await server.app.rooms.stats(), { rooms: 1, members: 3, parked: 0 });

    // The kicked socket answers at once, before the close can reach it: that relay goes nowhere.
    target.client.ws.once("message", () => {
      target.client.send({ type: "message", data: "after the kick" });
    });
    host.send({ type: "kick", peerId: target.peerId, id: "k1" });
    assert.deepEqual(await target.client.next(), { type: "kicked", roomId: "k", by: hostId });
    assert.deepEqual(await target.client.closed(), { code: 4501, reason: "removed by a host" });
    // The host's peer-left is the answer to its request: it carries the request's id.
    assert.deepEqual(await host.next(), {
      type: "peer-left",
      peerId: target.peerId,
      reason: "kicked",
      id: "k1",
    });
    assert.deepEqual(await other.client.next(), {
      type: "peer-left",
      peerId: target.peerId,
      reason: "kicked",
    });
    await host.expectNothing();
    await other.client.expectNothing();
    assert.deepEqual(await server.app.rooms.stats(), { rooms: 1, members: 2, parked: 0 });
    assert.deepEqual(
      (await server.app.rooms.members("k")).map((m) => m.peerId),
      [hostId, other.peerId],
    );

    // The kicked user may reconnect and, with a valid token, join again.
    const back = await server.connect();
    const again = await back.join("k", { token: await mint({ room: "k", sub: "guest0" }) });
    assert.equal(again.peers, 2);
    assert.notEqual(again.peerId, target.peerId);
    assert.equal((await host.next("peer-joined")).peerId, again.peerId);
    assert.equal((await other.client.next("peer-joined")).peerId, again.peerId);
  });

  it("lock: everyone gets locked; new joins are forbidden until unlock", async () => {
    const { host, hostId, guests } = await room("l", 1);
    const guest = (guests[0] as Room["guests"][0]).client;

    host.send({ type: "lock" });
    const locked: Msg = { type: "locked", roomId: "l", by: hostId };
    assert.deepEqual(await host.next(), locked);
    assert.deepEqual(await guest.next(), locked);

    const late = await server.connect();
    const token = await mint({ room: "l", sub: "late" });
    late.send({ type: "join", roomId: "l", token });
    assert.deepEqual(await late.nextError("forbidden"), {
      type: "error",
      code: "forbidden",
      message: "the room is locked",
    });
    await host.expectNothing();
    await guest.expectNothing();
    assert.deepEqual(await server.app.rooms.stats(), { rooms: 1, members: 2, parked: 0 });

    host.send({ type: "unlock" });
    const unlocked: Msg = { type: "unlocked", roomId: "l", by: hostId };
    assert.deepEqual(await host.next(), unlocked);
    assert.deepEqual(await guest.next(), unlocked);
    const joined = await late.join("l", { token });
    assert.equal(joined.peers, 2);
    assert.deepEqual(await server.app.rooms.stats(), { rooms: 1, members: 3, parked: 0 });
  });

  it("refuses a join into a locked room before leaving the current one", async () => {
    const locked = await room("vault", 1);
    locked.host.send({ type: "lock" });
    await locked.host.next("locked");
    await (locked.guests[0] as Room["guests"][0]).client.next("locked");

    // A pair elsewhere; one of them tries the locked room and must stay put.
    const mover = await server.connect();
    const stayer = await server.connect();
    const moverJoined = await mover.join("home", {
      token: await mint({ room: "*", sub: "mover" }),
    });
    await stayer.join("home", { token: await mint({ room: "home", sub: "stayer" }) });
    await mover.next("peer-joined");
    await mover.next("ready");
    await stayer.next("ready");

    mover.send({ type: "join", roomId: "vault", token: await mint({ room: "*", sub: "mover" }) });
    assert.equal((await mover.nextError("forbidden")).message, "the room is locked");
    await stayer.expectNothing();
    mover.send({ type: "ice", candidate: null });
    assert.deepEqual(await stayer.next("ice"), {
      type: "ice",
      candidate: null,
      from: moverJoined.peerId,
    });
    // A guest re-joining the locked room it is in is refused too, and changes nothing.
    const guest = (locked.guests[0] as Room["guests"][0]).client;
    guest.send({ type: "join", roomId: "vault", token: await mint({ room: "vault", sub: "g" }) });
    assert.equal((await guest.nextError("forbidden")).message, "the room is locked");
    assert.deepEqual(await server.app.rooms.stats(), { rooms: 2, members: 4, parked: 0 });
    await locked.host.expectNothing();
  });

  it("lets a host of the room into it while locked, told so, to unlock it", async () => {
    const vault = await room("keep", 1);
    const guest = (vault.guests[0] as Room["guests"][0]).client;
    vault.host.send({ type: "lock", id: "l1" });
    assert.deepEqual(await vault.host.next(), {
      type: "locked",
      roomId: "keep",
      by: vault.hostId,
      id: "l1",
    });
    assert.deepEqual(await guest.next(), { type: "locked", roomId: "keep", by: vault.hostId });
    // The only host drops for good: a locked room nobody could unlock, but for this.
    await vault.host.close();
    assert.equal((await guest.next("peer-left")).reason, "left");
    const guestToken = await mint({ room: "keep", sub: "late" });
    const late = await server.connect();
    late.send({ type: "join", roomId: "keep", token: guestToken });
    assert.equal((await late.nextError("forbidden")).message, "the room is locked");
    const back = await server.connect();
    const joined = await back.join("keep", {
      token: await mint({ room: "keep", sub: "host", role: "host", maxPeers: 4 }),
    });
    assert.equal(joined.locked, true);
    assert.equal(joined.role, "host");
    await guest.next("peer-joined");
    back.send({ type: "unlock", id: 7 });
    assert.deepEqual(await back.nextSkipping("unlocked", ["ready"]), {
      type: "unlocked",
      roomId: "keep",
      by: joined.peerId,
      id: 7,
    });
    assert.equal((await late.join("keep", { token: guestToken })).peers, 2);
  });

  it("refuses kick, lock and unlock from a guest, changing nothing", async () => {
    const { host, hostId, guests } = await room("g", 2);
    const [guest, other] = guests as [Room["guests"][0], Room["guests"][0]];
    for (const message of [
      { type: "kick", peerId: other.peerId },
      { type: "kick", peerId: hostId },
      { type: "lock" },
      { type: "unlock" },
    ]) {
      guest.client.send(message);
      assert.deepEqual(await guest.client.next(), ONLY_HOSTS);
    }
    await host.expectNothing();
    await other.client.expectNothing();
    assert.deepEqual(await server.app.rooms.stats(), { rooms: 1, members: 3, parked: 0 });
    // Not locked: one more may join.
    const late = await server.connect();
    assert.equal((await late.join("g", { token: await mint({ room: "g", sub: "x" }) })).peers, 3);
  });

  it("kick outside a room is not-in-room", async () => {
    const host = await server.connect();
    host.send({ type: "kick", peerId: "someone" });
    assert.deepEqual(await host.next(), {
      type: "error",
      code: "not-in-room",
      message: "join a room first",
    });
  });

  it("kick of an unknown peer or of a peer in another room is unknown-peer; nothing is delivered", async () => {
    const { host, guests } = await room("here", 1);
    const guest = (guests[0] as Room["guests"][0]).client;
    const elsewhere = await room("there", 1);
    const victim = elsewhere.guests[0] as Room["guests"][0];
    for (const peerId of [victim.peerId, elsewhere.hostId, "no-such-peer"]) {
      host.send({ type: "kick", peerId });
      assert.deepEqual(await host.next(), {
        type: "error",
        code: "unknown-peer",
        message: "no such peer in this room",
      });
    }
    for (const client of [guest, elsewhere.host, victim.client]) await client.expectNothing();
    assert.deepEqual(await server.app.rooms.stats(), { rooms: 2, members: 4, parked: 0 });
  });

  it("kick of yourself or without a string peerId is bad-message", async () => {
    const { host, hostId, guests } = await room("self", 1);
    const guest = (guests[0] as Room["guests"][0]).client;
    host.send({ type: "kick", peerId: hostId });
    assert.deepEqual(await host.next(), {
      type: "error",
      code: "bad-message",
      message: "a host cannot kick itself; send leave",
    });
    host.send({ type: "kick" });
    assert.deepEqual(await host.next(), {
      type: "error",
      code: "bad-message",
      message: "peerId: Invalid input: expected string, received undefined",
    });
    host.send({ type: "kick", peerId: 42 });
    assert.deepEqual(await host.next(), {
      type: "error",
      code: "bad-message",
      message: "peerId: Invalid input: expected string, received number",
    });
    host.send({ type: "kick", peerId: "" });
    assert.equal(
      (await host.nextError("bad-message")).message,
      "peerId: Too small: expected string to have >=1 characters",
    );
    await guest.expectNothing();
    assert.deepEqual(await server.app.rooms.stats(), { rooms: 1, members: 2, parked: 0 });
  });
});

describe("host roles without auth", () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startTestServer();
  });
  afterEach(async () => {
    await server.close();
  });

  it("treats everyone as a guest: kick, lock and unlock are forbidden", async () => {
    const pair = await joinPair(server, "open");
    for (const message of [
      { type: "kick", peerId: pair.bId },
      { type: "lock" },
      { type: "unlock" },
    ]) {
      pair.a.send(message);
      assert.deepEqual(await pair.a.next(), ONLY_HOSTS);
    }
    await pair.b.expectNothing();
    assert.deepEqual(await server.app.rooms.stats(), { rooms: 1, members: 2, parked: 0 });
  });
});
