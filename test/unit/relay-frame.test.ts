import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { relayFrame } from "../../src/server/signaling/relay-frame.js";

/** Parses `text` as the server's decodeFrame does, and builds the relayed frame. */
function relay(text: string, from = "peer-A"): string | null {
  return relayFrame(text, JSON.parse(text) as Record<string, unknown>, from);
}

describe("relayFrame", () => {
  it("appends from to the sender's text, leaving the payload's bytes alone", () => {
    const text = '{"type":"offer","sdp":"v=0\\r\\n","n":1.0,"e":1e3,"z":{"k":[1,2]}}';
    const frame = relay(text);
    assert.equal(
      frame,
      '{"type":"offer","sdp":"v=0\\r\\n","n":1.0,"e":1e3,"z":{"k":[1,2]},"from":"peer-A"}',
    );
    assert.deepEqual(JSON.parse(frame ?? ""), { ...JSON.parse(text), from: "peer-A" });
  });

  it("rebuilds frames that spell type twice, so every parser reads the type the server checked", () => {
    for (const text of [
      '{"type":"joined","type":"offer","sdp":"x"}',
      '{"typ\\u0065":"joined","type":"offer","sdp":"x"}',
    ]) {
      const frame = relay(text) ?? "";
      assert.equal(frame, '{"type":"offer","sdp":"x","from":"peer-A"}', text);
    }
    // `type` as a value, in arrays, or inside strings is not a second key.
    for (const text of [
      '{"type":"offer","a":["type","type"],"k":"type"}',
      '{"type":"offer","x":"\\"type\\":\\"joined\\"","y":{"type":{"type":1}}}',
    ]) {
      assert.equal(relay(text), `${text.slice(0, -1)},"from":"peer-A"}`, text);
    }
    // The origin web client nests the description, `type` included: only one
    // `type` at the top level, so it is forwarded exactly as written.
    const origin =
      '{"type":"offer","sdp":{"type":"offer","sdp":"v=0\\r\\n"},"big":12345678901234567890}';
    assert.equal(relay(origin), `${origin.slice(0, -1)},"from":"peer-A"}`);
    const escaped = '{"type":"ice","candidate":{"candidate":"caf\\u00e9","type":"x"}}';
    assert.equal(relay(escaped), `${escaped.slice(0, -1)},"from":"peer-A"}`);
  });

  it("handles whitespace around and inside the object", () => {
    const text = '  { "type" : "ice" , "candidate" : null }  \n';
    const frame = relay(text);
    assert.equal(frame, '  { "type" : "ice" , "candidate" : null ,"from":"peer-A"}');
    assert.deepEqual(JSON.parse(frame ?? ""), { type: "ice", candidate: null, from: "peer-A" });
  });

  it("handles closing braces inside strings and nested objects", () => {
    const text = '{"type":"message","data":{"text":"}}}"},"x":"{"}';
    assert.deepEqual(JSON.parse(relay(text) ?? ""), {
      type: "message",
      data: { text: "}}}" },
      x: "{",
      from: "peer-A",
    });
  });

  it("escapes the sender's id as JSON", () => {
    const frame = relay('{"type":"ice"}', 'a"b\\c');
    assert.deepEqual(JSON.parse(frame ?? ""), { type: "ice", from: 'a"b\\c' });
  });

  it("replaces a client-sent from, however it was spelt", () => {
    for (const text of [
      '{"type":"offer","from":"forged","sdp":"x"}',
      '{"from":"forged","type":"offer","sdp":"x"}',
      '{"type":"offer","fr\\u006fm":"forged","sdp":"x"}',
      '{"type":"offer","from":"one","from":"two","sdp":"x"}',
      '{"type":"offer","from":{"nested":"forged"},"sdp":"x"}',
    ]) {
      const frame = relay(text) ?? "";
      assert.deepEqual(JSON.parse(frame), { type: "offer", sdp: "x", from: "peer-A" }, text);
      assert.equal(frame.includes("forged"), false, frame);
    }
  });

  it("keeps __proto__ as data on both paths", () => {
    for (const text of [
      '{"type":"offer","__proto__":{"to":"x","from":"y"}}',
      '{"type":"offer","from":"forged","__proto__":{"to":"x","from":"y"}}',
    ]) {
      const parsed = JSON.parse(relay(text) ?? "") as Record<string, unknown>;
      assert.equal(parsed.from, "peer-A");
      assert.deepEqual(Object.getOwnPropertyDescriptor(parsed, "__proto__")?.value, {
        to: "x",
        from: "y",
      });
    }
    assert.equal(({} as Record<string, unknown>).to, undefined);
  });

  it("relays a payload nested 30,000 deep by appending, without re-serialising", () => {
    const deep = `${"[".repeat(30000)}${"]".repeat(30000)}`;
    const text = `{"type":"offer","sdp":${deep}}`;
    assert.equal(relay(text), `{"type":"offer","sdp":${deep},"from":"peer-A"}`);
  });

  it("returns null when a forged from forces a rebuild that the nesting defeats", () => {
    const deep = `${'{"a":'.repeat(20000)}1${"}".repeat(20000)}`;
    assert.equal(relay(`{"type":"offer","from":"x","sdp":${deep}}`), null);
    const arrays = `${"[".repeat(30000)}${"]".repeat(30000)}`;
    assert.equal(relay(`{"type":"offer","from":"x","sdp":${arrays}}`), null);
  });
});
