import type { IceServer } from "../protocol/index.js";
import { Emitter } from "./emitter.js";
import { SignalroomError } from "./errors.js";
import { type NegotiationSignal, Negotiator } from "./negotiator.js";
import { DEFAULT_SETUP_TIMEOUT_MS, type SetupOutcome, SetupWatch } from "./setup-watch.js";

export type RTCPeerConnectionConstructor = new (config?: RTCConfiguration) => RTCPeerConnection;

/** The kinds of media every link negotiates, in this order, whatever the local person sends. */
export const MEDIA_KINDS = ["audio", "video"] as const;
export type MediaKind = (typeof MEDIA_KINDS)[number];

/**
 * `stream` with `track` as its `kind` (or without that kind, for null): what
 * the calls keep as their local stream, for the connections they make later.
 */
export function withTrack(
  stream: MediaStream | null,
  kind: MediaKind,
  track: MediaStreamTrack | null,
): MediaStream | null {
  const current = stream?.getTracks() ?? [];
  const next = [...current.filter((t) => t.kind !== kind), ...(track ? [track] : [])];
  if (next.length === current.length && next.every((t) => current.includes(t))) return stream;
  return next.length > 0 ? new MediaStream(next) : null;
}

export interface PeerLinkOptions {
  readonly iceServers: readonly IceServer[];
  /** Extra `RTCConfiguration` (e.g. `iceTransportPolicy: "relay"`). */
  readonly rtcConfig?: RTCConfiguration | undefined;
  /** What to send; null or a stream without some kind: that kind is received only. */
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
  /**
   * How long the connection may take to connect before its `setup` event
   * says it failed, in ms. Default 30000.
   */
  readonly setupTimeoutMs?: number | undefined;
}

export interface PeerLinkEvents {
  /**
   * The remote media, once its first track arrives, and again (the same
   * stream) each time a track is added to it: every track of the peer is in
   * this one stream.
   */
  stream: MediaStream;
  "connection-state": RTCPeerConnectionState;
  /** A STUN/TURN server refused or failed us, e.g. 401 for bad TURN credentials. */
  "ice-error": { url: string; errorCode: number; errorText: string };
  /** The link restarted ICE (new credentials, a new offer) because ICE failed or stalled. */
  "ice-restart": { iceConnectionState: RTCIceConnectionState };
  /**
   * Once: how the connection came up (the selected pair's candidate types
   * and protocols, the time it took) or, after `setupTimeoutMs` without
   * connecting, why not. What a `call-report` carries.
   */
  setup: SetupOutcome;
  error: SignalroomError;
}

/**
 * One `RTCPeerConnection` to one remote peer, negotiated with the perfect
 * negotiation pattern. The call helpers own one (1:1) or one per remote
 * peer (mesh); this class knows nothing of rooms or signaling transport.
 *
 * Media: a link always negotiates receiving audio and video, whatever the
 * local person sends, so two people connect even when one has no camera
 * and no microphone. Each kind has one transceiver: `sendrecv` with a
 * local track, `recvonly` without one. A track that comes later (a camera
 * plugged in, a permission granted) takes over its kind's transceiver and
 * is negotiated in. Everything a link sends goes out as one stream, and
 * everything it receives is gathered in one stream ({@link remoteStream}).
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
  /** The stream every track is sent in (its id is what the other side groups by); made on demand. */
  #outgoing: MediaStream | null;
  #remoteStream: MediaStream | null = null;
  #closed = false;
  #signalingUp = true;
  #restartPending = false;
  #disconnectedTimer: ReturnType<typeof setTimeout> | null = null;
  readonly #setup: SetupWatch;

  constructor(opts: PeerLinkOptions) {
    super();
    const Ctor =
      opts.RTCPeerConnection ??
      (globalThis as { RTCPeerConnection?: RTCPeerConnectionConstructor }).RTCPeerConnection;
    if (!Ctor) throw new SignalroomError("webrtc-failed", "this browser has no RTCPeerConnection");
    const pc = new Ctor({ ...opts.rtcConfig, iceServers: [...opts.iceServers] as RTCIceServer[] });
    this.pc = pc;
    // Before anything can gather a candidate or change a state.
    this.#setup = new SetupWatch(pc, opts.setupTimeoutMs ?? DEFAULT_SETUP_TIMEOUT_MS, (outcome) => {
      if (!this.#closed) this.emit("setup", outcome);
    });
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
    pc.addEventListener("track", (event) => this.#onTrack(event));
    pc.addEventListener("icecandidateerror", (event) => {
      const e = event as RTCPeerConnectionIceErrorEvent;
      this.#setup.iceError(e.url, e.errorCode);
      this.emit("ice-error", { url: e.url, errorCode: e.errorCode, errorText: e.errorText });
    });
    pc.addEventListener("connectionstatechange", () => {
      if (!this.#closed) this.emit("connection-state", pc.connectionState);
    });
    this.#iceRestartDelayMs = opts.iceRestartDelayMs ?? 4000;
    pc.addEventListener("iceconnectionstatechange", this.#onIceState);
    this.#outgoing = opts.localStream;
    for (const kind of MEDIA_KINDS) {
      const tracks = opts.localStream?.getTracks().filter((t) => t.kind === kind) ?? [];
      for (const track of tracks) pc.addTrack(track, opts.localStream as MediaStream);
      // The side that offers first asks to receive each kind it does not
      // send: with nothing at all to negotiate, `negotiationneeded` would
      // never fire and no offer would ever be made. The waiting side adds
      // none: the offer brings audio and video, and a transceiver made by
      // addTransceiver (unlike one made by addTrack) is never matched to an
      // offer's m-line, so it would only be negotiated again as a second one.
      if (tracks.length === 0 && opts.mayOfferFirst) {
        const streams = opts.localStream ? [opts.localStream] : [];
        pc.addTransceiver(kind, { direction: "recvonly", streams });
      }
    }
  }

  get remoteStream(): MediaStream | null {
    return this.#remoteStream;
  }

  /** Feeds a remote description or candidate in. */
  receive(signal: NegotiationSignal): Promise<void> {
    return this.#negotiator.receive(signal);
  }

  /**
   * Sends one more track. When its kind has a transceiver that sends
   * nothing (received only, or its track was removed), the track takes it
   * over; otherwise a new one is added. Either way the link renegotiates.
   * The track goes out in the link's one stream, whatever `stream` is, so
   * the other side keeps seeing one stream for this person.
   */
  addTrack(track: MediaStreamTrack, _stream?: MediaStream): RTCRtpSender {
    const idle = this.#transceivers(track.kind).find((t) => t.sender.track === null);
    if (idle) {
      this.#sendOn(idle, track).catch((error: unknown) => this.#fail("cannot send a track", error));
      return idle.sender;
    }
    const stream = this.#outgoingStream();
    return stream ? this.pc.addTrack(track, stream) : this.pc.addTrack(track);
  }

  /** Stops sending `track` (renegotiates; its kind is still received); false when it was not being sent. */
  removeTrack(track: MediaStreamTrack): boolean {
    const sender = this.pc.getSenders().find((s) => s.track === track);
    if (!sender) return false;
    this.pc.removeTrack(sender);
    return true;
  }

  /**
   * Replaces what is sent for `kind`. While a track of that kind is being
   * sent this needs no renegotiation (camera switch, screen share in place
   * of the camera; `null` stops sending and keeps the slot). When none is,
   * `track` is negotiated in, as with {@link addTrack}. False only when
   * `track` is null and nothing of that kind was being sent.
   */
  async replaceTrack(kind: MediaKind, track: MediaStreamTrack | null): Promise<boolean> {
    if (track !== null && track.kind !== kind) {
      throw new SignalroomError("webrtc-failed", `a ${track.kind} track cannot be sent as ${kind}`);
    }
    const transceivers = this.#transceivers(kind);
    const sending = transceivers.find((t) => t.sender.track !== null);
    if (sending) {
      await sending.sender.replaceTrack(track);
      return true;
    }
    if (track === null) return false;
    const idle = transceivers[0];
    if (idle) await this.#sendOn(idle, track);
    else this.addTrack(track);
    return true;
  }

  /**
   * Sends `stream`'s tracks instead of what was sent: for each kind, its
   * first track replaces the one being sent, or is negotiated in when none
   * was; a kind the stream lacks stops being sent (still received).
   */
  async setLocalStream(stream: MediaStream | null): Promise<void> {
    for (const kind of MEDIA_KINDS) {
      const track = stream?.getTracks().find((t) => t.kind === kind) ?? null;
      await this.replaceTrack(kind, track);
    }
  }

  /** The transceivers of `kind` that are not stopped. */
  #transceivers(kind: string): RTCRtpTransceiver[] {
    return this.pc
      .getTransceivers()
      .filter(
        (t) =>
          t.receiver.track.kind === kind &&
          t.direction !== "stopped" &&
          t.currentDirection !== "stopped",
      );
  }

  /**
   * Starts sending `track` on a transceiver that sent nothing: the track,
   * the link's stream, and `sendrecv`, whose change of direction makes the
   * connection renegotiate (the offer waits for the track to be set).
   */
  #sendOn(transceiver: RTCRtpTransceiver, track: MediaStreamTrack): Promise<void> {
    const replaced = transceiver.sender.replaceTrack(track);
    const stream = this.#outgoingStream();
    // A transceiver the other side's offer made has no stream of ours yet.
    if (stream && typeof transceiver.sender.setStreams === "function") {
      transceiver.sender.setStreams(stream);
    }
    if (transceiver.direction !== "sendrecv") transceiver.direction = "sendrecv";
    return replaced;
  }

  /** The stream every track is sent in: the local stream, or one made for the purpose. */
  #outgoingStream(): MediaStream | null {
    if (!this.#outgoing && typeof MediaStream === "function") this.#outgoing = new MediaStream();
    return this.#outgoing;
  }

  /**
   * Gathers every remote track in one stream: the first track's own (or a
   * new one, for a sender without a stream), to which tracks that arrive
   * in another stream (other clients may do that) are added.
   */
  #onTrack({ track, streams }: RTCTrackEvent): void {
    if (this.#closed) return;
    const stream = this.#remoteStream ?? streams[0] ?? new MediaStream();
    this.#remoteStream = stream;
    if (!stream.getTracks().includes(track)) {
      stream.addTrack(track);
      // When the sender takes it out of its stream, it leaves ours too.
      for (const theirs of streams) {
        theirs.addEventListener("removetrack", (event) => {
          if (event.track === track) stream.removeTrack(track);
        });
      }
    }
    this.emit("stream", stream);
  }

  #fail(message: string, error: unknown): void {
    if (this.#closed) return;
    this.emit("error", new SignalroomError("webrtc-failed", message, { cause: error }));
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
    this.#setup.iceRestarted();
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
    this.#setup.stop();
    this.#clearDisconnectedTimer();
    this.pc.removeEventListener("iceconnectionstatechange", this.#onIceState);
    this.#negotiator.close();
    this.pc.close();
    this.removeAllListeners();
  }
}
