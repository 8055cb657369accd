import { CallSession } from "./call-session.js";
import { MediaSession } from "./media-session.js";
import {
  readPageOptions,
  rememberedName,
  rememberName,
  roomPath,
  tokenName,
} from "./page-options.js";
import { bindStatsKeys, StatsPanel } from "./stats-panel.js";
import { showLobby, view } from "./view.js";

/*
 * The web app's composition root. Page options (all optional):
 *   ?room=NAME   join that room directly
 *   ?name=Ada    as Ada (otherwise the name this device remembers, or we ask once)
 *   #token=JWT   a join token from the operator's backend (also ?token=)
 *   ?relay=1     all media through TURN
 *   ?quality=low 320x240 at 15 fps, for slow uplinks and big mesh calls
 */
const options = readPageOptions();
const media = new MediaSession(
  options.lowQuality
    ? { width: { ideal: 320 }, height: { ideal: 240 }, frameRate: { ideal: 15 } }
    : { width: { ideal: 1280 }, height: { ideal: 720 } },
);
const stats = new StatsPanel(() => session.call?.peers ?? []);
const session = new CallSession(options, media, () => stats.close());
bindStatsKeys(stats);

/** For debugging and the end-to-end tests: the live objects. */
(globalThis as { signalroom?: unknown }).signalroom = {
  get client() {
    return session.client;
  },
  get call() {
    return session.call;
  },
  /** Our camera and microphone, as sent into the call. */
  get localStream() {
    return media.stream;
  },
  /** The connection to the first other participant (1:1 calls). */
  get peerConnection() {
    return session.call?.peers[0]?.peerConnection ?? null;
  },
  get peerConnections() {
    return session.call?.peers.map((p) => p.peerConnection) ?? [];
  },
  iceErrors: session.iceErrors,
};

view.joinForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const roomId = view.roomInput.value.trim();
  const name = view.nameInput.value.trim();
  if (!roomId || !name) return;
  rememberName(name);
  void session.join(roomId, name);
});
view.toggleMic.addEventListener("click", () => media.toggle("audio"));
view.toggleCam.addEventListener("click", () => media.toggle("video"));
view.shareScreen.addEventListener("click", () => void media.toggleShare());
view.retryMedia.addEventListener("click", () => void media.retry());
view.lockRoom.addEventListener("click", () => void session.toggleLock());
view.toggleStats.addEventListener("click", () => stats.toggle());
view.closeStats.addEventListener("click", () => stats.close());
view.hangUp.addEventListener("click", () => void session.hangUp());
view.rejoin.addEventListener("click", () => session.rejoin());
view.backToLobby.addEventListener("click", () => session.backToLobby());
view.copyLink.addEventListener("click", async () => {
  const roomId = session.roomId;
  if (!roomId) return;
  // The room's link as anyone may open it: no token, no name.
  const link = new URL(roomPath(roomId, options), location.href).href;
  try {
    await navigator.clipboard.writeText(link);
    view.copyLink.textContent = "Link copied";
  } catch {
    view.copyLink.textContent = "Copy the address bar";
  }
  setTimeout(() => {
    view.copyLink.textContent = "Copy link";
  }, 2000);
});
// A new network (Wi-Fi to LTE): new ICE candidates now rather than after ICE notices.
window.addEventListener("online", () => session.call?.restartIce());
window.addEventListener("pagehide", () => {
  session.client?.close();
});

// A link's name, else the token's (the server uses that one), else what this device remembers.
const knownName = options.linkName ?? tokenName(options.token) ?? rememberedName();
view.nameInput.value = options.linkName ?? rememberedName();
if (options.room) {
  view.roomInput.value = options.room;
  if (knownName) void session.join(options.room, knownName);
  else showLobby({ invite: options.room });
} else {
  showLobby();
}
