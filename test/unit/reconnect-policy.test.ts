import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BackoffPolicy, type ReconnectContext } from "../../src/client/reconnect-policy.js";

const at = (retryCount: number, elapsedMs = 0): ReconnectContext => ({
  retryCount,
  elapsedMs,
  closeEvent: null,
});

/** A random source that always answers `value`, so each delay is exact. */
const fixed = (value: number) => () => value;

describe("BackoffPolicy", () => {
  it("doubles the ceiling per retry from initialDelayMs up to maxDelayMs", () => {
    // random() just below 1 gives (almost) the ceiling itself.
    const policy = new BackoffPolicy({
      initialDelayMs: 100,
      maxDelayMs: 1000,
      random: fixed(0.999999),
    });
    const delays = [0, 1, 2, 3, 4, 5, 10].map((n) => policy.nextRetryDelayInMs(at(n)));
    assert.deepEqual(delays, [99, 199, 399, 799, 999, 999, 999]);
  });

  it("uses full jitter: the delay is random() times the ceiling, floored", () => {
    const delays = [0, 0.25, 0.5].map((r) =>
      new BackoffPolicy({
        initialDelayMs: 400,
        maxDelayMs: 10_000,
        random: fixed(r),
      }).nextRetryDelayInMs(at(2)),
    );
    assert.deepEqual(delays, [0, 400, 800]);
  });

  it("may retry at once: random() of 0 gives 0 whatever the retry count", () => {
    const policy = new BackoffPolicy({ random: fixed(0) });
    for (const n of [0, 1, 7, 50]) assert.equal(policy.nextRetryDelayInMs(at(n)), 0);
  });

  it("has the documented defaults: 500 ms first ceiling, 10 s cap, give up after 5 min", () => {
    const policy = new BackoffPolicy({ random: fixed(0.5) });
    assert.equal(policy.nextRetryDelayInMs(at(0)), 250);
    assert.equal(policy.nextRetryDelayInMs(at(1)), 500);
    assert.equal(policy.nextRetryDelayInMs(at(20)), 5000);
    assert.equal(policy.nextRetryDelayInMs(at(3, 299_999)), 2000);
    assert.equal(policy.nextRetryDelayInMs(at(3, 300_000)), null);
    assert.equal(policy.nextRetryDelayInMs(at(0, 1_000_000)), null);
  });

  it("gives up exactly when elapsedMs reaches maxElapsedMs", () => {
    const policy = new BackoffPolicy({ maxElapsedMs: 1000, random: fixed(0.5) });
    assert.notEqual(policy.nextRetryDelayInMs(at(4, 999)), null);
    assert.equal(policy.nextRetryDelayInMs(at(4, 1000)), null);
    assert.equal(new BackoffPolicy({ maxElapsedMs: 0 }).nextRetryDelayInMs(at(0, 0)), null);
  });

  it("never overflows, however many retries were made", () => {
    const policy = new BackoffPolicy({ initialDelayMs: 1, maxDelayMs: 5000, random: fixed(0.999) });
    for (const n of [31, 1024, 1_000_000, Number.MAX_SAFE_INTEGER]) {
      assert.equal(policy.nextRetryDelayInMs(at(n)), 4995);
    }
    const zero = new BackoffPolicy({ initialDelayMs: 0, random: fixed(0.999) });
    assert.equal(zero.nextRetryDelayInMs(at(5000)), 0, "0 * 2^n stays 0, never NaN");
  });

  it("calls random() once per delay, so a seeded source replays the same schedule", () => {
    let calls = 0;
    const policy = new BackoffPolicy({
      random: () => {
        calls++;
        return 0.5;
      },
    });
    for (let n = 0; n < 5; n++) policy.nextRetryDelayInMs(at(n));
    assert.equal(calls, 5);
    policy.nextRetryDelayInMs(at(0, 300_000));
    assert.equal(calls, 5, "giving up draws nothing");
  });

  it("refuses options that are negative or not finite", () => {
    assert.throws(() => new BackoffPolicy({ initialDelayMs: -1 }), RangeError);
    assert.throws(() => new BackoffPolicy({ maxDelayMs: Number.NaN }), RangeError);
    assert.throws(() => new BackoffPolicy({ maxElapsedMs: Number.NaN }), RangeError);
  });

  it("never gives up with maxElapsedMs Infinity", () => {
    const policy = new BackoffPolicy({ maxElapsedMs: Number.POSITIVE_INFINITY, random: fixed(0) });
    assert.equal(policy.nextRetryDelayInMs(at(1e6, Number.MAX_SAFE_INTEGER)), 0);
  });
});
