import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import type { Signalroom } from "../../src/server/index.js";
import {
  assertE2eEnvironment,
  assertNoCspViolations,
  launchChromium,
  newPerson,
  RESULTS_DIR,
  roomsWhenIdle,
  startServer,
  waitForFramesBeyond,
  waitForStatus,
} from "./harness.js";
import { waitForPicture } from "./page-tools.js";

const PHONE = { width: 390, height: 844 };

/**
 * Counts the page's getStats() calls, so a test can tell whether the
 * panel polls. Plain script text: nothing of the test's transpiler reaches the page.
 */
async function countGetStats(context: BrowserContext): Promise<void> {
  await context.addInitScript({
    content: `(() => {
      const real = RTCPeerConnection.prototype.getStats;
      globalThis.__getStatsCalls = 0;
      RTCPeerConnection.prototype.getStats = function (...args) {
        globalThis.__getStatsCalls += 1;
        return real.apply(this, args);
      };
    })();`,
  });
}

async function getStatsCalls(page: Page): Promise<number> {
  return page.evaluate(
    () => (globalThis as unknown as { __getStatsCalls: number }).__getStatsCalls,
  );
}

/** The panel's cells for the person called `name`, by `data-stat`; null without their table. */
async function panelRow(page: Page, name: string): Promise<Record<string, string> | null> {
  return page.evaluate((n) => {
    const table = [...document.querySelectorAll("#stats-panel .stats-person")].find(
      (t) => t.querySelector("caption")?.textContent === n,
    );
    if (!table) return null;
    return Object.fromEntries(
      [...table.querySelectorAll<HTMLElement>("td[data-stat]")].map((td) => [
        td.dataset.stat ?? "",
        td.textContent ?? "",
      ]),
    );
  }, name);
}

/** The remote video's size as the page plays it, as the panel writes it. */
async function remoteResolution(page: Page): Promise<string> {
  return page.$eval(".tile.remote video", (v) => {
    const video = v as HTMLVideoElement;
    return `${video.videoWidth}×${video.videoHeight}`;
  });
}

/**
 * Waits (bounded) until the panel's row for `name` shows a measured
 * connection: a round trip in ms, data coming in, the picture's size as
 * the video element has it, and the host candidates of a loopback call.
 */
async function waitForMeasuredRow(page: Page, name: string): Promise<Record<string, string>> {
  const deadline = Date.now() + 20_000;
  let row: Record<string, string> | null = null;
  let resolution = "";
  for (;;) {
    row = await panelRow(page, name);
    resolution = await remoteResolution(page);
    const down = Number.parseInt(row?.receive ?? "", 10);
    if (
      row &&
      /^\d+(\.\d)? ms$/.test(row.rtt ?? "") &&
      /^\d+ kbit\/s$/.test(row.receive ?? "") &&
      down > 0 &&
      row.resolution === resolution &&
      row.route?.startsWith("host ↔ host")
    )
      return row;
    if (Date.now() > deadline) {
      throw new Error(
        `the stats panel never showed ${name}'s connection: ${JSON.stringify(row)} (video ${resolution})`,
      );
    }
    await page.waitForTimeout(250);
  }
}

async function isOpen(page: Page): Promise<boolean> {
  const pressed = await page.getAttribute("#toggle-stats", "aria-pressed");
  const visible = await page.isVisible("#stats-panel");
  assert.equal(pressed === "true", visible, "the button's pressed state matches the panel");
  return visible;
}

/** getStats() calls over `ms`: none from a closed panel, about one a second from an open one. */
async function callsDuring(page: Page, ms: number): Promise<number> {
  const before = await getStatsCalls(page);
  await page.waitForTimeout(ms);
  return (await getStatsCalls(page)) - before;
}

describe("the call statistics panel in real Chromium", () => {
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

  it("the i key and the button open it with the other person's measured connection; closed, it polls nothing", async () => {
    const room = `stats-${Date.now()}`;
    const ann = await newPerson(browser);
    await countGetStats(ann.context);
    const ben = await newPerson(browser, PHONE);
    await ann.page.goto(`${server.url}/?room=${room}&name=Ann`);
    await waitForStatus(ann.page, "waiting");
    await ben.page.goto(`${server.url}/?room=${room}&name=Ben`);
    await Promise.all([waitForStatus(ann.page, "connected"), waitForStatus(ben.page, "connected")]);
    await waitForFramesBeyond(ann.page, 0);
    await waitForPicture(ann.page, ".tile.remote video");

    // The button as assistive technology finds it, closed; nothing polls yet.
    const button = ann.page.getByRole("button", { name: "Call Stats" });
    assert.equal(await button.getAttribute("aria-keyshortcuts"), "i");
    assert.equal(await isOpen(ann.page), false);
    assert.equal(await callsDuring(ann.page, 1500), 0, "a closed panel calls getStats()");

    // Modifier chords belong to the browser and the system, not to the panel.
    await ann.page.keyboard.press("Control+i");
    await ann.page.keyboard.press("Alt+i");
    assert.equal(await isOpen(ann.page), false);

    // `i` opens it: a region with a heading, one table per person, captioned with their name.
    await ann.page.keyboard.press("i");
    assert.equal(await isOpen(ann.page), true);
    assert.ok(await ann.page.getByRole("region", { name: "Call statistics" }).isVisible());
    const table = ann.page.getByRole("table", { name: "Ben" });
    await table.waitFor({ timeout: 5000 });
    assert.ok(await table.getByRole("rowheader", { name: "Round trip" }).isVisible());
    const row = await waitForMeasuredRow(ann.page, "Ben");
    console.log(`# Ann's stats panel for Ben: ${JSON.stringify(row)}`);
    assert.match(row.send ?? "", /^\d+ kbit\/s$/);
    assert.match(row.loss ?? "", /^\d+\.\d %$/);
    assert.match(row.fps ?? "", /^\d+ fps$/);
    assert.match(row.route ?? "", /^host ↔ host \((udp|tcp)\)$/);
    const polls = await callsDuring(ann.page, 3000);
    assert.ok(polls >= 2 && polls <= 4, `an open panel polled ${polls} times in 3 s`);
    await ann.page.screenshot({ path: join(RESULTS_DIR, "stats-panel.png") });

    // The button closes it, and the polling stops.
    await button.click();
    assert.equal(await isOpen(ann.page), false);
    assert.equal(await callsDuring(ann.page, 2500), 0, "a closed panel calls getStats()");

    // The button opens it the same way; Escape closes it.
    await button.click();
    assert.equal(await isOpen(ann.page), true);
    await waitForMeasuredRow(ann.page, "Ben");
    await ann.page.keyboard.press("Escape");
    assert.equal(await isOpen(ann.page), false);
    assert.equal(await callsDuring(ann.page, 2500), 0, "a closed panel calls getStats()");
    // The panel's own Close button gives the focus back to the toggle, not to the page's body.
    await button.click();
    await ann.page.getByRole("button", { name: "Close call statistics" }).click();
    assert.equal(await isOpen(ann.page), false);
    assert.equal(await ann.page.evaluate(() => document.activeElement?.id), "toggle-stats");

    // On a phone upright: the panel over the video, inside the screen, every control still there.
    await ben.page.keyboard.press("i");
    assert.equal(await isOpen(ben.page), true);
    const phoneRow = await waitForMeasuredRow(ben.page, "Ann");
    console.log(`# Ben's stats panel (phone) for Ann: ${JSON.stringify(phoneRow)}`);
    const panel = await ben.page.locator("#stats-panel").boundingBox();
    assert.ok(panel, "the panel is on screen");
    assert.ok(
      panel.x >= 0 && panel.x + panel.width <= PHONE.width,
      `panel ${JSON.stringify(panel)}`,
    );
    assert.ok(panel.y >= 0 && panel.y + panel.height <= PHONE.height);
    const controls = await ben.page.$$eval(".controls .control", (buttons) =>
      buttons.map((b) => {
        const r = b.getBoundingClientRect();
        return { id: b.id, left: r.left, right: r.right, bottom: r.bottom };
      }),
    );
    for (const c of controls) {
      assert.ok(c.left >= 0 && c.right <= PHONE.width && c.bottom <= PHONE.height, c.id);
    }
    await ben.page.screenshot({ path: join(RESULTS_DIR, "stats-panel-phone.png") });

    // Leaving with the panel open closes it: nothing polls a call that is over.
    await ann.page.keyboard.press("i");
    assert.equal(await isOpen(ann.page), true);
    await ann.page.click("#hang-up");
    await waitForStatus(ann.page, "ended");
    assert.equal(await isOpen(ann.page), false);
    assert.equal(await callsDuring(ann.page, 2500), 0, "the panel polls after the call ended");
    // The end-of-call overlay has the keyboard: `i` does not open a panel behind it.
    await ann.page.keyboard.press("i");
    assert.equal(await isOpen(ann.page), false);
    // Ben's open panel lets Ann's table go with her.
    await ben.page.waitForSelector("#stats-empty", { state: "visible", timeout: 10_000 });
    assert.equal(await panelRow(ben.page, "Ann"), null);

    for (const person of [ann, ben]) await person.context.close();
    assert.deepEqual(await roomsWhenIdle(server), { rooms: 0, members: 0, parked: 0 });
  });
});
