import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Role } from "../../src/protocol/index.js";
import { mintJoinToken } from "../../src/server/auth/mint-token.js";
import { MemoryRooms } from "../../src/server/rooms/memory.js";
import type { JoinOutcome, JoinRequest } from "../../src/server/rooms/rooms.js";
import { startTestServer } from "../helpers/server.js";
import { HS_SECRET } from "../helpers/tokens.js";
import { eventually } from "../helpers/wait.js";

/**
 * The real in-memory store, with one hook: it can hold a join on its way
 * into the store (after the token is verified) until the test releases
 * it, so a kick or a close lands exactly while the join is in flight.
 */
class HeldRooms extends MemoryRooms {
  #held: { roomId: string; reached: (release: () => void) => void } | null = null;

  hold(roomId: string): Promise<() => void> {
    return new Promise((reached) => {
      this.#held = { roomId, reached };
    });
  }

  override async join(req: JoinRequest): Promise<JoinOutcome> {
    const held = this.#held;
    if (held?.roomId === req.roomId) {
      this.#held = null;
      await new Promise<void>((release) => held.reached(release));
    }
    return super.join(req);
  }
}

describe("a join in flight when its sender goes away", () => {
  for (const ending of ["kicked by a host", "closed by the client"] as const) {
    it(`leaves no ghost in the new room when the sender is ${ending}`, async () => {
      let rooms: HeldRooms | undefined;
      const server = await startTestServer(
        { authSecret: HS_SECRET },
        {
          createRooms: (opts) => {
            rooms = new HeldRooms(opts);
            return rooms;
          },
        },
      );
      const mint = (room: string, sub: string, role?: Role) =>
        mintJoinToken({ secret: HS_SECRET }, { room, sub, ...(role ? { role } : {}), maxPeers: 4 });
      try {
        const host = await server.connect();
        const hostId = (await host.join("x", { token: await mint("x", "h", "host") })).peerId;
        const mover = await server.connect();
        const moverId = (await mover.join("x", { token: await mint("*", "m") })).peerId;
        await host.next("peer-joined");
        await host.next("ready");
        await mover.next("ready");
        const other = await server.connect();
        const otherId = (await other.join("y", { token: await mint("y", "o") })).peerId;

        const held = (rooms as HeldRooms).hold("y");
        mover.send({ type: "join", roomId: "y", token: await mint("*", "m") });
        const release = await held;
        if (ending === "kicked by a host") {
          host.send({ type: "kick", peerId: moverId });
          assert.deepEqual(await mover.next(), { type: "kicked", roomId: "x", by: hostId });
          assert.deepEqual(await host.next(), {
            type: "peer-left",
            peerId: moverId,
            reason: "kicked",
          });
        } else {
          await mover.close();
          await eventually(() => assert.equal(server.app.connections(), 2));
        }
        release();
        if (ending === "kicked by a host") {
          // The join was for a seat the kick took away: the store refuses it,
          // and nobody in y hears of the mover.
          await other.expectNothing();
        } else {
          // The join reached the store before the close: it lands, and the
          // close that follows it in the connection's order leaves at once.
          assert.equal((await other.next("peer-joined")).peerId, moverId);
          await other.next("ready");
          assert.deepEqual(await other.next("peer-left"), {
            type: "peer-left",
            peerId: moverId,
            reason: "left",
          });
        }
        // y holds only its own member.
        assert.deepEqual(
          (await server.app.rooms.members("y")).map((m) => m.peerId),
          [otherId],
        );
        assert.deepEqual(
          (await server.app.rooms.members("x")).map((m) => m.peerId),
          [hostId],
        );
      } finally {
        await server.close();
      }
    });
  }
});
