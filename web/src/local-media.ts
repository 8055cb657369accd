/** Camera and microphone: asking for them one fallback at a time, and saying what is missing. */

export type MediaKind = "audio" | "video";

/** Why we have no track of a kind. */
export type MissingReason = "not-found" | "denied" | "in-use" | "unsupported" | "failed";

export interface AcquiredMedia {
  /** The tracks we got, or null when we got none. */
  readonly stream: MediaStream | null;
  /** The kinds asked for and not had, and why. */
  readonly missing: Partial<Record<MediaKind, MissingReason>>;
}

function reasonOf(error: unknown): MissingReason {
  const name = (error as { name?: string } | null)?.name ?? "";
  if (/NotFound|Overconstrained|DevicesNotFound/.test(name)) return "not-found";
  if (/NotAllowed|Security|PermissionDenied/.test(name)) return "denied";
  if (/NotReadable|TrackStart|Abort/.test(name)) return "in-use";
  return "failed";
}

/**
 * Asks for `kinds` in one request, and when that fails (one missing
 * device fails it whole) for each kind alone: audio and video, then audio
 * only, then video only, then neither. Never throws.
 */
export async function acquireMedia(
  kinds: readonly MediaKind[],
  video: MediaTrackConstraints,
): Promise<AcquiredMedia> {
  const missing: Partial<Record<MediaKind, MissingReason>> = {};
  const devices = globalThis.navigator?.mediaDevices;
  if (!devices?.getUserMedia) {
    // Only secure pages (https, localhost) get media devices.
    for (const kind of kinds) missing[kind] = "unsupported";
    return { stream: null, missing };
  }
  const ask = (which: readonly MediaKind[]) =>
    devices.getUserMedia({
      audio: which.includes("audio"),
      video: which.includes("video") ? video : false,
    });
  if (kinds.length === 0) return { stream: null, missing };
  try {
    return { stream: await ask(kinds), missing };
  } catch (error) {
    if (kinds.length === 1) {
      missing[kinds[0] as MediaKind] = reasonOf(error);
      return { stream: null, missing };
    }
  }
  const tracks: MediaStreamTrack[] = [];
  for (const kind of kinds) {
    try {
      tracks.push(...(await ask([kind])).getTracks());
    } catch (error) {
      missing[kind] = reasonOf(error);
    }
  }
  return { stream: tracks.length > 0 ? new MediaStream(tracks) : null, missing };
}

const DEVICE: Record<MediaKind, string> = { video: "camera", audio: "microphone" };

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function phrase(devices: string[], reason: MissingReason): string {
  switch (reason) {
    case "not-found":
      return `No ${devices.join(" or ")} found`;
    case "denied":
      return `${capitalized(devices.join(" and "))} blocked`;
    case "in-use":
      return `${capitalized(devices.join(" and "))} in use by another app`;
    case "unsupported":
      return "This page cannot use a camera or microphone (it needs https)";
    default:
      return `${capitalized(devices.join(" and "))} could not start`;
  }
}

/**
 * What to tell the person about the devices we could not get, or null
 * when nothing is missing: "No camera found; you can still hear and see
 * others."
 */
export function describeMissing(missing: Partial<Record<MediaKind, MissingReason>>): string | null {
  const byReason = new Map<MissingReason, string[]>();
  for (const kind of ["video", "audio"] as const) {
    const reason = missing[kind];
    if (reason === undefined) continue;
    byReason.set(reason, [...(byReason.get(reason) ?? []), DEVICE[kind]]);
  }
  if (byReason.size === 0) return null;
  const said = [...byReason].map(([reason, devices]) => phrase(devices, reason));
  let text = `${said.join("; ")}; you can still hear and see others.`;
  if (byReason.has("denied")) text += " Allow them in the browser’s site settings, then try again.";
  return text;
}
