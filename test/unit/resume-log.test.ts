import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ResumeLog } from "../../src/client/resume-log.js";

/** Records frames of the given types; returns their numbers. */
function send(log: ResumeLog, ...types: string[]): number[] {
  return types.map((type, i) => log.record(type, `${type}#${log.written + 1}:${i}`));
}

/** A log whose membership began with a `join` at frame 1 and `joined` at seq 1. */
function joinedLog(maxResend = 512): ResumeLog {
  const log = new ResumeLog(maxResend);
  const [join] = send(log, "join");
  log.startMembership(join, 1);
  return log;
}

const typesOf = (frames: { type: string }[] | null) => frames?.map((f) => f.type) ?? null;
const numbersOf = (frames: { frame: number }[] | null) => frames?.map((f) => f.frame) ?? null;

describe("ResumeLog: re-sending after resumed", () => {
  it("re-sends exactly the frames after the first `received`, in order, as written", () => {
    const log = joinedLog();
    send(log, "message", "ack", "offer", "ping", "ice");
    // The server read the message and the ack (frames 2, 3): 4 onwards went missing.
    const resend = log.resumed(2);
    assert.deepEqual(numbersOf(resend), [4, 6]);
    assert.deepEqual(typesOf(resend), ["offer", "ice"]);
    assert.deepEqual(
      resend?.map((f) => f.text),
      ["offer#4:2", "ice#6:4"],
    );
  });

  it("re-sends nothing when the server read everything", () => {
    const log = joinedLog();
    send(log, "message", "message");
    assert.deepEqual(log.resumed(2), []);
  });

  it("never re-sends stale acks and pings, nor requests rejected at the drop", () => {
    const log = joinedLog();
    send(log, "ack", "ping", "leave", "kick");
    assert.deepEqual(typesOf(log.resumed(0)), ["kick"]);
  });

  it("stops at a join: what follows was meant for another membership", () => {
    const log = joinedLog();
    send(log, "message", "join", "message");
    assert.deepEqual(numbersOf(log.resumed(0)), [2]);
  });

  it("counts from the resume on: re-sent frames are counted again as the server reads them", () => {
    const log = joinedLog();
    send(log, "a", "b", "c"); // frames 2, 3, 4
    const first = log.resumed(1) ?? assert.fail("no gap expected");
    assert.deepEqual(numbersOf(first), [3, 4]);
    // Written again, they are frames 5 and 6; the server has now read 1 + 2.
    for (const sent of first) log.record(sent.type, sent.text);
    assert.deepEqual(log.resumed(3), []);
    send(log, "d"); // 7
    // Lost again after the server read a, b', c': only d goes again.
    assert.deepEqual(numbersOf(log.resumed(3)), [7]);
  });

  it("after a second loss, re-sends what the server missed of the re-sent frames", () => {
    const log = joinedLog();
    send(log, "a", "b", "c"); // 2, 3, 4
    const first = log.resumed(1) ?? assert.fail("no gap expected");
    for (const sent of first) log.record(sent.type, sent.text); // b' 5, c' 6
    send(log, "d"); // 7
    // Since the join the server read a, then b' only.
    const second = log.resumed(2);
    assert.deepEqual(numbersOf(second), [6, 7]);
    assert.deepEqual(typesOf(second), ["c", "d"]);
  });
});

describe("ResumeLog: outbox overflow", () => {
  it("keeps only the last maxResend frames, and refuses a resume that needs an older one", () => {
    const log = joinedLog(3);
    send(log, "m", "m", "m", "m", "m"); // 2..6; frames 4, 5, 6 kept
    assert.equal(log.resumed(1), null, "frame 3 is gone: only a re-join is honest");
    assert.equal(log.resumed(0), null);
  });

  it("a refused resume changes nothing: a later answer still gets the frames", () => {
    const log = joinedLog(3);
    send(log, "m", "m", "m", "m", "m");
    assert.equal(log.resumed(1), null);
    assert.deepEqual(numbersOf(log.resumed(2)), [4, 5, 6]);
  });

  it("a resume needing none of the dropped frames is fine", () => {
    const log = joinedLog(3);
    send(log, "m", "m", "m", "m", "m");
    assert.deepEqual(numbersOf(log.resumed(3)), [5, 6]);
  });

  it("a server that read everything resumes even when the outbox overflowed", () => {
    const log = joinedLog(2);
    send(log, "m", "m", "m", "m");
    assert.deepEqual(log.resumed(4), []);
  });

  it("pings and acks take room in the outbox too, so a gap behind them is still seen", () => {
    const log = joinedLog(2);
    send(log, "message", "ack", "ping"); // the message (2) falls out
    assert.equal(log.resumed(0), null);
  });
});

describe("ResumeLog: duplicates by seq", () => {
  it("accepts a seq once, and nothing at or below the last accepted", () => {
    const log = joinedLog();
    assert.equal(log.lastSeq, 1, "joined is seq 1");
    assert.equal(log.accept(1), false);
    assert.equal(log.accept(2), true);
    assert.equal(log.accept(2), false);
    assert.equal(log.accept(5), true);
    assert.equal(log.accept(3), false, "a replayed frame below the last processed");
    assert.equal(log.accept(6), true);
    assert.equal(log.lastSeq, 6);
  });

  it("numbers from 0 outside a membership", () => {
    const log = new ResumeLog(8);
    assert.equal(log.lastSeq, 0);
    assert.equal(log.accept(1), true);
    log.endMembership();
    assert.equal(log.accept(1), true);
  });
});

describe("ResumeLog: a new membership at joined", () => {
  it("starts the numbering again at the joined frame's seq", () => {
    const log = joinedLog();
    log.accept(2);
    log.accept(40);
    const [join] = send(log, "join");
    log.startMembership(join, 1);
    assert.equal(log.lastSeq, 1);
    assert.equal(log.accept(2), true, "seq 2 of the new membership is not a duplicate");
  });

  it("counts our frames from its own join: earlier ones are never re-sent", () => {
    const log = joinedLog();
    send(log, "message", "message"); // 2, 3 of the first membership
    const [join] = send(log, "join"); // 4
    log.startMembership(join, 1);
    send(log, "offer"); // 5
    assert.deepEqual(numbersOf(log.resumed(0)), [5]);
  });

  it("a joined whose join is unknown keeps the counting origin", () => {
    const log = joinedLog();
    send(log, "message"); // 2
    log.startMembership(undefined, 1);
    assert.deepEqual(numbersOf(log.resumed(0)), [2]);
  });

  it("a joined without seq (resume off) numbers from 0", () => {
    const log = new ResumeLog(8);
    log.startMembership(log.record("join", "{}"), undefined);
    assert.equal(log.lastSeq, 0);
    assert.equal(log.takeAck(), null);
  });
});

describe("ResumeLog: acknowledgements", () => {
  it("acks the joined frame itself, then only news", () => {
    const log = joinedLog();
    assert.equal(log.takeAck(), 1);
    assert.equal(log.takeAck(), null);
    log.accept(2);
    log.accept(3);
    assert.equal(log.takeAck(), 3);
    assert.equal(log.takeAck(), null);
  });

  it("a resume acknowledges what was processed: no ack is owed after it", () => {
    const log = joinedLog();
    log.accept(7);
    assert.equal(log.resumeFrom(), 7);
    assert.equal(log.takeAck(), null);
    log.accept(8);
    assert.equal(log.takeAck(), 8);
  });

  it("a new membership owes an ack for its joined even at an old seq", () => {
    const log = joinedLog();
    log.accept(5);
    log.takeAck();
    log.startMembership(log.record("join", "{}"), 1);
    assert.equal(log.takeAck(), 1);
  });
});

describe("ResumeLog: reset", () => {
  it("forgets everything: frames count from 1 again, nothing is held", () => {
    const log = joinedLog();
    send(log, "m", "m");
    log.accept(9);
    log.reset();
    assert.equal(log.written, 0);
    assert.equal(log.lastSeq, 0);
    assert.equal(log.takeAck(), null);
    assert.equal(log.record("join", "{}"), 1);
  });
});

describe("ResumeLog: property", () => {
  it("re-sends exactly the unread frames that are not ack/ping/join/leave, while they fit", () => {
    const type = fc.constantFrom("message", "offer", "ack", "ping", "leave", "kick");
    fc.assert(
      fc.property(
        fc.array(type, { maxLength: 40 }),
        fc.nat(),
        fc.integer({ min: 1, max: 64 }),
        (types, r, maxResend) => {
          const log = joinedLog(maxResend);
          const numbers = send(log, ...types);
          const received = r % (types.length + 1);
          const unread = numbers.slice(received);
          const resend = log.resumed(received);
          if (unread.length > maxResend) {
            assert.equal(resend, null);
            return;
          }
          const expected = unread.filter((n) => {
            const t = types[n - 2];
            return t !== "ack" && t !== "ping" && t !== "leave";
          });
          assert.deepEqual(numbersOf(resend), expected);
        },
      ),
    );
  });
});
