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

  it("closes a steady flood: refusals are counted over a 10 s window, not only in a row", () => {
    const { clock, advance } = manualClock();
    // closeAfter 30 per 10 s: the window forgets 3 refusals a second.
    const limiter = new MessageLimiter({ perSecond: 5, burst: 10, closeAfter: 30 }, clock);
    checks(limiter, 10);
    // Twice the allowed rate, evenly: 5 accepted and 5 refused each second.
    // The old "in a row" count was reset by every accepted message and never closed.
    let closedAt = -1;
    for (let ms = 100; ms <= 60_000 && closedAt < 0; ms += 100) {
      advance(100);
      if (limiter.check() === "close") closedAt = ms;
    }
    // 5 refused/s in, 3/s forgotten: the 30 are used up after about 15 s.
    assert.ok(closedAt > 10_000 && closedAt < 20_000, `closed after ${closedAt} ms`);
  });

  it("never closes a client that overshoots now and then but keeps to its rate", () => {
    const { clock, advance } = manualClock();
    const limiter = new MessageLimiter({ perSecond: 5, burst: 10, closeAfter: 30 }, clock);
    // Every 10 s: a burst of 20 (10 refused), then quiet: 10 refusals per window, never 30.
    for (let round = 0; round < 60; round++) {
      const verdicts = checks(limiter, 20);
      assert.ok(!verdicts.includes("close"), `closed in round ${round}`);
      advance(10_000);
    }
  });

  it("scales the message allowance with the number of room-mates", () => {
    const { clock, advance } = manualClock();
    const limiter = new MessageLimiter({ perSecond: 5, burst: 10, closeAfter: 1000 }, clock);
    // 15 room-mates: a burst of 150, then 75 a second.
    const burst = Array.from({ length: 151 }, () => limiter.check(0, 15));
    assert.equal(burst.filter((v) => v === "accept").length, 150);
    assert.equal(burst[150], "refuse");
    advance(1000);
    const second = Array.from({ length: 80 }, () => limiter.check(0, 15));
    assert.equal(second.filter((v) => v === "accept").length, 75);
    // Alone again (scale 1): back to the 1:1 allowance.
    advance(10_000);
    assert.equal(checks(limiter, 11).filter((v) => v === "accept").length, 10);
  });

  it("charges the rest of a whole message with checkRest, refusing and counting like check", () => {
    const { clock } = manualClock();
    const limiter = new MessageLimiter({ perSecond: 5, burst: 10, closeAfter: 3 }, clock);
    // 15 room-mates, broadcasts: each pays 1/15 on arrival and 14/15 once read.
    const verdicts: string[] = [];
    for (let i = 0; i < 13; i++) {
      const first = limiter.check(0, 15);
      verdicts.push(first === "accept" ? limiter.checkRest(14 / 15) : first);
    }
    // A broadcast costs what it costs in a 1:1 call: 10, then refusals; the third closes.
    assert.deepEqual(verdicts.slice(0, 10), Array(10).fill("accept"));
    assert.deepEqual(verdicts.slice(10), ["refuse", "drop", "close"]);
  });

  it("does not scale the byte budget: bytes are what a broadcast amplifies", () => {
    const { clock } = manualClock();
    const limiter = new MessageLimiter(
      { perSecond: 1000, burst: 1000, bytesPerSecond: 1024, maxFrameBytes: 1024, closeAfter: 1000 },
      clock,
    );
    // Bursts of four seconds' worth: 4 KiB, whatever the room size.
    const verdicts = Array.from({ length: 5 }, () => limiter.check(1024, 15));
    assert.deepEqual(verdicts, ["accept", "accept", "accept", "accept", "refuse"]);
  });

  it("closes on the first refusal when closeAfter is 1", () => {
    const { clock } = manualClock();
    const limiter = new MessageLimiter({ perSecond: 1, burst: 2, closeAfter: 1 }, clock);
    assert.deepEqual(checks(limiter, 3), ["accept", "accept", "close"]);
  });

  it("allows joins in a burst, then at their rate, apart from the message allowance", () => {
    const { clock, advance } = manualClock();
    const limiter = new MessageLimiter(
      { perSecond: 5, burst: 2, closeAfter: 1000, joinsPerMinute: 60, joinBurst: 3 },
      clock,
    );
    // Messages used up: joins are still there, and spending them leaves messages alone.
    assert.deepEqual(checks(limiter, 3), ["accept", "accept", "refuse"]);
    const joins = () => Array.from({ length: 4 }, () => limiter.takeJoin());
    assert.deepEqual(joins(), [true, true, true, false]);
    // One a second (60 a minute); 0.9 s is not yet a whole one.
    advance(900);
    assert.equal(limiter.takeJoin(), false);
    advance(100);
    assert.equal(limiter.takeJoin(), true);
    assert.equal(limiter.takeJoin(), false);
    // 10 s later the burst is back, no more: 3 joins, and messages refilled too.
    advance(10_000);
    assert.deepEqual(joins(), [true, true, true, false]);
    assert.deepEqual(checks(limiter, 2), ["accept", "accept"]);
  });

  it("never limits joins when no join rate is given", () => {
    const { clock } = manualClock();
    const limiter = new MessageLimiter({ perSecond: 1, burst: 1, closeAfter: 1000 }, clock);
    assert.ok(Array.from({ length: 1000 }, () => limiter.takeJoin()).every(Boolean));
  });

  it("keeps saying close once the limit is passed", () => {
    const { clock } = manualClock();
    const limiter = new MessageLimiter({ perSecond: 1, burst: 1, closeAfter: 2 }, clock);
    assert.deepEqual(checks(limiter, 5), ["accept", "refuse", "close", "close", "close"]);
  });
});
