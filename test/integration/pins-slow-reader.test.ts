import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { BULK_LIMITS, startTestServer, type TestServer } from "../helpers/server.js";

const MAX_BUFFERED = 64 * 1024;
const OFFER = "x".repeat(60_000);
/** A bound on the test, far past what any socket buffer on loopback holds. */
const MAX_OFFERS = 4000;

/**
 * MAX_BUFFERED_BYTES: a reader too slow for its backlog is closed with 4001
 * ("reconnect and resume"), and it must see exactly that code. The reader
 * here is a real `ws` client whose socket stops being read (`ws.pause()`)
 * while its room-mate sends large offers; the moment the server gives up
 * on it (it logs a warning naming the reader), it reads again, through the
 * backlog, to the close frame, before the server's grace for the close
 * handshake runs out.
 */
describe("slow reader's close code (MAX_BUFFERED_BYTES 64 KiB)", () => {
  let server: TestServer;
  /** Called with every warning's peer id, as the server writes it. */
  let onWarning: (peerId: unknown) => void = () => {};
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n").filter(Boolean)) {
        onWarning((JSON.parse(line) as { peerId?: unknown }).peerId);
      }
      done();
    },
  });
  before(async () => {
    server = await startTestServer(
      { ...BULK_LIMITS, maxBufferedBytes: MAX_BUFFERED },
      { logger: pino({ level: "warn" }, sink) },
    );
  });
  after(async () => server.close());

  it("closes a reader that stopped reading with 4001, which the reader sees", async () => {
    const slow = await server.connect();
    const slowId = String((await slow.join("slow-4001")).peerId);
    const sender = await server.connect();
    await sender.join("slow-4001");
    await sender.next("ready");
    await slow.next("peer-joined");
    await slow.next("ready");

    let gaveUp = false;
    onWarning = (peerId) => {
      if (peerId !== slowId || gaveUp) return;
      gaveUp = true;
      // Read again at once: the close frame waits behind the backlog, and the
      // server cuts the socket if its close is not answered within its grace.
      slow.ws.resume();
    };
    slow.ws.pause();

    let sent = 0;
    while (!gaveUp) {
      if (sent >= MAX_OFFERS) assert.fail(`the slow reader is still served after ${sent} offers`);
      // The pong after each batch proves the server handled the batch before we look.
      for (let i = 0; i < 20; i++, sent++) sender.send({ type: "offer", sdp: OFFER, n: sent });
      sender.send({ type: "ping" });
      await sender.next("pong");
    }
    const { code } = await slow.closed();
    assert.equal(code, 4001, `the slow reader saw close code ${code}`);
    console.log(`slow reader: closed with ${code} after ${sent} offers of 60 KB`);
  });
});
