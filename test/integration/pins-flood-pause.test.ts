import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { manualClock } from "../helpers/clock.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

/**
 * Half the server's grace for a closing socket (CLOSE_GRACE_MS, 1 s in
 * connection.ts): a socket the server stopped reading cannot close before
 * that grace ends, since its close reply is never read; a socket it reads
 * on closes as soon as the reply arrives, a few milliseconds on loopback.
 */
const CUT_NOT_BEFORE_MS = 500;

/**
 * Once the server decides a socket is flooding, it stops reading it: its
 * backlog is never parsed. Observable from outside as the close handshake
 * that never completes: the flooder's `ws` client answers the 1008 close
 * frame at once, but the server does not read that answer (nor anything
 * else the flooder sent after its flood), so the socket goes only when the
 * server cuts it at the end of its grace period. A socket the server reads
 * on completes the handshake within milliseconds.
 */
describe("a flooder's socket is no longer read once it is being closed (5/s, burst 10, close after 30)", () => {
  const time = manualClock();
  let server: TestServer;
  before(async () => {
    server = await startTestServer(
      { rateLimitPerSecond: 5, rateLimitBurst: 10, rateLimitCloseAfter: 30 },
      { clock: time.clock },
    );
  });
  afterEach(async () => server.closeClients());
  after(async () => server.close());

  it("closes the flooder with 1008 and reads nothing more from it: not even its close reply", async () => {
    const flooder = await server.connect();
    const started = performance.now();
    for (let i = 0; i < 100; i++) flooder.send({ type: "ping" });
    const closed = await flooder.closed();
    const took = performance.now() - started;
    assert.equal(closed.code, 1008, `closed with ${closed.code}`);
    assert.ok(
      took >= CUT_NOT_BEFORE_MS,
      `the flooder's socket closed ${Math.round(took)} ms after its flood: the server read its close reply, so it went on reading a socket it closed for flooding`,
    );
  });
});
