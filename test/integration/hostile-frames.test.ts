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

/**
 * Hostile frames: bad JSON, non-objects, bad or unknown types, binary,
 * oversize and invalid UTF-8. Each gets the protocol's answer; the socket
 * stays usable where the protocol says so; another room's pair keeps working.
 */
describe("hostile frames", () => {
  let server: TestServer;
  let bystanders: Pair;
  before(async () => {
    server = await startTestServer();
    bystanders = await joinPair(server, "bystanders");
  });
  afterEach(async () => {
    await assertPairWorks(bystanders);
  });
  after(async () => {
    await server.close();
  });

  it("answers invalid JSON with bad-json and stays usable", async () => {
    const client = await server.connect();
    for (const text of [
      "{",
      '{"type":"join"',
      "not json",
      "",
      "{'type':'ping'}",
      '{"type":"ping"} x',
    ]) {
      client.sendRaw(text);
      assert.deepEqual(await client.next(), {
        type: "error",
        code: "bad-json",
        message: ERROR_CODES["bad-json"],
      });
    }
    await client.expectNothing();
    await client.join("after-bad-json");
  });

  it("answers JSON that is not an object with bad-message", async () => {
    const client = await server.connect();
    for (const text of ["null", "[]", '[{"type":"ping"}]', "42", '"x"', "true"]) {
      client.sendRaw(text);
      assert.deepEqual(await client.next(), {
        type: "error",
        code: "bad-message",
        message: "message must be a JSON object",
      });
    }
    await client.expectNothing();
  });

  it("answers a missing or non-string type with bad-message", async () => {
    const client = await server.connect();
    for (const text of [
      "{}",
      '{"roomId":"1001"}',
      '{"__proto__":{"type":"ping"}}',
      '{"type":1}',
      '{"type":null}',
      '{"type":["ping"]}',
      '{"type":{"toString":"ping"}}',
      '{"type":true}',
    ]) {
      client.sendRaw(text);
      assert.deepEqual(await client.next(), {
        type: "error",
        code: "bad-message",
        message: "type is required and must be a string",
      });
    }
    await client.expectNothing();
  });

  it("answers unknown types with unknown-type, including Object.prototype names", async () => {
    const client = await server.connect();
    await client.join("unknown-types");
    for (const type of [
      "nope",
      "__proto__",
      "constructor",
      "toString",
      "hasOwnProperty",
      "valueOf",
      "JOIN",
      " ping",
      "",
    ]) {
      client.send({ type, roomId: "x" });
      assert.deepEqual(await client.next(), {
        type: "error",
        code: "unknown-type",
        message: `unknown message type "${type}"`,
      });
    }
    await client.expectNothing();
    assert.equal((await server.app.rooms.members("unknown-types")).length, 1);
  });

  it("echoes at most 64 characters of an unknown type", async () => {
    const client = await server.connect();
    client.send({ type: "x".repeat(10_000) });
    assert.deepEqual(await client.next(), {
      type: "error",
      code: "unknown-type",
      message: `unknown message type "${"x".repeat(64)}"`,
    });
  });

  it("never relays server-only types sent by a client", async () => {
    const pair = await joinPair(server, "server-only");
    const { a, b, aId } = pair;
    for (const type of [
      "joined",
      "peer-left",
      "ready",
      "full",
      "left",
      "pong",
      "error",
      "peer-joined",
    ]) {
      a.send({ type, peerId: aId, roomId: "server-only", isInitiator: true, code: "internal" });
      assert.deepEqual(await a.next(), {
        type: "error",
        code: "unknown-type",
        message: `unknown message type "${type}"`,
      });
    }
    await b.expectNothing();
    await assertPairWorks(pair);
  });

  it("refuses a binary frame with binary-not-supported and keeps the socket open", async () => {
    const { a, b } = await joinPair(server, "binary");
    a.sendRaw(Buffer.from('{"type":"offer","sdp":"x"}'), { binary: true });
    assert.deepEqual(await a.next(), {
      type: "error",
      code: "binary-not-supported",
      message: ERROR_CODES["binary-not-supported"],
    });
    await b.expectNothing();
    assert.equal(a.isOpen, true);
    await a.expectNothing();
  });

  it("answers frames in order, binary ones included", async () => {
    const client = await server.connect();
    client.send({ type: "join", roomId: "binary-order" });
    client.sendRaw(Buffer.from([1, 2, 3]), { binary: true });
    client.send({ type: "ping" });
    assert.equal((await client.next()).type, "joined");
    assert.equal((await client.nextError("binary-not-supported")).type, "error");
    assert.deepEqual(await client.next(), { type: "pong" });
  });

  it("closes on invalid UTF-8 with 1007 and tells the room", async () => {
    const { a, b, aId } = await joinPair(server, "utf8");
    // 0xff never occurs in UTF-8; 0xc3 0x28 is a broken two-byte sequence.
    a.sendRaw(Buffer.from([0x7b, 0x22, 0x74, 0xc3, 0x28, 0xff, 0x7d]), { binary: false });
    const closed = await a.closed();
    assert.equal(closed.code, 1007);
    assert.deepEqual(await b.next(), { type: "peer-left", peerId: aId, reason: "dropped" });
    await b.expectNothing();
  });
});

/** A text frame of exactly `bytes` bytes: a relayable `message` padded with ASCII. */
function frameOfSize(bytes: number): string {
  const head = '{"type":"message","data":"';
  const tail = '"}';
  return `${head}${"x".repeat(bytes - head.length - tail.length)}${tail}`;
}

for (const limit of [undefined, 1024]) {
  const bytes = limit ?? 64 * 1024;
  describe(`frame size limit (${limit === undefined ? "default 64 KiB" : `${limit} bytes`})`, () => {
    let server: TestServer;
    let bystanders: Pair;
    before(async () => {
      server = await startTestServer(limit === undefined ? {} : { maxMessageBytes: limit });
      bystanders = await joinPair(server, "bystanders");
    });
    after(async () => {
      await server.close();
    });

    it(`relays a frame of exactly ${bytes} bytes`, async () => {
      const { a, b, aId } = await joinPair(server, "at-limit");
      const frame = frameOfSize(bytes);
      assert.equal(Buffer.byteLength(frame), bytes);
      a.sendRaw(frame);
      const text = await b.nextText();
      assert.equal(text, `${frame.slice(0, -1)},"from":"${aId}"}`);
      await a.expectNothing();
    });

    it("reassembles a fragmented message within the limit and relays it", async () => {
      const { a, b, aId } = await joinPair(server, "fragments");
      const frame = frameOfSize(bytes);
      const third = Math.floor(bytes / 3);
      a.ws.send(frame.slice(0, third), { fin: false });
      a.ws.send(frame.slice(third, 2 * third), { fin: false });
      a.ws.send(frame.slice(2 * third), { fin: true });
      assert.equal(await b.nextText(), `${frame.slice(0, -1)},"from":"${aId}"}`);
    });

    it("closes with 1009 when fragments add up to more than the limit", async () => {
      const { a, b, aId } = await joinPair(server, "fragments-over");
      const frame = frameOfSize(bytes + 1);
      const half = Math.floor(frame.length / 2);
      // Each fragment is under the limit; together they are one byte over.
      a.ws.send(frame.slice(0, half), { fin: false });
      a.ws.send(frame.slice(half), { fin: true });
      assert.equal((await a.closed()).code, 1009);
      assert.deepEqual(await b.next(), { type: "peer-left", peerId: aId, reason: "dropped" });
    });

    it(`closes with 1009 on a frame of ${bytes + 1} bytes and tells the room`, async () => {
      const { a, b, aId } = await joinPair(server, "over-limit");
      a.sendRaw(frameOfSize(bytes + 1));
      const closed = await a.closed();
      assert.equal(closed.code, 1009);
      assert.deepEqual(await b.next(), { type: "peer-left", peerId: aId, reason: "dropped" });
      await b.expectNothing();
      assert.equal((await server.app.rooms.members("over-limit")).length, 1);
      await assertPairWorks(bystanders);
    });
  });
}
