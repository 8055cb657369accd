import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import type { Signalroom } from "../../src/server/index.js";
import { observed, watch } from "./call-watch.js";
import {
  assertE2eEnvironment,
  assertNoCspViolations,
  launchChromium,
  newPerson,
  startServer,
  waitForStatus,
} from "./harness.js";
import { mediaCalls, withMissingDevices } from "./page-tools.js";

describe("names in the web app", () => {
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

  it("?name= joins directly under that name; a link without one asks once, and the device remembers", async () => {
    const room = `names-${Date.now()}`;
    const link = `${server.url}/?room=${encodeURIComponent(room)}`;

    // A link made for Ada: straight in, named, and the name is neither kept nor left in the address.
    const ada = await newPerson(browser);
    await ada.page.goto(`${link}&name=Ada`);
    await waitForStatus(ada.page, "waiting");
    assert.equal(await ada.page.textContent("#local-label"), "Ada (you)");
    assert.equal(new URL(ada.page.url()).searchParams.get("name"), null);
    assert.equal(
      await ada.page.evaluate(() => localStorage.getItem("signalroom.name")),
      null,
      "a link's name is not this device's",
    );
    await watch(ada.page);

    // A link without a name, on a new device: one question, in a form, before anything starts.
    const grace = await newPerson(browser);
    await withMissingDevices(grace.context, []);
    await grace.page.goto(link);
    await grace.page.waitForSelector('#lobby[data-mode="invite"]');
    assert.match((await grace.page.textContent("#lobby-intro")) ?? "", new RegExp(room));
    assert.equal(
      await grace.page.evaluate(() => document.activeElement?.id),
      "name-input",
      "the name field has the focus",
    );
    assert.equal(await grace.page.isVisible("#call"), false);
    assert.deepEqual(await mediaCalls(grace.page), [], "no camera before she is in");
    await grace.page.keyboard.type("Grace");
    await grace.page.keyboard.press("Enter");
    await Promise.all([
      waitForStatus(grace.page, "connected"),
      waitForStatus(ada.page, "connected"),
    ]);
    assert.equal(await grace.page.textContent("#local-label"), "Grace (you)");
    assert.equal(await grace.page.textContent(".tile.remote .label"), "Ada");
    assert.equal(await ada.page.textContent(".tile.remote .label"), "Grace");
    assert.equal(await grace.page.evaluate(() => localStorage.getItem("signalroom.name")), "Grace");

    // The same device opens the link again (a new tab): no question this time.
    const again = await grace.context.newPage();
    await again.goto(link);
    await waitForStatus(again, "connected");
    assert.equal(await again.textContent("#local-label"), "Grace (you)");
    await again.close();

    // Toasts name people: nobody is a "Guest p3Gn".
    await grace.page.click("#hang-up");
    await waitForStatus(grace.page, "ended");
    await ada.page.waitForFunction(() => document.querySelectorAll(".tile.remote").length === 0);
    const seen = await observed(ada.page);
    assert.ok(seen.toasts.includes("Grace joined"), JSON.stringify(seen.toasts));
    assert.ok(seen.toasts.includes("Grace left"), JSON.stringify(seen.toasts));
    assert.ok(!seen.toasts.some((t) => /Guest/.test(t)), JSON.stringify(seen.toasts));

    await ada.context.close();
    await grace.context.close();
  });
});
