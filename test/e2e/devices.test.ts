import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import type { Signalroom } from "../../src/server/index.js";
import {
  assertE2eEnvironment,
  assertNoCspViolations,
  framesDecoded,
  launchChromium,
  newPerson,
  startServer,
  waitForFramesBeyond,
  waitForStatus,
} from "./harness.js";
import { mediaCalls, plugDevicesIn, withMissingDevices } from "./page-tools.js";

/** Packets of remote audio the page has received, from getStats(). */
async function audioPackets(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const pc = (globalThis as unknown as { signalroom: { peerConnection: RTCPeerConnection } })
      .signalroom.peerConnection;
    let packets = 0;
    (await pc.getStats()).forEach(
      (r: { type: string; kind?: string; packetsReceived?: number }) => {
        if (r.type === "inbound-rtp" && r.kind === "audio") packets += r.packetsReceived ?? 0;
      },
    );
    return packets;
  });
}

async function waitForAudio(page: Page): Promise<void> {
  const deadline = Date.now() + 20_000;
  while ((await audioPackets(page)) === 0) {
    if (Date.now() > deadline) throw new Error("no audio packets arrived");
    await page.waitForTimeout(200);
  }
}

describe("joining without a camera or a microphone", () => {
  let server: Signalroom;
  let browser: Browser;

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

  /** A call of `name` (devices as `missing` says, joining second) with Ben, who has both. */
  async function callWith(name: string, missing: ("audio" | "video")[]) {
    const room = `devices-${name}-${Date.now()}`;
    const ben = await newPerson(browser);
    await ben.page.goto(`${server.url}/?room=${room}&name=Ben`);
    await waitForStatus(ben.page, "waiting");
    const guest = await newPerson(browser);
    await withMissingDevices(guest.context, missing);
    await guest.page.goto(`${server.url}/?room=${room}&name=${name}`);
    await Promise.all([
      waitForStatus(ben.page, "connected"),
      waitForStatus(guest.page, "connected"),
    ]);
    await guest.page.waitForSelector("#media-notice", { state: "visible" });
    return { ben, guest };
  }

  it("no camera: audio only, says so, still sees the others; Try again brings the camera into the call", async () => {
    const { ben, guest } = await callWith("Cam", ["video"]);
    assert.equal(
      await guest.page.textContent("#media-notice-text"),
      "No camera found; you can still hear and see others.",
    );
    // One request for both, then each alone.
    assert.deepEqual(await mediaCalls(guest.page), ["audio+video", "audio", "video"]);
    assert.equal(await guest.page.isEnabled("#toggle-mic"), true);
    assert.equal(await guest.page.isDisabled("#toggle-cam"), true);
    assert.equal(await guest.page.getAttribute("#local-tile", "data-placeholder"), "No camera");
    await waitForFramesBeyond(guest.page, 0); // she sees Ben
    await waitForAudio(ben.page); // Ben hears her
    await ben.page.waitForSelector('.tile.remote.camera-off[data-placeholder="No camera"]');

    // She plugs a camera in (or allows it) and presses Try again: the camera joins the call.
    await plugDevicesIn(guest.page);
    await guest.page.click("#retry-media");
    await guest.page.waitForSelector("#media-notice", { state: "hidden" });
    assert.equal(await guest.page.isEnabled("#toggle-cam"), true);
    await ben.page.waitForSelector(".tile.remote:not(.camera-off)", { timeout: 10_000 });
    await waitForFramesBeyond(ben.page, await framesDecoded(ben.page));
    await ben.context.close();
    await guest.context.close();
  });

  it("no microphone: video only, says so, and the own tile shows it", async () => {
    const { ben, guest } = await callWith("Mic", ["audio"]);
    assert.equal(
      await guest.page.textContent("#media-notice-text"),
      "No microphone found; you can still hear and see others.",
    );
    assert.equal(await guest.page.isDisabled("#toggle-mic"), true);
    assert.equal(await guest.page.textContent("#local-muted"), "No microphone");
    assert.equal(await guest.page.isVisible("#local-muted"), true);
    await waitForFramesBeyond(ben.page, 0); // Ben sees her
    await waitForAudio(guest.page); // she hears Ben
    await ben.page.waitForSelector(".tile.remote .muted-badge:not([hidden])");
    await ben.context.close();
    await guest.context.close();
  });

  it("neither: joins second with nothing to send, and still hears and sees the others", async () => {
    const { ben, guest } = await callWith("None", ["audio", "video"]);
    assert.equal(
      await guest.page.textContent("#media-notice-text"),
      "No camera or microphone found; you can still hear and see others.",
    );
    await waitForFramesBeyond(guest.page, 0);
    await waitForAudio(guest.page);
    await ben.page.waitForSelector(".tile.remote.camera-off");
    await ben.context.close();
    await guest.context.close();
  });
});
