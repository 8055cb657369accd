import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { manualClock } from "../helpers/clock.js";
import { joinPair, startTestServer, type TestServer } from "../helpers/server.js";

/**
 * RATE_LIMIT_BYTES_PER_SECOND: bytes are budgeted per connection apart from
 * the message count. 16 KiB/s gives a burst of 64 KiB (four seconds'
 * worth); the message allowance stays at its default (200 at once), so
 * every refusal below is the byte budget's. The server's clock is the
 * test's: nothing refills unless the test moves it.
 */
const BYTES_PER_SECOND = 16 * 1024;
const BURST_BYTES = 4 * BYTES_PER_SECOND;
/** A frame of about 60,000 bytes: one fits in the burst, two do not. */
const PAD = "x".repeat(60_000);

describe("byte budget per connection (16 KiB/s, bursts of 64 KiB; message limits at defaults)", () => {
  const time = manualClock();
  let server: TestServer;
  before(async () => {
    server = await startTestServer(
      { rateLimitBytesPerSecond: BYTES_PER_SECOND },
      { clock: time.clock },
    );
  });
  afterEach(async () => server.closeClients());
  after(async () => server.close());

  it("refuses a big frame over the byte budget with rate-limited, though few messages were sent", async () => {
    const client = await server.connect();
    const big = JSON.stringify({ type: "ping", pad: PAD });
    assert.ok(big.length <= BURST_BYTES && 2 * big.length > BURST_BYTES, "frame size");
    client.sendRaw(big);
    await client.next("pong");
    // Two messages in all, far under the 200-message burst: only bytes can refuse it.
    client.sendRaw(big);
    const refused = await client.nextError("rate-limited");
    assert.equal(refused.message, "too many messages");
    // Small frames still fit in what is left of the byte budget.
    await client.expectNothing();
    assert.equal(client.isOpen, true);

    // Four seconds refill the burst: the big frame is served again.
    time.advance(4000);
    client.sendRaw(big);
    await client.next("pong");
  });

  it("counts the bytes of relayed frames too, not per room-mate", async () => {
    const { a, b } = await joinPair(server, "bytes");
    const offer = { type: "offer", sdp: PAD };
    a.send(offer);
    assert.equal((await b.next("offer")).sdp, PAD);
    a.send(offer);
    await a.nextError("rate-limited");
    // Nothing of the refused offer reached the other member.
    await b.expectNothing();
    time.advance(4000);
    a.send(offer);
    assert.equal((await b.next("offer")).sdp, PAD);
  });

  it("serves as many small messages as the message limit allows (the control)", async () => {
    const client = await server.connect();
    for (let i = 0; i < 50; i++) client.send({ type: "ping" });
    for (let i = 0; i < 50; i++) await client.next("pong");
    assert.equal(client.pending, 0);
  });
});
