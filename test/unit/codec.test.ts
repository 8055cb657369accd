import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeFrame, encode } from "../../src/protocol/codec.js";
import { ERROR_CODES } from "../../src/protocol/errors.js";

describe("decodeFrame", () => {
  it("decodes a JSON object with a string type", () => {
    assert.deepEqual(decodeFrame('{"type":"join","roomId":"1001"}'), {
      ok: true,
      type: "join",
      message: { type: "join", roomId: "1001" },
    });
    assert.deepEqual(decodeFrame(' \n{"type":""}\t'), {
      ok: true,
      type: "",
      message: { type: "" },
    });
  });

  it("answers text that is not JSON with bad-json", () => {
    for (const text of ["", "{", "not json", "{'type':'x'}", '{"type":"x"} {}', "\uFEFF{}"]) {
      assert.deepEqual(decodeFrame(text), {
        ok: false,
        error: { code: "bad-json", message: ERROR_CODES["bad-json"] },
      });
    }
  });

  it("answers JSON that is not an object with bad-message", () => {
    for (const text of ["null", "[]", "[{}]", "42", '"x"', "true", "false"]) {
      assert.deepEqual(decodeFrame(text), {
        ok: false,
        error: { code: "bad-message", message: "message must be a JSON object" },
      });
    }
  });

  it("answers a missing or non-string type with bad-message", () => {
    for (const text of [
      "{}",
      '{"type":1}',
      '{"type":null}',
      '{"type":["join"]}',
      '{"type":{}}',
      '{"__proto__":{"type":"join"}}',
    ]) {
      assert.deepEqual(decodeFrame(text), {
        ok: false,
        error: { code: "bad-message", message: "type is required and must be a string" },
      });
    }
  });

  it("keeps __proto__ as an own data key and never touches the prototype", () => {
    const result = decodeFrame('{"type":"offer","__proto__":{"polluted":1,"type":"x"}}');
    assert.ok(result.ok);
    assert.equal(result.type, "offer");
    assert.equal(Object.getPrototypeOf(result.message), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(result.message, "__proto__")?.value, {
      polluted: 1,
      type: "x",
    });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it("decodes deeply nested payloads without recursion trouble", () => {
    const deep = `${"[".repeat(30000)}${"]".repeat(30000)}`;
    const result = decodeFrame(`{"type":"offer","sdp":${deep}}`);
    assert.equal(result.ok && result.type, "offer");
  });
});

describe("encode", () => {
  it("serialises a message as JSON", () => {
    assert.equal(encode({ type: "pong" }), '{"type":"pong"}');
    assert.equal(encode({ type: "left", roomId: 'a"b' }), '{"type":"left","roomId":"a\\"b"}');
  });
});
