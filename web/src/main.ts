import {
  type JoinedMessage,
  MeshCall,
  SignalingClient,
  type SignalroomError,
} from "signalroom/client";
import { Roster } from "./roster.js";
import { startScreenShare } from "./screen-share.js";
import { updateCount } from "./tiles.js";
import { setPressed, showCall, showEnded, showLobby, showStatus, showToast, view } from "./view.js";

/** What we tell the others about our media, through `message`. */
interface MediaStateMessage {
  kind: "media-state";
  audio: boolean;
  video: boolean;
}

const NAME_KEY = "signalroom.name";
const TOKEN_KEY = "signalroom.token";

/**
 * Page options from the URL. `token` is a join token handed out by the
 * operator's backend, best in the fragment (`/?room=R#token=JWT`), which
 * browsers never send to a server or proxy log; `?token=` works too. It is
 * moved out of the address bar into this tab's session storage so a copied
 * link never carries it. `relay=1` sends all media through TURN (hides
 * your IP address from the others, at the cost of a relay hop).
 */
const params = new URLSearchParams(location.search);
const fragment = new URLSearchParams(location.hash.slice(1));
const urlToken = fragment.get("token") ?? params.get("token");
if (urlToken) sessionStorage.setItem(TOKEN_KEY, urlToken);
const relayOnly = params.get("relay") === "1";
/** `quality=low`: 320x240 at 15 fps, for slow uplinks and big mesh calls. */
const lowQuality = params.get("quality") === "low";

let client: SignalingClient | null = null;
let call: MeshCall | null = null;
let localStream: MediaStream | null = null;
let stopSharing: (() => void) | null = null;
let currentRoom: string | null = null;
let isHost = false;
let kicked = false;
let someoneLeft = false;
/** The SDK is reconnecting to the server; the call's connections carry on meanwhile. */
let reconnecting = false;
const tiles = new Roster();
const iceErrors: { peerId: string; url: string; errorCode: number; errorText: string }[] = [];

/** For debugging and the end-to-end tests: the live objects. */
(globalThis as { signalroom?: unknown }).signalroom = {
  get client() {
    return client;
  },
  get call() {
    return call;
  },
  /** The connection to the first other participant (1:1 calls). */
  get peerConnection() {
    return call?.peers[0]?.peerConnection ?? null;
  },
  get peerConnections() {
    return call?.peers.map((p) => p.peerConnection) ?? [];
  },
  iceErrors,
};

/** The page's URL for a room, keeping `relay` but never the token. */
function roomUrl(roomId: string): string {
  const query = new URLSearchParams({ room: roomId });
  if (relayOnly) query.set("relay", "1");
  if (lowQuality) query.set("quality", "low");
  return `?${query}`;
}

function signalingUrl(): string {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/ws`;
}

async function getLocalMedia(): Promise<MediaStream | null> {
  if (localStream) return localStream;
  try {
    localStream = await navigator.mediaDevices.getUserMedia({
      audio: true,
      video: lowQuality
        ? { width: { ideal: 320 }, height: { ideal: 240 }, frameRate: { ideal: 15 } }
        : { width: { ideal: 1280 }, height: { ideal: 720 } },
    });
  } catch {
    // No camera, or permission denied: join anyway and receive only.
    localStream = null;
  }
  view.localVideo.srcObject = localStream;
  view.toggleMic.disabled = !localStream?.getAudioTracks().length;
  view.toggleCam.disabled = !localStream?.getVideoTracks().length;
  view.shareScreen.disabled = !navigator.mediaDevices?.getDisplayMedia;
  return localStream;
}

async function join(roomId: string): Promise<void> {
  const name = view.nameInput.value.trim();
  localStorage.setItem(NAME_KEY, name);
  currentRoom = roomId;
  kicked = false;
  someoneLeft = false;
  view.joinButton.disabled = true;
  showCall(roomId);
  showStatus("media");
  const stream = await getLocalMedia();
  resetMediaButtons();

  showStatus("connecting-server");
  const signaling = new SignalingClient({ url: signalingUrl() });
  client = signaling;
  try {
    await signaling.connect();
  } catch {
    client = null;
    showStatus("unreachable");
    showEnded("Cannot reach the server.");
    return;
  }
  signaling.on("kicked", () => {
    kicked = true;
    teardown();
    stopLocalMedia();
    showStatus("kicked");
    showEnded("The host removed you from the call.", false);
  });
  signaling.on("locked", () => setLocked(true));
  signaling.on("unlocked", () => setLocked(false));
  // Our own join and the SDK's re-join after the server lost our place.
  signaling.on("joined", (joined) => {
    if (client === signaling) onJoined(joined);
  });
  // A signaling outage: the SDK reconnects and resumes (or re-joins) by
  // itself while media keeps flowing, so only the status pill says so.
  signaling.on("reconnecting", () => {
    if (client !== signaling) return;
    reconnecting = true;
    refreshStatus();
  });
  const reconnected = () => {
    if (client !== signaling) return;
    reconnecting = false;
    refreshStatus();
  };
  signaling.on("resumed", reconnected);
  signaling.on("rejoined", reconnected);
  // Final: the SDK gave up (or the server refused us); the person decides.
  signaling.on("closed", ({ reason }) => {
    if (client !== signaling || kicked || reason === "client") return;
    teardown();
    showStatus("server-lost");
    showEnded("Lost the connection to the server.");
  });

  let joined: JoinedMessage;
  try {
    const token = sessionStorage.getItem(TOKEN_KEY) ?? undefined;
    joined = await signaling.join(roomId, {
      ...(name ? { name } : {}),
      ...(token ? { token } : {}),
    });
  } catch (error) {
    client = null;
    signaling.close();
    stopLocalMedia();
    history.replaceState(null, "", relayOnly ? "?relay=1" : location.pathname);
    showJoinRefusal(roomId, error as SignalroomError);
    return;
  }

  const mesh = new MeshCall({
    signaling,
    localStream: stream,
    ...(relayOnly ? { rtcConfig: { iceTransportPolicy: "relay" } } : {}),
  });
  call = mesh;
  mesh.on("peer-added", ({ peerId, name: peerName, userId }) => {
    const tile = tiles.add(peerId, peerName, userId);
    tile.setKickable(isHost, () => client?.kick(peerId));
    refreshStatus();
  });
  mesh.on("stream", ({ peerId, stream: remote }) => tiles.get(peerId)?.setStream(remote));
  mesh.on("connection-state", ({ peerId, state }) => {
    tiles.get(peerId)?.setState(state);
    if (state === "connected") sendMediaState(peerId);
    refreshStatus();
  });
  mesh.on("peer-removed", ({ peerId, reason }) => {
    // Only people who left are announced: not a re-join's old peer ids, not our own hang-up.
    const leaver = tiles.remove(peerId, reason);
    if (leaver !== null && !kicked) {
      someoneLeft = true;
      showToast(`${leaver} left`);
    }
    refreshStatus();
  });
  mesh.on("message", ({ peerId, data }) => onPeerMessage(peerId, data));
  mesh.on("ice-error", (error) => {
    iceErrors.push(error);
    if (error.errorCode === 401) console.warn(`TURN refused our credentials: ${error.url}`);
  });
  mesh.on("error", (error) => console.warn("call error", error));
  mesh.start(joined);
  refreshStatus();
}

/** The room as the server gave it to us, on our join and on the SDK's re-join. */
function onJoined(joined: JoinedMessage): void {
  history.replaceState(null, "", roomUrl(joined.roomId));
  view.roomName.textContent = joined.roomId;
  isHost = joined.role === "host";
  view.lockRoom.hidden = !isHost;
  // A re-join finds the room as a restarted server has it: unlocked.
  setLocked(false);
}

function showJoinRefusal(roomId: string, error: SignalroomError): void {
  if (error.code === "room-full") {
    showStatus("full");
    showLobby(`Room “${roomId}” is full. Try another room name.`);
  } else if (error.code === "forbidden" && /locked/.test(error.message)) {
    showStatus("locked");
    showLobby(`Room “${roomId}” is locked.`);
  } else if (error.code === "unauthorized" || error.code === "forbidden") {
    showStatus("unauthorized");
    showLobby(`You need an invitation link for room “${roomId}” (${error.message}).`);
  } else {
    showStatus("error", error.message);
    showLobby(error.message);
  }
}

/** The call's overall status, from every peer's connection state. */
function refreshStatus(): void {
  if (!call) return;
  if (reconnecting) return showStatus("reconnecting");
  const states = call.peers.map((p) => p.connectionState);
  if (states.length === 0) return showStatus(someoneLeft ? "peer-left" : "waiting");
  if (states.some((s) => s === "connected")) return showStatus("connected");
  if (states.every((s) => s === "failed")) {
    return showStatus(
      "failed",
      iceErrors.some((e) => e.errorCode === 401)
        ? "The call could not connect: the relay server refused our credentials."
        : undefined,
    );
  }
  if (states.some((s) => s === "disconnected")) return showStatus("disconnected");
  showStatus("connecting");
}

function onPeerMessage(peerId: string, data: unknown): void {
  const message = data as Partial<MediaStateMessage> | null;
  if (message?.kind !== "media-state") return;
  tiles.get(peerId)?.setMedia(message.audio !== false, message.video !== false);
}

/** Tells one peer (or everyone) whether our microphone and camera are on. */
function sendMediaState(to?: string): void {
  if (!call || !localStream) return;
  const state: MediaStateMessage = {
    kind: "media-state",
    audio: localStream.getAudioTracks().some((t) => t.enabled),
    video: localStream.getVideoTracks().some((t) => t.enabled) || stopSharing !== null,
  };
  try {
    call.sendMessage(state, to);
  } catch {
    // Not connected any more; the state is sent again on the next connect.
  }
}

function toggle(kind: "audio" | "video"): void {
  const tracks = kind === "audio" ? localStream?.getAudioTracks() : localStream?.getVideoTracks();
  if (!tracks?.length) return;
  const enabled = !tracks.some((t) => t.enabled);
  for (const track of tracks) track.enabled = enabled;
  if (kind === "audio") setPressed(view.toggleMic, !enabled, enabled ? "Mute" : "Unmute");
  else {
    setPressed(view.toggleCam, !enabled, enabled ? "Camera off" : "Camera on");
    view.localTile.classList.toggle("camera-off", !enabled);
  }
  sendMediaState();
}

async function toggleScreenShare(): Promise<void> {
  if (stopSharing) {
    stopSharing();
    return;
  }
  if (!call) return;
  const share = await startScreenShare(call, localStream, () => {
    stopSharing = null;
    setPressed(view.shareScreen, false, "Share");
    view.localVideo.srcObject = localStream;
    sendMediaState();
  });
  if (!share) return;
  stopSharing = share.stop;
  view.localVideo.srcObject = share.preview;
  setPressed(view.shareScreen, true, "Stop sharing");
  sendMediaState();
}

function setLocked(locked: boolean): void {
  view.lockRoom.setAttribute("aria-pressed", String(locked));
  view.lockRoom.textContent = locked ? "Unlock room" : "Lock room";
}

function resetMediaButtons(): void {
  setPressed(view.toggleMic, false, "Mute");
  setPressed(view.toggleCam, false, "Camera off");
  setPressed(view.shareScreen, false, "Share");
  view.localTile.classList.remove("camera-off");
}

function teardown(): void {
  stopSharing?.();
  stopSharing = null;
  call?.hangUp();
  call = null;
  const signaling = client;
  client = null;
  reconnecting = false;
  signaling?.close();
  tiles.clear();
  updateCount();
  view.lockRoom.hidden = true;
}

function stopLocalMedia(): void {
  for (const track of localStream?.getTracks() ?? []) track.stop();
  localStream = null;
  view.localVideo.srcObject = null;
}

async function hangUp(): Promise<void> {
  const signaling = client;
  client = null;
  call?.hangUp();
  call = null;
  try {
    await signaling?.leave();
  } catch {
    // Leaving a dead connection: closing it is enough.
  }
  signaling?.close();
  teardown();
  stopLocalMedia();
  showStatus("ended");
  showEnded("You left the call.");
}

view.joinForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const roomId = view.roomInput.value.trim();
  if (roomId) void join(roomId);
});
view.toggleMic.addEventListener("click", () => toggle("audio"));
view.toggleCam.addEventListener("click", () => toggle("video"));
view.shareScreen.addEventListener("click", () => void toggleScreenShare());
view.lockRoom.addEventListener("click", () => {
  client?.lock(view.lockRoom.getAttribute("aria-pressed") !== "true");
});
view.hangUp.addEventListener("click", () => void hangUp());
view.rejoin.addEventListener("click", () => {
  teardown();
  if (currentRoom) void join(currentRoom);
});
view.backToLobby.addEventListener("click", () => {
  teardown();
  stopLocalMedia();
  history.replaceState(null, "", relayOnly ? "?relay=1" : location.pathname);
  showStatus("idle");
  showLobby();
});
view.copyLink.addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText(location.href);
    view.copyLink.textContent = "Link copied";
  } catch {
    view.copyLink.textContent = "Copy the address bar";
  }
  setTimeout(() => {
    view.copyLink.textContent = "Copy link";
  }, 2000);
});
// A new network (Wi-Fi to LTE): new ICE candidates now rather than after ICE notices.
window.addEventListener("online", () => call?.restartIce());
window.addEventListener("pagehide", () => {
  client?.close();
});

view.nameInput.value = localStorage.getItem(NAME_KEY) ?? "";
const roomFromUrl = params.get("room")?.trim();
// Never leave the token in the address bar.
if (urlToken)
  history.replaceState(null, "", roomFromUrl ? roomUrl(roomFromUrl) : location.pathname);
if (roomFromUrl) {
  view.roomInput.value = roomFromUrl;
  void join(roomFromUrl);
} else {
  showLobby();
}
