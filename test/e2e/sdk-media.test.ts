import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import type { Signalroom } from "../../src/server/index.js";
import {
  assertE2eEnvironment,
  assertNoCspViolations,
  launchChromium,
  newPerson,
  startServer,
} from "./harness.js";

/*
 * Calls between people who send different media, through the SDK's
 * OneToOneCall in real Chromium (fake camera and microphone), on the SDK
 * example page our server serves: it exposes the SDK as `signalroomSdk`
 * when opened without a room, and these tests drive it by hand.
 */

/** What a person sends: camera and microphone, nothing at all, or a tone from an AudioContext (no video). */
type Media = "camera" | "none" | "tone";

/** What a test page keeps of its call (`globalThis.sdkMedia`). */
interface PageCall {
  call: {
    state: string;
    peerConnection: RTCPeerConnection | null;
    setLocalStream(stream: MediaStream | null): Promise<void>;
    addTrack(track: MediaStreamTrack, stream?: MediaStream): RTCRtpSender | null;
  };
  remote: MediaStream | null;
  errors: string[];
  violations: string[];
}

/**
 * Plain JavaScript run in every page before its own scripts: it records
 * CSP violations and defines `sdkReceived()`, the getStats() totals of the
 * call (see {@link Received}). A string, so that the test's transpiler
 * cannot wrap its functions in a helper the page lacks.
 */
const PAGE_SCRIPT = `
globalThis.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  globalThis.cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
globalThis.sdkReceived = async function () {
  const totals = { audioSamples: 0, audioEnergy: 0, videoFrames: 0 };
  const pc = globalThis.sdkMedia?.call.peerConnection;
  if (!pc) return totals;
  (await pc.getStats()).forEach((report) => {
    if (report.type !== "inbound-rtp") return;
    if (report.kind === "audio") {
      totals.audioSamples += report.totalSamplesReceived ?? 0;
      totals.audioEnergy += report.totalAudioEnergy ?? 0;
    } else if (report.kind === "video") {
      totals.videoFrames += report.framesDecoded ?? 0;
    }
  });
  return totals;
};`;

/** What a page's connection has received so far, from getStats(). */
interface Received {
  /** inbound-rtp audio `totalSamplesReceived`. */
  audioSamples: number;
  /** inbound-rtp audio `totalAudioEnergy`: zero for silence. */
  audioEnergy: number;
  /** inbound-rtp video `framesDecoded`. */
  videoFrames: number;
}

/** What the tests read of a page. */
interface PageGlobals {
  sdkMedia: PageCall;
  sdkReceived(): Promise<Received>;
}

/** One person on the example page, with PAGE_SCRIPT. */
async function openPage(browser: Browser, baseUrl: string): Promise<Page> {
  const { page } = await newPerson(browser);
  await page.addInitScript(PAGE_SCRIPT);
  await page.goto(`${baseUrl}/examples/one-to-one.html`);
  await page.waitForFunction(() => "signalroomSdk" in globalThis);
  return page;
}

/** Joins `room` with `media` and starts a OneToOneCall; the remote stream plays in `#remote`. */
async function joinWith(page: Page, room: string, media: Media): Promise<void> {
  await page.evaluate(
    async ({ room, media }) => {
      type Sdk = typeof import("../../src/client/index.js");
      const g = globalThis as unknown as { signalroomSdk: Sdk; cspViolations: string[] };
      const { OneToOneCall, SignalingClient } = g.signalroomSdk;
      let localStream: MediaStream | null = null;
      if (media === "camera") {
        localStream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
      } else if (media === "tone") {
        const audio = new AudioContext();
        const oscillator = audio.createOscillator();
        const destination = audio.createMediaStreamDestination();
        oscillator.connect(destination);
        oscillator.start();
        localStream = destination.stream;
      }
      const client = new SignalingClient({ url: `ws://${location.host}/ws` });
      await client.connect();
      const joined = await client.join(room);
      const call = new OneToOneCall({ signaling: client, localStream });
      const kept = { call, remote: null as MediaStream | null, errors: [] as string[] };
      Object.assign(globalThis, { sdkMedia: { ...kept, violations: g.cspViolations } });
      const video = document.getElementById("remote") as HTMLVideoElement;
      call.on("remote-stream", ({ stream }) => {
        (globalThis as unknown as { sdkMedia: PageCall }).sdkMedia.remote = stream;
        video.srcObject = stream;
      });
      call.on("error", (error) => {
        (globalThis as unknown as { sdkMedia: PageCall }).sdkMedia.errors.push(
          `${error.code}: ${error.message}`,
        );
      });
      call.start(joined);
    },
    { room, media },
  );
}

async function waitConnected(page: Page): Promise<void> {
  await page.waitForFunction(
    () => (globalThis as unknown as Partial<PageGlobals>).sdkMedia?.call.state === "connected",
    undefined,
    { timeout: 20_000 },
  );
}

async function received(page: Page): Promise<Received> {
  return page.evaluate(() => (globalThis as unknown as PageGlobals).sdkReceived());
}

/** Waits until each of `counters` on `page` has grown past what it is now (and past zero). */
async function rising(page: Page, counters: (keyof Received)[], timeout = 20_000): Promise<void> {
  const start = await received(page);
  await page.waitForFunction(
    async ({ counters, start }) => {
      const now = await (globalThis as unknown as PageGlobals).sdkReceived();
      return counters.every((c) => now[c] > Math.max(0, start[c]));
    },
    { counters, start },
    { polling: 250, timeout },
  );
}

/** The kinds of the remote stream's tracks, sorted; null when no track ever arrived. */
async function remoteKinds(page: Page): Promise<string[] | null> {
  return page.evaluate(() => {
    const remote = (globalThis as unknown as PageGlobals).sdkMedia.remote;
    return remote
      ? remote
          .getTracks()
          .map((t) => t.kind)
          .sort()
      : null;
  });
}

/**
 * Waits until the page's connection is stable with these transceivers
 * (`kind direction/currentDirection`, in order): renegotiation is over.
 */
async function settledOn(page: Page, expected: string[]): Promise<void> {
  await page.waitForFunction(
    (expected) => {
      const pc = (globalThis as unknown as PageGlobals).sdkMedia.call.peerConnection;
      if (pc?.signalingState !== "stable") return false;
      const now = pc
        .getTransceivers()
        .map((t) => `${t.receiver.track.kind} ${t.direction}/${t.currentDirection}`);
      return JSON.stringify(now) === JSON.stringify(expected);
    },
    expected,
    { polling: 100, timeout: 20_000 },
  );
}

/** Fails on any call error or CSP violation the page recorded. */
async function assertClean(page: Page): Promise<void> {
  const { errors, violations } = await page.evaluate(() => {
    const kept = (globalThis as unknown as PageGlobals).sdkMedia;
    return { errors: kept.errors, violations: kept.violations };
  });
  assert.deepEqual(errors, [], "call errors");
  assert.deepEqual(violations, [], "Content-Security-Policy violations");
}

describe("the SDK connects people whatever media they send (real Chromium)", () => {
  let server: Signalroom;
  let browser: Browser;
  let n = 0;
  const room = () => `media-${Date.now()}-${++n}`;

  before(async () => {
    assertE2eEnvironment();
    server = await startServer();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    assertNoCspViolations();
  });

  it("a person with no camera and no microphone, joining second (the offerer), connects and sees and hears the other", async () => {
    const id = room();
    const withCamera = await openPage(browser, server.url);
    const deviceless = await openPage(browser, server.url);
    await joinWith(withCamera, id, "camera");
    await joinWith(deviceless, id, "none");
    await Promise.all([waitConnected(withCamera), waitConnected(deviceless)]);

    await rising(deviceless, ["videoFrames", "audioSamples", "audioEnergy"]);
    assert.deepEqual(await remoteKinds(deviceless), ["audio", "video"]);
    // One transceiver per kind on each side: it asks for both, the other sends both.
    await settledOn(deviceless, ["audio recvonly/recvonly", "video recvonly/recvonly"]);
    await settledOn(withCamera, ["audio sendrecv/sendonly", "video sendrecv/sendonly"]);
    // It sends nothing, so the other side has no stream of theirs to show.
    assert.equal(await remoteKinds(withCamera), null);
    for (const page of [withCamera, deviceless]) await assertClean(page);
    for (const page of [withCamera, deviceless]) await page.context().close();
  });

  it("a person sending only audio (an AudioContext tone, no video) connects both ways", async () => {
    const id = room();
    const withCamera = await openPage(browser, server.url);
    const audioOnly = await openPage(browser, server.url);
    await joinWith(withCamera, id, "camera");
    await joinWith(audioOnly, id, "tone");
    await Promise.all([waitConnected(withCamera), waitConnected(audioOnly)]);

    // The tone is heard (energy: not silence), and no video is expected from it.
    await rising(withCamera, ["audioSamples", "audioEnergy"]);
    assert.deepEqual(await remoteKinds(withCamera), ["audio"]);
    await rising(audioOnly, ["videoFrames", "audioSamples"]);
    assert.deepEqual(await remoteKinds(audioOnly), ["audio", "video"]);
    await settledOn(audioOnly, ["audio sendrecv/sendrecv", "video recvonly/recvonly"]);
    await settledOn(withCamera, ["audio sendrecv/sendrecv", "video sendrecv/sendonly"]);
    assert.deepEqual((await received(withCamera)).videoFrames, 0);
    for (const page of [withCamera, audioOnly]) await assertClean(page);
    for (const page of [withCamera, audioOnly]) await page.context().close();
  });

  it("tracks that come later (a camera after the call started) are negotiated in, on either side", async () => {
    const id = room();
    const first = await openPage(browser, server.url);
    const second = await openPage(browser, server.url);
    // Nobody sends anything: the call still connects (both kinds received, none sent).
    await joinWith(first, id, "none");
    await joinWith(second, id, "none");
    await Promise.all([waitConnected(first), waitConnected(second)]);
    await settledOn(second, ["audio recvonly/inactive", "video recvonly/inactive"]);

    // The offerer gets a camera and a microphone: the whole stream, late.
    await second.evaluate(async () => {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
      await (globalThis as unknown as PageGlobals).sdkMedia.call.setLocalStream(stream);
    });
    await rising(first, ["videoFrames", "audioSamples", "audioEnergy"]);
    assert.deepEqual(await remoteKinds(first), ["audio", "video"]);
    await settledOn(second, ["audio sendrecv/sendonly", "video sendrecv/sendonly"]);

    // The one who answered gets a camera: one track, added to the call.
    await first.evaluate(async () => {
      const stream = await navigator.mediaDevices.getUserMedia({ video: true });
      const track = stream.getVideoTracks()[0] as MediaStreamTrack;
      (globalThis as unknown as PageGlobals).sdkMedia.call.addTrack(track, stream);
    });
    await rising(second, ["videoFrames"]);
    assert.deepEqual(await remoteKinds(second), ["video"]);
    // Still one transceiver per kind on each side: the late tracks took theirs over.
    await settledOn(first, ["audio recvonly/recvonly", "video sendrecv/sendrecv"]);
    await settledOn(second, ["audio sendrecv/sendonly", "video sendrecv/sendrecv"]);
    for (const page of [first, second]) await assertClean(page);
    for (const page of [first, second]) await page.context().close();
  });
});
