import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LocalSeats, type SeatHolder } from "../../src/server/signaling/local-seats.js";

/** A holder that records what reached it. */
function holder(name: string, log: string[]): SeatHolder {
  return {
    offer: (gen, seq, frame) => log.push(`${name} offer ${gen}/${seq} ${frame}`),
    replaced: (gen) => log.push(`${name} replaced ${gen}`),
    resync: () => log.push(`${name} resync`),
  };
}

describe("LocalSeats", () => {
  it("delivers to the one holder of a member, and to no one once it is released", () => {
    const log: string[] = [];
    const seats = new LocalSeats();
    const a = holder("a", log);
    seats.expect("p1", a);
    seats.expect("p1", a); // twice is still once
    seats.deliver("p1", 1, 1, "x");
    seats.deliver("p2", 1, 1, "nobody");
    assert.equal(seats.size, 1);
    seats.release("p1", holder("stranger", log)); // not its holder: nothing changes
    seats.deliver("p1", 1, 2, "y");
    seats.release("p1", a);
    seats.deliver("p1", 1, 3, "z");
    assert.equal(seats.size, 0);
    assert.deepEqual(log, ["a offer 1/1 x", "a offer 1/2 y"]);
  });

  it("keeps two holders while a resume here takes over, then the one left", () => {
    const log: string[] = [];
    const seats = new LocalSeats();
    const [old, fresh, third] = [holder("old", log), holder("new", log), holder("third", log)];
    seats.expect("p1", old);
    seats.expect("p1", fresh);
    seats.expect("p1", fresh);
    seats.expect("p1", third);
    seats.deliver("p1", 2, 5, "f");
    seats.replaced("p1", 1);
    seats.release("p1", third);
    seats.release("p1", old);
    seats.deliver("p1", 2, 6, "g");
    seats.resync();
    assert.equal(seats.size, 1);
    seats.release("p1", fresh);
    assert.equal(seats.size, 0);
    seats.replaced("p1", 2);
    seats.resync();
    assert.deepEqual(log, [
      "old offer 2/5 f",
      "new offer 2/5 f",
      "third offer 2/5 f",
      "old replaced 1",
      "new replaced 1",
      "third replaced 1",
      "new offer 2/6 g",
      "new resync",
    ]);
  });

  it("reaches every member's holders on resync", () => {
    const log: string[] = [];
    const seats = new LocalSeats();
    seats.expect("p1", holder("a", log));
    seats.expect("p2", holder("b", log));
    seats.expect("p2", holder("c", log));
    seats.resync();
    assert.deepEqual(log.sort(), ["a resync", "b resync", "c resync"]);
  });
});
