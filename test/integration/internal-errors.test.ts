import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
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
