import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { MemoryRooms } from "../../src/server/rooms/memory.js";

describe("MemoryRooms", () => {
  let delivered: [peerId: string, frame: string][];
  let rooms: MemoryRooms;
  beforeEach(() => {
    delivered = [];
    rooms = new MemoryRooms((peerId, frame) => delivered.push([peerId, frame]));
  });

  const ids = async (roomId: string) => (await rooms.members(roomId)).map((p) => p.peerId);

  it("admits members up to the capacity, and answers full after", async () => {
    assert.deepEqual(await rooms.join("r", { peerId: "a" }, { capacity: 2 }), {
      ok: true,
      others: [],
      locked: false,
    });
    assert.deepEqual(await rooms.join("r", { peerId: "b", name: "Bob" }, { capacity: 2 }), {
      ok: true,
      others: [{ peerId: "a" }],
      locked: false,
    });
    assert.deepEqual(await rooms.join("r", { peerId: "c" }, { capacity: 2 }), {
      ok: false,
      reason: "full",
    });
    assert.deepEqual(await ids("r"), ["a", "b"]);
    assert.deepEqual(await rooms.stats(), { rooms: 1, members: 2 });
  });

  it("keeps the capacity a room was created with, whatever later joins ask", async () => {
    await rooms.join("mesh", { peerId: "a" }, { capacity: 3 });
    await rooms.join("mesh", { peerId: "b" }, { capacity: 2 });
    assert.equal((await rooms.join("mesh", { peerId: "c" }, { capacity: 2 })).ok, true);
    assert.deepEqual(await rooms.join("mesh", { peerId: "d" }, { capacity: 16 }), {
      ok: false,
      reason: "full",
    });
    assert.equal((await rooms.join("zero", { peerId: "z" }, { capacity: 0 })).ok, false);
    assert.deepEqual(await rooms.stats(), { rooms: 1, members: 3 });
  });

  it("lets a join that ignores the lock in (a host), still within capacity, and says it is locked", async () => {
    await rooms.join("v", { peerId: "a" }, { capacity: 2 });
    await rooms.setLocked("v", true);
    assert.deepEqual(await rooms.join("v", { peerId: "h" }, { capacity: 2, ignoreLock: true }), {
      ok: true,
      others: [{ peerId: "a" }],
      locked: true,
    });
    assert.deepEqual(await rooms.join("v", { peerId: "h2" }, { capacity: 2, ignoreLock: true }), {
      ok: false,
      reason: "full",
    });
  });

  it("refuses joins into a locked room until it is unlocked", async () => {
    await rooms.join("vault", { peerId: "a" }, { capacity: 4 });
    assert.equal(await rooms.setLocked("vault", true), true);
    assert.deepEqual(await rooms.join("vault", { peerId: "b" }, { capacity: 4 }), {
      ok: false,
      reason: "locked",
    });
    assert.equal(await rooms.setLocked("vault", false), true);
    assert.equal((await rooms.join("vault", { peerId: "b" }, { capacity: 4 })).ok, true);
    assert.equal(await rooms.setLocked("nowhere", true), false);
    // A room that empties and is made again starts unlocked.
    await rooms.setLocked("vault", true);
    await rooms.leave("vault", "a");
    await rooms.leave("vault", "b");
    assert.equal((await rooms.join("vault", { peerId: "c" }, { capacity: 4 })).ok, true);
  });

  it("refuses deliveries from non-members when asked to", async () => {
    await rooms.join("club", { peerId: "a" }, { capacity: 4 });
    await rooms.join("club", { peerId: "b" }, { capacity: 4 });
    assert.deepEqual(await rooms.deliver("club", "x", { from: "stranger", requireMember: true }), {
      ok: false,
      reason: "not-in-room",
    });
    assert.deepEqual(await rooms.deliver("club", "x", { from: "a", requireMember: true }), {
      ok: true,
    });
  });

  it("lists members and others oldest first", async () => {
    for (const peerId of ["p1", "p2", "p3", "p4"]) {
      await rooms.join("order", { peerId }, { capacity: 10 });
    }
    await rooms.leave("order", "p2");
    const result = await rooms.join("order", { peerId: "p5" }, { capacity: 10 });
    assert.deepEqual(result, {
      ok: true,
      others: [{ peerId: "p1" }, { peerId: "p3" }, { peerId: "p4" }],
      locked: false,
    });
    assert.deepEqual(await ids("order"), ["p1", "p3", "p4", "p5"]);
  });

  it("treats a second join of the same member as a no-op", async () => {
    await rooms.join("r", { peerId: "a" }, { capacity: 2 });
    await rooms.join("r", { peerId: "b" }, { capacity: 2 });
    assert.deepEqual(await rooms.join("r", { peerId: "a" }, { capacity: 2 }), {
      ok: true,
      others: [{ peerId: "b" }],
      locked: false,
    });
    assert.deepEqual(await rooms.stats(), { rooms: 1, members: 2 });
  });

  it("leaves, reports whether the member was there, and deletes empty rooms", async () => {
    await rooms.join("r", { peerId: "a" }, { capacity: 2 });
    await rooms.join("r", { peerId: "b" }, { capacity: 2 });
    assert.equal(await rooms.leave("r", "a"), true);
    assert.equal(await rooms.leave("r", "a"), false);
    assert.equal(await rooms.leave("nowhere", "a"), false);
    assert.deepEqual(await rooms.stats(), { rooms: 1, members: 1 });
    assert.equal(await rooms.leave("r", "b"), true);
    assert.deepEqual(await rooms.stats(), { rooms: 0, members: 0 });
    assert.deepEqual(await rooms.members("r"), []);
    // A deleted room starts afresh.
    assert.deepEqual(await rooms.join("r", { peerId: "c" }, { capacity: 2 }), {
      ok: true,
      others: [],
      locked: false,
    });
  });

  it("delivers without to to every member but the sender, in join order", async () => {
    for (const peerId of ["a", "b", "c"]) await rooms.join("r", { peerId }, { capacity: 3 });
    await rooms.join("other", { peerId: "x" }, { capacity: 3 });
    assert.deepEqual(await rooms.deliver("r", "F", { from: "b" }), { ok: true });
    assert.deepEqual(delivered, [
      ["a", "F"],
      ["c", "F"],
    ]);
  });

  it("delivers with to to that member only", async () => {
    for (const peerId of ["a", "b", "c"]) await rooms.join("r", { peerId }, { capacity: 3 });
    assert.deepEqual(await rooms.deliver("r", "F", { from: "a", to: "c" }), { ok: true });
    assert.deepEqual(delivered, [["c", "F"]]);
  });

  it("answers unknown-peer for a to outside the room, the sender itself, or no room", async () => {
    await rooms.join("r", { peerId: "a" }, { capacity: 3 });
    await rooms.join("r", { peerId: "b" }, { capacity: 3 });
    await rooms.join("other", { peerId: "x" }, { capacity: 3 });
    const unknown = { ok: false, reason: "unknown-peer" };
    assert.deepEqual(await rooms.deliver("r", "F", { from: "a", to: "x" }), unknown);
    assert.deepEqual(await rooms.deliver("r", "F", { from: "a", to: "a" }), unknown);
    assert.deepEqual(await rooms.deliver("r", "F", { from: "a", to: "nobody" }), unknown);
    assert.deepEqual(await rooms.deliver("gone", "F", { from: "a", to: "b" }), unknown);
    assert.deepEqual(delivered, []);
  });

  it("delivers nothing to a room that does not exist or holds only the sender", async () => {
    await rooms.join("solo", { peerId: "a" }, { capacity: 2 });
    assert.deepEqual(await rooms.deliver("solo", "F", { from: "a" }), { ok: true });
    assert.deepEqual(await rooms.deliver("gone", "F", { from: "a" }), { ok: true });
    assert.deepEqual(delivered, []);
  });

  it("uses room ids and peer ids as plain keys, __proto__ included", async () => {
    for (const roomId of ["__proto__", "constructor", "toString"]) {
      assert.deepEqual(await rooms.join(roomId, { peerId: "__proto__" }, { capacity: 2 }), {
        ok: true,
        others: [],
        locked: false,
      });
    }
    assert.deepEqual(await rooms.stats(), { rooms: 3, members: 3 });
    assert.deepEqual(await ids("__proto__"), ["__proto__"]);
    assert.deepEqual(await rooms.members("hasOwnProperty"), []);
  });

  it("forgets everything on close", async () => {
    await rooms.join("r", { peerId: "a" }, { capacity: 2 });
    await rooms.close();
    assert.deepEqual(await rooms.stats(), { rooms: 0, members: 0 });
    assert.deepEqual(await rooms.members("r"), []);
  });
});
