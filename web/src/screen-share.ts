import type { MeshCall } from "signalroom/client";

/**
 * Shares the screen in place of the camera: the screen's video track
 * replaces the camera's on every connection (no renegotiation), or is added
 * (renegotiating each connection, newcomers included) when no camera is
 * being sent, and removed again when sharing stops. `onEnded`
 * runs when sharing stops, from our button or the browser's own.
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
  const cameraTrack = camera?.getVideoTracks()[0] ?? null;
  if (cameraTrack) await call.replaceTrack("video", track);
  else call.addTrack(track, screen);

  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    track.stop();
    if (cameraTrack) void call.replaceTrack("video", cameraTrack);
    else call.removeTrack(track);
    onEnded();
  };
  track.addEventListener("ended", stop);
  return { preview: screen, stop };
}
