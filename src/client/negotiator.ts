import type { RTCIceCandidateInitLike } from "../protocol/index.js";

/** What a negotiator sends: a description or a candidate (`null` ends gathering). */
export type NegotiationSignal =
  | { kind: "description"; type: "offer" | "answer"; sdp: string }
  | { kind: "candidate"; candidate: RTCIceCandidateInitLike | null };

export interface NegotiatorOptions {
  /** The polite side yields when both sides offer at once. */
  polite: boolean;
  /** Hands a signal to the transport (the signaling client). */
  send: (signal: NegotiationSignal) => void;
  /**
   * Whether this side may send the first offer. The origin design's rule is
   * that only the initiator (the later joiner) opens negotiation; the other
   * side waits for that offer, then may renegotiate freely.
   */
  mayOfferFirst: boolean;
  /** Called when negotiation fails in a way the call cannot recover from. */
  onError?: (error: unknown) => void;
}

/**
 * The perfect-negotiation pattern for one `RTCPeerConnection`: either side
 * may add or replace tracks at any time (screen share, camera switch)
 * without glare. It knows nothing of rooms or sockets: it takes `send`.
 * Remote candidates that arrive before the remote description are held
 * and added once it is set. An ICE restart (`pc.restartIce()`) is just one
 * more negotiation: the offer carries new credentials, collisions resolve
 * like every other, and stale candidates of the old generation are dropped.
 */
export class Negotiator {
  readonly #pc: RTCPeerConnection;
  readonly #opts: NegotiatorOptions;
  #makingOffer = false;
  #ignoreOffer = false;
  #canOffer: boolean;
  #pendingCandidates: (RTCIceCandidateInitLike | null)[] = [];
  #queue: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(pc: RTCPeerConnection, opts: NegotiatorOptions) {
    this.#pc = pc;
    this.#opts = opts;
    this.#canOffer = opts.mayOfferFirst;
    pc.addEventListener("negotiationneeded", this.#onNegotiationNeeded);
    pc.addEventListener("icecandidate", this.#onIceCandidate);
  }

  /** Feeds a remote description or candidate in, in arrival order. */
  receive(signal: NegotiationSignal): Promise<void> {
    this.#queue = this.#queue
      .then(() => this.#receive(signal))
      .catch((error: unknown) => {
        if (!this.#closed) this.#opts.onError?.(error);
      });
    return this.#queue;
  }

  /** Stops listening; the caller closes the connection. */
  close(): void {
    this.#closed = true;
    this.#pc.removeEventListener("negotiationneeded", this.#onNegotiationNeeded);
    this.#pc.removeEventListener("icecandidate", this.#onIceCandidate);
    this.#pendingCandidates = [];
  }

  #onNegotiationNeeded = async (): Promise<void> => {
    if (!this.#canOffer || this.#closed) return;
    try {
      this.#makingOffer = true;
      await this.#pc.setLocalDescription();
      this.#sendLocalDescription();
    } catch (error) {
      if (!this.#closed) this.#opts.onError?.(error);
    } finally {
      this.#makingOffer = false;
    }
  };

  #onIceCandidate = (event: RTCPeerConnectionIceEvent): void => {
    if (this.#closed) return;
    this.#opts.send({
      kind: "candidate",
      candidate: event.candidate ? event.candidate.toJSON() : null,
    });
  };

  async #receive(signal: NegotiationSignal): Promise<void> {
    if (this.#closed) return;
    const pc = this.#pc;
    if (signal.kind === "candidate") {
      if (!pc.remoteDescription) {
        this.#pendingCandidates.push(signal.candidate);
        return;
      }
      await this.#addCandidate(signal.candidate);
      return;
    }
    // Perfect negotiation: an offer that collides with our own is ignored by
    // the impolite side and wins (with an implicit rollback) on the polite
    // one. Signals are handled one at a time, so no answer can be half set.
    const offerCollision =
      signal.type === "offer" && (this.#makingOffer || pc.signalingState !== "stable");
    this.#ignoreOffer = !this.#opts.polite && offerCollision;
    if (this.#ignoreOffer) return;
    await pc.setRemoteDescription({ type: signal.type, sdp: signal.sdp });
    if (signal.type === "offer") {
      // Answer first: a bad held candidate must not cost the call its answer.
      await pc.setLocalDescription();
      this.#sendLocalDescription();
    }
    await this.#flushCandidates();
    // After the first exchange either side may renegotiate; a negotiation
    // the waiting side skipped before then is picked up here.
    if (!this.#canOffer) {
      this.#canOffer = true;
      if (pc.signalingState === "stable") void this.#checkRenegotiation();
    }
  }

  async #checkRenegotiation(): Promise<void> {
    // Tracks added before the first offer arrived were folded into the
    // answer when their kind matched; anything else needs an offer of ours:
    // a track no m-line carries yet, or a transceiver told to send (or to
    // stop) after our answer was made, say a camera that came while the
    // first offer was being answered.
    const sends = (direction: RTCRtpTransceiverDirection | null) =>
      direction === "sendrecv" || direction === "sendonly";
    const unsent = this.#pc.getTransceivers().some((t) => {
      if (t.currentDirection === "stopped" || t.direction === "stopped") return false;
      if (t.mid === null) return t.sender.track !== null;
      return sends(t.direction) !== sends(t.currentDirection);
    });
    if (unsent) await this.#onNegotiationNeeded();
  }

  async #addCandidate(candidate: RTCIceCandidateInitLike | null): Promise<void> {
    try {
      await this.#pc.addIceCandidate(candidate ?? undefined);
    } catch (error) {
      // Candidates for an offer we ignored are expected to fail, and so are
      // late ones of the ICE generation that an ICE restart replaced.
      if (!this.#ignoreOffer && !this.#isStale(candidate)) throw error;
    }
  }

  /** A candidate whose ufrag the current remote description no longer has. */
  #isStale(candidate: RTCIceCandidateInitLike | null): boolean {
    const ufrag = candidate?.usernameFragment;
    const sdp = this.#pc.remoteDescription?.sdp;
    if (!ufrag || !sdp) return false;
    const current = [...sdp.matchAll(/^a=ice-ufrag:(\S+)/gm)].map((m) => m[1]);
    return !current.includes(ufrag);
  }

  /** Adds the candidates held back for want of a remote description; one failure is not fatal. */
  async #flushCandidates(): Promise<void> {
    const pending = this.#pendingCandidates;
    this.#pendingCandidates = [];
    for (const candidate of pending) {
      try {
        await this.#addCandidate(candidate);
      } catch (error) {
        if (!this.#closed) this.#opts.onError?.(error);
      }
    }
  }

  #sendLocalDescription(): void {
    const description = this.#pc.localDescription;
    if (!description || this.#closed) return;
    if (description.type !== "offer" && description.type !== "answer") return;
    this.#opts.send({ kind: "description", type: description.type, sdp: description.sdp });
  }
}
