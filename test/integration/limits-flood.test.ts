import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { manualClock } from "../helpers/clock.js";
import { joinPair, startTestServer, type TestServer } from "../helpers/server.js";

const FLOOD = 5000;
const ICE_EACH_WAY = 30;

describe("isolation under flood (default limits)", () => {
  let server: TestServer;
  before(async () => {
    // The limits' clock stands still: however slowly a loaded machine reads
    // the flood, no allowance refills and no second refusal is told, so the
    // counts below are exact.
    server = await startTestServer({}, { clock: manualClock().clock });
  });
  after(async () => server.close());

  it("closes the flooder with 1008 while another pair completes a call", async () => {
    const flood = await joinPair(server, "flood");
    const call = await joinPair(server, "call");

    // The flooder writes as fast as ws lets it, until the server closes it.
    const flooding = (async () => {
      let sent = 0;
      while (sent < FLOOD && flood.a.isOpen) {
        for (let i = 0; i < 100 && sent < FLOOD; i++, sent++) {
          flood.a.send({ type: "ice", candidate: { candidate: `flood ${sent}` } });
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
      return sent;
    })();

    const started = performance.now();
    call.b.send({ type: "offer", sdp: "v=0 offer" });
    assert.deepEqual(await call.a.next(), { type: "offer", sdp: "v=0 offer", from: call.bId });
    call.a.send({ type: "answer", sdp: "v=0 answer" });
    for (let i = 0; i < ICE_EACH_WAY; i++) {
      call.a.send({ type: "ice", candidate: { candidate: `a ${i}` } });
      call.b.send({ type: "ice", candidate: { candidate: `b ${i}` } });
    }
    assert.deepEqual(await call.b.next(), { type: "answer", sdp: "v=0 answer", from: call.aId });
    for (let i = 0; i < ICE_EACH_WAY; i++) {
      assert.deepEqual(await call.b.next(), {
        type: "ice",
        candidate: { candidate: `a ${i}` },
        from: call.aId,
      });
      assert.deepEqual(await call.a.next(), {
        type: "ice",
        candidate: { candidate: `b ${i}` },
        from: call.bId,
      });
    }
    const exchangeMs = performance.now() - started;
    await call.a.expectNothing();
    await call.b.expectNothing();

    const closed = await flood.a.closed();
    const sent = await flooding;
    assert.equal(closed.code, 1008);
    assert.equal(closed.reason, "rate limit exceeded");
    // The flooder got one rate-limited error at most; its partner got the burst, then peer-left.
    let errors = 0;
    while (flood.a.pending > 0) {
      const message = await flood.a.next();
      assert.equal(message.type, "error");
      errors++;
    }
    let relayed = 0;
    for (;;) {
      const message = await flood.b.next();
      if (message.type === "peer-left") break;
      assert.equal(message.type, "ice");
      relayed++;
    }
    assert.equal(errors, 1, "one rate-limited error for the whole flood");
    // The burst of 200, less the join's token.
    assert.equal(relayed, 199, `${relayed} relayed of ${sent}`);
    console.log(
      `flood: ${sent} sent, ${relayed} relayed, ${errors} error; ` +
        `call exchange (offer, answer, ${ICE_EACH_WAY} ice each way) took ${exchangeMs.toFixed(1)} ms`,
    );
    assert.equal(call.a.isOpen && call.b.isOpen, true);
  });
});
