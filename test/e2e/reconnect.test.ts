import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import type { Signalroom } from "../../src/server/index.js";
import { ServerProcess } from "../helpers/server-process.js";
import { TcpProxy } from "../helpers/tcp-proxy.js";
import {
  callErrors,
  exampleFrames,
  observed,
  person,
  signalingState,
  startCall,
  ufrags,
  waitForExampleState,
  waitForIceRestarted,
  watch,
} from "./call-watch.js";
import {
  assertE2eEnvironment,
  assertNoCspViolations,
  framesDecoded,
  launchChromium,
  RESULTS_DIR,
  startServer,
  waitForFramesBeyond,
  waitForStatus,
} from "./harness.js";

describe("calls survive signaling outages in real Chromium", () => {
  let server: Signalroom;
  let proxy: TcpProxy;
  let browser: Browser;
  /** Server processes the tests started; killed (by pid) in `after` if still running. */
  const processes: ServerProcess[] = [];

  before(async () => {
    assertE2eEnvironment();
    server = await startServer();
    // The pages load through the proxy, so their WebSocket goes through it too.
    proxy = await TcpProxy.start(Number(new URL(server.url).port));
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await proxy?.close();
    await server?.close();
    for (const child of processes) child.kill();
    assertNoCspViolations();
    assert.deepEqual(callErrors, [], "no call errors in the pages");
  });

  it("a few seconds without signaling: the same connections, video never stops, 'Reconnecting…' comes and goes, nobody 'left'", async () => {
    const people = await startCall(browser, proxy.httpUrl, `outage-${Date.now()}`);
    const pages = people.map((p) => p.page);
    for (const page of pages) await watch(page);
    const accepted = proxy.accepted;

    // The network goes away: every connection is reset, new ones are refused.
    const before = await Promise.all(pages.map(framesDecoded));
    proxy.refuse(true);
    proxy.sever();
    const cut = Date.now();
    await Promise.all(pages.map((page) => waitForStatus(page, "reconnecting", 10_000)));

    // Media is peer to peer: it keeps playing while signaling is down.
    const during = await Promise.all(
      pages.map((page, i) => waitForFramesBeyond(page, (before[i] ?? 0) + 15)),
    );
    for (const page of pages) assert.equal(await signalingState(page), "reconnecting");
    // What a person sees meanwhile: the call, with a small "Reconnecting…".
    await pages[1]?.screenshot({ path: join(RESULTS_DIR, "call-reconnecting.png") });
    // The outage itself lasts three seconds of real time.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 3000 - (Date.now() - cut))));
    for (const page of pages) assert.equal(await signalingState(page), "reconnecting");
    proxy.refuse(false);

    await Promise.all(pages.map((page) => waitForStatus(page, "connected", 30_000)));
    console.log(`# signaling back ${Date.now() - cut} ms after the cut`);
    for (const [i, page] of pages.entries()) {
      await waitForFramesBeyond(page, (during[i] ?? 0) + 15);
      const seen = await observed(page);
      assert.equal(seen.signaling, "open");
      assert.ok(seen.samePeerId, "resumed, not re-joined: the same peer id");
      assert.ok(seen.samePeerConnection, "the same RTCPeerConnection carried the call throughout");
      assert.deepEqual(seen.toasts, [], "nobody is announced as having left");
      assert.deepEqual(seen.states, ["reconnecting", "connected"]);
      assert.deepEqual(seen.labels, [i === 0 ? "Bob" : "Alice"]);
      assert.equal(seen.endedVisible, false);
    }
    assert.ok(proxy.accepted > accepted, "the pages reconnected through the proxy");
    for (const person of people) await person.context.close();
  });

  it("an ICE restart asked for while signaling is down waits for it; both sides restart (their offers may cross) on the same connection", async () => {
    const people = await startCall(browser, proxy.httpUrl, `ice-restart-${Date.now()}`);
    const pages = people.map((p) => p.page);
    for (const page of pages) {
      await watch(page);
      await page.evaluate(() => {
        const g = globalThis as unknown as {
          signalroom: { call: { on(event: string, listener: () => void): void } };
          __restarts: number;
        };
        g.__restarts = 0;
        g.signalroom.call.on("ice-restart", () => {
          g.__restarts++;
        });
      });
    }
    const restarts = (page: Page) =>
      page.evaluate(() => (globalThis as unknown as { __restarts: number }).__restarts);
    const before = await Promise.all(pages.map(ufrags));

    proxy.refuse(true);
    proxy.sever();
    await Promise.all(pages.map((page) => waitForStatus(page, "reconnecting", 10_000)));
    // Both ask at once (as after a shared network change): each waits for signaling.
    for (const page of pages) {
      await page.evaluate(() =>
        (
          globalThis as unknown as { signalroom: { call: { restartIce(): void } } }
        ).signalroom.call.restartIce(),
      );
    }
    for (const [i, page] of pages.entries()) {
      assert.equal(await restarts(page), 0, "no restart while signaling is down");
      assert.deepEqual(await ufrags(page), before[i]);
    }
    proxy.refuse(false);

    // Back: both restart, the offers collide, perfect negotiation settles it.
    for (const [i, page] of pages.entries()) {
      await waitForIceRestarted(page, before[i] ?? { local: "", remote: "" }, 30_000);
      assert.ok((await restarts(page)) >= 1);
    }
    for (const page of pages) {
      await waitForFramesBeyond(page, (await framesDecoded(page)) + 15);
      const seen = await observed(page);
      assert.ok(seen.samePeerConnection, "ICE restarted on the same RTCPeerConnection");
      assert.ok(seen.samePeerId);
      assert.deepEqual(seen.toasts, []);
    }
    for (const person of people) await person.context.close();
  });

  it("the server restarts mid-call: both are back in the call within 20 s, without a click", async () => {
    const restartable = await ServerProcess.start();
    processes.push(restartable);
    const people = await startCall(browser, restartable.url, `restart-${Date.now()}`);
    const pages = people.map((p) => p.page);
    for (const page of pages) await watch(page);

    assert.equal(await restartable.stop(), 0, "a clean shutdown on SIGTERM");
    await Promise.all(pages.map((page) => waitForStatus(page, "reconnecting", 10_000)));
    await restartable.start();
    const restarted = Date.now();

    // The new process knows nobody: the SDK's resume is refused, it joins
    // again, and the call is negotiated afresh between the new peer ids.
    await Promise.all(pages.map((page) => waitForStatus(page, "connected", 20_000)));
    for (const page of pages) await waitForFramesBeyond(page, 0, 20_000 - (Date.now() - restarted));
    const elapsed = Date.now() - restarted;
    console.log(`# back in the call ${elapsed} ms after the server restarted`);
    assert.ok(elapsed < 20_000, `back within 20 s (took ${elapsed} ms)`);
    for (const [i, page] of pages.entries()) {
      const frames = await framesDecoded(page);
      await waitForFramesBeyond(page, frames);
      const seen = await observed(page);
      assert.equal(seen.signaling, "open");
      assert.equal(seen.samePeerId, false, "a new peer id: the SDK joined again");
      assert.deepEqual(seen.toasts, [], "nobody is announced as having left");
      assert.equal(seen.states[0], "reconnecting");
      assert.equal(seen.states.at(-1), "connected");
      assert.ok(!seen.states.includes("server-lost"), `states: ${seen.states}`);
      assert.deepEqual(seen.labels, [i === 0 ? "Bob" : "Alice"]);
      assert.equal(seen.endedVisible, false);
    }
    for (const person of people) await person.context.close();
    assert.equal(await restartable.stop(), 0);
  });

  it("the SDK's OneToOneCall (the example page) keeps its connection through an outage and connects again after a server restart", async () => {
    const server = await ServerProcess.start();
    processes.push(server);
    const front = await TcpProxy.start(server.port);
    try {
      const room = `sdk-outage-${Date.now()}`;
      const people = [await person(browser), await person(browser)];
      const pages = people.map((p) => p.page);
      for (const page of pages) {
        await page.goto(`${front.httpUrl}/examples/one-to-one.html?room=${room}`);
        await waitForExampleState(page, "waiting", "connected");
      }
      await Promise.all(pages.map((page) => waitForExampleState(page, "connected")));
      for (const page of pages) await exampleFramesBeyond(page, 0);
      for (const page of pages) {
        await page.evaluate(() => {
          const g = globalThis as unknown as { exampleCall: { peerConnection: unknown } };
          Object.assign(globalThis, { __examplePc: g.exampleCall.peerConnection });
        });
      }
      const samePc = (page: Page) =>
        page.evaluate(() => {
          const g = globalThis as unknown as {
            exampleCall: { peerConnection: unknown };
            __examplePc: unknown;
          };
          return g.exampleCall.peerConnection === g.__examplePc;
        });

      // An outage: the call does not notice, its connection stays.
      const before = await Promise.all(pages.map(exampleFrames));
      front.refuse(true);
      front.sever();
      for (const page of pages) await waitForClientState(page, "reconnecting");
      for (const [i, page] of pages.entries())
        await exampleFramesBeyond(page, (before[i] ?? 0) + 15);
      front.refuse(false);
      for (const page of pages) await waitForClientState(page, "open");
      for (const [i, page] of pages.entries()) {
        await exampleFramesBeyond(page, (before[i] ?? 0) + 45);
        assert.ok(await samePc(page), "the same RTCPeerConnection");
        assert.equal(await page.getAttribute("#state", "data-state"), "connected");
      }

      // A restart: the SDK joins again and the call negotiates a new connection.
      await server.stop();
      await server.start();
      const restarted = Date.now();
      for (const page of pages) {
        await page.waitForFunction(
          () => {
            const g = globalThis as unknown as {
              exampleCall: { peerConnection: unknown; state: string };
              __examplePc: unknown;
            };
            return (
              g.exampleCall.peerConnection !== g.__examplePc && g.exampleCall.state === "connected"
            );
          },
          undefined,
          { timeout: 20_000 },
        );
      }
      for (const page of pages) await exampleFramesBeyond(page, 0);
      console.log(`# example call connected again ${Date.now() - restarted} ms after the restart`);
      for (const p of people) await p.context.close();
    } finally {
      await front.close();
      await server.stop();
    }
  });
});

/** Waits until the example page's SignalingClient is in `state`. */
async function waitForClientState(page: Page, state: string): Promise<void> {
  await page.waitForFunction(
    (wanted) =>
      (globalThis as unknown as { exampleClient?: { state: string } }).exampleClient?.state ===
      wanted,
    state,
    { timeout: 30_000 },
  );
}

/** Polls (bounded) until the example call's decoded frames pass `beyond`. */
async function exampleFramesBeyond(page: Page, beyond: number, timeout = 20_000): Promise<number> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const frames = await exampleFrames(page);
    if (frames > beyond) return frames;
    if (Date.now() > deadline)
      throw new Error(`decoded frames stayed at ${frames} (wanted > ${beyond})`);
    await page.waitForTimeout(200);
  }
}
