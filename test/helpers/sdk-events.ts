import type { SignalingClient, SignalingEvents } from "../../src/client/index.js";

/** Resolves with the next `event` of an SDK client; fails after `timeoutMs`. Tests wait for events, not time. */
export function nextEvent<K extends keyof SignalingEvents>(
  client: SignalingClient,
  event: K,
  timeoutMs = 5000,
): Promise<SignalingEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${String(event)} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = client.once(event, (payload) => {
      clearTimeout(timer);
      resolve(payload);
    });
  });
}
