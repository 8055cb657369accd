/**
 * Calls `listener` on the browser's `online` event. Returns what stops
 * it, or null where there is no such event (Node). Only `globalThis` is
 * touched, nothing else of the DOM, so the SDK runs anywhere.
 */
export function onOnline(listener: () => void): (() => void) | null {
  const target = globalThis as {
    addEventListener?: (type: string, listener: () => void) => void;
    removeEventListener?: (type: string, listener: () => void) => void;
  };
  if (typeof target.addEventListener !== "function") return null;
  target.addEventListener("online", listener);
  return () => target.removeEventListener?.("online", listener);
}
