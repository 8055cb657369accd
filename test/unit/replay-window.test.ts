import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ReplayWindow, withSeq } from "../../src/server/rooms/replay-window.js";

const frames = (w: ReplayWindow, after: number) => w.since(after)?.map((f) => [f.seq, f.frame]);

describe("ReplayWindow", () => {
  it("numbers frames from 1 and replays those after a seq, in order", () => {
    const w = new ReplayWindow(10, 1000);
    assert.equal(w.push('{"a":1}', 7), 1);
    assert.equal(w.push('{"a":2}', 7), 2);
    assert.equal(w.push('{"a":3}', 7), 3);
    assert.deepEqual(frames(w, 1), [
      [2, '{"a":2}'],
      [3, '{"a":3}'],
    ]);
    assert.deepEqual(frames(w, 3), []);
    assert.equal(w.since(4), null, "a seq never sent");
    assert.deepEqual([w.size, w.bytes, w.last], [3, 21, 3]);
  });

  it("forgets acknowledged frames; a replay from before them is a gap", () => {
    const w = new ReplayWindow(10, 1000);
    for (let i = 0; i < 5; i++) w.push(`{"i":${i}}`, 7);
    w.ack(3);
    assert.deepEqual([w.size, w.bytes], [2, 14]);
    assert.equal(w.since(2), null);
    assert.deepEqual(frames(w, 3), [
      [4, '{"i":3}'],
      [5, '{"i":4}'],
    ]);
    w.ack(5);
    assert.deepEqual(frames(w, 5), []);
    assert.equal(w.since(4), null);
  });

  it("drops the oldest past the frame bound and past the byte bound", () => {
    const byCount = new ReplayWindow(3, 1_000_000);
    for (let i = 1; i <= 5; i++) byCount.push(`{"i":${i}}`, 7);
    assert.equal(byCount.size, 3);
    assert.equal(byCount.since(1), null);
    assert.deepEqual(
      frames(byCount, 2)?.map(([seq]) => seq),
      [3, 4, 5],
    );

    const byBytes = new ReplayWindow(100, 20);
    byBytes.push("x".repeat(10), 10);
    byBytes.push("y".repeat(10), 10);
    byBytes.push("z".repeat(5), 5);
    assert.deepEqual([byBytes.size, byBytes.bytes], [2, 15]);
    // A single frame over the bound is not kept either.
    byBytes.push("w".repeat(30), 30);
    assert.deepEqual([byBytes.size, byBytes.bytes, byBytes.last], [0, 0, 4]);
    assert.equal(byBytes.since(3), null);
    assert.deepEqual(frames(byBytes, 4), []);
  });

  it("stays consistent across many pushes and acks (compaction)", () => {
    const w = new ReplayWindow(50, 1_000_000);
    let acked = 0;
    for (let i = 1; i <= 10_000; i++) {
      w.push(`{"i":${i}}`, 10);
      if (i % 7 === 0) {
        acked = i - 3;
        w.ack(acked);
      }
    }
    const held = w.since(Math.max(acked, w.last - 50));
    assert.ok(held);
    assert.deepEqual(held.at(-1), { seq: 10_000, frame: '{"i":10000}' });
    for (const { seq, frame } of held) assert.equal(frame, `{"i":${seq}}`);
  });

  it("appends seq as the last field", () => {
    assert.equal(withSeq('{"type":"pong"}', 7), '{"type":"pong","seq":7}');
  });
});
