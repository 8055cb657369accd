import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import type { Signalroom } from "../../src/server/index.js";
import {
  assertE2eEnvironment,
  assertNoCspViolations,
  launchChromium,
  newPerson,
  RESULTS_DIR,
  startServer,
  waitForStatus,
} from "./harness.js";
import { linesOf, videoVisibleShare, waitForPicture } from "./page-tools.js";

const PORTRAIT = { width: 390, height: 844 };
const LANDSCAPE = { width: 844, height: 390 };
const REMOTE = ".tile.remote video";

async function box(page: Page, selector: string) {
  const found = await page.locator(selector).boundingBox();
  assert.ok(found, `${selector} is on screen`);
  return found;
}

/** The status pill fits on one or two lines, inside the screen. */
async function assertStatusFits(page: Page): Promise<void> {
  const lines = await linesOf(page, "#status-text");
  const text = await page.textContent("#status-text");
  assert.ok(lines <= 2, `"${text}" takes ${lines} lines`);
  const pill = await box(page, "#status");
  const width = page.viewportSize()?.width ?? 0;
  assert.ok(pill.x >= 0 && pill.x + pill.width <= width, "the pill is on screen");
}

describe("the web app on a phone", () => {
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

  it("portrait and landscape: the status on one or two lines, the other person's whole video", async () => {
    const room = `phone-${Date.now()}`;
    const phone = await newPerson(browser, PORTRAIT);
    await phone.page.goto(`${server.url}/?room=${room}&name=Pia`);
    await waitForStatus(phone.page, "waiting");
    await assertStatusFits(phone.page);

    const desk = await newPerson(browser);
    await desk.page.goto(`${server.url}/?room=${room}&name=Dev`);
    await Promise.all([
      waitForStatus(phone.page, "connected"),
      waitForStatus(desk.page, "connected"),
    ]);
    await waitForPicture(phone.page, REMOTE);

    // Upright: Dev's 16:9 camera is shown whole, across the phone's width.
    const upright = await videoVisibleShare(phone.page, REMOTE);
    console.log(`# phone portrait, remote video: ${JSON.stringify(upright)}`);
    assert.ok(upright.share >= 0.9, `only ${Math.round(upright.share * 100)}% of the video shows`);
    assert.ok(upright.width >= PORTRAIT.width * 0.9, "the video takes the phone's width");
    const controls = await box(phone.page, ".controls");
    assert.ok(controls.y + controls.height <= PORTRAIT.height, "the controls are on screen");
    await phone.page.waitForTimeout(3500); // the "Connected" pill fades before the picture
    await phone.page.screenshot({ path: join(RESULTS_DIR, "phone.png") });

    // On its side: still the whole video, the controls along the right edge.
    await phone.page.setViewportSize(LANDSCAPE);
    const sideways = await videoVisibleShare(phone.page, REMOTE);
    console.log(`# phone landscape, remote video: ${JSON.stringify(sideways)}`);
    assert.ok(sideways.share >= 0.9);
    assert.ok(sideways.height >= LANDSCAPE.height * 0.75, "the video keeps most of the height");
    const stage = await box(phone.page, "#stage");
    const bar = await box(phone.page, ".controls");
    assert.ok(bar.x >= stage.x + stage.width, "controls to the right of the video");
    assert.ok(bar.y + bar.height <= LANDSCAPE.height, "every control is on screen");
    await phone.page.screenshot({ path: join(RESULTS_DIR, "phone-landscape.png") });

    // Dev leaves: the longer message still fits on two lines, upright and sideways.
    await desk.context.close();
    await waitForStatus(phone.page, "peer-left");
    await assertStatusFits(phone.page);
    await phone.page.setViewportSize(PORTRAIT);
    await assertStatusFits(phone.page);
    await phone.context.close();
  });
});
