/** The page's fixed elements, behind names; main.ts decides what to show. */

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
  waiting: "Waiting for someone to join…",
  connecting: "Connecting…",
  connected: "Connected",
  disconnected: "Connection unstable, trying to recover…",
  reconnecting: "Reconnecting…",
  "peer-left": "Everyone else left. Waiting for someone to join…",
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
  stage: el<HTMLElement>("stage"),
  tileTemplate: el<HTMLTemplateElement>("tile-template"),
  localTile: el<HTMLElement>("local-tile"),
  localVideo: el<HTMLVideoElement>("local-video"),
  status: el<HTMLElement>("status"),
  statusText: el<HTMLElement>("status-text"),
  toast: el<HTMLElement>("toast"),
  toggleMic: el<HTMLButtonElement>("toggle-mic"),
  toggleCam: el<HTMLButtonElement>("toggle-cam"),
  shareScreen: el<HTMLButtonElement>("share-screen"),
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
}

let toastTimer: ReturnType<typeof setTimeout> | undefined;

/** A short notice ("Ada left") that fades by itself. */
export function showToast(text: string): void {
  view.toast.textContent = text;
  view.toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    view.toast.hidden = true;
  }, 4000);
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
