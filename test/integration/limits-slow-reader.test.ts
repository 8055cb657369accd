import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { captureLogs } from "../helpers/logs.js";
import { BULK_LIMITS, startTestServer, type TestServer } from "../helpers/server.js";
import { eventually } from "../helpers/wait.js";

const MAX_BUFFERED = 64 * 1024;
const OFFER = "x".repeat(60_000);
/** A bound on the test, far past what any socket buffer on loopback holds. */
const MAX_OFFERS = 2000;

/** One masked client text frame, as RFC 6455 requires of clients. */
function clientFrame(text: string): Buffer {
  const payload = Buffer.from(text, "utf8");
  assert.ok(payload.length < 126, "short frames only");
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ (mask[i % 4] ?? 0)));
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

/**
 * A WebSocket client that never reads: a raw TCP socket that does the
 * handshake by hand, sends one frame, then stops reading for good. (A `ws`
 * client would read whatever the server sends.)
 */
async function stalledClient(port: number, firstFrame: string): Promise<Socket> {
  const socket = connect(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  socket.on("error", () => {});
  socket.write(
    [
      "GET /ws HTTP/1.1",
      `Host: 127.0.0.1:${port}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}`,
      "Sec-WebSocket-Version: 13",
      "",
      "",
    ].join("\r\n"),
  );
  const head = await new Promise<string>((resolve, reject) => {
    let text = "";
    const onData = (chunk: Buffer) => {
      text += chunk.toString("latin1");
      if (text.includes("\r\n\r\n")) {
        socket.off("data", onData);
        resolve(text);
      }
    };
    socket.on("data", onData);
    socket.once("close", () => reject(new Error("closed during the handshake")));
  });
  assert.match(head, /^HTTP\/1\.1 101 /);
  socket.pause();
  socket.write(clientFrame(firstFrame));
  return socket;
}

describe("slow reader (MAX_BUFFERED_BYTES 64 KiB)", () => {
  let server: TestServer;
  let stalled: Socket | undefined;
  const logs = captureLogs("warn");
  before(async () => {
    server = await startTestServer(
      // Cut with 4001 ("reconnect"), the reader is parked for resume first.
      { ...BULK_LIMITS, maxBufferedBytes: MAX_BUFFERED, resumeGraceMs: 200 },
      { logger: logs.logger },
    );
  });
  after(async () => {
    stalled?.destroy();
    await server.close();
  });

  it("disconnects a reader that stopped reading, and its peer sees it leave", async () => {
    stalled = await stalledClient(server.app.port, '{"type":"join","roomId":"slow"}');
    await eventually(async () => {
      assert.deepEqual(await server.app.rooms.stats(), { rooms: 1, members: 1, parked: 0 });
    });
    const sender = await server.connect();
    const joined = await sender.join("slow");
    const [slowId] = joined.peerIds as string[];
    await sender.next("ready");

    // Relay large offers until the server gives up on the reader. The ping
    // after each batch proves the server handled the batch before we look.
    let sent = 0;
    const gaveUp = () => logs.entries().some((line) => line.msg === "disconnecting a slow reader");
    while (!gaveUp()) {
      if (sent >= MAX_OFFERS) assert.fail(`still connected after ${sent} offers of 60 KB`);
      for (let i = 0; i < 20; i++, sent++) sender.send({ type: "offer", sdp: OFFER, n: sent });
      sender.send({ type: "ping" });
      await sender.next("pong");
    }
    const entry = logs.entries().find((line) => line.msg === "disconnecting a slow reader");
    assert.equal(entry?.peerId, slowId, "the stalled reader, not the sender, is cut off");
    console.log(`slow reader: disconnected after ${sent} offers of 60 KB (kernel buffers first)`);
    // Its close frame waits behind the backlog it never reads: it is cut a second later.
    assert.deepEqual(await sender.next("peer-left"), {
      type: "peer-left",
      peerId: slowId,
      reason: "dropped",
    });
    await eventually(async () => {
      assert.equal(server.app.connections(), 1);
      assert.deepEqual(await server.app.rooms.stats(), { rooms: 1, members: 1, parked: 0 });
    });
    // The sender goes on; offers now reach nobody and are not refused.
    sender.send({ type: "offer", sdp: "after" });
    await sender.expectNothing();
  });
});
