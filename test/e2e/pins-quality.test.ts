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
  waitForStatus,
} from "./harness.js";

interface VideoSettings {
  readonly width?: number;
  readonly height?: number;
  readonly frameRate?: number;
}

/** The settings of the camera track the page sends into the call, once it has one (bounded). */
async function cameraSettings(page: Page): Promise<VideoSettings> {
  const handle = await page.waitForFunction(
    () => {
      const app = (globalThis as { signalroom?: { localStream: MediaStream | null } }).signalroom;
      const track = app?.localStream?.getVideoTracks()[0];
      if (!track) return null;
      const { width, height, frameRate } = track.getSettings();
      return { width, height, frameRate };
    },
    undefined,
    { timeout: 20_000 },
  );
  return (await handle.jsonValue()) as VideoSettings;
}

/**
 * `?quality=low` caps the camera at 320x240 and 15 fps (README, "Calls of
 * more than two"). Chromium's fake camera honours whatever size it is
 * asked for, so the track's settings show what the app asked.
 */
describe("?quality=low in the web app, in real Chromium", () => {
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

  it("asks the camera for 320x240 at 15 fps with ?quality=low, and for more without it", async () => {
    const room = `quality-${Date.now()}`;
    // One page at a time: Chromium's fake camera is one device, and a second
    // page opening it while the first holds it gets the size it already has.
    const normal = await newPerson(browser);
    await normal.page.goto(`${server.url}/?room=${room}-normal&name=Normal`);
    await waitForStatus(normal.page, "waiting");
    const normalSettings = await cameraSettings(normal.page);
    assert.ok(
      (normalSettings.width ?? 0) > 320,
      `camera settings without ?quality=low: ${JSON.stringify(normalSettings)}`,
    );
    await normal.context.close();

    const low = await newPerson(browser);
    await low.page.goto(`${server.url}/?room=${room}-low&name=Low&quality=low`);
    await waitForStatus(low.page, "waiting");
    const lowSettings = await cameraSettings(low.page);
    assert.deepEqual(
      { width: lowSettings.width, height: lowSettings.height },
      { width: 320, height: 240 },
      `camera settings with ?quality=low: ${JSON.stringify(lowSettings)}`,
    );
    assert.ok(
      (lowSettings.frameRate ?? Number.POSITIVE_INFINITY) <= 15,
      `frame rate with ?quality=low: ${JSON.stringify(lowSettings)}`,
    );
    await low.context.close();
  });
});
