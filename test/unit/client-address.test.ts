import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { describe, it } from "node:test";
import { checkTrustProxy, clientAddressResolver } from "../../src/server/http/client-address.js";

/**
 * A request as far as address resolution reads it. A fake, because a real
 * socket on a test machine cannot come from 10.0.0.1 or 2001:db8::1.
 */
function request(remoteAddress: string | undefined, xff?: string): IncomingMessage {
  const socket = { remoteAddress };
  const headers = xff === undefined ? {} : { "x-forwarded-for": xff };
  return { socket, connection: socket, headers } as unknown as IncomingMessage;
}

describe("clientAddressResolver", () => {
  it("without trustProxy uses the socket's peer and ignores X-Forwarded-For", () => {
    const resolve = clientAddressResolver(undefined);
    assert.equal(resolve(request("127.0.0.1", "203.0.113.7")), "127.0.0.1");
    assert.equal(resolve(request("198.51.100.4", "203.0.113.7, 10.0.0.1")), "198.51.100.4");
    assert.equal(resolve(request(undefined)), "unknown");
  });

  it("with loopback believes a loopback proxy's last hop, not a client's own entries", () => {
    const resolve = clientAddressResolver("loopback");
    assert.equal(resolve(request("127.0.0.1", "203.0.113.7")), "203.0.113.7");
    assert.equal(resolve(request("::1", "2001:db8::5")), "2001:db8::5");
    assert.equal(resolve(request("::ffff:127.0.0.1", "203.0.113.7")), "203.0.113.7");
    // The client wrote "6.6.6.6" itself; the proxy appended the address it saw.
    assert.equal(resolve(request("127.0.0.1", "6.6.6.6, 203.0.113.7")), "203.0.113.7");
    // No header: the proxy itself is the client.
    assert.equal(resolve(request("127.0.0.1")), "127.0.0.1");
  });

  it("with loopback does not believe a header from a socket that is not a trusted proxy", () => {
    const resolve = clientAddressResolver("loopback");
    assert.equal(resolve(request("198.51.100.4", "127.0.0.1")), "198.51.100.4");
    assert.equal(resolve(request("198.51.100.4", "203.0.113.7")), "198.51.100.4");
  });

  it("walks back through a chain of trusted proxies and stops at the first untrusted hop", () => {
    const resolve = clientAddressResolver("10.0.0.0/8, 192.168.0.0/16");
    // client -> 203.0.113.9 (untrusted) -> 192.168.1.1 -> 10.1.2.3 (socket)
    assert.equal(resolve(request("10.1.2.3", "6.6.6.6, 203.0.113.9, 192.168.1.1")), "203.0.113.9");
    // A spoofed private address on the left is never reached.
    assert.equal(resolve(request("10.1.2.3", "10.9.9.9, 203.0.113.9")), "203.0.113.9");
    assert.equal(resolve(request("172.16.0.1", "203.0.113.9")), "172.16.0.1");
  });

  it("with a hop count trusts exactly that many proxies", () => {
    const xff = "6.6.6.6, 203.0.113.9, 198.51.100.2";
    assert.equal(clientAddressResolver("0")(request("10.0.0.1", xff)), "10.0.0.1");
    assert.equal(clientAddressResolver("1")(request("10.0.0.1", xff)), "198.51.100.2");
    assert.equal(clientAddressResolver("2")(request("10.0.0.1", xff)), "203.0.113.9");
    assert.equal(clientAddressResolver("3")(request("10.0.0.1", xff)), "6.6.6.6");
    // More hops than entries: the left-most entry, never past it.
    assert.equal(clientAddressResolver("9")(request("10.0.0.1", xff)), "6.6.6.6");
  });

  it("with uniquelocal trusts private proxies only", () => {
    const resolve = clientAddressResolver("uniquelocal");
    assert.equal(resolve(request("10.0.0.1", "203.0.113.7")), "203.0.113.7");
    assert.equal(resolve(request("fd00::1", "203.0.113.7")), "203.0.113.7");
    assert.equal(resolve(request("127.0.0.1", "203.0.113.7")), "127.0.0.1");
  });

  it("answers unknown for a socket already gone, whatever the header says", () => {
    for (const trust of ["loopback", "1"]) {
      assert.equal(clientAddressResolver(trust)(request(undefined, "203.0.113.7")), "unknown");
    }
  });
});

describe("checkTrustProxy", () => {
  it("accepts names, CIDR lists and hop counts", () => {
    for (const value of ["loopback", "uniquelocal", "10.0.0.0/8", "loopback, 10.0.0.1", "2"]) {
      assert.equal(checkTrustProxy(value), null, value);
    }
  });

  it("refuses values proxy-addr cannot compile, such as a blanket true", () => {
    for (const value of ["true", "everyone", "10.0.0.0/33", "1.2.3"]) {
      assert.equal(typeof checkTrustProxy(value), "string", value);
    }
  });
});
