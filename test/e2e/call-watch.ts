import type { Browser, BrowserContext, Page } from "playwright-core";
import { newPerson, waitForFramesBeyond, waitForStatus } from "./harness.js";

/* Helpers for tests that disturb a call of the web app and check what the pages went through. */

export type Person = { context: BrowserContext; page: Page };

/** What the page's `window.signalroom` offers the tests. */
export interface PageApi {
  client: { state: string; peerId: string | null } | null;
  peerConnection: RTCPeerConnection | null;
}

/**
 * Starts recording, in the page, every toast shown and every status the
 * pill takes, and keeps the call's current RTCPeerConnection and our peer
 * id, to compare with what is there after the outage.
 */
export async function watch(page: Page): Promise<void> {
  await page.evaluate(() => {
    const api = (globalThis as unknown as { signalroom: PageApi }).signalroom;
    const toast = document.getElementById("toast") as HTMLElement;
    const status = document.getElementById("status") as HTMLElement;
    const seen = { toasts: [] as string[], states: [] as string[] };
    new MutationObserver(() => {
      if (!toast.hidden) seen.toasts.push(toast.textContent ?? "");
    }).observe(toast, { attributes: true, childList: true, characterData: true, subtree: true });
    new MutationObserver(() => {
      const state = status.dataset.state ?? "";
      if (seen.states.at(-1) !== state) seen.states.push(state);
    }).observe(status, { attributes: true, attributeFilter: ["data-state"] });
    Object.assign(globalThis, {
      __seen: seen,
      __before: { pc: api.peerConnection, peerId: api.client?.peerId ?? null },
    });
  });
}

/** What `watch` recorded, and how the page's call compares with before. */
export async function observed(page: Page): Promise<{
  toasts: string[];
  states: string[];
  samePeerConnection: boolean;
  samePeerId: boolean;
  signaling: string | null;
  labels: string[];
  endedVisible: boolean;
}> {
  return page.evaluate(() => {
    const g = globalThis as unknown as {
      signalroom: PageApi;
      __seen: { toasts: string[]; states: string[] };
      __before: { pc: RTCPeerConnection | null; peerId: string | null };
    };
    return {
      toasts: [...g.__seen.toasts],
      states: [...g.__seen.states],
      samePeerConnection: g.signalroom.peerConnection === g.__before.pc,
      samePeerId: g.signalroom.client?.peerId === g.__before.peerId,
      signaling: g.signalroom.client?.state ?? null,
      labels: [...document.querySelectorAll(".tile.remote .label")].map((e) => e.textContent ?? ""),
      endedVisible: !(document.getElementById("ended") as HTMLElement).hidden,
    };
  });
}

export async function signalingState(page: Page): Promise<string | null> {
  return page.evaluate(
    () => (globalThis as unknown as { signalroom: PageApi }).signalroom.client?.state ?? null,
  );
}

/** What the pages logged as call errors (the app warns "call error" for each). */
export const callErrors: string[] = [];

export async function person(browser: Browser): Promise<Person> {
  const p = await newPerson(browser);
  p.page.on("console", (message) => {
    if (message.text().startsWith("call error")) callErrors.push(message.text());
  });
  return p;
}

/** The ICE ufrags of a page's connection now: ours and theirs. */
export async function ufrags(page: Page): Promise<{ local: string; remote: string }> {
  return page.evaluate(() => {
    const pc = (globalThis as unknown as { signalroom: PageApi }).signalroom.peerConnection;
    // No named helper: the test's transpiler would wrap it in a function the page lacks.
    const [local = "", remote = ""] = [pc?.localDescription, pc?.remoteDescription].map(
      (d) => /^a=ice-ufrag:(\S+)/m.exec(d?.sdp ?? "")?.[1] ?? "",
    );
    return { local, remote };
  });
}

/**
 * Alice and Bob in a call at `baseUrl` (Alice first), video playing both
 * ways; `query` is added to the room link (e.g. `relay=1`).
 */
export async function startCall(
  browser: Browser,
  baseUrl: string,
  room: string,
  query = "",
): Promise<Person[]> {
  const people: Person[] = [];
  for (const name of ["Alice", "Bob"]) {
    const p = await person(browser);
    await p.page.goto(`${baseUrl}/`);
    await p.page.evaluate((n) => localStorage.setItem("signalroom.name", n), name);
    await p.page.goto(`${baseUrl}/?room=${encodeURIComponent(room)}${query ? `&${query}` : ""}`);
    await waitForStatus(p.page, name === "Alice" ? "waiting" : "connected");
    people.push(p);
  }
  await Promise.all(people.map((p) => waitForStatus(p.page, "connected")));
  for (const { page } of people) await waitForFramesBeyond(page, 0);
  return people;
}

/** Waits until the page's connection is back in a stable, connected call with new ICE credentials on both sides. */
export async function waitForIceRestarted(
  page: Page,
  old: { local: string; remote: string },
  timeout: number,
): Promise<void> {
  await page.waitForFunction(
    (before) => {
      const pc = (globalThis as unknown as { signalroom: PageApi }).signalroom.peerConnection;
      if (pc === null) return false;
      const [local, remote] = [pc.localDescription, pc.remoteDescription].map(
        (d) => /^a=ice-ufrag:(\S+)/m.exec(d?.sdp ?? "")?.[1] ?? "",
      );
      return (
        pc.signalingState === "stable" &&
        pc.connectionState === "connected" &&
        local !== before.local &&
        remote !== before.remote
      );
    },
    old,
    { timeout },
  );
}

/** Waits until the SDK example page shows one of `states`. */
export async function waitForExampleState(page: Page, ...states: string[]): Promise<void> {
  await page.waitForSelector(states.map((s) => `#state[data-state="${s}"]`).join(", "), {
    state: "attached",
    timeout: 30_000,
  });
}

/** Decoded frames on the SDK example page's own call (it exposes `exampleCall`). */
export async function exampleFrames(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const pc = (
      globalThis as unknown as { exampleCall?: { peerConnection: RTCPeerConnection | null } }
    ).exampleCall?.peerConnection;
    let frames = 0;
    (await pc?.getStats())?.forEach(
      (r: { type: string; kind?: string; framesDecoded?: number }) => {
        if (r.type === "inbound-rtp" && r.kind === "video") frames += r.framesDecoded ?? 0;
      },
    );
    return frames;
  });
}
