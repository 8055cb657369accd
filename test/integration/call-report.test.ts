import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import WebSocket from "ws";
import { SignalingClient, type WebSocketConstructor } from "../../src/client/index.js";
import { MAX_CALL_REPORT_BYTES } from "../../src/protocol/index.js";
import { captureLogs } from "../helpers/logs.js";
import { delta, type Samples, scrapeAll } from "../helpers/prometheus.js";
import { joinPair, startTestServer, type TestServer } from "../helpers/server.js";
import { eventually } from "../helpers/wait.js";

/*
 * `call-report` over real sockets: what an accepted report moves in
 * /metrics (and nothing else), what is logged, and that every forged,
 * oversized or repeated report is refused without moving a metric. Runs
 * on one node and, under `npm run test:cluster`, on three sharing Redis
 * (the once-per-pair rule is the store's, so it holds across nodes).
 */

const CONNECTED = {
  type: "call-report",
  outcome: "connected",
  setupMs: 840,
  iceRestarts: 0,
  local: "host",
  remote: "srflx",
  protocol: "udp",
};

/**
 * Only the call-report series, so other traffic (joins, errors) never
 * blurs the comparison; sums rounded to the microsecond they are made of.
 */
function calls(moved: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(moved)
      .filter(([key]) => key.startsWith("signalroom_call"))
      .map(([key, value]) => [key, Math.round(value * 1e6) / 1e6]),
  );
}

describe("call-report", () => {
  const logs = captureLogs("debug");
  let server: TestServer;
  before(async () => {
    server = await startTestServer(
      // Rooms of three: the SDK's test joins a pair's room.
      { resumeGraceMs: 20_000, maxPeers: 3 },
      { logger: logs.logger },
    );
  });
  afterEach(async () => server.closeClients());
  after(async () => server.close());

  const scrape = (): Promise<Samples> => scrapeAll(server.httpUrls);

  it("a connected report is answered and moves exactly its series", async () => {
    const { a, bId } = await joinPair(server, "cr-connected");
    const before = await scrape();
    a.send({ ...CONNECTED, peerId: bId, id: "r1" });
    assert.deepEqual(await a.next("call-reported"), {
      type: "call-reported",
      peerId: bId,
      id: "r1",
    });
    const moved = calls(delta(before, await scrape()));
    assert.deepEqual(moved, {
      'signalroom_calls_total{outcome="connected",local="host",remote="srflx"}': 1,
      signalroom_call_setup_seconds_count: 1,
      signalroom_call_setup_seconds_sum: 0.84,
      'signalroom_call_protocols_total{protocol="udp",relay_protocol="none"}': 1,
    });
  });

  it("a relayed connection counts its relay protocol; ICE restarts add up", async () => {
    const { a, b, aId, bId } = await joinPair(server, "cr-relay");
    const before = await scrape();
    a.send({
      ...CONNECTED,
      peerId: bId,
      local: "relay",
      remote: "host",
      relayProtocol: "tls",
      iceRestarts: 2,
      setupMs: 2500,
    });
    await a.next("call-reported");
    b.send({ ...CONNECTED, peerId: aId, local: "host", remote: "relay", protocol: "udp" });
    await b.next("call-reported");
    const moved = calls(delta(before, await scrape()));
    assert.deepEqual(moved, {
      'signalroom_calls_total{outcome="connected",local="relay",remote="host"}': 1,
      'signalroom_calls_total{outcome="connected",local="host",remote="relay"}': 1,
      signalroom_call_setup_seconds_count: 2,
      signalroom_call_setup_seconds_sum: 3.34,
      'signalroom_call_protocols_total{protocol="udp",relay_protocol="tls"}': 1,
      'signalroom_call_protocols_total{protocol="udp",relay_protocol="none"}': 1,
      signalroom_call_ice_restarts_total: 2,
    });
  });

  it("a failed report is counted by reason and logged with the room and both peers", async () => {
    const { a, aId, bId } = await joinPair(server, "cr-failed");
    const before = await scrape();
    a.send({
      type: "call-report",
      peerId: bId,
      outcome: "failed",
      reason: "turn-unauthorized",
      setupMs: 30_000,
      iceRestarts: 1,
      // Not in the schema: accepted (forward compatible) but never logged.
      address: "203.0.113.9",
    });
    await a.next("call-reported");
    const moved = calls(delta(before, await scrape()));
    assert.deepEqual(moved, {
      'signalroom_calls_total{outcome="failed",local="none",remote="none"}': 1,
      'signalroom_call_failures_total{reason="turn-unauthorized"}': 1,
      signalroom_call_ice_restarts_total: 1,
    });
    let line: Record<string, unknown> = {};
    await eventually(
      () => {
        const found = logs
          .entries()
          .find((e) => e.msg === "a peer connection failed to connect" && e.peerId === aId);
        assert.ok(found, "not logged yet");
        line = found;
      },
      { what: "the failure's log line" },
    );
    assert.equal(line.level, 40);
    assert.equal(line.roomId, "cr-failed");
    assert.equal(line.remotePeerId, bId);
    assert.equal(line.reason, "turn-unauthorized");
    assert.ok(!logs.lines.some((l) => l.includes("203.0.113.9")), "an unknown field was logged");
  });

  it("refuses forged, oversized and repeated reports without moving a metric", async () => {
    const { a, aId, bId } = await joinPair(server, "cr-hostile");
    const other = await joinPair(server, "cr-elsewhere");
    const valid = { ...CONNECTED, peerId: bId };
    const before = await scrape();
    const refused: [unknown, string][] = [
      [{ ...valid, peerId: aId }, "unknown-peer"],
      [{ ...valid, peerId: other.aId }, "unknown-peer"],
      [{ ...valid, peerId: "nobody" }, "unknown-peer"],
      [{ ...valid, peerId: "" }, "bad-message"],
      [{ ...valid, peerId: "x".repeat(65) }, "bad-message"],
      [{ ...valid, peerId: 7 }, "bad-message"],
      [{ ...valid, outcome: "maybe" }, "bad-message"],
      [{ ...valid, outcome: undefined }, "bad-message"],
      [{ ...valid, local: "relay\u0000" }, "bad-message"],
      [{ ...valid, local: "__proto__" }, "bad-message"],
      [{ ...valid, remote: ["host"] }, "bad-message"],
      [{ ...valid, protocol: "sctp" }, "bad-message"],
      [{ ...valid, relayProtocol: "tls" }, "bad-message"],
      [{ ...valid, setupMs: -1 }, "bad-message"],
      [{ ...valid, setupMs: 300_001 }, "bad-message"],
      [{ ...valid, setupMs: "840" }, "bad-message"],
      [{ ...valid, iceRestarts: 1.5 }, "bad-message"],
      [{ ...valid, iceRestarts: 1001 }, "bad-message"],
      [{ ...valid, local: undefined }, "bad-message"],
      [{ ...valid, outcome: "failed" }, "bad-message"],
      [{ ...valid, outcome: "failed", reason: "aliens" }, "bad-message"],
      [{ ...valid, pad: "x".repeat(MAX_CALL_REPORT_BYTES) }, "bad-message"],
    ];
    for (const [message, code] of refused) {
      a.send(message);
      const error = await a.next("error");
      assert.equal(error.code, code, JSON.stringify(message).slice(0, 120));
    }
    // The first valid one is taken; the same pair again is not.
    a.send(valid);
    await a.next("call-reported");
    a.send({ ...valid, outcome: "failed", reason: "timeout", local: undefined });
    const again = await a.next("error");
    assert.equal(again.code, "bad-message");
    assert.match(String(again.message), /reported already/);
    const moved = calls(delta(before, await scrape()));
    assert.deepEqual(moved, {
      'signalroom_calls_total{outcome="connected",local="host",remote="srflx"}': 1,
      signalroom_call_setup_seconds_count: 1,
      signalroom_call_setup_seconds_sum: 0.84,
      'signalroom_call_protocols_total{protocol="udp",relay_protocol="none"}': 1,
    });
    assert.ok(a.isOpen, "a refused report must not close the socket");
  });

  it("is refused outside a room", async () => {
    const lone = await server.connect();
    lone.send({ ...CONNECTED, peerId: "someone" });
    assert.equal((await lone.next("error")).code, "not-in-room");
  });

  it("one report per pair outlives a resume (the store keeps it with the member)", async () => {
    const { a, bId } = await joinPair(server, "cr-resume");
    const joined = a.joinedMessage;
    a.send({ ...CONNECTED, peerId: bId });
    await a.next("call-reported");
    const seq = a.lastSeq;
    await a.terminate();
    const back = await server.connect();
    back.send({
      type: "resume",
      peerId: joined?.peerId,
      resumeToken: joined?.resumeToken,
      lastSeq: seq,
    });
    await back.next("resumed");
    back.send({ ...CONNECTED, peerId: bId });
    assert.match(String((await back.next("error")).message), /reported already/);
  });

  it("the SDK's reportCall resolves on acceptance, rejects on refusal, and emits no error event", async () => {
    const { bId } = await joinPair(server, "cr-sdk-pair");
    const client = new SignalingClient({
      url: server.wsUrl,
      WebSocket: WebSocket as unknown as WebSocketConstructor,
    });
    const errors: unknown[] = [];
    client.on("error", (e) => errors.push(e));
    try {
      await client.connect();
      const joined = await client.join("cr-sdk-pair");
      assert.equal(joined.peers, 2);
      const answer = await client.reportCall({ ...CONNECTED, peerId: bId } as never);
      assert.equal(answer.peerId, bId);
      await assert.rejects(client.reportCall({ ...CONNECTED, peerId: bId } as never), {
        code: "bad-message",
      });
      await assert.rejects(client.reportCall({ ...CONNECTED, peerId: "gone" } as never), {
        code: "unknown-peer",
      });
      assert.deepEqual(errors, []);
    } finally {
      client.close();
    }
  });
});
