import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ReplayWindow, withSeq } from "../../src/server/rooms/replay-window.js";

const frames = (w: ReplayWindow, after: number) => w.since(after)?.map((f) => [f.seq, f.frame]);

describe("ReplayWindow", () => {
  it("numbers frames from 1 and replays those after a seq, in order", () => {
    const w = new ReplayWindow(10, 1000);
    assert.equal(w.push('{"a":1}'), 1);
    assert.equal(w.push('{"a":2}'), 2);
    assert.equal(w.push('{"a":3}'), 3);
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
    for (let i = 0; i < 5; i++) w.push(`{"i":${i}}`);
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
    for (let i = 1; i <= 5; i++) byCount.push(`{"i":${i}}`);
    assert.equal(byCount.size, 3);
    assert.equal(byCount.since(1), null);
    assert.deepEqual(
      frames(byCount, 2)?.map(([seq]) => seq),
      [3, 4, 5],
    );

    const byBytes = new ReplayWindow(100, 20);
    byBytes.push("x".repeat(10));
    byBytes.push("y".repeat(10));
    byBytes.push("z".repeat(5));
    assert.deepEqual([byBytes.size, byBytes.bytes], [2, 15]);
    // A single frame over the bound is not kept either.
    byBytes.push("w".repeat(30));
    assert.deepEqual([byBytes.size, byBytes.bytes, byBytes.last], [0, 0, 4]);
    assert.equal(byBytes.since(3), null);
    assert.deepEqual(frames(byBytes, 4), []);
  });

  it("stays consistent across many pushes and acks (compaction)", () => {
    const w = new ReplayWindow(50, 1_000_000);
    let acked = 0;
    for (let i = 1; i <= 10_000; i++) {
      w.push(`{"i":${i}}`);
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

  it("keeps frames past the first few byte for byte, multi-byte text and frames larger than a slab too", () => {
    const w = new ReplayWindow(1000, 10_000_000);
    const sent = [
      '{"a":1}',
      '{"name":"Zoë"}',
      '{"e":"🎉"}',
      "{}",
      '{"sdp":"é"}',
      `{"big":"${"ü".repeat(40_000)}"}`, // 80 KB of UTF-8: over any slab
      '{"after":"ok"}',
      `{"mid":"${"x".repeat(5000)}"}`,
    ];
    for (const frame of sent) w.push(frame);
    assert.deepEqual(
      frames(w, 0)?.map(([, frame]) => frame),
      sent,
    );
    const bytes = sent.reduce((n, frame) => n + Buffer.byteLength(frame), 0);
    assert.equal(w.bytes, bytes);
    w.ack(6);
    assert.equal(w.bytes, bytes - sent.slice(0, 6).reduce((n, f) => n + Buffer.byteLength(f), 0));
    assert.deepEqual(
      frames(w, 6)?.map(([, frame]) => frame),
      sent.slice(6),
    );
  });

  it("counts UTF-8 bytes against the byte bound, not string length", () => {
    // 16 UTF-16 units, 32 bytes: over a 30-byte bound although its length is not.
    const w = new ReplayWindow(100, 30);
    for (let i = 0; i < 6; i++) w.push(`{"i":${i}}`);
    w.push("🎉".repeat(8));
    assert.deepEqual([w.size, w.bytes, w.last], [0, 0, 7]);
    assert.deepEqual(frames(w, 7), []);
    w.push('{"i":8}');
    assert.deepEqual(frames(w, 7), [[8, '{"i":8}']]);
  });

  // 5 KB frames: one to a window's first slab (8 KB), three to the next
  // ones (16 KB). 290 B frames: seven to its first (2 KB), and twice as
  // many to each next, up to fifty-six.
  for (const pad of [640, 34]) {
    const frame = (who: string, i: number) => `{"${who}":${i},"pad":"${"abcdefgh".repeat(pad)}"}`;
    it(`fills a slab another window freed only once none of that window's frames are in it (frames of about ${frame("a", 100).length} B)`, () => {
      const a = new ReplayWindow(10_000, 100_000_000);
      const b = new ReplayWindow(10_000, 100_000_000);
      for (let i = 1; i <= 120; i++) a.push(frame("a", i));
      // Acks that end mid-slab, so a slab's first frames go and its last stay.
      for (let acked = 7; acked <= 110; acked += 13) {
        a.ack(acked);
        for (let i = 0; i < 6; i++) b.push(frame("b", b.last + 1));
        assert.deepEqual(
          a.since(acked)?.map((f) => f.frame),
          Array.from({ length: 120 - acked }, (_, k) => frame("a", acked + 1 + k)),
          `window a after ack ${acked}`,
        );
      }
      assert.deepEqual(
        b.since(0)?.map((f) => f.frame),
        Array.from({ length: b.last }, (_, k) => frame("b", k + 1)),
      );
      // Emptied, a gives its slabs back, each once: two windows filling
      // slabs side by side never get the same one.
      b.ack(b.last);
      a.ack(a.last);
      const c = new ReplayWindow(10_000, 100_000_000);
      const d = new ReplayWindow(10_000, 100_000_000);
      for (let i = 1; i <= 60; i++) {
        c.push(frame("c", i));
        d.push(frame("d", i));
      }
      for (const [who, w] of [
        ["c", c],
        ["d", d],
      ] as const) {
        assert.deepEqual(
          w.since(0)?.map((f) => f.frame),
          Array.from({ length: 60 }, (_, k) => frame(who, k + 1)),
        );
      }
    });
  }

  it("matches a plain list of strings under any pushes and acks, several windows at once (property)", () => {
    // Three windows taking turns, with frames big enough that they fill
    // full-size slabs, free them and fill the ones the others freed.
    const text = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.string({ unit: "grapheme", maxLength: 300 }),
      fc.string({ minLength: 3000, maxLength: 20_000 }),
    );
    const step = fc.record({
      window: fc.nat({ max: 2 }),
      act: fc.oneof(
        fc.record({ push: text }),
        fc.record({ ack: fc.nat({ max: 60 }) }),
        fc.record({ since: fc.nat({ max: 60 }) }),
      ),
    });
    fc.assert(
      fc.property(
        fc.array(step, { maxLength: 150 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1024, max: 300_000 }),
        (steps, maxFrames, maxBytes) => {
          // The model of each: every frame numbered, and the oldest kept seq.
          const models = [0, 1, 2].map(() => ({
            w: new ReplayWindow(maxFrames, maxBytes),
            all: [] as string[],
            first: 1,
          }));
          for (const { window, act } of steps) {
            const m = models[window] as (typeof models)[number];
            const held = () => m.all.slice(m.first - 1);
            const heldBytes = () => held().reduce((n, f) => n + Buffer.byteLength(f), 0);
            if ("push" in act) {
              const frame = `{"t":${JSON.stringify(act.push)}}`;
              m.all.push(frame);
              assert.equal(m.w.push(frame), m.all.length);
              while (held().length > maxFrames || heldBytes() > maxBytes) m.first++;
            } else if ("ack" in act) {
              const seq = Math.min(act.ack, m.all.length);
              m.w.ack(seq);
              m.first = Math.max(m.first, seq + 1);
            } else {
              const after = Math.min(act.since, m.all.length);
              const got = m.w.since(after);
              if (after + 1 < m.first) assert.equal(got, null);
              else
                assert.deepEqual(
                  got,
                  m.all.slice(after).map((frame, i) => ({ seq: after + 1 + i, frame })),
                );
            }
            assert.deepEqual(
              [m.w.size, m.w.bytes, m.w.last],
              [held().length, heldBytes(), m.all.length],
            );
          }
          // Whatever the slabs went through, every window still replays what it holds.
          for (const m of models) {
            const from = m.first - 1;
            assert.deepEqual(
              m.w.since(from)?.map((f) => f.frame),
              m.all.slice(from),
            );
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("appends seq as the last field", () => {
    assert.equal(withSeq('{"type":"pong"}', 7), '{"type":"pong","seq":7}');
  });
});
