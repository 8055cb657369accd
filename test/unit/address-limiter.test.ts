import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AddressLimiter } from "../../src/server/limits/address-limiter.js";
import { manualClock } from "../helpers/clock.js";

describe("AddressLimiter", () => {
  it("allows a burst of 10 failures per address, then the per-minute rate", () => {
    const time = manualClock();
    const limiter = new AddressLimiter(6, 10, time.clock);
    for (let i = 0; i < 10; i++) {
      assert.equal(limiter.allows("192.0.2.1"), true, `failure ${i}`);
      limiter.take("192.0.2.1");
    }
    assert.equal(limiter.allows("192.0.2.1"), false);
    assert.equal(limiter.allows("192.0.2.2"), true, "other addresses are not affected");
    time.advance(10_000); // 6 a minute: one back every 10 s
    assert.equal(limiter.allows("192.0.2.1"), true);
    limiter.take("192.0.2.1");
    assert.equal(limiter.allows("192.0.2.1"), false);
  });

  it("counts an IPv6 /64 as one address", () => {
    const limiter = new AddressLimiter(1, 10, manualClock().clock);
    for (let i = 0; i < 10; i++) limiter.take(`2001:db8::${i + 1}`);
    assert.equal(limiter.allows("2001:db8::ffff"), false);
    assert.equal(limiter.allows("2001:db8:0:1::1"), true);
  });

  it("forgets addresses whose allowance refilled once it tracks many", () => {
    const time = manualClock();
    const limiter = new AddressLimiter(60, 10, time.clock);
    for (let i = 0; i < 10_000; i++)
      limiter.take(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    assert.equal(limiter.size, 10_000);
    time.advance(60_000);
    limiter.take("192.0.2.9");
    assert.equal(limiter.size, 1);
  });

  it("take() says whether there was allowance left, and spends none when there was not", () => {
    const time = manualClock();
    const limiter = new AddressLimiter(60, 3, time.clock);
    assert.deepEqual(
      [1, 2, 3, 4, 5].map(() => limiter.take("192.0.2.1")),
      [true, true, true, false, false],
    );
    time.advance(1000); // one a second
    assert.equal(limiter.take("192.0.2.1"), true);
    assert.equal(limiter.take("192.0.2.1"), false);
  });
});
