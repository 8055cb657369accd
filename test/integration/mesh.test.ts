import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { BULK_LIMITS, startTestServer, type TestServer } from "../helpers/server.js";
import type { Msg, TestClient } from "../helpers/test-client.js";

/** Joins `count` clients to `roomId` one by one, consuming the announcements. */
async function fillRoom(
  server: TestServer,
  roomId: string,
  count: number,
): Promise<{ clients: TestClient[]; ids: string[] }> {
  const clients: TestClient[] = [];
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const client = await server.connect();
    const joined = await client.join(roomId);
    assert.deepEqual(joined.peerIds, ids, "peerIds lists the others, oldest first");
    assert.equal(joined.peers, ids.length);
    if (i === 1) await client.next("ready");
    for (const [j, other] of clients.entries()) {
      const announced = await other.next("peer-joined");
      assert.equal(announced.peerId, joined.peerId);
      if (i === 1 && j === 0) await other.next("ready");
    }
    clients.push(client);
    ids.push(String(joined.peerId));
  }
  return { clients, ids };
}

describe("mesh rooms", () => {
  let server: TestServer;
  afterEach(async () => server?.close());

  it("delivers directed messages to exactly their target among 8, and broadcasts to all 7 others", async () => {
    server = await startTestServer({ maxPeers: 8 });
    const { clients, ids } = await fillRoom(server, "octet", 8);

    // Every member sends one directed offer to every other member.
    for (const [i, sender] of clients.entries()) {
      for (const [j, target] of ids.entries()) {
        if (i !== j) sender.send({ type: "offer", sdp: `from ${i} to ${j}`, to: target });
      }
    }
    for (const [j, receiver] of clients.entries()) {
      const got: Msg[] = [];
      for (let k = 0; k < 7; k++) got.push(await receiver.next("offer"));
      await receiver.expectNothing();
      const expected = ids.flatMap((from, i) => (i === j ? [] : [`${from}|from ${i} to ${j}`]));
      assert.deepEqual(got.map((m) => `${m.from}|${m.sdp}`).sort(), expected.sort());
      assert.ok(got.every((m) => m.to === ids[j]));
    }

    // Without `to`: everyone else gets it once.
    clients[3]?.send({ type: "message", data: "all" });
    for (const [j, receiver] of clients.entries()) {
      if (j === 3) continue;
      assert.deepEqual(await receiver.next("message"), {
        type: "message",
        data: "all",
        from: ids[3],
      });
    }
    for (const client of clients) await client.expectNothing();
  });

  it("refuses a to naming a peer of another room, delivering nothing anywhere", async () => {
    server = await startTestServer({ maxPeers: 4 });
    const red = await fillRoom(server, "red", 3);
    const blue = await fillRoom(server, "blue", 2);
    const attacker = red.clients[0] as TestClient;
    for (const target of [blue.ids[0], blue.ids[1], "guessed-id", red.ids[0]]) {
      attacker.send({ type: "ice", candidate: { candidate: "x" }, to: target });
      await attacker.nextError("unknown-peer");
    }
    for (const client of [...red.clients, ...blue.clients]) await client.expectNothing();
  });

  it("sends ready only when a room reaches two, and full at capacity", async () => {
    server = await startTestServer({ maxPeers: 3 });
    const { clients } = await fillRoom(server, "trio", 3);
    // fillRoom consumed the one `ready` pair; the third joiner got none.
    for (const client of clients) await client.expectNothing();
    const fourth = await server.connect();
    fourth.send({ type: "join", roomId: "trio" });
    assert.deepEqual(await fourth.next("full"), { type: "full", roomId: "trio" });
  });

  it("keeps membership consistent through join/leave churn in a 16-person room", async () => {
    server = await startTestServer({ ...BULK_LIMITS, maxPeers: 16 });
    const room = "churn";
    const { clients, ids } = await fillRoom(server, room, 16);
    // Each client's own view of who else is in the room, from the events it gets.
    const views = clients.map((_, i) => new Set(ids.filter((_, j) => j !== i)));
    const inRoom = clients.map(() => true);
    const idOf = [...ids];

    // A deterministic pseudo-random walk: bounded number of steps.
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let step = 0; step < 120; step++) {
      const i = rand(16);
      const client = clients[i] as TestClient;
      if (inRoom[i]) {
        client.send({ type: "leave" });
        assert.equal((await client.next("left")).roomId, room);
        inRoom[i] = false;
        for (const [j, other] of clients.entries()) {
          if (j === i || !inRoom[j]) continue;
          const left = await other.next("peer-left");
          assert.equal(left.peerId, idOf[i]);
          views[j]?.delete(String(left.peerId));
        }
      } else {
        const joined = await client.join(room);
        const others = inRoom.flatMap((present, j) => (present ? [idOf[j]] : []));
        assert.deepEqual([...(joined.peerIds as string[])].sort(), [...others].sort() as string[]);
        assert.equal(joined.peerId, idOf[i], "a connection keeps its peer id across rejoins");
        inRoom[i] = true;
        views[i] = new Set(joined.peerIds as string[]);
        const count = others.length + 1;
        if (count === 2) await client.next("ready");
        for (const [j, other] of clients.entries()) {
          if (j === i || !inRoom[j]) continue;
          const announced = await other.next("peer-joined");
          assert.equal(announced.peerId, idOf[i]);
          views[j]?.add(String(announced.peerId));
          if (count === 2) await other.next("ready");
        }
      }
      const members = (await server.app.rooms.members(room)).map((m) => m.peerId);
      const expected = inRoom.flatMap((present, j) => (present ? [idOf[j] as string] : []));
      assert.deepEqual([...members].sort(), [...expected].sort(), `membership after step ${step}`);
      for (const [j, view] of views.entries()) {
        if (!inRoom[j]) continue;
        assert.deepEqual(
          [...view].sort(),
          expected.filter((id) => id !== idOf[j]).sort(),
          `view of ${j}`,
        );
      }
    }
    const members = await server.app.rooms.members(room);
    assert.ok(members.length <= 16);
  });

  it("never reuses a peer id, across 1,000 connections", async () => {
    server = await startTestServer(BULK_LIMITS);
    const seen = new Set<string>();
    for (let batch = 0; batch < 20; batch++) {
      const clients = await Promise.all(Array.from({ length: 50 }, () => server.connect()));
      const joined = await Promise.all(clients.map((c, i) => c.join(`ids-${batch}-${i}`)));
      for (const j of joined) {
        const id = String(j.peerId);
        assert.match(id, /^[A-Za-z0-9_-]{22}$/, "128 random bits, base64url");
        assert.equal(seen.has(id), false, `peer id ${id} reused`);
        seen.add(id);
      }
      await server.closeClients();
    }
    assert.equal(seen.size, 1000);
  });
});
