import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { manualClock } from "../helpers/clock.js";
import { joinPair, startTestServer, type TestServer } from "../helpers/server.js";
import { eventually } from "../helpers/wait.js";

const TOKEN = "admin-token-0123456789abcdef";

describe("the admin API (ADMIN_TOKEN)", () => {
  const time = manualClock();
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ adminToken: TOKEN, maxPeers: 4 }, { clock: time.clock });
  });
  afterEach(async () => {
    await server.closeClients();
    time.advance(60_000); // a fresh rate-limit allowance for the next test
  });
  after(async () => server.close());

  const api = (path: string, init: RequestInit = {}, token: string | null = TOKEN) =>
    fetch(`${server.httpUrl}/api/admin/${path}`, {
      ...init,
      headers: {
        ...(token === null ? {} : { Authorization: `Bearer ${token}` }),
        ...(init.body ? { "Content-Type": "application/json" } : {}),
      },
    });

  it("refuses a missing or wrong token with 401, without saying anything else", async () => {
    for (const token of [null, "wrong", `${TOKEN}x`, TOKEN.slice(0, -1)]) {
      const res = await api("rooms", {}, token);
      assert.equal(res.status, 401, String(token));
      assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="admin"');
      assert.deepEqual(await res.json(), {
        error: "unauthorized",
        message: "the admin token is required",
      });
    }
  });

  it("lists rooms and shows one: members with names, connected or parked", async () => {
    const { a, b, aId, bId } = await joinPair(server, "admin-look");
    void a;
    const named = await server.connect();
    const namedId = String((await named.join("admin-look", { name: "Ada" })).peerId);
    await b.terminate(); // parked
    await eventually(async () => {
      assert.equal((await server.app.rooms.stats()).parked, 1, "b parked");
    });

    const list = await api("rooms");
    assert.equal(list.status, 200);
    const { rooms } = (await list.json()) as { rooms: unknown[] };
    assert.deepEqual(
      rooms.filter((r) => (r as { roomId: string }).roomId === "admin-look"),
      [{ roomId: "admin-look", members: 3, capacity: 4, locked: false }],
    );

    const one = await api(`rooms/${encodeURIComponent("admin-look")}`);
    assert.equal(one.status, 200);
    assert.deepEqual(await one.json(), {
      room: {
        roomId: "admin-look",
        capacity: 4,
        locked: false,
        members: [
          { peerId: aId, connected: true },
          { peerId: bId, connected: false },
          { peerId: namedId, name: "Ada", connected: true },
        ],
      },
    });
  });

  it("kicks one member: it gets kicked and 4501, the others peer-left (kicked)", async () => {
    const { a, b, bId } = await joinPair(server, "admin-kick");
    const res = await api("rooms/admin-kick/kick", {
      method: "POST",
      body: JSON.stringify({ peerId: bId }),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { removed: [bId] });
    assert.deepEqual(await b.next("kicked"), { type: "kicked", roomId: "admin-kick", by: "admin" });
    assert.equal((await b.closed()).code, 4501);
    assert.deepEqual(await a.next("peer-left"), {
      type: "peer-left",
      peerId: bId,
      reason: "kicked",
    });
    // Again: nobody by that id any more.
    const again = await api("rooms/admin-kick/kick", {
      method: "POST",
      body: JSON.stringify({ peerId: bId }),
    });
    assert.equal(again.status, 404);
  });

  it("closes a room: everyone gets kicked and 4501, and the room is gone", async () => {
    const { a, b } = await joinPair(server, "admin-close");
    const res = await api("rooms/admin-close", { method: "DELETE" });
    assert.equal(res.status, 200);
    const { removed } = (await res.json()) as { removed: string[] };
    assert.equal(removed.length, 2);
    for (const client of [a, b]) {
      assert.equal((await client.next("kicked")).by, "admin");
      assert.equal((await client.closed()).code, 4501);
    }
    assert.equal((await api("rooms/admin-close")).status, 404);
    const { rooms } = (await (await api("rooms")).json()) as { rooms: { roomId: string }[] };
    assert.ok(!rooms.some((r) => r.roomId === "admin-close"), "not listed any more");
  });

  it("answers hostile ids and bodies with 400 or 404, and changes nothing", async () => {
    const { a } = await joinPair(server, "admin-safe");
    const cases: [string, RequestInit, number][] = [
      [`rooms/${"x".repeat(200)}`, {}, 400],
      ["rooms/%E0%A4%A", {}, 400],
      [`rooms/${encodeURIComponent("a\u0000b")}`, {}, 400],
      ["rooms/no-such-room", {}, 404],
      ["rooms/no-such-room", { method: "DELETE" }, 404],
      ["rooms/admin-safe/kick", { method: "POST", body: "not json" }, 400],
      ["rooms/admin-safe/kick", { method: "POST", body: JSON.stringify({ peerId: 42 }) }, 400],
      [
        "rooms/admin-safe/kick",
        { method: "POST", body: JSON.stringify({ peerId: "x".repeat(200) }) },
        400,
      ],
      [
        "rooms/admin-safe/kick",
        { method: "POST", body: JSON.stringify({ peerId: "x".repeat(5000) }) },
        413,
      ],
      ["rooms/admin-safe/kick", { method: "GET" }, 405],
      ["rooms/admin-safe/other", {}, 404],
      ["rooms?limit=0", {}, 400],
      ["rooms?limit=abc", {}, 400],
      ["nothing-here", {}, 404],
    ];
    for (const [path, init, status] of cases) {
      const res = await api(path, init);
      assert.equal(res.status, status, `${init.method ?? "GET"} ${path.slice(0, 60)}`);
      await res.body?.cancel();
    }
    await a.expectNothing();
    assert.equal((await server.app.rooms.members("admin-safe")).length, 2);
  });

  it("rate-limits requests per address, before looking at the token", async () => {
    let refused = 0;
    for (let i = 0; i < 40; i++) {
      const res = await api("rooms", {}, "guessing");
      if (res.status === 429) refused++;
      else assert.equal(res.status, 401);
      await res.body?.cancel();
    }
    assert.equal(refused, 10, "a burst of 30, then 429");
  });
});

describe("the admin API without ADMIN_TOKEN", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server.close());

  it("does not exist (404), whatever the token", async () => {
    const res = await fetch(`${server.httpUrl}/api/admin/rooms`, {
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(res.status, 404);
  });
});
