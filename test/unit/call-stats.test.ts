import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  describeStats,
  type PeerStats,
  STAT_ROWS,
  summarizeStats,
  UNKNOWN,
} from "../../web/src/call-stats.js";

/*
 * The reports below are plain Maps shaped like Chromium's getStats()
 * output (the ids, types and fields it uses). This is no stand-in for a
 * browser: call-stats.ts is pure arithmetic over two reports, and that
 * arithmetic is what is tested here. A real connection's reports go
 * through it in test/e2e/stats-panel.test.ts.
 */

type Stat = Record<string, unknown> & { id: string; type: string };

function report(...stats: Stat[]): Map<string, Stat> {
  return new Map(stats.map((s) => [s.id, s]));
}

const transport = (timestamp: number, pairId = "CPabc"): Stat => ({
  id: "T01",
  type: "transport",
  timestamp,
  selectedCandidatePairId: pairId,
  dtlsState: "connected",
});

const pair = (timestamp: number, extra: Record<string, unknown> = {}): Stat => ({
  id: "CPabc",
  type: "candidate-pair",
  timestamp,
  localCandidateId: "Ilocal",
  remoteCandidateId: "Iremote",
  state: "succeeded",
  nominated: true,
  currentRoundTripTime: 0.023,
  ...extra,
});

const candidate = (
  side: "local" | "remote",
  timestamp: number,
  candidateType: string,
  extra: Record<string, unknown> = {},
): Stat => ({
  id: side === "local" ? "Ilocal" : "Iremote",
  type: `${side}-candidate`,
  timestamp,
  candidateType,
  protocol: "udp",
  address: side === "local" ? "192.0.2.10" : "198.51.100.7",
  port: 50000,
  ...extra,
});

const inbound = (
  kind: "audio" | "video",
  timestamp: number,
  counters: { bytes: number; packets: number; lost: number },
  extra: Record<string, unknown> = {},
): Stat => ({
  id: `IT01${kind === "audio" ? "A" : "V"}`,
  type: "inbound-rtp",
  kind,
  timestamp,
  ssrc: kind === "audio" ? 1111 : 2222,
  bytesReceived: counters.bytes,
  packetsReceived: counters.packets,
  packetsLost: counters.lost,
  ...extra,
});

const outbound = (kind: "audio" | "video", timestamp: number, bytes: number): Stat => ({
  id: `OT01${kind === "audio" ? "A" : "V"}`,
  type: "outbound-rtp",
  kind,
  timestamp,
  ssrc: kind === "audio" ? 3333 : 4444,
  bytesSent: bytes,
});

const video = { frameWidth: 640, frameHeight: 480, framesPerSecond: 30, framesDecoded: 300 };

/** One second of a 1:1 call: 2 Mbit/s of video and 48 kbit/s of audio each way, a little loss. */
function aSecondOfCall(): [Map<string, Stat>, Map<string, Stat>] {
  const t0 = 1_700_000_000_000;
  const t1 = t0 + 1000;
  const common = (t: number) => [
    transport(t),
    pair(t),
    candidate("local", t, "host"),
    candidate("remote", t, "host"),
  ];
  return [
    report(
      ...common(t0),
      inbound("video", t0, { bytes: 1_000_000, packets: 1000, lost: 10 }, video),
      inbound("audio", t0, { bytes: 20_000, packets: 500, lost: 0 }),
      outbound("video", t0, 900_000),
      outbound("audio", t0, 20_000),
    ),
    report(
      ...common(t1),
      inbound("video", t1, { bytes: 1_250_000, packets: 1200, lost: 15 }, video),
      inbound("audio", t1, { bytes: 26_000, packets: 550, lost: 0 }),
      outbound("video", t1, 1_025_000),
      outbound("audio", t1, 26_000),
    ),
  ];
}

describe("call stats: two getStats() reports to what the panel shows", () => {
  it("computes rates, loss, round trip, video and the candidate pair over one interval", () => {
    const [before, now] = aSecondOfCall();
    const stats = summarizeStats(now, before);
    // 250,000 video + 6,000 audio bytes in 1000 ms: (256,000 × 8) bits / 1000 ms.
    assert.equal(stats.receiveKbps, 2048);
    // 125,000 + 6,000 bytes sent in 1000 ms.
    assert.equal(stats.sendKbps, 1048);
    // 5 lost of 5 + 200 + 50 expected this second; 15 lost of 15 + 1750 since the start.
    assert.ok(Math.abs((stats.lossPercent ?? -1) - (100 * 5) / 255) < 1e-9);
    assert.ok(Math.abs((stats.lossPercentTotal ?? -1) - (100 * 15) / 1765) < 1e-9);
    assert.ok(Math.abs((stats.rttMs ?? -1) - 23) < 1e-9);
    assert.deepEqual(stats.resolution, { width: 640, height: 480 });
    assert.equal(stats.framesPerSecond, 30);
    assert.deepEqual(stats.route, {
      local: "host",
      remote: "host",
      protocol: "udp",
      relayProtocol: null,
    });
    assert.deepEqual(describeStats(stats), {
      rtt: "23 ms",
      receive: "2048 kbit/s",
      send: "1048 kbit/s",
      loss: "2.0 %",
      "loss-total": "0.8 %",
      resolution: "640×480",
      fps: "30 fps",
      route: "host ↔ host (udp)",
    });
  });

  it("rates follow the interval's real length, not the poll's nominal second", () => {
    const [before, now] = aSecondOfCall();
    for (const stat of now.values()) stat.timestamp = (stat.timestamp as number) + 1000;
    assert.equal(summarizeStats(now, before).receiveKbps, 1024);
  });

  it("the first report alone: no rates or interval loss yet, the rest already known", () => {
    const [first] = aSecondOfCall();
    const text = describeStats(summarizeStats(first));
    assert.equal(text.receive, UNKNOWN);
    assert.equal(text.send, UNKNOWN);
    assert.equal(text.loss, UNKNOWN);
    assert.equal(text["loss-total"], `${((100 * 10) / 1510).toFixed(1)} %`);
    assert.equal(text.rtt, "23 ms");
    assert.equal(text.resolution, "640×480");
    assert.equal(text.route, "host ↔ host (udp)");
  });

  it("a connection with nothing in its report yet shows – everywhere", () => {
    const text = describeStats(summarizeStats(new Map()));
    for (const [key] of STAT_ROWS) assert.equal(text[key], UNKNOWN, key);
  });

  it("a stream that appears between two reports does not count all its bytes as one second's", () => {
    const [before, now] = aSecondOfCall();
    before.delete("IT01V");
    const stats = summarizeStats(now, before);
    // Only the audio, which was there both times: 6,000 bytes in a second.
    assert.equal(stats.receiveKbps, 48);
    assert.ok(Math.abs((stats.lossPercent ?? -1) - 0) < 1e-9);
  });

  it("counters that went backwards (duplicates arriving late, a reset stream) never give negative values", () => {
    const t0 = 1000;
    const t1 = 2000;
    const before = report(inbound("video", t0, { bytes: 50_000, packets: 100, lost: 8 }, video));
    const now = report(inbound("video", t1, { bytes: 10_000, packets: 150, lost: 6 }, video));
    const stats = summarizeStats(now, before);
    assert.equal(stats.receiveKbps, null, "a reset stream's bytes say nothing about this second");
    assert.equal(stats.lossPercent, 0);
  });

  it("the same report twice (no time between them) gives no rate", () => {
    const [, now] = aSecondOfCall();
    const stats = summarizeStats(now, now);
    assert.equal(stats.receiveKbps, null);
    assert.equal(stats.sendKbps, null);
  });

  it("two reports without any RTP stream: nothing flows, a known 0", () => {
    const stats = summarizeStats(report(transport(2000)), report(transport(1000)));
    assert.equal(stats.receiveKbps, 0);
    assert.equal(stats.sendKbps, 0);
    assert.equal(stats.lossPercent, null, "no packets expected: no loss to speak of");
  });

  it("through TURN: relay ↔ srflx, with how we reach the relay (Firefox marks the pair `selected`)", () => {
    const t = 5000;
    const now = report(
      pair(t, { selected: true, nominated: false }),
      candidate("local", t, "relay", { relayProtocol: "tls", protocol: "udp" }),
      candidate("remote", t, "srflx"),
    );
    const stats = summarizeStats(now);
    assert.deepEqual(stats.route, {
      local: "relay",
      remote: "srflx",
      protocol: "udp",
      relayProtocol: "tls",
    });
    assert.equal(describeStats(stats).route, "relay ↔ srflx (udp, TURN over tls)");
  });

  it("relayProtocol is only reported for our own relay candidate", () => {
    const t = 5000;
    const now = report(
      transport(t),
      pair(t),
      candidate("local", t, "srflx", { relayProtocol: "udp", protocol: "tcp" }),
      candidate("remote", t, "relay"),
    );
    assert.equal(describeStats(summarizeStats(now)).route, "srflx ↔ relay (tcp)");
  });

  it("the transport's selected pair wins over other nominated pairs", () => {
    const t = 5000;
    const now = report(
      transport(t, "CPother"),
      pair(t),
      {
        id: "CPother",
        type: "candidate-pair",
        timestamp: t,
        localCandidateId: "Irelay",
        remoteCandidateId: "Iremote",
        state: "succeeded",
        nominated: true,
        currentRoundTripTime: 0.12,
      },
      { ...candidate("local", t, "relay", { relayProtocol: "udp" }), id: "Irelay" },
      candidate("local", t, "host"),
      candidate("remote", t, "srflx"),
    );
    const stats = summarizeStats(now);
    assert.equal(stats.route?.local, "relay");
    assert.ok(Math.abs((stats.rttMs ?? -1) - 120) < 1e-9);
  });

  it("round trip from RTCP receiver reports while the pair has measured none, and under 10 ms with a decimal", () => {
    const t = 5000;
    const remoteInbound = (id: string, rtt: number): Stat => ({
      id,
      type: "remote-inbound-rtp",
      timestamp: t,
      roundTripTime: rtt,
    });
    const fromRtcp = report(
      transport(t),
      pair(t, { currentRoundTripTime: undefined }),
      remoteInbound("RIA", 0.04),
      remoteInbound("RIV", 0.06),
    );
    assert.equal(describeStats(summarizeStats(fromRtcp)).rtt, "50 ms");
    const lan = report(transport(t), pair(t, { currentRoundTripTime: 0.0004 }));
    assert.equal(describeStats(summarizeStats(lan)).rtt, "0.4 ms");
  });

  it("frame rate from decoded frames where the browser gives no framesPerSecond", () => {
    const noFps = { frameWidth: 1280, frameHeight: 720 };
    const before = report(
      inbound("video", 1000, { bytes: 1, packets: 1, lost: 0 }, { ...noFps, framesDecoded: 300 }),
    );
    const now = report(
      inbound("video", 1500, { bytes: 2, packets: 2, lost: 0 }, { ...noFps, framesDecoded: 312 }),
    );
    const stats: PeerStats = summarizeStats(now, before);
    assert.equal(stats.framesPerSecond, 24);
    assert.deepEqual(stats.resolution, { width: 1280, height: 720 });
    assert.equal(summarizeStats(now).framesPerSecond, null, "one report: no frame rate yet");
  });

  it("with two received videos, the one that brought the most bytes", () => {
    const t = 1000;
    const small = inbound("video", t, { bytes: 10, packets: 1, lost: 0 }, video);
    const big = {
      ...inbound("video", t, { bytes: 9_000_000, packets: 9000, lost: 0 }),
      id: "IT02V",
      frameWidth: 1920,
      frameHeight: 1080,
      framesPerSecond: 5,
    };
    const stats = summarizeStats(report(small, big));
    assert.deepEqual(stats.resolution, { width: 1920, height: 1080 });
    assert.equal(stats.framesPerSecond, 5);
  });

  it("older Chromium's mediaType in place of kind", () => {
    const { kind: _kind, ...old } = inbound(
      "video",
      1000,
      { bytes: 1, packets: 1, lost: 0 },
      video,
    );
    const stats = summarizeStats(report({ ...old, mediaType: "video" }));
    assert.deepEqual(stats.resolution, { width: 640, height: 480 });
  });
});
