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
 * OneToOneCall and MeshCall in real Chromium (fake camera and microphone),
 * on the SDK example page our server serves: it exposes the SDK as
 * `signalroomSdk` when opened without a room, and these tests drive it by hand.
 */

/** What a person sends: camera and microphone, nothing at all, or a tone from an AudioContext (no video). */
type Media = "camera" | "none" | "tone";

/** What a test page keeps of its call (`globalThis.sdkMedia`). */
interface PageCall {
  /** A OneToOneCall or a MeshCall; what the tests use of either. */
  call: {
    state?: string;
    peerConnection?: RTCPeerConnection | null;
    peers?: { peerId: string; connectionState: string; peerConnection: RTCPeerConnection }[];
    setLocalStream(stream: MediaStream | null): Promise<void>;
    addTrack(track: MediaStreamTrack, stream?: MediaStream): unknown;
  };
  peerId: string;
  /** The remote stream of each peer (key "" in a 1:1 call). */
  remotes: Record<string, MediaStream>;
  errors: string[];
  violations: string[];
}

/**
 * Plain JavaScript run in every page before its own scripts: it records
 * CSP violations and defines `sdkReceived(peerId)`, the getStats() totals
 * of the connection to that peer (see {@link Received}). A string, so that the test's transpiler
 * cannot wrap its functions in a helper the page lacks.
 */
const PAGE_SCRIPT = `
globalThis.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  globalThis.cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
globalThis.sdkReceived = async function (peerId) {
  const totals = { audioSamples: 0, audioEnergy: 0, videoFrames: 0 };
  const call = globalThis.sdkMedia?.call;
  const pc = peerId === ""
    ? call?.peerConnection
    : call?.peers.find((peer) => peer.peerId === peerId)?.peerConnection;
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
};
// The last totals read for each peer; each call starts a fresh read. For
// waitForFunction, whose predicate must answer at once (a Promise would
// count as true).
globalThis.sdkLastReceived = {};
globalThis.sdkRefreshReceived = function (peerId) {
  globalThis.sdkReceived(peerId).then((totals) => {
    globalThis.sdkLastReceived[peerId] = totals;
  });
  return globalThis.sdkLastReceived[peerId];
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
  /** What came from `peerId` ("" in a 1:1 call). */
  sdkReceived(peerId: string): Promise<Received>;
  /** Starts a new read of `sdkReceived(peerId)`; returns the last one finished, if any. */
  sdkRefreshReceived(peerId: string): Received | undefined;
}

/** One person on the example page, with PAGE_SCRIPT. */
async function openPage(browser: Browser, baseUrl: string): Promise<Page> {
  const { page } = await newPerson(browser);
  await page.addInitScript(PAGE_SCRIPT);
  await page.goto(`${baseUrl}/examples/one-to-one.html`);
  await page.waitForFunction(() => "signalroomSdk" in globalThis);
  return page;
}

/**
 * Joins `room` with `media` and starts a call (`kind`); in a 1:1 call the
 * remote stream plays in `#remote`, in a mesh each in a video of its own.
 */
async function joinWith(
  page: Page,
  room: string,
  media: Media,
  kind: "one-to-one" | "mesh" = "one-to-one",
): Promise<string> {
  return page.evaluate(
    async ({ room, media, kind }) => {
      type Sdk = typeof import("../../src/client/index.js");
      const g = globalThis as unknown as { signalroomSdk: Sdk; cspViolations: string[] };
      const { MeshCall, OneToOneCall, SignalingClient } = g.signalroomSdk;
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
      const kept: PageCall = {
        call: null as unknown as PageCall["call"],
        peerId: joined.peerId,
        remotes: {},
        errors: [],
        violations: g.cspViolations,
      };
      Object.assign(globalThis, { sdkMedia: kept });
      if (kind === "one-to-one") {
        const call = new OneToOneCall({ signaling: client, localStream });
        kept.call = call;
        call.on("remote-stream", ({ stream }) => {
          kept.remotes[""] = stream;
          (document.getElementById("remote") as HTMLVideoElement).srcObject = stream;
        });
        call.on("error", (error) => kept.errors.push(`${error.code}: ${error.message}`));
        call.start(joined);
      } else {
        const call = new MeshCall({ signaling: client, localStream });
        kept.call = call;
        call.on("stream", ({ peerId, stream }) => {
          kept.remotes[peerId] = stream;
          let video = document.getElementById(`v-${peerId}`) as HTMLVideoElement | null;
          if (!video) {
            video = document.createElement("video");
            video.id = `v-${peerId}`;
            video.autoplay = true;
            document.body.append(video);
          }
          video.srcObject = stream;
        });
        call.on("error", (error) => kept.errors.push(`${error.code}: ${error.message}`));
        call.start(joined);
      }
      return joined.peerId;
    },
    { room, media, kind },
  );
}

/** Waits until a 1:1 call is connected, or a mesh call is connected to `meshPeers` peers. */
async function waitConnected(page: Page, meshPeers = 0): Promise<void> {
  await page.waitForFunction(
    (meshPeers) => {
      const call = (globalThis as unknown as Partial<PageGlobals>).sdkMedia?.call;
      if (meshPeers === 0) return call?.state === "connected";
      const peers = call?.peers ?? [];
      return peers.length === meshPeers && peers.every((p) => p.connectionState === "connected");
    },
    meshPeers,
    { timeout: 20_000 },
  );
}

async function received(page: Page, from = ""): Promise<Received> {
  return page.evaluate((from) => (globalThis as unknown as PageGlobals).sdkReceived(from), from);
}

/**
 * Waits until each of `counters` of what `page` receives from `from` (a
 * peer id; "" in a 1:1 call) has grown past what it is now (and past zero).
 */
async function rising(
  page: Page,
  counters: (keyof Received)[],
  from = "",
  timeout = 20_000,
): Promise<void> {
  const start = await received(page, from);
  await page.waitForFunction(
    ({ counters, start, from }) => {
      const now = (globalThis as unknown as PageGlobals).sdkRefreshReceived(from);
      return now !== undefined && counters.every((c) => now[c] > Math.max(0, start[c]));
    },
    { counters, start, from },
    { polling: 250, timeout },
  );
}

/** The kinds of the tracks received from `from` ("" in a 1:1 call), sorted; null when none ever arrived. */
async function remoteKinds(page: Page, from = ""): Promise<string[] | null> {
  return page.evaluate((from) => {
    const remote = (globalThis as unknown as PageGlobals).sdkMedia.remotes[from];
    return remote
      ? remote
          .getTracks()
          .map((t) => t.kind)
          .sort()
      : null;
  }, from);
}

/**
 * Waits until the page's 1:1 connection is stable with these transceivers
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
    // Rooms of up to three, for the mesh; the 1:1 calls use two places.
    server = await startServer({ overrides: { maxPeers: 3 } });
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

  it("a mesh of three (camera, nothing, audio only): each receives what the others send", async () => {
    const id = room();
    const [camera, nothing, tone] = [
      await openPage(browser, server.url),
      await openPage(browser, server.url),
      await openPage(browser, server.url),
    ];
    // Each newcomer offers to everyone already there: the device-less one
    // offers to the camera, the tone offers to both.
    const cameraId = await joinWith(camera, id, "camera", "mesh");
    const nothingId = await joinWith(nothing, id, "none", "mesh");
    const toneId = await joinWith(tone, id, "tone", "mesh");
    await Promise.all([camera, nothing, tone].map((page) => waitConnected(page, 2)));

    await rising(nothing, ["videoFrames", "audioSamples", "audioEnergy"], cameraId);
    await rising(nothing, ["audioSamples", "audioEnergy"], toneId);
    await rising(tone, ["videoFrames", "audioSamples", "audioEnergy"], cameraId);
    await rising(camera, ["audioSamples", "audioEnergy"], toneId);
    assert.deepEqual(await remoteKinds(nothing, cameraId), ["audio", "video"]);
    assert.deepEqual(await remoteKinds(nothing, toneId), ["audio"]);
    assert.deepEqual(await remoteKinds(camera, toneId), ["audio"]);
    // Nothing comes from the one who sends nothing.
    assert.equal(await remoteKinds(camera, nothingId), null);
    assert.equal(await remoteKinds(tone, nothingId), null);
    for (const page of [camera, nothing, tone]) await assertClean(page);
    for (const page of [camera, nothing, tone]) await page.context().close();
  });
});
