/** Everything the app shows, behind names; main.ts decides what to show. */

function el<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`missing #${id} in index.html`);
  return found as T;
}

/** The call's states as the page shows them; `data-state` carries the key. */
export const STATUS_TEXT = {
  idle: "Not connected",
  media: "Starting camera and microphone…",
  "connecting-server": "Connecting to the server…",
  waiting: "Waiting for the other person to join…",
  connecting: "Connecting…",
  connected: "Connected",
  disconnected: "Connection unstable, trying to recover…",
  "peer-left": "The other person left. Waiting for someone to join…",
  full: "This room is full.",
  unreachable: "Cannot reach the server. Check your connection and try again.",
  "server-lost": "Lost the connection to the server.",
  failed: "The call could not connect. A firewall may be blocking it.",
  error: "Something went wrong.",
  ended: "You left the call.",
  kicked: "The host removed you from the call.",
  locked: "This room is locked.",
  unauthorized: "This room needs an invitation link.",
} as const;

export type StatusKey = keyof typeof STATUS_TEXT;

export const view = {
  lobby: el<HTMLElement>("lobby"),
  call: el<HTMLElement>("call"),
  joinForm: el<HTMLFormElement>("join-form"),
  roomInput: el<HTMLInputElement>("room-input"),
  nameInput: el<HTMLInputElement>("name-input"),
  joinButton: el<HTMLButtonElement>("join-button"),
  lobbyError: el<HTMLParagraphElement>("lobby-error"),
  roomName: el<HTMLElement>("room-name"),
  copyLink: el<HTMLButtonElement>("copy-link"),
  lockRoom: el<HTMLButtonElement>("lock-room"),
  kickRemote: el<HTMLButtonElement>("kick-remote"),
  remoteTile: el<HTMLElement>("remote-tile"),
  remoteVideo: el<HTMLVideoElement>("remote-video"),
  remoteLabel: el<HTMLElement>("remote-label"),
  remoteMuted: el<HTMLElement>("remote-muted"),
  localVideo: el<HTMLVideoElement>("local-video"),
  status: el<HTMLElement>("status"),
  statusText: el<HTMLElement>("status-text"),
  toggleMic: el<HTMLButtonElement>("toggle-mic"),
  toggleCam: el<HTMLButtonElement>("toggle-cam"),
  hangUp: el<HTMLButtonElement>("hang-up"),
  ended: el<HTMLElement>("ended"),
  endedText: el<HTMLElement>("ended-text"),
  rejoin: el<HTMLButtonElement>("rejoin"),
  backToLobby: el<HTMLButtonElement>("back-to-lobby"),
};

/** Shows a status; `detail` replaces the standard text (for errors). */
export function showStatus(key: StatusKey, detail?: string): void {
  view.status.dataset.state = key;
  document.body.dataset.callState = key;
  view.statusText.textContent = detail ?? STATUS_TEXT[key];
  view.remoteTile.classList.toggle("has-peer", key === "connected" || key === "disconnected");
}

export function showLobby(error?: string): void {
  view.call.hidden = true;
  view.lobby.hidden = false;
  view.ended.hidden = true;
  view.lobbyError.hidden = error === undefined;
  view.lobbyError.textContent = error ?? "";
  view.joinButton.disabled = false;
  view.roomInput.focus();
}

export function showCall(roomId: string): void {
  view.lobby.hidden = true;
  view.call.hidden = false;
  view.ended.hidden = true;
  view.roomName.textContent = roomId;
}

export function showEnded(text: string, canRejoin = true): void {
  view.ended.hidden = false;
  view.endedText.textContent = text;
  view.rejoin.hidden = !canRejoin;
}

export function setPressed(button: HTMLButtonElement, pressed: boolean, label: string): void {
  button.setAttribute("aria-pressed", String(pressed));
  button.title = label;
  const text = button.querySelector(".control-label");
  if (text) text.textContent = label;
}
