import type {
  IceServer,
  JoinedMessage,
  Member,
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

export interface MeshCallOptions {
  /** A connected client; the call follows its room. */
  signaling: SignalingClient;
  /**
   * Tracks to send to everyone; null (the default) or a stream without
   * audio or video still receives both. Change it later with
   * {@link MeshCall.setLocalStream}.
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

/** What the call knows of one remote participant. */
export interface MeshPeer {
  readonly peerId: string;
  readonly name?: string | undefined;
  readonly userId?: string | undefined;
  readonly connectionState: RTCPeerConnectionState;
  readonly stream: MediaStream | null;
  readonly peerConnection: RTCPeerConnection;
}

export interface MeshCallEvents {
  /** Someone is in the room with us (already there when we joined, or new). */
  "peer-added": { peerId: string; name?: string | undefined; userId?: string | undefined };
  /** Their media, once the first track arrives. */
  stream: { peerId: string; stream: MediaStream };
  "connection-state": { peerId: string; state: RTCPeerConnectionState };
  /**
   * Their connection is closed. `reason`: `left`, they left the room (or
   * were removed, or were gone when we resumed); `rejoin`, we re-joined the
   * room after the server lost our place, so every peer id changed and the
   * same people come back as new peers; `ended`, we left the room, hung up
   * or lost signaling for good. With `left`, `leftReason` says why when the
   * server did (its `peer-left.reason`): `left` (they left or closed the
   * page), `kicked` (a host removed them), `dropped` (their connection was
   * lost and did not come back in time); absent when they were found gone
   * at a resume, or the server is older. Accept values you do not know.
   */
  "peer-removed": {
    peerId: string;
    reason: PeerRemovedReason;
    leftReason?: PeerLeftReason | (string & {}) | undefined;
  };
  /** An application `message` from one of them. */
  message: { peerId: string; data: unknown };
  "ice-error": { peerId: string; url: string; errorCode: number; errorText: string };
  /** ICE to them failed or stalled, and the call restarted it (a new offer). */
  "ice-restart": { peerId: string };
  /**
   * How the connection to one of them came up (candidate types, setup time)
   * or why it did not, once per connection: what `reportCalls` sends.
   */
  "call-report": CallReport;
  error: SignalroomError & { peerId?: string };
}

/** Why a peer was removed; see {@link MeshCallEvents}. */
export type PeerRemovedReason = "left" | "rejoin" | "ended";

interface Entry {
  readonly link: PeerLink;
  readonly name: string | undefined;
  readonly userId: string | undefined;
}

/**
 * A mesh call: one `RTCPeerConnection` per other member. The newcomer
 * sends the first offer to each member already there (the origin design's
 * "later joiner initiates", applied per pair, so no two offers cross), and
 * perfect negotiation per pair handles later renegotiation such as a
 * screen share. Upload grows with every peer: fine for a handful of
 * people; an SFU is the answer for large rooms.
 *
 * Signaling outages do not touch the connections: while the client is
 * reconnecting media keeps flowing, and a resume only removes the peers
 * that left meanwhile. When the client has to re-join (the server lost
 * our place), the call starts over with whoever is in the room. ICE that
 * fails is restarted by each link once signaling is up.
 *
 * ```ts
 * const call = new MeshCall({ signaling: client, localStream });
 * call.on("stream", ({ peerId, stream }) => tileFor(peerId).srcObject = stream);
 * call.on("peer-removed", ({ peerId }) => removeTile(peerId));
 * call.start(await client.join("standup"));
 * ```
 */
export class MeshCall extends Emitter<MeshCallEvents> {
  readonly #opts: MeshCallOptions;
  readonly #peers = new Map<string, Entry>();
  #iceServers: IceServer[];
  #localStream: MediaStream | null;
  #unsubscribe: (() => void)[] = [];
  #started = false;
  /** Our peer id in the room the call follows. */
  #ownPeerId: string | null = null;
  /** The client is reconnecting: links hold ICE restarts until it is back. */
  #reconnecting = false;
  /** Tracks sent besides the local stream's: added to every new connection too. */
  #extraTracks: [MediaStreamTrack, MediaStream][] = [];

  constructor(options: MeshCallOptions) {
    super();
    this.#opts = options;
    this.#iceServers = options.iceServers ?? [];
    this.#localStream = options.localStream ?? null;
  }

  /** The other participants, in the order they were added. */
  get peers(): MeshPeer[] {
    return [...this.#peers].map(([peerId, { link, name, userId }]) => ({
      peerId,
      name,
      userId,
      connectionState: link.pc.connectionState,
      stream: link.remoteStream,
      peerConnection: link.pc,
    }));
  }

  /**
   * Starts the call with the `joined` answer: offers to everyone already
   * there, and from then on answers each newcomer's offer. Call it right
   * after `join` resolves, before yielding to the event loop.
   */
  start(joined: JoinedMessage): void {
    if (this.#started) throw new SignalroomError("bad-message", "call already started");
    this.#started = true;
    const s = this.#opts.signaling;
    this.#unsubscribe = [
      // A later join on the same client (another room) starts over there.
      // After a refused resume the client joins again (`joined`, then
      // `rejoined`): a new peer id, so new connections with everyone.
      s.on("joined", (next) => {
        if (next !== joined) this.#follow(next, this.#reconnecting ? "rejoin" : "ended");
      }),
      s.on("rejoined", (next) => {
        this.#setReconnecting(false);
        if (next.peerId !== this.#ownPeerId) this.#follow(next, "rejoin");
      }),
      s.on("reconnecting", () => this.#setReconnecting(true)),
      s.on("resumed", (resumed) => this.#onResumed(resumed)),
      s.on("peer-joined", ({ peerId, name, userId }) => this.#add(peerId, name, userId, false)),
      s.on("peer-left", ({ peerId, reason }) => this.#remove(peerId, "left", reason)),
      s.on("offer", (m) => this.#onSignal(m)),
      s.on("answer", (m) => this.#onSignal(m)),
      s.on("ice", (m) => this.#onSignal(m)),
      s.on("message", (m) => this.emit("message", { peerId: m.from, data: m.data })),
      s.on("left", () => this.#removeAll("ended")),
      s.on("full", () => this.#removeAll("ended")),
      s.on("kicked", () => this.hangUp()),
      // Only the final close ends the call; `reconnecting` keeps every connection.
      s.on("closed", () => {
        this.#setReconnecting(false);
        this.#removeAll("ended");
      }),
    ];
    this.#follow(joined, "ended");
  }

  #follow(joined: JoinedMessage, reason: PeerRemovedReason): void {
    this.#removeAll(reason);
    this.#ownPeerId = joined.peerId;
    if (this.#opts.iceServers === undefined && joined.iceServers)
      this.#iceServers = joined.iceServers;
    const members: Member[] = joined.members ?? joined.peerIds.map((peerId) => ({ peerId }));
    for (const member of members) this.#add(member.peerId, member.name, member.userId, true);
  }

  /** Sends an application message to everyone, or to one peer. */
  sendMessage(data: unknown, to?: string): void {
    this.#opts.signaling.send(
      to === undefined ? { type: "message", data } : { type: "message", data, to },
    );
  }

  /**
   * Sends one more track (a screen share when there is no camera) on every
   * connection, newcomers' included; renegotiates each.
   */
  addTrack(track: MediaStreamTrack, stream: MediaStream): void {
    this.#extraTracks.push([track, stream]);
    for (const { link } of this.#peers.values()) link.addTrack(track, stream);
  }

  /** Stops sending a track added with {@link addTrack}; renegotiates each connection. */
  removeTrack(track: MediaStreamTrack): void {
    this.#extraTracks = this.#extraTracks.filter(([t]) => t !== track);
    for (const { link } of this.#peers.values()) link.removeTrack(track);
  }

  /**
   * Replaces the track sent for `kind` on every connection (screen share in
   * place of the camera, camera switch) without renegotiation; where
   * nothing of that kind was being sent, `track` is negotiated in. The new
   * track is also what newcomers get.
   */
  async replaceTrack(kind: MediaKind, track: MediaStreamTrack | null): Promise<void> {
    this.#localStream = withTrack(this.#localStream, kind, track);
    await Promise.all([...this.#peers.values()].map(({ link }) => link.replaceTrack(kind, track)));
  }

  /**
   * Sends `stream` from now on, to everyone and to newcomers: the camera or
   * microphone that came after the call started (plugged in, permission
   * granted), or none (`null`). Kinds nobody sent before are negotiated in
   * on each connection; see {@link PeerLink.setLocalStream}.
   */
  async setLocalStream(stream: MediaStream | null): Promise<void> {
    this.#localStream = stream;
    await Promise.all([...this.#peers.values()].map(({ link }) => link.setLocalStream(stream)));
  }

  /**
   * Restarts ICE with everyone, or with `peerId` only: for when the
   * device changed networks (ICE that fails or stalls is restarted
   * anyway). While signaling is reconnecting, the restart waits for it.
   */
  restartIce(peerId?: string): void {
    for (const [id, { link }] of this.#peers) {
      if (peerId === undefined || id === peerId) link.restartIce();
    }
  }

  /** Closes every connection and stops following the room. */
  hangUp(): void {
    for (const off of this.#unsubscribe) off();
    this.#unsubscribe = [];
    this.#removeAll("ended");
  }

  /**
   * Back on the same place after an outage: the server replays what we
   * missed (a newcomer's `peer-joined`, a leaver's `peer-left`) after this;
   * anyone already gone from the room's list is removed now.
   */
  #onResumed(resumed: ResumedMessage): void {
    if (this.#opts.iceServers === undefined && resumed.iceServers) {
      this.#iceServers = resumed.iceServers;
      for (const { link } of this.#peers.values()) link.setIceServers(resumed.iceServers);
    }
    const present = new Set(resumed.peerIds);
    for (const peerId of [...this.#peers.keys()]) {
      if (!present.has(peerId)) this.#remove(peerId, "left");
    }
    this.#setReconnecting(false);
  }

  #setReconnecting(reconnecting: boolean): void {
    this.#reconnecting = reconnecting;
    for (const { link } of this.#peers.values()) link.setSignalingUp(!reconnecting);
  }

  #add(
    peerId: string,
    name: string | undefined,
    userId: string | undefined,
    weJoinedLater: boolean,
  ): void {
    if (this.#peers.has(peerId)) return;
    let link: PeerLink;
    try {
      link = new PeerLink({
        iceServers: this.#iceServers,
        rtcConfig: this.#opts.rtcConfig,
        localStream: this.#localStream,
        // Per pair: the later joiner offers first and is the impolite side.
        polite: !weJoinedLater,
        mayOfferFirst: weJoinedLater,
        send: (signal) => this.#opts.signaling.send(relayFromSignal(signal, peerId)),
        RTCPeerConnection: this.#opts.RTCPeerConnection,
        setupTimeoutMs: this.#opts.setupTimeoutMs,
      });
    } catch (error) {
      this.emit("error", Object.assign(error as SignalroomError, { peerId }));
      return;
    }
    for (const [track, stream] of this.#extraTracks) link.addTrack(track, stream);
    link.setSignalingUp(!this.#reconnecting);
    this.#peers.set(peerId, { link, name, userId });
    link.on("stream", (stream) => this.emit("stream", { peerId, stream }));
    link.on("connection-state", (state) => this.emit("connection-state", { peerId, state }));
    link.on("ice-error", (error) => this.emit("ice-error", { peerId, ...error }));
    link.on("ice-restart", () => this.emit("ice-restart", { peerId }));
    link.on("setup", (outcome) =>
      deliverCallReport(
        { ...outcome, peerId },
        (report) => this.emit("call-report", report),
        this.#opts.signaling,
        this.#opts.reportCalls,
      ),
    );
    link.on("error", (error) => this.emit("error", Object.assign(error, { peerId })));
    this.emit("peer-added", { peerId, name, userId });
  }

  #remove(peerId: string, reason: PeerRemovedReason, leftReason?: string): void {
    const entry = this.#peers.get(peerId);
    if (!entry) return;
    this.#peers.delete(peerId);
    entry.link.close();
    this.emit(
      "peer-removed",
      leftReason === undefined ? { peerId, reason } : { peerId, reason, leftReason },
    );
  }

  #removeAll(reason: PeerRemovedReason): void {
    for (const peerId of [...this.#peers.keys()]) this.#remove(peerId, reason);
  }

  #onSignal(message: RelayedMessage<"offer" | "answer" | "ice">): void {
    // A signal from someone we have not heard join (its peer-joined was
    // lost to a race) still gets a connection: they offered, so we answer.
    if (!this.#peers.has(message.from)) {
      if (message.type !== "offer") return;
      this.#add(message.from, undefined, undefined, false);
    }
    const signal = signalFromRelay(message);
    if (signal) void this.#peers.get(message.from)?.link.receive(signal);
  }
}
