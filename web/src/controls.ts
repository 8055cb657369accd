import { setPressed, view } from "./view.js";

/** What we send, as the control bar and our own tile show it. */
export interface LocalMediaState {
  /** Still asking the browser for the camera and microphone. */
  readonly starting: boolean;
  /** We have a microphone track / a camera track. */
  readonly hasAudio: boolean;
  readonly hasVideo: boolean;
  /** The microphone track is muted / the camera track is turned off. */
  readonly muted: boolean;
  readonly cameraOff: boolean;
  readonly sharing: boolean;
}

/**
 * Renders the mute, camera and share buttons (pressed state, icon, what
 * the tooltip says) and our own tile (muted badge, "Camera off", no
 * mirror for a screen). Button names never change: `aria-pressed` says
 * whether muted, so the bar does not shift and screen readers hear
 * "Mute, toggle button, pressed".
 */
export function renderLocalMedia(state: LocalMediaState): void {
  const { toggleMic, toggleCam, shareScreen, localTile, localMuted } = view;
  toggleMic.disabled = !state.hasAudio;
  toggleMic.toggleAttribute("data-missing", !state.hasAudio && !state.starting);
  setPressed(
    toggleMic,
    state.hasAudio && state.muted,
    !state.hasAudio
      ? "No microphone"
      : state.muted
        ? "Unmute your microphone"
        : "Mute your microphone",
  );
  toggleCam.disabled = !state.hasVideo;
  toggleCam.toggleAttribute("data-missing", !state.hasVideo && !state.starting);
  setPressed(
    toggleCam,
    state.hasVideo && state.cameraOff,
    !state.hasVideo
      ? "No camera"
      : state.cameraOff
        ? "Turn your camera on"
        : "Turn your camera off",
  );
  shareScreen.disabled = !navigator.mediaDevices?.getDisplayMedia;
  setPressed(
    shareScreen,
    state.sharing,
    state.sharing ? "Stop sharing your screen" : "Share your screen",
  );

  const silent = !state.starting && (!state.hasAudio || state.muted);
  localMuted.hidden = !silent;
  localMuted.textContent = state.hasAudio ? "Muted" : "No microphone";
  localTile.classList.toggle("screen", state.sharing);
  const showsVideo = state.sharing || (state.hasVideo && !state.cameraOff);
  localTile.classList.toggle("camera-off", !showsVideo);
  localTile.dataset.placeholder = state.starting
    ? "Starting camera…"
    : state.hasVideo
      ? "Camera off"
      : "No camera";
}
