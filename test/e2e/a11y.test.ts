import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
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
import { withMissingDevices } from "./page-tools.js";

const AXE_SOURCE = readFileSync(
  createRequire(import.meta.url).resolve("axe-core/axe.min.js"),
  "utf8",
);

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/**
 * Runs axe-core on the page as it is now and returns its violations. The
 * source goes in through `page.evaluate` (the DevTools protocol), not a
 * `<script>` element, so the page's Content-Security-Policy stays in force.
 */
async function axeViolations(page: Page): Promise<Violation[]> {
  const loaded = await page.evaluate(() => "axe" in globalThis);
  if (!loaded) await page.evaluate(AXE_SOURCE);
  return page.evaluate(async () => {
    const axe = (
      globalThis as unknown as { axe: { run: (...args: unknown[]) => Promise<unknown> } }
    ).axe;
    // A fade caught halfway (the connected pill fades 2.5 s after the call
    // connects) has a contrast no one reads for long, and when axe met it
    // depended on timing. So a finite animation already under way runs to its
    // end first, and one still waiting out its delay is held where it is
    // while axe looks: the page is checked in states that last.
    const held: Animation[] = [];
    const running: Promise<Animation>[] = [];
    for (const a of document.getAnimations()) {
      const timing = a.effect?.getComputedTiming();
      if (a.playState !== "running") continue;
      if (!timing || !Number.isFinite(timing.endTime ?? Number.POSITIVE_INFINITY)) continue;
      if (timing.progress === null) {
        a.pause();
        held.push(a);
      } else {
        running.push(a.finished);
      }
    }
    await Promise.all(running);
    const result = (await axe.run(document, { resultTypes: ["violations"] }).finally(() => {
      for (const a of held) a.play();
    })) as {
      violations: {
        id: string;
        impact: string | null;
        help: string;
        nodes: { target: string[] }[];
      }[];
    };
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => n.target.join(" ")),
    }));
  });
}

/** Fails on serious or critical violations; prints the rest. */
async function assertAccessible(page: Page, what: string): Promise<void> {
  const violations = await axeViolations(page);
  for (const v of violations) {
    console.log(`# axe (${what}): ${v.impact} ${v.id}: ${v.help} at ${v.nodes.join(", ")}`);
  }
  const bad = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(bad, [], `${what}: serious or critical accessibility violations`);
}

/** Presses Tab until `id` has the focus (at most `limit` times); returns the ids passed. */
async function tabTo(page: Page, id: string, limit = 30): Promise<string[]> {
  const passed: string[] = [];
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press("Tab");
    const now = await page.evaluate(() => document.activeElement?.id ?? "");
    passed.push(now);
    if (now === id) return passed;
  }
  throw new Error(`Tab never reached #${id}; it went through ${passed.join(", ")}`);
}

/** The focused element shows a visible focus ring (keyboard focus). */
async function assertFocusVisible(page: Page): Promise<void> {
  const ring = await page.evaluate(() => {
    const el = document.activeElement as HTMLElement;
    const style = getComputedStyle(el);
    return {
      id: el.id,
      matches: el.matches(":focus-visible"),
      style: style.outlineStyle,
      width: Number.parseFloat(style.outlineWidth),
    };
  });
  assert.ok(ring.matches, `#${ring.id} matches :focus-visible`);
  assert.ok(
    ring.style !== "none" && ring.width >= 2,
    `#${ring.id} has a ring: ${JSON.stringify(ring)}`,
  );
}

describe("accessibility and keyboard use of the web app", () => {
  let server: Signalroom;
  let browser: Browser;

  before(async () => {
    assertE2eEnvironment();
    server = await startServer({ overrides: { maxPeers: 4 } });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    assertNoCspViolations();
  });

  it("axe finds nothing serious in the lobby, the name question, a 1:1 call, a mesh call and after leaving", async () => {
    const room = `a11y-${Date.now()}`;
    const ann = await newPerson(browser);
    await ann.page.goto(`${server.url}/`);
    await assertAccessible(ann.page, "lobby");
    await ann.page.goto(`${server.url}/?room=${room}`);
    await ann.page.waitForSelector('#lobby[data-mode="invite"]');
    await assertAccessible(ann.page, "name question");
    await ann.page.fill("#name-input", "Ann");
    await ann.page.click("#join-button");
    await waitForStatus(ann.page, "waiting");

    // Ben has no camera: the call shows the media notice too.
    const ben = await newPerson(browser);
    await withMissingDevices(ben.context, ["video"]);
    await ben.page.goto(`${server.url}/?room=${room}&name=Ben`);
    await Promise.all([waitForStatus(ann.page, "connected"), waitForStatus(ben.page, "connected")]);
    await ben.page.waitForSelector("#media-notice", { state: "visible" });
    await assertAccessible(ann.page, "1:1 call");
    await assertAccessible(ben.page, "1:1 call without a camera");
    // The statistics panel, open over the video with Ben's figures in it.
    await ann.page.keyboard.press("i");
    await ann.page.waitForSelector("#stats-panel .stats-person", { timeout: 10_000 });
    await assertAccessible(ann.page, "1:1 call with the statistics panel");
    await ann.page.keyboard.press("i");

    const cat = await newPerson(browser, { width: 390, height: 844 });
    await cat.page.goto(`${server.url}/?room=${room}&name=Cat`);
    for (const { page } of [ann, ben, cat]) {
      await page.waitForFunction(
        () =>
          [...document.querySelectorAll(".tile.remote")].filter(
            (t) => (t as HTMLElement).dataset.state === "connected",
          ).length === 2,
        undefined,
        { timeout: 30_000 },
      );
    }
    await assertAccessible(ann.page, "mesh call");
    await assertAccessible(cat.page, "mesh call on a phone");
    await cat.page.click("#toggle-stats");
    await cat.page.waitForFunction(
      () => document.querySelectorAll("#stats-panel .stats-person").length === 2,
      undefined,
      { timeout: 10_000 },
    );
    await assertAccessible(cat.page, "mesh call on a phone with the statistics panel");
    await cat.page.click("#toggle-stats");

    await cat.page.click("#hang-up");
    await waitForStatus(cat.page, "ended");
    await assertAccessible(cat.page, "after leaving");
    for (const person of [ann, ben, cat]) await person.context.close();
  });

  it("every control by keyboard: Tab reaches it with a visible ring, Enter and Space work", async () => {
    const room = `keys-${Date.now()}`;
    const ann = await newPerson(browser);
    await ann.page.goto(`${server.url}/`);
    // The lobby: Tab to each field, type, Enter joins.
    await tabTo(ann.page, "room-input");
    await assertFocusVisible(ann.page);
    await ann.page.keyboard.type(room);
    await tabTo(ann.page, "name-input");
    await ann.page.keyboard.type("Ann");
    await tabTo(ann.page, "join-button");
    await assertFocusVisible(ann.page);
    await ann.page.keyboard.press("Enter");
    await waitForStatus(ann.page, "waiting");

    const ben = await newPerson(browser);
    await ben.page.goto(`${server.url}/?room=${room}&name=Ben`);
    await Promise.all([waitForStatus(ann.page, "connected"), waitForStatus(ben.page, "connected")]);
    await ann.page.waitForSelector("#toggle-cam:not([disabled])");

    // Every control of the call, in order, each with a focus ring.
    for (const id of ["copy-link", "toggle-mic", "toggle-cam", "share-screen", "hang-up"]) {
      await tabTo(ann.page, id);
      await assertFocusVisible(ann.page);
    }
    await tabTo(ann.page, "toggle-mic");
    await ann.page.keyboard.press("Space");
    assert.equal(await ann.page.getAttribute("#toggle-mic", "aria-pressed"), "true");
    await ben.page.waitForSelector(".tile.remote .muted-badge:not([hidden])");
    await ann.page.keyboard.press("Enter");
    assert.equal(await ann.page.getAttribute("#toggle-mic", "aria-pressed"), "false");
    await tabTo(ann.page, "toggle-cam");
    await ann.page.keyboard.press("Enter");
    assert.equal(await ann.page.getAttribute("#toggle-cam", "aria-pressed"), "true");
    await ann.page.keyboard.press("Space");
    assert.equal(await ann.page.getAttribute("#toggle-cam", "aria-pressed"), "false");
    await tabTo(ann.page, "share-screen");
    await ann.page.keyboard.press("Enter");
    await ann.page.waitForSelector('#share-screen[aria-pressed="true"]');
    await ann.page.keyboard.press("Enter");
    await ann.page.waitForSelector('#share-screen[aria-pressed="false"]');

    // Leaving: the overlay takes the focus, and the call's controls are out of reach behind it.
    await tabTo(ann.page, "hang-up");
    await ann.page.keyboard.press("Enter");
    await waitForStatus(ann.page, "ended");
    assert.equal(await ann.page.evaluate(() => document.activeElement?.id), "rejoin");
    await assertFocusVisible(ann.page);
    const reachable = new Set<string>();
    for (let i = 0; i < 6; i++) {
      await ann.page.keyboard.press("Tab");
      reachable.add(await ann.page.evaluate(() => document.activeElement?.id ?? ""));
    }
    assert.ok(!reachable.has("toggle-mic") && !reachable.has("hang-up"), [...reachable].join());
    await tabTo(ann.page, "rejoin");
    await ann.page.keyboard.press("Enter");
    await waitForStatus(ann.page, "connected");
    for (const person of [ann, ben]) await person.context.close();
  });
});
