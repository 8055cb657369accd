import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { addressKey, ConnectionCounter } from "../../src/server/limits/connection-counter.js";

describe("ConnectionCounter", () => {
  it("admits `max` connections per address and refuses the next", () => {
    const counter = new ConnectionCounter(3);
    assert.equal(counter.tryAcquire("198.51.100.1"), true);
    assert.equal(counter.tryAcquire("198.51.100.1"), true);
    assert.equal(counter.tryAcquire("198.51.100.1"), true);
    assert.equal(counter.tryAcquire("198.51.100.1"), false);
    assert.equal(counter.tryAcquire("198.51.100.1"), false, "a refusal is not counted");
    assert.equal(counter.tryAcquire("198.51.100.2"), true, "other addresses have their own");
    assert.equal(counter.addresses, 2);
  });

  it("frees a slot on release, and forgets an address with no connections", () => {
    const counter = new ConnectionCounter(2);
    counter.tryAcquire("a");
    counter.tryAcquire("a");
    assert.equal(counter.tryAcquire("a"), false);
    counter.release("a");
    assert.equal(counter.tryAcquire("a"), true);
    counter.release("a");
    counter.release("a");
    assert.equal(counter.addresses, 0);
  });

  it("never goes negative: an extra release does not grant extra slots", () => {
    const counter = new ConnectionCounter(1);
    counter.release("a");
    counter.release("a");
    assert.equal(counter.addresses, 0);
    assert.equal(counter.tryAcquire("a"), true);
    assert.equal(counter.tryAcquire("a"), false);
  });
});

describe("addressKey", () => {
  it("keeps IPv4 addresses, and maps IPv4-mapped IPv6 back to them", () => {
    assert.equal(addressKey("203.0.113.7"), "203.0.113.7");
    assert.equal(addressKey("::ffff:203.0.113.7"), "203.0.113.7");
    assert.equal(addressKey("::FFFF:cb00:7107"), "203.0.113.7");
    assert.equal(addressKey("0:0:0:0:0:ffff:203.0.113.7"), "203.0.113.7");
  });

  it("groups IPv6 addresses by /64, whatever way they are written", () => {
    const key = addressKey("2001:db8:1:2::1");
    assert.equal(key, "2001:db8:1:2::/64");
    for (const same of [
      "2001:db8:1:2:ffff:ffff:ffff:ffff",
      "2001:0DB8:0001:0002:0:0:0:9",
      "2001:db8:1:2:a:b:192.0.2.1",
      "2001:db8:1:2::1%eth0",
    ]) {
      assert.equal(addressKey(same), key, same);
    }
    assert.notEqual(addressKey("2001:db8:1:3::1"), key);
    assert.equal(addressKey("::1"), "0:0:0:0::/64");
    assert.equal(addressKey("::"), "0:0:0:0::/64");
    assert.equal(addressKey("fe80::1"), "fe80:0:0:0::/64");
  });

  it("keeps anything that is not an address as it is", () => {
    for (const odd of ["unknown", "", "203.0.113.7:4444", "not:an:address"]) {
      assert.equal(addressKey(odd), odd);
    }
  });

  it("makes the counter count a /64 as one client", () => {
    const counter = new ConnectionCounter(2);
    assert.equal(counter.tryAcquire("2001:db8::1"), true);
    assert.equal(counter.tryAcquire("2001:db8::2"), true);
    assert.equal(counter.tryAcquire("2001:db8::3"), false);
    assert.equal(counter.tryAcquire("2001:db8:0:1::3"), true);
    counter.release("2001:db8::1");
    assert.equal(counter.tryAcquire("2001:db8::4"), true);
    assert.equal(counter.addresses, 2);
  });
});
