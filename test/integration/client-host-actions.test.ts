import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import WebSocket from "ws";
import {
  BackoffPolicy,
  type CallState,
  MeshCall,
  type MeshCallEvents,
  OneToOneCall,
  type RTCPeerConnectionConstructor,
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
import { within } from "../helpers/wait.js";

/*
 * The host's actions as promises (`lock`, `unlock`, `kick`), against the
 * real server over real sockets: each settles with the server's reply to
 * it, matched by the request `id`, or rejects with the server's code.
 */

// Node 20 has no global WebSocket: the SDK takes `ws`'s, as it would any.
const WS = WebSocket as unknown as WebSocketConstructor;

const next = nextEvent;

/** The host's request timeout in the outage test (the outage outlasts it). */
const REQUEST_TIMEOUT_MS = 2000;

/** Every `event` of `client` from now on. */
function record<K extends keyof SignalingEvents>(
  client: SignalingClient,
  event: K,
): SignalingEvents[K][] {
  const seen: SignalingEvents[K][] = [];
  client.on(event, (payload) => seen.push(payload));
  return seen;
}

/**
 * Just enough of an RTCPeerConnection for a call to hold one: Node has no
 * WebRTC, and these tests are about what the calls report, not media.
 */
class StandInPeerConnection extends EventTarget {
  readonly connectionState = "new";
  readonly iceConnectionState = "new";
  addTransceiver(): object {
    return {};
  }
  getTransceivers(): object[] {
    return [];
  }
  close(): void {}
}
const StandIn = StandInPeerConnection as unknown as RTCPeerConnectionConstructor;

describe("SignalingClient host actions: lock, unlock, kick as promises", () => {
  let server: TestServer;
  let proxy: TcpProxy | null = null;
  const clients: SignalingClient[] = [];

  const start = async (overrides: Partial<Config> = {}) => {
    server = await startTestServer({ authSecret: HS_SECRET, ...overrides });
  };

  /** A join token for `room`; a host's makes rooms of four. */
  const token = (room: string, sub: string, role: "host" | "guest" = "guest") =>
    mintJoinToken(
      { secret: HS_SECRET },
      { room, sub, role, ...(role === "host" ? { maxPeers: 4 } : {}) },
    );

  const client = async (opts: Partial<SignalingClientOptions> = {}): Promise<SignalingClient> => {
    const c = new SignalingClient({ url: server.wsUrl, WebSocket: WS, keepAliveMs: 0, ...opts });
    clients.push(c);
    await c.connect();
    return c;
  };

  /** A host and `guests` guests in `room`, everyone's `peer-joined` seen. */
  const room = async (id: string, guests = 1, hostOpts: Partial<SignalingClientOptions> = {}) => {
    const host = await client(hostOpts);
    const hostJoined = await host.join(id, { token: await token(id, "host", "host") });
    const members: { client: SignalingClient; peerId: string }[] = [];
    for (let i = 0; i < guests; i++) {
      const guest = await client();
      const seen = next(host, "peer-joined");
      const joined = await guest.join(id, { token: await token(id, `guest${i}`) });
      await seen;
      members.push({ client: guest, peerId: joined.peerId });
    }
    return { host, hostId: hostJoined.peerId, guests: members };
  };

  beforeEach(async () => {
    await start();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await proxy?.close();
    proxy = null;
    await server.close();
  });

  it("lock() resolves with the host's locked, unlock() and lock(false) with unlocked; guests are told and kept out meanwhile", async () => {
    const { host, hostId, guests } = await room("vault");
    const guest = guests[0]?.client as SignalingClient;
    const hostEvents = record(host, "locked");
    const guestLocked = next(guest, "locked");
    assert.deepEqual(await host.lock(), { type: "locked", roomId: "vault", by: hostId });
    assert.deepEqual(await guestLocked, { type: "locked", roomId: "vault", by: hostId });
    assert.equal(hostEvents.length, 1, "the host's locked is an event too");

    const late = await client();
    const lateToken = await token("vault", "late");
    await assert.rejects(late.join("vault", { token: lateToken }), { code: "forbidden" });

    const guestUnlocked = next(guest, "unlocked");
    assert.deepEqual(await host.unlock(), { type: "unlocked", roomId: "vault", by: hostId });
    assert.deepEqual(await guestUnlocked, { type: "unlocked", roomId: "vault", by: hostId });
    assert.equal((await late.join("vault", { token: lateToken })).peers, 2);

    assert.equal((await host.lock(true)).type, "locked");
    assert.equal((await host.lock(false)).type, "unlocked");
  });

  it("kick() resolves with the peer-left that answers it; the target is kicked (4501), the others hear why", async () => {
    const { host, hostId, guests } = await room("door", 2);
    const [target, other] = guests as [(typeof guests)[0], (typeof guests)[0]];
    const kicked = next(target.client, "kicked");
    const closed = next(target.client, "closed");
    const otherLeft = next(other.client, "peer-left");
    const hostLeft = record(host, "peer-left");

    const answer = await host.kick(target.peerId);
    assert.deepEqual(answer, { type: "peer-left", peerId: target.peerId, reason: "kicked" });
    assert.deepEqual(hostLeft, [answer], "the answer is the host's peer-left event, once");
    assert.deepEqual(await otherLeft, {
      type: "peer-left",
      peerId: target.peerId,
      reason: "kicked",
    });
    assert.deepEqual(await kicked, { type: "kicked", roomId: "door", by: hostId });
    assert.deepEqual(
      { ...(await closed), message: "" },
      { reason: "refused", code: 4501, message: "" },
    );
  });

  it("rejects with the server's code: forbidden for a guest, unknown-peer, bad-message for oneself, not-in-room", async () => {
    const { host, hostId, guests } = await room("rules");
    const guest = guests[0] as (typeof guests)[0];
    const errors = record(guest.client, "error");
    await assert.rejects(guest.client.lock(), { name: "SignalroomError", code: "forbidden" });
    await assert.rejects(guest.client.unlock(), { code: "forbidden" });
    await assert.rejects(guest.client.kick(hostId), { code: "forbidden" });
    assert.deepEqual(
      errors.map((e) => e.code),
      ["forbidden", "forbidden", "forbidden"],
      "refusals are error events too",
    );

    await assert.rejects(host.kick("nobody-of-that-id"), { code: "unknown-peer" });
    await assert.rejects(host.kick(hostId), { code: "bad-message" });
    // Still a host of a room that is still open: nothing above changed anything.
    assert.equal((await host.lock()).type, "locked");

    const outside = await client();
    await assert.rejects(outside.lock(), { code: "not-in-room" });
    await assert.rejects(outside.unlock(), { code: "not-in-room" });
    await assert.rejects(outside.kick(hostId), { code: "not-in-room" });
  });

  it("rejects with forbidden when auth is off (everyone is a guest)", async () => {
    await server.close();
    await start({ authSecret: "" });
    const alone = await client();
    await alone.join("open-room");
    await assert.rejects(alone.lock(), { code: "forbidden" });
    await assert.rejects(alone.kick("anyone"), { code: "forbidden" });
  });

  it("rejects with not-connected before connect() and after close(), and never throws", async () => {
    const idle = new SignalingClient({ url: server.wsUrl, WebSocket: WS, keepAliveMs: 0 });
    let lock: Promise<unknown> | undefined;
    assert.doesNotThrow(() => {
      lock = idle.lock();
    });
    await assert.rejects(lock as Promise<unknown>, { code: "not-connected" });
    await assert.rejects(idle.kick("x"), { code: "not-connected" });
    const { host } = await room("closing", 0);
    host.close();
    await assert.rejects(host.unlock(), { code: "not-connected" });
  });

  it("matches each answer to its request by id: a refusal never settles another request", async () => {
    const { host, hostId, guests } = await room("many", 1);
    const guest = guests[0] as (typeof guests)[0];
    const [refused, locked, unlocked, kicked] = await Promise.allSettled([
      host.kick("nobody"),
      host.lock(),
      host.unlock(),
      host.kick(guest.peerId),
    ]);
    assert.equal(refused.status, "rejected");
    assert.equal((refused as PromiseRejectedResult).reason.code, "unknown-peer");
    assert.deepEqual(locked, {
      status: "fulfilled",
      value: { type: "locked", roomId: "many", by: hostId },
    });
    assert.deepEqual(unlocked, {
      status: "fulfilled",
      value: { type: "unlocked", roomId: "many", by: hostId },
    });
    assert.deepEqual(kicked, {
      status: "fulfilled",
      value: { type: "peer-left", peerId: guest.peerId, reason: "kicked" },
    });
  });

  it("lets a host of a locked room back in (joined says locked) and unlock it", async () => {
    const { host, guests } = await room("keep", 1);
    const guest = guests[0] as (typeof guests)[0];
    await host.lock();
    host.close();
    assert.equal((await next(guest.client, "peer-left")).reason, "left");
    const back = await client();
    const joined = await back.join("keep", { token: await token("keep", "host", "host") });
    assert.equal(joined.locked, true);
    assert.deepEqual(await back.unlock(), { type: "unlocked", roomId: "keep", by: joined.peerId });
  });

  it("a kick queued while reconnecting waits through the outage and resolves after the resume", async () => {
    proxy = await TcpProxy.start(Number(new URL(server.httpUrl).port));
    const fast = new BackoffPolicy({ initialDelayMs: 20, maxDelayMs: 100 });
    const { host, guests } = await room("outage", 1, {
      url: proxy.wsUrl(),
      reconnect: fast,
      // Short, as the outage below must outlast it, but not 1 s: the join
      // and the answers after the resume must come within it on a loaded machine.
      timeoutMs: REQUEST_TIMEOUT_MS,
    });
    const guest = guests[0] as (typeof guests)[0];
    proxy.refuse(true);
    const reconnecting = next(host, "reconnecting");
    proxy.sever();
    await reconnecting;
    const queuedAt = Date.now();
    const kick = host.kick(guest.peerId);
    const lock = host.lock();
    // Refused attempts for longer than timeoutMs: time spent disconnected does not count.
    while (Date.now() - queuedAt < REQUEST_TIMEOUT_MS * 1.25) await next(host, "reconnecting");
    const resumed = next(host, "resumed");
    proxy.refuse(false);
    await resumed;
    assert.deepEqual(await kick, { type: "peer-left", peerId: guest.peerId, reason: "kicked" });
    assert.equal((await lock).type, "locked");
  });

  it("a room request waiting when the membership cannot be resumed rejects with connection-failed", async () => {
    await server.close();
    await start({ resumeGraceMs: 0 });
    proxy = await TcpProxy.start(Number(new URL(server.httpUrl).port));
    const fast = new BackoffPolicy({ initialDelayMs: 20, maxDelayMs: 100 });
    const { host } = await room("gone", 1, { url: proxy.wsUrl(), reconnect: fast });
    proxy.refuse(true);
    const reconnecting = next(host, "reconnecting");
    proxy.sever();
    await reconnecting;
    const lock = host.lock();
    const rejoined = next(host, "rejoined");
    proxy.refuse(false);
    await assert.rejects(lock, { code: "connection-failed" });
    await rejoined;
    // The new membership takes new requests as usual.
    assert.equal((await host.lock()).type, "locked");
  });

  it("the calls say why a peer left: kicked by a host, or left", async () => {
    const host = await client();
    const hostJoined = await host.join("mesh", { token: await token("mesh", "host", "host") });
    const mesh = new MeshCall({ signaling: host, RTCPeerConnection: StandIn });
    const removed: MeshCallEvents["peer-removed"][] = [];
    mesh.on("peer-removed", (event) => removed.push(event));
    mesh.start(hostJoined);
    const ids: string[] = [];
    const guests: SignalingClient[] = [];
    for (const sub of ["kicked", "leaving"]) {
      const guest = await client();
      const added = within(
        new Promise((resolve) => mesh.once("peer-added", resolve)),
        5000,
        `the mesh call's peer-added for ${sub}`,
      );
      ids.push((await guest.join("mesh", { token: await token("mesh", sub) })).peerId);
      guests.push(guest);
      await added;
    }
    await host.kick(ids[0] as string);
    const gone = next(host, "peer-left");
    await guests[1]?.leave();
    await gone;
    assert.deepEqual(removed, [
      { peerId: ids[0], reason: "left", leftReason: "kicked" },
      { peerId: ids[1], reason: "left", leftReason: "left" },
    ]);
    mesh.hangUp();

    // A 1:1 call's state says it too.
    const host2 = await client();
    const call = new OneToOneCall({ signaling: host2, RTCPeerConnection: StandIn });
    const states: { state: CallState; peerId: string | null; leftReason?: string }[] = [];
    call.on("state", (event) => states.push(event));
    call.start(await host2.join("pair", { token: await token("pair", "host", "host") }));
    const connecting = new Promise<void>((resolve) =>
      call.on("state", ({ state }) => state === "connecting" && resolve()),
    );
    const guest = await client();
    const guestId = (await guest.join("pair", { token: await token("pair", "guest") })).peerId;
    await connecting;
    await host2.kick(guestId);
    assert.deepEqual(states.at(-1), { state: "peer-left", peerId: guestId, leftReason: "kicked" });
    call.hangUp();
  });
});
