import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { loadConfig } from "../../src/server/config.js";
import { type Signalroom, startSignalroom } from "../../src/server/index.js";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const RESULTS_DIR = join(import.meta.dirname, "..", "..", "test-results");
const WEB_ROOT = join(import.meta.dirname, "..", "..", "dist", "web");

/**
 * Fails loudly unless the browser tests can run as intended: Debian's
 * Chromium installed, the web app built, and this process inside a
 * loopback-only network namespace (see netns.sh).
 */
export function assertE2eEnvironment(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}. Install it: apt-get update && apt-get install -y chromium`,
    );
  }
  if (!existsSync(join(WEB_ROOT, "index.html"))) {
    throw new Error(`the web app is not built in ${WEB_ROOT}: run npm run build`);
  }
  const interfaces = Object.keys(networkInterfaces());
  if (interfaces.some((name) => name !== "lo")) {
    throw new Error(
      `browser tests must run in a loopback-only network namespace (found ${interfaces.join(", ")}): ` +
        "run them with npm run test:e2e",
    );
  }
}

export async function startServer(
  overrides: Parameters<typeof loadConfig>[0] = {},
): Promise<Signalroom> {
  return startSignalroom(
    loadConfig({
      ...overrides,
      overrides: {
        port: 0,
        host: "127.0.0.1",
        logLevel: "warn",
        webRoot: WEB_ROOT,
        ...overrides.overrides,
      },
    }),
  );
}

export async function launchChromium(): Promise<Browser> {
  await mkdir(RESULTS_DIR, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--use-fake-device-for-media-stream",
      "--use-fake-ui-for-media-stream",
      "--allow-loopback-in-peer-connection",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Content-Security-Policy violations any page reported; the web app must cause none. */
export const cspViolations: string[] = [];

/** Fails if any page reported a Content-Security-Policy violation. */
export function assertNoCspViolations(): void {
  if (cspViolations.length > 0) {
    throw new Error(`the web app broke its Content-Security-Policy:\n${cspViolations.join("\n")}`);
  }
}

/** A browser context as one person: camera and microphone granted. */
export async function newPerson(
  browser: Browser,
  viewport = { width: 1280, height: 720 },
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on("pageerror", (error) => console.error(`[page error] ${error.message}`));
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  return { context, page };
}

/** Joins `room` through the lobby form, as a person would (the form asks for a name). */
export async function joinThroughUi(
  page: Page,
  baseUrl: string,
  room: string,
  name = "Tester",
): Promise<void> {
  await page.goto(`${baseUrl}/`);
  await page.fill("#room-input", room);
  await page.fill("#name-input", name);
  await page.click("#join-button");
}

/** Waits until the page shows the status `state`. */
export async function waitForStatus(page: Page, state: string, timeout = 30_000): Promise<void> {
  await page.waitForSelector(`#status[data-state="${state}"]`, { state: "attached", timeout });
}

/** Decoded video frames of the call's inbound video, from getStats(). */
export async function framesDecoded(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const pc = (
      globalThis as unknown as { signalroom: { peerConnection: RTCPeerConnection | null } }
    ).signalroom.peerConnection;
    if (!pc) return 0;
    const stats = await pc.getStats();
    let frames = 0;
    stats.forEach((report: { type: string; kind?: string; framesDecoded?: number }) => {
      if (report.type === "inbound-rtp" && report.kind === "video")
        frames += report.framesDecoded ?? 0;
    });
    return frames;
  });
}

/** Polls until decoded frames grow past `beyond` (bounded by `timeout`). */
export async function waitForFramesBeyond(
  page: Page,
  beyond: number,
  timeout = 20_000,
): Promise<number> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const frames = await framesDecoded(page);
    if (frames > beyond) return frames;
    if (Date.now() > deadline)
      throw new Error(`decoded frames stayed at ${frames} (wanted > ${beyond})`);
    await page.waitForTimeout(200);
  }
}

/** The candidate types of the selected ICE pair (e.g. host/host, relay/relay). */
export async function selectedCandidateTypes(
  page: Page,
): Promise<{ local: string; remote: string } | null> {
  return page.evaluate(async () => {
    const pc = (
      globalThis as unknown as { signalroom: { peerConnection: RTCPeerConnection | null } }
    ).signalroom.peerConnection;
    if (!pc) return null;
    const stats = await pc.getStats();
    const byId = new Map<
      string,
      {
        type: string;
        candidateType?: string;
        selected?: boolean;
        nominated?: boolean;
        state?: string;
        localCandidateId?: string;
        remoteCandidateId?: string;
        selectedCandidatePairId?: string;
      }
    >();
    stats.forEach((r: { id: string; type: string }) => {
      byId.set(r.id, r as never);
    });
    let pairId: string | undefined;
    for (const r of byId.values())
      if (r.type === "transport" && r.selectedCandidatePairId) pairId = r.selectedCandidatePairId;
    const pair = pairId ? byId.get(pairId) : undefined;
    if (!pair?.localCandidateId || !pair.remoteCandidateId) return null;
    return {
      local: byId.get(pair.localCandidateId)?.candidateType ?? "?",
      remote: byId.get(pair.remoteCandidateId)?.candidateType ?? "?",
    };
  });
}

/**
 * Waits (bounded) until the server holds no sockets, then returns its room
 * counts: closing a page closes its socket, and the server notices a moment later.
 */
export async function roomsWhenIdle(
  server: Signalroom,
  timeoutMs = 10_000,
): Promise<{ rooms: number; members: number }> {
  const deadline = Date.now() + timeoutMs;
  while (server.connections() > 0 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  return server.rooms.stats();
}
