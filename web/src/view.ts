/** The page's fixed elements, behind names; main.ts decides what to show. */

function el<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`missing #${id} in index.html`);
  return found as T;
}

/** The call's states as the page shows them; `data-state` carries the key. */
export const STATUS_TEXT = {
  idle: "Not connected",
  "connecting-server": "Connecting to the server…",
  waiting: "Waiting for someone to join…",
  connecting: "Connecting…",
  connected: "Connected",
  disconnected: "Connection unstable, trying to recover…",
  reconnecting: "Reconnecting…",
  "peer-left": "Everyone else left. Waiting for someone to join…",
  full: "This call is full.",
  unreachable: "Cannot reach the server. Check your connection and try again.",
  "server-lost": "Lost the connection to the server.",
  failed: "The call could not connect. A firewall may be blocking it.",
  error: "Something went wrong.",
  ended: "You left the call.",
  kicked: "The host removed you from the call.",
  locked: "This call is locked.",
  unauthorized: "This room needs an invitation link.",
} as const;

export type StatusKey = keyof typeof STATUS_TEXT;

export const view = {
  lobby: el<HTMLElement>("lobby"),
  lobbyIntro: el<HTMLElement>("lobby-intro"),
  call: el<HTMLElement>("call"),
  joinForm: el<HTMLFormElement>("join-form"),
  roomInput: el<HTMLInputElement>("room-input"),
  nameInput: el<HTMLInputElement>("name-input"),
  joinButton: el<HTMLButtonElement>("join-button"),
  lobbyError: el<HTMLParagraphElement>("lobby-error"),
  callBar: el<HTMLElement>("call").querySelector(".call-bar") as HTMLElement,
  roomName: el<HTMLElement>("room-name"),
  copyLink: el<HTMLButtonElement>("copy-link"),
  lockRoom: el<HTMLButtonElement>("lock-room"),
  lockBadge: el<HTMLElement>("lock-badge"),
  mediaNotice: el<HTMLElement>("media-notice"),
  mediaNoticeText: el<HTMLElement>("media-notice-text"),
  retryMedia: el<HTMLButtonElement>("retry-media"),
  stage: el<HTMLElement>("stage"),
  tileTemplate: el<HTMLTemplateElement>("tile-template"),
  localTile: el<HTMLElement>("local-tile"),
  localVideo: el<HTMLVideoElement>("local-video"),
  localLabel: el<HTMLElement>("local-label"),
  localMuted: el<HTMLElement>("local-muted"),
  status: el<HTMLElement>("status"),
  statusText: el<HTMLElement>("status-text"),
  toast: el<HTMLElement>("toast"),
  statsPanel: el<HTMLElement>("stats-panel"),
  closeStats: el<HTMLButtonElement>("close-stats"),
  statsEmpty: el<HTMLElement>("stats-empty"),
  statsPeople: el<HTMLElement>("stats-people"),
  controls: el<HTMLElement>("call").querySelector(".controls") as HTMLElement,
  toggleMic: el<HTMLButtonElement>("toggle-mic"),
  toggleCam: el<HTMLButtonElement>("toggle-cam"),
  shareScreen: el<HTMLButtonElement>("share-screen"),
  toggleStats: el<HTMLButtonElement>("toggle-stats"),
  hangUp: el<HTMLButtonElement>("hang-up"),
  ended: el<HTMLElement>("ended"),
  endedText: el<HTMLElement>("ended-text"),
  rejoin: el<HTMLButtonElement>("rejoin"),
  backToLobby: el<HTMLButtonElement>("back-to-lobby"),
  confirmDialog: el<HTMLDialogElement>("confirm-dialog"),
  confirmTitle: el<HTMLElement>("confirm-title"),
  confirmText: el<HTMLElement>("confirm-text"),
  confirmOk: el<HTMLButtonElement>("confirm-ok"),
  confirmCancel: el<HTMLButtonElement>("confirm-cancel"),
  announcer: el<HTMLElement>("announcer"),
};

/** Says `text` to screen readers (a polite live region), without showing it. */
export function announce(text: string): void {
  // Emptied first, so the same sentence twice is announced twice.
  view.announcer.textContent = "";
  setTimeout(() => {
    view.announcer.textContent = text;
  }, 100);
}

/** Shows a status; `detail` replaces the standard text (for errors). */
export function showStatus(key: StatusKey, detail?: string): void {
  view.status.dataset.state = key;
  document.body.dataset.callState = key;
  view.statusText.textContent = detail ?? STATUS_TEXT[key];
}

let toastTimer: ReturnType<typeof setTimeout> | undefined;

/** A short notice ("Ada left") that fades by itself; screen readers hear it too. */
export function showToast(text: string): void {
  view.toast.textContent = text;
  view.toast.hidden = false;
  announce(text);
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    view.toast.hidden = true;
  }, 4000);
}

/**
 * The lobby. `invite`: we came through a room's link and only need a name,
 * so the name field has the focus and the text says which room it is.
 */
export function showLobby(opts: { error?: string; invite?: string } = {}): void {
  view.call.hidden = true;
  view.lobby.hidden = false;
  view.ended.hidden = true;
  view.lobby.dataset.mode = opts.invite === undefined ? "lobby" : "invite";
  view.lobbyIntro.textContent =
    opts.invite === undefined
      ? "Video calls, peer to peer. Pick a room name and share the link."
      : `You are invited to the call in room “${opts.invite}”. What should the others call you?`;
  view.lobbyError.hidden = opts.error === undefined;
  view.lobbyError.textContent = opts.error ?? "";
  view.joinButton.disabled = false;
  if (opts.invite !== undefined) view.nameInput.focus();
  else if (!view.roomInput.value) view.roomInput.focus();
  else if (!view.nameInput.value) view.nameInput.focus();
  else view.joinButton.focus();
}

export function showCall(roomId: string): void {
  view.lobby.hidden = true;
  view.call.hidden = false;
  setEnded(false);
  view.roomName.textContent = roomId;
}

/** The call's own controls sit behind the end-of-call overlay: out of reach while it shows. */
function setEnded(ended: boolean): void {
  view.ended.hidden = !ended;
  view.status.hidden = ended;
  for (const part of [view.callBar, view.mediaNotice, view.stage, view.controls]) {
    part.inert = ended;
  }
}

/**
 * The end-of-call overlay. It carries the message (the status pill hides
 * behind it, so nothing is said twice) and takes the focus.
 */
export function showEnded(text: string, canRejoin = true): void {
  setEnded(true);
  view.endedText.textContent = text;
  view.rejoin.hidden = !canRejoin;
  view.toast.hidden = true;
  announce(text);
  (canRejoin ? view.rejoin : view.backToLobby).focus();
}

/** A toggle button's state; its name stays the same (the pressed state says the rest). */
export function setPressed(button: HTMLButtonElement, pressed: boolean, title?: string): void {
  button.setAttribute("aria-pressed", String(pressed));
  if (title !== undefined) button.title = title;
}
