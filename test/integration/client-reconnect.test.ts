import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, it } from "node:test";
import WebSocket, { WebSocketServer } from "ws";
import {
  BackoffPolicy,
  type ReconnectPolicy,
  SignalingClient,
  type SignalingClientOptions,
  type SignalingEvents,
  type WebSocketConstructor,
} from "../../src/client/index.js";
import { mintJoinToken } from "../../src/server/auth/mint-token.js";
import type { Config } from "../../src/server/config.js";
import { nextEvent } from "../helpers/sdk-events.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { TcpProxy } from "../helpers/tcp-proxy.js";
import { HS_SECRET } from "../helpers/tokens.js";
import { eventually, within } from "../helpers/wait.js";

/** A frame as a socket saw it, with when (ms since the epoch). */
interface Seen {
  readonly at: number;
  readonly msg: Record<string, unknown>;
}

/**
 * `ws`'s WebSocket (Node 20 has no global one), recording every frame the
 * SDK sends and receives, so tests can check acks, resumes and re-sends on
 * real sockets.
 */
function spyingWebSocket() {
  const sent: Seen[] = [];
  const received: Seen[] = [];
  const WS = function SpyWebSocket(url: string) {
    const ws = new WebSocket(url);
    const send = ws.send.bind(ws);
    ws.send = ((data: string) => {
      sent.push({ at: Date.now(), msg: JSON.parse(data) });
      send(data);
    }) as typeof ws.send;
    ws.on("message", (data) => received.push({ at: Date.now(), msg: JSON.parse(String(data)) }));
    return ws;
  } as unknown as WebSocketConstructor;
  return { WS, sent, received };
}

const next = nextEvent;

/** Every `event` of `client` from now on. */
function record<K extends keyof SignalingEvents>(
  client: SignalingClient,
  event: K,
): SignalingEvents[K][] {
  const seen: SignalingEvents[K][] = [];
  client.on(event, (payload) => seen.push(payload));
  return seen;
}

/** The `data` of the app messages `client` gets, in order. */
function inbox(client: SignalingClient): unknown[] {
  const data: unknown[] = [];
  client.on("message", (m) => data.push(m.data));
  return data;
}

/** Fast retries for tests: the back-off shape of the default, in tens of ms. */
const FAST = (): ReconnectPolicy => new BackoffPolicy({ initialDelayMs: 20, maxDelayMs: 100 });

describe("SignalingClient reconnection against the real server", () => {
  let server: TestServer;
  let proxy: TcpProxy;
  const clients: SignalingClient[] = [];

  const start = async (overrides: Partial<Config> = {}) => {
    server = await startTestServer(overrides);
    proxy = await TcpProxy.start(Number(new URL(server.httpUrl).port));
  };

  /** An SDK client through the proxy (the network a test can break) unless `url` says otherwise. */
  const client = (opts: Partial<SignalingClientOptions> = {}): SignalingClient => {
    const c = new SignalingClient({
      url: proxy.wsUrl(),
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      keepAliveMs: 0,
      reconnect: FAST(),
      ...opts,
    });
    clients.push(c);
    return c;
  };

  /** Alice through the proxy and Bob straight to the server, both in `roomId`. */
  const pair = async (roomId: string, aliceOpts: Partial<SignalingClientOptions> = {}) => {
    const alice = client(aliceOpts);
    const bob = client({ url: server.wsUrl });
    await alice.connect();
    await bob.connect();
    await alice.join(roomId, { name: "Alice" });
    const seen = next(alice, "peer-joined");
    await bob.join(roomId, { name: "Bob" });
    await seen;
    return { alice, bob };
  };

  beforeEach(async () => {
    await start();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await proxy.close();
    await server.close();
  });

  it("goes connecting -> open, and after a cut network reconnecting -> open with the same membership resumed", async () => {
    const alice = client();
    const states = record(alice, "state");
    const connecting = record(alice, "connecting");
    const opens = record(alice, "open");
    assert.equal(alice.state, "idle");
    const connected = alice.connect();
    assert.equal(alice.state, "connecting");
    await connected;
    assert.deepEqual(
      states.map((s) => s.state),
      ["connecting", "open"],
    );

    const bob = client({ url: server.wsUrl });
    await bob.connect();
    const joined = await alice.join("resume-room", { name: "Alice" });
    assert.ok(joined.resumeToken, "the server hands out a resume token");
    assert.ok((joined.resumeGraceMs ?? 0) > 0, "and keeps places for a while");
    await bob.join("resume-room");
    await next(alice, "peer-joined");
    const bobPeerLeft = record(bob, "peer-left");

    const reconnecting = next(alice, "reconnecting");
    const resumed = next(alice, "resumed");
    proxy.sever();
    const lost = await reconnecting;
    assert.equal(lost.attempt, 1);
    assert.equal(lost.closeEvent?.code, 1006);
    assert.equal(alice.state, "reconnecting");
    assert.equal(alice.peerId, joined.peerId, "the peer id is kept while reconnecting");
    const back = await resumed;
    assert.equal(back.peerId, joined.peerId);
    assert.equal(back.roomId, "resume-room");
    assert.equal(back.resumeToken, joined.resumeToken);
    assert.deepEqual(back.peerIds, [bob.peerId]);
    assert.equal(alice.state, "open");
    assert.equal(alice.peerId, joined.peerId);
    assert.deepEqual(
      states.map((s) => s.state),
      ["connecting", "open", "reconnecting", "open"],
    );
    assert.equal(connecting.length, 2);
    assert.equal(opens.length, 2);

    // Still in the room together, and Bob never heard Alice was gone.
    const got = next(bob, "message");
    alice.send({ type: "message", data: "back" });
    assert.deepEqual(await got, { type: "message", data: "back", from: joined.peerId });
    assert.deepEqual(bobPeerLeft, []);
  });

  it("delivers what both sides sent during the outage exactly once, in order, after the resume", async () => {
    const { alice, bob } = await pair("gap-room");
    const bobGot = inbox(bob);
    const aliceGot = inbox(alice);
    // A ping in flight when the network goes is rejected, not left hanging.
    proxy.refuse(true);
    const reconnecting = next(alice, "reconnecting");
    const inFlight = alice.ping();
    proxy.sever();
    await reconnecting;
    await assert.rejects(inFlight, { code: "connection-failed" });
    await assert.rejects(alice.ping(), { code: "not-connected" });

    for (let i = 1; i <= 5; i++) alice.send({ type: "message", data: `a${i}` });
    for (let i = 1; i <= 5; i++) bob.send({ type: "message", data: `b${i}` });
    // An attempt that fails is one more retry, not the end.
    assert.equal((await next(alice, "reconnecting")).attempt, 2);
    const resumed = next(alice, "resumed");
    proxy.refuse(false);
    await resumed;

    // Anything delivered twice would come before these markers.
    alice.send({ type: "message", data: "a-end" });
    bob.send({ type: "message", data: "b-end" });
    await eventually(() => assert.equal(bobGot.at(-1), "a-end"));
    await eventually(() => assert.equal(aliceGot.at(-1), "b-end"));
    assert.deepEqual(bobGot, ["a1", "a2", "a3", "a4", "a5", "a-end"]);
    assert.deepEqual(aliceGot, ["b1", "b2", "b3", "b4", "b5", "b-end"]);
  });

  it("notices a blackholed socket by its keep-alive ping and re-sends what the server never read", async () => {
    const spy = spyingWebSocket();
    const { alice, bob } = await pair("blackhole-room", {
      WebSocket: spy.WS,
      keepAliveMs: 100,
      timeoutMs: 400,
    });
    const bobGot = inbox(bob);
    const bobPeerLeft = record(bob, "peer-left");
    proxy.blackhole();
    // Written to a socket that still looks open: lost in the network.
    for (let i = 1; i <= 3; i++) alice.send({ type: "message", data: `lost${i}` });
    const lost = await next(alice, "reconnecting");
    assert.equal(lost.closeEvent, null, "no close event: the client gave up on the socket itself");
    const resumed = await next(alice, "resumed");

    const resume = spy.sent.find((s) => s.msg.type === "resume");
    assert.ok(resume);
    const sentBefore = spy.sent
      .slice(0, spy.sent.indexOf(resume))
      .filter((s) => s.msg.type !== "join");
    assert.ok(
      resumed.received <= sentBefore.length - 3,
      `the server read ${resumed.received} of ${sentBefore.length} frames: not the lost ones`,
    );
    alice.send({ type: "message", data: "end" });
    await eventually(() => assert.equal(bobGot.at(-1), "end"));
    assert.deepEqual(bobGot, ["lost1", "lost2", "lost3", "end"]);
    assert.deepEqual(bobPeerLeft, []);
    // Re-sent frames never include stale pings or acks.
    const resent = spy.sent.slice(spy.sent.indexOf(resume) + 1);
    assert.ok(resent.slice(0, 3).every((s) => s.msg.type === "message"));
  });

  it("re-joins rather than lose frames when it no longer holds what the server missed (maxResend)", async () => {
    const { alice, bob } = await pair("overflow-room", {
      keepAliveMs: 100,
      timeoutMs: 400,
      maxResend: 2,
    });
    const aliceEvents: string[] = [];
    for (const event of ["resumed", "rejoined"] as const) {
      alice.on(event, () => aliceEvents.push(event));
    }
    const bobLeft = next(bob, "peer-left");
    const bobJoined = next(bob, "peer-joined");
    proxy.blackhole();
    for (let i = 1; i <= 5; i++) alice.send({ type: "message", data: `lost${i}` });
    await next(alice, "rejoined");
    assert.deepEqual(aliceEvents, ["rejoined"]);
    // Bob is told, so the call can start over instead of missing signals.
    await bobLeft;
    await bobJoined;
    assert.equal(alice.state, "open");
    assert.equal(alice.roomId, "overflow-room");
  });

  it("acks what it processed, at most once per ackIntervalMs and only when there is something new", async () => {
    const spy = spyingWebSocket();
    const ackIntervalMs = 100;
    const { alice, bob } = await pair("ack-room", { WebSocket: spy.WS, ackIntervalMs });
    const aliceGot = inbox(alice);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 10; i++) bob.send({ type: "message", data: round * 10 + i });
      await eventually(() => assert.equal(aliceGot.length, (round + 1) * 10));
    }
    const lastSeq = () => Math.max(...spy.received.map((s) => Number(s.msg.seq ?? 0)));
    const acks = () => spy.sent.filter((s) => s.msg.type === "ack");
    await eventually(() => assert.equal(acks().at(-1)?.msg.seq, lastSeq()));
    const all = acks();
    assert.ok(all.length >= 1);
    assert.ok(all.length <= 30, "not one ack per frame");
    for (let i = 1; i < all.length; i++) {
      const [before, after] = [all[i - 1], all[i]] as [Seen, Seen];
      assert.ok(
        Number(after.msg.seq) > Number(before.msg.seq),
        "every ack acknowledges something new",
      );
      // Timers may fire a millisecond early on some platforms.
      assert.ok(after.at - before.at >= ackIntervalMs - 5, "acks are spaced by ackIntervalMs");
    }
  });

  it("re-joins the same room with a new peer id when the server restarted, dropping what was queued", async () => {
    const port = Number(new URL(server.httpUrl).port);
    const alice = client({ url: server.wsUrl });
    const bob = client({ url: server.wsUrl });
    await alice.connect();
    await bob.connect();
    const aliceJoined = await alice.join("restart-room", { name: "Alice" });
    await bob.join("restart-room", { name: "Bob" });
    const order: string[] = [];
    for (const event of ["reconnecting", "resumed", "joined", "rejoined", "closed"] as const) {
      alice.on(event, () => order.push(event));
    }
    const aliceReconnecting = next(alice, "reconnecting");
    const aliceRejoined = next(alice, "rejoined");
    const bobRejoined = next(bob, "rejoined");
    await server.app.close();
    assert.equal((await aliceReconnecting).closeEvent?.code, 1012);
    // For the old membership: its peers are gone with the old server.
    alice.send({ type: "message", data: "stale" });

    await server.close();
    server = await startTestServer({ port });
    const rejoined = await aliceRejoined;
    await bobRejoined;
    assert.equal(rejoined.roomId, "restart-room");
    assert.notEqual(rejoined.peerId, aliceJoined.peerId);
    assert.equal(alice.peerId, rejoined.peerId);
    assert.equal(alice.roomId, "restart-room");
    assert.equal(alice.state, "open");
    assert.deepEqual(order.slice(order.indexOf("joined")), ["joined", "rejoined"]);
    assert.ok(!order.includes("resumed") && !order.includes("closed"));

    // Both are back in the room; the stale message went nowhere.
    const bobGot = inbox(bob);
    alice.send({ type: "message", data: "fresh" });
    await eventually(() => assert.equal(bobGot.at(-1), "fresh"));
    assert.deepEqual(bobGot, ["fresh"]);
  });

  it("re-joins instead of resuming when the server keeps no places (resumeGraceMs 0)", async () => {
    await proxy.close();
    await server.close();
    await start({ resumeGraceMs: 0 });
    const spy = spyingWebSocket();
    const { alice, bob } = await pair("no-resume", { WebSocket: spy.WS });
    const oldId = alice.peerId;
    const bobLeft = next(bob, "peer-left");
    const bobJoined = next(bob, "peer-joined");
    const rejoined = next(alice, "rejoined");
    proxy.sever();
    assert.equal((await bobLeft).peerId, oldId, "no place kept: Bob hears Alice left at once");
    const back = await rejoined;
    assert.equal((await bobJoined).peerId, back.peerId);
    assert.notEqual(back.peerId, oldId);
    assert.ok(!spy.sent.some((s) => s.msg.type === "resume"), "nothing to resume");
    assert.ok(!spy.sent.some((s) => s.msg.type === "ack"), "no acks when resume is off");
  });

  it("closes with rejoin-failed when the resume is refused and the room is full by then", async () => {
    await proxy.close();
    await server.close();
    await start({ resumeGraceMs: 0 });
    const { alice } = await pair("taken");
    proxy.refuse(true);
    const reconnecting = next(alice, "reconnecting");
    proxy.sever();
    await reconnecting;
    const carol = client({ url: server.wsUrl });
    await carol.connect();
    await carol.join("taken");
    const full = next(alice, "full");
    const closed = next(alice, "closed");
    proxy.refuse(false);
    assert.equal((await full).roomId, "taken");
    const final = await closed;
    assert.equal(final.reason, "rejoin-failed");
    assert.match(final.message, /taken/);
    assert.equal(alice.state, "closed");
    assert.equal(alice.peerId, null);
  });

  it("gives up when the policy says so: closed with reason gave-up", async () => {
    const alice = client({
      reconnect: new BackoffPolicy({ initialDelayMs: 5, maxDelayMs: 20, maxElapsedMs: 150 }),
    });
    await alice.connect();
    await alice.join("doomed");
    const attempts = record(alice, "reconnecting");
    const states = record(alice, "state");
    const closed = next(alice, "closed");
    proxy.refuse(true);
    proxy.sever();
    const final = await closed;
    assert.equal(final.reason, "gave-up");
    assert.ok(attempts.length >= 2, `${attempts.length} attempts`);
    assert.deepEqual(
      attempts.map((a) => a.attempt),
      attempts.map((_, i) => i + 1),
    );
    assert.deepEqual(
      states.map((s) => s.state),
      ["reconnecting", "closed"],
    );
    assert.equal(alice.peerId, null);
    assert.throws(() => alice.send({ type: "message", data: 1 }), { code: "not-connected" });
  });

  it("never reconnects with reconnect: false, nor when a policy gives up at once", async () => {
    for (const reconnect of [false, { nextRetryDelayInMs: () => null }] as const) {
      const alice = client({ reconnect });
      await alice.connect();
      const attempts = record(alice, "reconnecting");
      const closed = next(alice, "closed");
      proxy.sever();
      const final = await closed;
      assert.equal(final.reason, "gave-up");
      assert.equal(final.code, 1006);
      assert.deepEqual(attempts, []);
    }
  });

  it("stops for good when kicked (4501): closed with reason refused, no reconnection", async () => {
    await proxy.close();
    await server.close();
    await start({ authSecret: HS_SECRET });
    const mint = (sub: string, role?: "host") =>
      mintJoinToken({ secret: HS_SECRET }, { room: "kick-room", sub, ...(role ? { role } : {}) });
    const host = client({ url: server.wsUrl });
    const alice = client();
    await host.connect();
    await alice.connect();
    await host.join("kick-room", { token: await mint("host", "host") });
    const aliceJoined = await alice.join("kick-room", { token: await mint("alice") });
    const attempts = record(alice, "reconnecting");
    const kicked = next(alice, "kicked");
    const closed = next(alice, "closed");
    host.kick(aliceJoined.peerId);
    await kicked;
    const final = await closed;
    assert.equal(final.reason, "refused");
    assert.equal(final.code, 4501);
    assert.deepEqual(attempts, []);
    assert.equal(alice.state, "closed");
  });

  it("close() settles at once (closed, reason client) and connect() right after opens a new socket", async () => {
    const alice = client();
    await alice.connect();
    await alice.join("closing");
    const closedEvents = record(alice, "closed");
    const pendingPing = alice.ping();
    alice.close();
    assert.equal(alice.state, "closed");
    assert.deepEqual(closedEvents, [{ reason: "client", code: 1000, message: "client closed" }]);
    assert.equal(alice.peerId, null);
    await assert.rejects(pendingPing, { code: "connection-failed" });
    alice.close();
    assert.equal(closedEvents.length, 1, "a second close() does nothing");

    const before = proxy.accepted;
    await alice.connect();
    assert.equal(alice.state, "open");
    assert.equal(proxy.accepted, before + 1, "a new socket");
    assert.equal((await alice.join("closing")).roomId, "closing");
  });

  it("close() while reconnecting stops the retries", async () => {
    const alice = client({ reconnect: { nextRetryDelayInMs: () => 0 } });
    await alice.connect();
    proxy.refuse(true);
    const reconnecting = next(alice, "reconnecting");
    proxy.sever();
    await reconnecting;
    const connecting = record(alice, "connecting");
    alice.close();
    assert.equal(alice.state, "closed");
    proxy.refuse(false);
    const ping = await alice.connect().then(() => alice.ping());
    assert.ok(ping >= 0, "a fresh connect still works afterwards");
    assert.equal(connecting.length, 1, "only the fresh connect opened a socket");
  });

  it("retries at once when the browser reports the network is back (online)", async (t) => {
    // Node has no `window` and no `online` event: an EventTarget on globalThis stands in for it.
    const target = new EventTarget();
    const global = globalThis as {
      addEventListener?: EventTarget["addEventListener"];
      removeEventListener?: EventTarget["removeEventListener"];
    };
    const saved = { add: global.addEventListener, remove: global.removeEventListener };
    let listeners = 0;
    global.addEventListener = (type, listener) => {
      listeners++;
      target.addEventListener(type, listener);
    };
    global.removeEventListener = (type, listener) => {
      listeners--;
      target.removeEventListener(type, listener);
    };
    t.after(() => {
      global.addEventListener = saved.add;
      global.removeEventListener = saved.remove;
    });

    // First retry at once (it fails: the network is still down), then a minute's wait.
    const alice = client({
      reconnect: { nextRetryDelayInMs: ({ retryCount }) => (retryCount === 0 ? 0 : 60_000) },
    });
    await alice.connect();
    await alice.join("online-room");
    assert.equal(listeners, 1);
    const attempts = record(alice, "reconnecting");
    proxy.refuse(true);
    proxy.sever();
    await eventually(() => assert.equal(attempts.at(-1)?.delayMs, 60_000));
    proxy.refuse(false);
    const resumed = next(alice, "resumed", 3000);
    target.dispatchEvent(new Event("online"));
    await resumed;
    assert.equal(attempts.length, 2);
    alice.close();
    assert.equal(listeners, 0, "close() removes the online listener");
  });
});

describe("SignalingClient sequence numbers", () => {
  it("drops frames at or below the last processed seq, and a joined starts a new count", async () => {
    // Our server never sends a duplicate; a bare `ws` server stands in to send some.
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await within(
      new Promise<void>((resolve) => wss.once("listening", () => resolve())),
      5000,
      "the stand-in ws server to listen",
    );
    let joins = 0;
    wss.on("connection", (socket) => {
      socket.on("error", () => undefined);
      socket.on("message", (data) => {
        const msg = JSON.parse(String(data)) as { type: string; id?: string };
        if (msg.type !== "join") return;
        const m = (seq: number, data: string) =>
          socket.send(JSON.stringify({ type: "message", from: "x", data, seq }));
        socket.send(
          JSON.stringify({
            type: "joined",
            id: msg.id,
            roomId: "r",
            peers: 0,
            peerId: `p${++joins}`,
            peerIds: [],
            resumeToken: "t",
            resumeGraceMs: 0,
            seq: 1,
          }),
        );
        if (joins === 1) {
          m(2, "a");
          m(2, "a again");
          m(3, "b");
          m(1, "old");
          socket.send(JSON.stringify({ type: "message", from: "x", data: "unnumbered" }));
        } else {
          m(2, "c");
        }
      });
    });
    const client = new SignalingClient({
      url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      keepAliveMs: 0,
    });
    try {
      const got: unknown[] = [];
      const fields: string[][] = [];
      client.on("message", (m) => {
        got.push(m.data);
        fields.push(Object.keys(m));
      });
      await client.connect();
      await client.join("r");
      await eventually(() => assert.equal(got.at(-1), "unnumbered"));
      await client.join("r");
      await eventually(() => assert.equal(got.at(-1), "c"));
      assert.deepEqual(got, ["a", "b", "unnumbered", "c"]);
      assert.ok(
        fields.every((keys) => !keys.includes("seq")),
        "seq is the SDK's business: events carry the message without it",
      );
    } finally {
      client.close();
      await new Promise<void>((resolve) => {
        for (const socket of wss.clients) socket.terminate();
        wss.close(() => resolve());
      });
    }
  });
});
