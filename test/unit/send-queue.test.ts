import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SignalroomError } from "../../src/client/errors.js";
import { SendQueue } from "../../src/client/send-queue.js";

describe("SendQueue", () => {
  it("hands frames back in order, once", () => {
    const queue = new SendQueue(4);
    queue.push("offer", "1");
    queue.push("ice", "2");
    assert.deepEqual(queue.take(), [
      { type: "offer", text: "1" },
      { type: "ice", text: "2" },
    ]);
    assert.deepEqual(queue.take(), []);
  });

  it("throws queue-full past max and keeps what it holds", () => {
    const queue = new SendQueue(2);
    queue.push("message", "1");
    queue.push("message", "2");
    assert.throws(
      () => queue.push("message", "3"),
      (error) =>
        error instanceof SignalroomError &&
        error.code === "queue-full" &&
        error.message === "2 messages already wait for the connection to come back",
    );
    assert.deepEqual(
      queue.take().map((f) => f.text),
      ["1", "2"],
    );
  });

  it("clear() drops everything and frees the room", () => {
    const queue = new SendQueue(1);
    queue.push("message", "old");
    queue.clear();
    queue.push("message", "new");
    assert.deepEqual(
      queue.take().map((f) => f.text),
      ["new"],
    );
  });
});
