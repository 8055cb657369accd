import type {
  AnswerMessage,
  IceMessage,
  OfferMessage,
  RelayedMessage,
  RTCIceCandidateInitLike,
} from "../protocol/index.js";
import type { NegotiationSignal } from "./negotiator.js";

/** Our wire shape of a negotiation signal. */
export function relayFromSignal(
  signal: NegotiationSignal,
  to?: string,
): OfferMessage | AnswerMessage | IceMessage {
  const target = to === undefined ? {} : { to };
  if (signal.kind === "candidate") return { type: "ice", candidate: signal.candidate, ...target };
  return { type: signal.type, sdp: signal.sdp, ...target };
}

/**
 * Reads a relayed offer/answer/ice. Besides our own shape (`sdp` a string,
 * `candidate` an object), accepts what clients of the origin design send:
 * `sdp` as a whole `RTCSessionDescriptionInit` and `candidate` as a string.
 * Returns null for a payload it cannot use.
 */
export function signalFromRelay(
  message: RelayedMessage<"offer" | "answer" | "ice">,
): NegotiationSignal | null {
  if (message.type === "ice") {
    const candidate = message.candidate;
    if (candidate === null || candidate === undefined)
      return { kind: "candidate", candidate: null };
    if (typeof candidate === "string")
      return { kind: "candidate", candidate: { candidate, sdpMid: "0", sdpMLineIndex: 0 } };
    if (typeof candidate === "object")
      return { kind: "candidate", candidate: candidate as RTCIceCandidateInitLike };
    return null;
  }
  const raw = message.sdp;
  const sdp =
    typeof raw === "string"
      ? raw
      : typeof raw === "object" && raw !== null
        ? (raw as { sdp?: unknown }).sdp
        : undefined;
  if (typeof sdp !== "string") return null;
  return { kind: "description", type: message.type, sdp };
}
