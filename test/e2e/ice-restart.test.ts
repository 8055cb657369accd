import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import type { Signalroom } from "../../src/server/index.js";
import {
  callErrors,
  observed,
  type PageApi,
  startCall,
  ufrags,
  waitForIceRestarted,
  watch,
} from "./call-watch.js";
import { type Coturn, startCoturn } from "./coturn.js";
import {
  assertE2eEnvironment,
  assertNoCspViolations,
  framesDecoded,
  launchChromium,
  startServer,
  waitForFramesBeyond,
  waitForStatus,
} from "./harness.js";

const SECRET = "coturn-shared-secret-for-ice-restart-01";
/** Not turn.test.ts's port: test files run side by side. */
const TURN_PORT = 34_790;

/** Records, in the page, the ICE states of the call's connection and the restarts it made. */
async function recordIce(page: Page): Promise<void> {
  await page.evaluate(() => {
    const g = globalThis as unknown as {
      signalroom: PageApi & { call: { on(event: string, listener: () => void): void } };
    };
    const pc = g.signalroom.peerConnection as RTCPeerConnection;
    const ice = { states: [] as string[], restarts: [] as string[], stalledFor: [] as number[] };
    let disconnectedAt = 0;
    pc.addEventListener("iceconnectionstatechange", () => {
      ice.states.push(pc.iceConnectionState);
      if (pc.iceConnectionState === "disconnected") disconnectedAt = performance.now();
    });
    // The call emits before it restarts: the state now is what made it restart.
    g.signalroom.call.on("ice-restart", () => {
      ice.restarts.push(pc.iceConnectionState);
      if (pc.iceConnectionState === "disconnected")
        ice.stalledFor.push(performance.now() - disconnectedAt);
    });
    Object.assign(globalThis, { __ice: ice });
  });
}

interface IceRecord {
  states: string[];
  /** The ICE state at each restart. */
  restarts: string[];
  /** For each restart of a disconnected ICE, how long it had been disconnected (ms). */
  stalledFor: number[];
}

async function iceRecord(page: Page): Promise<IceRecord> {
  return page.evaluate(() => (globalThis as unknown as { __ice: IceRecord }).__ice);
}

describe("ICE restarts in real Chromium", () => {
  let coturn: Coturn;
  let server: Signalroom;
  let browser: Browser;

  before(async () => {
    assertE2eEnvironment();
    coturn = await startCoturn(SECRET, TURN_PORT);
    server = await startServer({
      overrides: { turnUrls: [coturn.url], turnSecrets: [SECRET], turnTtlSeconds: 600 },
    });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await coturn?.stop();
    assertNoCspViolations();
    assert.deepEqual(callErrors, [], "no call errors in the pages");
  });

  it("the media relay freezes: ICE goes disconnected, the call restarts it after 4 s, and goes on on the same connection once the relay is back", async () => {
    // Relay only: all media goes through coturn, which the test can freeze.
    const people = await startCall(browser, server.url, `ice-${Date.now()}`, "relay=1");
    const pages = people.map((p) => p.page);
    for (const page of pages) {
      await watch(page);
      await recordIce(page);
    }
    const before = await Promise.all(pages.map(ufrags));

    coturn.pause();
    const paused = Date.now();
    // Chromium notices within seconds; a side that stays disconnected 4 s
    // restarts ICE. (Its offer restarts the other side's ICE too, so one
    // restart may be all there is.)
    const deadline = paused + 30_000;
    for (;;) {
      const restarts = (await Promise.all(pages.map(iceRecord))).flatMap((r) => r.restarts);
      if (restarts.length > 0) break;
      if (Date.now() > deadline)
        throw new Error("no ICE restart within 30 s of the relay freezing");
      await pages[0]?.waitForTimeout(200);
    }
    console.log(`# ICE restarted ${Date.now() - paused} ms after the relay froze`);
    coturn.resume();

    for (const [i, page] of pages.entries()) {
      await waitForIceRestarted(page, before[i] ?? { local: "", remote: "" }, 60_000);
    }
    console.log(
      `# connected again with new ICE credentials ${Date.now() - paused} ms after the freeze`,
    );
    const records = await Promise.all(pages.map(iceRecord));
    for (const record of records) {
      assert.ok(
        record.restarts.every((state) => state === "disconnected" || state === "failed"),
        `restarts only for a stalled or failed ICE: ${JSON.stringify(record)}`,
      );
      // Disconnected often heals by itself: the call gives it 4 s first.
      for (const ms of record.stalledFor) assert.ok(ms >= 3900, `restarted after ${ms} ms`);
    }
    assert.ok(
      records.some((r) => r.states.includes("disconnected")),
      `ICE went disconnected: ${JSON.stringify(records)}`,
    );
    for (const page of pages) {
      await waitForFramesBeyond(page, (await framesDecoded(page)) + 15);
      await waitForStatus(page, "connected");
      const seen = await observed(page);
      assert.ok(seen.samePeerConnection, "ICE restarted on the same RTCPeerConnection");
      assert.ok(seen.samePeerId, "signaling was never touched");
      assert.deepEqual(seen.toasts, []);
    }
    for (const person of people) await person.context.close();
  });
});
