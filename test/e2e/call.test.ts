import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
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

    // A third person: the room holds two.
    const carol = await newPerson(browser);
    await joinThroughUi(carol.page, server.url, room, "Carol");
    await waitForStatus(carol.page, "full");
    assert.match((await carol.page.textContent("#lobby-error")) ?? "", /full/i);
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
    assert.deepEqual(await roomsWhenIdle(server), { rooms: 0, members: 0 });
  });

  it("opening a shared link (?room=) joins that room directly", async () => {
    const room = `link-${Date.now()}`;
    const a = await newPerson(browser, { width: 390, height: 844 });
    const b = await newPerson(browser, { width: 390, height: 844 });
    await a.page.goto(`${server.url}/?room=${encodeURIComponent(room)}`);
    await waitForStatus(a.page, "waiting");
    await b.page.goto(`${server.url}/?room=${encodeURIComponent(room)}`);
    await Promise.all([waitForStatus(a.page, "connected"), waitForStatus(b.page, "connected")]);
    assert.equal(await a.page.textContent("#room-name"), room);

    // Muting is shown on the other side.
    await a.page.click("#toggle-mic");
    await b.page.waitForSelector(".tile.remote .muted-badge:not([hidden])", { timeout: 10_000 });
    await a.page.click("#toggle-mic");
    await b.page.waitForSelector(".tile.remote .muted-badge[hidden]", {
      state: "attached",
      timeout: 10_000,
    });
    await b.page.screenshot({ path: join(RESULTS_DIR, "call-phone.png") });

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
    await a.page.click("#share-screen");
    await a.page.waitForSelector('#share-screen[aria-pressed="false"]', { timeout: 10_000 });
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
    await person.page.click("#join-button");
    await waitForStatus(person.page, "unreachable");
    assert.match((await person.page.textContent("#status-text")) ?? "", /cannot reach the server/i);
    await person.context.close();
  });
});
