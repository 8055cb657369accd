import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TokenBucket } from "../../src/server/limits/token-bucket.js";
import { manualClock } from "../helpers/clock.js";

/** How many tokens can be taken right now (empties the bucket). */
function drain(bucket: TokenBucket): number {
  let taken = 0;
  while (bucket.take()) taken++;
  return taken;
}

describe("TokenBucket", () => {
  it("starts full: exactly `burst` takes succeed at one instant", () => {
    const { clock } = manualClock(12_345);
    const bucket = new TokenBucket(5, 10, clock);
    assert.equal(drain(bucket), 10);
    assert.equal(bucket.take(), false);
  });

  it("refills at `perSecond`, including fractions of a token", () => {
    const { clock, advance } = manualClock();
    const bucket = new TokenBucket(5, 10, clock);
    drain(bucket);
    advance(199);
    assert.equal(bucket.take(), false, "0.995 tokens is not a token");
    advance(1);
    assert.equal(bucket.take(), true, "199 ms + 1 ms make one token at 5/s");
    assert.equal(bucket.take(), false);
    // Time between failed takes is not lost.
    advance(100);
    assert.equal(bucket.take(), false);
    advance(100);
    assert.equal(bucket.take(), true);
    advance(1000);
    assert.equal(drain(bucket), 5);
  });

  it("never holds more than `burst`, however long it idles", () => {
    const { clock, advance } = manualClock();
    const bucket = new TokenBucket(1000, 3, clock);
    drain(bucket);
    advance(3_600_000);
    assert.equal(drain(bucket), 3);
  });

  it("does not refill while the clock stands still", () => {
    const { clock } = manualClock();
    const bucket = new TokenBucket(1_000_000, 2, clock);
    assert.equal(drain(bucket), 2);
    for (let i = 0; i < 1000; i++) assert.equal(bucket.take(), false);
  });

  it("handles slow rates (joins per minute) without drift", () => {
    const { clock, advance } = manualClock();
    const bucket = new TokenBucket(6 / 60, 10, clock);
    assert.equal(drain(bucket), 10);
    advance(9_999);
    assert.equal(bucket.take(), false);
    advance(1);
    assert.equal(bucket.take(), true);
    // A minute in steps of one second gives 6 tokens.
    let taken = 0;
    for (let s = 0; s < 60; s++) {
      advance(1000);
      if (bucket.take()) taken++;
    }
    assert.equal(taken, 6);
  });
});
