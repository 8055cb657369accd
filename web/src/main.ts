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

let client: SignalingClient | null = null;
let call: OneToOneCall | null = null;
let localStream: MediaStream | null = null;
let currentRoom: string | null = null;
const names = new Map<string, string>();

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
};

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
  signaling.on("close", () => {
    if (client !== signaling) return;
    showStatus("server-lost");
    showEnded("Lost the connection to the server.");
    teardown();
  });
  signaling.on("peer-joined", ({ peerId, name: peerName }) => {
    if (peerName) names.set(peerId, peerName);
  });

  let joined: Awaited<ReturnType<SignalingClient["join"]>>;
  try {
    joined = await signaling.join(roomId, name ? { name } : {});
  } catch (error) {
    const code = (error as SignalroomError).code;
    client = null;
    signaling.close();
    stopLocalMedia();
    history.replaceState(null, "", location.pathname);
    if (code === "room-full") {
      showStatus("full");
      showLobby(`Room “${roomId}” is full. Try another room name.`);
    } else {
      showStatus("error", (error as Error).message);
      showLobby((error as Error).message);
    }
    return;
  }
  for (const member of joined.members ?? []) if (member.name) names.set(member.peerId, member.name);
  history.replaceState(null, "", `?room=${encodeURIComponent(joined.roomId)}`);
  view.roomName.textContent = joined.roomId;

  const peerCall = new OneToOneCall({ signaling, localStream: stream });
  call = peerCall;
  peerCall.on("state", ({ state }) => onCallState(state));
  peerCall.on("remote-stream", ({ stream: remote }) => {
    if (view.remoteVideo.srcObject !== remote) view.remoteVideo.srcObject = remote;
  });
  peerCall.on("message", ({ data, peerId }) => onPeerMessage(data, peerId));
  peerCall.on("error", (error) => console.warn("call error", error));
  peerCall.start(joined);
  if (joined.peers === 0) showStatus("waiting");
}

function onCallState(state: CallState): void {
  switch (state) {
    case "waiting":
      return showStatus("waiting");
    case "connecting":
      view.remoteLabel.textContent = "";
      return showStatus("connecting");
    case "connected": {
      const peerId = call?.remotePeerId;
      view.remoteLabel.textContent = (peerId && names.get(peerId)) || "Guest";
      sendMediaState();
      return showStatus("connected");
    }
    case "disconnected":
      return showStatus("disconnected");
    case "failed":
      return showStatus("failed");
    case "peer-left":
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
view.toggleCam.addEventListener("click", () => toggle("video"));
view.hangUp.addEventListener("click", () => void hangUp());
view.rejoin.addEventListener("click", () => {
  teardown();
  if (currentRoom) void join(currentRoom);
});
view.backToLobby.addEventListener("click", () => {
  teardown();
  stopLocalMedia();
  history.replaceState(null, "", location.pathname);
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
const roomFromUrl = new URLSearchParams(location.search).get("room")?.trim();
if (roomFromUrl) {
  view.roomInput.value = roomFromUrl;
  void join(roomFromUrl);
} else {
  showLobby();
}
