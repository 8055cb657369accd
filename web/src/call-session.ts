import {
  type JoinedMessage,
  MeshCall,
  SignalingClient,
  type SignalroomError,
} from "signalroom/client";
import { cancelConfirmation, confirmAction } from "./confirm.js";
import type { MediaSession } from "./media-session.js";
import { parseMediaState } from "./media-session.js";
import { homePath, type PageOptions, roomPath, tokenName } from "./page-options.js";
import { goneText, joinRefusal } from "./refusals.js";
import { Roster } from "./roster.js";
import { updateCount } from "./tiles.js";
import { setPressed, showCall, showEnded, showLobby, showStatus, showToast, view } from "./view.js";

export interface IceErrorRecord {
  peerId: string;
  url: string;
  errorCode: number;
  errorText: string;
}

function signalingUrl(): string {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/ws`;
}

/**
 * One person's time in a call: the signaling client, the mesh call, the
 * tiles, and what the page says about them. `join` lets us in first and
 * only then starts the camera and microphone.
 */
export class CallSession {
  readonly #options: PageOptions;
  readonly #media: MediaSession;
  readonly tiles = new Roster();
  readonly iceErrors: IceErrorRecord[] = [];
  client: SignalingClient | null = null;
  call: MeshCall | null = null;
  #roomId: string | null = null;
  #name = "";
  #isHost = false;
  #locked = false;
  #kicked = false;
  #someoneLeft = false;
  /** The SDK is reconnecting to the server; the call's connections carry on meanwhile. */
  #reconnecting = false;

  readonly #onTeardown: () => void;

  /** `onTeardown`: the call is over here; what belongs to it (the stats panel) stops too. */
  constructor(options: PageOptions, media: MediaSession, onTeardown: () => void = () => {}) {
    this.#options = options;
    this.#media = media;
    this.#onTeardown = onTeardown;
  }

  get roomId(): string | null {
    return this.#roomId;
  }

  async join(roomId: string, name: string): Promise<void> {
    this.#roomId = roomId;
    this.#name = name;
    this.#kicked = false;
    this.#someoneLeft = false;
    view.joinButton.disabled = true;
    showCall(roomId);
    view.localLabel.textContent = `${tokenName(this.#options.token) ?? name} (you)`;
    showStatus("connecting-server");

    const signaling = new SignalingClient({ url: signalingUrl() });
    this.client = signaling;
    try {
      await signaling.connect();
    } catch {
      this.client = null;
      showStatus("unreachable");
      showEnded("Cannot reach the server. Check your connection and try again.");
      return;
    }
    this.#listen(signaling);

    let joined: JoinedMessage;
    try {
      const token = this.#options.token;
      joined = await signaling.join(roomId, { name, ...(token ? { token } : {}) });
    } catch (error) {
      this.client = null;
      signaling.close();
      history.replaceState(null, "", homePath(this.#options));
      const refusal = joinRefusal(roomId, error as SignalroomError);
      showStatus(refusal.status, refusal.detail);
      showLobby({ error: refusal.text });
      return;
    }
    this.#startCall(signaling, joined);
  }

  #listen(signaling: SignalingClient): void {
    const current = () => this.client === signaling;
    signaling.on("kicked", () => {
      this.#kicked = true;
      this.teardown();
      showStatus("kicked");
      showEnded("The host removed you from the call.", false);
    });
    signaling.on("locked", () => this.#setLocked(true, true));
    signaling.on("unlocked", () => this.#setLocked(false, true));
    // Our own join and the SDK's re-join after the server lost our place.
    signaling.on("joined", (joined) => {
      if (current()) this.#onJoined(joined);
    });
    // A signaling outage: the SDK reconnects and resumes (or re-joins) by
    // itself while media keeps flowing, so only the status pill says so.
    signaling.on("reconnecting", () => {
      if (!current()) return;
      this.#reconnecting = true;
      this.refreshStatus();
    });
    const reconnected = () => {
      if (!current()) return;
      this.#reconnecting = false;
      this.refreshStatus();
    };
    signaling.on("resumed", reconnected);
    signaling.on("rejoined", reconnected);
    // Final: the SDK gave up (or the server refused us); the person decides.
    signaling.on("closed", ({ reason }) => {
      if (!current() || this.#kicked || reason === "client") return;
      this.teardown();
      showStatus("server-lost");
      showEnded("Lost the connection to the server.");
    });
  }

  #startCall(signaling: SignalingClient, joined: JoinedMessage): void {
    const mesh = new MeshCall({
      signaling,
      localStream: null,
      ...(this.#options.relayOnly ? { rtcConfig: { iceTransportPolicy: "relay" } } : {}),
    });
    this.call = mesh;
    let starting = true;
    mesh.on("peer-added", ({ peerId, name: peerName, userId }) => {
      const known = this.tiles.has(peerName, userId);
      const tile = this.tiles.add(peerId, peerName, userId);
      tile.setKickable(this.#isHost, () => void this.#kick(peerId));
      if (!starting && !known) showToast(`${tile.label} joined`);
      this.refreshStatus();
    });
    mesh.on("stream", ({ peerId, stream }) => this.tiles.get(peerId)?.setStream(stream));
    mesh.on("connection-state", ({ peerId, state }) => {
      this.tiles.get(peerId)?.setState(state);
      if (state === "connected") this.#media.sendState(peerId);
      this.refreshStatus();
    });
    mesh.on("peer-removed", ({ peerId, reason, leftReason }) => {
      // Only people who are gone are announced: not a re-join's old peer ids, not our own hang-up.
      const gone = this.tiles.remove(peerId, reason);
      if (gone !== null && !this.#kicked) {
        if (leftReason !== "kicked") this.#someoneLeft = true;
        showToast(goneText(gone, leftReason));
      }
      this.refreshStatus();
    });
    mesh.on("message", ({ peerId, data }) => {
      const state = parseMediaState(data);
      if (state) this.tiles.get(peerId)?.setMedia(state);
    });
    mesh.on("ice-error", (error) => {
      this.iceErrors.push(error);
      if (error.errorCode === 401) console.warn(`TURN refused our credentials: ${error.url}`);
    });
    mesh.on("error", (error) => console.warn("call error", error));
    mesh.start(joined);
    starting = false;
    this.refreshStatus();
    void this.#media.start(mesh);
  }

  /** The room as the server gave it to us, on our join and on the SDK's re-join. */
  #onJoined(joined: JoinedMessage): void {
    history.replaceState(null, "", roomPath(joined.roomId, this.#options));
    view.roomName.textContent = joined.roomId;
    this.#isHost = joined.role === "host";
    view.lockRoom.hidden = !this.#isHost;
    for (const tile of this.tiles.values()) {
      tile.setKickable(this.#isHost, () => void this.#kick(tile.peerId));
    }
    // A host gets into a locked room (to unlock it); `joined` says so.
    this.#setLocked(joined.locked === true, false);
  }

  #setLocked(locked: boolean, announce: boolean): void {
    const changed = locked !== this.#locked;
    this.#locked = locked;
    setPressed(
      view.lockRoom,
      locked,
      locked ? "Let people join again" : "Stop anyone else from joining",
    );
    view.lockBadge.hidden = !locked || this.#isHost;
    if (!announce || !changed) return;
    const who = this.#isHost ? "You" : "The host";
    showToast(
      locked
        ? `${who} locked the room: nobody else can join`
        : `${who} unlocked the room: others can join again`,
    );
  }

  /** Host: locks the room, or unlocks it. The room's answer (`locked`) updates the button. */
  async toggleLock(): Promise<void> {
    const client = this.client;
    if (!client) return;
    const lock = !this.#locked;
    view.lockRoom.disabled = true;
    try {
      await (lock ? client.lock() : client.unlock());
    } catch (error) {
      showToast(`Could not ${lock ? "lock" : "unlock"} the room: ${(error as Error).message}`);
    } finally {
      view.lockRoom.disabled = false;
    }
  }

  /** Host: asks to be sure, then removes a person. */
  async #kick(peerId: string): Promise<void> {
    const name = this.tiles.get(peerId)?.label ?? "this person";
    const confirmed = await confirmAction({
      title: `Remove ${name}?`,
      text: this.#locked
        ? `${name} leaves the call at once and cannot come back while the room is locked.`
        : `${name} leaves the call at once. They can come back with the link unless you lock the room.`,
      confirm: "Remove",
    });
    const client = this.client;
    if (!confirmed || !client || !this.tiles.get(peerId)) return;
    try {
      await client.kick(peerId);
    } catch (error) {
      showToast(`Could not remove ${name}: ${(error as Error).message}`);
    }
  }

  /** The call's overall status, from every peer's connection state. */
  refreshStatus(): void {
    if (!this.call) return;
    if (this.#reconnecting) return showStatus("reconnecting");
    const states = this.call.peers.map((p) => p.connectionState);
    if (states.length === 0) return showStatus(this.#someoneLeft ? "peer-left" : "waiting");
    if (states.some((s) => s === "connected")) return showStatus("connected");
    if (states.every((s) => s === "failed")) {
      return showStatus(
        "failed",
        this.iceErrors.some((e) => e.errorCode === 401)
          ? "The call could not connect: the relay server refused our credentials."
          : undefined,
      );
    }
    if (states.some((s) => s === "disconnected")) return showStatus("disconnected");
    showStatus("connecting");
  }

  /** Ends the call here (the server is told by closing), camera and microphone off. */
  teardown(): void {
    cancelConfirmation();
    this.#onTeardown();
    this.#media.stop();
    this.call?.hangUp();
    this.call = null;
    const signaling = this.client;
    this.client = null;
    this.#reconnecting = false;
    signaling?.close();
    this.tiles.clear();
    updateCount();
    view.lockRoom.hidden = true;
    view.lockBadge.hidden = true;
    this.#locked = false;
  }

  async hangUp(): Promise<void> {
    const signaling = this.client;
    this.client = null;
    this.call?.hangUp();
    this.call = null;
    try {
      await signaling?.leave();
    } catch {
      // Leaving a dead connection: closing it is enough.
    }
    signaling?.close();
    this.teardown();
    showStatus("ended");
    showEnded("You left the call.");
  }

  rejoin(): void {
    this.teardown();
    if (this.#roomId) void this.join(this.#roomId, this.#name);
  }

  backToLobby(): void {
    this.teardown();
    history.replaceState(null, "", homePath(this.#options));
    showStatus("idle");
    showLobby();
  }
}
