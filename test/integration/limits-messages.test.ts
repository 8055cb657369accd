import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { manualClock } from "../helpers/clock.js";
import { captureLogs } from "../helpers/logs.js";
import { joinPair, startTestServer, type TestServer } from "../helpers/server.js";
import type { TestClient } from "../helpers/test-client.js";

async function pings(client: TestClient, n: number): Promise<void> {
  for (let i = 0; i < n; i++) client.send({ type: "ping" });
}

async function pongs(client: TestClient, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await client.next("pong");
}

describe("message rate limit (5/s, burst 10, close after 30)", () => {
  const time = manualClock();
  const log = captureLogs("warn");
  let server: TestServer;
  before(async () => {
    server = await startTestServer(
      { rateLimitPerSecond: 5, rateLimitBurst: 10, rateLimitCloseAfter: 30 },
      { clock: time.clock, logger: log.logger },
    );
  });
  afterEach(async () => server.closeClients());
  after(async () => server.close());

  it("serves the burst, refuses the next once, and stays silent for further refusals", async () => {
    const client = await server.connect();
    await pings(client, 10);
    await pongs(client, 10);

    await pings(client, 9);
    const refused = await client.nextError("rate-limited");
    assert.equal(refused.message, "too many messages");

    // One token (200 ms at 5/s); the 8 silent refusals before it produced nothing.
    time.advance(200);
    await pings(client, 1);
    await client.next("pong");
    assert.equal(client.pending, 0, "exactly one error for 9 refused messages");
    assert.equal(client.isOpen, true);
  });

  it("tells again once a second has passed, and refills at the configured rate", async () => {
    const client = await server.connect();
    await pings(client, 11);
    await pongs(client, 10);
    await client.nextError("rate-limited");

    time.advance(1000); // 5 tokens, and a second since the client was told
    await pings(client, 7);
    await pongs(client, 5);
    await client.nextError("rate-limited");
    time.advance(400);
    await pings(client, 2);
    await pongs(client, 2);
    assert.equal(client.pending, 0);
  });

  it(`closes with 1008 after 30 refusals in a row, answering the flood with one error`, async () => {
    const flooder = await server.connect();
    const bystander = await server.connect();
    log.lines.length = 0;
    await pings(flooder, 100);
    const closed = await flooder.closed();
    assert.deepEqual(closed, { code: 1008, reason: "rate limit exceeded" });
    await pongs(flooder, 10);
    await flooder.nextError("rate-limited");
    assert.equal(flooder.pending, 0, "10 pongs and 1 error for 100 messages, nothing else");

    // The flood is logged once, not once per message after the limit.
    const warnings = log.entries().filter((l) => l.msg === "closing a flooding connection");
    assert.equal(warnings.length, 1, JSON.stringify(log.lines));

    // Another connection on the same clock still has its whole burst.
    await pings(bystander, 10);
    await pongs(bystander, 10);
    assert.equal(bystander.isOpen, true);
  });

  it("counts WebSocket ping frames too: a ping flood is closed like any other", {
    timeout: 5000,
  }, async () => {
    const flooder = await server.connect();
    let answered = 0;
    flooder.ws.on("pong", () => answered++);
    // Paced, so ws's own cap on unsent auto-pongs never trips: only our limit can stop it.
    for (let i = 0; i < 100 && flooder.isOpen; i++) {
      flooder.ws.ping();
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal((await flooder.closed()).code, 1008);
    assert.equal(answered, 10, "only the burst is answered");
  });

  it("closes a client that keeps exceeding its rate, though some of its messages get through", async () => {
    const client = await server.connect();
    await pings(client, 10);
    await pongs(client, 10);
    let rounds = 0;
    for (; rounds < 10 && client.isOpen; rounds++) {
      time.advance(200); // one token
      await pings(client, 20); // 1 served, 19 refused: ten times the rate, steadily
      await client.nextSkipping("pong", ["error"]).catch(() => undefined);
    }
    // 30 refusals within 10 s close it, though no 30 came in a row without a pong between.
    assert.deepEqual(await client.closed(), { code: 1008, reason: "rate limit exceeded" });
    assert.ok(rounds <= 3, `closed after ${rounds} rounds`);
  });

  it("does not close a client that overshoots once in a while and otherwise keeps to its rate", async () => {
    const client = await server.connect();
    for (let round = 0; round < 6; round++) {
      await pings(client, 20); // a burst of 10 served, 10 refused
      await pongs(client, 10);
      await client.nextError("rate-limited");
      time.advance(10_000); // quiet: the allowance refills and the refusals are forgotten
    }
    assert.equal(client.isOpen, true);
    await pings(client, 1);
    await client.next("pong");
  });
});

describe("message rate limit defaults (50/s, burst 200)", () => {
  const time = manualClock();
  let server: TestServer;
  before(async () => {
    server = await startTestServer({}, { clock: time.clock });
  });
  after(async () => server.close());

  it("lets a call's ICE trickle through at once, both ways", async () => {
    const { a, b, aId, bId } = await joinPair(server, "trickle");
    for (let i = 0; i < 60; i++) {
      a.send({ type: "ice", candidate: { candidate: `candidate:a${i}`, sdpMid: "0" } });
      b.send({ type: "ice", candidate: { candidate: `candidate:b${i}`, sdpMid: "0" } });
    }
    for (let i = 0; i < 60; i++) {
      assert.deepEqual(await b.next(), {
        type: "ice",
        candidate: { candidate: `candidate:a${i}`, sdpMid: "0" },
        from: aId,
      });
      assert.deepEqual(await a.next(), {
        type: "ice",
        candidate: { candidate: `candidate:b${i}`, sdpMid: "0" },
        from: bId,
      });
    }
    await a.expectNothing();
    await b.expectNothing();
  });

  it("serves exactly 200 messages at one instant, then refuses", async () => {
    const client = await server.connect();
    await pings(client, 201);
    await pongs(client, 200);
    await client.nextError("rate-limited");
  });
});
