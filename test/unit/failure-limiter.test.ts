import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FailureLimiter } from "../../src/server/limits/failure-limiter.js";
import { manualClock } from "../helpers/clock.js";

describe("FailureLimiter", () => {
  it("allows a burst of 10 failures per address, then the per-minute rate", () => {
    const time = manualClock();
    const limiter = new FailureLimiter(6, time.clock);
    for (let i = 0; i < 10; i++) {
      assert.equal(limiter.allows("192.0.2.1"), true, `failure ${i}`);
      limiter.record("192.0.2.1");
    }
    assert.equal(limiter.allows("192.0.2.1"), false);
    assert.equal(limiter.allows("192.0.2.2"), true, "other addresses are not affected");
    time.advance(10_000); // 6 a minute: one back every 10 s
    assert.equal(limiter.allows("192.0.2.1"), true);
    limiter.record("192.0.2.1");
    assert.equal(limiter.allows("192.0.2.1"), false);
  });

  it("counts an IPv6 /64 as one address", () => {
    const limiter = new FailureLimiter(1, manualClock().clock);
    for (let i = 0; i < 10; i++) limiter.record(`2001:db8::${i + 1}`);
    assert.equal(limiter.allows("2001:db8::ffff"), false);
    assert.equal(limiter.allows("2001:db8:0:1::1"), true);
  });

  it("forgets addresses whose allowance refilled once it tracks many", () => {
    const time = manualClock();
    const limiter = new FailureLimiter(60, time.clock);
    for (let i = 0; i < 10_000; i++)
      limiter.record(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    assert.equal(limiter.size, 10_000);
    time.advance(60_000);
    limiter.record("192.0.2.9");
    assert.equal(limiter.size, 1);
  });
});
