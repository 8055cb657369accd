import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { upgradeStatus } from "../helpers/http.js";
import { joinPair, startTestServer, type TestServer } from "../helpers/server.js";

/** The WebSocket URL of `path` (with any query) on `server`. */
const wsAt = (server: TestServer, path: string): string => new URL(path, server.wsUrl).href;

describe("HTTP", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.close();
  });

  it("GET /healthz reports status, rooms, members and connections", async () => {
    const idle = await fetch(`${server.httpUrl}/healthz`);
    assert.equal(idle.status, 200);
    assert.match(idle.headers.get("content-type") ?? "", /^application\/json/);
    const idleBody = (await idle.json()) as Record<string, unknown>;
    assert.equal(typeof idleBody.uptimeSeconds, "number");
    assert.deepEqual(idleBody, {
      status: "ok",
      uptimeSeconds: idleBody.uptimeSeconds,
      connections: 0,
      rooms: 0,
      members: 0,
      parked: 0,
    });

    const { a } = await joinPair(server, "health");
    await server.connect();
    const busy = (await (await fetch(`${server.httpUrl}/healthz`)).json()) as Record<
      string,
      unknown
    >;
    assert.equal(busy.status, "ok");
    assert.equal(busy.connections, 3);
    assert.equal(busy.rooms, 1);
    assert.equal(busy.members, 2);

    a.send({ type: "leave" });
    await a.next("left");
    const afterLeave = (await (await fetch(`${server.httpUrl}/healthz`)).json()) as Record<
      string,
      unknown
    >;
    assert.equal(afterLeave.members, 1);
    assert.equal(afterLeave.connections, 3);
    await server.closeClients();
  });

  it("answers HEAD /healthz and refuses other methods with 405", async () => {
    const head = await fetch(`${server.httpUrl}/healthz`, { method: "HEAD" });
    assert.equal(head.status, 200);
    const post = await fetch(`${server.httpUrl}/healthz`, { method: "POST" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
    await post.body?.cancel();
  });

  it("GET /api/ice-servers is empty by default, and not cached", async () => {
    const res = await fetch(`${server.httpUrl}/api/ice-servers`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("cache-control"), "no-store");
    assert.deepEqual(await res.json(), { iceServers: [] });
  });

  it("answers unknown paths with 404", async () => {
    for (const path of ["/nope", "/api", "/api/ice-servers/x", "/healthz/x", "/ws"]) {
      const res = await fetch(`${server.httpUrl}${path}`);
      assert.equal(res.status, 404, path);
      assert.deepEqual(await res.json(), { error: "not found" });
    }
  });

  it("sends the security headers on every response", async () => {
    for (const path of ["/healthz", "/nope"]) {
      const res = await fetch(`${server.httpUrl}${path}`);
      assert.equal(res.headers.get("x-content-type-options"), "nosniff");
      assert.equal(res.headers.get("x-frame-options"), "DENY");
      assert.equal(res.headers.get("referrer-policy"), "no-referrer");
      await res.body?.cancel();
    }
  });

  it("accepts WebSocket upgrades on / and /ws only", async () => {
    assert.equal(await upgradeStatus(wsAt(server, "/")), 101);
    assert.equal(await upgradeStatus(wsAt(server, "/ws")), 101);
    assert.equal(await upgradeStatus(wsAt(server, "/ws?token=abc")), 101);
    for (const path of ["/other", "/ws/", "/wss", "/healthz", "/api/ice-servers"]) {
      assert.equal(await upgradeStatus(wsAt(server, path)), 404, path);
    }
  });
});

describe("HTTP with STUN configured", () => {
  let server: TestServer;
  const stunUrls = ["stun:stun.example.org:3478", "stun:stun2.example.org"];
  before(async () => {
    server = await startTestServer({ stunUrls });
  });
  after(async () => {
    await server.close();
  });

  it("serves the STUN URLs from /api/ice-servers and in joined", async () => {
    const res = await fetch(`${server.httpUrl}/api/ice-servers`);
    assert.deepEqual(await res.json(), { iceServers: [{ urls: stunUrls }] });
    const client = await server.connect();
    const joined = await client.join("stun");
    assert.deepEqual(joined.iceServers, [{ urls: stunUrls }]);
  });
});
