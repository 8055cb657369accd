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
  roomsWhenIdle,
  startServer,
} from "./harness.js";

/** Decoded video frames per remote peer, from each connection's getStats(). */
async function framesPerPeer(page: Page): Promise<number[]> {
  return page.evaluate(async () => {
    const pcs = (globalThis as unknown as { signalroom: { peerConnections: RTCPeerConnection[] } })
      .signalroom.peerConnections;
    return Promise.all(
      pcs.map(async (pc) => {
        let frames = 0;
        (await pc.getStats()).forEach(
          (r: { type: string; kind?: string; framesDecoded?: number }) => {
            if (r.type === "inbound-rtp" && r.kind === "video") frames += r.framesDecoded ?? 0;
          },
        );
        return frames;
      }),
    );
  });
}

/** Waits until the page shows `count` remote tiles, all connected. */
async function waitForConnectedTiles(page: Page, count: number, timeout = 60_000): Promise<void> {
  await page.waitForFunction(
    (n) => {
      const tiles = [...document.querySelectorAll(".tile.remote")];
      return (
        tiles.length === n && tiles.every((t) => (t as HTMLElement).dataset.state === "connected")
      );
    },
    count,
    { timeout },
  );
}

/** Every remote video on the page is playing: each connection's decoded frames grow. */
async function assertAllVideoPlays(page: Page, peers: number): Promise<void> {
  const first = await framesPerPeer(page);
  assert.equal(first.length, peers);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const now = await framesPerPeer(page);
    if (now.every((frames, i) => frames > (first[i] ?? 0))) return;
    if (Date.now() > deadline)
      throw new Error(`frames did not grow on every tile: ${first} -> ${now}`);
    await page.waitForTimeout(250);
  }
}

describe("mesh call of four, then five, in real Chromium", () => {
  let server: Signalroom;
  let browser: Browser;

  before(async () => {
    assertE2eEnvironment();
    server = await startServer({ overrides: { maxPeers: 8 } });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    assertNoCspViolations();
  });

  it("connects everyone to everyone, removes a leaver's tile everywhere, and connects a newcomer to all", async () => {
    const room = `mesh-${Date.now()}`;
    const url = `${server.url}/?room=${room}&quality=low`;
    const people = [];
    const started = Date.now();
    for (const name of ["Ann", "Ben", "Cat", "Dan"]) {
      const person = await newPerson(browser, { width: 800, height: 600 });
      await person.page.goto(`${server.url}/`);
      await person.page.evaluate((n) => localStorage.setItem("signalroom.name", n), name);
      await person.page.goto(url);
      people.push(person);
    }
    const joined = Date.now();
    for (const person of people) await waitForConnectedTiles(person.page, 3);
    console.log(
      `# four people fully meshed (6 connections): ${Date.now() - started} ms from the first page load, ${Date.now() - joined} ms after the last join`,
    );
    for (const person of people) await assertAllVideoPlays(person.page, 3);

    // Names are shown on the tiles.
    const labels = await people[0]?.page.$$eval(".tile.remote .label", (els) =>
      els.map((e) => e.textContent),
    );
    assert.deepEqual(labels?.sort(), ["Ben", "Cat", "Dan"]);
    await people[0]?.page.screenshot({ path: join(RESULTS_DIR, "mesh-four.png") });

    // Dan leaves: his tile disappears for everyone.
    const dan = people.pop();
    await dan?.page.click("#hang-up");
    for (const person of people) await waitForConnectedTiles(person.page, 2);
    await dan?.context.close();

    // Eve joins and connects to all three.
    const eve = await newPerson(browser, { width: 800, height: 600 });
    await eve.page.goto(`${server.url}/`);
    await eve.page.evaluate(() => localStorage.setItem("signalroom.name", "Eve"));
    await eve.page.goto(url);
    people.push(eve);
    for (const person of people) await waitForConnectedTiles(person.page, 3);
    for (const person of people) await assertAllVideoPlays(person.page, 3);

    // Screen share in the mesh: Ann's screen replaces her camera for everyone.
    const ann = people[0];
    assert.ok(ann);
    await ann.page.click("#share-screen");
    await ann.page.waitForSelector('#share-screen[aria-pressed="true"]', { timeout: 10_000 });
    const sent = await ann.page.evaluate(() =>
      (
        globalThis as unknown as { signalroom: { peerConnections: RTCPeerConnection[] } }
      ).signalroom.peerConnections.map(
        (pc) => pc.getSenders().find((s) => s.track?.kind === "video")?.track?.label ?? "",
      ),
    );
    console.log(`# video tracks Ann sends while sharing: ${JSON.stringify(sent)}`);
    const cameraLabel = await ann.page.evaluate(
      () =>
        (
          (document.querySelector("#local-video") as HTMLVideoElement)
            .srcObject as MediaStream | null
        )?.getVideoTracks()[0]?.label,
    );
    assert.ok(
      sent.every((label) => label === cameraLabel),
      "every connection sends the screen",
    );
    for (const person of people.slice(1)) await assertAllVideoPlays(person.page, 3);
    await ann.page.click("#share-screen");
    await ann.page.waitForSelector('#share-screen[aria-pressed="false"]', { timeout: 10_000 });

    for (const person of people) await person.context.close();
    assert.deepEqual(await roomsWhenIdle(server), { rooms: 0, members: 0, parked: 0 });
  });
});
