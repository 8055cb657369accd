import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import type { Signalroom } from "../../src/server/index.js";
import {
  assertE2eEnvironment,
  assertNoCspViolations,
  framesDecoded,
  joinThroughUi,
  launchChromium,
  newPerson,
  RESULTS_DIR,
  roomsWhenIdle,
  selectedCandidateTypes,
  startServer,
  waitForFramesBeyond,
  waitForStatus,
} from "./harness.js";
import { mediaCalls, withMissingDevices } from "./page-tools.js";

describe("1:1 call in real Chromium", () => {
  let server: Signalroom;
  let browser: Browser;

  before(async () => {
    assertE2eEnvironment();
    server = await startServer();
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    assertNoCspViolations();
    await server?.close();
  });

  it("two people join through the UI, connect, see each other; a third finds the room full; hanging up shows 'left'", async () => {
    const alice = await newPerson(browser);
    const bob = await newPerson(browser);
    const room = `e2e-${Date.now()}`;

    const started = Date.now();
    await joinThroughUi(alice.page, server.url, room, "Alice");
    await waitForStatus(alice.page, "waiting");
    assert.match((await alice.page.textContent("#status-text")) ?? "", /waiting/i);
    assert.equal(new URL(alice.page.url()).searchParams.get("room"), room);

    const bobJoins = Date.now();
    await joinThroughUi(bob.page, server.url, room, "Bob");
    await Promise.all([
      waitForStatus(alice.page, "connected"),
      waitForStatus(bob.page, "connected"),
    ]);
    const now = Date.now();
    console.log(
      `# second join -> connected on both sides: ${now - bobJoins} ms (first join -> connected: ${now - started} ms)`,
    );

    // Remote video really plays on both sides: decoded frames keep increasing.
    for (const person of [alice, bob]) {
      const first = await waitForFramesBeyond(person.page, 0);
      const later = await waitForFramesBeyond(person.page, first);
      assert.ok(later > first, `frames decoded grew from ${first} to ${later}`);
    }
    const pair = await selectedCandidateTypes(bob.page);
    console.log(`# selected candidate pair: ${JSON.stringify(pair)}`);
    assert.ok(pair, "a candidate pair is selected");
    assert.equal(await alice.page.textContent(".tile.remote .label"), "Bob");
    assert.equal(await bob.page.textContent(".tile.remote .label"), "Alice");

    await bob.page.waitForTimeout(1000); // let the "connected" badge and video settle for the picture
    await bob.page.screenshot({ path: join(RESULTS_DIR, "call-connected.png") });

    // A third person: the room holds two. She is told honestly, and her camera never turned on.
    const carol = await newPerson(browser);
    await withMissingDevices(carol.context, []);
    await joinThroughUi(carol.page, server.url, room, "Carol");
    await waitForStatus(carol.page, "full");
    const advice = (await carol.page.textContent("#lobby-error")) ?? "";
    assert.match(advice, /This call is full/);
    assert.match(advice, /Ask the person who invited you/);
    assert.doesNotMatch(advice, /another room/i);
    assert.deepEqual(await mediaCalls(carol.page), [], "no camera or microphone before a refusal");
    assert.equal(await carol.page.isVisible("#lobby"), true);
    // ...and the call is untouched.
    const before = await framesDecoded(alice.page);
    await waitForFramesBeyond(alice.page, before);

    // Alice hangs up: Bob is told the other person left.
    await alice.page.click("#hang-up");
    await waitForStatus(alice.page, "ended");
    await waitForStatus(bob.page, "peer-left");
    assert.match((await bob.page.textContent("#status-text")) ?? "", /left/i);

    // The room has room again: Carol can now join Bob.
    await joinThroughUi(carol.page, server.url, room, "Carol");
    await Promise.all([
      waitForStatus(carol.page, "connected"),
      waitForStatus(bob.page, "connected"),
    ]);

    for (const person of [alice, bob, carol]) await person.context.close();
    assert.deepEqual(await roomsWhenIdle(server), { rooms: 0, members: 0, parked: 0 });
  });

  it("opening a shared link (?room=) joins that room directly; mute and camera show their state everywhere", async () => {
    const room = `link-${Date.now()}`;
    const a = await newPerson(browser, { width: 390, height: 844 });
    const b = await newPerson(browser, { width: 390, height: 844 });
    await a.page.goto(`${server.url}/?room=${encodeURIComponent(room)}&name=Ann`);
    await waitForStatus(a.page, "waiting");
    await b.page.goto(`${server.url}/?room=${encodeURIComponent(room)}&name=Ben`);
    await Promise.all([waitForStatus(a.page, "connected"), waitForStatus(b.page, "connected")]);
    assert.equal(await a.page.textContent("#room-name"), room);
    await a.page.waitForSelector("#toggle-mic:not([disabled])");

    // Muting: the button is pressed and shows the crossed-out microphone, our own tile says
    // Muted, the other side shows it too, and the control bar does not move.
    const boxes = () =>
      a.page.$$eval(".controls button", (buttons) =>
        buttons.map((b) => JSON.stringify(b.getBoundingClientRect())),
      );
    const before = await boxes();
    const iconShown = (icon: string) => a.page.isVisible(`#toggle-mic .${icon}`);
    assert.equal(await iconShown("icon-on"), true);
    await a.page.click("#toggle-mic");
    assert.equal(await a.page.getAttribute("#toggle-mic", "aria-pressed"), "true");
    assert.equal(await iconShown("icon-off"), true);
    assert.equal(await iconShown("icon-on"), false);
    assert.equal(await a.page.isVisible("#local-muted"), true, "our own tile says Muted");
    await b.page.waitForSelector(".tile.remote .muted-badge:not([hidden])", { timeout: 10_000 });
    await a.page.click("#toggle-cam");
    assert.equal(await a.page.getAttribute("#toggle-cam", "aria-pressed"), "true");
    assert.equal(await a.page.isVisible("#toggle-cam .icon-off"), true);
    await b.page.waitForSelector(".tile.remote.camera-off", { timeout: 10_000 });
    assert.deepEqual(await boxes(), before, "the control bar stays where it was");
    await a.page.click("#toggle-mic");
    await a.page.click("#toggle-cam");
    assert.equal(await a.page.isVisible("#local-muted"), false);
    await b.page.waitForSelector(".tile.remote .muted-badge[hidden]", {
      state: "attached",
      timeout: 10_000,
    });
    await b.page.waitForSelector(".tile.remote:not(.camera-off)", { timeout: 10_000 });

    // Screen share in a 1:1 call: the screen replaces the camera, the other side keeps decoding.
    await a.page.click("#share-screen");
    await a.page.waitForSelector('#share-screen[aria-pressed="true"]', { timeout: 10_000 });
    const sending = await a.page.evaluate(
      () =>
        (
          globalThis as unknown as { signalroom: { peerConnection: RTCPeerConnection } }
        ).signalroom.peerConnection
          .getSenders()
          .find((s) => s.track?.kind === "video")?.track?.label,
    );
    assert.match(sending ?? "", /screen/i);
    await waitForFramesBeyond(b.page, await framesDecoded(b.page));
    // A screen is never mirrored in the sharer's preview, and the other side shows it whole.
    const look = (page: Page, selector: string) =>
      page.$eval(selector, (v) => {
        const style = getComputedStyle(v);
        return { transform: style.transform, fit: style.objectFit };
      });
    assert.deepEqual(await look(a.page, "#local-video"), { transform: "none", fit: "contain" });
    await b.page.waitForSelector(".tile.remote.screen", { timeout: 10_000 });
    assert.equal((await look(b.page, ".tile.remote video")).fit, "contain");
    await a.page.click("#share-screen");
    await a.page.waitForSelector('#share-screen[aria-pressed="false"]', { timeout: 10_000 });
    // The camera is a mirror again.
    assert.match((await look(a.page, "#local-video")).transform, /^matrix\(-1,/);
    await b.page.waitForSelector(".tile.remote:not(.screen)", { timeout: 10_000 });
    await a.context.close();
    await waitForStatus(b.page, "peer-left");
    await b.context.close();
  });

  it("says the server is unreachable when it is", async () => {
    const lonely = await startServer();
    const person = await newPerson(browser);
    await person.page.goto(`${lonely.url}/`);
    await lonely.close();
    await person.page.fill("#room-input", "nobody-home");
    await person.page.fill("#name-input", "Nobody");
    await person.page.click("#join-button");
    await waitForStatus(person.page, "unreachable");
    assert.match((await person.page.textContent("#ended-text")) ?? "", /cannot reach the server/i);
    assert.equal(await person.page.isVisible("#status"), false, "said once, on the overlay");
    await person.context.close();
  });
});
