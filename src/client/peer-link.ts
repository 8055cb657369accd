import type { IceServer } from "../protocol/index.js";
import { Emitter } from "./emitter.js";
import { SignalroomError } from "./errors.js";
import { type NegotiationSignal, Negotiator } from "./negotiator.js";

export type RTCPeerConnectionConstructor = new (config?: RTCConfiguration) => RTCPeerConnection;

export interface PeerLinkOptions {
  readonly iceServers: readonly IceServer[];
  /** Extra `RTCConfiguration` (e.g. `iceTransportPolicy: "relay"`). */
  readonly rtcConfig?: RTCConfiguration | undefined;
  readonly localStream: MediaStream | null;
  /** Yields on offer collisions; the side that did not offer first. */
  readonly polite: boolean;
  /** Whether this side sends the first offer (the later joiner does). */
  readonly mayOfferFirst: boolean;
  /** Hands a signal to the transport; a throw becomes an `error` event. */
  readonly send: (signal: NegotiationSignal) => void;
  readonly RTCPeerConnection?: RTCPeerConnectionConstructor | undefined;
  /**
   * How long ICE may stay `disconnected` before the link restarts it, in
   * ms; `failed` restarts at once. Default 4000.
   */
  readonly iceRestartDelayMs?: number | undefined;
}

export interface PeerLinkEvents {
  /** The remote media, once its first track arrives (and again as tracks are added). */
  stream: MediaStream;
  "connection-state": RTCPeerConnectionState;
  /** A STUN/TURN server refused or failed us, e.g. 401 for bad TURN credentials. */
  "ice-error": { url: string; errorCode: number; errorText: string };
  /** The link restarted ICE (new credentials, a new offer) because ICE failed or stalled. */
  "ice-restart": { iceConnectionState: RTCIceConnectionState };
  error: SignalroomError;
}

/**
 * One `RTCPeerConnection` to one remote peer, negotiated with the perfect
 * negotiation pattern. The call helpers own one (1:1) or one per remote
 * peer (mesh); this class knows nothing of rooms or signaling transport.
 *
 * It also keeps the connection alive: when ICE fails, or stays
 * `disconnected` for `iceRestartDelayMs`, it restarts ICE (perfect
 * negotiation then sends an offer with new credentials). A restart needs
 * signaling, so while the owner says signaling is down
 * ({@link setSignalingUp}) it waits and restarts once it is back.
 */
export class PeerLink extends Emitter<PeerLinkEvents> {
  readonly pc: RTCPeerConnection;
  readonly #negotiator: Negotiator;
  readonly #iceRestartDelayMs: number;
  #remoteStream: MediaStream | null = null;
  #closed = false;
  #signalingUp = true;
  #restartPending = false;
  #disconnectedTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(opts: PeerLinkOptions) {
    super();
    const Ctor =
      opts.RTCPeerConnection ??
      (globalThis as { RTCPeerConnection?: RTCPeerConnectionConstructor }).RTCPeerConnection;
    if (!Ctor) throw new SignalroomError("webrtc-failed", "this browser has no RTCPeerConnection");
    const pc = new Ctor({ ...opts.rtcConfig, iceServers: [...opts.iceServers] as RTCIceServer[] });
    this.pc = pc;
    this.#negotiator = new Negotiator(pc, {
      polite: opts.polite,
      mayOfferFirst: opts.mayOfferFirst,
      send: (signal) => {
        try {
          opts.send(signal);
        } catch (error) {
          this.emit(
            "error",
            error instanceof SignalroomError
              ? error
              : new SignalroomError("not-connected", "cannot send a signal", { cause: error }),
          );
        }
      },
      onError: (error) =>
        this.emit(
          "error",
          new SignalroomError("webrtc-failed", "negotiation failed", { cause: error }),
        ),
    });
    pc.addEventListener("track", (event) => {
      let stream = event.streams[0];
      if (!stream) {
        // A sender without a stream (some clients do that): collect its tracks ourselves.
        stream = this.#remoteStream ?? new MediaStream();
        stream.addTrack(event.track);
      }
      this.#remoteStream = stream;
      this.emit("stream", stream);
    });
    pc.addEventListener("icecandidateerror", (event) => {
      const e = event as RTCPeerConnectionIceErrorEvent;
      this.emit("ice-error", { url: e.url, errorCode: e.errorCode, errorText: e.errorText });
    });
    pc.addEventListener("connectionstatechange", () => {
      if (!this.#closed) this.emit("connection-state", pc.connectionState);
    });
    this.#iceRestartDelayMs = opts.iceRestartDelayMs ?? 4000;
    pc.addEventListener("iceconnectionstatechange", this.#onIceState);
    const stream = opts.localStream;
    for (const track of stream?.getTracks() ?? []) pc.addTrack(track, stream as MediaStream);
  }

  get remoteStream(): MediaStream | null {
    return this.#remoteStream;
  }

  /** Feeds a remote description or candidate in. */
  receive(signal: NegotiationSignal): Promise<void> {
    return this.#negotiator.receive(signal);
  }

  /** Adds a track to send (renegotiates). */
  addTrack(track: MediaStreamTrack, stream: MediaStream): RTCRtpSender {
    return this.pc.addTrack(track, stream);
  }

  /** Stops sending `track` (renegotiates); false when it was not being sent. */
  removeTrack(track: MediaStreamTrack): boolean {
    const sender = this.pc.getSenders().find((s) => s.track === track);
    if (!sender) return false;
    this.pc.removeTrack(sender);
    return true;
  }

  /**
   * Replaces what is sent for `kind` without renegotiation; false when
   * nothing of that kind is being sent.
   */
  async replaceTrack(kind: "audio" | "video", track: MediaStreamTrack | null): Promise<boolean> {
    const sender = this.pc
      .getSenders()
      .find((s) => s.track?.kind === kind || (s.track === null && track?.kind === kind));
    if (!sender) return false;
    await sender.replaceTrack(track);
    return true;
  }

  /**
   * Restarts ICE: new credentials and candidates, negotiated by a new offer
   * (glare is handled by perfect negotiation). While signaling is down
   * the restart waits for {@link setSignalingUp}(true).
   */
  restartIce(): void {
    if (this.#closed) return;
    if (!this.#signalingUp) {
      this.#restartPending = true;
      return;
    }
    this.#restartPending = false;
    this.emit("ice-restart", { iceConnectionState: this.pc.iceConnectionState });
    this.pc.restartIce();
  }

  /**
   * Tells the link whether signaling can carry its offers now (the owner
   * follows the signaling client's reconnects). Coming back up runs an
   * ICE restart that waited for it.
   */
  setSignalingUp(up: boolean): void {
    this.#signalingUp = up;
    if (up && this.#restartPending) this.restartIce();
  }

  /** New ICE servers (fresh TURN credentials) for what ICE gathers from now on. */
  setIceServers(iceServers: readonly IceServer[]): void {
    if (this.#closed) return;
    try {
      this.pc.setConfiguration({
        ...this.pc.getConfiguration(),
        iceServers: [...iceServers] as RTCIceServer[],
      });
    } catch {
      // A browser that refuses the change keeps the old servers; ICE may still recover.
    }
  }

  #onIceState = (): void => {
    if (this.#closed) return;
    const state = this.pc.iceConnectionState;
    if (state !== "disconnected") this.#clearDisconnectedTimer();
    if (state === "failed") this.restartIce();
    else if (state === "disconnected") {
      // Disconnected often heals by itself within a few seconds (a lost
      // burst of packets); only a lasting one is worth a restart.
      this.#disconnectedTimer ??= setTimeout(() => {
        this.#disconnectedTimer = null;
        if (this.pc.iceConnectionState === "disconnected") this.restartIce();
      }, this.#iceRestartDelayMs);
    } else if (state === "connected" || state === "completed") {
      this.#restartPending = false;
    }
  };

  #clearDisconnectedTimer(): void {
    if (this.#disconnectedTimer) clearTimeout(this.#disconnectedTimer);
    this.#disconnectedTimer = null;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearDisconnectedTimer();
    this.pc.removeEventListener("iceconnectionstatechange", this.#onIceState);
    this.#negotiator.close();
    this.pc.close();
    this.removeAllListeners();
  }
}
