import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { mintTurnCredential } from "../../src/server/auth/turn-credentials.js";
import type { Signalroom } from "../../src/server/index.js";
import { type Coturn, startCoturn } from "./coturn.js";
import {
  assertE2eEnvironment,
  assertNoCspViolations,
  launchChromium,
  newPerson,
  selectedCandidateTypes,
  startServer,
  waitForFramesBeyond,
  waitForStatus,
} from "./harness.js";

const SECRET = "coturn-shared-secret-for-tests-0123";

interface IceErrorSeen {
  url: string;
  errorCode: number;
}

async function iceErrors(page: Page): Promise<IceErrorSeen[]> {
  return page.evaluate(
    () =>
      (globalThis as unknown as { signalroom: { iceErrors: IceErrorSeen[] } }).signalroom.iceErrors,
  );
}

async function localCandidateTypes(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const pc = (
      globalThis as unknown as { signalroom: { peerConnection: RTCPeerConnection | null } }
    ).signalroom.peerConnection;
    if (!pc) return [];
    const types: string[] = [];
    (await pc.getStats()).forEach((r: { type: string; candidateType?: string }) => {
      if (r.type === "local-candidate" && r.candidateType) types.push(r.candidateType);
    });
    return types;
  });
}

describe("TURN through a real coturn with credentials minted by our server", () => {
  let coturn: Coturn;
  let browser: Browser;

  before(async () => {
    assertE2eEnvironment();
    coturn = await startCoturn(SECRET);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    assertNoCspViolations();
    await coturn?.stop();
  });

  it("connects two relay-only browsers through coturn: the selected pair is relay on both ends", async () => {
    const server: Signalroom = await startServer({
      overrides: { turnUrls: [coturn.url], turnSecrets: [SECRET], turnTtlSeconds: 600 },
    });
    try {
      const room = `turn-${Date.now()}`;
      const a = await newPerson(browser);
      const b = await newPerson(browser);
      await a.page.goto(`${server.url}/?room=${room}&relay=1&name=Ann`);
      await waitForStatus(a.page, "waiting");
      await b.page.goto(`${server.url}/?room=${room}&relay=1&name=Ben`);
      await Promise.all([waitForStatus(a.page, "connected"), waitForStatus(b.page, "connected")]);
      for (const person of [a, b]) {
        const pair = await selectedCandidateTypes(person.page);
        console.log(`# selected candidate pair (relay-only call): ${JSON.stringify(pair)}`);
        assert.deepEqual(pair, { local: "relay", remote: "relay" });
        assert.ok((await localCandidateTypes(person.page)).every((t) => t === "relay"));
        await waitForFramesBeyond(person.page, 0);
      }
      // The page's URL keeps relay=1 for sharing, and no token ever.
      assert.equal(new URL(a.page.url()).searchParams.get("relay"), "1");
      await a.context.close();
      await b.context.close();
    } finally {
      await server.close();
    }
  });

  it("does not connect when our server mints with the wrong secret: the browser sees TURN 401", async () => {
    const server = await startServer({
      overrides: { turnUrls: [coturn.url], turnSecrets: ["not-the-coturn-secret-0123456789"] },
    });
    try {
      const room = `turn-bad-${Date.now()}`;
      const a = await newPerson(browser);
      const b = await newPerson(browser);
      await a.page.goto(`${server.url}/?room=${room}&relay=1&name=Ann`);
      await waitForStatus(a.page, "waiting");
      await b.page.goto(`${server.url}/?room=${room}&relay=1&name=Ben`);
      for (const person of [a, b]) {
        await person.page.waitForFunction(
          () =>
            (
              globalThis as unknown as { signalroom: { iceErrors: { errorCode: number }[] } }
            ).signalroom.iceErrors.some((e) => e.errorCode === 401),
          undefined,
          { timeout: 20_000 },
        );
        const errors = await iceErrors(person.page);
        console.log(`# ICE errors with a wrong TURN secret: ${JSON.stringify(errors)}`);
        assert.ok(errors.every((e) => e.url.startsWith(`turn:127.0.0.1:${coturn.port}`)));
        // Every allocation was refused: no relay candidate exists, so a relay-only call cannot connect.
        assert.deepEqual(await localCandidateTypes(person.page), []);
        assert.notEqual(await person.page.getAttribute("#status", "data-state"), "connected");
      }
      await a.context.close();
      await b.context.close();
    } finally {
      await server.close();
    }
  });

  it("refuses an expired credential with 401 and accepts a fresh one from the same secret", async () => {
    const server = await startServer();
    try {
      const person = await newPerson(browser);
      await person.page.goto(`${server.url}/`);
      const gather = (username: string, credential: string) =>
        person.page.evaluate(
          async ({ url, username, credential }) => {
            const pc = new RTCPeerConnection({
              iceServers: [{ urls: url, username, credential }],
              iceTransportPolicy: "relay",
            });
            const errors: number[] = [];
            const types: string[] = [];
            pc.addEventListener("icecandidateerror", (e) =>
              errors.push((e as RTCPeerConnectionIceErrorEvent).errorCode),
            );
            pc.addEventListener("icecandidate", (e) => {
              if (e.candidate?.type) types.push(e.candidate.type);
            });
            const done = new Promise<void>((resolve) => {
              pc.addEventListener("icegatheringstatechange", () => {
                if (pc.iceGatheringState === "complete") resolve();
              });
            });
            pc.createDataChannel("probe");
            await pc.setLocalDescription();
            await done;
            pc.close();
            return { errors, types };
          },
          { url: coturn.url, username, credential },
        );

      const expired = mintTurnCredential(SECRET, "late-user", -60);
      const refused = await gather(expired.username, expired.credential);
      console.log(`# expired credential: ${JSON.stringify(refused)}`);
      assert.ok(refused.errors.includes(401), `errors: ${refused.errors}`);
      assert.deepEqual(refused.types, []);

      const fresh = mintTurnCredential(SECRET, "on-time-user", 600);
      const accepted = await gather(fresh.username, fresh.credential);
      assert.deepEqual(accepted.errors, []);
      assert.ok(accepted.types.includes("relay"), `types: ${accepted.types}`);
      await person.context.close();
    } finally {
      await server.close();
    }
  });
});
