import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MessageLimiter, type Verdict } from "../../src/server/limits/message-limiter.js";
import { manualClock } from "../helpers/clock.js";

function checks(limiter: MessageLimiter, n: number): Verdict[] {
  return Array.from({ length: n }, () => limiter.check());
}

describe("MessageLimiter", () => {
  const limits = { perSecond: 5, burst: 10, closeAfter: 30 };

  it("accepts the burst, tells the client once, then drops silently", () => {
    const { clock } = manualClock(1_000_000);
    const limiter = new MessageLimiter(limits, clock);
    assert.deepEqual(checks(limiter, 10), Array(10).fill("accept"));
    assert.equal(limiter.check(), "refuse");
    assert.deepEqual(checks(limiter, 28), Array(28).fill("drop"));
    // The 30th refusal in a row closes.
    assert.equal(limiter.check(), "close");
  });

  it("answers refusals at most once per second", () => {
    const { clock, advance } = manualClock();
    const limiter = new MessageLimiter({ ...limits, closeAfter: 1_000_000 }, clock);
    checks(limiter, 10);
    assert.equal(limiter.check(), "refuse");
    const verdicts: Verdict[] = [];
    const toldAt: number[] = [0];
    // 10 s of flooding in 1 ms steps: refill gives 5 tokens/s, the rest is refused.
    for (let ms = 1; ms <= 10_000; ms++) {
      advance(1);
      const verdict = limiter.check();
      verdicts.push(verdict);
      if (verdict === "refuse") toldAt.push(ms);
    }
    const count = (v: Verdict) => verdicts.filter((x) => x === v).length;
    assert.equal(count("accept"), 50, "5 per second get through");
    assert.equal(count("close"), 0);
    // Told at 0, then at the first refusal a second later each time (1001, 2001, ...).
    assert.deepEqual(
      toldAt,
      Array.from({ length: 10 }, (_, i) => (i === 0 ? 0 : i * 1000 + 1)),
    );
  });

  it("counts only refusals in a row: an accepted message resets the count", () => {
    const { clock, advance } = manualClock();
    const limiter = new MessageLimiter({ perSecond: 1, burst: 1, closeAfter: 3 }, clock);
    for (let round = 0; round < 20; round++) {
      advance(1000);
      assert.equal(limiter.check(), "accept");
      assert.notEqual(limiter.check(), "close");
      assert.notEqual(limiter.check(), "close");
    }
    advance(1000);
    assert.equal(limiter.check(), "accept");
    assert.deepEqual(checks(limiter, 3).at(-1), "close");
  });

  it("closes on the first refusal when closeAfter is 1", () => {
    const { clock } = manualClock();
    const limiter = new MessageLimiter({ perSecond: 1, burst: 2, closeAfter: 1 }, clock);
    assert.deepEqual(checks(limiter, 3), ["accept", "accept", "close"]);
  });

  it("keeps saying close once the limit is passed", () => {
    const { clock } = manualClock();
    const limiter = new MessageLimiter({ perSecond: 1, burst: 1, closeAfter: 2 }, clock);
    assert.deepEqual(checks(limiter, 5), ["accept", "refuse", "close", "close", "close"]);
  });
});
