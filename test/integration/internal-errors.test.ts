import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, it } from "node:test";
import { createRequestHandler } from "../../src/server/http/routes.js";
import { MemoryRooms } from "../../src/server/rooms/memory.js";
import type {
  JoinOutcome,
  JoinRequest,
  Rooms,
  RoomsOptions,
} from "../../src/server/rooms/rooms.js";
import { captureLogs } from "../helpers/logs.js";
import { assertPairWorks, joinPair, startTestServer, type TestServer } from "../helpers/server.js";

/**
 * A `Rooms` that fails on purpose for one room id. A fake stands in here
 * because no real store fails on demand; the rest of the server is real.
 */
class ExplodingRooms extends MemoryRooms {
  override async join(req: JoinRequest): Promise<JoinOutcome> {
    if (req.roomId === "explode") throw new Error("store unavailable");
    return super.join(req);
  }
}

describe("an unexpected exception inside one session", () => {
  let server: TestServer;
  afterEach(async () => server?.close());

  it("is caught, logged with context, answered with internal, and the process and other rooms go on", async () => {
    const logs = captureLogs("error");
    server = await startTestServer(
      {},
      {
        logger: logs.logger,
        createRooms: (opts: RoomsOptions): Rooms => new ExplodingRooms(opts),
      },
    );
    const pair = await joinPair(server, "calm");
    const victim = await server.connect();

    victim.send({ type: "join", roomId: "explode" });
    const error = await victim.nextError("internal");
    assert.equal(error.message, "internal server error");

    // The socket stays usable, the other room is untouched, the store is consistent.
    victim.send({ type: "ping" });
    await victim.next("pong");
    await assertPairWorks(pair);
    const joined = await victim.join("after-the-storm");
    assert.equal(joined.peers, 0);
    assert.deepEqual(await server.app.rooms.stats(), { rooms: 2, members: 3, parked: 0 });

    const logged = logs.entries();
    const entry = logged.find((l) => l.msg === "unexpected error while handling a message");
    assert.ok(entry, `logged: ${logs.lines.join("\n")}`);
    assert.equal(entry.type, "join");
    assert.equal(typeof entry.peerId, "string");
    assert.match(JSON.stringify(entry.err), /store unavailable/);
  });
});

/**
 * Fails where told to: a relay whose frame says "explode", and every
 * leave. Fakes stand in because no real store fails on demand.
 */
class FailingRooms extends MemoryRooms {
  leaves = 0;
  override async relay(...args: Parameters<MemoryRooms["relay"]>) {
    if (args[2].includes("explode")) throw new Error("relay went wrong");
    return super.relay(...args);
  }
  override async leave(..._args: Parameters<MemoryRooms["leave"]>): Promise<boolean> {
    this.leaves++;
    throw new Error("leave went wrong");
  }
}

describe("an unexpected exception for a member in a room", () => {
  let server: TestServer;
  afterEach(async () => server?.close());

  async function start(graceMs: number) {
    const logs = captureLogs("warn");
    let rooms: FailingRooms | undefined;
    server = await startTestServer(
      { resumeGraceMs: graceMs },
      {
        logger: logs.logger,
        createRooms: (opts: RoomsOptions): Rooms => {
          rooms = new FailingRooms(opts);
          return rooms;
        },
      },
    );
    return { logs, rooms: rooms as unknown as FailingRooms };
  }

  it("answers internal, closes with 1011, parks the member, and its resume makes it whole", async () => {
    await start(20_000);
    const pair = await joinPair(server, "r1011");
    const a = await server.connect();
    const b = await server.connect();
    const aJoined = await a.join("r1011b");
    const bJoined = await b.join("r1011b");
    await b.next("ready");
    await a.next("peer-joined");
    await a.next("ready");

    b.send({ type: "message", data: "explode" });
    await b.nextError("internal");
    assert.deepEqual(await b.closed(), { code: 1011, reason: "internal error; resume" });
    // Parked, not gone: a is told nothing; b resumes and the room goes on.
    a.send({ type: "message", data: "while b was away" });
    const again = await server.connect();
    again.send({
      type: "resume",
      peerId: bJoined.peerId,
      resumeToken: bJoined.resumeToken,
      lastSeq: b.lastSeq,
    });
    const resumed = await again.next("resumed");
    assert.deepEqual(resumed.peerIds, [aJoined.peerId]);
    assert.deepEqual(await again.next("message"), {
      type: "message",
      data: "while b was away",
      from: aJoined.peerId,
    });
    await a.expectNothing();
    await assertPairWorks(pair);
  });

  it("parks a member whose leave fails, so its grace period ends it with one peer-left, and logs it", async () => {
    const { logs, rooms } = await start(300);
    const { a, b, bId } = await joinPair(server, "ghost");
    await b.close(1000); // a goodbye: this would be a leave, and the leave fails
    const left = await a.next("peer-left");
    assert.deepEqual(left, { type: "peer-left", peerId: bId, reason: "dropped" });
    assert.equal(rooms.leaves, 1);
    assert.deepEqual(await server.app.rooms.stats(), { rooms: 1, members: 1, parked: 0 });
    const entry = logs
      .entries()
      .find((l) => String(l.msg).startsWith("could not take a closed socket's member out"));
    assert.ok(entry, `logged: ${logs.lines.join("\n")}`);
    assert.equal(entry.peerId, bId);
    assert.equal(entry.roomId, "ghost");
    assert.equal(entry.outcome, "parked");
    await a.expectNothing();
  });
});

/** Fails every park (a store fault). A fake stands in: no real store fails on demand. */
class DropFailingRooms extends MemoryRooms {
  override async drop(..._args: Parameters<MemoryRooms["drop"]>): Promise<never> {
    throw new Error("drop went wrong");
  }
}

describe("a store that cannot park a dropped member", () => {
  let server: TestServer;
  afterEach(async () => server?.close());

  it("takes it out instead (one peer-left at once), and logs it", async () => {
    const logs = captureLogs("warn");
    server = await startTestServer(
      {},
      {
        logger: logs.logger,
        createRooms: (opts: RoomsOptions): Rooms => new DropFailingRooms(opts),
      },
    );
    const { a, b, bId } = await joinPair(server, "no-park");
    await b.terminate(); // no close frame: this would park, and the park fails
    assert.deepEqual(await a.next("peer-left"), {
      type: "peer-left",
      peerId: bId,
      reason: "dropped",
    });
    assert.deepEqual(await server.app.rooms.stats(), { rooms: 1, members: 1, parked: 0 });
    const entry = logs
      .entries()
      .find((l) => l.msg === "could not park a dropped socket's member; it left instead");
    assert.ok(entry, `logged: ${logs.lines.join("\n")}`);
    assert.equal(entry.peerId, bId);
    assert.equal(entry.roomId, "no-park");
    await a.expectNothing();
  });
});

describe("an exception behind an HTTP answer", () => {
  let server: TestServer;
  afterEach(async () => server?.close());

  it("/healthz answers 503 and logs why", async () => {
    const logs = captureLogs("error");
    server = await startTestServer(
      {},
      {
        logger: logs.logger,
        createRooms: (opts: RoomsOptions): Rooms =>
          new (class extends MemoryRooms {
            override async stats(): Promise<never> {
              throw new Error("stats went wrong");
            }
          })(opts),
      },
    );
    const res = await fetch(`${server.app.url}/healthz`);
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { status: "error" });
    const entry = logs.entries().find((l) => l.msg === "/healthz failed");
    assert.ok(entry, `logged: ${logs.lines.join("\n")}`);
    assert.match(JSON.stringify(entry.err), /stats went wrong/);
  });

  it("/api/ice-servers answers 500 and logs why", async () => {
    // Nothing in a real configuration makes minting throw, so the route is
    // served with a failing source of ICE servers; the HTTP side is real.
    const logs = captureLogs("error");
    const handler = createRequestHandler({
      webRoot: null,
      tls: false,
      logger: logs.logger,
      health: async () => ({}),
      ready: () => true,
      metrics: null,
      admin: null,
      iceServers: () => Promise.reject(new Error("minting went wrong")),
    });
    const http = createServer(handler);
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = http.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/api/ice-servers`);
      assert.equal(res.status, 500);
      assert.deepEqual(await res.json(), { error: "internal", message: "internal server error" });
      const entry = logs.entries().find((l) => l.msg === "/api/ice-servers failed");
      assert.ok(entry, `logged: ${logs.lines.join("\n")}`);
      assert.match(JSON.stringify(entry.err), /minting went wrong/);
    } finally {
      await new Promise((resolve) => http.close(resolve));
    }
  });
});
