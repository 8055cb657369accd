import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SignalroomError } from "../../src/client/errors.js";
import { parseServerFrame, takeRequestId, takeSeq } from "../../src/client/server-frames.js";
import type { ServerMessage } from "../../src/protocol/index.js";

const pong = (extra: Record<string, unknown> = {}) =>
  ({ type: "pong", ...extra }) as unknown as ServerMessage;

describe("parseServerFrame", () => {
  it("returns a protocol message with its fields", () => {
    assert.deepEqual(parseServerFrame('{"type":"pong","id":"c1","seq":3}'), {
      type: "pong",
      id: "c1",
      seq: 3,
    });
  });

  for (const [what, data, message] of [
    ["binary", new Uint8Array([1]), "binary frame from server"],
    ["not JSON", "{", "server sent invalid JSON"],
  ] as const) {
    it(`refuses ${what} with bad-server-message`, () => {
      const result = parseServerFrame(data);
      assert.ok(result instanceof SignalroomError);
      assert.equal(result.code, "bad-server-message");
      assert.equal(result.message, message);
    });
  }

  it("refuses JSON that is no server message", () => {
    const result = parseServerFrame('{"type":"no-such-type"}');
    assert.ok(result instanceof SignalroomError);
    assert.equal(result.code, "bad-server-message");
    assert.match(result.message, /^unexpected server message: /);
  });
});

describe("takeRequestId", () => {
  it("splits our string id off a server reply", () => {
    const { message, id } = takeRequestId(pong({ id: "c7" }));
    assert.equal(id, "c7");
    assert.deepEqual(message, { type: "pong" });
  });

  it("drops an id that is not a string, so it matches no request", () => {
    const { message, id } = takeRequestId(pong({ id: 7 }));
    assert.equal(id, undefined);
    assert.deepEqual(message, { type: "pong" });
  });

  it("leaves a relayed payload's id alone: it is the sending peer's", () => {
    const relayed = { type: "message", from: "p1", id: "c7", data: 1 } as unknown as ServerMessage;
    const { message, id } = takeRequestId(relayed);
    assert.equal(id, undefined);
    assert.equal(message, relayed);
  });
});

describe("takeSeq", () => {
  it("removes seq and returns it", () => {
    const message = pong({ seq: 4 });
    assert.equal(takeSeq(message), 4);
    assert.deepEqual(message, { type: "pong" });
  });

  it("returns undefined for an unnumbered frame, and for a seq that is no number", () => {
    assert.equal(takeSeq(pong()), undefined);
    const odd = pong({ seq: "4" });
    assert.equal(takeSeq(odd), undefined);
    assert.deepEqual(odd, { type: "pong" });
  });
});
