import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { within } from "../helpers/wait.js";

/**
 * JOIN_TIMEOUT_MS at its smallest (1 s). The timer runs on the real clock
 * (connection.ts uses setTimeout, not the injected clock), so the bounds
 * are generous: at least the timeout, at most five times it.
 */
const JOIN_TIMEOUT_MS = 1000;
/** Timers never fire early; a little slack for how the two ends measure. */
const NOT_BEFORE_MS = JOIN_TIMEOUT_MS - 50;
const CLOSE_BOUND_MS = 5 * JOIN_TIMEOUT_MS;

describe("join timeout after leaving a room (JOIN_TIMEOUT_MS 1000)", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ joinTimeoutMs: JOIN_TIMEOUT_MS });
  });
  after(async () => server.close());

  it("closes a socket with 4002 a full timeout after it left its room, not before", async () => {
    const client = await server.connect();
    const connectedAt = performance.now();
    await client.join("brief");
    // Stay in the room past the timeout counted from connecting: a timer left
    // over from before the join would fire here.
    await new Promise((resolve) => setTimeout(resolve, JOIN_TIMEOUT_MS + 200));
    await client.expectNothing();
    assert.equal(client.isOpen, true, "a member is never closed for not joining");

    client.send({ type: "leave", id: "bye" });
    assert.deepEqual(await client.next("left"), { type: "left", roomId: "brief", id: "bye" });
    const leftAt = performance.now();
    const closed = await within(
      client.closed(2 * CLOSE_BOUND_MS),
      CLOSE_BOUND_MS,
      "the socket to be closed for not joining after it left its room",
    );
    const after = performance.now() - leftAt;
    assert.equal(closed.code, 4002, `closed with ${closed.code} ${closed.reason}`);
    assert.ok(
      after >= NOT_BEFORE_MS,
      `closed ${Math.round(after)} ms after leaving (${Math.round(performance.now() - connectedAt)} ms after connecting): the timer was not restarted when it left`,
    );
  });

  it("restarts the timer on every leave: a socket that joins again in time stays", async () => {
    const client = await server.connect();
    await client.join("again-1");
    client.send({ type: "leave" });
    await client.next("left");
    // Joining again within the timeout stops the timer; leaving again restarts it.
    await client.join("again-2");
    await new Promise((resolve) => setTimeout(resolve, JOIN_TIMEOUT_MS + 200));
    await client.expectNothing();
    assert.equal(client.isOpen, true, "a member is never closed for not joining");
    client.send({ type: "leave" });
    await client.next("left");
    assert.equal(
      (
        await within(
          client.closed(2 * CLOSE_BOUND_MS),
          CLOSE_BOUND_MS,
          "a 4002 after the second leave",
        )
      ).code,
      4002,
    );
  });
});
