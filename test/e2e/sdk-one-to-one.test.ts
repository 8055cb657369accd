import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import type { Signalroom } from "../../src/server/index.js";
import { delta, hostPairsConnected, scrape } from "../helpers/prometheus.js";
import { eventually } from "../helpers/wait.js";
import { exampleFrames, waitForExampleState } from "./call-watch.js";
import {
  assertE2eEnvironment,
  assertNoCspViolations,
  launchChromium,
  newPerson,
  startServer,
} from "./harness.js";

async function framesGrow(read: () => Promise<number>): Promise<void> {
  const first = await read();
  const deadline = Date.now() + 20_000;
  while ((await read()) <= first) {
    if (Date.now() > deadline) throw new Error(`decoded frames stuck at ${first}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("the SDK's OneToOneCall in real Chromium (the example page)", () => {
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

  it("connects two example pages, plays the remote video, and both report the call", async () => {
    const before = (await scrape(server.url)).samples;
    const room = `sdk-${Date.now()}`;
    const a = await newPerson(browser);
    const b = await newPerson(browser);
    await a.page.goto(`${server.url}/examples/one-to-one.html?room=${room}`);
    await waitForExampleState(a.page, "waiting");
    await b.page.goto(`${server.url}/examples/one-to-one.html?room=${room}`);
    await Promise.all([
      waitForExampleState(a.page, "connected"),
      waitForExampleState(b.page, "connected"),
    ]);
    await framesGrow(() => exampleFrames(a.page));
    await framesGrow(() => exampleFrames(b.page));
    // OneToOneCall's call-report, from each side, about the other.
    await eventually(
      async () => {
        const moved = delta(before, (await scrape(server.url)).samples);
        assert.equal(hostPairsConnected(moved), 2, JSON.stringify(moved));
      },
      { what: "both sides' call-report" },
    );

    // The other leaves: the call says so.
    await b.context.close();
    await waitForExampleState(a.page, "peer-left");
    await a.context.close();
  });

  it("connects even when the later joiner starts the call long after its ready arrived", async () => {
    const room = `sdk-late-${Date.now()}`;
    const pages = [await newPerson(browser), await newPerson(browser)];
    for (const { page } of pages) await page.goto(`${server.url}/examples/one-to-one.html`);
    // Drive the SDK by hand: join, wait a second and a half (ready comes and
    // goes), and only then start the call, as the README's old order did.
    const startLate = (page: Page) =>
      page.evaluate(async (roomId) => {
        type Sdk = typeof import("../../src/client/index.js");
        const { SignalingClient, OneToOneCall } = (globalThis as unknown as { signalroomSdk: Sdk })
          .signalroomSdk;
        const localStream = await navigator.mediaDevices.getUserMedia({ video: true });
        const client = new SignalingClient({ url: `ws://${location.host}/ws` });
        await client.connect();
        const joined = await client.join(roomId);
        await new Promise((r) => setTimeout(r, 1500));
        const call = new OneToOneCall({ signaling: client, localStream });
        (globalThis as { exampleCall?: unknown }).exampleCall = call;
        const connected = new Promise<string>((resolve) =>
          call.on("state", ({ state }) => {
            if (state === "connected") resolve(state);
          }),
        );
        call.start(joined);
        return Promise.race([
          connected,
          new Promise<string>((r) => setTimeout(() => r(call.state), 20_000)),
        ]);
      }, room);
    const [first, second] = pages as unknown as [{ page: Page }, { page: Page }];
    const firstResult = startLate(first.page);
    await first.page.waitForFunction(() => "exampleCall" in globalThis, undefined, {
      timeout: 10_000,
    });
    const results = await Promise.all([firstResult, startLate(second.page)]);
    assert.deepEqual(results, ["connected", "connected"]);
    await framesGrow(() => exampleFrames(first.page));
    for (const { page } of pages) await page.context().close();
  });
});
