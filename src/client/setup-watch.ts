import {
  CANDIDATE_PROTOCOLS,
  CANDIDATE_TYPES,
  type CallFailureReason,
  type CandidateProtocol,
  type CandidateType,
  MAX_ICE_RESTARTS,
  MAX_SETUP_MS,
  RELAY_PROTOCOLS,
  type RelayProtocol,
} from "../protocol/index.js";
import type { CallReport, DistributiveOmit } from "./requests.js";
import type { SignalingClient } from "./signaling-client.js";

/** How a peer connection's setup ended: a `call-report` without the peer. */
export type SetupOutcome = DistributiveOmit<CallReport, "peerId">;

/**
 * What both calls do with a connection's outcome: the event first, then,
 * unless `reportCalls` is false, the report to the server. A refusal (they
 * left as it went, an older server) is telemetry lost, nothing more.
 */
export function deliverCallReport(
  report: CallReport,
  emit: (report: CallReport) => void,
  signaling: SignalingClient,
  reportCalls: boolean | undefined,
): void {
  emit(report);
  if (reportCalls === false) return;
  signaling.reportCall(report).catch(() => {});
}

/** Default of `setupTimeoutMs`: a connection not up by then is reported as failed. */
export const DEFAULT_SETUP_TIMEOUT_MS = 30_000;

/**
 * Watches one `RTCPeerConnection` from its start to its first `connected`
 * (or to `timeoutMs` without one) and says once how that went: the
 * selected candidate pair's types and protocols, or why it never
 * connected. What it keeps are flags and counts, never addresses, so the
 * report can go to the server as it is.
 *
 * Failure is only called at the timeout: ICE that fails is restarted, and
 * a connection that comes up after a restart is a connected call (with
 * `iceRestarts`), not a failed one. The reason is the most specific thing
 * seen by then: a TURN server refusing our credentials, TURN configured
 * but no relay candidate, ICE failing, or nothing but time passing.
 */
export class SetupWatch {
  readonly #pc: RTCPeerConnection;
  readonly #startedAt = performance.now();
  readonly #onOutcome: (outcome: SetupOutcome) => void;
  readonly #timer: ReturnType<typeof setTimeout>;
  #done = false;
  #iceRestarts = 0;
  #iceFailed = false;
  #turnUnauthorized = false;
  #relayGathered = false;

  constructor(
    pc: RTCPeerConnection,
    timeoutMs: number,
    onOutcome: (outcome: SetupOutcome) => void,
  ) {
    this.#pc = pc;
    this.#onOutcome = onOutcome;
    pc.addEventListener("icecandidate", this.#onCandidate);
    pc.addEventListener("iceconnectionstatechange", this.#onIceState);
    pc.addEventListener("connectionstatechange", this.#onState);
    this.#timer = setTimeout(() => this.#fail(), Math.min(timeoutMs, MAX_SETUP_MS));
    // In Node (tests, bots) a watch alone must not keep the process alive.
    (this.#timer as { unref?: () => void }).unref?.();
  }

  /** The link restarted ICE. */
  iceRestarted(): void {
    if (this.#iceRestarts < MAX_ICE_RESTARTS) this.#iceRestarts++;
  }

  /** A STUN/TURN server answered with an error (`icecandidateerror`). */
  iceError(url: string, errorCode: number): void {
    if (errorCode === 401 && /^turns?:/i.test(url)) this.#turnUnauthorized = true;
  }

  /** Stops watching without a report (the connection is closed). */
  stop(): void {
    if (this.#done) return;
    this.#done = true;
    this.#detach();
  }

  #onCandidate = (event: RTCPeerConnectionIceEvent): void => {
    const candidate = event.candidate;
    if (candidate && (candidate.type === "relay" || / typ relay /.test(candidate.candidate))) {
      this.#relayGathered = true;
    }
  };

  #onIceState = (): void => {
    if (this.#pc.iceConnectionState === "failed") this.#iceFailed = true;
  };

  #onState = (): void => {
    if (this.#pc.connectionState !== "connected" || this.#done) return;
    this.#done = true;
    this.#detach();
    const setupMs = this.#elapsed();
    const iceRestarts = this.#iceRestarts;
    selectedPair(this.#pc).then(
      (pair) => {
        // Without a selected pair there is nothing true to say about it.
        if (pair) this.#onOutcome({ outcome: "connected", setupMs, iceRestarts, ...pair });
      },
      () => {},
    );
  };

  #fail(): void {
    if (this.#done) return;
    this.#done = true;
    this.#detach();
    this.#onOutcome({
      outcome: "failed",
      setupMs: this.#elapsed(),
      iceRestarts: this.#iceRestarts,
      reason: this.#reason(),
    });
  }

  #reason(): CallFailureReason {
    if (this.#turnUnauthorized) return "turn-unauthorized";
    if (turnConfigured(this.#pc) && !this.#relayGathered) return "no-relay-candidates";
    if (this.#iceFailed) return "ice-failed";
    return "timeout";
  }

  #elapsed(): number {
    return Math.min(Math.round(performance.now() - this.#startedAt), MAX_SETUP_MS);
  }

  #detach(): void {
    clearTimeout(this.#timer);
    this.#pc.removeEventListener("icecandidate", this.#onCandidate);
    this.#pc.removeEventListener("iceconnectionstatechange", this.#onIceState);
    this.#pc.removeEventListener("connectionstatechange", this.#onState);
  }
}

interface SelectedPair {
  local: CandidateType;
  remote: CandidateType;
  protocol: CandidateProtocol;
  relayProtocol?: RelayProtocol;
}

/** The types and protocols of the candidate pair in use, from `getStats()`. */
async function selectedPair(pc: RTCPeerConnection): Promise<SelectedPair | null> {
  const stats = await pc.getStats();
  let pair: Record<string, unknown> | undefined;
  stats.forEach((entry: Record<string, unknown>) => {
    if (entry.type === "transport" && typeof entry.selectedCandidatePairId === "string") {
      pair ??= stats.get(entry.selectedCandidatePairId);
    }
  });
  // Firefox names no selected pair on the transport: the nominated, working one is it.
  stats.forEach((entry: Record<string, unknown>) => {
    if (
      entry.type === "candidate-pair" &&
      entry.nominated === true &&
      entry.state === "succeeded"
    ) {
      pair ??= entry;
    }
  });
  if (!pair) return null;
  const local = stats.get(String(pair.localCandidateId)) as Record<string, unknown> | undefined;
  const remote = stats.get(String(pair.remoteCandidateId)) as Record<string, unknown> | undefined;
  const localType = oneOf(CANDIDATE_TYPES, local?.candidateType);
  const remoteType = oneOf(CANDIDATE_TYPES, remote?.candidateType);
  const protocol = oneOf(CANDIDATE_PROTOCOLS, local?.protocol);
  if (!localType || !remoteType || !protocol) return null;
  const relayProtocol =
    localType === "relay" ? oneOf(RELAY_PROTOCOLS, local?.relayProtocol) : undefined;
  return {
    local: localType,
    remote: remoteType,
    protocol,
    ...(relayProtocol ? { relayProtocol } : {}),
  };
}

function oneOf<T extends string>(values: readonly T[], value: unknown): T | undefined {
  return values.find((v) => v === value);
}

/** Whether the connection was given a TURN server (so relay candidates were expected). */
function turnConfigured(pc: RTCPeerConnection): boolean {
  const servers = pc.getConfiguration().iceServers ?? [];
  return servers.some((server) =>
    (Array.isArray(server.urls) ? server.urls : [server.urls]).some((url) => /^turns?:/i.test(url)),
  );
}
