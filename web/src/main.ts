import {
  type CallState,
  OneToOneCall,
  SignalingClient,
  type SignalroomError,
} from "signalroom/client";
import { setPressed, showCall, showEnded, showLobby, showStatus, view } from "./view.js";

/** What we tell the other side about our media, through `message`. */
interface MediaStateMessage {
  kind: "media-state";
  audio: boolean;
  video: boolean;
}

const NAME_KEY = "signalroom.name";
const TOKEN_KEY = "signalroom.token";

/**
 * Page options from the URL. `token` is a join token handed out by the
 * operator's backend (`/?room=R&token=JWT`); it is moved out of the address
 * bar into this tab's session storage so a copied link never carries it.
 * `relay=1` sends all media through TURN (hides your IP address from the
 * other side, at the cost of a relay hop).
 */
const params = new URLSearchParams(location.search);
const urlToken = params.get("token");
if (urlToken) sessionStorage.setItem(TOKEN_KEY, urlToken);
const relayOnly = params.get("relay") === "1";

let client: SignalingClient | null = null;
let call: OneToOneCall | null = null;
let localStream: MediaStream | null = null;
let currentRoom: string | null = null;
let kicked = false;
/** The other member of the room (1:1), once known. */
let otherPeerId: string | null = null;
const names = new Map<string, string>();
const iceErrors: { url: string; errorCode: number; errorText: string }[] = [];

/** For debugging and the end-to-end tests: the live objects. */
(globalThis as { signalroom?: unknown }).signalroom = {
  get client() {
    return client;
  },
  get call() {
    return call;
  },
  get peerConnection() {
    return call?.peerConnection ?? null;
  },
  iceErrors,
};

/** The page's URL for a room, keeping `relay` but never the token. */
function roomUrl(roomId: string): string {
  const query = new URLSearchParams({ room: roomId });
  if (relayOnly) query.set("relay", "1");
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
      video: { width: { ideal: 1280 }, height: { ideal: 720 } },
    });
  } catch {
    // No camera, or permission denied: join anyway and receive only.
    localStream = null;
  }
  view.localVideo.srcObject = localStream;
  view.toggleMic.disabled = !localStream?.getAudioTracks().length;
  view.toggleCam.disabled = !localStream?.getVideoTracks().length;
  return localStream;
}

async function join(roomId: string): Promise<void> {
  const name = view.nameInput.value.trim();
  localStorage.setItem(NAME_KEY, name);
  currentRoom = roomId;
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
  kicked = false;
  signaling.on("kicked", () => {
    kicked = true;
    teardown();
    stopLocalMedia();
    showStatus("kicked");
    showEnded("The host removed you from the call.", false);
  });
  signaling.on("locked", () => setLocked(true));
  signaling.on("unlocked", () => setLocked(false));
  signaling.on("close", () => {
    if (client !== signaling || kicked) return;
    showStatus("server-lost");
    showEnded("Lost the connection to the server.");
    teardown();
  });
  signaling.on("peer-joined", ({ peerId, name: peerName }) => {
    otherPeerId = peerId;
    if (peerName) names.set(peerId, peerName);
  });
  signaling.on("peer-left", ({ peerId }) => {
    if (peerId === otherPeerId) otherPeerId = null;
  });

  let joined: Awaited<ReturnType<SignalingClient["join"]>>;
  try {
    const token = sessionStorage.getItem(TOKEN_KEY) ?? undefined;
    joined = await signaling.join(roomId, {
      ...(name ? { name } : {}),
      ...(token ? { token } : {}),
    });
  } catch (error) {
    const code = (error as SignalroomError).code;
    client = null;
    signaling.close();
    stopLocalMedia();
    history.replaceState(null, "", location.pathname);
    if (code === "room-full") {
      showStatus("full");
      showLobby(`Room “${roomId}” is full. Try another room name.`);
    } else if (code === "forbidden" && /locked/.test((error as Error).message)) {
      showStatus("locked");
      showLobby(`Room “${roomId}” is locked.`);
    } else if (code === "unauthorized" || code === "forbidden") {
      showStatus("unauthorized");
      showLobby(`You need an invitation link for room “${roomId}” (${(error as Error).message}).`);
    } else {
      showStatus("error", (error as Error).message);
      showLobby((error as Error).message);
    }
    return;
  }
  for (const member of joined.members ?? []) if (member.name) names.set(member.peerId, member.name);
  otherPeerId = joined.peerIds[0] ?? null;
  history.replaceState(null, "", roomUrl(joined.roomId));
  view.roomName.textContent = joined.roomId;
  const isHost = joined.role === "host";
  view.lockRoom.hidden = !isHost;
  setLocked(false);

  const peerCall = new OneToOneCall({
    signaling,
    localStream: stream,
    ...(relayOnly ? { rtcConfig: { iceTransportPolicy: "relay" } } : {}),
  });
  call = peerCall;
  peerCall.on("state", ({ state }) => onCallState(state));
  peerCall.on("remote-stream", ({ stream: remote }) => {
    if (view.remoteVideo.srcObject !== remote) view.remoteVideo.srcObject = remote;
  });
  peerCall.on("message", ({ data, peerId }) => onPeerMessage(data, peerId));
  peerCall.on("error", (error) => console.warn("call error", error));
  peerCall.on("ice-error", (error) => {
    iceErrors.push(error);
    if (error.errorCode === 401) console.warn(`TURN refused our credentials: ${error.url}`);
  });
  peerCall.start(joined);
  if (joined.peers === 0) showStatus("waiting");
}

function onCallState(state: CallState): void {
  switch (state) {
    case "waiting":
      return showStatus("waiting");
    case "connecting":
      view.remoteLabel.textContent = "";
      view.kickRemote.hidden = view.lockRoom.hidden;
      return showStatus("connecting");
    case "connected": {
      const peerId = otherPeerId ?? call?.remotePeerId;
      view.remoteLabel.textContent = (peerId && names.get(peerId)) || "Guest";
      sendMediaState();
      return showStatus("connected");
    }
    case "disconnected":
      return showStatus("disconnected");
    case "failed":
      return showStatus(
        "failed",
        iceErrors.some((e) => e.errorCode === 401)
          ? "The call could not connect: the relay server refused our credentials."
          : undefined,
      );
    case "peer-left":
      view.kickRemote.hidden = true;
      view.remoteVideo.srcObject = null;
      view.remoteMuted.hidden = true;
      view.remoteLabel.textContent = "";
      return showStatus("peer-left");
    case "ended":
      return;
  }
}

function onPeerMessage(data: unknown, _peerId: string): void {
  const message = data as Partial<MediaStateMessage> | null;
  if (message?.kind !== "media-state") return;
  view.remoteMuted.hidden = message.audio !== false;
  view.remoteTile.classList.toggle("camera-off", message.video === false);
}

function sendMediaState(): void {
  if (!call || !localStream) return;
  const state: MediaStateMessage = {
    kind: "media-state",
    audio: localStream.getAudioTracks().some((t) => t.enabled),
    video: localStream.getVideoTracks().some((t) => t.enabled),
  };
  try {
    call.sendMessage(state);
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
    view.localVideo.parentElement?.classList.toggle("camera-off", !enabled);
  }
  sendMediaState();
}

function setLocked(locked: boolean): void {
  view.lockRoom.setAttribute("aria-pressed", String(locked));
  view.lockRoom.textContent = locked ? "Unlock room" : "Lock room";
}

function resetMediaButtons(): void {
  setPressed(view.toggleMic, false, "Mute");
  setPressed(view.toggleCam, false, "Camera off");
  view.localVideo.parentElement?.classList.remove("camera-off");
}

function teardown(): void {
  call?.hangUp();
  call = null;
  const signaling = client;
  client = null;
  signaling?.close();
  view.remoteVideo.srcObject = null;
  view.remoteMuted.hidden = true;
  view.remoteTile.classList.remove("camera-off");
  view.kickRemote.hidden = true;
  view.lockRoom.hidden = true;
  names.clear();
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
view.lockRoom.addEventListener("click", () => {
  client?.lock(view.lockRoom.getAttribute("aria-pressed") !== "true");
});
view.kickRemote.addEventListener("click", () => {
  if (otherPeerId) client?.kick(otherPeerId);
});
view.toggleCam.addEventListener("click", () => toggle("video"));
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
