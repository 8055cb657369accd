import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { upgradeStatus } from "../helpers/http.js";
import { captureLogs } from "../helpers/logs.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import type { TestClient } from "../helpers/test-client.js";
import { eventually } from "../helpers/wait.js";

const forwarded = (address: string) => ({ headers: { "X-Forwarded-For": address } });

describe("connections per address (3), no proxy trusted", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ maxConnectionsPerIp: 3 });
  });
  afterEach(async () => {
    await server.closeClients();
    await eventually(() => assert.equal(server.app.connections(), 0));
  });
  after(async () => server.close());

  it("refuses the 4th upgrade with HTTP 429 before any WebSocket exists", async () => {
    const open = await Promise.all([server.connect(), server.connect(), server.connect()]);
    assert.equal(await upgradeStatus(server.wsUrl), 429);
    assert.equal(await upgradeStatus(`${server.wsUrl.replace(/\/ws$/, "")}/`), 429);
    assert.equal(server.app.connections(), 3);
    for (const client of open) await client.expectNothing();
  });

  it("frees a slot when a connection closes", async () => {
    const [first] = await Promise.all([server.connect(), server.connect(), server.connect()]);
    assert.equal(await upgradeStatus(server.wsUrl), 429);
    await (first as TestClient).close();
    await eventually(() => assert.equal(server.app.connections(), 2));
    const again = await server.connect();
    await again.expectNothing();
    assert.equal(await upgradeStatus(server.wsUrl), 429);
  });

  it("frees a slot when a connection drops without a close handshake", async () => {
    const [first] = await Promise.all([server.connect(), server.connect(), server.connect()]);
    await (first as TestClient).terminate();
    await eventually(() => assert.equal(server.app.connections(), 2));
    await server.connect();
  });

  it("does not count refused or failed upgrades", async () => {
    for (let i = 0; i < 10; i++) {
      assert.equal(await upgradeStatus(`${server.wsUrl}/elsewhere`), 404);
    }
    await Promise.all([server.connect(), server.connect(), server.connect()]);
  });

  it("ignores X-Forwarded-For: every client here is 127.0.0.1", async () => {
    await Promise.all(
      ["203.0.113.1", "203.0.113.2", "203.0.113.3"].map((a) => server.connect("/ws", forwarded(a))),
    );
    assert.equal(await upgradeStatus(server.wsUrl, { "X-Forwarded-For": "203.0.113.4" }), 429);
  });
});

describe("connections per address (3) behind a trusted loopback proxy", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ maxConnectionsPerIp: 3, trustProxy: "loopback" });
  });
  afterEach(async () => {
    await server.closeClients();
    await eventually(() => assert.equal(server.app.connections(), 0));
  });
  after(async () => server.close());

  it("gives each forwarded address its own allowance", async () => {
    for (const address of ["203.0.113.1", "203.0.113.2"]) {
      for (let i = 0; i < 3; i++) await server.connect("/ws", forwarded(address));
      assert.equal(await upgradeStatus(server.wsUrl, { "X-Forwarded-For": address }), 429);
    }
    assert.equal(server.app.connections(), 6);
    // The proxy's own connections (no header) are a third address.
    for (let i = 0; i < 3; i++) await server.connect();
    assert.equal(await upgradeStatus(server.wsUrl), 429);
  });

  it("counts the address the proxy saw, not the one a client wrote on the left", async () => {
    for (let i = 0; i < 3; i++) {
      await server.connect("/ws", forwarded(`10.0.0.${i}, 203.0.113.9`));
    }
    assert.equal(
      await upgradeStatus(server.wsUrl, { "X-Forwarded-For": "10.0.0.99, 203.0.113.9" }),
      429,
    );
  });

  it("frees a forwarded address's slot on close", async () => {
    const first = await server.connect("/ws", forwarded("203.0.113.5"));
    await server.connect("/ws", forwarded("203.0.113.5"));
    await server.connect("/ws", forwarded("203.0.113.5"));
    await first.close();
    await eventually(() => assert.equal(server.app.connections(), 2));
    await server.connect("/ws", forwarded("203.0.113.5"));
  });

  it("counts IPv6 clients per /64, so one host cannot rotate through its addresses", async () => {
    for (let i = 1; i <= 3; i++) await server.connect("/ws", forwarded(`2001:db8:1:2::${i}`));
    assert.equal(
      await upgradeStatus(server.wsUrl, { "X-Forwarded-For": "2001:db8:1:2:ffff::4" }),
      429,
    );
    // Another /64 is another client.
    await server.connect("/ws", forwarded("2001:db8:1:3::1"));
  });

  it("counts an IPv4-mapped IPv6 address as the IPv4 address", async () => {
    for (let i = 0; i < 3; i++) await server.connect("/ws", forwarded("::ffff:203.0.113.20"));
    assert.equal(await upgradeStatus(server.wsUrl, { "X-Forwarded-For": "203.0.113.20" }), 429);
    // Other IPv4 clients are not lumped together with it.
    await server.connect("/ws", forwarded("::ffff:203.0.113.21"));
  });
});

describe("connections in all (MAX_CONNECTIONS 4), whatever the addresses", () => {
  const log = captureLogs("warn");
  let server: TestServer;
  before(async () => {
    server = await startTestServer(
      { maxConnections: 4, trustProxy: "loopback" },
      { logger: log.logger },
    );
  });
  afterEach(async () => {
    await server.closeClients();
    await eventually(() => assert.equal(server.app.connections(), 0, "every socket closed"));
  });
  after(async () => server.close());

  it("refuses the 5th upgrade with 503, from any address, and logs it once with a stable field", async () => {
    // Four different /64s: the per-address limit would never stop them.
    const open = [];
    for (let i = 1; i <= 4; i++)
      open.push(await server.connect("/ws", forwarded(`2001:db8:${i}::1`)));
    log.lines.length = 0;
    for (let i = 5; i <= 20; i++) {
      assert.equal(
        await upgradeStatus(server.wsUrl, { "X-Forwarded-For": `2001:db8:${i}::1` }),
        503,
      );
    }
    assert.equal(server.app.connections(), 4);
    for (const client of open) await client.expectNothing();
    // Sixteen refusals within a second: one line, with how many.
    const lines = log.entries().filter((l) => l.limit === "max-connections");
    assert.equal(lines.length, 1, JSON.stringify(log.lines));
    assert.equal(lines[0]?.max, 4);
    assert.equal(lines[0]?.msg, "refused WebSockets: MAX_CONNECTIONS reached");
  });

  it("frees a place when a socket closes, and does not count refused upgrades", async () => {
    const [first] = await Promise.all(
      [1, 2, 3, 4].map((i) => server.connect("/ws", forwarded(`198.51.100.${i}`))),
    );
    assert.equal(await upgradeStatus(server.wsUrl), 503);
    await (first as TestClient).close();
    await eventually(() => assert.equal(server.app.connections(), 3, "the closed socket is gone"));
    const again = await server.connect();
    await again.expectNothing();
    assert.equal(await upgradeStatus(server.wsUrl), 503);
  });
});
