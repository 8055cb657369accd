import type { MeshCall } from "signalroom/client";
import { renderLocalMedia } from "./controls.js";
import {
  type AcquiredMedia,
  acquireMedia,
  describeMissing,
  type MediaKind,
  type MissingReason,
} from "./local-media.js";
import { startScreenShare } from "./screen-share.js";
import { announce, view } from "./view.js";

/** What we tell the others about our media, through `message`. */
export interface MediaStateMessage {
  kind: "media-state";
  audio: boolean;
  video: boolean;
  /** What we send as video is a screen: show it whole, not mirrored. */
  screen: boolean;
  /** We have a camera at all (false: "No camera" rather than "Camera off"). */
  camera: boolean;
}

/** A peer's media as its `media-state` message says. */
export interface PeerMedia {
  audio: boolean;
  video: boolean;
  screen: boolean;
  camera: boolean;
}

/** Reads a peer's `media-state` message; null for any other message. */
export function parseMediaState(data: unknown): PeerMedia | null {
  const message = data as Partial<MediaStateMessage> | null;
  if (message?.kind !== "media-state") return null;
  return {
    audio: message.audio !== false,
    video: message.video !== false,
    screen: message.screen === true,
    camera: message.camera !== false,
  };
}

/**
 * Our camera, microphone and screen in one call. The call starts before
 * we ask the browser for anything (nothing turns on for a call that
 * refuses us), receiving audio and video; the tracks we get then join it
 * late (`MeshCall.replaceTrack` negotiates a kind in where nothing of it
 * was sent). Devices we could not get are named in the media notice,
 * whose "Try again" asks for them again.
 */
export class MediaSession {
  readonly #video: MediaTrackConstraints;
  #call: MeshCall | null = null;
  #stream: MediaStream | null = null;
  #starting = false;
  #missing: Partial<Record<MediaKind, MissingReason>> = {};
  #share: { preview: MediaStream; stop: () => void } | null = null;

  constructor(video: MediaTrackConstraints) {
    this.#video = video;
    this.#render();
  }

  /** Our camera and microphone tracks, or null. */
  get stream(): MediaStream | null {
    return this.#stream;
  }

  /** Asks for the camera and microphone and sends what we get into `call`. */
  async start(call: MeshCall): Promise<void> {
    this.stop();
    this.#call = call;
    this.#starting = true;
    this.#render();
    const got = await acquireMedia(["audio", "video"], this.#video);
    this.#starting = false;
    this.#adopt(call, got);
  }

  /** Asks again for the devices we do not have (after the person allowed or plugged them in). */
  async retry(): Promise<void> {
    const call = this.#call;
    const kinds = (["audio", "video"] as const).filter((k) => this.#missing[k] !== undefined);
    if (!call || kinds.length === 0) return;
    // A new camera while the screen is shared would be a second video track.
    if (kinds.includes("video")) this.#share?.stop();
    view.retryMedia.disabled = true;
    const got = await acquireMedia(kinds, this.#video);
    view.retryMedia.disabled = false;
    this.#adopt(call, got);
  }

  #adopt(call: MeshCall, got: AcquiredMedia): void {
    const tracks = got.stream?.getTracks() ?? [];
    if (call !== this.#call) {
      // The call ended while the browser was asking.
      for (const track of tracks) track.stop();
      return;
    }
    const kept = (this.#stream?.getTracks() ?? []).filter(
      (t) => !tracks.some((n) => n.kind === t.kind),
    );
    const stream = kept.length + tracks.length > 0 ? new MediaStream([...kept, ...tracks]) : null;
    this.#stream = stream;
    this.#missing = { ...got.missing };
    for (const kind of ["audio", "video"] as const) {
      if (this.#missing[kind] === undefined && !stream?.getTracks().some((t) => t.kind === kind)) {
        this.#missing[kind] = "not-found";
      }
    }
    // Late tracks take their kind's place on every connection (negotiated in), newcomers' too.
    for (const track of tracks) {
      call.replaceTrack(track.kind as MediaKind, track).catch((error: unknown) => {
        console.warn("call error", error);
      });
    }
    if (!this.#share) view.localVideo.srcObject = stream;
    this.#render();
    this.sendState();
    const notice = describeMissing(this.#missing);
    if (notice) announce(notice);
  }

  /** Mutes or unmutes the microphone, or turns the camera off or on. */
  toggle(kind: MediaKind): void {
    const tracks =
      kind === "audio" ? this.#stream?.getAudioTracks() : this.#stream?.getVideoTracks();
    if (!tracks?.length) return;
    const enabled = !tracks.some((t) => t.enabled);
    for (const track of tracks) track.enabled = enabled;
    this.#render();
    this.sendState();
  }

  /** Starts sharing the screen, or stops. */
  async toggleShare(): Promise<void> {
    if (this.#share) {
      this.#share.stop();
      return;
    }
    const call = this.#call;
    if (!call) return;
    const share = await startScreenShare(call, this.#stream, () => {
      this.#share = null;
      view.localVideo.srcObject = this.#stream;
      this.#render();
      this.sendState();
    });
    if (!share) return;
    if (call !== this.#call) {
      share.stop();
      return;
    }
    this.#share = share;
    view.localVideo.srcObject = share.preview;
    this.#render();
    this.sendState();
  }

  /** Tells one peer (or everyone) what we send. */
  sendState(to?: string): void {
    const call = this.#call;
    if (!call) return;
    const state: MediaStateMessage = {
      kind: "media-state",
      audio: this.#stream?.getAudioTracks().some((t) => t.enabled) ?? false,
      video: (this.#stream?.getVideoTracks().some((t) => t.enabled) ?? false) || !!this.#share,
      screen: !!this.#share,
      camera: (this.#stream?.getVideoTracks().length ?? 0) > 0,
    };
    try {
      call.sendMessage(state, to);
    } catch {
      // Not connected any more; the state is sent again on the next connect.
    }
  }

  /** Stops every track (camera light off) and forgets the call. */
  stop(): void {
    const share = this.#share;
    this.#share = null;
    share?.stop();
    for (const track of this.#stream?.getTracks() ?? []) track.stop();
    this.#stream = null;
    this.#call = null;
    this.#starting = false;
    this.#missing = {};
    view.localVideo.srcObject = null;
    this.#render();
  }

  #render(): void {
    const stream = this.#stream;
    renderLocalMedia({
      starting: this.#starting,
      hasAudio: (stream?.getAudioTracks().length ?? 0) > 0,
      hasVideo: (stream?.getVideoTracks().length ?? 0) > 0,
      muted: !(stream?.getAudioTracks().some((t) => t.enabled) ?? false),
      cameraOff: !(stream?.getVideoTracks().some((t) => t.enabled) ?? false),
      sharing: this.#share !== null,
    });
    const notice = this.#call ? describeMissing(this.#missing) : null;
    view.mediaNotice.hidden = notice === null;
    view.mediaNoticeText.textContent = notice ?? "";
  }
}
