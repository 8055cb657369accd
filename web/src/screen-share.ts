import type { MeshCall } from "signalroom/client";

/**
 * Shares the screen in place of the camera: the screen's video track takes
 * the video's place on every connection (newcomers' too), replacing the
 * camera without renegotiation, or negotiated in when no camera is being
 * sent; when sharing stops the camera (or nothing) takes it back.
 * `onEnded` runs when sharing stops, from our button or the browser's own.
 */
export async function startScreenShare(
  call: MeshCall,
  camera: MediaStream | null,
  onEnded: () => void,
): Promise<{ preview: MediaStream; stop: () => void } | null> {
  let screen: MediaStream;
  try {
    screen = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
  } catch {
    return null; // The person cancelled the picker.
  }
  const track = screen.getVideoTracks()[0];
  if (!track) return null;
  track.contentHint = "detail";
  await call.replaceTrack("video", track);

  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    track.stop();
    void call.replaceTrack("video", camera?.getVideoTracks()[0] ?? null).catch(() => {
      // The call ended meanwhile.
    });
    onEnded();
  };
  track.addEventListener("ended", stop);
  return { preview: screen, stop };
}
