/*
 * What the stats panel says about one connection, from two successive
 * `RTCPeerConnection.getStats()` reports. Pure (no DOM, no clock), so the
 * arithmetic is tested without a browser; stats-panel.ts does the polling.
 */

/** A getStats() report as far as we read it: an `RTCStatsReport` and a plain `Map` both fit. */
export interface StatsReportLike {
  forEach(callback: (value: unknown, key: string) => void): void;
}

/** The candidate pair media flows over. */
export interface CandidateRoute {
  /** `host`, `srflx`, `prflx` or `relay`. */
  readonly local: string;
  readonly remote: string;
  /** Our candidate's transport, `udp` or `tcp`. */
  readonly protocol: string | null;
  /** How we reach the TURN server (`udp`, `tcp`, `tls`) when our candidate is a relay one. */
  readonly relayProtocol: string | null;
}

/** One remote person's connection; null is "not known yet". */
export interface PeerStats {
  readonly rttMs: number | null;
  /** Media (RTP) bitrates over the interval between the two reports, in kbit/s. */
  readonly receiveKbps: number | null;
  readonly sendKbps: number | null;
  /** Inbound packets lost between the two reports, 0–100. */
  readonly lossPercent: number | null;
  /** Inbound packets lost since the connection started, 0–100. */
  readonly lossPercentTotal: number | null;
  /** Their video as we receive it (after their encoder scaled it, if it did). */
  readonly resolution: { readonly width: number; readonly height: number } | null;
  readonly framesPerSecond: number | null;
  readonly route: CandidateRoute | null;
}

type Stat = Readonly<Record<string, unknown>> & { readonly type: string };

function indexReport(report: StatsReportLike): Map<string, Stat> {
  const byId = new Map<string, Stat>();
  report.forEach((value, key) => {
    if (typeof value !== "object" || value === null) return;
    const stat = value as Record<string, unknown>;
    if (typeof stat.type !== "string") return;
    byId.set(typeof stat.id === "string" ? stat.id : key, stat as Stat);
  });
  return byId;
}

function num(stat: Stat | undefined, field: string): number | null {
  const value = stat?.[field];
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function str(stat: Stat | undefined, field: string): string | null {
  const value = stat?.[field];
  return typeof value === "string" && value !== "" ? value : null;
}

function ofType(byId: Map<string, Stat>, type: string): [string, Stat][] {
  return [...byId].filter(([, stat]) => stat.type === type);
}

/** Older Chromium calls `kind` `mediaType`. */
function kindOf(stat: Stat): string | null {
  return str(stat, "kind") ?? str(stat, "mediaType");
}

/**
 * The pair in use: the transport names it (the standard way); Firefox
 * marks it `selected` instead; failing both, a nominated pair that works.
 */
function selectedPair(byId: Map<string, Stat>): Stat | undefined {
  for (const [, transport] of ofType(byId, "transport")) {
    const pairId = str(transport, "selectedCandidatePairId");
    const pair = pairId === null ? undefined : byId.get(pairId);
    if (pair?.type === "candidate-pair") return pair;
  }
  const pairs = ofType(byId, "candidate-pair").map(([, pair]) => pair);
  return (
    pairs.find((pair) => pair.selected === true) ??
    pairs.find((pair) => pair.nominated === true && pair.state === "succeeded")
  );
}

/**
 * kbit/s of `field` summed over the streams of `type`. Each stream is
 * matched to itself in the previous report by id: a stream that appears
 * between two polls (a track negotiated in) would otherwise count all its
 * bytes so far as one interval's worth.
 */
function rateKbps(
  now: Map<string, Stat>,
  before: Map<string, Stat>,
  type: string,
  field: string,
): number | null {
  let kbps = 0;
  let matched = false;
  for (const [id, stat] of ofType(now, type)) {
    const earlier = before.get(id);
    const bytes = num(stat, field);
    const bytesBefore = num(earlier, field);
    const ms = num(stat, "timestamp");
    const msBefore = num(earlier, "timestamp");
    if (bytes === null || bytesBefore === null || ms === null || msBefore === null) continue;
    if (ms <= msBefore || bytes < bytesBefore) continue;
    // Bits per millisecond are kilobits per second.
    kbps += ((bytes - bytesBefore) * 8) / (ms - msBefore);
    matched = true;
  }
  if (matched) return kbps;
  // Two reports and no stream of this direction in either: nothing flows, which is a known 0.
  return ofType(now, type).length === 0 && ofType(before, type).length === 0 ? 0 : null;
}

function lossPercent(lost: number, received: number): number | null {
  const expected = lost + received;
  return expected > 0 ? (100 * lost) / expected : null;
}

function intervalLoss(now: Map<string, Stat>, before: Map<string, Stat>): number | null {
  let lost = 0;
  let received = 0;
  let matched = false;
  for (const [id, stat] of ofType(now, "inbound-rtp")) {
    const earlier = before.get(id);
    const lostNow = num(stat, "packetsLost");
    const lostBefore = num(earlier, "packetsLost");
    const receivedNow = num(stat, "packetsReceived");
    const receivedBefore = num(earlier, "packetsReceived");
    if (lostNow === null || lostBefore === null || receivedNow === null || receivedBefore === null)
      continue;
    // packetsLost goes down when late duplicates arrive; a negative loss is no loss.
    lost += Math.max(0, lostNow - lostBefore);
    received += Math.max(0, receivedNow - receivedBefore);
    matched = true;
  }
  return matched ? lossPercent(lost, received) : null;
}

function totalLoss(now: Map<string, Stat>): number | null {
  let lost = 0;
  let received = 0;
  for (const [, stat] of ofType(now, "inbound-rtp")) {
    lost += Math.max(0, num(stat, "packetsLost") ?? 0);
    received += num(stat, "packetsReceived") ?? 0;
  }
  return lossPercent(lost, received);
}

/** Seconds in getStats, milliseconds on screen. */
function roundTripMs(now: Map<string, Stat>, pair: Stat | undefined): number | null {
  const current = num(pair, "currentRoundTripTime");
  if (current !== null) return current * 1000;
  // No STUN round trip measured yet: what RTCP receiver reports say, averaged over the streams.
  const rtts = ofType(now, "remote-inbound-rtp")
    .map(([, stat]) => num(stat, "roundTripTime"))
    .filter((rtt) => rtt !== null);
  return rtts.length > 0 ? (1000 * rtts.reduce((a, b) => a + b, 0)) / rtts.length : null;
}

/** The inbound video stream with a picture; with several, the one that brought the most. */
function receivedVideo(now: Map<string, Stat>): [string, Stat] | undefined {
  return ofType(now, "inbound-rtp")
    .filter(([, stat]) => kindOf(stat) === "video" && num(stat, "frameWidth") !== null)
    .sort(([, a], [, b]) => (num(b, "bytesReceived") ?? 0) - (num(a, "bytesReceived") ?? 0))[0];
}

/** `framesPerSecond` where the browser gives it, else decoded frames over the interval. */
function frameRate(id: string, video: Stat, before: Map<string, Stat>): number | null {
  const given = num(video, "framesPerSecond");
  if (given !== null) return given;
  const earlier = before.get(id);
  const frames = num(video, "framesDecoded");
  const framesBefore = num(earlier, "framesDecoded");
  const ms = num(video, "timestamp");
  const msBefore = num(earlier, "timestamp");
  if (frames === null || framesBefore === null || ms === null || msBefore === null) return null;
  return ms > msBefore && frames >= framesBefore
    ? (1000 * (frames - framesBefore)) / (ms - msBefore)
    : null;
}

function routeOf(byId: Map<string, Stat>, pair: Stat | undefined): CandidateRoute | null {
  const localId = str(pair, "localCandidateId");
  const remoteId = str(pair, "remoteCandidateId");
  const local = localId === null ? undefined : byId.get(localId);
  const remote = remoteId === null ? undefined : byId.get(remoteId);
  const localType = str(local, "candidateType");
  const remoteType = str(remote, "candidateType");
  if (localType === null || remoteType === null) return null;
  return {
    local: localType,
    remote: remoteType,
    protocol: str(local, "protocol"),
    relayProtocol: localType === "relay" ? str(local, "relayProtocol") : null,
  };
}

/**
 * Summarises `now`. Rates and the interval's loss need `before`, the
 * same connection's previous report; without it they are null.
 */
export function summarizeStats(now: StatsReportLike, before?: StatsReportLike | null): PeerStats {
  const current = indexReport(now);
  const previous = before ? indexReport(before) : null;
  const pair = selectedPair(current);
  const video = receivedVideo(current);
  const width = num(video?.[1], "frameWidth");
  const height = num(video?.[1], "frameHeight");
  return {
    rttMs: roundTripMs(current, pair),
    receiveKbps: previous && rateKbps(current, previous, "inbound-rtp", "bytesReceived"),
    sendKbps: previous && rateKbps(current, previous, "outbound-rtp", "bytesSent"),
    lossPercent: previous && intervalLoss(current, previous),
    lossPercentTotal: totalLoss(current),
    resolution: width !== null && height !== null && width > 0 ? { width, height } : null,
    framesPerSecond: video ? frameRate(video[0], video[1], previous ?? new Map()) : null,
    route: routeOf(current, pair),
  };
}

/** What is shown where a value is not known yet. */
export const UNKNOWN = "–";

/** The panel's rows, in order: key (also the cell's `data-stat`) and heading. */
export const STAT_ROWS = [
  ["rtt", "Round trip"],
  ["receive", "Receiving"],
  ["send", "Sending"],
  ["loss", "Loss, last second"],
  ["loss-total", "Loss, whole call"],
  ["resolution", "Video received"],
  ["fps", "Frame rate"],
  ["route", "Candidates"],
] as const;

export type StatKey = (typeof STAT_ROWS)[number][0];

function known<T>(value: T | null, text: (value: T) => string): string {
  return value === null ? UNKNOWN : text(value);
}

const percent = (p: number) => `${p.toFixed(1)} %`;
const kbps = (k: number) => `${Math.round(k)} kbit/s`;

/** The panel's text for each row. */
export function describeStats(stats: PeerStats): Record<StatKey, string> {
  return {
    // On a LAN a round trip is well under 10 ms: whole milliseconds would say 0.
    rtt: known(stats.rttMs, (ms) => `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`),
    receive: known(stats.receiveKbps, kbps),
    send: known(stats.sendKbps, kbps),
    loss: known(stats.lossPercent, percent),
    "loss-total": known(stats.lossPercentTotal, percent),
    resolution: known(stats.resolution, ({ width, height }) => `${width}×${height}`),
    fps: known(stats.framesPerSecond, (fps) => `${Math.round(fps)} fps`),
    route: known(stats.route, ({ local, remote, protocol, relayProtocol }) => {
      const via = [protocol, relayProtocol && `TURN over ${relayProtocol}`].filter(Boolean);
      return `${local} ↔ ${remote}${via.length > 0 ? ` (${via.join(", ")})` : ""}`;
    }),
  };
}
