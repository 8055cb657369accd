import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import type { Signalroom } from "../../src/server/index.js";
import { delta, hostPairsConnected, type Samples, scrape } from "../helpers/prometheus.js";
import { eventually } from "../helpers/wait.js";
import { type Coturn, startCoturn } from "./coturn.js";
import {
  assertE2eEnvironment,
  assertNoCspViolations,
  launchChromium,
  newPerson,
  startServer,
  waitForStatus,
} from "./harness.js";

/*
 * Call-setup telemetry from real calls: two Chromium pages of the web app
 * (which reports through the SDK's MeshCall) connect, each sends a
 * `call-report`, and /metrics on our server says how they connected. A
 * host pair over loopback, a relay-only call through a real coturn, and a
 * call that cannot connect because TURN refuses the credentials.
 */

const SECRET = "coturn-shared-secret-for-reports-0123";

/** The call series that moved since `before`. */
async function callsMoved(server: Signalroom, before: Samples): Promise<Record<string, number>> {
  const moved = delta(before, (await scrape(server.url)).samples);
  return Object.fromEntries(
    Object.entries(moved).filter(([key]) => key.startsWith("signalroom_call")),
  );
}

/** Waits for both people to connect and both to report it; the call series that moved. */
async function bothConnected(
  server: Signalroom,
  before: Samples,
  people: { a: { page: Page }; b: { page: Page } },
): Promise<Record<string, number>> {
  await Promise.all([
    waitForStatus(people.a.page, "connected"),
    waitForStatus(people.b.page, "connected"),
  ]);
  let moved: Record<string, number> = {};
  await eventually(
    async () => {
      moved = await callsMoved(server, before);
      assert.equal(moved.signalroom_call_setup_seconds_count, 2, JSON.stringify(moved));
    },
    { timeoutMs: 10_000, what: "both reports" },
  );
  return moved;
}

describe("call-report from real browsers", () => {
  let coturn: Coturn;
  let browser: Browser;

  before(async () => {
    assertE2eEnvironment();
    coturn = await startCoturn(SECRET, 34800);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    assertNoCspViolations();
    await coturn?.stop();
  });

  /** Two people of the web app in `room` (with `query`); returns once both are there. */
  async function call(server: Signalroom, room: string, query = "") {
    const a = await newPerson(browser);
    const b = await newPerson(browser);
    await a.page.goto(`${server.url}/?room=${room}&name=Ann${query}`);
    await waitForStatus(a.page, "waiting");
    await b.page.goto(`${server.url}/?room=${room}&name=Ben${query}`);
    return {
      a,
      b,
      async close() {
        await a.context.close();
        await b.context.close();
      },
    };
  }

  it("a host pair: both sides report connected from a host candidate over udp, with their setup time", async () => {
    const server = await startServer();
    try {
      const before = (await scrape(server.url)).samples;
      const people = await call(server, `report-host-${Date.now()}`);
      const moved = await bothConnected(server, before, people);
      console.log(`# call-report metrics after a host-pair call: ${JSON.stringify(moved)}`);
      assert.equal(
        hostPairsConnected(moved),
        2,
        "both sides connected from a host candidate, to host or prflx",
      );
      assert.equal(
        Object.keys(moved).some((k) => k.startsWith('signalroom_calls_total{outcome="failed"')),
        false,
      );
      assert.equal(
        moved['signalroom_call_protocols_total{protocol="udp",relay_protocol="none"}'],
        2,
      );
      const sum = moved.signalroom_call_setup_seconds_sum ?? 0;
      assert.ok(sum > 0 && sum < 30, `setup took ${sum} s for both`);
      assert.equal(
        moved['signalroom_calls_total{outcome="failed",local="none",remote="none"}'],
        undefined,
      );
      await people.close();
    } finally {
      await server.close();
    }
  });

  it("a relay-only call through coturn arrives as local=relay, remote=relay, relayed over udp", async () => {
    const server = await startServer({
      overrides: { turnUrls: [coturn.url], turnSecrets: [SECRET], turnTtlSeconds: 600 },
    });
    try {
      const before = (await scrape(server.url)).samples;
      const people = await call(server, `report-relay-${Date.now()}`, "&relay=1");
      const moved = await bothConnected(server, before, people);
      console.log(`# call-report metrics after a relay-only call: ${JSON.stringify(moved)}`);
      assert.equal(
        moved['signalroom_calls_total{outcome="connected",local="relay",remote="relay"}'],
        2,
      );
      assert.equal(
        moved['signalroom_call_protocols_total{protocol="udp",relay_protocol="udp"}'],
        2,
      );
      await people.close();
    } finally {
      await server.close();
    }
  });

  it("a relay-only call whose TURN credentials are refused is reported failed: turn-unauthorized", async () => {
    const server = await startServer({
      overrides: { turnUrls: [coturn.url], turnSecrets: ["not-the-coturn-secret-0123456789"] },
    });
    try {
      const before = (await scrape(server.url)).samples;
      const people = await call(server, `report-401-${Date.now()}`, "&relay=1");
      let moved: Record<string, number> = {};
      // The SDK calls a connection failed after 30 s without connecting (setupTimeoutMs).
      await eventually(
        async () => {
          moved = await callsMoved(server, before);
          assert.equal(
            moved['signalroom_call_failures_total{reason="turn-unauthorized"}'],
            2,
            JSON.stringify(moved),
          );
        },
        { timeoutMs: 45_000, intervalMs: 250, what: "both failure reports" },
      );
      console.log(`# call-report metrics after TURN refused the call: ${JSON.stringify(moved)}`);
      assert.equal(moved['signalroom_calls_total{outcome="failed",local="none",remote="none"}'], 2);
      assert.equal(moved.signalroom_call_setup_seconds_count, undefined);
      await people.close();
    } finally {
      await server.close();
    }
  });
});
