import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Outage } from "../../src/client/outage.js";
import type { ReconnectContext, ReconnectPolicy } from "../../src/client/reconnect-policy.js";

/** A policy that records what it was asked and answers from a script. */
function scripted(...answers: (number | null)[]): ReconnectPolicy & { asked: ReconnectContext[] } {
  const asked: ReconnectContext[] = [];
  return {
    asked,
    nextRetryDelayInMs(context) {
      asked.push(context);
      return answers.shift() ?? null;
    },
  };
}

describe("Outage", () => {
  it("asks the policy with the attempts made and the time since the first loss", () => {
    let now = 1000;
    const policy = scripted(5, 5, 5);
    const outage = new Outage(policy, () => now);
    outage.begin();
    assert.equal(outage.nextDelay(null), 5);
    outage.attempt();
    now = 1700;
    // A failed attempt is a loss again, but the outage goes on.
    outage.begin();
    const closeEvent = { code: 1006, reason: "", wasClean: false };
    outage.nextDelay(closeEvent);
    assert.deepEqual(policy.asked, [
      { retryCount: 0, elapsedMs: 0, closeEvent: null },
      { retryCount: 1, elapsedMs: 700, closeEvent },
    ]);
    assert.equal(outage.attempts, 1);
  });

  it("starts over after end(): attempts from 0, time from the new loss", () => {
    let now = 0;
    const policy = scripted(1, 1);
    const outage = new Outage(policy, () => now);
    outage.begin();
    outage.attempt();
    outage.attempt();
    outage.end();
    now = 50_000;
    outage.begin();
    now = 50_010;
    outage.nextDelay(null);
    assert.deepEqual(policy.asked.at(-1), { retryCount: 0, elapsedMs: 10, closeEvent: null });
    assert.equal(outage.attempts, 0);
  });

  it("passes null through (give up) and makes any other delay finite and not negative", () => {
    const outage = new Outage(scripted(null, -5, Number.POSITIVE_INFINITY, Number.NaN, 250));
    outage.begin();
    assert.deepEqual(
      [1, 2, 3, 4, 5].map(() => outage.nextDelay(null)),
      [null, 0, 0, 0, 250],
    );
  });

  it("never retries with policy false", () => {
    const outage = new Outage(false);
    outage.begin();
    assert.equal(outage.nextDelay(null), null);
  });
});
