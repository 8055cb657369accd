import type { PeerMedia } from "./media-session.js";
import { view } from "./view.js";

/** How a tile shows a peer's connection. */
const STATE_TEXT: Partial<Record<RTCPeerConnectionState, string>> = {
  new: "Connecting…",
  connecting: "Connecting…",
  disconnected: "Reconnecting…",
  failed: "Could not connect",
};

/** One remote participant's tile in the grid. */
export interface Tile {
  readonly peerId: string;
  readonly element: HTMLElement;
  /** The name shown on the tile. */
  readonly label: string;
  /** The same person under a new peer id (after a re-join). */
  setPeerId(peerId: string): void;
  setName(name: string | undefined): void;
  setStream(stream: MediaStream): void;
  setState(state: RTCPeerConnectionState): void;
  /** What they send, as their `media-state` message says. */
  setMedia(media: PeerMedia): void;
  /** Shows the host's remove button. */
  setKickable(kickable: boolean, onKick: () => void): void;
  remove(): void;
}

/** What a nameless peer (a client that sent no name) is called. */
export const NAMELESS = "Guest";

/** Creates a remote tile from the template and puts it in the grid. */
export function addTile(firstPeerId: string): Tile {
  let peerId = firstPeerId;
  const fragment = view.tileTemplate.content.cloneNode(true) as DocumentFragment;
  const element = fragment.querySelector("figure") as HTMLElement;
  const video = element.querySelector("video") as HTMLVideoElement;
  const label = element.querySelector(".label") as HTMLElement;
  const muted = element.querySelector(".muted-badge") as HTMLElement;
  const stateText = element.querySelector(".tile-state") as HTMLElement;
  const kick = element.querySelector(".kick") as HTMLButtonElement;
  const kickName = element.querySelector(".kick-name") as HTMLElement;
  element.dataset.peerId = peerId;
  label.textContent = NAMELESS;
  kickName.textContent = ` ${NAMELESS}`;
  stateText.textContent = STATE_TEXT.new ?? "";
  view.stage.insertBefore(element, view.localTile);
  updateCount();
  // The tile can take the picture's shape (see the one-to-one layout); CSSOM, which the CSP allows.
  video.addEventListener("resize", () => {
    if (video.videoWidth > 0 && video.videoHeight > 0) {
      element.style.setProperty("--aspect", String(video.videoWidth / video.videoHeight));
    }
  });
  let onKick = () => {};
  kick.addEventListener("click", () => onKick());

  return {
    get peerId() {
      return peerId;
    },
    element,
    get label() {
      return label.textContent ?? "";
    },
    setPeerId(next) {
      peerId = next;
      element.dataset.peerId = next;
    },
    setName(name) {
      label.textContent = name || NAMELESS;
      kickName.textContent = ` ${label.textContent}`;
    },
    setStream(stream) {
      if (video.srcObject !== stream) video.srcObject = stream;
    },
    setState(state) {
      element.dataset.state = state;
      stateText.textContent = STATE_TEXT[state] ?? "";
    },
    setMedia({ audio, video: videoOn, screen, camera }) {
      muted.hidden = audio;
      element.classList.toggle("camera-off", !videoOn);
      element.classList.toggle("screen", screen);
      element.dataset.placeholder = camera ? "Camera off" : "No camera";
    },
    setKickable(kickable, handler) {
      kick.hidden = !kickable;
      onKick = handler;
    },
    remove() {
      video.srcObject = null;
      element.remove();
      updateCount();
    },
  };
}

/** The grid lays itself out by the number of tiles (you included). */
export function updateCount(): void {
  view.stage.dataset.count = String(view.stage.querySelectorAll(".tile").length);
}
