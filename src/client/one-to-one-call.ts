import type {
  IceServer,
  JoinedMessage,
  PeerLeftReason,
  RelayedMessage,
  ResumedMessage,
} from "../protocol/index.js";
import { Emitter } from "./emitter.js";
import { SignalroomError } from "./errors.js";
import {
  type MediaKind,
  PeerLink,
  type RTCPeerConnectionConstructor,
  withTrack,
} from "./peer-link.js";
import type { CallReport } from "./requests.js";
import { deliverCallReport } from "./setup-watch.js";
import type { SignalingClient } from "./signaling-client.js";
import { relayFromSignal, signalFromRelay } from "./wire.js";

export type { RTCPeerConnectionConstructor };

export interface OneToOneCallOptions {
  /** A connected client; the call follows its room. */
  signaling: SignalingClient;
  /**
   * Tracks to send; null (the default) or a stream without audio or video
   * still receives both. Change it later with {@link OneToOneCall.setLocalStream}.
   */
  localStream?: MediaStream | null;
  /** ICE servers; by default those the server sent in `joined`. */
  iceServers?: IceServer[];
  /** Extra `RTCConfiguration` (e.g. `iceTransportPolicy: "relay"`). */
  rtcConfig?: RTCConfiguration;
  /** Defaults to the global `RTCPeerConnection`. */
  RTCPeerConnection?: RTCPeerConnectionConstructor;
  /**
   * Sends the server a `call-report` for each peer connection, once it
   * connects or fails (its candidate types and setup time; never addresses
   * or SDP), for the operator's metrics. Default true. The
   * `call-report` event fires either way.
   */
  reportCalls?: boolean;
  /** How long a peer connection may take to connect before it is reported as failed, in ms. Default 30000. */
  setupTimeoutMs?: number;
}

/** State of the call as a person would name it. */
export type CallState =
  /** Not started yet. */
  | "idle"
  /** In the room, alone: waiting for the other person. */
  | "waiting"
  /** Both are there; WebRTC is negotiating and checking connectivity. */
  | "connecting"
  | "connected"
  /** Media stopped flowing; ICE may still recover. */
  | "disconnected"
  | "failed"
  /** The other person left; waiting for someone to join again. */
  | "peer-left"
  /** We hung up, or the client was closed. */
  | "ended";

export interface OneToOneCallEvents {
  /**
   * The call's state changed. With `peer-left`, `leftReason` says why when
   * the server did: `left`, `kicked` or `dropped` (see `MeshCallEvents`'
   * `peer-removed`); absent when they were found gone at a resume.
   */
  state: {
    state: CallState;
    peerId: string | null;
    leftReason?: PeerLeftReason | (string & {}) | undefined;
  };
  /** The other person's media, once its first track arrives. */
  "remote-stream": { stream: MediaStream; peerId: string };
  /** `RTCPeerConnection.connectionState`, as it changes. */
  "connection-state": { state: RTCPeerConnectionState; peerId: string };
  /**
   * A STUN/TURN server refused or failed us (`icecandidateerror`): e.g. 401
   * when TURN credentials are wrong or expired. ICE may still succeed
   * through other servers or candidates.
   */
  "ice-error": { url: string; errorCode: number; errorText: string };
  /** ICE failed or stalled and the call restarted it (a new offer). */
  "ice-restart": { peerId: string };
  /**
   * How the connection came up (candidate types, setup time) or why it did
   * not, once per connection: what `reportCalls` sends.
   */
  "call-report": CallReport;
  /** An application `message` from the other person. */
  message: { data: unknown; peerId: string };
  error: SignalroomError;
}

/**
 * A 1:1 call in a room of two. Owns one `RTCPeerConnection` per remote
 * person (a new one when someone joins again after leaving), follows the
 * origin design's rule that the later joiner sends the first offer, and
 * uses perfect negotiation so either side can add a track (screen share)
 * later without glare.
 *
 * A signaling outage does not touch the connection: media flows while
 * the client reconnects, and after a resume the call goes on as if
 * nothing happened (unless the other person left meanwhile). When the
 * client has to re-join (the server lost our place), the call starts over
 * with whoever is in the room. Only the client's final `closed` ends it.
 *
 * ```ts
 * const call = new OneToOneCall({ signaling: client, localStream });
 * call.on("remote-stream", ({ stream }) => (video.srcObject = stream));
 * call.start(await client.join("room"));
 * ```
 */
export class OneToOneCall extends Emitter<OneToOneCallEvents> {
  readonly #opts: OneToOneCallOptions;
  #iceServers: IceServer[];
  #localStream: MediaStream | null;
  #link: PeerLink | null = null;
  #remotePeerId: string | null = null;
  #state: CallState = "idle";
  #unsubscribe: (() => void)[] = [];
  #started = false;
  /** We offered as soon as we joined; the `ready` that follows is ours already. */
  #initiatedOnJoin = false;
  /** Our peer id in the room the call follows. */
  #ownPeerId: string | null = null;
  /** The latest newcomer: the other person once their `ready` comes. */
  #newcomer: string | null = null;
  /** The client is reconnecting: the link holds ICE restarts until it is back. */
  #reconnecting = false;

  constructor(options: OneToOneCallOptions) {
    super();
    this.#opts = options;
    this.#iceServers = options.iceServers ?? [];
    this.#localStream = options.localStream ?? null;
  }

  get state(): CallState {
    return this.#state;
  }

  /** The peer connection to the other person, if one is up (for `getStats`). */
  get peerConnection(): RTCPeerConnection | null {
    return this.#link?.pc ?? null;
  }

  get remotePeerId(): string | null {
    return this.#remotePeerId;
  }

  /**
   * Starts following the room with the `join` answer. When the other
   * person is already there (`joined.peers === 1`) we are the later joiner
   * and offer at once, so a `ready` that arrived before this call (say,
   * while awaiting the camera) is not needed. Later joins on the same
   * client (another room) are followed too.
   */
  start(joined: JoinedMessage): void {
    if (this.#started) throw new SignalroomError("bad-message", "call already started");
    this.#started = true;
    const s = this.#opts.signaling;
    this.#unsubscribe = [
      // After a refused resume the client joins again (`joined`, then
      // `rejoined`) with a new peer id: a new connection with whoever is there.
      s.on("joined", (next) => {
        if (next !== joined) this.#follow(next);
      }),
      s.on("rejoined", (next) => {
        this.#setReconnecting(false);
        if (next.peerId !== this.#ownPeerId) this.#follow(next);
      }),
      s.on("reconnecting", () => this.#setReconnecting(true)),
      s.on("resumed", (resumed) => this.#onResumed(resumed)),
      s.on("peer-joined", ({ peerId }) => {
        this.#newcomer = peerId;
      }),
      s.on("ready", ({ isInitiator }) => {
        // The `ready` of the join we already acted on in #follow.
        if (isInitiator && this.#initiatedOnJoin) {
          this.#initiatedOnJoin = false;
          return;
        }
        this.#onReady(isInitiator, isInitiator ? null : this.#newcomer);
      }),
      s.on("offer", (m) => this.#onSignal(m)),
      s.on("answer", (m) => this.#onSignal(m)),
      s.on("ice", (m) => this.#onSignal(m)),
      s.on("message", (m) => this.emit("message", { data: m.data, peerId: m.from })),
      s.on("peer-left", ({ peerId, reason }) => this.#onPeerLeft(peerId, reason)),
      s.on("left", () => this.#leaveRoom()),
      s.on("full", () => this.#leaveRoom()),
      s.on("kicked", () => this.hangUp()),
      // Only the final close ends the call; `reconnecting` keeps the connection.
      s.on("closed", ({ reason }) => {
        this.#reconnecting = false;
        this.#teardown();
        this.#setState(reason === "client" ? "ended" : "failed");
      }),
    ];
    this.#follow(joined);
  }

  #follow(joined: JoinedMessage): void {
    this.#teardown();
    this.#ownPeerId = joined.peerId;
    this.#newcomer = null;
    if (this.#opts.iceServers === undefined && joined.iceServers)
      this.#iceServers = joined.iceServers;
    this.#initiatedOnJoin = false;
    this.#setState("waiting");
    const other = joined.peerIds[0];
    if (joined.peers === 1 && other !== undefined) {
      this.#onReady(true, other);
      this.#initiatedOnJoin = true;
    }
  }

  /**
   * Back on the same place after an outage; the server replays what we
   * missed after this. If the other person is no longer in the room, they
   * left while we were away.
   */
  #onResumed(resumed: ResumedMessage): void {
    if (this.#opts.iceServers === undefined && resumed.iceServers) {
      this.#iceServers = resumed.iceServers;
      this.#link?.setIceServers(resumed.iceServers);
    }
    const other = this.#remotePeerId;
    const gone = other === null ? resumed.peerIds.length === 0 : !resumed.peerIds.includes(other);
    if (this.#link && gone) this.#onPeerLeft(other ?? "");
    this.#setReconnecting(false);
  }

  #setReconnecting(reconnecting: boolean): void {
    this.#reconnecting = reconnecting;
    this.#link?.setSignalingUp(!reconnecting);
  }

  #leaveRoom(): void {
    this.#teardown();
    this.#setState("ended");
  }

  /** Sends an application message (chat, mute state) to the other person. */
  sendMessage(data: unknown): void {
    this.#opts.signaling.send({ type: "message", data });
  }

  /**
   * Adds a track (e.g. a screen share) to send on the current connection;
   * renegotiates. A kind that was only received takes the track on its
   * transceiver (see {@link PeerLink.addTrack}).
   */
  addTrack(track: MediaStreamTrack, stream?: MediaStream): RTCRtpSender | null {
    return this.#link?.addTrack(track, stream) ?? null;
  }

  /**
   * Replaces the track being sent for `kind` (camera switch, screen share
   * in place of the camera) without renegotiation; when nothing of that
   * kind was being sent, `track` is negotiated in. Later connections (the
   * other person joins again) send it too. Returns false only when `track`
   * is null and nothing of that kind was being sent.
   */
  async replaceTrack(kind: MediaKind, track: MediaStreamTrack | null): Promise<boolean> {
    this.#localStream = withTrack(this.#localStream, kind, track);
    return (await this.#link?.replaceTrack(kind, track)) ?? false;
  }

  /**
   * Sends `stream` from now on, on this connection and the next ones: the
   * camera or microphone that came after the call started (plugged in,
   * permission granted), or none (`null`). Kinds nobody sent before are
   * negotiated in; see {@link PeerLink.setLocalStream}.
   */
  async setLocalStream(stream: MediaStream | null): Promise<void> {
    this.#localStream = stream;
    await this.#link?.setLocalStream(stream);
  }

  /**
   * Restarts ICE, for when the device changed networks (ICE that fails or
   * stalls is restarted anyway). While signaling is reconnecting, the
   * restart waits for it.
   */
  restartIce(): void {
    this.#link?.restartIce();
  }

  /** Leaves nothing behind: closes the connection and stops following the room. */
  hangUp(): void {
    this.#teardown();
    for (const off of this.#unsubscribe) off();
    this.#unsubscribe = [];
    this.#setState("ended");
  }

  #onReady(isInitiator: boolean, remotePeerId: string | null): void {
    this.#teardown();
    // Without a known peer id, it arrives with the first relayed message;
    // until then the call talks to "the other member", exact in a room of two.
    this.#remotePeerId = remotePeerId;
    let link: PeerLink;
    try {
      link = new PeerLink({
        iceServers: this.#iceServers,
        rtcConfig: this.#opts.rtcConfig,
        localStream: this.#localStream,
        polite: !isInitiator,
        mayOfferFirst: isInitiator,
        send: (signal) => this.#opts.signaling.send(relayFromSignal(signal)),
        RTCPeerConnection: this.#opts.RTCPeerConnection,
        setupTimeoutMs: this.#opts.setupTimeoutMs,
      });
    } catch (error) {
      this.emit("error", error as SignalroomError);
      this.#setState("failed");
      return;
    }
    link.setSignalingUp(!this.#reconnecting);
    this.#link = link;
    const peerId = () => this.#remotePeerId ?? "";
    link.on("stream", (stream) => this.emit("remote-stream", { stream, peerId: peerId() }));
    link.on("ice-error", (error) => this.emit("ice-error", error));
    link.on("ice-restart", () => this.emit("ice-restart", { peerId: peerId() }));
    link.on("error", (error) => this.emit("error", error));
    link.on("setup", (outcome) => {
      // Who it was is known by now: a connection needs their signals to come up.
      const remote = this.#remotePeerId;
      if (remote === null) return;
      deliverCallReport(
        { ...outcome, peerId: remote },
        (report) => this.emit("call-report", report),
        this.#opts.signaling,
        this.#opts.reportCalls,
      );
    });
    link.on("connection-state", (state) => {
      this.emit("connection-state", { state, peerId: peerId() });
      if (state === "connected") this.#setState("connected");
      else if (state === "disconnected") this.#setState("disconnected");
      else if (state === "failed") this.#setState("failed");
    });
    this.#setState("connecting");
  }

  #onSignal(message: RelayedMessage<"offer" | "answer" | "ice">): void {
    if (!this.#link) return;
    this.#remotePeerId ??= message.from;
    if (message.from !== this.#remotePeerId) return;
    const signal = signalFromRelay(message);
    if (signal) void this.#link.receive(signal);
  }

  #onPeerLeft(peerId: string, leftReason?: string): void {
    if (this.#remotePeerId !== null && peerId !== this.#remotePeerId) return;
    this.#initiatedOnJoin = false;
    this.#teardown();
    this.#setState("peer-left", leftReason);
  }

  #teardown(): void {
    this.#link?.close();
    this.#link = null;
  }

  #setState(state: CallState, leftReason?: string): void {
    if (this.#state === state) return;
    this.#state = state;
    const peerId = this.#remotePeerId;
    this.emit(
      "state",
      leftReason === undefined ? { state, peerId } : { state, peerId, leftReason },
    );
  }
}
