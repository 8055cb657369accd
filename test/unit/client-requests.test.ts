import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SignalroomError } from "../../src/client/errors.js";
import { Requests, type RequestTimers } from "../../src/client/requests.js";
import type { ServerMessage } from "../../src/protocol/index.js";

/** Timers the test fires by hand: `advance(ms)` runs those due by then. */
function manualTimers(): RequestTimers & { advance(ms: number): void; readonly armed: number } {
  let now = 0;
  const due = new Map<number, { at: number; run: () => void }>();
  let next = 1;
  return {
    set(run, ms) {
      const handle = next++;
      due.set(handle, { at: now + ms, run });
      return handle;
    },
    clear(handle) {
      due.delete(handle as number);
    },
    advance(ms) {
      now += ms;
      for (const [handle, timer] of [...due]) {
        if (timer.at > now) continue;
        due.delete(handle);
        timer.run();
      }
    },
    get armed() {
      return due.size;
    },
  };
}

/** Requests over a fake wire: what is written, what is queued; `connected` decides which. */
function harness(timeoutMs = 1000) {
  const timers = manualTimers();
  const written: { type: string; msg: Record<string, unknown> }[] = [];
  const queued: string[] = [];
  const wire = { connected: true };
  const requests = new Requests({
    timeoutMs,
    timers,
    write: (type, text) => {
      if (!wire.connected) throw new SignalroomError("not-connected", "not connected");
      written.push({ type, msg: JSON.parse(text) });
      return written.length;
    },
    post: (type, text) => {
      if (wire.connected) {
        written.push({ type, msg: JSON.parse(text) });
        return true;
      }
      queued.push(text);
      return false;
    },
  });
  /** Answers the request written `index`-th (0-based) with `reply`, as the server would (its id echoed). */
  const answer = (index: number, reply: Record<string, unknown>) => {
    const id = String(written[index]?.msg.id);
    requests.get(id)?.accept(reply as ServerMessage);
  };
  return { requests, timers, written, queued, wire, answer };
}

/** Outcomes of tracked promises, by promise: recorded as they settle (so none goes unhandled). */
const outcomes = new WeakMap<Promise<unknown>, string>();

/** Tracks `promise`'s outcome from now on; returns it. */
function tracked<T>(promise: Promise<T>): Promise<T> {
  outcomes.set(promise, "pending");
  promise.then(
    (value) => outcomes.set(promise, `resolved ${JSON.stringify(value)}`),
    (error: SignalroomError) => outcomes.set(promise, `rejected ${error.code}`),
  );
  return promise;
}

/** A tracked promise's outcome so far, once every settlement already due has run. */
async function outcome(promise: Promise<unknown>): Promise<string> {
  await new Promise((resolve) => setImmediate(resolve));
  return outcomes.get(promise) ?? "untracked";
}

describe("Requests: the host's room requests (kick, lock, unlock)", () => {
  it("sends each with a fresh id and settles with the answer of that type echoing it", async () => {
    const { requests, written, answer } = harness();
    const lock = tracked(requests.lock());
    const kick = tracked(requests.kick("p1"));
    assert.deepEqual(
      written.map((w) => w.msg),
      [
        { type: "lock", id: "c1" },
        { type: "kick", peerId: "p1", id: "c2" },
      ],
    );
    // Another type under the same id is not its answer: it keeps waiting.
    answer(1, { type: "locked", roomId: "r", by: "h" });
    assert.equal(await outcome(kick), "pending");
    answer(1, { type: "peer-left", peerId: "p1", reason: "kicked" });
    answer(0, { type: "error", code: "forbidden", message: "only a host can do that" });
    assert.equal(
      await outcome(kick),
      'resolved {"type":"peer-left","peerId":"p1","reason":"kicked"}',
    );
    await assert.rejects(lock, { code: "forbidden", message: "only a host can do that" });
  });

  it("times out after timeoutMs while connected", async () => {
    const { requests, timers } = harness(1000);
    const unlock = tracked(requests.unlock());
    timers.advance(999);
    assert.equal(await outcome(unlock), "pending");
    timers.advance(1);
    assert.equal(await outcome(unlock), "rejected timeout");
    assert.equal(timers.armed, 0);
  });

  it("keeps room requests through a drop, its time not counted, and fails the others", async () => {
    const { requests, timers, answer } = harness(1000);
    const lock = tracked(requests.lock());
    const ping = tracked(requests.ping());
    timers.advance(600);
    requests.dropped(new SignalroomError("connection-failed", "connection closed (1006)"));
    assert.equal(await outcome(ping), "rejected connection-failed");
    timers.advance(60_000);
    assert.equal(await outcome(lock), "pending", "an outage does not time it out");
    requests.resumed();
    timers.advance(999);
    assert.equal(await outcome(lock), "pending", "a whole timeoutMs again after the resume");
    answer(0, { type: "locked", roomId: "r", by: "h" });
    assert.equal(await outcome(lock), 'resolved {"type":"locked","roomId":"r","by":"h"}');
  });

  it("starts the time of a request queued while reconnecting only once it is sent, after a resume", async () => {
    const { requests, timers, queued, wire } = harness(1000);
    wire.connected = false;
    const kick = tracked(requests.kick("p2"));
    assert.equal(queued.length, 1);
    assert.equal(timers.armed, 0);
    timers.advance(5000);
    assert.equal(await outcome(kick), "pending");
    requests.resumed();
    timers.advance(1000);
    assert.equal(await outcome(kick), "rejected timeout");
  });

  it("fails room requests when the membership is not taken back, and only those", async () => {
    const { requests } = harness();
    const lock = tracked(requests.lock());
    const ping = tracked(requests.ping());
    requests.rejectKept(new SignalroomError("connection-failed", "joined again"));
    assert.equal(await outcome(lock), "rejected connection-failed");
    assert.equal(await outcome(ping), "pending");
    requests.rejectAll(new SignalroomError("connection-failed", "closed"));
    assert.equal(await outcome(ping), "rejected connection-failed");
  });

  it("rejects at once, and never throws, when the request cannot be sent", async () => {
    const failing = new Requests({
      timeoutMs: 1000,
      write: () => 0,
      post: () => {
        throw new SignalroomError("queue-full", "full");
      },
    });
    await assert.rejects(failing.lock(), { code: "queue-full" });
    assert.equal(failing.has("lock"), false, "nothing left waiting");
  });
});
