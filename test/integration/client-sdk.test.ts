import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, it } from "node:test";
import WebSocket, { WebSocketServer } from "ws";
import {
  type RelayedMessage,
  SignalingClient,
  SignalroomError,
  type WebSocketConstructor,
} from "../../src/client/index.js";
import { mintJoinToken } from "../../src/server/auth/mint-token.js";
import { nextEvent } from "../helpers/sdk-events.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { within } from "../helpers/wait.js";

// Node 20 has no global WebSocket: the SDK takes `ws`'s, as it would any.
const WS = WebSocket as unknown as WebSocketConstructor;

const next = nextEvent;

describe("SignalingClient against the real server", () => {
  let server: TestServer;
  const clients: SignalingClient[] = [];

  const connect = async (): Promise<SignalingClient> => {
    const client = new SignalingClient({ url: server.wsUrl, WebSocket: WS, keepAliveMs: 0 });
    clients.push(client);
    await client.connect();
    return client;
  };

  beforeEach(async () => {
    server = await startTestServer();
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await server.close();
  });

  it("joins, gets typed events, relays with from, and leaves", async () => {
    const alice = await connect();
    const bob = await connect();
    assert.equal(alice.state, "open");

    const aliceJoined = await alice.join("sdk-room", { name: "Alice" });
    assert.equal(aliceJoined.peers, 0);
    assert.equal(alice.roomId, "sdk-room");
    assert.equal(alice.peerId, aliceJoined.peerId);

    const peerJoined = next(alice, "peer-joined");
    const aliceReady = next(alice, "ready");
    const bobReady = next(bob, "ready");
    const bobJoined = await bob.join("sdk-room", { name: "Bob" });
    assert.deepEqual(bobJoined.peerIds, [aliceJoined.peerId]);
    assert.deepEqual(bobJoined.members, [{ peerId: aliceJoined.peerId, name: "Alice" }]);
    assert.deepEqual(await peerJoined, {
      type: "peer-joined",
      peerId: bobJoined.peerId,
      name: "Bob",
    });
    assert.equal((await aliceReady).isInitiator, false);
    assert.equal((await bobReady).isInitiator, true);

    const offer = next(alice, "offer");
    bob.send({ type: "offer", sdp: "v=0 sdk" });
    const received: RelayedMessage<"offer"> = await offer;
    assert.deepEqual(received, { type: "offer", sdp: "v=0 sdk", from: bobJoined.peerId });

    const rtt = await alice.ping();
    assert.ok(rtt >= 0);

    const peerLeft = next(alice, "peer-left");
    const left = await bob.leave();
    assert.deepEqual(left, { type: "left", roomId: "sdk-room" });
    assert.equal(bob.roomId, null);
    assert.deepEqual(await peerLeft, {
      type: "peer-left",
      peerId: bobJoined.peerId,
      reason: "left",
    });
  });

  it("rejects a join into a full room with code room-full, and server errors with their code", async () => {
    const [a, b, c] = [await connect(), await connect(), await connect()];
    await a.join("pair");
    await b.join("pair");
    await assert.rejects(c.join("pair"), (error: unknown) => {
      assert.ok(error instanceof SignalroomError);
      assert.equal(error.code, "room-full");
      return true;
    });
    await assert.rejects(c.join("   "), {
      code: "room-id-required",
      message: "roomId is required",
    });
    await assert.rejects(c.join("x".repeat(129)), { code: "bad-room-id" });
    await assert.rejects(c.leave(), { code: "not-in-room", message: "join a room first" });
    // Still usable afterwards.
    assert.equal((await c.join("elsewhere")).roomId, "elsewhere");
  });

  it("refuses to send before connect", async () => {
    const idle = new SignalingClient({ url: server.wsUrl, WebSocket: WS });
    assert.throws(() => idle.send({ type: "message", data: 1 }), { code: "not-connected" });
    await assert.rejects(idle.ping(), { code: "not-connected" });
  });

  it("rejects a request still waiting for its answer when the server goes away", async () => {
    // A JWKS endpoint that never answers keeps the join waiting on the server.
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", () => resolve()));
    const { port } = silent.address() as AddressInfo;
    await server.close();
    server = await startTestServer({ authJwksUrl: `http://127.0.0.1:${port}/jwks.json` });
    try {
      const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
      const token = await mintJoinToken(
        { privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString() },
        { room: "doomed", sub: "ada" },
      );
      const client = await connect();
      const joining = client.join("doomed", { token });
      const reconnecting = next(client, "reconnecting");
      await server.app.close();
      // 1012 (restarting) says "come back": the client reconnects by itself.
      assert.equal((await reconnecting).closeEvent?.code, 1012);
      await assert.rejects(joining, { code: "connection-failed" });
      assert.equal(client.state, "reconnecting");
      await assert.rejects(client.ping(), { code: "not-connected" });
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it("matches answers to requests by id: an error about an earlier relay never fails a join", async () => {
    const alice = await connect();
    await alice.join("first");
    const errors: string[] = [];
    alice.on("error", (e) => errors.push(e.code));
    // The relay's unknown-peer error arrives while the join is outstanding.
    alice.send({ type: "ice", candidate: null, to: "nobody-here" });
    const joined = await alice.join("second");
    assert.equal(joined.roomId, "second");
    assert.equal(alice.roomId, "second");
    assert.deepEqual(errors, ["unknown-peer"]);
    // Concurrent requests each get their own answer.
    const [left, rtt] = await Promise.all([alice.leave(), alice.ping()]);
    assert.deepEqual(left.roomId, "second");
    assert.ok(rtt >= 0);
    await assert.rejects(alice.leave(), { code: "not-in-room", message: "join a room first" });
  });

  it("fails to connect with connection-failed when nothing listens", async () => {
    const url = server.wsUrl;
    await server.close();
    const client = new SignalingClient({ url, WebSocket: WS });
    await assert.rejects(client.connect(), { code: "connection-failed" });
    server = await startTestServer();
  });

  it("reports frames that are not protocol messages as protocol-violation and carries on", async () => {
    // Our server never sends such frames, so a bare `ws` server stands in for a broken one.
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await within(
      new Promise<void>((resolve) => wss.once("listening", () => resolve())),
      5000,
      "the stand-in ws server to listen",
    );
    wss.on("connection", (socket) => {
      socket.on("error", () => undefined);
      socket.send("not json");
      socket.send('{"type":"joined","roomId":5}');
      socket.send('{"type":"surprise"}');
      socket.send(Buffer.from([1, 2, 3]), { binary: true });
      socket.send('{"type":"pong"}');
    });
    try {
      const { port } = wss.address() as AddressInfo;
      const client = new SignalingClient({
        url: `ws://127.0.0.1:${port}`,
        WebSocket: WS,
        keepAliveMs: 0,
      });
      clients.push(client);
      const violations: SignalroomError[] = [];
      client.on("protocol-violation", (error) => violations.push(error));
      const pong = next(client, "pong");
      await client.connect();
      await pong;
      assert.equal(violations.length, 4);
      assert.ok(violations.every((v) => v.code === "bad-server-message"));
      assert.equal(client.state, "open");
    } finally {
      await new Promise<void>((resolve) => {
        for (const socket of wss.clients) socket.terminate();
        wss.close(() => resolve());
      });
    }
  });
});
