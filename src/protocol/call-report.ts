import { z } from "zod";
import { peerIdSchema } from "./messages.js";

/**
 * `call-report`: how one peer connection of the sender's came to be (or
 * failed to), sent once per remote peer by the SDK. It carries candidate
 * types and protocols, never addresses or SDP, so the server learns how
 * calls connect (how many need TURN, how long setup takes) without learning
 * where anybody is. Every field is a closed set or a bounded number; the
 * server reads these fields only and ignores (never logs) any other.
 */

/** ICE candidate types, as `RTCIceCandidateStats.candidateType` names them. */
export const CANDIDATE_TYPES = ["host", "srflx", "prflx", "relay"] as const;
export type CandidateType = (typeof CANDIDATE_TYPES)[number];

/** Transport of the selected candidate pair. */
export const CANDIDATE_PROTOCOLS = ["udp", "tcp"] as const;
export type CandidateProtocol = (typeof CANDIDATE_PROTOCOLS)[number];

/** How a relay candidate reaches its TURN server. */
export const RELAY_PROTOCOLS = ["udp", "tcp", "tls"] as const;
export type RelayProtocol = (typeof RELAY_PROTOCOLS)[number];

/**
 * Why a connection never connected, most specific first:
 * `turn-unauthorized`, a TURN server refused the credentials (401);
 * `no-relay-candidates`, TURN was configured but gave no relay candidate;
 * `ice-failed`, ICE tried every pair and failed; `timeout`, nothing of the
 * above, but not connected in time.
 */
export const CALL_FAILURE_REASONS = [
  "turn-unauthorized",
  "no-relay-candidates",
  "ice-failed",
  "timeout",
] as const;
export type CallFailureReason = (typeof CALL_FAILURE_REASONS)[number];

/** A report whose text is longer than this is refused unread. */
export const MAX_CALL_REPORT_BYTES = 1024;
/** Longest setup time a report may claim: five minutes. */
export const MAX_SETUP_MS = 300_000;
/** Most ICE restarts a report may claim. */
export const MAX_ICE_RESTARTS = 1000;

const common = {
  type: z.literal("call-report"),
  /** The remote peer of the connection reported. */
  peerId: peerIdSchema,
  /** From the moment this side learnt of the other to connected (or to giving up). */
  setupMs: z.number().min(0).max(MAX_SETUP_MS),
  iceRestarts: z.number().int().min(0).max(MAX_ICE_RESTARTS),
};

const connectedReportSchema = z
  .looseObject({
    ...common,
    outcome: z.literal("connected"),
    local: z.enum(CANDIDATE_TYPES),
    remote: z.enum(CANDIDATE_TYPES),
    protocol: z.enum(CANDIDATE_PROTOCOLS),
    /** Only when `local` is `relay`. */
    relayProtocol: z.enum(RELAY_PROTOCOLS).optional(),
  })
  .refine((report) => report.relayProtocol === undefined || report.local === "relay", {
    message: "relayProtocol is only for a relay local candidate",
    path: ["relayProtocol"],
  });

const failedReportSchema = z.looseObject({
  ...common,
  outcome: z.literal("failed"),
  reason: z.enum(CALL_FAILURE_REASONS),
});

export const callReportSchema = z.discriminatedUnion("outcome", [
  connectedReportSchema,
  failedReportSchema,
]);
export type CallReportMessage = z.infer<typeof callReportSchema>;
