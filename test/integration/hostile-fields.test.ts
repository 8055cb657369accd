import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { ERROR_CODES } from "../../src/protocol/errors.js";
import {
  assertPairWorks,
  joinPair,
  type Pair,
  startTestServer,
  type TestServer,
} from "../helpers/server.js";
import type { Msg, TestClient } from "../helpers/test-client.js";

/**
 * Hostile fields inside well-formed frames: wrong types, bad room ids,
 * prototype keys, forged `from`/`to`, pathological nesting. Rooms hold up
 * to 3 here so that addressing (`to`) is observable.
 */
describe("hostile fields", () => {
  let server: TestServer;
  let bystanders: Pair;
  before(async () => {
    server = await startTestServer({ maxPeers: 3 });
    bystanders = await joinPair(server, "bystanders");
  });
  afterEach(async () => {
    await assertPairWorks(bystanders);
  });
  after(async () => {
    await server.close();
  });

  /** Three members of `roomId`, every join notification consumed. */
  async function joinTrio(roomId: string): Promise<{ clients: TestClient[]; ids: string[] }> {
    const pair = await joinPair(server, roomId);
    const c = await server.connect();
    const cJoined = await c.join(roomId);
    const cId = String(cJoined.peerId);
    await pair.a.next("peer-joined");
    await pair.b.next("peer-joined");
    return { clients: [pair.a, pair.b, c], ids: [pair.aId, pair.bId, cId] };
  }

  function ownValue(message: Msg, key: string): unknown {
    assert.ok(Object.hasOwn(message, key), `${key} is an own key of ${JSON.stringify(message)}`);
    return Object.getOwnPropertyDescriptor(message, key)?.value;
  }

  it("answers roomId of the wrong type with bad-message naming roomId, staying in its room", async () => {
    const pair = await joinPair(server, "wrong-room-type");
    const { a, b } = pair;
    for (const roomId of [{ id: "1001" }, ["1001"], true, false]) {
      a.send({ type: "join", roomId });
      const error = await a.nextError("bad-message");
      assert.match(String(error.message), /roomId/);
    }
    // The failed joins did not take a out of its room.
    await b.expectNothing();
    await assertPairWorks(pair);
  });

  it("answers name of the wrong type with bad-message naming name", async () => {
    const client = await server.connect();
    client.send({ type: "join", roomId: "named", name: 42 });
    const error = await client.nextError("bad-message");
    assert.match(String(error.message), /name/);
    client.send({ type: "join", roomId: "named", name: "x".repeat(65) });
    assert.match(String((await client.nextError("bad-message")).message), /name/);
    assert.equal((await client.join("named", { name: "x".repeat(64) })).roomId, "named");
  });

  it("accepts a 128-character room id and refuses 129 with bad-room-id", async () => {
    const client = await server.connect();
    client.send({ type: "join", roomId: "r".repeat(129) });
    await client.nextError("bad-room-id");
    await client.expectNothing();
    const joined = await client.join("r".repeat(128));
    assert.equal(joined.roomId, "r".repeat(128));
    // Surrounding blanks are trimmed before the length is checked.
    const trimmed = await client.join(`  ${"s".repeat(128)}  `);
    assert.equal(trimmed.roomId, "s".repeat(128));
  });

  it("refuses room ids with control characters with bad-room-id", async () => {
    const client = await server.connect();
    for (const roomId of [
      "room\u0000x",
      "room\nx",
      "room\u007fx",
      "\u0000",
      "a\u0085b",
      "a\u2028b",
    ]) {
      client.send({ type: "join", roomId });
      await client.nextError("bad-room-id");
    }
    assert.deepEqual(await server.app.rooms.members("room\u0000x"), []);
    await client.join("clean");
  });

  it("refuses *, the join tokens' any-room, as a room id however it is padded", async () => {
    const client = await server.connect();
    for (const roomId of ["*", " * ", "\t*"]) {
      client.send({ type: "join", roomId });
      const error = await client.nextError("bad-room-id");
      assert.equal(error.message, "roomId * is reserved");
    }
    assert.deepEqual(await server.app.rooms.members("*"), []);
    assert.equal((await client.join("**")).roomId, "**");
  });

  it("relays __proto__, constructor and prototype keys as plain data without polluting", async () => {
    const { a, b, aId } = await joinPair(server, "proto");
    a.sendRaw(
      '{"type":"offer","__proto__":{"polluted":1},"constructor":{"prototype":{"polluted2":1}},"prototype":{"polluted3":1},"sdp":"x"}',
    );
    const received = await b.next("offer");
    assert.deepEqual(ownValue(received, "__proto__"), { polluted: 1 });
    assert.deepEqual(ownValue(received, "constructor"), { prototype: { polluted2: 1 } });
    assert.deepEqual(ownValue(received, "prototype"), { polluted3: 1 });
    assert.equal(received.from, aId);
    assert.equal(received.sdp, "x");
    // Same through the rebuild path (a forged `from` forces re-serialising).
    a.sendRaw('{"type":"ice","from":"forged","__proto__":{"polluted":1},"candidate":null}');
    const rebuilt = await b.next("ice");
    assert.deepEqual(ownValue(rebuilt, "__proto__"), { polluted: 1 });
    assert.equal(rebuilt.from, aId);
    const empty: Record<string, unknown> = {};
    assert.equal(empty.polluted, undefined);
    assert.equal(empty.polluted2, undefined);
    assert.equal(empty.polluted3, undefined);
    assert.equal(Object.hasOwn(Object.prototype, "polluted"), false);
    await a.expectNothing();
  });

  it("never uses a to hidden in __proto__: the relay is a broadcast", async () => {
    const { clients, ids } = await joinTrio("hidden-to");
    const [a, b, c] = clients;
    assert.ok(a && b && c);
    a.sendRaw(`{"type":"offer","sdp":"x","__proto__":{"to":"${ids[1]}"}}`);
    for (const receiver of [b, c]) {
      const got = await receiver.next("offer");
      assert.equal(got.from, ids[0]);
      assert.equal(Object.hasOwn(got, "to"), false);
    }
    // A hidden `to` naming nobody is not an unknown-peer either.
    a.sendRaw('{"type":"offer","sdp":"y","__proto__":{"to":"nobody"}}');
    assert.equal((await b.next("offer")).sdp, "y");
    assert.equal((await c.next("offer")).sdp, "y");
    await a.expectNothing();
  });

  it("never uses a from hidden in __proto__", async () => {
    const { a, b, aId, bId } = await joinPair(server, "hidden-from");
    a.sendRaw(`{"type":"answer","sdp":"x","__proto__":{"from":"${bId}"}}`);
    const got = await b.next("answer");
    assert.equal(got.from, aId);
    assert.deepEqual(ownValue(got, "__proto__"), { from: bId });
  });

  it("overwrites a client-sent from with the sender's peer id", async () => {
    const { a, b, aId, bId } = await joinPair(server, "forged-from");
    for (const from of [bId, "forged", 7, null, { x: 1 }]) {
      a.send({ type: "offer", from, sdp: "v=0" });
      const text = await b.nextText();
      assert.deepEqual(JSON.parse(text), { type: "offer", sdp: "v=0", from: aId });
      assert.equal(text.split('"from"').length, 2, `one from key in ${text}`);
    }
    await a.expectNothing();
  });

  it("delivers to only the member named in to", async () => {
    const { clients, ids } = await joinTrio("addressed");
    const [a, b, c] = clients;
    assert.ok(a && b && c);
    a.send({ type: "offer", sdp: "for b", to: ids[1] });
    assert.deepEqual(await b.next(), { type: "offer", sdp: "for b", to: ids[1], from: ids[0] });
    await c.expectNothing();
    await b.expectNothing();
  });

  it("answers a to naming no member of the room with unknown-peer and delivers nothing", async () => {
    const { a, b, aId } = await joinPair(server, "unknown-peer");
    for (const to of ["nobody", aId, bystanders.aId]) {
      a.send({ type: "offer", sdp: "x", to });
      assert.deepEqual(await a.next(), {
        type: "error",
        code: "unknown-peer",
        message: ERROR_CODES["unknown-peer"],
      });
    }
    await b.expectNothing();
    await bystanders.a.expectNothing();
    await bystanders.b.expectNothing();
  });

  it("answers a to of the wrong type with bad-message naming to", async () => {
    const { a, b } = await joinPair(server, "bad-to");
    for (const to of [42, null, "", ["x"], { id: "x" }, "p".repeat(65)]) {
      a.send({ type: "ice", candidate: null, to });
      assert.match(String((await a.nextError("bad-message")).message), /\bto\b/);
    }
    await b.expectNothing();
  });

  it("relays a payload nested 30,000 levels deep without crashing", async () => {
    const { a, b, aId } = await joinPair(server, "deep");
    const deep = `${"[".repeat(30000)}${"]".repeat(30000)}`;
    const frame = `{"type":"offer","sdp":${deep}}`;
    assert.ok(Buffer.byteLength(frame) <= 64 * 1024);
    a.sendRaw(frame);
    assert.equal(await b.nextText(), `{"type":"offer","sdp":${deep},"from":"${aId}"}`);

    // With a client `from` the frame must be rebuilt, which this depth defeats:
    // the sender is told, nothing is delivered, and the server carries on.
    a.sendRaw(`{"type":"offer","from":"forged","sdp":${deep}}`);
    const error = await a.nextError("bad-message");
    assert.match(String(error.message), /nested too deeply/);
    await b.expectNothing();
    await a.expectNothing();
    a.send({ type: "offer", sdp: "after" });
    assert.deepEqual(await b.next(), { type: "offer", sdp: "after", from: aId });
  });
});
