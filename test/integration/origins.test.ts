import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { upgradeStatus } from "../helpers/http.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { eventually } from "../helpers/wait.js";

const origin = (value: string) => ({ Origin: value });

describe("allowed origins: https://app.example", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ allowedOrigins: ["https://app.example"] });
  });
  after(async () => server.close());

  it("accepts the allowed origin, in any letter case", async () => {
    assert.equal(await upgradeStatus(server.wsUrl, origin("https://app.example")), 101);
    assert.equal(await upgradeStatus(server.wsUrl, origin("HTTPS://App.Example")), 101);
  });

  it("refuses other origins with HTTP 403 before any WebSocket exists", async () => {
    for (const other of [
      "https://evil.example",
      "http://app.example",
      "https://app.example:8443",
      "https://app.example.evil.example",
      "https://sub.app.example",
      "null",
      "",
    ]) {
      assert.equal(await upgradeStatus(server.wsUrl, origin(other)), 403, JSON.stringify(other));
    }
    // Only the sockets opened above (closing on their own schedule) were ever counted.
    await eventually(() => assert.equal(server.app.connections(), 0));
  });

  it("accepts clients that send no Origin (not a browser page)", async () => {
    assert.equal(await upgradeStatus(server.wsUrl), 101);
    const client = await server.connect();
    await client.join("no-origin");
    await server.closeClients();
  });

  it("lets an allowed browser page join and relay", async () => {
    const client = await server.connect("/ws", { origin: "https://app.example" });
    const joined = await client.join("from-the-app");
    assert.equal(joined.peers, 0);
    await server.closeClients();
  });
});

describe("allowed origins: *", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ allowedOrigins: ["*"] });
  });
  after(async () => server.close());

  it("accepts any origin", async () => {
    for (const any of ["https://evil.example", "null", "http://localhost:5173"]) {
      assert.equal(await upgradeStatus(server.wsUrl, origin(any)), 101, any);
    }
  });
});

describe("allowed origins: default (empty)", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server.close());

  it("accepts any origin, and none", async () => {
    for (const any of ["https://evil.example", "https://app.example", "null"]) {
      assert.equal(await upgradeStatus(server.wsUrl, origin(any)), 101, any);
    }
    assert.equal(await upgradeStatus(server.wsUrl), 101);
  });
});
